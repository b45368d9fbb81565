"""Consistency inside one series: what the patch's documentation says
against what its code does, and damage the patch itself carries.

  * a merge-conflict marker left in a patched file;
  * an identifier in api.rst that the code does not define, when the code
    defines one that differs only slightly (KVM_ARM_LOCK_MEMORY_READ in the
    text, KVM_ARM_LOCK_MEM_READ in the header);
  * a word in api.rst found nowhere else in the thread that is two
    thread words run together (`fieldmust`) or one letter off a word the
    thread uses repeatedly (`permisions`);
  * a documented `:Returns: 0 on success` for an operation whose code,
    past every check, returns something else.

Each finding carries the documentation's position as its source and the
code's as `related`.
"""
from __future__ import annotations

import difflib
import re
from collections import Counter

from generator.ingest import Patch
from generator.ingest.series import added_lines
from generator.model import Finding, FindingKind, Source, Spec
from generator.extract.docs import CONFLICT, DocSection

_NAME = re.compile(r'\bKVM_[A-Z0-9_]*[A-Z0-9]\b')
_WORD = re.compile(r"[A-Za-z]+")
_SUFFIXES = ("s", "es", "d", "ed", "ing", "ly", "er", "r")


def conflict_markers(patches: list[Patch], seed: str) -> list[Finding]:
    out: list[Finding] = []
    for p in patches:
        for f in p.files:
            for h in f.hunks:
                for l in h.added():
                    if CONFLICT.match(l.text.rstrip()):
                        out.append(Finding(
                            FindingKind.CONFLICT_MARKER,
                            f"{f.path} line {l.new_no} is a merge-conflict marker "
                            f"`{l.text.strip()[:60]}` the patch adds; extraction ignores it",
                            Source(seed, l.seed_line, p.label, f.path, l.text.strip()[:120])))
    return out


def _code_names(patches: list[Patch], spec: Spec) -> dict[str, Source]:
    """Identifiers the code of the series defines, with where."""
    out: dict[str, Source] = {}
    for c in spec.constants:
        out.setdefault(c.name, c.source)
    for c in spec.capabilities:
        out.setdefault(c.name, c.source)
    for i in spec.ioctls:
        out.setdefault(i.name, i.source)
    for p in patches:
        for f in p.files:
            if f.path.endswith(".rst"):
                continue
            for h in f.hunks:
                for l in h.new_side():
                    for m in _NAME.finditer(l.text):
                        out.setdefault(m.group(0), Source(spec.seed, l.seed_line, p.label,
                                                          f.path, l.text.strip()[:120]))
    return out


def _doc_lines(patches: list[Patch]):
    for p, f, l in added_lines(patches, ".rst"):
        if not CONFLICT.match(l.text.rstrip()):
            yield p, f.path, l


def doc_code_names(patches: list[Patch], spec: Spec) -> list[Finding]:
    code = _code_names(patches, spec)
    out: list[Finding] = []
    seen: set[str] = set()
    for p, path, l in _doc_lines(patches):
        for m in _NAME.finditer(l.text):
            name = m.group(0)
            if name in code or name in seen:
                continue
            close = [(difflib.SequenceMatcher(None, name, c).ratio(), c) for c in code
                     if c.split("_")[-1] == name.split("_")[-1] and c.split("_")[:2] == name.split("_")[:2]]
            close = [x for x in close if x[0] >= 0.8]
            if not close:
                continue
            seen.add(name)
            best = max(close)[1]
            where = code[best]
            out.append(Finding(
                FindingKind.DOC_CODE_MISMATCH,
                f"{path} names {name} (line {l.seed_line}) but the code defines no such name; "
                f"it defines {best} ({where.path} at seed line {where.line})",
                Source(spec.seed, l.seed_line, p.label, path, l.text.strip()[:120]), where))
    return out


def _edit1(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _stem(w: str) -> str:
    return re.sub(r'(?:ies|ied|ing|es|ed|ly|er|s|d|y)$', '', w)


def _variant(a: str, b: str) -> bool:
    """Two forms of one word (specifies/specified), not a misspelling."""
    return any(a == b + s or b == a + s for s in _SUFFIXES) or _stem(a) == _stem(b)


def doc_typos(patches: list[Patch], spec: Spec, corpus: str) -> list[Finding]:
    counts = Counter(w.lower() for w in _WORD.findall(corpus))
    common = [w for w, n in counts.items() if n >= 2 and len(w) >= 3]
    out: list[Finding] = []
    for p, path, l in _doc_lines(patches):
        prose = re.sub(r'``[^`]*``|\b[A-Z_][A-Z0-9_]{3,}\b', ' ', l.text)
        for m in _WORD.finditer(prose):
            w = m.group(0)
            lw = w.lower()
            if len(lw) < 6 or counts[lw] > 1 or not w.islower():
                continue
            split = next(((lw[:i], lw[i:]) for i in range(3, len(lw) - 2)
                          if counts[lw[:i]] and counts[lw[i:]]), None)
            fix = f"{split[0]} {split[1]}" if split else ""
            if not fix and len(lw) >= 7:
                near = [c for c in common if _edit1(lw, c) and not _variant(lw, c)]
                fix = max(near, key=lambda c: counts[c]) if near else ""
            if fix:
                out.append(Finding(
                    FindingKind.DOC_TYPO,
                    f"{path} line {l.new_no}: `{w}` appears nowhere else in the thread; "
                    f"probably `{fix}`",
                    Source(spec.seed, l.seed_line, p.label, path, l.text.strip()[:120])))
    return out


def doc_returns(sections: list[DocSection], spec: Spec) -> list[Finding]:
    """`:Returns: 0 on success` against the value the code returns past every check."""
    out: list[Finding] = []
    for sec in sections:
        if "Returns" not in sec.fields:
            continue
        text, src = sec.fields["Returns"]
        m = re.match(r'^\s*(-?\d+)\s+on success', text)
        if not m:
            continue
        for op in spec.operations:
            if not _documents(sec, op):
                continue
            s = op.success
            if s is None or s.ret_value is None or s.ret_value == int(m.group(1)):
                continue
            out.append(Finding(
                FindingKind.DOC_CODE_MISMATCH,
                f"api.rst {sec.number} {sec.name} says `Returns: {text}`; in this patch a call of "
                f"{op.name} that passes every check returns `{s.ret}` = {s.ret_value}",
                src, s.source))
    return out


def _documents(sec: DocSection, op) -> bool:
    return sec.name in (op.name, op.cap) or any(
        re.search(r'\b' + re.escape(sec.name) + r'\b', c.when) for c in op.checks)


def check(patches: list[Patch], spec: Spec, sections: list[DocSection], corpus: str) -> list[Finding]:
    return (conflict_markers(patches, spec.seed) + doc_code_names(patches, spec)
            + doc_typos(patches, spec, corpus) + doc_returns(sections, spec))
