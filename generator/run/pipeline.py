"""The `kconform run` pipeline.

A run checks one or more specs in one boot: the primary spec (mte-v10 by
default) and its companions (lock-memslot-rfc-v5, mmio-guard-v2 in the
default run).  Every spec with runnable cases gets its own test binary;
every spec contributes a `not reachable` row per rule no call reaches
(generator.verdict.unreachable), so a spec with nothing to run is still reported.
Case ids of companion specs are qualified `<spec>:<case>` in the combined
results (a spec's own binary and reference keep the plain ids), so the
primary spec's ids, baselines and reports read as before.

Phases (each one's result feeds the next; a phase that cannot start stops
the run with a clear error, a run that breaks part-way still reports):
  1. load each spec (specs/<name>.yaml) and plan its cases (cases.plan), or
     note why it has nothing to run (cases.nothing_to_run); a case of
     another architecture's code goes to that architecture's target
     (generator.run.arches: x86_64 for arch/x86), the others to arm64;
  2. render each C kselftest (render_c) and cross-compile them together
     (runner.build);
  3. resolve the target: cache the kernel and busybox (runner.kernels) for
     QEMU, or check the host / ssh client (targets);
  4. run the platform check, then the tests: boot under QEMU (runner.run),
     or stage them on an arm64 machine (targets); then each other
     architecture's cases, on QEMU booting the same kernel alias for it
     (run.arches.run_elsewhere);
  5. cross-check every case against the reference model generated from
     that very spec into the run's directory (`model_of`; a spec that
     differs from the committed reference/ module says so in the notes),
     then add the spec's `not reachable` rows;
  6. report: terminal tables and summaries, JSON (report).

Every run has its own work directory (generator.cachefs.new_run_dir, under
the cache, unless --work-dir names one), and its JSON records the sha256 of
every spec and binary it used; a binary that changed between build and boot
breaks the run rather than report another run's results.

Phases 1-2 are `prepare` (once per run, whatever the number of kernels);
3-5 are `run_target` (once per kernel; generator.run.matrix runs several in
parallel); `run` is both for one kernel.
"""
from __future__ import annotations

import importlib.util
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Callable, Optional

from generator import paths
from generator.runner import cachefs
from generator.model.case import Case, CheckExtension, StepRole, Untested
from generator.plan import nothing_to_run, plan, plan_all
from generator.run.hosts import split_by_host
from generator.verdict.crosscheck import CaseResult, Observations, crosscheck, from_ktap
from generator.errors import KconformError
from generator.model import Reach, Spec, Verdict
from generator.render.c import CapBinding, fit_runtime, write_c
from generator.report.table import RunFacts
from generator.model.specio import load_spec
from generator.verdict.unreachable import unreachable_results
from generator.verdict.untested import untested_results

if TYPE_CHECKING:             # annotations only: the runner loads when a run starts
    from generator.run.targets import LocalTarget, SshTarget
    from generator.runner.qemu import QemuConfig
    from generator.runner.run import RunOutcome

# what `kconform run` checks without --spec: MTE v10, and the companion
# series whose rules the report must list too (lock-memslot's capability is
# probed and its always-failing KVM_ENABLE_CAP cross-checked; every MMIO
# guard rule is a `not reachable` row)
DEFAULT_SPECS = ("mte-v10", "lock-memslot-rfc-v5", "mmio-guard-v2")


@dataclass
class RunRequest:
    spec: str = "mte-v10"             # the primary spec
    companions: tuple = ()            # further specs checked in the same boot
    kernel: str = "debian-6.12"
    per_test_timeout: float = 120.0
    total_timeout: float = 900.0
    binding: CapBinding = CapBinding.HEADER
    work_dir: Optional[Path] = None
    kernel_headers: Optional[Path] = None   # --kernel-headers DIR: names bound with these
    kernel_src: Optional[Path] = None       # --kernel-src DIR
    qemu_config: Optional[QemuConfig] = None   # None: the arm64 default
    target: "Optional[LocalTarget | SshTarget]" = None   # None: QEMU booting `kernel`
    merged: Optional[str] = None      # a source tree (dir or kernel alias): explain divergences
    oracle: str = "posted"            # "merged": judge against the tree's spec (verdict.merged)
    arches: Optional[tuple] = None    # architectures booted (--arch); None: all (run.arches)

    @property
    def specs(self) -> tuple:
        return (self.spec, *self.companions)


@dataclass
class SpecPart:
    """One spec of a run: its cases and test binary, or why it has none, and
    the rows of rules no call reaches (ids qualified for the report)."""
    spec: Spec
    cases: list[Case]                 # as planned: the binary's own ids
    binary: Optional[Path]
    nothing: str = ""                 # why there is nothing to run ("" if there is)
    unreachable: list[CaseResult] = field(default_factory=list)
    untested: list[CaseResult] = field(default_factory=list)   # checks no case exercises
    gaps: list[Untested] = field(default_factory=list)         # the same, as planned
    prefix: str = ""                  # "" for the primary, "<spec>:" for a companion
    model: Optional[ModuleType] = None  # the reference generated from this spec
    spec_file: Optional[Path] = None
    spec_digest: str = ""             # sha256 of the spec file as loaded
    model_digest: str = ""            # sha256 of the generated reference text
    model_note: str = ""              # how it stands against the committed reference/
    merged: Optional[object] = None   # verdict.merged.MergedOracle when the run reads a tree
    elsewhere: dict = field(default_factory=dict)   # arch name -> cases another target runs
    hosted: dict = field(default_factory=dict)   # host profile -> the test binary of the
                                      # cases that run there (generator.run.hosts)

    @property
    def default_cases(self) -> list[Case]:
        """The cases the default host runs (the binary's)."""
        return [c for c in self.cases if not c.host]

    def qualify(self, case_id: str) -> str:
        return self.prefix + case_id


@dataclass
class Prepared:
    """Phases 1-2: what every kernel of a run shares.  `spec`, `cases` and
    `binary` are the primary spec's; `parts` has one entry per spec (built
    from those three when empty, as a caller with one spec may leave it)."""
    spec: Spec
    cases: list[Case]
    binary: Optional[Path]
    probe: Optional[Path]
    work: Path                        # the run's work directory
    out: Path                         # work/<primary spec>
    timings: dict[str, float] = field(default_factory=dict)
    parts: list[SpecPart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # for the console
    digests: dict[str, str] = field(default_factory=dict)  # binary name -> sha256
    hosted_digests: dict[str, str] = field(default_factory=dict)  # a host profile's
                                      # binary (its path) -> sha256
    uapi: object = None               # runner.uapi.UapiHeaders the names were bound with
    uapi_note: str = ""               # why a better source was not used
    others: dict = field(default_factory=dict)   # arch name -> Prepared (run.arches)
    cannot_run: str = ""              # why these binaries were not built (run.arches)

    def __post_init__(self):
        if not self.parts:
            self.parts = [SpecPart(self.spec, self.cases, self.binary)]

    @property
    def binaries(self) -> list[Path]:
        return ([p.binary for p in self.parts if p.binary is not None]
                + ([self.probe] if self.probe else []))

    @property
    def specs(self) -> list[Spec]:
        return [p.spec for p in self.parts]

    @property
    def profiles(self) -> list[str]:
        """The host profiles other than the default that cases need, sorted."""
        return sorted({name for p in self.parts for name in p.hosted}
                      | {c.host for p in self.parts for c in p.cases if c.host})

    @property
    def all_cases(self) -> list[Case]:
        """Every runnable case of every spec, with report ids."""
        return [replace(c, id=p.qualify(c.id)) if p.prefix else c
                for p in self.parts for c in p.cases]

    @property
    def listed(self) -> list[CaseResult]:
        """Every `not reachable` and `untested` row of every spec, with report ids."""
        return [r for p in self.parts for r in p.unreachable + p.untested]


@dataclass
class RunReport:
    spec: Spec                        # the primary spec
    cases: list[Case]                 # every runnable case, report ids
    results: list[CaseResult]         # one per case and per listed rule
    facts: RunFacts
    outcome: Optional[RunOutcome] = None
    broke: Optional[str] = None
    timings: dict[str, float] = field(default_factory=dict)
    specs: list[Spec] = field(default_factory=list)
    inconsistent: Optional[str] = None  # what was run is not what was built

    @property
    def diverges(self) -> bool:
        return any(r.verdict is Verdict.DIVERGES for r in self.results)


def spec_file(name: str) -> Path:
    """The file a spec name (or a path to a .yaml) means."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    return paths.spec_path(paths.resolve_spec_name(name))


def load_named_spec(name: str) -> Spec:
    return load_spec(spec_file(name))


def model_of(spec: Spec, out_dir: Path) -> tuple[ModuleType, str, Optional[str]]:
    """The reference model of `spec` as the run judges with it: generated
    from the spec into `out_dir/<module>.py` and imported from there (a
    private module name, so two specs of one name never share a module).
    Returns (module, sha256 of its text, a note when the committed
    reference/<module>.py differs from it or is missing, else None)."""
    from generator.render.reference import module_name, render_reference
    text = render_reference(spec)
    digest = cachefs.sha256_text(text)
    path = cachefs.atomic_write(Path(out_dir) / f"{module_name(spec)}.py", text)
    name = f"kconform_model_{module_name(spec)}_{digest[:16]}"
    module = sys.modules.get(name)
    if module is None:
        loader_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        loader_spec.loader.exec_module(module)
    committed = paths.REFERENCE / f"{module_name(spec)}.py"
    note = None
    if not committed.exists():
        note = (f"{spec.name}: no committed reference/{committed.name}; judging with the "
                f"model generated from the spec ({path})")
    elif committed.read_text() != text:
        note = (f"{spec.name}: the spec differs from the committed reference/{committed.name} "
                f"(run `kconform generate` to review it); judging with the model generated "
                f"from the spec being run ({path})")
    return module, digest, note


def build(spec: Spec, out: Path, binding: CapBinding) -> tuple[list[Case], Path, float, float]:
    """Plan, render and cross-compile; returns cases, binary, and the two times."""
    from generator.runner.build import cross_compile
    t0 = time.monotonic()
    cases = plan(spec)
    c_file = write_c(spec, cases, out, binding)
    t1 = time.monotonic()
    built = cross_compile([c_file], out / "bin", include_dirs=[out])
    t2 = time.monotonic()
    return cases, built.binaries[0].binary, t1 - t0, t2 - t1


def prepare(req: RunRequest) -> Prepared:
    """Phases 1-2: load every spec, plan, render and build their tests in
    one parallel compile (and the platform check, so parallel kernels find
    it built)."""
    from generator.run import arches as route
    from generator.runner.build import cross_compile
    from generator.runner.platform import platform_binary
    t0 = time.monotonic()
    enabled = route.enabled(req.arches)
    specs = [load_named_spec(n) for n in req.specs]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise KconformError(f"a spec is named twice: {', '.join(names)}; give each once")
    files = [spec_file(n) for n in req.specs]
    work = Path(req.work_dir) if req.work_dir else cachefs.new_run_dir(paths.cache_dir())
    parts, sources, notes = [], [], []
    hosted_sources: dict[str, list] = {}
    uapi, uapi_note = uapi_headers(req)
    own = uapi is not None and uapi.source.value != "toolchain"
    kernel_caps = {n: v for n, (v, _) in uapi.caps.items()} if own else None
    kernel_ioctls = {n: d.nr for n, d in uapi.ioctls.items()} if own else None
    for i, (spec, file) in enumerate(zip(specs, files)):
        planned = plan_all(spec)
        cases, dropped = fit_runtime(spec, planned.cases)
        routed, lacking = route.route(spec, cases, enabled)
        cases = routed.pop("arm64", [])
        part = SpecPart(spec, cases, None, nothing_to_run(spec, planned.cases),
                        prefix="" if i == 0 else f"{spec.name}:", spec_file=file,
                        spec_digest=cachefs.sha256(file), elsewhere=routed)
        part.unreachable = [replace(r, id=part.qualify(r.id)) for r in unreachable_results(spec)]
        part.gaps = planned.untested + dropped + lacking
        part.untested = [replace(r, id=part.qualify(r.id))
                         for r in untested_results(spec, part.gaps)]
        if cases:
            default, hosted = split_by_host(cases)
            if default:
                sources.append(write_c(spec, default, work / spec.name, req.binding,
                                       kernel_caps=kernel_caps, kernel_ioctls=kernel_ioctls))
            for name, group in hosted.items():     # one binary per host profile
                hosted_sources.setdefault(name, []).append((part, write_c(
                    spec, group, work / "hosts" / name / spec.name, req.binding,
                    kernel_caps=kernel_caps, kernel_ioctls=kernel_ioctls)))
        if cases or routed:
            part.model, part.model_digest, note = model_of(spec, work / "reference")
            if note:
                notes.append(note)
                part.model_note = note
        parts.append(part)
    t1 = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as side:     # the probe builds meanwhile
        probe_job = side.submit(_btf_probe, specs, work / "bin")
        if sources:
            built = cross_compile(sources, work / "bin", include_dirs=[s.parent for s in sources],
                                  cache=paths.cache_dir() / "build")
            for part, b in zip([p for p in parts if p.default_cases], built.binaries):
                part.binary = b.binary
        for name, group in hosted_sources.items():
            built = cross_compile([src for _, src in group], work / "hosts" / name / "bin",
                                  include_dirs=[src.parent for _, src in group],
                                  cache=paths.cache_dir() / "build")
            for (part, _), b in zip(group, built.binaries):
                part.hosted[name] = b.binary
        probe = probe_job.result()
    t2 = time.monotonic()
    platform_binary(work / "runner")
    if req.merged or req.oracle == "merged":
        _merged_oracles(parts, req)
    first = parts[0]
    prep = Prepared(first.spec, first.cases, first.binary, probe, work, work / first.spec.name,
                    {"generate": t1 - t0, "compile": t2 - t1}, parts, notes)
    prep.digests = {b.name: cachefs.sha256(b) for b in prep.binaries}
    prep.hosted_digests = {str(b): cachefs.sha256(b) for p in parts for b in p.hosted.values()}
    prep.uapi, prep.uapi_note = uapi, uapi_note
    t3 = time.monotonic()
    prep.others = build_elsewhere(parts, work, req.binding, kernel_caps=kernel_caps,
                                  kernel_ioctls=kernel_ioctls, uapi=uapi, uapi_note=uapi_note)
    if prep.others:
        prep.timings["compile"] += time.monotonic() - t3
    return prep


def build_elsewhere(parts, work: Path, binding, *, kernel_caps=None, kernel_ioctls=None,
                    uapi=None, uapi_note: str = "") -> dict:
    """arch name -> the `Prepared` of every case routed to that architecture
    (parts' `elsewhere`, generator.run.arches), compiled by its compiler
    under work/<arch>."""
    from generator.runner.arch import target_arch
    from generator.runner.build import cross_compile
    names = sorted({a for p in parts for a in p.elsewhere})
    out = {}
    for name in names:
        arch = target_arch(name)
        t0 = time.monotonic()
        root = Path(work) / arch.name
        mine, sources = [], []
        for p in parts:
            cases = p.elsewhere.get(name, [])
            if not cases:
                continue
            part = SpecPart(p.spec, cases, None, prefix=p.prefix, model=p.model,
                            spec_file=p.spec_file, spec_digest=p.spec_digest,
                            model_digest=p.model_digest, model_note=p.model_note)
            sources.append(write_c(p.spec, cases, root / p.spec.name, binding,
                                   kernel_caps=kernel_caps, kernel_ioctls=kernel_ioctls))
            mine.append(part)
        t1 = time.monotonic()
        first = mine[0]
        if shutil.which(arch.cc) is None:     # its cases become platform skips saying so
            prep = Prepared(first.spec, first.cases, None, None, root, root / first.spec.name,
                            {}, mine, cannot_run=f"no {arch.cc} to build its tests "
                            f"(apt-get install {arch.cc_package}, or scripts/setup.sh)")
            out[name] = prep
            continue
        built = cross_compile(sources, root / "bin", include_dirs=[s.parent for s in sources],
                              cc=arch.cc, cache=paths.cache_dir() / "build")
        for part, b in zip(mine, built.binaries):
            part.binary = b.binary
        prep = Prepared(first.spec, first.cases, first.binary, None, root,
                        root / first.spec.name,
                        {"generate": t1 - t0, "compile": time.monotonic() - t1}, mine)
        prep.digests = {b.name: cachefs.sha256(b) for b in prep.binaries}
        prep.uapi, prep.uapi_note = uapi, uapi_note
        out[name] = prep
    return out


def uapi_headers(req: RunRequest):
    """(UapiHeaders, note): the uAPI headers of the kernel under test that
    capability names are bound with -- --kernel-headers / --kernel-src, the
    Debian kernel's linux-headers-<abi>-common, or the cross toolchain's as
    the last resort (the note says why)."""
    from generator.runner import uapi
    from generator.runner.errors import KernelError
    if req.kernel_headers:
        return uapi.from_headers_dir(Path(req.kernel_headers)), ""
    if req.kernel_src:
        return uapi.from_source_tree(Path(req.kernel_src)), ""
    note = ""
    if req.target is None and req.kernel:
        from generator.runner.kernels import _looks_like_path, resolve_kernel
        if _looks_like_path(req.kernel):
            note = (f"{req.kernel} is a kernel you built: pass --kernel-headers or --kernel-src "
                    "to bind names with its uAPI")
        else:
            try:
                image = resolve_kernel(req.kernel)
                if image.release:
                    from generator.runner.kernels import DebianArchive
                    return uapi.from_debian(image.release, DebianArchive()), ""
                note = f"{req.kernel}: no release known for its headers"
            except KernelError as e:
                note = f"the headers of {req.kernel} are unavailable: {str(e).splitlines()[0]}"
    else:
        note = "the target runs its own kernel: pass --kernel-headers or --kernel-src"
    return uapi.from_toolchain(), note


def _changed_binaries(prep: Prepared) -> list[str]:
    """Binaries whose content is no longer what this run built."""
    out = []
    for b in prep.binaries:
        want = prep.digests.get(b.name)
        if want is None:
            continue
        try:
            ok = cachefs.sha256(b) == want
        except OSError:
            ok = False
        if not ok:
            out.append(str(b))
    return out


def _binding_mismatch(req: RunRequest, bindings: dict) -> Optional[str]:
    """A binary that reports another binding than the one it was built for."""
    for name, b in bindings.items():
        how = b["how"]
        if req.binding is CapBinding.PATCH and how not in ("patch", ""):
            return f"{name}: the test binary used binding {how}, but the run asked for patch"
        if req.binding is CapBinding.HEADER and how == "patch":
            return f"{name}: the test binary used binding patch, but the run asked for header"
    return None


def _merged_oracles(parts: list[SpecPart], req: RunRequest) -> None:
    """Each runnable spec's merged spec and model, from the run's tree."""
    from generator.extract.tree import extract_tree_spec, resolve_tree
    from generator.verdict.merged import merged_model
    tree = resolve_tree(req.merged or req.kernel)
    for part in parts:
        if part.cases:
            part.merged = merged_model(extract_tree_spec(tree.root, part.spec, tree.label),
                                       root=tree.root)


def target_for(req: RunRequest, kernel: Optional[str] = None):
    """The target one kernel (or the request's own target) runs on."""
    if req.target is not None:
        return req.target
    from generator.run.targets import QemuTarget
    from generator.runner.qemu import AARCH64
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

    probe = prep.probe
    t0 = time.monotonic()
    target.resolve()
    t_fetch = time.monotonic()
    changed = _changed_binaries(prep)
    if changed:
        from generator.runner.errors import RunnerError
        raise RunnerError(f"{', '.join(changed)} changed after this run built it (another "
                          f"process wrote into {prep.work}?); give each run its own --work-dir")
    outcome = target.run(prep.binaries, per_test_timeout=req.per_test_timeout,
                         total_timeout=req.total_timeout,
                         log_path=Path(out) / "console.log", on_event=on_event,
                         work_dir=prep.work / "runner", cancel=cancel)
    profile_runs = _run_profiles(prep, target, req, out, on_event, cancel)
    t_run = time.monotonic()
    from generator.runner.arch import target_arch
    arch = target_arch(getattr(target, "arch", "arm64"))
    host = Host.of(mte=_host_mte(outcome))
    from generator.runner.platform import PlatformState
    platform_fault = (outcome.platform.sentence
                      if outcome.platform.state is PlatformState.FAULTY else None)
    broke = outcome.broke
    for part in prep.parts:           # a binary killed by its timeout breaks the run
        test = _test_of(outcome, part)
        if test is not None and test.timed_out and not broke:
            broke = (f"the test binary {part.binary.name} was killed after "
                     f"{req.per_test_timeout:.0f} s")
    results: list[CaseResult] = []
    bindings: dict[str, dict] = {}
    for part in prep.parts:
        if part.binary is not None:
            test = _test_of(outcome, part)
            obs = from_ktap(test.ktap) if test is not None else Observations()
            ps = obs.page_size or outcome.page_size
            judged = crosscheck(part.spec, part.default_cases, obs, page_size=ps,
                                host=host, broke=broke, platform_fault=platform_fault,
                                module=part.model, arch=arch.kernel_dir)
            if part.merged is not None and req.oracle == "merged":
                from generator.verdict.merged import judge_merged
                judged = judge_merged(judged, part.default_cases, obs, part.merged, ps, host)
            elif part.merged is not None and ps:
                from generator.verdict.merged import explain_results
                explain_results(judged, part.default_cases, obs, part.merged, ps, host)
            for r in judged:
                r.id = part.qualify(r.id)
                r.target = arch.name
                results.append(r)
            for name, (number, how) in obs.bindings.items():
                bindings[name] = {"number": number, "how": how, "spec": part.spec.name}
        for name, hosted in profile_runs.items():
            results += _judge_hosted(part, name, hosted, req)
        results += [replace(r) for r in part.unreachable + part.untested]
    own = list(results)
    others = []
    if prep.others:                   # the cases of another architecture's code (run.arches)
        from generator.run.arches import run_elsewhere
        others = run_elsewhere(prep, target, req, run_target, out=out, on_event=on_event,
                               cancel=cancel)
        for o in others:
            results += o["results"]
    facts = RunFacts.from_outcome(outcome, req.binding.value)
    facts.bindings = bindings
    # before the counts, as it may skip a case; another target's results
    # have had theirs
    _uapi_facts(prep, facts, own)
    facts.extra["log"] = str(outcome.log_path) if outcome.log_path else None
    facts.extra.update(target.facts())
    if others:
        facts.extra["targets"] = {arch.name: {"state": outcome.status.value, **target.facts(),
                                              "kernel_release": outcome.kernel_release},
                                  **{o["arch"]: o["facts"] for o in others}}
    if profile_runs:
        facts.extra["hosts"] = {name: r.facts(sum(1 for p in prep.parts for c in p.cases
                                                  if c.host == name))
                                for name, r in profile_runs.items()}
    start = getattr(outcome, "start", None)         # runner.snapshot.Start, QEMU only
    if start is not None:
        facts.extra["guest"] = start.value
    facts.specs = [{"name": p.spec.name, "seed": p.spec.seed, "cases": len(p.cases),
                    "not_reachable": len(p.unreachable), "untested": len(p.untested),
                    "nothing_to_run": p.nothing or None,
                    **check_counts(replace(p, cases=p.cases + [
                        c for cs in p.elsewhere.values() for c in cs]),
                        [r for r in results if r.spec == p.spec.name])}
                   for p in prep.parts]
    mismatch = _binding_mismatch(req, bindings)
    if mismatch and not broke:
        broke = mismatch
        results = [r if r.verdict is not Verdict.CONFORMS and r.verdict is not Verdict.DIVERGES
                   else replace(r, verdict=Verdict.ERROR, reason=f"{mismatch}; would be "
                                f"{r.verdict.value}") for r in results]
    facts.extra["build"] = {
        "work_dir": str(prep.work),
        "binding": req.binding.value,
        "binaries": dict(prep.digests),
        "specs": {p.spec.name: {"file": str(p.spec_file) if p.spec_file else None,
                                "sha256": p.spec_digest or None,
                                "model_sha256": p.model_digest or None,
                                "model": p.model_note or ("the committed reference" if p.model
                                                          else None)}
                  for p in prep.parts},
    }
    if probe is not None:
        btf = {s.name: _btf_compare(s, outcome, probe.name) for s in prep.specs if s.structs}
        facts.extra["btf"] = btf.get(prep.spec.name) or next(iter(btf.values()), None)
        if len(btf) > 1:
            facts.extra["btf_by_spec"] = btf
    report = RunReport(prep.spec, prep.all_cases + [c for o in others for c in o["cases"]],
                       results, facts, outcome, broke, specs=prep.specs, inconsistent=mismatch)
    report.timings = {**prep.timings,
                      "kernel": t_fetch - t0,
                      "boot": outcome.timings.boot or 0.0,
                      "execute": outcome.timings.execute or 0.0,
                      "qemu_total": outcome.timings.total,
                      "run_phase": t_run - t_fetch,
                      "total": time.monotonic() - t0}
    return report


def _run_profiles(prep: Prepared, target, req: RunRequest, out: Path, on_event,
                  cancel) -> dict:
    """Boot each host profile the cases need, once, after the default host
    (generator.run.hosts): {profile: ProfileRun}."""
    from generator.run.hosts import run_profile
    runs = {}
    for name in prep.profiles:
        binaries = [p.hosted[name] for p in prep.parts if name in p.hosted]
        changed = [str(b) for b in binaries
                   if prep.hosted_digests.get(str(b)) not in (None, _digest(b))]
        if changed:
            from generator.runner.errors import RunnerError
            raise RunnerError(f"{', '.join(changed)} changed after this run built it; give "
                              "each run its own --work-dir")
        if cancel is not None and cancel.is_set():
            from generator.run.hosts import ProfileRun, profile
            runs[name] = ProfileRun(profile(name), reason=f"the run was interrupted before "
                                    f"host profile {name} booted")
            continue

        def run(t, name=name, binaries=binaries):
            return t.run(binaries, per_test_timeout=req.per_test_timeout,
                         total_timeout=req.total_timeout,
                         log_path=Path(out) / f"console-{name}.log", on_event=on_event,
                         work_dir=prep.work / "runner", cancel=cancel)
        runs[name] = run_profile(name, target, binaries, run=run, on_event=on_event)
    return runs


def _digest(path: Path) -> Optional[str]:
    try:
        return cachefs.sha256(path)
    except OSError:
        return None


def _judge_hosted(part: SpecPart, name: str, hosted, req: RunRequest) -> list[CaseResult]:
    """The rows of a part's cases that ran on host profile `name`."""
    from generator.run.hosts import host_for, mark, untested_rows
    cases = [c for c in part.cases if c.host == name]
    if not cases:
        return []
    binary = part.hosted.get(name)
    if hosted.outcome is None or hosted.reason or binary is None:
        return untested_rows(cases, hosted.reason or f"no test binary for host profile "
                             f"{name}", part.prefix)
    o = hosted.outcome
    test = next((t for t in o.tests if t.name == binary.name), None)
    obs = from_ktap(test.ktap) if test is not None else Observations()
    broke = o.broke
    if test is not None and test.timed_out and not broke:
        broke = f"the test binary {binary.name} was killed after {req.per_test_timeout:.0f} s"
    from generator.runner.platform import PlatformState
    fault = o.platform.sentence if o.platform.state is PlatformState.FAULTY else None
    judged = crosscheck(part.spec, cases, obs, page_size=obs.page_size or o.page_size,
                        host=host_for(hosted.profile, _host_mte(o)), broke=broke,
                        platform_fault=fault, module=part.model)
    for r in judged:
        r.id = part.qualify(r.id)
    return mark(judged, name)


def check_counts(part: SpecPart, results: list[CaseResult]) -> dict:
    """Per spec: the checks extracted, and how many a case exercised (a
    case that violates it got `conforms` or `diverges`), how many are
    `untested` (no case, or none that could be predicted or built) and how
    many `not reachable`; the rest only had skipped or broken cases.  A
    check is (operation, check id): two helpers may both have `ipa_unaligned`."""
    checks = {(op.name, c.id): c for op in part.spec.operations for c in op.checks}
    verdicts = {r.id: r.verdict for r in results}
    exercised, unpredicted = set(), set()
    for case in part.cases:
        op = next((s.op for s in reversed(case.steps) if s.role is StepRole.SUBJECT), "")
        v = verdicts.get(part.qualify(case.id))
        for check in case.violates:
            if v in (Verdict.CONFORMS, Verdict.DIVERGES):
                exercised.add((op, check))
            elif v is Verdict.UNTESTED:
                unpredicted.add((op, check))
    unreachable = {k for k, c in checks.items() if c.reach is Reach.UNREACHABLE}
    untested = ({(u.op, u.check) for u in part.gaps} | unpredicted) & set(checks)
    untested -= exercised | unreachable
    return {"checks": len(checks), "checks_exercised": len(exercised & set(checks)),
            "checks_untested": len(untested), "checks_not_reachable": len(unreachable)}


def _uapi_facts(prep: Prepared, facts: RunFacts, results: list[CaseResult]) -> None:
    """Which headers bound the names, every posted number the kernel has
    renumbered, and on each `cap.number` row what the posted number means
    on the kernel under test."""
    from generator.runner.uapi import cap_meaning, renumbered
    h = prep.uapi
    if h is None:
        facts.extra["uapi"] = {"source": None, "note": prep.uapi_note or "no kvm.h found"}
        return
    found = {p.spec.name: [r.to_json() for r in renumbered(p.spec, h)] for p in prep.parts}
    facts.extra["uapi"] = {**h.to_json(), "note": prep.uapi_note or None,
                           "renumbered": {k: v for k, v in found.items() if v}}
    _default_cap_numbers(prep, facts, results)
    _capabilities_not_in_kernel(prep, h, results)
    _ioctls_not_in_kernel(prep, h, results)
    for r in results:
        if r.clause != "cap_number":
            continue
        part = next((p for p in prep.parts if p.spec.name == r.spec), None)
        caps = part.spec.capabilities if part else []
        suffix = r.id.rsplit("cap.number", 1)[-1].lstrip(".")
        cap = next((c for c in caps if not suffix or c.name.lower().endswith(suffix)), None)
        if cap is None:
            continue
        meaning = cap_meaning(h, cap.number)
        mine = h.caps.get(cap.name)
        if mine is not None and mine[0] != cap.number:
            meaning += f" (renumbered: posted {cap.number}, kernel has {mine[0]})"
            if r.verdict is Verdict.CONFORMS:
                # the answer came from another capability: a false positive, never a pass
                r.verdict = Verdict.DIVERGES
                r.decided_by = cap.source
                r.reason = (f"the answer {r.observed.ret if r.observed else '?'} to "
                            f"KVM_CHECK_EXTENSION({cap.number}) is not {cap.name}'s: {meaning}")
                continue
        r.reason = (f"{r.reason}; " if r.reason else "") + meaning


def _part_and_case(prep: Prepared, r: CaseResult):
    """(the spec part, the case) a result row is of; either None when the
    run has no such one."""
    part = next((p for p in prep.parts if p.spec.name == r.spec), None)
    case = next((c for c in (part.cases if part else []) if part.qualify(c.id) == r.id), None)
    return part, case


def _default_cap_numbers(prep: Prepared, facts: RunFacts, results: list[CaseResult]) -> None:
    """A case of the target's default beside another architecture's
    capability (Operation.default_for) asks the kernel about the number its
    binary was bound to: when that is the patch's number and the kernel's
    header gives the name another one, the number is another capability
    there, and the verdict says so (a divergence is the renumbering's)."""
    from generator.runner.uapi import cap_meaning
    h = prep.uapi
    if h is None or not any(h.caps.get(name, (b.get("number"),))[0] != b.get("number")
                            for name, b in (facts.bindings or {}).items()):
        return                       # every capability bound to the kernel's own number
    for r in results:
        part, case = _part_and_case(prep, r)
        if part is None or r.verdict not in (Verdict.CONFORMS, Verdict.DIVERGES):
            continue
        op = next((o for o in part.spec.operations if case is not None and o.default_for
                   and o.cap and o.name == case.steps[-1].op), None)
        cap = next((c for c in part.spec.capabilities if op is not None and c.name == op.cap),
                   None)
        bound = facts.bindings.get(cap.name, {}) if cap is not None else {}
        mine = h.caps.get(cap.name) if cap is not None and h is not None else None
        if not bound or mine is None or bound.get("number") == mine[0]:
            continue
        meaning = (f"{cap.name} is bound to {bound.get('number')} ({bound.get('how')}): "
                   f"{cap_meaning(h, bound.get('number'))}, while the kernel's header "
                   f"numbers {cap.name} {mine[0]}")
        if r.verdict is Verdict.DIVERGES:
            r.decided_by = cap.source
        r.reason = (f"{r.reason}; " if r.reason else "") + meaning


def _capabilities_not_in_kernel(prep: Prepared, h, results: list[CaseResult]) -> None:
    """A case that diverges only because KVM_CHECK_EXTENSION of a capability
    the kernel's headers do not define answered 0 is skipped, saying so: the
    kernel under test does not have the capability (the series, or the
    patch that merged it, is not in it), which is no divergence of the
    kernel from the patch.  A capability the headers define keeps its
    verdict."""
    for r in results:
        if r.verdict is not Verdict.DIVERGES or r.step is None or r.observed is None \
                or r.observed.ret != 0:
            continue
        part, case = _part_and_case(prep, r)
        step = case.steps[r.step] if case is not None and r.step < len(case.steps) else None
        if not isinstance(step, CheckExtension) or not step.cap or step.cap in h.caps:
            continue
        cap = next((c for c in part.spec.capabilities if c.name == step.cap), None)
        number = f"({cap.number}) " if cap is not None else ""
        r.verdict = Verdict.SKIPPED
        r.reason = (f"{step.cap} {number}is not in the kernel under test: {h.description} "
                    f"does not define it, so KVM_CHECK_EXTENSION answering 0 says the "
                    f"capability is absent there, not that the kernel diverges from the patch "
                    f"(was: {r.reason})")


def _ioctls_not_in_kernel(prep: Prepared, h, results: list[CaseResult]) -> None:
    """A case whose call is an ioctl the patch defines and the kernel's
    headers do not (the series is not in the kernel under test) is skipped,
    saying so, whatever it observed: the kernel answers an ioctl it does
    not have as unknown (arm64's VM and vCPU ioctls: EINVAL), so an errno
    that matches the patch's is no pass, and one that does not is no
    divergence."""
    if not h.ioctls:
        return                    # headers without ioctls read: nothing to say
    lacking = {p.spec.name for p in prep.parts if any(i.name not in h.ioctls
                                                      for i in p.spec.ioctls)}
    for r in results:
        if r.verdict not in (Verdict.CONFORMS, Verdict.DIVERGES) or r.spec not in lacking:
            continue
        part, case = _part_and_case(prep, r)
        ioctls = {i.name: i for i in part.spec.ioctls}
        absent = next((ioctls[s.op] for s in (case.steps if case else ())
                       if s.role is StepRole.SUBJECT and s.op in ioctls
                       and s.op not in h.ioctls), None)
        if absent is None:
            continue
        was = r.verdict.value
        r.verdict = Verdict.SKIPPED
        r.reason = (f"{absent.name} (nr {absent.nr:#x}) is not in the kernel under test: "
                    f"{h.description} does not define it, so the kernel answers it as an "
                    f"ioctl it does not have, which says nothing of the patch's checks "
                    f"(would be {was}: {r.reason or 'as expected'})")


def _test_of(outcome, part: SpecPart):
    """The runner's record of a part's test binary, if it ran."""
    if part.binary is None:
        return None
    return next((t for t in outcome.tests if t.name == part.binary.name), None)


def _btf_probe(specs: list[Spec], out: Path) -> Optional[Path]:
    """One in-guest BTF probe for every struct of the specs (generator.abi)."""
    structs = list(dict.fromkeys(f"{s.kind} {s.name}" for spec in specs for s in spec.structs))
    if not structs:
        return None
    from generator.abi.btf import PROBE_C, build_probe
    from generator.runner.build import (compiler_version, content_key, place_cached,
                                        store_cached)
    out.mkdir(parents=True, exist_ok=True)
    binary = out / "btf_probe"
    # cached by content, as the test binaries are (runner.build)
    cached = (paths.cache_dir() / "build" / content_key(
        Path(PROBE_C), [], ["btf_probe", *structs], compiler_version()) / binary.name)
    if cached.is_file():
        place_cached(cached, binary)
        return binary
    binary.unlink(missing_ok=True)
    build_probe(str(binary), structs=structs)
    store_cached(binary, cached)
    return binary


def _btf_compare(spec: Spec, outcome, probe_name: str) -> dict:
    """The spec's arm64 layouts against the booted kernel's own BTF."""
    from generator.abi import check_spec
    from generator.abi.btf import compare_spec_btf, parse_probe_output
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
    from generator.runner.run import RunStatus
    o = report.outcome
    if o is None or report.inconsistent:
        return True
    if o.status is not RunStatus.COMPLETED or o.not_run:
        return True
    return any(t.timed_out or t.exit_status is None for t in o.tests)


__all__ = ["RunRequest", "RunReport", "Prepared", "SpecPart", "DEFAULT_SPECS", "prepare",
           "run", "run_target",
           "target_for", "build", "load_named_spec", "spec_file", "model_of", "check_failed", "KconformError"]
