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

from dataclasses import replace
from typing import Optional

from generator.model import FindingKind, OpKind, Reach, Spec
from generator.model.case import Case, Gap, Plan, Untested
from generator.model.vocab import Vocabulary
from generator.plan.guest import plan_guest
from generator.plan.ops import PlanError, _OpPlanner, always_failing, load_vocabulary, plan_capability_numbers

__all__ = ["PlanError", "always_failing", "nothing_to_run", "plan", "plan_all"]


_PLANNED = (OpKind.IOCTL, OpKind.ENABLE_CAP, OpKind.CHECK_EXTENSION, OpKind.SET_DEVICE_ATTR,
            OpKind.GET_DEVICE_ATTR, OpKind.HAS_DEVICE_ATTR, OpKind.SET_ONE_REG,
            OpKind.GET_ONE_REG, OpKind.CREATE_DEVICE)


def plan(spec: Spec, vocab: Optional[Vocabulary] = None) -> list[Case]:
    """Every case for a spec, in a stable order."""
    return plan_all(spec, vocab).cases


def plan_all(spec: Spec, vocab: Optional[Vocabulary] = None) -> Plan:
    """Every case for a spec, and every check that gets none with why
    (`Untested`): one check the planner cannot handle never stops the
    plan of the others."""
    vocab = vocab or load_vocabulary()
    cases: list[Case] = []
    untested: list[Untested] = []
    for op in spec.operations:
        if op.kind is OpKind.INTERNAL:     # no entry point: its `not reachable` rows
            continue
        if op.kind not in _PLANNED:        # an entry point no step kind issues yet
            why = (f"{op.name}: no step kind issues {op.kind.ioctl or op.kind.value} yet, so "
                   "no case calls it")
            untested += [Untested(spec.name, op.name, c.id, c.source, Gap.NO_STEP_KIND, why)
                         for c in op.checks if c.reach is not Reach.UNREACHABLE]
            if op.success is not None:
                untested.append(Untested(spec.name, op.name, "success", op.success.source,
                                         Gap.NO_STEP_KIND, why))
            continue
        try:
            p = _OpPlanner(spec, op, vocab)
            mine = (p.violation_cases() + p.effect_cases() + p.fatal_cases() + p.pair_cases()
                    + p.buffer_cases() + p.cap_cases() + p.valid_cases()
                    + p.read_back_cases())
        except PlanError as e:            # the operation as a whole: each check untested
            untested += [Untested(spec.name, op.name, c.id, c.source, e.gap,
                                  f"{op.name} cannot be planned: {e.detail}")
                         for c in op.checks if c.reach is not Reach.UNREACHABLE]
            if op.success is not None:
                untested.append(Untested(spec.name, op.name, "success", op.success.source,
                                         e.gap, f"{op.name} cannot be planned: {e.detail}"))
            continue
        targeted = {v for c in mine for v in c.violates}
        named = {u.check for u in p.untested}
        for c in op.checks:               # checks no case targets, never silently
            if (c.reach is Reach.UNREACHABLE or c.id in targeted or c.id in named
                    or (p.fatal is not None and c.order > p.fatal.order)):
                continue
            p.gap(c, Gap.NOT_TARGETED, f"`{c.condition}`: the planner built no case "
                  "that violates it")
        cases += mine
        untested += p.untested
    cases += plan_capability_numbers(spec)
    cases += plan_guest(spec, vocab, untested=untested)
    on_profiles(cases)
    seen: dict[str, int] = {}
    for i, c in enumerate(cases):        # a clash gets a suffix, never a crash
        n = seen.get(c.id, 0)
        seen[c.id] = n + 1
        if n:
            cases[i] = replace(c, id=f"{c.id}_{n + 1}")
    return Plan(cases, untested)


def on_profiles(cases: list[Case]) -> None:
    """Give a case sending a host value only a host profile gives (a
    second host PMU: specs/host-features.yaml, a feature with host_values
    and the profile `having` it) that profile as its host (Case.host), so
    the run boots it for the case; a case already on a profile (lever
    host_lacks_feature) keeps it."""
    from generator.model.hostfeatures import registry
    reg = registry()
    for c in cases:
        if not c.host:
            c.host = reg.profile_for_values(c.host_values())


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
    if not spec.operations and not spec.guest and _has_code(spec):
        return _no_operation(spec)
    if not spec.operations and not spec.guest:
        testable = [c for c in spec.claims if c.testable]
        mapped = [c.case for c in testable if c.case]
        text = (f"the seed is prose only: {len(spec.claims)} claim(s), no uAPI or code")
        if mapped:
            text += f"; its testable claims map to {', '.join(sorted(set(mapped)))}"
        return text
    return "no case could be planned from its operations"


def _has_code(spec: Spec) -> bool:
    """The seed has uAPI definitions or code, not prose only."""
    return bool(spec.constants or spec.capabilities or spec.ioctls or spec.structs
                or any(f.source.path.endswith((".c", ".h")) for f in spec.findings))


def _no_operation(spec: Spec) -> str:
    """Why a seed with uAPI or code gives no operation: what it defines and
    the first finding about its code (a case outside every dispatcher, a
    block that does not parse), with its line."""
    defined = [x.name for x in (*spec.ioctls, *spec.capabilities, *spec.constants)]
    text = ("no operation or guest rule was extracted from its uAPI and code"
            + (f" (it defines {', '.join(defined[:4])}{', ...' if len(defined) > 4 else ''})"
               if defined else ""))
    why = [f for f in spec.findings if f.source.path.endswith((".c", ".h"))
           and f.kind in (FindingKind.NOTE, FindingKind.PARSE_ERROR, FindingKind.DAMAGE)]
    if why:
        f = why[0]
        text += (f"; {len(why)} finding(s) about its code say why, the first at "
                 f"{f.source.seed}:{f.source.line}: {f.message}")
    return text
