"""Ingest: messages, patch subjects, hunks and the repairs of damaged dumps."""

import pytest

from generator.errors import InputError
from generator.ingest import LineKind, RepairKind, load_series, parse_subject
from generator.ingest.mail import quote_depth, unquote, Line


@pytest.mark.parametrize("subject, version, index, total, rfc, reply", [
    ("[RFC PATCH v8 5/5] KVM: arm64: ioctl to fetch/store tags", 8, 5, 5, True, False),
    ("* [PATCH v10 5/6] KVM: arm64: ioctl to fetch/store tags in a guest", 10, 5, 6, False, False),
    ("* Re: [PATCH v10 2/6] arm64: kvm: Introduce MTE VM feature", 10, 2, 6, False, True),
    ("Re: [RFC PATCH v5 02/38] KVM: arm64: Add lock/unlock memslot user API", 5, 2, 38, True, True),
    ("[PATCH] a single patch", 1, 1, 1, False, False),
    ("* [PATCH v10 0/6] MTE support for KVM guest", 10, 0, 6, False, False),
])
def test_subjects(subject, version, index, total, rfc, reply):
    s = parse_subject(subject)
    assert (s.version, s.index, s.total, s.rfc, s.reply) == (version, index, total, rfc, reply)


def test_subject_without_patch_tag():
    assert parse_subject("Re: holiday plans") is None
    assert "version" in parse_subject("[PATCH] x").inferred


def test_v10_thread_splits_into_patches_and_replies(seeds_dir):
    s = load_series(seeds_dir / "002_640e98e582cbc741.txt")
    own = [p for p in s.patches if p.quoted_depth == 0]
    assert [p.label for p in own] == [f"v10 {i}/6" for i in range(1, 7)]
    assert len(s.covers) == 1 and s.covers[0].patch.is_cover
    assert len(s.replies) == 21
    assert all(m.author for m in s.thread.messages)


def test_html_entity_repaired_and_recorded(seeds_dir):
    s = load_series(seeds_dir / "002_640e98e582cbc741.txt")
    p5 = next(p for p in s.patches if p.label == "v10 5/6" and p.quoted_depth == 0)
    texts = [l.text for f in p5.files for h in f.hunks for l in h.lines]
    assert any("copy_from_user(&copy_tags, argp" in t for t in texts)
    assert not any("\u00a9" in t for t in texts)
    rep = [r for r in p5.repairs if r.kind is RepairKind.HTML_ENTITY]
    assert [r.line for r in rep] == [779, 781]


def test_stripped_context_markers_repaired(seeds_dir):
    s = load_series(seeds_dir / "000_87786364e6aad26e.txt")
    (p,) = s.patches
    arm = next(f for f in p.files if f.path == "arch/arm64/kvm/arm.c")
    h = arm.hunks[0]
    assert (h.old_count, h.new_count) == (6, 53)
    assert sum(1 for l in h.lines if l.kind is LineKind.CTX) == 6
    assert any(r.kind is RepairKind.CONTEXT_MARKER for r in p.repairs)


def test_quoted_patch_in_nested_reply(seeds_dir):
    s = load_series(seeds_dir / "004_baa2838cf23bbaa8.txt")
    (p,) = s.patches
    assert p.quoted_depth == 3
    assert "include/uapi/linux/kvm.h" in [f.path for f in p.files]
    assert p.remarks, "reviewer text between quoted lines becomes remarks"


def test_quote_depth():
    assert quote_depth("> > > + foo") == (3, "+ foo")
    assert quote_depth(">> x") == (2, "x")
    assert quote_depth("plain") == (0, "plain")
    block = unquote([Line(1, "> a"), Line(2, "remark"), Line(3, "> b")], 1)
    assert [l.text for l in block.lines] == ["a", "b"]
    assert block.remarks[0][0] == 0 and block.remarks[0][1][0].text == "remark"


def test_empty_file_is_a_clear_error(tmp_path):
    f = tmp_path / "empty.txt"
    f.write_text("")
    with pytest.raises(InputError, match="empty.txt.*is empty"):
        load_series(f)


def test_truncated_patch_is_a_problem_naming_file_and_line(tmp_path, seeds_dir):
    lines = (seeds_dir / "000_87786364e6aad26e.txt").read_text().splitlines()
    cut = next(i for i, l in enumerate(lines) if "if (is_error_noslot_pfn(pfn))" in l)
    f = tmp_path / "cut.txt"
    f.write_text("\n".join(lines[:cut]) + "\n")
    (p,) = load_series(f).patches          # does not raise: the rest is kept
    (e,) = p.problems
    assert isinstance(e, InputError) and e.path == "cut.txt" and e.line > 0
    assert "truncated" in e.message and "as its @@ header says" in e.expected
    uapi = next(x for x in p.files if x.path.endswith("uapi/asm/kvm.h"))
    assert uapi.hunks and uapi.hunks[0].added(), "hunks before the damage are still parsed"


def test_malformed_hunk_header_is_a_problem(tmp_path, seeds_dir):
    text = (seeds_dir / "000_87786364e6aad26e.txt").read_text()
    assert "@@ -1303,6 +1303,53 @@" in text
    f = tmp_path / "bad.txt"
    f.write_text(text.replace("@@ -1303,6 +1303,53 @@", "@@ -1303,six +1303,53 @@"))
    (p,) = load_series(f).patches
    bad = [e for e in p.problems if "malformed hunk header" in e.message]
    assert bad and bad[0].line == text.splitlines().index(
        next(l for l in text.splitlines() if l.startswith("@@ -1303,6"))) + 1
    assert "@@ -OLD_START,OLD_COUNT +NEW_START,NEW_COUNT @@" in bad[0].expected
    assert any(x.path.endswith("uapi/asm/kvm.h") for x in p.files)


def test_remarks_are_split_by_depth_and_attributed(seeds_dir):
    (p,) = load_series(seeds_dir / "004_baa2838cf23bbaa8.txt").patches
    assert p.author == "Alexandru Elisei"
    nit = next(r for r in p.remarks if r.text.startswith("Nit: Those flag names"))
    assert (nit.author, nit.depth, nit.after_line, nit.line) == ("Reiji Watanabe", 2, 86, 88)
    ack = next(r for r in p.remarks if r.text.startswith("That's true"))
    assert (ack.author, ack.depth) == ("Alexandru Elisei", 1)
    own = next(r for r in p.remarks if r.text.startswith("Understood."))
    assert own.author == "Reiji Watanabe" and own.depth == 0, "signed 'Reiji', no From: header"
    texts = " ".join(r.text for r in p.remarks)
    assert "Index of Archives" not in texts and "wrote:" not in texts and "Hi Alex" not in texts


def test_attribution_names():
    from generator.ingest.thread import attribution_name
    assert attribution_name("On Mon, Oct 04, 2021 at 06:48:37PM +0100, Marc Zyngier wrote:") \
        == "Marc Zyngier"
    assert attribution_name("On Tue, Feb 15, 2022 at 3:03 AM Alexandru Elisei "
                            "<alexandru.elisei@xxxxxxx> wrote:") == "Alexandru Elisei"


def test_review_reply_with_stripped_indentation(seeds_dir):
    (p,) = load_series(seeds_dir / "003_2f257d4ea7dae093.txt").patches
    assert (p.quoted_depth, p.author, p.label) == (1, "Marc Zyngier", "v2 4/16")
    mmu = next(f for f in p.files if f.path == "arch/arm64/kvm/mmu.c")
    h = mmu.hunks[0]
    assert len(h.new_side()) == h.new_count == 115, "reviewer remarks between lines are not code"
    assert not p.problems
    assert [r.text for r in p.remarks][0] == "one day"
    assert p.remarks[-1].text.endswith("Reviewed-by: Andrew Jones <drjones@xxxxxxxxxx>")


def test_inconsistent_quoting_is_repaired_and_recorded(tmp_path, seeds_dir):
    lines = (seeds_dir / "003_2f257d4ea7dae093.txt").read_text().splitlines()
    k = next(i for i, l in enumerate(lines) if l == "> + if (ipa & ~PAGE_MASK)")
    lines[k] = "> > + if (ipa & ~PAGE_MASK)"          # one line quoted a level too deep
    f = tmp_path / "requoted.txt"
    f.write_text("\n".join(lines) + "\n")
    (p,) = load_series(f).patches
    rep = [r for r in p.repairs if r.kind is RepairKind.INCONSISTENT_QUOTE]
    assert [r.line for r in rep] == [k + 1] and "quoted 2 deep" in rep[0].after
    mmu = next(x for x in p.files if x.path == "arch/arm64/kvm/mmu.c")
    assert any(l.text.strip() == "if (ipa & ~PAGE_MASK)" for l in mmu.hunks[0].lines)


def test_binary_file_is_a_clear_error(tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        load_series(f)
