"""Split a mail-archive dump into messages.

Three shapes are recognised, as the list archives produce them:

* a public-inbox thread page: each message starts with `* [PATCH ...]` or
  `* Re: [PATCH ...]`, has a `From: NAME @ DATE (permalink / raw)` line and
  ends at `^ permalink raw reply`;
* a single-message archive page: the subject on the first line, then
  `From:` / `Date:` lines and the body;
* prose with no headers at all (a cover letter pasted as text).

Every line keeps its 1-based line number in the seed file, so anything
extracted later can point back at it.  Raw mails and mboxes are read by
mime.py; which reader a file goes to is decided in source.py.
"""
from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import InputError
from generator.ingest.subject import PatchSubject, parse_subject


class Form(enum.Enum):
    """The shape a file arrived in."""
    DUMP_THREAD = "public-inbox thread page"
    DUMP_PAGE = "mail-archive page"
    PROSE = "text without headers"
    MAIL = "RFC-822 mail"
    MBOX = "mbox"
    FORMAT_PATCH = "git format-patch"


@dataclass(frozen=True)
class Line:
    no: int        # 1-based line number in the seed file
    text: str


@dataclass
class Message:
    subject: str
    patch: PatchSubject | None
    author: str
    date: str
    lines: list[Line]             # body lines (headers removed)
    start: int                    # seed line of the message's first line
    seed: str = ""                # the file it is in (its name)
    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    subject_line: int = 0         # file line of the subject (0: none)
    form: Form = Form.DUMP_PAGE

    @property
    def root(self) -> str:
        """The Message-ID of the thread's first message, where headers say."""
        return (self.references[0] if self.references else "") or self.in_reply_to \
            or self.message_id

    @property
    def is_reply(self) -> bool:
        """A `Re:` subject, or an `In-Reply-To` on a message whose subject
        names no patch.  A `[PATCH m/M]` sent in reply to its cover letter
        (git send-email's threading) is a patch, not a reply."""
        return bool(self.patch and self.patch.reply) or \
            self.subject.lower().startswith("re:") or \
            bool(self.in_reply_to and self.patch is None)


@dataclass
class Thread:
    seed: str
    path: Path
    messages: list[Message] = field(default_factory=list)
    form: Form | None = None

    def patches(self) -> list[Message]:
        """Messages that carry a patch (not replies, not cover letters)."""
        return [m for m in self.messages
                if m.patch and not m.is_reply and not m.patch.is_cover]


_PI_START = re.compile(r'^\* (?:Re: )?\[.*\]')
_PI_FROM = re.compile(r'^From: (?P<who>.*?) @ (?P<date>.*?) \(permalink')
_PI_END = re.compile(r'^\^ permalink raw reply')


def newline_lines(text: str) -> list[str]:
    """The lines of `text` as an editor and `seed:line` count them: split at
    `\n` only (a `\r` before it dropped), never at the form feeds, U+2028
    and other separators `str.splitlines()` also breaks at, so a stray one
    in a dump does not shift every later line number."""
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


# The largest seed read (a long review thread is 1-2 MB); KCONFORM_MAX_SEED_MB
# raises it.
MAX_SEED_MB = 16


def max_seed_bytes() -> int:
    try:
        return int(float(os.environ.get("KCONFORM_MAX_SEED_MB", MAX_SEED_MB)) * (1 << 20))
    except ValueError:
        return MAX_SEED_MB << 20


def read_dump(path: Path, raw: bytes) -> list[Message]:
    """The messages of a mail-archive dump (the three shapes above)."""
    path = Path(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise InputError(str(path), line, "is not UTF-8 text",
                         "a mail, an mbox, or a mail-archive dump in UTF-8") from None
    if not text.strip():
        raise InputError(str(path), 0, "is empty",
                         "a mail, a thread dump or a patch")
    lines = [Line(i + 1, t) for i, t in enumerate(newline_lines(text))]
    seed = path.name
    if any(_PI_START.match(l.text) for l in lines[:3]) and \
            any(_PI_FROM.match(l.text) for l in lines[:20]):
        msgs = _split_public_inbox(lines)
    else:
        msgs = [_single_message(lines)]
    for m in msgs:
        m.seed = seed
    return msgs


def _split_public_inbox(lines: list[Line]) -> list[Message]:
    msgs: list[Message] = []
    i = 0
    n = len(lines)
    while i < n:
        if not _PI_START.match(lines[i].text):
            i += 1
            continue
        start = i
        subject = lines[i].text[2:].strip()
        # Subject lines may wrap onto indented continuation lines before the
        # thread-overview lines; the From line ends the header block.
        j = i + 1
        who = date = ""
        while j < n and not _PI_FROM.match(lines[j].text):
            if _PI_START.match(lines[j].text):
                break
            j += 1
        if j < n and (mf := _PI_FROM.match(lines[j].text)):
            who, date = mf.group("who").strip(), mf.group("date").strip()
            j += 1
            # To:/Cc: and their continuation lines
            while j < n and (re.match(r'^(To|Cc|Subject|In-Reply-To|References):', lines[j].text)
                             or (lines[j].text[:1] in (" ", "\t") and lines[j].text.strip())):
                j += 1
        body: list[Line] = []
        while j < n and not _PI_END.match(lines[j].text) and not _PI_START.match(lines[j].text):
            body.append(lines[j])
            j += 1
        msgs.append(Message(subject=subject, patch=parse_subject(subject),
                            author=who, date=date, lines=body,
                            start=lines[start].no, subject_line=lines[start].no,
                            form=Form.DUMP_THREAD))
        i = j + 1 if j < n and _PI_END.match(lines[j].text) else j
    return msgs


def _single_message(lines: list[Line]) -> Message:
    first = lines[0].text.strip()
    patch = parse_subject(first)
    subject = first if (patch or re.match(r'^(Re|RE):', first)) else ""
    who = date = ""
    body_from = 1 if subject else 0
    for k in range(body_from, min(len(lines), body_from + 12)):
        t = lines[k].text
        if t.startswith("From:") and not who:
            who = t[5:].strip()
            body_from = k + 1
        elif t.startswith("Date:") and not date:
            date = t[5:].strip()
            body_from = k + 1
    return Message(subject=subject, patch=patch, author=who, date=date,
                   lines=lines[body_from:], start=lines[0].no,
                   subject_line=lines[0].no if subject else 0,
                   form=Form.DUMP_PAGE if subject or who else Form.PROSE)


# ----------------------------------------------------------------- quoting
_QUOTE = re.compile(r'^((?:>[ \t]?)+)')


def quote_depth(text: str) -> tuple[int, str]:
    """Depth of `> > >` quoting and the text under it."""
    m = _QUOTE.match(text)
    if not m:
        return 0, text
    prefix = m.group(1)
    depth = prefix.count(">")
    rest = text[len(prefix):]
    # `> >` with the last marker followed directly by text keeps the space
    # that belonged to the quoted line itself: one space is the separator.
    return depth, rest


@dataclass
class QuotedBlock:
    """Lines at one quote depth, with the remarks written between them."""
    depth: int
    lines: list[Line]                       # unquoted text, seed positions kept
    # (index in lines it follows, remark lines, the quote depth of each line)
    remarks: list[tuple[int, list[Line], list[int]]]
    # diff lines quoted at a neighbouring depth inside the block: (line, depth)
    requoted: list[tuple[Line, int]] = field(default_factory=list)


_DIFF_SHAPE = re.compile(r'^(?:@@ |diff --git |[+-](?:[ \t]|$)|[+-].*[;{}()]\s*$)')


def _sandwiched(depths: list[int], k: int, depth: int) -> bool:
    """Whether the nearest non-blank lines around k are both at `depth`."""
    def near(step: int) -> int | None:
        j = k + step
        while 0 <= j < len(depths):
            if depths[j] >= 0:
                return depths[j]
            j += step
        return None
    return near(-1) == depth and near(1) == depth


def unquote(lines: list[Line], depth: int) -> QuotedBlock:
    """Keep the lines quoted exactly `depth` deep (unquoted), and collect the
    shallower lines between them as remarks on the preceding quoted line.

    A diff line quoted one level off inside the block (a mail client that
    re-wrapped or re-quoted one line) is kept at `depth` and reported in
    `requoted`, so the hunk it belongs to stays whole."""
    parsed = [quote_depth(ln.text) for ln in lines]
    # depth of each line; -1 for blank lines (they carry no quoting evidence)
    depths = [d if rest.strip() or d else -1 for d, rest in parsed]
    kept: list[Line] = []
    remarks: list[tuple[int, list[Line], list[int]]] = []
    pending: list[Line] = []
    pending_d: list[int] = []
    requoted: list[tuple[Line, int]] = []

    def flush() -> None:
        nonlocal pending, pending_d
        if any(p.text.strip() for p in pending):
            remarks.append((len(kept) - 1, pending, pending_d))
        pending, pending_d = [], []

    for k, (ln, (d, rest)) in enumerate(zip(lines, parsed)):
        if d != depth and d >= 1 and abs(d - depth) == 1 and depth >= 1 \
                and _DIFF_SHAPE.match(rest) and _sandwiched(depths, k, depth):
            requoted.append((ln, d))
            d = depth
        if d == depth:
            flush()
            kept.append(Line(ln.no, rest))
        elif d < depth:
            pending.append(Line(ln.no, rest if d else ln.text))
            pending_d.append(d)
    flush()
    return QuotedBlock(depth, kept, remarks, requoted)


def has_diff(lines: list[Line]) -> bool:
    """Whether any line, at any quote depth, starts a `diff --git`."""
    return any(quote_depth(ln.text)[1].startswith("diff --git ") for ln in lines)


def diff_depths(msg: Message) -> list[int]:
    """Quote depths at which the message carries `diff --git` lines."""
    depths = []
    for ln in msg.lines:
        d, rest = quote_depth(ln.text)
        if rest.startswith("diff --git ") and d not in depths:
            depths.append(d)
    return depths
