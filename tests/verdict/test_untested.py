"""`untested`: checks no case exercises are rows with a reason, never
passes, never dropped (planner, reference and C runtime limits)."""
from __future__ import annotations

import copy
from pathlib import Path

from generator.model import Check, CheckKind, Errno, Verdict
from generator.model.case import Gap
from generator.model.specio import load_spec
from generator.plan import plan_all
from generator.render.c import DEFAULT_MAX_FIELDS, MAX_STEPS, fit_runtime, render_c
from generator.render.reference import render_reference
from generator.verdict.crosscheck import Observations, crosscheck
from generator.verdict.untested import untested_results

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec(ROOT / "specs" / "mte-v10.yaml")


def _module(spec, tmp_path):
    import importlib.util
    path = tmp_path / "ref_untested.py"
    path.write_text(render_reference(spec))
    s = importlib.util.spec_from_file_location("ref_untested", path)
    mod = importlib.util.module_from_spec(s)
    s.loader.exec_module(mod)
    return mod


def test_rows_link_to_their_check_by_id():
    p = plan_all(SPEC)
    rows = untested_results(SPEC, p.untested)
    [row] = rows
    assert (row.id, row.clause, row.verdict) == ("enable_cap.not_host_has_mte",
                                                 "not_host_has_mte", Verdict.UNTESTED)
    assert row.reason.startswith(Gap.HOST_ONLY.value) and str(row.source).startswith("002_")


def test_a_struct_wider_than_the_runtime_drops_only_its_cases():
    spec = copy.deepcopy(SPEC)
    sd = spec.struct(spec.operation("KVM_ARM_MTE_COPY_TAGS").arg_type)
    extra = copy.deepcopy(sd.members[-1])
    for i in range(DEFAULT_MAX_FIELDS):           # a struct wider than the default fits
        m = copy.deepcopy(extra)
        m.name, m.array = f"pad{i}", []
        sd.members.append(m)
    p = plan_all(spec)
    kept, dropped = fit_runtime(spec, p.cases)
    assert not dropped and len(kept) == len(p.cases)
    long = next(c for c in p.cases if c.id == "enable_cap.valid")
    long = copy.deepcopy(long)
    long.id = "enable_cap.too_long"
    long.steps = long.steps + [long.steps[-1]] * MAX_STEPS   # more than the runtime holds
    kept, dropped = fit_runtime(spec, p.cases + [long])
    assert [u.case for u in dropped] == ["enable_cap.too_long"]
    assert all(u.gap is Gap.RUNTIME_LIMIT for u in dropped)
    assert f"KC_MAX_STEPS={MAX_STEPS}" in dropped[0].reason
    text = render_c(spec, p.cases + [long])       # no exception, the rest rendered
    assert "enable_cap.valid" in text and "enable_cap.too_long" not in text


def test_a_case_the_reference_cannot_predict_is_untested(tmp_path):
    spec = copy.deepcopy(SPEC)
    op = spec.operation("KVM_ARM_MTE_COPY_TAGS")
    op.checks.append(Check("frob", 99, "frobnicate(kvm)", Errno.EINVAL, CheckKind.STATE,
                           [], [], op.source, in_loop=False))
    p = plan_all(spec)
    mod = _module(spec, tmp_path)
    res = {r.id: r for r in crosscheck(spec, p.cases, Observations(page_size=4096), module=mod)}
    # a case whose call reaches the check has no prediction: untested, not judged
    assert res["copy_tags.valid.length_zero"].verdict is Verdict.UNTESTED
    assert "frobnicate" in res["copy_tags.valid.length_zero"].reason
    # a case failing an earlier check is still predicted (no result line: error)
    assert res["copy_tags.reserved_0_nonzero"].verdict is Verdict.ERROR
    assert {u.check for u in p.untested} >= {"frob"}


def test_strict_fails_on_untested(monkeypatch):
    from generator.cli.run import _exit_status
    from generator.verdict.crosscheck import CaseResult

    class Col:
        state = None
        results = [CaseResult("x", "s", "c", SPEC.source if hasattr(SPEC, "source") else
                              SPEC.operations[0].source, None, None, Verdict.UNTESTED, "why")]

    class M:
        interrupted = False
        columns = [Col()]
    assert _exit_status(M(), strict=True, changes=None) == 1
    assert _exit_status(M(), strict=False, changes=None) == 0


def test_a_guest_rule_neither_planner_nor_reference_can_handle_is_untested():
    from generator.model import GuestRuleKind
    spec = copy.deepcopy(SPEC)
    rule = next(r for r in spec.guest if r.kind is GuestRuleKind.ID_FIELD)
    rule.name = rule.value = "ID_AA64FROB_EL1_NOPE"
    p = plan_all(spec)
    [u] = [u for u in p.untested if u.op == "guest" and u.check == rule.id]
    assert u.check == rule.id and "guest.fields" in u.reason
    assert not any(c.clause == rule.id for c in p.cases)
    assert any(c.id.startswith("guest.") for c in p.cases)      # the other rules are planned
    text = render_reference(spec)
    assert f'vm.unmodelled("{rule.id}", ' in text
    [row] = [r for r in untested_results(spec, p.untested) if r.clause == rule.id]
    assert row.id == f"guest.{rule.id}" and row.verdict is Verdict.UNTESTED
