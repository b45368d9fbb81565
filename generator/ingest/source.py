"""Which reader a file goes to, and the files a series path names.

A path is a file or a directory.  A directory is one series: its files
ending in one of `SERIES_SUFFIXES`, in name order (`b4 am` and
`git format-patch` number their files, so name order is series order);
other files are left alone.  A file is, by its first bytes:
  * an mbox (`From ` separator line, then a header): mime.read_mbox;
    `git format-patch` output is an mbox of one message;
  * a raw mail (a header block naming From:, Subject:, ...): mime.read_mail;
  * otherwise a mail-archive dump or plain text: mail.read_dump.
A file named `.eml`, `.mbox` or `.mbx` must be one of the first two.

What is not a regular file (a FIFO, a device, a socket), an empty file, a
binary file and a mail form without any patch are `InputError`s naming the
file, the line and what was expected.  A FIFO is refused before it is
opened, so reading never blocks.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from generator.errors import InputError
from generator.ingest.mail import Form, Message, Thread, has_diff, max_seed_bytes, read_dump
from generator.ingest.mime import form_of, read_mail, read_mbox

SERIES_SUFFIXES = (".patch", ".diff", ".eml", ".mbx", ".mbox", ".cover", ".txt")
_MAIL_ONLY = (".eml", ".mbx", ".mbox")
_EXPECTED = "a mail, an mbox, a git format-patch file, a mail-archive dump, " \
            "or a directory of them"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def stat_path(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise InputError(str(path), 0, "does not exist", _EXPECTED) from None
    except OSError as e:
        raise InputError(str(path), 0, f"cannot be read: {e.strerror}", _EXPECTED) from None


def series_files(path: Path) -> list[Path]:
    """The files of a directory that may hold the series' mails."""
    try:
        entries = sorted(path.iterdir())
    except OSError as e:
        raise InputError(str(path), 0, f"cannot be listed: {e.strerror}", _EXPECTED) from None
    files = [p for p in entries if p.suffix.lower() in SERIES_SUFFIXES
             and not p.name.startswith(".")]
    if not files:
        raise InputError(str(path), 0, "is a directory with no mail in it",
                         "files ending in " + ", ".join(SERIES_SUFFIXES))
    return files


def read_file(path: Path, seed: str | None = None) -> Thread:
    """Every message of one file; `seed` names it in positions (its name)."""
    path = Path(path)
    seed = seed or path.name
    st = stat_path(path)
    if stat.S_ISDIR(st.st_mode):
        raise InputError(str(path), 0, "is a directory where a file is expected",
                         "a mail, an mbox or a patch file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(str(path), 0, f"is {_kind(st.st_mode)}, not a regular file",
                         "a mail, an mbox or a patch file")
    limit = max_seed_bytes()
    if st.st_size > limit:
        raise InputError(str(path), 0, f"is {st.st_size / (1 << 20):.1f} MB, above the "
                         f"{limit / (1 << 20):.0f} MB limit for a seed (KCONFORM_MAX_SEED_MB "
                         "raises it)", "a mail or thread dump of a few MB")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(str(path), 0, f"cannot read: {e.strerror}") from None
    if not raw.strip():
        raise InputError(str(path), 0, "is empty", "a mail, a thread dump or a patch")
    if b"\0" in raw:
        line = raw[:raw.index(b"\0")].count(b"\n") + 1
        raise InputError(str(path), line, "holds a NUL byte: a binary file, not UTF-8 text or mail",
                         "a mail, an mbox or a patch as text")
    try:
        form = form_of(raw)
        if form in (Form.MBOX, Form.FORMAT_PATCH):
            msgs = read_mbox(path, raw, seed, form)
            _require_patch(path, msgs, f"{form.value} of {len(msgs)} message(s)")
        elif form is Form.MAIL:
            msgs = [read_mail(raw, seed, 1)]
            _require_patch(path, msgs, "mail")
        else:
            if path.suffix.lower() in _MAIL_ONLY:
                first = raw.split(b"\n", 1)[0][:60].decode("utf-8", "replace")
                raise InputError(str(path), 1, f"is not a mail: it starts {first!r}",
                                 "a header block (From:, Subject:, Date: ...) or an mbox "
                                 "`From ` separator line")
            msgs = read_dump(path, raw)
    except InputError as e:
        if e.path == seed and seed != str(path):     # name the file as the user gave it
            raise InputError(str(path), e.line, e.message, e.expected) from None
        raise
    return Thread(seed=seed, path=path, messages=msgs, form=msgs[0].form if msgs else None)


def _require_patch(path: Path, msgs: list[Message], what: str) -> None:
    """A mail form must carry a patch: a [PATCH] subject or a diff."""
    if not any(m.patch or has_diff(m.lines) for m in msgs):
        line = msgs[0].subject_line or msgs[0].start if msgs else 1
        raise InputError(str(path), line, f"{what} with no patch: no [PATCH] subject and no "
                         "`diff --git`", "a patch mail, its cover letter or a reply quoting it")
