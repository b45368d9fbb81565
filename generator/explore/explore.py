"""`kconform explore`: random call sequences checked live against the reference.

Phases of `explore`:
  1. generate: Hypothesis draws sequences from the spec's domain
     (generator.explore.domain) in chunks, with a seed derived from the
     run's seed and the chunk's number, so a seed replays exactly;
  2. execute each chunk on the executor (the live agent: one round trip
     per batch, no reboot; each sequence's VM torn down before the next)
     and judge every sequence against the reference (generator.explore.check);
     the first sequence of a class and the shortest seen are kept;
  3. stop at the budget (examples or seconds), or when the VM broke;
  4. per class: shrink the shortest sequence against the live kernel
     (generator.explore.shrink), replay the minimal sequence once more and
     keep the class only if the replay diverges in the same class
     (`confirmed`); render its standalone C reproducer (the generated
     test's form for that one case, generator.render.c).
"""
from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Callable, Optional

from generator.explore.choose import Generator, HypothesisChooser, RandomChooser
from generator.explore.check import DivergenceClass, ExampleStatus, Judged, judge_sequence
from generator.explore.domain import MAX_STEPS, Domain, ExploreError
from generator.explore.execute import Broke, Executor
from generator.explore.shrink import ShrinkStats, shrink
from generator.model import Source, Spec
from generator.model.case import Case
from reference.vmstate import Host

CHUNK = 64                      # sequences drawn per Hypothesis run


@dataclass
class Budget:
    examples: Optional[int] = None
    seconds: Optional[float] = None
    steps: Optional[int] = None          # stop once this many steps ran
    max_steps: int = MAX_STEPS
    shrink_seconds: float = 120.0
    generator: Generator = Generator.HYPOTHESIS

    def __post_init__(self):
        if self.examples is None and self.seconds is None and self.steps is None:
            self.examples = 200
        if not 2 <= self.max_steps <= MAX_STEPS:
            raise ExploreError(f"--max-steps {self.max_steps}: a sequence holds 2..{MAX_STEPS} "
                               f"steps (CREATE_VM and at most {MAX_STEPS - 1} more; the "
                               "runtime's KC_MAX_STEPS)")
        if self.examples is not None and self.examples < 1:
            raise ExploreError(f"--examples {self.examples}: give at least 1")
        if self.seconds is not None and self.seconds <= 0:
            raise ExploreError(f"--seconds {self.seconds}: give a positive number")


@dataclass
class Finding:
    """One divergence class: its minimal sequence and how it was found."""
    cls: DivergenceClass
    first: Case                        # the first sequence that showed it
    example: int                       # ... its number in the run
    occurrences: int = 1               # sequences of the run in this class
    shortest: Optional[Case] = None
    step: Optional[int] = None         # the diverging step of `shortest`
    minimal: Optional[Case] = None
    decided_by: Optional[Source] = None
    reason: str = ""
    confirmed: Optional[bool] = None   # the replay diverged in the same class
    replay_reason: str = ""
    shrink: Optional[ShrinkStats] = None
    reproducer: str = ""               # standalone C (the generated test's form)


@dataclass
class ExploreResult:
    spec: str
    seed: int
    page_size: int
    host_mte: bool
    examples: int = 0
    steps: int = 0                     # steps executed in generated sequences
    checked_steps: int = 0             # steps whose observation was compared
    seconds: float = 0.0               # generation + execution + judging
    generate_seconds: float = 0.0
    execute_seconds: float = 0.0
    statuses: dict = field(default_factory=dict)   # ExampleStatus -> count
    findings: list = field(default_factory=list)   # of Finding, in discovery order
    errors: list = field(default_factory=list)     # (case id, reason), first few
    setup_failures: list = field(default_factory=list)
    broke: Optional[str] = None
    skipped: list = field(default_factory=list)    # what the domain does not explore
    live: Optional[object] = None                  # the executor's LiveStats, if live

    @property
    def confirmed(self) -> list:
        return [f for f in self.findings if f.confirmed]

    @property
    def unconfirmed(self) -> list:
        return [f for f in self.findings if not f.confirmed]


def generate(domain: Domain, n: int, seed: int, max_steps: int,
             generator: Generator = Generator.HYPOTHESIS) -> list[list]:
    """`n` step sequences drawn with `seed` (deterministic for a seed)."""
    if generator is Generator.RANDOM:
        ch = RandomChooser(random.Random(seed))
        return [domain.draw_sequence(ch, max_steps) for _ in range(n)]
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st
    out: list[list] = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=False)
    @given(st.data())
    def draw(data):
        out.append(domain.draw_sequence(HypothesisChooser(data), max_steps))

    draw()
    return out[:n]


class Explorer:
    """One spec on one executor."""

    def __init__(self, spec: Spec, module: ModuleType, executor: Executor, *,
                 seed: int = 0, budget: Optional[Budget] = None,
                 on_progress: Optional[Callable[[str], None]] = None):
        self.spec, self.module, self.executor = spec, module, executor
        self.seed, self.budget = seed, budget or Budget()
        self.domain = Domain.of(spec)
        self.host = Host.of(mte=executor.host_mte)
        self.on_progress = on_progress or (lambda s: None)

    def judge(self, case: Case, obs) -> Judged:
        return judge_sequence(self.spec, self.module, case, obs, self.executor.page_size,
                              self.host)

    def classify(self, cases: list[Case]) -> list[Optional[DivergenceClass]]:
        obs = self.executor.execute(cases)
        out = []
        for c in cases:
            j = self.judge(c, obs.get(c.id))
            out.append(j.cls if j.status is ExampleStatus.DIVERGES else None)
        return out

    def run(self) -> ExploreResult:
        res = ExploreResult(self.spec.name, self.seed, self.executor.page_size,
                            self.executor.host_mte, skipped=list(self.domain.skipped))
        t0 = time.monotonic()
        by_class: dict[DivergenceClass, Finding] = {}
        chunk_no = 0
        try:
            while not self._spent(res, t0):
                n = CHUNK if self.budget.examples is None else min(
                    CHUNK, self.budget.examples - res.examples)
                tg = time.monotonic()
                seqs = generate(self.domain, n, self.seed * 7919 + chunk_no, self.budget.max_steps,
                                self.budget.generator)
                res.generate_seconds += time.monotonic() - tg
                chunk_no += 1
                cases = [self.domain.case(f"e{res.examples + i}", s) for i, s in enumerate(seqs)]
                te = time.monotonic()
                try:
                    obs = self.executor.execute(cases)
                except Broke as e:
                    obs, res.broke = e.done, str(e)
                    cases = [c for c in cases if c.id in obs]
                finally:
                    res.execute_seconds += time.monotonic() - te
                for c in cases:
                    self._record(res, by_class, c, obs.get(c.id))
                self.on_progress(f"{self.spec.name}: {res.examples} sequences, {res.steps} steps, "
                                 f"{len(by_class)} classes")
                if res.broke:
                    break
        finally:
            res.seconds = time.monotonic() - t0
        res.findings = list(by_class.values())
        if not res.broke:
            for f in res.findings:
                self._minimise(f)
        return res

    def _spent(self, res: ExploreResult, t0: float) -> bool:
        if self.budget.examples is not None and res.examples >= self.budget.examples:
            return True
        if self.budget.steps is not None and res.steps >= self.budget.steps:
            return True
        return self.budget.seconds is not None and time.monotonic() - t0 >= self.budget.seconds

    def _record(self, res, by_class, case: Case, obs) -> None:
        j = self.judge(case, obs)
        res.examples += 1
        res.steps += len(case.steps)
        res.checked_steps += j.checked_steps
        res.statuses[j.status] = res.statuses.get(j.status, 0) + 1
        if j.status is ExampleStatus.ERROR and len(res.errors) < 20:
            res.errors.append((case.id, j.reason))
        elif j.status is ExampleStatus.SETUP and len(res.setup_failures) < 20:
            res.setup_failures.append((case.id, j.reason))
        if j.status is not ExampleStatus.DIVERGES:
            return
        f = by_class.get(j.cls)
        if f is None:
            by_class[j.cls] = Finding(j.cls, case, res.examples - 1, shortest=case,
                                      step=j.result.step, decided_by=j.decided_by,
                                      reason=j.result.reason)
            return
        f.occurrences += 1
        if j.result.step < f.step or (j.result.step == f.step
                                      and len(case.steps) < len(f.shortest.steps)):
            f.shortest, f.step = case, j.result.step

    def _minimise(self, f: Finding) -> None:
        from generator.render.c import CapBinding, render_c
        try:
            minimal, stats = shrink(f.shortest, f.cls, f.step, self.domain, self.classify,
                                    max_seconds=self.budget.shrink_seconds)
            f.minimal, f.shrink = replace(minimal, id=f"explore.{_slug(f.cls)}"), stats
            again = replace(f.minimal, id=f"{f.minimal.id}.replay")
            obs = self.executor.execute([again])
            j = self.judge(again, obs.get(again.id))
        except Broke as e:
            f.confirmed, f.replay_reason = False, f"the VM broke while shrinking: {e}"
            return
        f.confirmed = j.status is ExampleStatus.DIVERGES and j.cls == f.cls
        f.replay_reason = j.reason if j.result is not None else ""
        if j.decided_by is not None:
            f.decided_by = j.decided_by
        f.minimal = replace(f.minimal, description=(
            f"explore, seed {self.seed}: {f.cls.op} takes {f.cls.check} "
            f"({f.decided_by}) and expects {f.cls.expected}; the kernel gave {f.cls.observed}"),
            clause=f.cls.check, source=f.decided_by or f.minimal.source)
        f.reproducer = render_c(self.spec, [f.minimal], CapBinding.HEADER)


def _slug(cls: DivergenceClass) -> str:
    text = f"{cls.check}.{cls.observed}"
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
