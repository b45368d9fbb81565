"""What a patch's `Documentation/virt/kvm/api.rst` text states.

api.rst sections are `N.M NAME` over a dashed underline, then `:Field: value`
lines and prose.  We keep each section's fields and its sentences (as claims
with positions), and read three success facts from them: what the call
returns, which field points at the user buffer, and how big that buffer is
per unit of `length` and what one byte of it holds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator.ingest import LineKind, Patch
from generator.model import BufferRule, Claim, Source

_HEAD = re.compile(r'^(\d+(?:\.\d+)+)\s+([A-Z][A-Z0-9_]+)\s*$')
_FIELD = re.compile(r'^:([A-Za-z ]+):\s*(.*)$')
CONFLICT = re.compile(r'^(?:<{7}|>{7})(?:\s|$)|^={7}$')


@dataclass
class DocSection:
    number: str
    name: str
    source: Source
    fields: dict[str, tuple[str, Source]] = field(default_factory=dict)
    sentences: list[tuple[str, Source]] = field(default_factory=list)
    end: int = 0                  # last seed line of the section
    field_end: dict[str, int] = field(default_factory=dict)   # field -> its last seed line


def doc_sections(patch: Patch, seed: str) -> list[DocSection]:
    out: list[DocSection] = []
    for f in patch.files:
        if not f.path.endswith("api.rst"):
            continue
        for h in f.hunks:
            lines = [l for l in h.lines if l.kind is LineKind.ADD]
            cur: DocSection | None = None
            para: list[tuple[int, str]] = []
            last_field: str | None = None

            def flush():
                nonlocal para
                if cur is not None and para:
                    _sentences(cur, para, seed, patch, f.path)
                para = []

            for k, ln in enumerate(lines):
                t = ln.text.rstrip()
                if CONFLICT.match(t):
                    continue          # a merge-conflict marker: reported by consistency.py
                if cur is not None:
                    cur.end = ln.seed_line
                m = _HEAD.match(t.strip())
                if m and k + 1 < len(lines) and set(lines[k + 1].text.strip()) == {"-"}:
                    flush()
                    cur = DocSection(m.group(1), m.group(2),
                                     Source(seed, ln.seed_line, patch.label, f.path, t.strip()))
                    out.append(cur)
                    last_field = None
                    continue
                if cur is None or set(t.strip()) <= {"-", "="} and t.strip():
                    continue
                fm = _FIELD.match(t.strip())
                if fm:
                    flush()
                    last_field = fm.group(1).strip()
                    cur.fields[last_field] = (fm.group(2).strip(),
                                              Source(seed, ln.seed_line, patch.label, f.path, t.strip()))
                    cur.field_end[last_field] = ln.seed_line
                    continue
                if last_field and t.startswith((" ", "\t")) and t.strip() and not para:
                    val, src = cur.fields[last_field]
                    cur.fields[last_field] = (val + " " + t.strip(), src)
                    cur.field_end[last_field] = ln.seed_line
                    continue
                last_field = None
                if not t.strip() or t.strip() == "::":
                    flush()
                    continue
                if t.startswith(("  ", "\t")) or t.strip().startswith(("struct ", "};", "union")):
                    flush()          # literal block (code), not prose
                    continue
                para.append((ln.seed_line, t.strip()))
            flush()
    return out


def _sentences(sec: DocSection, para: list[tuple[int, str]], seed: str, patch: Patch, path: str):
    text = ""
    starts: list[tuple[int, int]] = []
    for no, t in para:
        starts.append((len(text), no))
        text += t + " "
    pos = 0
    for piece in re.split(r'(?<=\.)\s+(?=[A-Z`(])', text):
        start = text.find(piece, pos)
        pos = start + len(piece)
        s = piece.strip()
        if len(s) < 8:
            continue
        line = max((no for off, no in starts if off <= start), default=para[0][0])
        sec.sentences.append((s, Source(seed, line, patch.label, path, s[:120].rstrip())))


def _lit(s: str) -> str:
    return s.replace("``", "")


def claims_of(sections: list[DocSection]) -> list[Claim]:
    claims: list[Claim] = []
    for sec in sections:
        for i, (s, src) in enumerate(sections and sec.sentences, 1):
            testable = bool(re.search(r'``|KVM_|must|returns?|bytes|aligned|enabled', s))
            claims.append(Claim(f"{sec.name.lower()}.doc{i}", _lit(s), testable, src))
        for name, (val, src) in sec.fields.items():
            if name == "Returns":
                claims.append(Claim(f"{sec.name.lower()}.returns", f"Returns: {val}", True, src))
    return claims


def buffer_rule(sec: DocSection, constants: dict[str, int]) -> BufferRule | None:
    """Read the user buffer's layout from a section's prose, if it states it."""
    text = " ".join(s for s, _ in sec.sentences)
    ptr = re.search(r'``(\w+)``\s*field\s*must point to a buffer', text)
    size = re.search(r'``\((\w+)\s*/\s*(\w+)\)``\s*bytes', text)
    per_byte = re.search(r'Each byte contains a single (\w+) value', text)
    direction = re.search(r'``(\w+)``\s*specifies the direction[^,]*,\s*either\s*``(\w+)``\s*or\s*``(\w+)``', text)
    if not (ptr and size):
        return None
    unit = int(size.group(2)) if size.group(2).isdigit() else constants.get(size.group(2))
    if not unit:
        return None                  # a name with no known value
    src = next(s for t, s in sec.sentences if "buffer" in t)
    return BufferRule(
        pointer_field=ptr.group(1), length_field=size.group(1), bytes_per_unit=unit,
        unit_name=size.group(2),
        element=f"one {per_byte.group(1)} value per byte" if per_byte else "",
        direction_field=direction.group(1) if direction else "",
        to_kernel=direction.group(2) if direction else "",
        from_kernel=direction.group(3) if direction else "",
        source=src)


def apply_sections(spec, sections: list[DocSection], consts: dict[str, int]) -> None:
    """Each api.rst section onto the operation it names: the documented
    return value and the user-buffer rule (posted patch and kernel tree alike)."""
    for sec in sections:
        for op in spec.operations:
            if op.name != sec.name:
                continue
            if op.success and "Returns" in sec.fields:
                op.success.doc, op.success.doc_source = sec.fields["Returns"]
            rule = buffer_rule(sec, consts)
            if rule:
                op.buffer = rule
