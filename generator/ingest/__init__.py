"""Ingest: a series, in any form it arrives in, into messages, patches and
per-file diff hunks.

Phases:
  1. read the path (source.py): a file, or a directory of them (one series);
     each file is a raw mail, an mbox (`b4`, `git format-patch`) (mime.py)
     or a mail-archive dump (mail.py); every line keeps its number in its
     file;
  2. tell patches from replies and cover letters by subject and
     `In-Reply-To` (subject.py, mail.Message.is_reply);
  3. for each patch, and for each reply that quotes a patch, unquote the
     diff to its depth and parse the hunks (diff.py), repairing stripped
     context markers and decoded HTML entities (repair.py);
  4. reviewer text between quoted lines becomes remarks on those lines, one
     per run of text at one quote depth, attributed to whoever wrote that
     depth (thread.py);
  5. assemble the series by `[PATCH vN m/M]` (series.py): one version,
     patches in order, duplicates collapsed, missing numbers as findings.

Damage that cannot be repaired is collected as `InputError` problems on
the patch (file, line, what was expected) instead of stopping the run; in a
directory, a file that cannot be read is a finding when other files can be
used.  Input that cannot be used at all raises `InputError`.
"""
from __future__ import annotations

import stat
from pathlib import Path

from generator.errors import InputError
from generator.ingest.diff import FileDiff, Hunk, HunkLine, LineKind, parse_diffs
from generator.ingest.mail import (Form, Line, Message, Thread, diff_depths, unquote)
from generator.ingest.repair import Repair, RepairKind
from generator.ingest.series import (Patch, Remark, Series, SeriesFinding, SeriesFindingKind,
                                     assemble, series_name)
from generator.ingest.source import SERIES_SUFFIXES, read_file, series_files, stat_path
from generator.ingest.subject import PatchSubject, parse_subject
from generator.ingest.thread import authors_by_depth, clean_remark

__all__ = ["Series", "Patch", "Remark", "load_series", "series_name", "InputError",
           "FileDiff", "Hunk", "HunkLine", "LineKind", "Line", "Message", "PatchSubject",
           "Repair", "RepairKind", "parse_subject", "Form", "SeriesFinding",
           "SeriesFindingKind", "SERIES_SUFFIXES"]


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


def _patches_of(msg: Message, seed: str) -> tuple[list[Patch], list[Patch]]:
    """(the message's own patch, the patches it quotes)."""
    depths = diff_depths(msg)
    if not msg.is_reply and 0 in depths:
        files, repairs, problems = parse_diffs(msg.lines, seed)
        return [Patch(msg.patch, msg, files, _prose_before_diff(msg.lines), repairs,
                      problems=problems, author=msg.author)], []
    quoted: list[Patch] = []
    if msg.is_reply:
        authors = authors_by_depth(msg)
        for d in sorted(x for x in depths if x > 0):
            block = unquote(msg.lines, d)
            files, repairs, problems = parse_diffs(block.lines, seed, quoted=True)
            for ln, found in block.requoted:
                repairs.append(Repair(ln.no, RepairKind.INCONSISTENT_QUOTE, ln.text,
                                      f"a diff line quoted {found} deep inside a quote "
                                      f"{d} deep; read at depth {d} ('{'> ' * d}')"))
            quoted.append(Patch(msg.patch, msg, files, _prose_before_diff(block.lines),
                                repairs, quoted_depth=d, remarks=_remarks(msg, block, authors),
                                problems=problems, author=authors.get(d, "")))
    return [], quoted


def _read(path: Path) -> tuple[str, list[Thread], list[SeriesFinding]]:
    """The threads a path holds: one file, or every series file of a
    directory (a file that cannot be read is a finding while another can)."""
    st = stat_path(path)
    threads: list[Thread] = []
    unread: list[InputError] = []
    if not stat.S_ISDIR(st.st_mode):
        threads.append(read_file(path))
    else:
        for f in series_files(path):
            try:
                threads.append(read_file(f))
            except InputError as e:
                unread.append(e)
    if not threads:
        raise unread[0]
    unread += [e for t in threads for e in t.problems]
    findings = [SeriesFinding(SeriesFindingKind.UNREADABLE, Path(e.path).name, e.line,
                              f"left out: {e}") for e in unread]
    return path.name, threads, findings


def load_series(path: Path) -> Series:
    """Read a series from a file (mail, mbox, format-patch output, archive
    dump) or a directory of such files."""
    path = Path(path)
    seed, threads, findings = _read(path)
    own: list[Patch] = []
    quoted: list[Patch] = []
    covers: list[Message] = []
    replies: list[Message] = []
    messages: list[Message] = []
    for thread in threads:
        for msg in thread.messages:
            messages.append(msg)
            mine, quotes = _patches_of(msg, thread.seed)
            own += mine
            quoted += quotes
            if msg.is_reply:
                replies.append(msg)
            elif not mine:
                covers.append(msg)
    patches, other, assembled = assemble(own, quoted, covers)
    merged = Thread(seed, path, messages, threads[0].form if len(threads) == 1 else None)
    return Series(seed, path, merged, patches, covers, replies,
                  findings=findings + assembled, threads=threads, superseded=other)
