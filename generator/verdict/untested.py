"""Checks no case exercises, as report rows with the verdict `untested`.

The planner records every check it could build no case for (an unmapped
name, a condition no lever makes fail, a host feature, a check the patch
fixes, a failure no errno shows) as an `Untested` (generator.model.case);
the C renderer records the cases its runtime cannot hold.  Each becomes
one row here, linked to its check by id (`clause`), with the reason: never
a pass, never dropped.  A case the reference could not predict becomes an
`untested` row in the cross-check itself (generator.verdict.crosscheck).
"""
from __future__ import annotations

from generator.model import Spec, Verdict
from generator.model.case import Untested
from generator.verdict.crosscheck import CaseResult
from generator.verdict.unreachable import op_slug


def untested_results(spec: Spec, untested: list[Untested]) -> list[CaseResult]:
    """One `untested` row per dropped case and per check with no case."""
    out: list[CaseResult] = []
    seen: dict[str, tuple] = {}
    for u in untested:
        if u.case:
            rid = u.case
        else:
            try:
                rid = f"{op_slug(spec, spec.operation(u.op))}.{u.check}"
            except KeyError:
                rid = f"{u.op.lower()}.{u.check}"
        key = (u.op, u.check, u.case)
        if rid in seen:
            if seen[rid] == key:          # the same check reported twice: one row
                continue
            n = 2                         # another check with the same id: its own row
            while f"{rid}_{n}" in seen:
                n += 1
            rid = f"{rid}_{n}"
        seen[rid] = key
        out.append(CaseResult(id=rid, spec=spec.name, clause=u.check, source=u.source,
                              expected=None, observed=None, verdict=Verdict.UNTESTED,
                              reason=u.reason))
    return out
