"""Baselines: the reviewed, accepted verdicts a CI run is checked against.

A baseline is a text file kept in the repository, one line per case that
does not conform on a kernel, with the reason it is accepted (like
syzkaller's lists of known warnings):

    # comments
    spec mte-v10 lock-memslot-rfc-v5 mmio-guard-v2
    binding header
    kernels debian-6.1 debian-6.12 debian-6.12-16k
    debian-6.12  copy_tags.valid.roundtrip_4pages  diverges  # returns the byte count, not 0

The `spec` line names the specs of the run, the primary first (one name: a
run of that spec alone).  Every case on a listed kernel that has no line is
accepted only as `conforms` -- and a rule the spec says no call reaches
only as `not reachable` -- so any change of any verdict is detected: a new divergence,
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

from generator.verdict.crosscheck import CaseResult
from generator.errors import InputError, KconformError
from generator.run.matrix import ColumnState, MatrixReport
from generator.report.matrix import column_title
from generator.model import Verdict

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
    spec: str                    # the primary spec
    binding: Optional[str]
    kernels: list[str]
    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)
    specs: list[str] = field(default_factory=list)   # every spec, primary first

    def __post_init__(self):
        self.specs = self.specs or [self.spec]

    def accepted(self, kernel: str, case: str,
                 default: Verdict = Verdict.CONFORMS) -> tuple[Verdict, ...]:
        e = self.entries.get((kernel, case))
        return e.verdicts if e else (default,)


def word(v) -> str:
    """`diverges`, or `diverges|skipped` for several accepted verdicts."""
    if isinstance(v, Verdict):
        return _WORDS[v]
    return "|".join(_WORDS[x] for x in v)


def load(path: Path) -> Baseline:
    from generator.model.specio import read_text_file
    path = Path(path)
    if not path.exists():
        raise KconformError(f"cannot read baseline {path}: No such file or directory; "
                            "record one with `kconform baseline -o FILE`")
    text = read_text_file(path, "baseline", MAX_BASELINE_BYTES, error=KconformError)
    return parse(text, str(path))


MAX_BASELINE_BYTES = 16 << 20      # a baseline is a line per accepted verdict


def parse(text: str, name: str = "<baseline>") -> Baseline:
    spec = binding = None
    specs: list[str] = []
    kernels: Optional[list[str]] = None
    entries: dict[tuple[str, str], Entry] = {}
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, _, rest = line.partition(" ")
        rest = rest.split("#", 1)[0].strip()
        if head == "spec":
            specs = rest.split()
            if not specs:
                raise InputError(name, n, "`spec` names no spec", "spec NAME ...")
            spec = specs[0]
            continue
        if head == "binding":
            if rest not in ("header", "patch"):
                raise InputError(name, n, f"binding {rest!r} is not a capability binding",
                                 "binding header or binding patch")
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
    return Baseline(name, spec, binding, kernels, entries, specs)


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
    out = [f"# kconform baseline: the accepted verdicts of {m.title}.",
           "# `kconform run --baseline FILE` fails only on a verdict that differs from it.",
           "# One line per case that does not conform on a kernel, with the reviewed",
           "# reason it is accepted:  KERNEL  CASE  VERDICT  # reason",
           "# Every other case on a listed kernel is accepted only as `conforms`, and a",
           "# rule the spec says no call reaches only as `not reachable`.",
           ]
    if command:
        out.append(f"# Recorded with: {command}")
    for c in m.columns:
        f = c.report.facts
        out.append(f"#   {column_title(c)}: {f.extra.get('kernel_package') or f.extra.get('target', '')}"
                   f"; {f.emulator_name} {f.emulator_version}")
    out += ["", f"spec {' '.join(m.spec_names)}", f"binding {binding}",
            "kernels " + " ".join(c.name for c in m.columns)]
    if any(" " in c.name or "#" in c.name for c in m.columns):
        raise KconformError("a kernel name with a space or '#' cannot go in a baseline; "
                            "use an alias or a path without spaces")
    width_k = max(len(c.name) for c in m.columns)
    kept: dict[str, list] = {}
    for c in m.columns:
        rows = kept.setdefault(c.name, [])
        for r in c.results:
            old = previous.entries.get((c.name, r.id)) if previous is not None else None
            if old is not None and r.verdict in old.verdicts:
                rows.append((r.id, old.verdicts, old.reason or default_reason(r)))
            elif r.verdict is not m.default_verdict(r.id):
                rows.append((r.id, (r.verdict,), default_reason(r)))
    width_c = max((len(case) for rows in kept.values() for case, _, _ in rows), default=10)
    for c in m.columns:
        lines = [f"{c.name:<{width_k}}  {case:<{width_c}}  {word(verdicts):<8}  # {reason}"
                 for case, verdicts, reason in kept[c.name]]
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
    if baseline.specs != m.spec_names:
        raise KconformError(f"{baseline.path}: the baseline is for spec "
                            f"{' '.join(baseline.specs)}, the run is {' '.join(m.spec_names)}; "
                            + " ".join(f"pass --spec {s}" for s in baseline.specs)
                            + " (or no --spec)")
    changes: list[Change] = []
    ids = [key[0] for key in m.row_keys()]
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
            was = baseline.accepted(col.name, case, m.default_verdict(case))
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
                                      f"{word(e.verdicts)}, but {m.title} has no such case "
                                      "now; delete the line or re-record", fails=False))
    return changes
