"""Unified diffs inside (possibly damaged, possibly quoted) mail text.

The hunk header's line counts decide where a hunk ends, which lets us repair
context lines whose leading space the archive stripped: inside a hunk, a line
that starts with neither `+`, `-` nor a space is context.  A hunk that ends
early is an error in a patch (truncated) but normal in a review reply, where
the reviewer trims the quote; both are recorded.

Damage that cannot be repaired (a truncated hunk in a patch, a hunk header
that does not parse, a diff header with no hunk) is returned as `InputError`
problems naming the seed line and what was expected; the hunks around it are
still parsed, so extraction keeps what can be kept.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from generator.errors import InputError
from generator.ingest.mail import Line
from generator.ingest.repair import Repair, RepairKind, is_code_path, repair_entities


class LineKind(enum.Enum):
    ADD = "+"
    DEL = "-"
    CTX = " "


@dataclass(frozen=True)
class HunkLine:
    kind: LineKind
    text: str          # without the marker, repaired
    seed_line: int
    new_no: int        # line number in the new file (0 for deletions)


@dataclass
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str       # text after the second @@ (enclosing function)
    seed_line: int
    lines: list[HunkLine] = field(default_factory=list)
    trimmed: int = 0   # context lines missing at the end (quoted replies)

    def new_side(self) -> list[HunkLine]:
        return [l for l in self.lines if l.kind is not LineKind.DEL]

    def added(self) -> list[HunkLine]:
        return [l for l in self.lines if l.kind is LineKind.ADD]


@dataclass
class FileDiff:
    old_path: str
    new_path: str
    seed_line: int
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path if self.new_path != "/dev/null" else self.old_path


_DIFF = re.compile(r'^diff --git a/(\S+) b/(\S+)')
_HUNK = re.compile(r'^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$')


_HUNKISH = re.compile(r'^@@ ')
_HUNK_DAMAGED = re.compile(r'-(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$')
_GIT_EXTENDED = re.compile(r'^(index |new file mode|deleted file mode|old mode|new mode|'
                           r'similarity index|dissimilarity index|rename |copy )')
_MINUS = re.compile(r'^--- (?:a/)?(\S+)')
_PLUS = re.compile(r'^\+\+\+ (?:b/)?(\S+)')
# an added or removed line (not a `---`/`+++` header, not a `-- ` signature)
_ORPHAN = re.compile(r'^(?:\+(?!\+\+ )|-(?!-- |- ?$|-$))')


def _orphans(orphans: list[Line], cur: FileDiff | None, seed: str,
             problems: list[InputError]) -> None:
    """Added or removed lines after a hunk ended and before the next: the
    `@@` header that would have held them is damaged; they are not read."""
    if not orphans:
        return
    added = sum(1 for l in orphans if l.text.startswith("+"))
    first, last = orphans[0].no, orphans[-1].no
    problems.append(InputError(
        seed, first,
        f"{len(orphans)} diff line(s) ({added} added) at lines {first}-{last} of the diff of "
        f"{cur.path if cur else '?'} belong to no hunk (a damaged `@@` header above them?); "
        "they are not read",
        "every added or removed line inside a hunk whose @@ header counts it"))
    orphans.clear()


def parse_diffs(lines: list[Line], seed: str, quoted: bool = False
                ) -> tuple[list[FileDiff], list[Repair], list[InputError]]:
    """Find every file diff in `lines` (already unquoted)."""
    files: list[FileDiff] = []
    repairs: list[Repair] = []
    problems: list[InputError] = []
    i, n = 0, len(lines)
    cur: FileDiff | None = None
    header_at = -10                   # index of the last `diff --git` line
    orphans: list[Line] = []          # diff lines outside any hunk
    while i < n:
        t = lines[i].text
        if (m := _DIFF.match(t)):
            _orphans(orphans, cur, seed, problems)
            cur = FileDiff(m.group(1), m.group(2), lines[i].no)
            files.append(cur)
            header_at = i
            i += 1
            continue
        if (m := _PLUS.match(t)) and i > 0 and _MINUS.match(lines[i - 1].text) \
                and i - header_at > 4:
            # `--- a/P` `+++ b/P` with no `diff --git` just before: that line is
            # damaged (or missing); the file diff starts here, or its hunks
            # would be read as the previous file's
            _orphans(orphans, cur, seed, problems)
            old = _MINUS.match(lines[i - 1].text).group(1)
            cur = FileDiff(old, m.group(1), lines[i - 1].no)
            files.append(cur)
            header_at = i
            above = next((lines[k] for k in range(i - 2, max(i - 5, -1), -1)
                          if lines[k].text.strip() and not _GIT_EXTENDED.match(lines[k].text)),
                         lines[i - 1])
            repairs.append(Repair(above.no, RepairKind.DIFF_HEADER, above.text,
                                  f"diff --git a/{cur.old_path} b/{cur.new_path} "
                                  "(read from the ---/+++ lines)"))
            i += 1
            continue
        if cur is not None and (m := _HUNK.match(t)):
            _orphans(orphans, cur, seed, problems)
            hunk, i = _parse_hunk(lines, i, m, cur.path, seed, quoted, repairs, problems)
            cur.hunks.append(hunk)
            continue
        if cur is not None and (m := _HUNK_DAMAGED.search(t)) and not t.startswith(("+", "-", " ")):
            # `#@ -1297,6 +1297,65 @@`: the counts still read
            _orphans(orphans, cur, seed, problems)
            repairs.append(Repair(lines[i].no, RepairKind.HUNK_HEADER, t,
                                  f"@@ -{m.group(1)},{m.group(2) or 1} +{m.group(3)},"
                                  f"{m.group(4) or 1} @@"))
            hunk, i = _parse_hunk(lines, i, m, cur.path, seed, quoted, repairs, problems)
            cur.hunks.append(hunk)
            continue
        if cur is not None and _HUNKISH.match(t):
            problems.append(InputError(seed, lines[i].no,
                                       f"malformed hunk header {t.strip()!r} in the diff of {cur.path}",
                                       "@@ -OLD_START,OLD_COUNT +NEW_START,NEW_COUNT @@; "
                                       "the lines up to the next hunk are skipped"))
        elif cur is not None and _ORPHAN.match(t):
            orphans.append(lines[i])
        elif orphans and t.strip():
            _orphans(orphans, cur, seed, problems)
        i += 1
    _orphans(orphans, cur, seed, problems)
    for f in files:
        if not f.hunks and not quoted:
            problems.append(InputError(seed, f.seed_line, f"diff of {f.path} has no hunk",
                                       "an @@ -a,b +c,d @@ header after the diff header"))
    return files, repairs, problems


def _is_terminator(lines: list[Line], i: int) -> bool:
    t = lines[i].text
    if _DIFF.match(t) or _HUNK.match(t):
        return True
    if t.rstrip() == "--":
        nxt = lines[i + 1].text.strip() if i + 1 < len(lines) else ""
        return nxt == "" or bool(re.match(r'^\d+\.\d+', nxt))
    return False


def _parse_hunk(lines: list[Line], i: int, m: re.Match, path: str, seed: str,
                quoted: bool, repairs: list[Repair], problems: list[InputError]
                ) -> tuple[Hunk, int]:
    old_start, new_start = int(m.group(1)), int(m.group(3))
    old_count = int(m.group(2)) if m.group(2) is not None else 1
    new_count = int(m.group(4)) if m.group(4) is not None else 1
    hunk = Hunk(old_start, old_count, new_start, new_count, m.group(5).strip(),
                lines[i].no)
    code = is_code_path(path)
    old_seen = new_seen = 0
    i += 1
    while i < len(lines) and (old_seen < old_count or new_seen < new_count):
        if _is_terminator(lines, i):
            break
        ln = lines[i]
        t = ln.text
        if t.startswith("\\"):          # "\ No newline at end of file"
            i += 1
            continue
        if t.startswith("+") and new_seen < new_count:
            kind, body = LineKind.ADD, t[1:]
        elif t.startswith("-") and old_seen < old_count:
            kind, body = LineKind.DEL, t[1:]
        elif t.startswith(" "):
            kind, body = LineKind.CTX, t[1:]
        elif t == "":
            kind, body = LineKind.CTX, ""
        else:
            kind, body = LineKind.CTX, t
            repairs.append(Repair(ln.no, RepairKind.CONTEXT_MARKER, t, " " + t))
        if code:
            fixed = repair_entities(body)
            if fixed != body:
                repairs.append(Repair(ln.no, RepairKind.HTML_ENTITY, body, fixed))
                body = fixed
        new_no = 0
        if kind is not LineKind.DEL:
            new_no = new_start + new_seen
            new_seen += 1
        if kind is not LineKind.ADD:
            old_seen += 1
        hunk.lines.append(HunkLine(kind, body, ln.no, new_no))
        i += 1
    miss_old, miss_new = old_count - old_seen, new_count - new_seen
    if miss_old < 0 or miss_new < 0:
        repairs.append(Repair(lines[i - 1].no, RepairKind.INCONSISTENT_HUNK,
                              f"@@ -{old_start},{old_count} +{new_start},{new_count} @@",
                              "line kinds do not add up to the header's counts"))
    elif miss_old or miss_new:
        where = lines[i - 1].no if i > 0 else hunk.seed_line
        if quoted or miss_old == miss_new:
            hunk.trimmed = max(miss_old, miss_new)
            why = "trimmed by the reviewer" if quoted else "trailing blank context dropped by the archive"
            repairs.append(Repair(where, RepairKind.SHORT_HUNK,
                                  f"@@ -{old_start},{old_count} +{new_start},{new_count} @@",
                                  f"{hunk.trimmed} line(s) missing at the end ({why})"))
        else:
            hunk.trimmed = max(miss_old, miss_new)
            problems.append(InputError(
                seed, where,
                f"hunk of {path} starting at line {hunk.seed_line} is truncated: "
                f"{miss_old} old and {miss_new} new line(s) missing",
                f"{old_count} old and {new_count} new lines as its @@ header says; "
                "the lines present are kept"))
    return hunk, i
