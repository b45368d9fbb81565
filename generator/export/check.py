"""Check exported selftests against kconform's own verdicts in one boot.

Phases:
  1. prepare kconform's run of the specs (generator.run.pipeline.prepare:
     plan, render, compile its own test binaries);
  2. export and build the selftests in the tree (generator.export.tree);
  3. boot the kernel once with both sets of binaries (the run's target);
  4. cross-check kconform's observations (generator.verdict.crosscheck)
     and parse the exported binaries' KTAP (generator.runner.ktap);
  5. per exported case: `ok` must go with `conforms`, `not ok` with
     `diverges` (or `error`, when a set-up step failed), `SKIP` with
     `skipped`; anything else is a disagreement.
"""
from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from generator.export.kselftest import KselftestFile, render
from generator.export.tree import BuiltTest, build
from generator.model import Verdict
from generator.runner.ktap import KtapStatus
from generator.runner.source import KernelTree


class Agreement(enum.Enum):
    AGREE = "agree"
    DISAGREE = "disagree"
    MISSING = "missing"              # the exported binary printed no result


# what an exported test's KTAP status must be for each kconform verdict
EXPECTED_STATUS = {Verdict.CONFORMS: (KtapStatus.PASS,),
                   Verdict.DIVERGES: (KtapStatus.FAIL,),
                   Verdict.ERROR: (KtapStatus.FAIL,),
                   Verdict.SKIPPED: (KtapStatus.SKIP,)}


@dataclass
class CaseAgreement:
    id: str
    verdict: Verdict
    status: Optional[KtapStatus]
    agreement: Agreement
    detail: str = ""                 # the exported test's failure message


@dataclass
class SpecAgreement:
    spec: str
    test: str
    cases: list[CaseAgreement] = field(default_factory=list)
    not_exported: int = 0

    def count(self, status: KtapStatus) -> int:
        return sum(1 for c in self.cases if c.status is status)

    @property
    def agreeing(self) -> int:
        return sum(1 for c in self.cases if c.agreement is Agreement.AGREE)


@dataclass
class CheckReport:
    specs: list[SpecAgreement]
    kernel: str
    page_size: Optional[int]
    timings: dict[str, float] = field(default_factory=dict)
    broke: Optional[str] = None

    @property
    def agree(self) -> bool:
        return not self.broke and all(s.agreeing == len(s.cases) for s in self.specs)


def compare(file: KselftestFile, results, doc) -> SpecAgreement:
    """Phase 5 for one spec: kconform's CaseResults against the exported
    binary's KTAP document."""
    by_id = {r.id: r for r in results}
    out = SpecAgreement(file.spec.name, file.name, not_exported=len(file.not_exported))
    for case in file.exported:
        r = by_id[case.id]
        k = doc.by_name(case.id) if doc is not None else None
        if k is None:
            out.cases.append(CaseAgreement(case.id, r.verdict, None, Agreement.MISSING,
                                           "no KTAP line for this case"))
            continue
        ok = k.status in EXPECTED_STATUS.get(r.verdict, ())
        detail = "; ".join(d for d in k.diagnostics if case.id in d)
        out.cases.append(CaseAgreement(case.id, r.verdict, k.status,
                                       Agreement.AGREE if ok else Agreement.DISAGREE,
                                       detail))
    return out


def check(specs: list[str], kernel: str, tree: KernelTree, *,
          work_dir: Optional[Path] = None, modules: Optional[dict] = None,
          log=None) -> CheckReport:
    """`specs`: names or spec files (the first is kconform's primary);
    `modules`: reference modules by spec name for specs with none under
    reference/ (a series extracted on the fly)."""
    from generator.run.pipeline import RunRequest, _host_mte, _test_of, prepare, target_for
    from generator.verdict.crosscheck import crosscheck, from_ktap
    from reference.vmstate import Host
    log = log or (lambda m: None)
    t0 = time.monotonic()
    req = RunRequest(spec=specs[0], companions=tuple(specs[1:]), kernel=kernel,
                     work_dir=work_dir)
    prep = prepare(req)
    t1 = time.monotonic()
    modules = modules or {}
    files = [render(p.spec, p.cases, module=modules.get(p.spec.name))
             for p in prep.parts if p.cases]
    built: list[BuiltTest] = build(files, tree, log=log)
    t2 = time.monotonic()
    target = target_for(req)
    target.resolve()
    outcome = target.run(prep.binaries + [b.binary for b in built],
                         per_test_timeout=req.per_test_timeout,
                         total_timeout=req.total_timeout,
                         log_path=prep.work / "export-console.log", on_event=None,
                         work_dir=prep.work / "runner", cancel=None)
    t3 = time.monotonic()
    host = Host.of(mte=_host_mte(outcome))
    out = []
    for part, f, b in zip([p for p in prep.parts if p.cases], files, built):
        test = _test_of(outcome, part)
        obs = from_ktap(test.ktap) if test is not None else from_ktap(_empty())
        results = crosscheck(part.spec, part.default_cases, obs,
                             page_size=obs.page_size or outcome.page_size,
                             host=host, broke=outcome.broke,
                             module=modules.get(part.spec.name))
        mine = next((t for t in outcome.tests if t.name == b.binary.name), None)
        out.append(compare(f, results, mine.ktap if mine else None))
    return CheckReport(out, outcome.kernel_release or kernel, outcome.page_size,
                       {"prepare": t1 - t0, "build": t2 - t1, "boot_and_run": t3 - t2,
                        "build_cached": float(all(b.cached for b in built)),
                        **{f"run_{b.name}": next((t.seconds or 0.0 for t in outcome.tests
                                                  if t.name == b.binary.name), 0.0)
                           for b in built}},
                       outcome.broke)


def _empty():
    from generator.runner.ktap import parse_ktap
    return parse_ktap([])
