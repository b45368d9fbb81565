"""Shrink a divergent sequence to a minimal one, against the live kernel.

Passes, repeated until none makes progress or the budget is spent:
  1. cut everything after the step that diverged;
  2. drop one step (every candidate whose preconditions still hold);
  3. simplify one step (generator.explore.domain.Domain.simpler: a field
     back to its valid value, a full buffer, a valid pointer, ...).
Every candidate of a pass runs in one batch (one round trip to the agent);
the first, in the passes' order, that still diverges *in the same class*
is kept.  The result is 1-minimal: no single step can be removed or
simplified without losing the class.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

from generator.explore.check import DivergenceClass
from generator.explore.domain import Domain, step_weight, valid_sequence
from generator.model.case import Case, Step

# runs candidates and names the class each diverges in (None: it did not)
Classify = Callable[[list[Case]], list[Optional[DivergenceClass]]]


@dataclass
class ShrinkStats:
    rounds: int = 0                   # batches run
    candidates: int = 0
    steps: int = 0                    # steps executed
    seconds: float = 0.0
    start_steps: int = 0
    final_steps: int = 0
    history: list = field(default_factory=list)   # what each kept change was


def _weight(steps: list[Step], domain: Domain) -> tuple[int, int]:
    return len(steps), sum(step_weight(s, domain) for s in steps)


def shrink(case: Case, cls: DivergenceClass, step: int, domain: Domain, classify: Classify,
           *, max_rounds: int = 60, max_seconds: float = 120.0) -> tuple[Case, ShrinkStats]:
    t0 = time.monotonic()
    stats = ShrinkStats(start_steps=len(case.steps))
    best = list(case.steps[:step + 1]) if step is not None else list(case.steps)
    n = 0

    def attempt(cands: list[tuple[str, list[Step]]]) -> Optional[tuple[str, list[Step]]]:
        nonlocal n
        cands = [(w, s) for w, s in cands if valid_sequence(s)
                 and _weight(s, domain) < _weight(best, domain)]
        if not cands:
            return None
        cases = []
        for _, s in cands:
            n += 1
            cases.append(replace(case, id=f"{case.id}s{n}", steps=s))
        classes = classify(cases)
        stats.rounds += 1
        stats.candidates += len(cases)
        stats.steps += sum(len(c.steps) for c in cases)
        for (what, s), got in zip(cands, classes):
            if got == cls:
                return what, s
        return None

    if step is not None and step + 1 < len(case.steps):
        stats.history.append(f"cut after step {step}")
    while stats.rounds < max_rounds and time.monotonic() - t0 < max_seconds:
        drops = [(f"drop step {i} ({best[i].kind.value})", best[:i] + best[i + 1:])
                 for i in range(len(best) - 1, 0, -1)]
        kept = attempt(drops)
        if kept is None:
            simpler = [(f"simplify step {i} ({best[i].kind.value})", best[:i] + [s] + best[i + 1:])
                       for i in range(1, len(best)) for s in domain.simpler(best[i])]
            kept = attempt(simpler)
        if kept is None:
            break
        stats.history.append(kept[0])
        best = kept[1]
    stats.seconds = time.monotonic() - t0
    stats.final_steps = len(best)
    return replace(case, steps=best), stats
