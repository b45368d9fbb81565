"""Levers set_state_first and other_host_entry: a PMU event filter set first,
then SET_PMU of a second host PMU (pmu-set-pmu-v4-05 row 7, EBUSY)."""
import dataclasses

import pytest

from generator.extract import extract_spec
from generator.model import Errno
from generator.model.case import AttrRequest, DeviceAttr, HostValue, Val
from generator.model.concepts import Lever
from generator.plan import plan_all
from generator.plan.ops import PlanError, derive_violation, load_vocabulary
from generator.render.reference import render_reference
from reference.runtime import Host, Unmodelled
from reference.vmstate import predict
from tests.extract.corpus_truth import CORPUS

SET_PMU = "set_attr.pmu_v3_pmu_v3_set_pmu"
ROW7 = f"{SET_PMU}.vm_state_set_and_kvm_arch_arm_pmu_mismatch"


@pytest.fixture(scope="module")
def pmu():
    spec = extract_spec(CORPUS / "pmu-set-pmu-v4-05.txt", "pmu-set-pmu-v4-05")
    ns: dict = {}
    exec(compile(render_reference(spec), "<reference>", "exec"), ns)
    return spec, {c.id: c for c in plan_all(spec).cases}, ns


def _predict(ns, case):
    return predict(ns["OPERATIONS"], ns["CAPABILITIES"], case, 4096, Host())


def test_filter_first_then_the_other_pmu(pmu):
    _, cases, _ = pmu
    case = cases[ROW7]
    attrs = [s for s in case.steps if isinstance(s, DeviceAttr)]
    first, filt, call = attrs
    assert first.value == Val(host="pmu_type") and first.note == "the valid call first"
    assert (filt.request, filt.group, filt.attr, filt.sets_state) == (
        AttrRequest.SET, 0, 2, "PMU event filter")
    assert filt.value.bytes == 0x10011           # base_event 0x11, nevents 1, ALLOW
    assert call.value == Val(host="pmu_type_other") and call.attr == 3
    # the second PMU only host profile two-pmus has (specs/host-features.yaml
    # second_pmu's host_values): the planner runs the case there
    assert case.host == "two-pmus" and case.host_values() == {"pmu_type", "pmu_type_other"}
    assert cases[f"{SET_PMU}.valid"].host == ""


def test_no_pair_sets_the_filter_on_a_vcpu_without_the_pmu(pmu):
    _, cases, _ = pmu
    assert not [c for c in cases if "not_vcpu_has_pmu+vm_state" in c or
                "vm_state_set_and_kvm_arch_arm_pmu_mismatch+" in c and "not_vcpu" in c]
    assert f"{SET_PMU}.pair.attr_copy_faults+vm_state_set_and_kvm_arch_arm_pmu_mismatch" in cases


def test_the_reference_follows_the_vms_pmu(pmu):
    _, cases, ns = pmu
    case = cases[ROW7]
    assert [o.errno for o in _predict(ns, case)[-3:]] == [None, None, Errno.EBUSY]
    # the same PMU again after the filter: no mismatch, 0
    same = dataclasses.replace(case, steps=case.steps[:-1] + [
        dataclasses.replace(case.steps[-1], value=Val(host="pmu_type"))])
    assert _predict(ns, same)[-1].errno is None
    # without the valid call first the VM's PMU is the host's choice: no prediction
    blind = dataclasses.replace(case, steps=[s for s in case.steps
                                             if s.note != "the valid call first"])
    with pytest.raises(Unmodelled, match="PMU before userspace sets it"):
        _predict(ns, blind)


def test_the_search_stands_on_the_pmu_the_call_names():
    from reference.runtime import Arg, Call
    from reference.vmstate import VMState
    vm = VMState(4096, Host())
    named = vm.host_pmu_type(Call(Arg({"value": HostValue("pmu_type_other")})), None)
    assert named == HostValue("pmu_type_other") and named != HostValue("pmu_type")
    assert vm.host_pmu_type(Call(Arg({"value": 0x7fffffff})), None) == HostValue("pmu_type")


def test_a_state_conjunct_without_a_lever_for_the_rest_is_untested(pmu):
    spec, _, _ = pmu
    op = spec.operations[0]
    check = next(c for c in op.checks if c.id.startswith("vm_state_set"))
    odd = dataclasses.replace(check, condition="kvm->arch.pmu_filter && (kvm->arch.nr_frobs > 2)")
    with pytest.raises(PlanError, match="no lever makes"):
        derive_violation(spec, op, odd, load_vocabulary())
    # the mismatch alone needs the operation to set the VM's PMU itself
    v = derive_violation(spec, op, check, load_vocabulary())
    assert {p.lever for p in v.parts} == {Lever.SET_STATE_FIRST, Lever.OTHER_HOST_ENTRY}
    noeffect = dataclasses.replace(op, effects=[])
    with pytest.raises(PlanError):
        derive_violation(spec, noeffect, check, load_vocabulary())
