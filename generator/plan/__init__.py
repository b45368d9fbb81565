"""Case planning: from a Spec to a list of test cases (pure Python).

Phases:
  1. load the reviewed vocabulary (kernel predicate -> concept, lever);
  2. per operation (generator.plan.ops): derive how each check's failing
     side is made true, and build the cases -- each check violated alone,
     pairs, valid paths, buffer boundaries, capability cases;
  3. the capability numbers the patch defines, probed (plan.ops);
  4. the guest rules (generator.plan.guest);
  5. every case id unique.
"""
from __future__ import annotations

from typing import Optional

from generator.model import OpKind, Spec
from generator.model.case import Case
from generator.model.vocab import Vocabulary
from generator.plan.guest import plan_guest
from generator.plan.ops import PlanError, _OpPlanner, always_failing, load_vocabulary, plan_capability_numbers

__all__ = ["PlanError", "always_failing", "nothing_to_run", "plan"]


_PLANNED = (OpKind.IOCTL, OpKind.ENABLE_CAP, OpKind.CHECK_EXTENSION, OpKind.SET_DEVICE_ATTR,
            OpKind.GET_DEVICE_ATTR, OpKind.HAS_DEVICE_ATTR)


def plan(spec: Spec, vocab: Optional[Vocabulary] = None) -> list[Case]:
    """Every case for a spec, in a stable order."""
    vocab = vocab or load_vocabulary()
    cases: list[Case] = []
    for op in spec.operations:
        if op.kind not in _PLANNED:        # internal helpers have no entry point
            continue
        p = _OpPlanner(spec, op, vocab)
        cases += (p.violation_cases() + p.fatal_cases() + p.pair_cases()
                  + p.buffer_cases() + p.cap_cases() + p.valid_cases())
    cases += plan_capability_numbers(spec)
    cases += plan_guest(spec, vocab)
    seen: set[str] = set()
    for c in cases:
        if c.id in seen:
            raise PlanError(c.source, f"duplicate case id {c.id}")
        seen.add(c.id)
    return cases


def nothing_to_run(spec: Spec, cases: Optional[list[Case]] = None) -> str:
    """Why a spec gives no test to run ("" when it gives one): no operation
    userspace can call and no guest rule.  Such a spec gets no C test and
    no reference module; its rules are report rows of their own
    (generator.verdict.unreachable)."""
    if cases is None:
        cases = plan(spec)
    if cases:
        return ""
    internal = [o.name for o in spec.operations if o.kind is OpKind.INTERNAL]
    if internal:
        rules = sum(len(o.checks) for o in spec.operations)
        return (f"its {len(internal)} operation(s) ({', '.join(internal)}) are internal "
                f"functions no ioctl in the supplied material reaches; their {rules} "
                "rule(s) are listed as not reachable")
    if not spec.operations and not spec.guest:
        testable = [c for c in spec.claims if c.testable]
        mapped = [c.case for c in testable if c.case]
        text = (f"the seed is prose only: {len(spec.claims)} claim(s), no uAPI or code")
        if mapped:
            text += f"; its testable claims map to {', '.join(sorted(set(mapped)))}"
        return text
    return "no case could be planned from its operations"
