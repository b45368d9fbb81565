"""Device attributes planned from a real corpus mail (pvtime v7, a vCPU
attribute): the device_attr step's fields for each check violated alone,
the valid call, and the reference generated from the spec predicting the
errno of the check each case breaks."""
from __future__ import annotations

import types
from pathlib import Path

import pytest

from generator.extract import extract_spec
from generator.model import Errno
from generator.model.case import (AddMemslot, ArgPointer, AttrRequest, CreateVcpu, DeviceAttr,
                                  SLOT_BASE_PAGES, OUTSIDE_PAGES, Val)
from generator.plan import plan
from generator.render.reference import module_name, render_reference
from reference.vmstate import Host, predict

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


@pytest.fixture(scope="module")
def spec():
    return extract_spec(CORPUS / "pvtime-v7-07.txt", "pvtime-v7-07")


@pytest.fixture(scope="module")
def cases(spec):
    return {c.id: c for c in plan(spec)}


def _attr(case) -> DeviceAttr:
    return case.steps[-1]


def test_each_check_has_its_call(cases):
    valid = _attr(cases["set_attr.pvtime.valid"])
    assert (valid.request, valid.on_vcpu, valid.group, valid.attr) == (AttrRequest.SET, True, 2, 0)
    assert valid.value == Val(pages=SLOT_BASE_PAGES)
    assert _attr(cases["set_attr.pvtime.attr_copy_faults"]).arg is ArgPointer.UNMAPPED
    assert _attr(cases["set_attr.pvtime.user_read_faults"]).addr is ArgPointer.UNMAPPED
    assert _attr(cases["set_attr.pvtime.group_not_a_case"]).group == 3   # TIMER 1, PVTIME 2
    assert _attr(cases["set_attr.pvtime.attr_attr_mismatch"]).attr == 1
    assert _attr(cases["set_attr.pvtime.not_is_aligned"]).value == Val(pages=SLOT_BASE_PAGES, bytes=1)
    assert _attr(cases["set_attr.pvtime.hva_error"]).value == Val(pages=OUTSIDE_PAGES)
    kinds = [type(s) for s in cases["set_attr.pvtime.valid"].steps]
    assert CreateVcpu in kinds and AddMemslot in kinds
    assert _attr(cases["get_attr.pvtime.user_write_faults"]).request is AttrRequest.GET
    assert _attr(cases["has_attr.pvtime.valid"]).request is AttrRequest.HAS


def test_state_the_call_sets_is_set_by_a_valid_call_first(cases):
    """`vcpu->arch.steal.base != GPA_INVALID` -> EEXIST: the operation sets
    that base itself (its effect), so the case makes the valid call first."""
    c = cases["set_attr.pvtime.vcpu_arch_steal_base_mismatch"]
    first, second = [s for s in c.steps if isinstance(s, DeviceAttr)]
    valid = _attr(cases["set_attr.pvtime.valid"])
    key = lambda s: (s.role, s.request, s.group, s.attr, s.value, s.arg, s.addr)
    assert key(first) == key(valid) and first.note == "the valid call first"
    assert key(second) == key(valid) and c.violates == ["vcpu_arch_steal_base_mismatch"]


def test_reference_predicts_the_check_each_case_breaks(spec, cases):
    mod = types.ModuleType(f"reference.generated_{module_name(spec)}")
    exec(compile(render_reference(spec), mod.__name__, "exec"), mod.__dict__)
    for case in cases.values():
        out = predict(mod.OPERATIONS, mod.CAPABILITIES, case, 4096, Host())[-1]
        if case.violates:
            assert out.check == case.violates[0], case.id
            # ENODEV: KVM_CREATE_DEVICE of the type the patch adds without device ops
            assert out.errno in (Errno.EFAULT, Errno.ENXIO, Errno.EINVAL, Errno.EEXIST,
                                 Errno.ENODEV), case.id
        else:
            assert (out.ret, out.errno) == (0, None), case.id


def test_a_vcpu_enable_cap_is_refused_by_line():
    """KVM_ENABLE_CAP on a vCPU fd (kvm_vcpu_ioctl_enable_cap) is extracted;
    its step issues KVM_ENABLE_CAP on the VM fd only, so planning says so."""
    spec = extract_spec(CORPUS / "system-suspend-v6-07.txt", "system-suspend-v6-07")
    op = spec.operation("KVM_ENABLE_CAP(KVM_CAP_ARM_SYSTEM_SUSPEND)")
    op.fd = "vcpu"
    from generator.plan import plan_all
    p = plan_all(spec)
    mine = [u for u in p.untested if u.op == op.name]
    assert mine and all("vcpu fd" in u.reason for u in mine)
    assert not any(s.op == op.name for c in p.cases for s in c.steps if s.role.value == "subject")


def test_an_entry_point_no_step_kind_issues_leaves_every_check_untested(monkeypatch):
    """An operation kind no step kind issues (faked: fw-bmap's ONE_REG
    kinds taken off the planner's list) leaves each of its checks an
    `untested` row with that reason, none silently left."""
    from generator.model import OpKind, Reach
    from generator.model.case import Gap
    import generator.plan as plan_mod
    monkeypatch.setattr(plan_mod, "_PLANNED", tuple(
        k for k in plan_mod._PLANNED if k not in (OpKind.GET_ONE_REG, OpKind.SET_ONE_REG)))
    spec = extract_spec(CORPUS / "fw-bmap-v7-02.txt", "fw-bmap-v7-02")
    p = plan_mod.plan_all(spec)
    named = {(u.op, u.check) for u in p.untested}
    live = [(o.name, c.id) for o in spec.operations for c in o.checks
            if c.reach is not Reach.UNREACHABLE and o.kind.value.endswith("one_reg")]
    assert live and set(live) <= named
    assert all(u.gap is Gap.NO_STEP_KIND for u in p.untested if u.op.startswith("KVM_"))
