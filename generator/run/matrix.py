"""One spec on several kernels: the conformance matrix.

Phases of `run_matrix`:
  1. prepare once (pipeline.prepare: spec, cases, C, static binaries);
  2. one column per kernel (or target), run in parallel up to the
     machine's cores, each with its own QEMU, work directory, console log
     and results (pipeline.run_target); a kernel that does not resolve or
     does not boot is a column in that state, never an exception;
  3. on Ctrl-C: cancel the running columns (their QEMUs are killed within
     a fraction of a second), keep every finished column;
  4. compare the columns case by case (`compare`): where kernels differ from
     each other, not only from the spec.

Return values that count bytes scale with the page size (4 pages are 16384
bytes on a 4K kernel and 65536 on a 16K one), so the comparison reads every
return value that is a whole number of pages as pages, and an observed
digest as "as the model predicted for this kernel" or not.
"""
from __future__ import annotations

import enum
import os
import re
import threading
import time
from pathlib import Path
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from generator.model.case import Case
from generator.verdict.crosscheck import CaseResult, Expect
from generator.errors import KconformError
from generator.model import Source, Spec, Verdict
from generator.run.pipeline import Prepared, RunReport, RunRequest, check_failed, prepare, run_target

DEFAULT_MATRIX = ("debian-6.1", "debian-6.12", "debian-6.12-16k")


class ColumnState(enum.Enum):
    COMPLETED = "completed"       # every test ran to its end
    BROKE = "broke"               # the run started and broke (no boot, panic, hang)
    UNRESOLVED = "unknown kernel"  # the name resolves to nothing
    FAILED = "could not start"    # download, QEMU or target unavailable
    INTERRUPTED = "interrupted"   # cancelled (Ctrl-C) while running
    NOT_RUN = "not run"           # cancelled before it started


@dataclass
class Column:
    name: str                     # as the user gave it: alias, package, path, target
    state: ColumnState = ColumnState.NOT_RUN
    report: Optional[RunReport] = None
    error: Optional[str] = None   # what went wrong, with a console tail if any
    seconds: float = 0.0

    @property
    def results(self) -> list[CaseResult]:
        return self.report.results if self.report else []

    @property
    def page_size(self) -> Optional[int]:
        return self.report.facts.page_size if self.report else None

    @property
    def release(self) -> Optional[str]:
        return self.report.facts.kernel_release if self.report else None

    @property
    def has_verdicts(self) -> bool:
        """Completed, so every cell is the kernel's own answer."""
        return self.state is ColumnState.COMPLETED


@dataclass
class Difference:
    """One case on which kernels behave differently from each other."""
    case: str
    groups: list[tuple[list[str], str]]   # (kernels, what they did), largest first

    def line(self) -> str:
        return f"{self.case}: " + "; ".join(
            f"{', '.join(names)}: {what}" for names, what in self.groups)


@dataclass
class Comparison:
    compared: list[str] = field(default_factory=list)      # columns with verdicts
    differences: list[Difference] = field(default_factory=list)
    scaled: list[str] = field(default_factory=list)        # agree once read in pages
    facts: list[str] = field(default_factory=list)         # differing kernel facts
    excluded: dict[str, str] = field(default_factory=dict)  # column -> why


@dataclass
class MatrixReport:
    spec: Spec                    # the primary spec
    cases: list[Case]             # every runnable case of every spec (report ids)
    columns: list[Column]
    comparison: Comparison
    interrupted: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    listed: list[CaseResult] = field(default_factory=list)   # `not reachable`, `untested` rows
    specs: list[Spec] = field(default_factory=list)          # primary first
    notes: list[str] = field(default_factory=list)           # the run's notes (models)
    work: Optional[Path] = None                              # the run's work directory

    @property
    def spec_names(self) -> list[str]:
        return [s.name for s in self.specs] or [self.spec.name]

    @property
    def title(self) -> str:
        """The specs of the run, for headings: "mte-v10 + lock-memslot-rfc-v5"."""
        return " + ".join(self.spec_names)

    def row_keys(self) -> list[tuple[str, Source, str]]:
        """(id, patch line, spec) of every report row, runnable cases then
        the rules no call reaches, each spec's together."""
        rows = [(c.id, c.source, c.spec) for c in self.cases]
        rows += [(r.id, r.source, r.spec) for r in self.listed]
        order = {name: i for i, name in enumerate(self.spec_names)}
        return sorted(rows, key=lambda row: order.get(row[2], len(order)))

    def default_verdict(self, case_id: str) -> Verdict:
        """What a row is unless a baseline says otherwise: a rule no call
        reaches is `not reachable` on every kernel (the spec decides it, not
        the kernel); a case is expected to conform."""
        listed = {r.id for r in self.listed if r.verdict is Verdict.UNREACHABLE}
        # an `untested` row is no pass: a baseline accepts it only on a line of its own
        return Verdict.UNREACHABLE if case_id in listed else Verdict.CONFORMS

    @property
    def completed(self) -> list[Column]:
        return [c for c in self.columns if c.has_verdicts]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


# ------------------------------------------------------------------ kernels
def parse_kernels(values: Optional[Sequence[str]], *, matrix: bool = False) -> list[str]:
    """`--kernel` values (repeatable, each comma-separated) and `--matrix`
    as an ordered list without repeats."""
    names: list[str] = list(DEFAULT_MATRIX) if matrix else []
    for value in values or ():
        parts = [p.strip() for p in value.split(",")]
        if any(not p for p in parts):
            raise KconformError(f"--kernel {value!r}: empty kernel name; give names "
                                "separated by commas, e.g. debian-6.1,debian-6.12")
        names += parts
    out: list[str] = []
    for n in names:
        if n not in out:
            out.append(n)
    return out


def slug(name: str) -> str:
    """A directory name for a column (paths and URLs flattened)."""
    text = re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("_.")
    return text or "kernel"


# ------------------------------------------------------------------ running
ColumnEvent = Callable[[str, object], None]    # (column name, RunEvent or str)


def run_matrix(req: RunRequest, targets: Sequence, *, jobs: Optional[int] = None,
               on_event: Optional[ColumnEvent] = None,
               cancel: Optional[threading.Event] = None,
               prepared: Optional[Prepared] = None) -> MatrixReport:
    """Run `req`'s spec on every target (targets.QemuTarget per kernel, or
    one LocalTarget/SshTarget) with at most `jobs` (default: the machine's
    cores) at once.  Ctrl-C (or setting `cancel`) stops the columns still
    running; the report keeps every finished one."""
    t0 = time.monotonic()
    prep = prepared or prepare(req)
    cancel = cancel or threading.Event()
    columns = [Column(t.label) for t in targets]
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise KconformError(f"a kernel is named twice: {', '.join(names)}")
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(columns)))
    multi = len(columns) > 1

    def one(col: Column, target) -> None:
        if cancel.is_set():
            return
        out = prep.out / slug(col.name) if multi else prep.out
        t = time.monotonic()
        col.state = ColumnState.INTERRUPTED  # until it finishes
        try:
            report = run_target(prep, target, req, out=out, cancel=cancel,
                                on_event=(lambda ev: on_event(col.name, ev)) if on_event else None)
        except KconformError as e:
            from generator.runner.errors import UnknownKernelError
            col.state = (ColumnState.UNRESOLVED if isinstance(e, UnknownKernelError)
                         else ColumnState.FAILED)
            col.error = str(e)
        else:
            col.report = report
            status = report.outcome.status.value if report.outcome else ""
            if status == "interrupted":
                col.state, col.error = ColumnState.INTERRUPTED, report.broke
            elif check_failed(report):
                col.state, col.error = ColumnState.BROKE, report.broke or status
            else:
                col.state = ColumnState.COMPLETED
        finally:
            col.seconds = time.monotonic() - t
            if on_event:
                on_event(col.name, f"{col.state.value} in {col.seconds:.1f} s")

    interrupted = False
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="kconform-column")
    futures: list[Future] = []
    try:
        for c, t in zip(columns, targets):
            futures.append(pool.submit(one, c, t))
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            if cancel.is_set():
                interrupted = True
    except KeyboardInterrupt:
        interrupted = True
        cancel.set()
    finally:
        if interrupted:
            cancel.set()
            for f in futures:
                f.cancel()            # columns not started stay NOT_RUN
        pool.shutdown(wait=True)
    interrupted = interrupted or cancel.is_set()
    for f in futures:
        if not f.cancelled() and f.exception() is not None:
            raise f.exception()
    m = MatrixReport(prep.spec, prep.all_cases, columns, compare(columns), interrupted,
                     listed=prep.listed, specs=prep.specs, notes=list(prep.notes),
                     work=prep.work)
    m.timings = {**prep.timings, "wall": time.monotonic() - t0}
    return m


# ------------------------------------------------------------------ comparing
def _ret(ret: Optional[int], page_size: Optional[int]) -> str:
    if ret is None:
        return "ret>=0"
    if page_size and ret > 0 and ret % page_size == 0:
        n = ret // page_size
        return f"ret={n} page{'s' if n != 1 else ''}"
    return f"ret={ret}"


def behaviour(r: CaseResult, page_size: Optional[int]) -> str:
    """What the kernel did on one case, comparable across page sizes.

    A conforming case did what the model predicts for that kernel's page
    size, so only its verdict counts (and the value, read in pages, where
    the model allows any ret >= 0).  A divergence counts its deciding step,
    return value (in pages when whole pages), errno, and whether the buffer
    read back is what the model predicted."""
    text = r.verdict.value
    o: Optional[Expect] = r.observed
    if r.verdict is Verdict.CONFORMS:
        if o is not None and r.expected is not None and r.expected.ret is None:
            text += f" ({_ret(o.ret, page_size)})"
    elif r.verdict is Verdict.DIVERGES and o is not None:
        text += f" ({_ret(o.ret, page_size)}"
        if o.errno:
            text += f" {o.errno}"
        if o.digest is not None:
            same = r.expected is not None and r.expected.digest == o.digest
            text += ", data as predicted" if same else f", data {o.digest}"
        text += ")"
        if r.step is not None:
            text += f" at step {r.step}"
    elif r.verdict is Verdict.SKIPPED and r.reason:
        text += f" ({r.reason})"
    return text


def compare(columns: Sequence[Column]) -> Comparison:
    """Where completed columns differ from each other, case by case."""
    cmp = Comparison()
    done = [c for c in columns if c.has_verdicts]
    cmp.compared = [c.name for c in done]
    cmp.excluded = {c.name: c.state.value for c in columns if not c.has_verdicts}
    if len(done) < 2:
        return cmp
    by_col = {c.name: {r.id: r for r in c.results} for c in done}
    order = [r.id for r in done[0].results]
    order += [i for c in done[1:] for i in by_col[c.name] if i not in order]
    for case in order:
        groups: dict[str, list[str]] = {}
        raw: set[Optional[int]] = set()
        for c in done:
            r = by_col[c.name].get(case)
            what = behaviour(r, c.page_size) if r else "no such case"
            groups.setdefault(what, []).append(c.name)
            if r is not None and r.observed is not None:
                raw.add(r.observed.ret)
        if len(groups) > 1:
            ranked = sorted(groups.items(), key=lambda kv: -len(kv[1]))
            cmp.differences.append(Difference(case, [(ns, w) for w, ns in ranked]))
        elif len(raw) > 1:
            cmp.scaled.append(case)
    cmp.facts = _fact_differences(done)
    return cmp


def _fact_differences(done: Sequence[Column]) -> list[str]:
    """Kernel facts that differ between columns: the platform check's state
    and the spec's structs against each kernel's BTF."""
    out = []
    states = {c.name: c.report.facts.platform_state for c in done}
    if len(set(states.values())) > 1:
        out.append("platform check: " + ", ".join(f"{n} {s}" for n, s in states.items()))
    btf = {}
    for c in done:
        b = c.report.facts.extra.get("btf") or {}
        btf[c.name] = (b.get("state"), tuple(sorted(
            (k, tuple(v)) for k, v in (b.get("structs") or {}).items())))
    if len(set(btf.values())) > 1:
        for n, (state, structs) in btf.items():
            text = "; ".join(f"{k}: {', '.join(v) or 'matches'}" for k, v in structs)
            out.append(f"BTF on {n}: {state}" + (f" — {text}" if text else ""))
    return out
