"""Baselines: the reviewed, accepted verdicts a CI run is checked against.

A baseline is a text file kept in the repository, one line per case that
does not conform on a kernel, with the reason it is accepted (like
syzkaller's lists of known warnings):

    # comments
    spec mte-v10
    binding header
    kernels debian-6.1 debian-6.12 debian-6.12-16k
    debian-6.12  copy_tags.valid.roundtrip_4pages  diverges  # returns the byte count, not 0

Every case of the spec on a listed kernel that has no line is accepted only
as `conforms`, so any change of any verdict is detected: a new divergence,
a divergence that went away, a case that now skips or errors, a kernel
that no longer boots.  Verdict words: conforms, diverges, skipped, error,
not-reachable; a case known to vary between runs lists each verdict it is
accepted with, `diverges|skipped`, and its reason says why.

Phases: `load` (parse, every problem named by file:line), `record` (the
text for a matrix run, keeping reviewed reasons of an older baseline),
`compare` (one `Change` per verdict that differs, each one line).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .crosscheck import CaseResult
from .errors import InputError, KconformError
from .matrix import ColumnState, MatrixReport
from .matrix_report import column_title
from .model import Verdict

_WORDS = {v: v.value.replace(" ", "-") for v in Verdict}
_VERDICT = {w: v for v, w in _WORDS.items()}
_ENTRY = re.compile(r"(?P<kernel>\S+)\s+(?P<case>\S+)\s+(?P<verdict>\S+)\s*(?:#\s*(?P<reason>.*))?$")


@dataclass(frozen=True)
class Entry:
    kernel: str
    case: str
    verdicts: tuple[Verdict, ...]   # more than one: a case known to vary
    reason: str
    line: int


@dataclass
class Baseline:
    path: str
    spec: str
    binding: Optional[str]
    kernels: list[str]
    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)

    def accepted(self, kernel: str, case: str) -> tuple[Verdict, ...]:
        e = self.entries.get((kernel, case))
        return e.verdicts if e else (Verdict.CONFORMS,)


def word(v) -> str:
    """`diverges`, or `diverges|skipped` for several accepted verdicts."""
    if isinstance(v, Verdict):
        return _WORDS[v]
    return "|".join(_WORDS[x] for x in v)


def load(path: Path) -> Baseline:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise KconformError(f"cannot read baseline {path}: {e.strerror}; record one "
                            "with `kconform baseline -o FILE`") from e
    return parse(text, str(path))


def parse(text: str, name: str = "<baseline>") -> Baseline:
    spec = binding = None
    kernels: Optional[list[str]] = None
    entries: dict[tuple[str, str], Entry] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, _, rest = line.partition(" ")
        rest = rest.split("#", 1)[0].strip()
        if head == "spec":
            spec = rest
            continue
        if head == "binding":
            binding = rest
            continue
        if head == "kernels":
            kernels = rest.split()
            if not kernels:
                raise InputError(name, n, "`kernels` names no kernel", "kernels NAME ...")
            continue
        m = _ENTRY.match(line)
        if m is None:
            raise InputError(name, n, f"cannot read {line!r}",
                             "KERNEL CASE VERDICT  # reason")
        if kernels is None or spec is None:
            raise InputError(name, n, "an entry before the `spec` and `kernels` lines",
                             "spec NAME and kernels NAME ... first")
        if m["kernel"] not in kernels:
            raise InputError(name, n, f"kernel {m['kernel']!r} is not in the `kernels` line",
                             " or ".join(kernels))
        words = m["verdict"].split("|")
        bad = [w for w in words if w not in _VERDICT]
        if bad:
            raise InputError(name, n, f"unknown verdict {bad[0]!r}",
                             ", ".join(_VERDICT) + ", or several joined by |")
        verdicts = tuple(dict.fromkeys(_VERDICT[w] for w in words))
        if verdicts == (Verdict.CONFORMS,):
            raise InputError(name, n, "a `conforms` line says nothing (conforming is the "
                             "default); delete it", "diverges, skipped, error or not-reachable")
        key = (m["kernel"], m["case"])
        if key in entries:
            raise InputError(name, n, f"{m['kernel']} {m['case']} is listed twice "
                             f"(first at line {entries[key].line})")
        entries[key] = Entry(m["kernel"], m["case"], verdicts, (m["reason"] or "").strip(), n)
    if spec is None or kernels is None:
        raise InputError(name, 0, "no `spec` or no `kernels` line; not a kconform baseline",
                         "spec NAME, kernels NAME ...")
    return Baseline(name, spec, binding, kernels, entries)


# ------------------------------------------------------------------ recording
def default_reason(r: CaseResult) -> str:
    """What a reviewer starts from: the observation and the patch line."""
    if r.verdict is Verdict.DIVERGES:
        exp = "ret>=0" if r.expected.ret is None else f"ret={r.expected.ret}"
        exp += f" {r.expected.errno}" if r.expected.errno else ""
        obs = f"ret={r.observed.ret}" + (f" {r.observed.errno}" if r.observed.errno else "")
        where = f" ({r.decided_by})" if r.decided_by else ""
        step = f" at step {r.step}" if r.step is not None else ""
        return f"observed {obs}, the patch says {exp}{where}{step}"
    return (r.reason or r.verdict.value).splitlines()[0]


def record(m: MatrixReport, previous: Optional[Baseline] = None,
           command: str = "") -> str:
    """The baseline text for a completed matrix run.  Lines reviewed in
    `previous` are kept (verdicts and reason) where the same kernel and case
    got a verdict the line accepts."""
    broken = [c for c in m.columns if c.state is not ColumnState.COMPLETED]
    if broken:
        raise KconformError("cannot record a baseline from a run that did not complete: "
                            + "; ".join(f"{c.name} {c.state.value}" for c in broken))
    binding = next((c.report.facts.binding for c in m.columns), "")
    out = [f"# kconform baseline: the accepted verdicts of {m.spec.name}.",
           "# `kconform run --baseline FILE` fails only on a verdict that differs from it.",
           "# One line per case that does not conform on a kernel, with the reviewed",
           "# reason it is accepted:  KERNEL  CASE  VERDICT  # reason",
           "# Every other case on a listed kernel is accepted only as `conforms`.",
           ]
    if command:
        out.append(f"# Recorded with: {command}")
    for c in m.columns:
        f = c.report.facts
        out.append(f"#   {column_title(c)}: {f.extra.get('kernel_package') or f.extra.get('target', '')}"
                   f"; {f.emulator_name} {f.emulator_version}")
    out += ["", f"spec {m.spec.name}", f"binding {binding}",
            "kernels " + " ".join(c.name for c in m.columns)]
    if any(" " in c.name or "#" in c.name for c in m.columns):
        raise KconformError("a kernel name with a space or '#' cannot go in a baseline; "
                            "use an alias or a path without spaces")
    width_k = max(len(c.name) for c in m.columns)
    width_c = max((len(case.id) for case in m.cases), default=10)
    for c in m.columns:
        lines = []
        for r in c.results:
            old = previous.entries.get((c.name, r.id)) if previous is not None else None
            if old is not None and r.verdict in old.verdicts:
                verdicts, reason = old.verdicts, old.reason or default_reason(r)
            elif r.verdict is Verdict.CONFORMS:
                continue
            else:
                verdicts, reason = (r.verdict,), default_reason(r)
            lines.append(f"{c.name:<{width_k}}  {r.id:<{width_c}}  "
                         f"{word(verdicts):<8}  # {reason}")
        out += [""] + lines if lines else ["", f"# {c.name}: every case conforms"]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ comparing
@dataclass(frozen=True)
class Change:
    kernel: str
    case: Optional[str]          # None: the whole kernel
    text: str
    fails: bool = True           # False: a note (a stale line), not a changed verdict

    def line(self) -> str:
        return f"{self.kernel} {self.case}: {self.text}" if self.case else f"{self.kernel}: {self.text}"


def _observed(r: CaseResult) -> str:
    if r.verdict is Verdict.DIVERGES:
        return " — " + default_reason(r)
    if r.verdict in (Verdict.SKIPPED, Verdict.ERROR) and r.reason:
        return " — " + r.reason.splitlines()[0]
    return ""


def compare(baseline: Baseline, m: MatrixReport) -> list[Change]:
    """Every verdict of `m` that differs from `baseline`, one Change each;
    a kernel that gave no verdicts is one Change.  A line for a case the
    spec no longer has is a note (`fails` False): no verdict changed."""
    if baseline.spec != m.spec.name:
        raise KconformError(f"{baseline.path}: the baseline is for spec {baseline.spec}, "
                            f"the run is {m.spec.name}; pass --spec {baseline.spec}")
    changes: list[Change] = []
    ids = [c.id for c in m.cases]
    for col in m.columns:
        if col.name not in baseline.kernels:
            changes.append(Change(col.name, None, f"not in the baseline (it lists "
                                  f"{', '.join(baseline.kernels)}); record it with "
                                  "`kconform baseline`"))
            continue
        if col.state is not ColumnState.COMPLETED:
            why = (col.error or col.state.value).splitlines()[0]
            changes.append(Change(col.name, None, f"{col.state.value}, so no verdict to "
                                  f"compare with the baseline: {why}"))
            continue
        got = {r.id: r for r in col.results}
        for case in ids:
            r = got.get(case)
            if r is None:
                continue
            was = baseline.accepted(col.name, case)
            if r.verdict in was:
                continue
            entry = baseline.entries.get((col.name, case))
            text = f"baseline {word(was)}, now {word(r.verdict)}{_observed(r)}"
            if entry is not None and entry.reason:
                text += f" (baseline line {entry.line}: {entry.reason})"
            changes.append(Change(col.name, case, text))
        for (kernel, case), e in baseline.entries.items():
            if kernel == col.name and case not in got:
                changes.append(Change(kernel, case, f"baseline line {e.line} lists it as "
                                      f"{word(e.verdicts)}, but {m.spec.name} has no such case "
                                      "now; delete the line or re-record", fails=False))
    return changes
