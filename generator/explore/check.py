"""Judge one explored sequence against the reference, and name its class.

A sequence is a planned-case-shaped `Case` (generator.model.case); its
observations are the agent's lines, parsed as a generated test's are
(generator.verdict.crosscheck.parse_observations), and it is judged by the
same `judge` as every planned case: the first step whose observation
differs from the reference decides.  A divergence's *class* is what a
reader would call the same bug twice: the operation, the check the
reference took (its id, or `success`), and the shape of the expected and
observed results (`-1 EINVAL`, `0`, `count=length`, `partial count`,
`buffer differs`), never the exact numbers of one sequence.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from types import ModuleType
from typing import Optional

from generator.model import Source, Spec, Verdict
from generator.model.case import Case, StepRole
from generator.verdict.crosscheck import CaseObs, CaseResult, Expect, judge
from reference.vmstate import Host, Outcome


class ExampleStatus(enum.Enum):
    CONFORMS = "conforms"
    DIVERGES = "diverges"
    SETUP = "setup failed"      # a set-up step did not do what the model needs
    ERROR = "error"             # the harness failed, a step hung, no result


@dataclass(frozen=True)
class DivergenceClass:
    spec: str
    op: str                     # the spec operation (or step kind) that diverged
    check: str                  # the reference's deciding check, or "success"
    expected: str               # shape of the reference's result
    observed: str               # shape of the kernel's

    @property
    def key(self) -> str:
        return f"{self.op} | {self.check} | {self.expected} -> {self.observed}"


@dataclass
class Judged:
    status: ExampleStatus
    result: Optional[CaseResult]
    cls: Optional[DivergenceClass] = None
    decided_by: Optional[Source] = None
    checked_steps: int = 0      # steps whose observation was compared
    reason: str = ""


def _length(case: Case, step: int, page_size: int) -> Optional[int]:
    s = case.steps[step]
    fields = dict(getattr(s, "fields", ()))
    for name in ("length", "size", "len"):
        if name in fields:
            return fields[name].resolve(page_size)
    return None


def shape(e: Expect, length: Optional[int]) -> str:
    """A result without the numbers of one sequence."""
    if e.errno:
        return f"-1 {e.errno}"
    if e.ret is None:
        return ">=0"
    if e.ret > 0 and length:
        return "count=length" if e.ret == length else (
            "partial count" if e.ret < length else "count>length")
    return str(e.ret)


def shapes(expected: Expect, observed: Expect, length: Optional[int]) -> tuple[str, str]:
    """(expected, observed) shapes; equal results differ in the buffer."""
    a, b = shape(expected, length), shape(observed, length)
    if a == b:
        return f"{a}, buffer as modelled", f"{b}, buffer differs"
    return a, b


def judge_sequence(spec: Spec, module: ModuleType, case: Case, obs: Optional[CaseObs],
                   page_size: int, host: Host) -> Judged:
    expected: list[Outcome] = module.predict(case, page_size, host)
    r = judge(spec, case, expected, obs)
    seen = {s.step for s in obs.steps} if obs is not None else set()
    checked = len([i for i in range(len(case.steps)) if i in seen])
    if r.verdict is Verdict.CONFORMS:
        return Judged(ExampleStatus.CONFORMS, r, checked_steps=checked)
    if r.verdict is not Verdict.DIVERGES:
        setup = (r.step is not None and case.steps[r.step].role is StepRole.SETUP
                 and r.observed is not None)
        return Judged(ExampleStatus.SETUP if setup else ExampleStatus.ERROR, r,
                      checked_steps=checked, reason=r.reason)
    i = r.step
    length = _length(case, i, page_size)
    step = case.steps[i]
    cls = DivergenceClass(spec.name, step.op or step.kind.value, expected[i].check,
                          *shapes(r.expected, r.observed, length))
    return Judged(ExampleStatus.DIVERGES, r, cls, r.decided_by, checked, r.reason)
