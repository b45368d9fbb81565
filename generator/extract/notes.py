"""Reviewer remarks as notes on the spec elements they discuss.

Phases:
  1. place each remark: the quoted line it follows is found in the patch
     the spec is built from (directly when the spec comes from the quote
     itself, else by file and line number, then by text, in the patch the
     reply quotes);
  2. name the element at that line, most specific first: a check, a
     constant, capability or ioctl, a struct, an api.rst field, claim or
     section, an operation's body; otherwise the patched line itself
     (`line:PATH:N`), or the whole patch (`patch:LABEL`) for text before or
     after the quote;
  3. drop remarks already seen (a later reply quotes the earlier one);
  4. a remark that says the code or text is wrong (`don't match`, `typo`,
     `unnecessary`, a short correction of the quoted words) also becomes a
     REVIEW_SAYS_WRONG finding, acknowledged when the patch's author
     agrees in the same thread.

Notes never change the spec: they sit beside it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from generator.ingest import Patch, Remark, Series
from generator.model import Finding, FindingKind, Note, Source, Spec
from generator.extract.docs import DocSection

_WRONG = re.compile(r"\b(?:do(?:es)?n['’]?t|do(?:es)? not) match\b|\bis wrong\b|\bincorrect\b|"
                    r"\btypo\b|\bunnecessary\b|\bproblematic\b|\bbroken\b|\bbogus\b|"
                    r"\bis a bug\b|^s/\S+/", re.I | re.M)
_ACK = re.compile(r"^(?:that['’]s true|good (?:catch|point)|you['’]re right|agreed|will fix|"
                  r"i['’]ll (?:fix|change))", re.I)


@dataclass(frozen=True)
class Place:
    """Where a quoted line is in the spec's own patch."""
    line: int                  # seed line in the spec's patch (0: not found)
    path: str
    new_no: int
    label: str


@dataclass
class ElementIndex:
    """Spec elements by the seed lines they come from."""
    spec: Spec
    sections: list[DocSection]
    spans: dict[str, list[tuple[int, int]]]     # operation -> body line spans

    def element_at(self, line: int, remark: str) -> str:
        s = self.spec
        if any(f.kind is FindingKind.CONFLICT_MARKER and f.source.line == line
               for f in s.findings):
            return ""                  # the marker line itself, not the text around it
        for op in s.operations:
            for c in op.checks:
                if c.source.line == line and not c.context:
                    return f"check:{op.name}/{c.id}"
        for kind, items in (("constant", s.constants), ("capability", s.capabilities),
                            ("ioctl", s.ioctls)):
            for it in items:
                if it.source.line == line:
                    return f"{kind}:{it.name}"
        for st in s.structs:
            if st.source.line <= line <= st.source.line + st.text.count("\n"):
                return f"struct:{st.name}"
        for sec in self.sections:
            if sec.source.line <= line <= max(sec.end, sec.source.line):
                return self._doc(sec, line, remark)
        for op in s.operations:
            if any(a <= line <= b for a, b in self.spans.get(op.name, [])):
                return f"operation:{op.name}"
        return ""

    def _doc(self, sec: DocSection, line: int, remark: str) -> str:
        for name, (_, src) in sec.fields.items():
            if src.line <= line <= sec.field_end.get(name, src.line):
                return f"doc:{sec.name}:{name}"
        prefix = sec.name.lower() + "."
        near = [c for c in self.spec.claims if c.id.startswith(prefix)
                and line - 4 <= c.source.line <= line]
        if not near:
            return f"doc:{sec.name}"
        quoted = [q.lower() for q in re.findall(r"['\"]([^'\"]{4,})['\"]", remark)]
        words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", remark)}

        def score(c) -> tuple[int, int]:
            text = c.text.lower()
            return (sum(10 for q in quoted if q in text)
                    + sum(1 for w in words if w in text), c.source.line)
        return f"claim:{max(near, key=score).id}"


def _norm(text: str) -> str:
    return re.sub(r'\s+', ' ', text).strip().lower()


def _placer(series: Series, own: list[Patch]):
    """A function from (quoted patch, seed line) to its Place in `own`."""
    own_by_label = {p.label: p for p in own}
    lines_of: dict[int, tuple[str, int, str]] = {}
    for p in series.patches:
        for f in p.files:
            for h in f.hunks:
                for l in h.lines:
                    lines_of[l.seed_line] = (f.path, l.new_no, l.text)

    def place(p: Patch, line: int) -> Place | None:
        if line not in lines_of:
            return None
        path, new_no, text = lines_of[line]
        target = p if p in own else own_by_label.get(p.label)
        if target is None:
            return None
        if target is p:
            return Place(line, path, new_no, p.label)
        cands = [(l.seed_line, l.new_no, l.text) for f in target.files if f.path == path
                 for h in f.hunks for l in h.lines]
        for no, nn, t in cands:
            if nn and nn == new_no and _norm(t) == _norm(text):
                return Place(no, path, nn, target.label)
        for no, nn, t in cands:
            if _norm(t) == _norm(text) and _norm(text):
                return Place(no, path, nn, target.label)
        return Place(0, path, new_no, target.label)
    return place


def _correction(remark: str, quoted: str) -> str:
    """A short remark that rewrites a few words of the quoted line: the
    words it corrects, or ""."""
    words = remark.split()
    if not 1 <= len(words) <= 4 or remark.rstrip().endswith("?"):
        return ""
    qs = re.findall(r"[A-Za-z']+", quoted)
    n = len(words)
    for i in range(len(qs) - n + 1):
        cand = qs[i:i + n]
        diff = sum(a.lower() != b.lower().strip(".,") for a, b in zip(cand, words))
        if diff == 1 and cand != words:
            return " ".join(cand)
    return ""


def notes_and_findings(series: Series, own: list[Patch], index: ElementIndex
                       ) -> tuple[list[Note], list[Finding]]:
    place = _placer(series, own)
    quoted_text = {l.seed_line: l.text for p in series.patches for f in p.files
                   for h in f.hunks for l in h.lines}
    notes: list[Note] = []
    findings: list[Finding] = []
    seen: list[tuple[str, str]] = []
    for p in series.patches:
        if not p.remarks:
            continue
        for k, r in enumerate(p.remarks):
            key = (r.author, _norm(r.text))
            if any(a == key[0] and (key[1] in t or t in key[1]) for a, t in seen):
                continue
            seen.append(key)
            where = place(p, r.after_line)
            label = where.label if where else p.label
            about = f"patch:{label}"
            related = None
            if where is not None:
                about = (index.element_at(where.line, r.text) if where.line else "") \
                    or f"line:{where.path}:{where.new_no}"
                related = Source(series.seed, where.line or r.after_line, label, where.path,
                                 quoted_text.get(r.after_line, "").strip()[:120])
            src = Source(series.seed, r.line, label, where.path if where else "",
                         r.lines[0].text.strip()[:120] if r.lines else "")
            notes.append(Note(r.author, r.text, about, src))
            wrong = _says_wrong(r, quoted_text.get(r.after_line, ""), p)
            if wrong and r.author != p.author and related is not None:
                ack = _acknowledged(p.remarks[k + 1:], r.after_line, p.author)
                findings.append(Finding(
                    FindingKind.REVIEW_SAYS_WRONG,
                    f"{r.author} says {about} is wrong ({wrong})"
                    + (f"; {p.author} agrees at line {ack.line}: “{ack.lines[0].text.strip()}”"
                       if ack else ""),
                    src, related))
    return notes, findings


def _says_wrong(r: Remark, quoted: str, p: Patch) -> str:
    for sentence in re.split(r'(?<=[.?!])\s+', r.text):
        if _WRONG.search(sentence) and not sentence.rstrip().endswith("?"):
            return f"“{' '.join(sentence.split())[:160]}”"
    fixed = _correction(r.text, quoted)
    if fixed:
        return f"`{fixed}` should read `{r.text.strip()}`"
    return ""


def _acknowledged(later: list[Remark], after_line: int, author: str) -> Remark | None:
    for r in later:
        if r.after_line != after_line:
            break
        if r.author == author and _ACK.match(r.text.strip()):
            return r
    return None
