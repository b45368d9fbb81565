"""Mail as mail clients and `git` write it: RFC-822 messages and mboxes,
read with the standard library's `email` and `mailbox` modules.

Forms (`Form`):
  * a raw mail with its full headers (`.eml`, a list archive's raw message):
    folded headers, `Subject:` anywhere in the header block, RFC 2047
    encoded words, 7bit / 8bit / quoted-printable / base64 bodies, MIME
    multipart with the patch in a text part (`text/plain`, `text/x-patch`,
    `text/x-diff`, or an attachment named `*.patch` / `*.diff`);
  * an mbox of several messages (`b4 am` / `b4 mbox`, `From ` separator
    lines, mboxrd `>From ` escaping undone);
  * `git format-patch` output: an mbox of one message whose separator is
    `From <commit> Mon Sep 17 00:00:00 2001`; an in-body `From:` line (git's
    convention for a patch re-posted by someone else) names the author.

Positions.  Every body `Line` carries its 1-based line number in the *file*,
so everything extracted later points back at the input:
  * 7bit, 8bit and binary bodies: decoded lines are the file's lines, one
    for one;
  * quoted-printable: a decoded line gets the number of the file line it
    starts on.  A soft line break (`=` at the end of a file line) joins file
    lines into one decoded line, which keeps the first one's number; an
    encoded line break (`=0A`) splits a file line into decoded lines that
    all share its number;
  * base64: encoded lines do not follow the text's lines, so a decoded line
    gets the number of the nearest file line: the one holding the base64
    characters of the decoded line's first byte.
The mapping is computed from the encoded lines; the decoded text itself is
what `email` decodes.
"""
from __future__ import annotations

import bisect
import binascii
import codecs
import email
import email.errors
import email.policy
import email.utils
import mailbox
import quopri
import re
from email.message import EmailMessage
from pathlib import Path

from generator.errors import InputError
from generator.ingest.mail import Form, Line, Message
from generator.ingest.subject import parse_subject


_HEADER = re.compile(rb'^[!-9;-~]+:')
# header fields at least one of which every real mail has
_MAIL_FIELDS = {b"from", b"subject", b"date", b"message-id", b"return-path",
                b"received", b"delivered-to", b"mime-version"}
_MBOX_FROM = re.compile(rb'^From \S+ .*\d{4}\s*$')
_FORMAT_PATCH_FROM = re.compile(rb'^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001\s*$')
_MBOXRD = re.compile(rb'^>(>*From )', re.M)
_PATCH_NAMES = (".patch", ".diff")
_TEXT_TYPES = ("text/plain", "text/x-patch", "text/x-diff", "text/x-log")


def _first_line(raw: bytes) -> bytes:
    return raw.split(b"\n", 1)[0].rstrip(b"\r")


def _header_block(raw: bytes) -> list[bytes]:
    """The header lines, as the parser takes them: up to the first empty
    line, or to the first line that is neither a field nor a continuation."""
    out = []
    for ln in raw.split(b"\n"):
        ln = ln.rstrip(b"\r")
        if not ln or not (_HEADER.match(ln) or (out and ln[:1] in (b" ", b"\t"))):
            break
        out.append(ln)
    return out


def _body_first(raw: bytes, block: list[bytes], first: int) -> int:
    """File line of the body's first line (after the empty separator line)."""
    lines = raw.split(b"\n", len(block) + 1)
    sep = len(lines) > len(block) and not lines[len(block)].rstrip(b"\r")
    return first + len(block) + (1 if sep else 0)


def looks_like_mbox(raw: bytes) -> bool:
    """An mbox starts with a `From ` separator line followed by a header."""
    head = raw.split(b"\n", 2)
    return len(head) > 1 and bool(_MBOX_FROM.match(head[0].rstrip(b"\r"))) \
        and bool(_HEADER.match(head[1]))


def looks_like_mail(raw: bytes) -> bool:
    """A raw mail: a header block (fields and their folded continuation
    lines, up to the first empty line) naming at least one field every mail
    has.  `Re: [PATCH ...]` alone on a line, as archive pages start, is not."""
    block = _header_block(raw)
    if not block or _body_first(raw, block, 1) != len(block) + 2:
        return False                 # headers must end at an empty line
    names = {ln.split(b":", 1)[0].lower() for ln in block if ln[:1] not in (b" ", b"\t")}
    return bool(names & _MAIL_FIELDS)


def form_of(raw: bytes) -> Form | None:
    """Form.MBOX / FORMAT_PATCH / MAIL, or None for archive text."""
    if looks_like_mbox(raw):
        return Form.FORMAT_PATCH if _FORMAT_PATCH_FROM.match(_first_line(raw)) else Form.MBOX
    if looks_like_mail(raw):
        return Form.MAIL
    return None


# ------------------------------------------------------------------- mbox
def read_mbox(path: Path, raw: bytes, seed: str, form: Form
              ) -> tuple[list[Message], list[InputError]]:
    """Every message of an mbox, each numbered by its lines in the file, and
    the messages that could not be read (as errors, when others could)."""
    box = mailbox.mbox(str(path), create=False)
    rd = _first_line(raw).startswith(b"From mboxrd@")
    out: list[Message] = []
    bad: list[InputError] = []
    pos = 0
    try:
        for key in box.iterkeys():
            data = box.get_bytes(key)
            if not data.strip():
                continue
            at = raw.find(data, pos)
            if at < 0:
                raise InputError(seed, raw[:pos].count(b"\n") + 1,
                                 "mbox message could not be located in the file",
                                 "an mbox whose messages follow `From ` separator lines")
            pos = at + len(data)
            first = raw[:at].count(b"\n") + 1
            if rd:
                data = _MBOXRD.sub(rb'\1', data)      # mboxrd: `>From ` back to `From `
            try:
                out.append(read_mail(data, seed, first, form))
            except InputError as e:
                bad.append(e)
    finally:
        box.close()
    if bad and not out:
        raise bad[0]
    return out, bad


# ------------------------------------------------------------------- mail
def _header_line(block: list[bytes], name: str, first: int) -> int:
    key = name.lower().encode() + b":"
    for k, ln in enumerate(block):
        if ln.lower().startswith(key):
            return first + k
    return 0


def _decoded_or_error(field: str, value: str, block: list[bytes], seed: str, first: int
                      ) -> None:
    """`email` puts U+FFFD where a header's bytes or encoded words do not
    decode (an unknown charset, 8-bit bytes that are not UTF-8); one the
    file does not itself hold is an error on that header's line."""
    if "\ufffd" in value and "\ufffd".encode() not in b"\n".join(block):
        line = _header_line(block, field, first)
        raise InputError(seed, line or first, f"the {field.capitalize()}: header does not "
                         "decode", "RFC 2047 words in a charset Python knows, or UTF-8")


def _part_header_line(data: bytes, body_at: int, first: int) -> int:
    """File line of a MIME part's Content-Type: searched upwards from its
    body (line index `body_at` in `data`) to the boundary line above it."""
    lines = data.split(b"\n")
    for k in range(min(body_at, len(lines)) - 1, -1, -1):
        if lines[k].startswith(b"--"):
            break
        if lines[k].lower().startswith(b"content-type:"):
            return first + k
    return first + max(body_at - 1, 0)


def _text(value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def read_mail(data: bytes, seed: str, first: int, form: Form = Form.MAIL) -> Message:
    """One RFC-822 message whose first header line is file line `first`."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    block = _header_block(data)
    subject_line = _header_line(block, "subject", first)
    try:
        subject = _text(msg["subject"])
        sender = _text(msg["from"])
    except (email.errors.MessageError, ValueError, IndexError, TypeError) as e:
        raise InputError(seed, subject_line or first, f"header does not parse: {e}",
                         "RFC 5322 header fields") from None
    for field, value in (("subject", subject), ("from", sender)):
        _decoded_or_error(field, value, block, seed, first)
    name, addr = email.utils.parseaddr(sender)
    lines: list[Line] = []
    body_first = _body_first(data, block, first)
    pos = len(b"\n".join(block)) + 1
    for part in _text_parts(msg, seed, first, block):
        part_first, pos = _locate(part, msg, data, pos, first, body_first)
        where = _header_line(block, "content-type", first) if part is msg else \
            _part_header_line(data, part_first - first, first)
        lines += _decode_part(part, seed, part_first, where or first)
    author = name or addr
    in_body = _in_body_from(lines)
    if in_body:
        author = in_body
    refs = tuple(_text(msg["references"]).split())
    return Message(subject=subject, patch=parse_subject(subject), author=author,
                   date=_text(msg["date"]), lines=lines, start=first, seed=seed,
                   message_id=_text(msg["message-id"]),
                   in_reply_to=_text(msg["in-reply-to"]), references=refs,
                   subject_line=subject_line, form=form)


def _in_body_from(lines: list[Line]) -> str:
    """git's in-body `From: Name <addr>` (the first body line) names the
    patch's author when someone else posts it."""
    first = next((l.text for l in lines if l.text.strip()), "")
    if first.startswith("From:"):
        name, addr = email.utils.parseaddr(first[5:].strip())
        return name or addr
    return ""


def _text_parts(msg: EmailMessage, seed: str, first: int, block: list[bytes]
                ) -> list[EmailMessage]:
    if not msg.is_multipart():
        ctype = msg.get_content_type()
        if (ctype.startswith("text/") and ctype != "text/html") or \
                ctype == "application/octet-stream":
            return [msg]
        raise InputError(seed, _header_line(block, "content-type", first) or first,
                         f"the mail's body is {ctype}",
                         "a text/plain body, or a multipart mail with the patch in a text part")
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        fname = (part.get_filename() or "").lower()
        if ctype in _TEXT_TYPES or fname.endswith(_PATCH_NAMES):
            parts.append(part)
    if not parts:
        kinds = ", ".join(p.get_content_type() for p in msg.walk() if not p.is_multipart())
        raise InputError(seed, _header_line(block, "content-type", first) or first,
                         f"multipart mail has no text part (parts: {kinds})",
                         "a text/plain, text/x-patch or text/x-diff part, or a *.patch attachment")
    return parts


def _cte(part: EmailMessage) -> str:
    return (part.get("content-transfer-encoding") or "7bit").strip().lower()


def _raw_payload(part: EmailMessage) -> bytes:
    """The part's body as it stands in the file."""
    if _cte(part) in ("quoted-printable", "base64"):
        return str(part.get_payload()).encode("ascii", "surrogateescape")
    return part.get_payload(decode=True) or b""     # 7bit/8bit: the bytes as they are


def _locate(part: EmailMessage, msg: EmailMessage, data: bytes, pos: int, first: int,
            body_first: int) -> tuple[int, int]:
    """File line of the part's first body line, and where to search next:
    a part's encoded body is found in the message's bytes after the
    previous part's (the nearest known line, the body's first, if not)."""
    if part is msg:
        return body_first, len(data)
    raw = _raw_payload(part)
    at = data.find(raw, pos) if raw else -1
    if at < 0:
        return body_first, pos
    return first + data[:at].count(b"\n"), at + len(raw)


def _offsets(raw_lines: list[bytes], cte: str) -> list[int]:
    """Offset in the decoded bytes at which each encoded line's data starts."""
    out: list[int] = []
    at = 0
    if cte == "base64":
        chars = 0
        for ln in raw_lines:
            out.append(chars * 3 // 4)
            chars += len(re.sub(rb'[^A-Za-z0-9+/]', b'', ln))
        return out
    for ln in raw_lines:
        out.append(at)
        at += len(quopri.decodestring(ln) if cte == "quoted-printable" else ln)
    return out


def _charset(part: EmailMessage, seed: str, line: int) -> str:
    charset = part.get_content_charset() or "us-ascii"
    try:
        return codecs.lookup(charset).name
    except LookupError:
        raise InputError(seed, line, f"charset {charset!r} is not one Python can decode",
                         "a charset such as us-ascii, utf-8 or iso-8859-1") from None


def _decode_part(part: EmailMessage, seed: str, part_first: int, where: int) -> list[Line]:
    """The part's decoded lines, each numbered with its file line (see the
    module's docstring); `where` is the line of its Content-Type."""
    cte = _cte(part)
    charset = _charset(part, seed, where)
    raw = _raw_payload(part)
    if cte == "base64":
        try:
            binascii.a2b_base64(re.sub(rb'\s', b'', raw), strict_mode=True)
        except binascii.Error as e:
            raise InputError(seed, part_first, f"base64 body does not decode: {e}",
                             "a base64 body of whole 4-character groups") from None
    decoded = part.get_payload(decode=True) or b""
    raw_lines = raw.split(b"\n")
    starts = _offsets([l + b"\n" for l in raw_lines], cte)
    out: list[Line] = []
    at = 0
    pieces = decoded.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    for piece in pieces:
        r = max(bisect.bisect_right(starts, at) - 1, 0)
        no = part_first + r
        at += len(piece) + 1
        piece = piece.rstrip(b"\r")
        try:
            text = piece.decode(charset)
        except UnicodeDecodeError:
            text = _fallback(piece, charset, seed, no)
        out.append(Line(no, text))
    return out


def _fallback(piece: bytes, charset: str, seed: str, no: int) -> str:
    """Mails that say us-ascii and carry UTF-8 are common; anything else that
    does not decode in its declared charset is an error on that line."""
    if charset == "ascii":
        try:
            return piece.decode("utf-8")
        except UnicodeDecodeError:
            pass
    raise InputError(seed, no, f"text does not decode as {charset}",
                     f"bytes valid in the charset the mail declares ({charset})")
