"""The `kconform run` pipeline.

Phases (each one's result feeds the next; a phase that cannot start stops
the run with a clear error, a run that breaks part-way still reports):
  1. load the spec (specs/<name>.yaml) and plan its cases (cases.plan);
  2. render the C kselftest (render_c) and cross-compile it (runner.build);
  3. resolve the target: cache the kernel and busybox (runner.kernels) for
     QEMU, or check the host / ssh client (targets);
  4. run the platform check, then the tests: boot under QEMU (runner.run),
     or stage them on an arm64 machine (targets);
  5. cross-check every case against the reference model (crosscheck);
  6. report: terminal table and summary, JSON (report).

Phases 1-2 are `prepare` (once per spec, whatever the number of kernels);
3-5 are `run_target` (once per kernel; generator.matrix runs several in
parallel); `run` is both for one kernel.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from . import paths
from .cases import Case, plan
from .crosscheck import CaseResult, Observations, crosscheck, from_ktap
from .errors import KconformError
from .model import Spec, Verdict
from .render_c import CapBinding, write_c
from .report import RunFacts
from .specio import load_spec


@dataclass
class RunRequest:
    spec: str = "mte-v10"
    kernel: str = "debian-6.12"
    per_test_timeout: float = 120.0
    total_timeout: float = 900.0
    binding: CapBinding = CapBinding.HEADER
    work_dir: Optional[Path] = None
    qemu_config: object = None        # runner.qemu.QemuConfig; None: the arm64 default
    target: object = None             # targets.LocalTarget/SshTarget; None: QEMU booting `kernel`


@dataclass
class Prepared:
    """Phases 1-2: what every kernel of a run shares."""
    spec: Spec
    cases: list[Case]
    binary: Path
    probe: Optional[Path]
    work: Path                        # the run's work directory
    out: Path                         # work/<spec>
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def binaries(self) -> list[Path]:
        return [self.binary] + ([self.probe] if self.probe else [])


@dataclass
class RunReport:
    spec: Spec
    cases: list[Case]
    results: list[CaseResult]
    facts: RunFacts
    outcome: object = None            # runner.run.RunOutcome
    broke: Optional[str] = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def diverges(self) -> bool:
        return any(r.verdict is Verdict.DIVERGES for r in self.results)


def load_named_spec(name: str) -> Spec:
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return load_spec(p)
    return load_spec(paths.spec_path(paths.resolve_spec_name(name)))


def build(spec: Spec, out: Path, binding: CapBinding) -> tuple[list[Case], Path, float, float]:
    """Plan, render and cross-compile; returns cases, binary, and the two times."""
    from .runner.build import cross_compile
    t0 = time.monotonic()
    cases = plan(spec)
    c_file = write_c(spec, cases, out, binding)
    t1 = time.monotonic()
    built = cross_compile([c_file], out / "bin", include_dirs=[out])
    t2 = time.monotonic()
    return cases, built.binaries[0].binary, t1 - t0, t2 - t1


def prepare(req: RunRequest) -> Prepared:
    """Phases 1-2: load the spec, plan, render and build (and the platform
    check, so parallel kernels find it built)."""
    from .runner.platform import platform_binary
    spec = load_named_spec(req.spec)
    work = Path(req.work_dir) if req.work_dir else paths.cache_dir() / "work"
    out = work / spec.name
    cases, binary, t_gen, t_cc = build(spec, out, req.binding)
    probe = _btf_probe(spec, out / "bin")
    platform_binary(work / "runner")
    return Prepared(spec, cases, binary, probe, work, out,
                    {"generate": t_gen, "compile": t_cc})


def target_for(req: RunRequest, kernel: Optional[str] = None):
    """The target one kernel (or the request's own target) runs on."""
    if req.target is not None:
        return req.target
    from .targets import QemuTarget
    from .runner.qemu import AARCH64
    return QemuTarget(kernel or req.kernel, req.qemu_config or AARCH64)


def run(req: RunRequest, on_event: Optional[Callable] = None) -> RunReport:
    """One spec on one kernel (or the request's target)."""
    t0 = time.monotonic()
    prep = prepare(req)
    report = run_target(prep, target_for(req), req, out=prep.out, on_event=on_event)
    report.timings["total"] = time.monotonic() - t0
    return report


def run_target(prep: Prepared, target, req: RunRequest, *, out: Path,
               on_event: Optional[Callable] = None,
               cancel: Optional[threading.Event] = None) -> RunReport:
    """Phases 3-5 for one target; `out` gets its console.log.  Raises a
    RunnerError/TargetError when the target cannot be resolved or started."""
    from reference.vmstate import Host

    spec, cases, binary, probe = prep.spec, prep.cases, prep.binary, prep.probe
    t0 = time.monotonic()
    target.resolve()
    t_fetch = time.monotonic()
    outcome = target.run(prep.binaries, per_test_timeout=req.per_test_timeout,
                         total_timeout=req.total_timeout,
                         log_path=Path(out) / "console.log", on_event=on_event,
                         work_dir=prep.work / "runner", cancel=cancel)
    t_run = time.monotonic()
    test = next((t for t in outcome.tests if t.name == binary.name), None)
    obs = from_ktap(test.ktap) if test is not None else Observations()
    if test is not None and test.timed_out:
        why = f"the test binary was killed after {req.per_test_timeout:.0f} s"
        broke = outcome.broke or why
    else:
        broke = outcome.broke
    host = Host(mte=_host_mte(outcome))
    platform_fault = outcome.platform.sentence if outcome.platform.state.value == "faulty" else None
    results = crosscheck(spec, cases, obs, page_size=obs.page_size or outcome.page_size,
                         host=host, broke=broke, platform_fault=platform_fault)
    facts = RunFacts.from_outcome(outcome, req.binding.value)
    facts.extra["log"] = str(outcome.log_path) if outcome.log_path else None
    facts.extra.update(target.facts())
    if probe is not None:
        facts.extra["btf"] = _btf_compare(spec, outcome, probe.name)
    report = RunReport(spec, cases, results, facts, outcome, broke)
    report.timings = {**prep.timings,
                      "kernel": t_fetch - t0,
                      "boot": outcome.timings.boot or 0.0,
                      "execute": outcome.timings.execute or 0.0,
                      "qemu_total": outcome.timings.total,
                      "run_phase": t_run - t_fetch,
                      "total": time.monotonic() - t0}
    return report


def _btf_probe(spec: Spec, out: Path) -> Optional[Path]:
    """The in-guest BTF probe for the spec's structs (generator.abi)."""
    if not spec.structs:
        return None
    from .abi.btf import build_probe
    out.mkdir(parents=True, exist_ok=True)
    return Path(build_probe(str(out / "btf_probe"),
                            structs=[f"{s.kind} {s.name}" for s in spec.structs]))


def _btf_compare(spec: Spec, outcome, probe_name: str) -> dict:
    """The spec's arm64 layouts against the booted kernel's own BTF."""
    from .abi import check_spec
    from .abi.btf import compare_spec_btf, parse_probe_output
    test = next((t for t in outcome.tests if t.name == probe_name), None)
    if test is None:
        return {"state": "not run"}
    result = parse_probe_output(test.lines, "btf_probe")
    if result.skipped:
        return {"state": "skipped", "reason": result.skipped}
    layouts = {name: per["arm64"] for name, per in check_spec(spec).layouts.items()
               if "arm64" in per}
    diffs = compare_spec_btf(layouts, result)
    return {"state": "compared", "source": result.source,
            "structs": {name: [str(m) for m in ms] for name, ms in diffs.items()}}


def _host_mte(outcome) -> bool:
    """Whether the host (the kernel under test) supports MTE, as the
    platform check saw it; assume yes when it could not tell."""
    facts = getattr(outcome.platform, "facts", {}) or {}
    for key in ("hwcap2_mte", "kvm_cap_arm_mte"):
        if key in facts:
            return str(facts[key]).strip() not in ("0", "")
    return True


def check_failed(report: RunReport) -> bool:
    """The run itself broke (not a verdict): QEMU did not finish cleanly
    (panic, hang, killed, no boot), a test binary never finished or was
    killed by its timeout.  A kernel warning on a completed run is reported
    but is not a broken run."""
    o = report.outcome
    if o is None:
        return True
    if o.status.value != "completed" or o.not_run:
        return True
    return any(t.timed_out or t.exit_status is None for t in o.tests)


__all__ = ["RunRequest", "RunReport", "Prepared", "prepare", "run", "run_target",
           "target_for", "build", "load_named_spec", "check_failed", "KconformError"]
