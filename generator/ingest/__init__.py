"""Ingest: a seed file into messages, patches and per-file diff hunks.

Phases:
  1. read the dump and split it into messages (mail.read_thread);
  2. tell patches from replies and cover letters by subject (subject.py);
  3. for each patch, and for each reply that quotes a patch, unquote the
     diff to its depth and parse the hunks (diff.py), repairing stripped
     context markers and decoded HTML entities (repair.py);
  4. reviewer text between quoted lines becomes remarks on those lines, one
     per run of text at one quote depth, attributed to whoever wrote that
     depth (thread.py).

Damage that cannot be repaired is collected as `InputError` problems on
the patch (file, line, what was expected) instead of stopping the run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import InputError
from generator.ingest.diff import FileDiff, Hunk, HunkLine, LineKind, parse_diffs
from generator.ingest.mail import Line, Message, Thread, diff_depths, read_thread, unquote
from generator.ingest.repair import Repair, RepairKind
from generator.ingest.subject import PatchSubject, parse_subject
from generator.ingest.thread import authors_by_depth, clean_remark

__all__ = ["Series", "Patch", "Remark", "load_series", "InputError", "FileDiff", "Hunk",
           "HunkLine", "LineKind", "Line", "Message", "PatchSubject",
           "Repair", "RepairKind", "parse_subject"]


@dataclass
class Remark:
    """Reviewer text written between quoted patch lines."""
    author: str
    after_line: int           # seed line of the quoted line it follows
    lines: list[Line]         # cleaned: no attributions, greetings, footers
    depth: int = 0            # quote depth the remark itself is at in the mail

    @property
    def text(self) -> str:
        return "\n".join(l.text for l in self.lines).strip()

    @property
    def line(self) -> int:
        return self.lines[0].no if self.lines else self.after_line


@dataclass
class Patch:
    subject: PatchSubject | None
    message: Message
    files: list[FileDiff]
    description: list[Line]          # commit message / prose before the diff
    repairs: list[Repair]
    quoted_depth: int = 0            # 0: the patch itself; >0: quoted in a reply
    remarks: list[Remark] = field(default_factory=list)
    problems: list[InputError] = field(default_factory=list)
    author: str = ""                 # who wrote the patch (at its quote depth)

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


def _remarks(msg: Message, block, authors: dict[int, str]) -> list[Remark]:
    """One remark per run of same-depth text between two quoted lines."""
    out: list[Remark] = []
    for idx, lines, depths in block.remarks:
        after = block.lines[idx].no if idx >= 0 else msg.start
        runs: list[tuple[int, list[Line]]] = []
        for ln, d in zip(lines, depths):
            if not ln.text.strip() and runs:
                runs[-1][1].append(ln)          # blank lines stay with their run
                continue
            if runs and runs[-1][0] == d:
                runs[-1][1].append(ln)
            else:
                runs.append((d, [ln]))
        for d, run in runs:
            kept = clean_remark(run, msg.lines)
            if kept:
                out.append(Remark(authors.get(d, ""), after, kept, d))
    return out


def load_series(path: Path) -> Series:
    thread = read_thread(Path(path))
    patches: list[Patch] = []
    covers: list[Message] = []
    replies: list[Message] = []
    for msg in thread.messages:
        depths = diff_depths(msg)
        if not msg.is_reply and 0 in depths:
            files, repairs, problems = parse_diffs(msg.lines, thread.seed)
            patches.append(Patch(msg.patch, msg, files,
                                 _prose_before_diff(msg.lines), repairs,
                                 problems=problems, author=msg.author))
            continue
        if msg.is_reply:
            replies.append(msg)
            authors = authors_by_depth(msg)
            for d in sorted(x for x in depths if x > 0):
                block = unquote(msg.lines, d)
                files, repairs, problems = parse_diffs(block.lines, thread.seed, quoted=True)
                for ln, found in block.requoted:
                    repairs.append(Repair(ln.no, RepairKind.INCONSISTENT_QUOTE, ln.text,
                                          f"a diff line quoted {found} deep inside a quote "
                                          f"{d} deep; read at depth {d} ('{'> ' * d}')"))
                patches.append(Patch(msg.patch, msg, files,
                                     _prose_before_diff(block.lines), repairs,
                                     quoted_depth=d, remarks=_remarks(msg, block, authors),
                                     problems=problems, author=authors.get(d, "")))
            continue
        covers.append(msg)
    return Series(thread.seed, Path(path), thread, patches, covers, replies)
