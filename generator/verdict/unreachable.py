"""Rules a run cannot exercise, as report rows.

A spec can hold rules that no user-space call reaches with the supplied
material: internal functions no entry point in the patch calls (the MMIO
guard helpers quoted in a review), or checks that the patch's own code makes
dead (the lock-memslot RFC's handler fails before them).  They are listed
with the verdict `not reachable` and the reason from the spec, so they are
neither counted as passes nor silently dropped.
"""
from __future__ import annotations

from generator.plan.ops import always_failing, op_prefix
from generator.verdict.crosscheck import CaseResult
from generator.model import FindingKind, OpKind, Reach, Spec, Verdict, element_id


def op_slug(spec: Spec, op) -> str:
    """The id prefix of an operation's rows: the planner's (`enable_cap`,
    `copy_tags`, ...), so a listed rule reads like the case a reachable one
    would get; an internal function's own name."""
    if op.kind is OpKind.INTERNAL:
        return op.name.lower()
    return op_prefix(spec, op)


def _why(spec: Spec, op) -> str:
    for f in spec.findings:
        if f.kind is FindingKind.UNREACHABLE and f.about == element_id(op.name):
            return f.message
    if op.kind is OpKind.INTERNAL:
        return (f"{op.handler}: no ioctl or hypercall in the supplied patch reaches it "
                "(not reachable from userspace with this input)")
    return ""


def _after_fatal(fatal) -> str:
    fixed = "; ".join(f"{p.spelling}() returns {p.value}" for p in fatal.predicates
                      if p.value is not None)
    return (f"check {fatal.order} `{fatal.condition}` ({fatal.source}) always fails"
            f"{': ' + fixed if fixed else ''}; no call gets here in this version")


def unreachable_results(spec: Spec) -> list[CaseResult]:
    """One `not reachable` row per rule no case can exercise."""
    out: list[CaseResult] = []
    for op in spec.operations:
        why_op = _why(spec, op)
        fatal = always_failing(op)
        for c in op.checks:
            if c.reach is not Reach.UNREACHABLE:
                continue
            if op.kind is OpKind.INTERNAL:
                reason = why_op or "internal function with no user entry point in this input"
            elif fatal is not None and c.order > fatal.order:
                reason = _after_fatal(fatal)
            else:
                # the check that kills it: itself (never fails) or the nearest
                # earlier one on its path that always fails
                killer = next((d for d in sorted(op.checks, key=lambda d: -d.order)
                               if d.order < c.order and d.value is True
                               and (not d.when or c.when.startswith(d.when))), c)
                dead = next((f.message for f in spec.findings if f.kind is FindingKind.DEAD_CODE
                             and f.about == element_id(op.name, killer.id)), "")
                reason = dead or ("the patch's own code fails every call before this check, "
                                  "so no call from userspace reaches it")
            errno = c.errno.name if c.errno else "no errno"
            out.append(CaseResult(
                id=f"{op_slug(spec, op)}.{c.id}", spec=spec.name, clause=c.id, source=c.source,
                expected=None, observed=None, verdict=Verdict.UNREACHABLE,
                reason=f"`{c.condition}` -> {errno}: {reason}"))
        dead_success = next((f for f in spec.findings if f.kind is FindingKind.DEAD_CODE
                             and f.about == element_id(op.name, "success")), None)
        if dead_success is not None:
            out.append(CaseResult(
                id=f"{op_slug(spec, op)}.success", spec=spec.name, clause="success",
                source=op.success.source, expected=None, observed=None,
                verdict=Verdict.UNREACHABLE,
                reason=f"`return {op.success.ret}`: " + (
                    _after_fatal(fatal) if fatal is not None else dead_success.message)))
    return out
