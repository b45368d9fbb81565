"""Ingest: a seed file into messages, patches and per-file diff hunks.

Phases:
  1. read the dump and split it into messages (mail.read_thread);
  2. tell patches from replies and cover letters by subject (subject.py);
  3. for each patch, and for each reply that quotes a patch, unquote the
     diff to its depth and parse the hunks (diff.py), repairing stripped
     context markers and decoded HTML entities (repair.py);
  4. reviewer text between quoted lines becomes remarks on those lines.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .diff import FileDiff, Hunk, HunkLine, LineKind, parse_diffs
from .mail import Line, Message, Thread, diff_depths, read_thread, unquote
from .repair import Repair
from .subject import PatchSubject, parse_subject

__all__ = ["Series", "Patch", "Remark", "load_series", "FileDiff", "Hunk",
           "HunkLine", "LineKind", "Line", "Message", "PatchSubject",
           "Repair", "parse_subject"]


@dataclass
class Remark:
    """Reviewer text written between quoted patch lines."""
    author: str
    after_line: int           # seed line of the quoted line it follows
    lines: list[Line]

    @property
    def text(self) -> str:
        return "\n".join(l.text for l in self.lines).strip()


@dataclass
class Patch:
    subject: PatchSubject | None
    message: Message
    files: list[FileDiff]
    description: list[Line]          # commit message / prose before the diff
    repairs: list[Repair]
    quoted_depth: int = 0            # 0: the patch itself; >0: quoted in a reply
    remarks: list[Remark] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.subject.label if self.subject else ""


@dataclass
class Series:
    seed: str
    path: Path
    thread: Thread
    patches: list[Patch]
    covers: list[Message]
    replies: list[Message]

    @property
    def version(self) -> int:
        vs = [p.subject.version for p in self.patches if p.subject]
        return max(vs) if vs else 1

    @property
    def rfc(self) -> bool:
        return any(p.subject.rfc for p in self.patches if p.subject)


def _prose_before_diff(lines: list[Line]) -> list[Line]:
    out = []
    for ln in lines:
        if ln.text.startswith("diff --git "):
            break
        out.append(ln)
    return out


def load_series(path: Path) -> Series:
    thread = read_thread(Path(path))
    patches: list[Patch] = []
    covers: list[Message] = []
    replies: list[Message] = []
    for msg in thread.messages:
        depths = diff_depths(msg)
        if not msg.is_reply and 0 in depths:
            files, repairs = parse_diffs(msg.lines, thread.seed)
            patches.append(Patch(msg.patch, msg, files,
                                 _prose_before_diff(msg.lines), repairs))
            continue
        if msg.is_reply:
            replies.append(msg)
            for d in sorted(x for x in depths if x > 0):
                block = unquote(msg.lines, d)
                files, repairs = parse_diffs(block.lines, thread.seed, quoted=True)
                remarks = [Remark(msg.author,
                                  block.lines[idx].no if idx >= 0 else msg.start,
                                  [l for l in rl])
                           for idx, rl in block.remarks]
                patches.append(Patch(msg.patch, msg, files,
                                     _prose_before_diff(block.lines), repairs,
                                     quoted_depth=d, remarks=remarks))
            continue
        covers.append(msg)
    return Series(thread.seed, Path(path), thread, patches, covers, replies)
