"""Every form a series arrives in: raw mails re-encoded (quoted-printable,
base64, multipart, charsets), mboxes as b4 writes them, git format-patch
output, directories of them, and the bad input around them.  The mails are
the corpus's real ones, re-encoded with Python's `email` package."""
from __future__ import annotations

import email
import email.policy
import os
import quopri
import shutil
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest

from generator.errors import InputError
from generator.ingest import Form, SeriesFindingKind, load_series
from generator.ingest.source import read_file

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
PATCH = CORPUS / "nisv-v3-01.txt"


def _reencode(src: Path, cte: str, charset: str = "utf-8") -> bytes:
    """The corpus mail with its body in another transfer encoding."""
    old = email.message_from_bytes(src.read_bytes(), policy=email.policy.default)
    new = EmailMessage(policy=email.policy.SMTP.clone(linesep="\n"))
    for k in ("From", "Date", "Message-Id", "In-Reply-To", "References"):
        if old[k]:
            new[k] = str(old[k])
    new["X-Filler"] = "a header before the subject"
    new["Subject"] = str(old["subject"])
    new.set_content(old.get_content(), charset=charset, cte=cte)
    return new.as_bytes()


def _hunk_lines(s):
    return [hl for p in s.patches for f in p.files for h in f.hunks for hl in h.lines]


def test_quoted_printable_body_keeps_file_lines(tmp_path):
    data = _reencode(PATCH, "quoted-printable")
    assert b"=\n" in data, "the encoder made soft line breaks"
    f = tmp_path / "qp.eml"
    f.write_bytes(data)
    s = load_series(f)
    plain = load_series(PATCH)
    assert [(hl.kind, hl.text) for hl in _hunk_lines(s)] == \
        [(hl.kind, hl.text) for hl in _hunk_lines(plain)]
    raw = data.split(b"\n")
    (msg,) = s.thread.messages
    assert msg.form is Form.MAIL and msg.subject.startswith("[PATCH v3 1/2]")
    assert raw[msg.subject_line - 1].startswith(b"Subject:")
    for ln in msg.lines:
        start = quopri.decodestring(raw[ln.no - 1]).decode().rstrip("\n")
        assert ln.text.startswith(start.rstrip("=")), (ln, raw[ln.no - 1])
    joined = [ln for ln in msg.lines if raw[ln.no - 1].endswith(b"=")]
    assert joined, "a soft-broken line keeps the number of its first file line"


def test_base64_body_maps_to_the_nearest_file_line(tmp_path):
    data = _reencode(PATCH, "base64")
    f = tmp_path / "b64.eml"
    f.write_bytes(data)
    s = load_series(f)
    assert [hl.text for hl in _hunk_lines(s)] == [hl.text for hl in _hunk_lines(load_series(PATCH))]
    raw = data.split(b"\n")
    body_first = raw.index(b"") + 2
    (msg,) = s.thread.messages
    decoded = msg.lines
    offset = 0
    for ln in decoded:
        # the encoded line holding this decoded line's first byte: 57 bytes a line
        assert ln.no == body_first + offset // 57, ln
        offset += len(ln.text.encode()) + 1
    assert [l.no for l in decoded] == sorted(l.no for l in decoded)


def test_multipart_with_the_patch_as_a_text_attachment(tmp_path):
    old = email.message_from_bytes(PATCH.read_bytes(), policy=email.policy.default)
    m = EmailMessage(policy=email.policy.SMTP.clone(linesep="\n"))
    m["From"] = "Christoffer Dall <christoffer.dall@arm.com>"
    m["Subject"] = ("[PATCH v3 1/2] KVM: arm/arm64: Allow reporting non-ISV data aborts to "
                    "userspace, a title long enough to be folded")
    m.set_content("Hi,\n\nthe patch is attached.\n")
    m.add_attachment(old.get_content(), subtype="x-patch", filename="0001-nisv.patch",
                     cte="8bit")
    data = m.as_bytes()
    assert b"Subject: [PATCH v3 1/2]" in data and b"\n userspace" in data, "folded"
    f = tmp_path / "multi.eml"
    f.write_bytes(data)
    s = load_series(f)
    (p,) = s.patches
    assert p.label == "v3 1/2" and p.hunk_count == 12
    assert s.thread.messages[0].subject.endswith("to userspace, a title long enough to be folded")
    raw = data.decode().split("\n")
    assert raw[p.files[0].seed_line - 1].startswith("diff --git ")
    assert any(l.text == "the patch is attached." and raw[l.no - 1] == l.text
               for l in p.message.lines)


def test_latin1_body_and_encoded_words(tmp_path):
    text = PATCH.read_bytes().decode()
    head, body = text.split("\n\n", 1)
    head = head.replace('charset="us-ascii"', 'charset="iso-8859-1"').replace(
        "From: Christoffer Dall", "From: =?iso-8859-1?q?Christoffer_D=E4ll?=")
    body = body.replace("Signed-off-by: Christoffer Dall", "Signed-off-by: Christoffer D\xe4ll")
    f = tmp_path / "latin1.eml"
    f.write_bytes((head + "\n\n" + body).encode("latin-1"))
    s = load_series(f)
    msg = s.thread.messages[0]
    assert msg.author == "Christoffer D\xe4ll"
    assert any(l.text == "Signed-off-by: Christoffer D\xe4ll <christoffer.dall@arm.com>"
               for l in msg.lines)
    assert s.patches[0].hunk_count == 12


def _mbox(tmp_path: Path, names: list[str], rd: bool = True) -> Path:
    out = bytearray()
    for n in names:
        out += b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" if rd else \
            b"From someone@example.org Fri Oct 11 13:07:04 2019\n"
        for line in (CORPUS / n).read_bytes().split(b"\n"):
            if line.lstrip(b">").startswith(b"From ") and rd:
                line = b">" + line
            out += line + b"\n"
        out += b"\n"
    f = tmp_path / "series.mbx"
    f.write_bytes(bytes(out))
    return f


def test_mbox_of_a_series_as_b4_writes_it(tmp_path):
    f = _mbox(tmp_path, ["nisv-v3-02.txt", "nisv-v3-00.txt", "nisv-v3-01.txt"])
    s = load_series(f)
    assert [m.form for m in s.thread.messages] == [Form.MBOX] * 3
    assert s.cover.patch.label == "v3 0/2"
    assert [p.label for p in s.patches] == ["v3 1/2", "v3 2/2"], "ordered by m"
    assert not s.findings
    raw = f.read_text().split("\n")
    for m in s.thread.messages:
        assert raw[m.subject_line - 1].startswith("Subject: [PATCH v3")
        assert all(raw[l.no - 1] == l.text for l in m.lines)


def test_mbox_with_a_reply_and_two_versions(tmp_path):
    f = _mbox(tmp_path, ["nisv-v2-02.txt", "nisv-v2-02-review-graf.txt", "nisv-v3-00.txt",
                         "nisv-v3-01.txt", "nisv-v3-02.txt"], rd=False)
    s = load_series(f)
    assert [p.label for p in s.own] == ["v3 1/2", "v3 2/2"]
    assert [p.label for p in s.patches if p.quoted_depth] == ["v2 2/2"]
    (old,) = s.superseded
    assert old.label == "v2 2/2"
    (sup,) = [x for x in s.findings if x.kind is SeriesFindingKind.SUPERSEDED]
    assert "v2 2/2" in sup.message and sup.line == old.message.subject_line
    assert len(s.replies) == 1 and s.replies[0].author == "Alexander Graf"


def test_git_format_patch_files_with_cover_letter(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = dict(os.environ, GIT_AUTHOR_NAME="Ada Lovelace", GIT_AUTHOR_EMAIL="ada@example.org",
               GIT_COMMITTER_NAME="Ada Lovelace", GIT_COMMITTER_EMAIL="ada@example.org",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")

    def git(*a):
        subprocess.run(["git", "-C", str(repo), *a], check=True, env=env, capture_output=True)
    git("init", "-q")
    (repo / "kvm.h").write_text("#define KVM_CAP_A 1\n")
    git("add", ".")
    git("commit", "-qm", "base")
    for k in (2, 3):
        (repo / "kvm.h").write_text((repo / "kvm.h").read_text() + f"#define KVM_CAP_X{k} {k}\n")
        git("commit", "-qam", f"KVM: arm64: Add capability X{k}\n\nBody {k}.")
    out = tmp_path / "out"
    git("format-patch", "-q", "--cover-letter", "-v2", "-2", "-o", str(out))
    s = load_series(out)
    assert {t.form for t in s.threads} == {Form.FORMAT_PATCH}
    assert s.cover.patch.label == "v2 0/2"
    assert [p.label for p in s.patches] == ["v2 1/2", "v2 2/2"]
    assert all(p.author == "Ada Lovelace" and p.hunk_count == 1 for p in s.patches)
    p2 = s.patches[1]
    raw = (out / p2.seed).read_text().split("\n")
    (added,) = p2.files[0].hunks[0].added()
    assert raw[added.seed_line - 1] == "+#define KVM_CAP_X3 3"


def test_directory_collapses_duplicates_and_reports_missing(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    shutil.copyfile(CORPUS / "nisv-v3-02.txt", d / "a.patch")
    shutil.copyfile(CORPUS / "nisv-v3-02.txt", d / "b.eml")
    (d / "notes.md").write_text("not part of the series")
    s = load_series(d)
    assert [p.label for p in s.patches] == ["v3 2/2"]
    kinds = [(x.kind, x.seed) for x in s.findings]
    assert kinds == [(SeriesFindingKind.DUPLICATE, "b.eml"), (SeriesFindingKind.MISSING, "a.patch")]
    assert "the same diff" in s.findings[0].message and "a.patch:41" in s.findings[0].message
    assert s.findings[1].message == "patch 1/2 of v3 is missing"


def test_directory_keeps_what_it_can_read(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    shutil.copyfile(CORPUS / "nisv-v3-01.txt", d / "1.txt")
    (d / "2.eml").write_text("just some words\n")
    (d / "3.patch").write_bytes(b"")
    s = load_series(d)
    assert [p.label for p in s.patches] == ["v3 1/2"]
    bad = [x for x in s.findings if x.kind is SeriesFindingKind.UNREADABLE]
    assert [(x.seed, x.line) for x in bad] == [("2.eml", 1), ("3.patch", 0)]
    assert "is not a mail" in bad[0].message and "is empty" in bad[1].message


def _one_line_error(path: Path, *needles: str) -> InputError:
    with pytest.raises(InputError) as ei:
        load_series(path)
    text = str(ei.value)
    assert "\n" not in text and str(path) in text, text
    for n in needles:
        assert n in text, text
    return ei.value


def test_not_mail(tmp_path):
    f = tmp_path / "x.eml"
    f.write_text("#include <stdio.h>\nint main(void) { return 0; }\n")
    e = _one_line_error(f, "is not a mail", "expected a header block")
    assert e.line == 1


def test_mbox_with_no_patch(tmp_path):
    f = tmp_path / "chat.mbox"
    f.write_text("From a@b Thu Jan  1 00:00:00 1970\nFrom: A <a@b>\nSubject: lunch?\n\n"
                 "noon\n\nFrom c@d Thu Jan  1 00:00:00 1970\nFrom: C <c@d>\n"
                 "Subject: Re: lunch?\nIn-Reply-To: <x@b>\n\nyes\n")
    e = _one_line_error(f, "mbox of 2 message(s) with no patch", "expected a patch mail")
    assert e.line == 3


def test_unknown_charset(tmp_path):
    text = PATCH.read_text().replace('charset="us-ascii"', 'charset="x-klingon"')
    f = tmp_path / "k.eml"
    f.write_text(text)
    e = _one_line_error(f, "charset 'x-klingon' is not one Python can decode")
    assert text.split("\n")[e.line - 1].startswith("Content-Type:")


def test_bytes_invalid_in_the_declared_charset(tmp_path):
    raw = PATCH.read_bytes().replace(b'charset="us-ascii"', b'charset="utf-8"')
    raw = raw.replace(b"Signed-off-by: Christoffer Dall", b"Signed-off-by: Christoffer \xff", 1)
    f = tmp_path / "bad.eml"
    f.write_bytes(raw)
    e = _one_line_error(f, "does not decode as utf-8")
    assert b"\xff" in raw.split(b"\n")[e.line - 1]


def test_empty_fifo_device_directory(tmp_path):
    empty = tmp_path / "empty.eml"
    empty.write_text("\n\n")
    _one_line_error(empty, "is empty")
    fifo = tmp_path / "pipe.patch"
    os.mkfifo(fifo)
    _one_line_error(fifo, "is a FIFO, not a regular file")     # refused without opening it
    _one_line_error(Path("/dev/null"), "is a character device")
    with pytest.raises(InputError, match="is a directory where a file is expected"):
        read_file(tmp_path)
    _one_line_error(tmp_path / "nope.mbox", "does not exist")
    d = tmp_path / "nothing"
    d.mkdir()
    (d / "README.md").write_text("x")
    _one_line_error(d, "is a directory with no mail in it", ".patch")


def test_a_fifo_in_a_series_directory_is_left_out(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    shutil.copyfile(PATCH, d / "1.patch")
    os.mkfifo(d / "2.patch")
    s = load_series(d)
    assert [p.label for p in s.patches] == ["v3 1/2"]
    assert any(x.kind is SeriesFindingKind.UNREADABLE and "FIFO" in x.message for x in s.findings)


def test_in_reply_to_makes_a_reply_only_without_a_patch_subject(tmp_path):
    text = (CORPUS / "nisv-v2-02-review-graf.txt").read_text()
    f = tmp_path / "r.eml"
    f.write_text(text.replace("Subject: Re: [PATCH v2 2/2]", "Subject: injection of", 1))
    s = load_series(f)
    assert s.replies and s.patches[0].quoted_depth == 1, "In-Reply-To and no [PATCH]: a reply"
    patch = load_series(PATCH)
    assert patch.thread.messages[0].in_reply_to and not patch.replies, \
        "a [PATCH 1/2] threaded under its cover letter is a patch"


def test_mbox_keeps_the_messages_it_can_read(tmp_path):
    f = _mbox(tmp_path, ["nisv-v3-01.txt", "nisv-v3-02.txt"])
    raw = f.read_bytes()
    second = raw.index(b"Subject: [PATCH v3 2/2]")
    ct = raw.index(b'charset="us-ascii"', second)
    f.write_bytes(raw[:ct] + b'charset="x-klingon"' + raw[ct + len(b'charset="us-ascii"'):])
    s = load_series(f)
    assert [p.label for p in s.patches] == ["v3 1/2"]
    (bad,) = [x for x in s.findings if x.kind is SeriesFindingKind.UNREADABLE]
    assert bad.seed == "series.mbx" and "x-klingon" in bad.message
    assert f.read_text().split("\n")[bad.line - 1].startswith("Content-Type:")
    assert any(x.kind is SeriesFindingKind.MISSING and "2/2" in x.message for x in s.findings)


@pytest.mark.parametrize("cte", ["quoted-printable", "base64"])
def test_encoded_attachment_in_a_multipart_mail(tmp_path, cte):
    old = email.message_from_bytes(PATCH.read_bytes(), policy=email.policy.default)
    m = EmailMessage(policy=email.policy.SMTP.clone(linesep="\n"))
    m["From"] = "Christoffer Dall <christoffer.dall@arm.com>"
    m["Subject"] = "[PATCH v3 1/2] KVM: arm/arm64: Allow reporting non-ISV data aborts"
    m.set_content("Hi,\n\nthe patch is attached.\n")
    m.add_attachment(old.get_content(), subtype="x-diff", filename="x.patch", cte=cte)
    data = m.as_bytes()
    f = tmp_path / "enc.eml"
    f.write_bytes(data)
    s = load_series(f)
    assert [hl.text for hl in _hunk_lines(s)] == [hl.text for hl in _hunk_lines(load_series(PATCH))]
    raw = data.split(b"\n")
    part_start = raw.index(b'Content-Disposition: attachment; filename="x.patch"')
    lines = s.thread.messages[0].lines
    assert lines[0].text == "Hi," and raw[lines[0].no - 1] == b"Hi,"
    attached = [l for l in lines if l.no > part_start]
    body_at = raw.index(b"", part_start) + 1          # the part's first body line (0-based)
    end = next(i for i in range(body_at, len(raw)) if raw[i].startswith(b"--=="))
    assert attached and all(body_at < l.no <= end for l in attached), \
        "numbers fall inside the encoded part"
    if cte == "quoted-printable":
        for ln in attached:
            start = quopri.decodestring(raw[ln.no - 1]).decode().rstrip("\n")
            assert ln.text.startswith(start.rstrip("=")), (ln, raw[ln.no - 1])


@pytest.mark.parametrize("make, needle", [
    (lambda d: (d / "e.eml").write_text("") and None, "is empty"),
    (lambda d: os.mkfifo(d / "p.patch"), "is a FIFO"),
    (lambda d: (d / "n.mbox").write_text("From a@b Thu Jan  1 00:00:00 1970\nSubject: hi\n\nx\n"),
     "with no patch"),
])
def test_cli_reports_bad_input_in_one_line(tmp_path, capsys, make, needle):
    from generator.cli import main
    d = tmp_path / "in"
    d.mkdir()
    make(d)
    (target,) = list(d.iterdir())
    rc = main(["extract", str(target), "--name", "x", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and str(target) in err and needle in err, err
    assert "Traceback" not in err


def test_crlf_line_endings(tmp_path):
    f = tmp_path / "crlf.eml"
    f.write_bytes(PATCH.read_bytes().replace(b"\n", b"\r\n"))
    s = load_series(f)
    plain = load_series(PATCH)
    assert [(l.no, l.text) for l in s.thread.messages[0].lines] == \
        [(l.no, l.text) for l in plain.thread.messages[0].lines]
    assert s.patches[0].hunk_count == 12 and s.patches[0].label == "v3 1/2"


def test_unknown_charset_of_a_part_names_its_content_type_line(tmp_path):
    m = EmailMessage(policy=email.policy.SMTP.clone(linesep="\n"))
    m["From"] = "A <a@b>"
    m["Subject"] = "[PATCH] x"
    m.set_content("intro\n")
    m.add_attachment("diff --git a/x b/x\n", subtype="x-patch", filename="x.patch", cte="7bit")
    data = m.as_bytes().replace(b'text/x-patch; charset="utf-8"', b'text/x-patch; charset="x-k"')
    f = tmp_path / "p.eml"
    f.write_bytes(data)
    e = _one_line_error(f, "charset 'x-k'")
    assert data.split(b"\n")[e.line - 1].startswith(b"Content-Type: text/x-patch")


def test_html_only_mail_is_refused(tmp_path):
    f = tmp_path / "h.eml"
    f.write_text("From: A <a@b>\nSubject: [PATCH] x\nContent-Type: text/html\n\n<p>diff</p>\n")
    e = _one_line_error(f, "the mail's body is text/html", "a text/plain body")
    assert e.line == 3


@pytest.mark.parametrize("header, ok", [
    (b"From: =?x-klingon?q?Qapla=E4?= <a@b>", False),       # a charset Python lacks
    (b"From: D\xe4nemark <a@b>", False),                     # 8-bit, not UTF-8
    ("From: Dänemark <a@b>".encode(), True),                 # raw UTF-8 (RFC 6532)
    (b"From: =?utf-8?q?D=C3=A4nemark?= <a@b>", True),
])
def test_headers_that_do_not_decode(tmp_path, header, ok):
    f = tmp_path / "h.eml"
    f.write_bytes(b"Subject: [PATCH] x\n" + header + b"\n\ndiff --git a/x b/x\n")
    if ok:
        assert load_series(f).thread.messages[0].author == "D\xe4nemark"
    else:
        e = _one_line_error(f, "the From: header does not decode")
        assert e.line == 2


def test_gzip_mbox_says_to_uncompress_it(tmp_path):
    import gzip
    f = tmp_path / "t.mbox.gz"
    f.write_bytes(gzip.compress(_mbox(tmp_path, ["nisv-v3-01.txt"]).read_bytes()))
    _one_line_error(f, "is gzip-compressed", "gunzip t.mbox.gz")
