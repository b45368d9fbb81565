"""Levers that set VM or process state before the call: a vCPU that has
entered the guest (vm_has_run); planned from real corpus mails (a VM and a
vCPU device attribute) and predicted by the reference generated from a
FIXTURE spec whose success path the reference models."""
from __future__ import annotations

import types
from pathlib import Path

import pytest

from generator.extract import extract_spec
from generator.model import CheckKind, Errno, Predicate
from generator.model.case import (CreateVcpu, DeviceAttr, DropCapability, Guest, GuestOp,
                                  StepKind, StepRole, Val,
                                  VcpuStart, VmIoctl)
from generator.model.spec import Check
from generator.plan import plan
from generator.render.c import has_guest
from generator.render.reference import module_name, render_reference
from reference.vmstate import Host, predict
from tests.data.spec_fixtures import _lsrc, fixture_spec_levers

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


def _module(spec) -> types.ModuleType:
    mod = types.ModuleType(f"reference.generated_{module_name(spec)}")
    exec(compile(render_reference(spec), mod.__name__, "exec"), mod.__dict__)
    return mod


def _kinds(case) -> list[tuple[StepKind, StepRole]]:
    return [(s.kind, s.role) for s in case.steps]


@pytest.fixture(scope="module")
def smccc():
    return {c.id: c for c in plan(extract_spec(CORPUS / "smccc-filter-v3-09.txt",
                                               "smccc-filter-v3-09"))}


def test_a_vm_that_has_run_runs_a_vcpu_once_before_the_call(smccc):
    """`kvm_vm_has_ran_once(kvm)` -> EBUSY: a vCPU runs one guest command
    (KVM_RUN) as set-up, then the call; the valid call runs no vCPU."""
    c = smccc["set_attr.smccc.vm_has_run"]
    S, U = StepRole.SETUP, StepRole.SUBJECT
    assert _kinds(c) == [(StepKind.CREATE_VM, S), (StepKind.VCPU_START, S),
                         (StepKind.GUEST, S), (StepKind.DEVICE_ATTR, U)]
    run = c.steps[2]
    assert isinstance(run, Guest) and run.guest_op is GuestOp.MRS and run.reg
    assert c.violates == ["vm_has_run"]
    assert not any(isinstance(s, (VcpuStart, Guest)) for s in smccc["set_attr.smccc.valid"].steps)
    assert has_guest([c]) and not has_guest([smccc["set_attr.smccc.valid"]])


def test_a_vcpu_attribute_is_made_on_a_vcpu_created_after_another_ran():
    """On a vCPU fd: another vCPU, initialised with the call's features (a
    VM's vCPUs share them), runs; the call's vCPU is created after it (the
    last one created), so its own state (a PMU not initialised) is fresh."""
    spec = extract_spec(CORPUS / "pmu-set-pmu-v4-05.txt", "pmu-set-pmu-v4-05")
    cases = {c.id: c for c in plan(spec)}
    c = next(v for k, v in cases.items() if k.endswith("set_pmu.vm_has_run"))
    kinds = [type(s) for s in c.steps]
    start, run, vcpu = kinds.index(VcpuStart), kinds.index(Guest), kinds.index(CreateVcpu)
    assert start < run < vcpu == len(kinds) - 2
    assert c.steps[start].features == c.steps[vcpu].features and c.steps[vcpu].init
    assert isinstance(c.steps[-1], DeviceAttr) and c.steps[-1].on_vcpu


def _fixture_with_run_check():
    spec = fixture_spec_levers()
    op = spec.operations[0]
    op.checks.append(Check("vm_has_run", 4, "kvm_vm_has_ran_once(kvm)", Errno.EBUSY,
                           CheckKind.STATE, [], [Predicate("kvm_vm_has_ran_once",
                                                           "vm_has_run")], _lsrc(15)))
    return spec


def test_reference_predicts_ebusy_only_after_a_run():
    spec = _fixture_with_run_check()
    mod = _module(spec)
    cases = {c.id: c for c in plan(spec)}
    ran = cases["fixture.vm_has_run"]
    out = predict(mod.OPERATIONS, mod.CAPABILITIES, ran, 4096, Host())
    assert (out[-1].errno, out[-1].check) == (Errno.EBUSY, "vm_has_run")
    assert [o.ret for o in out[1:3]] == [None, None]     # set-up: any value >= 0
    valid = predict(mod.OPERATIONS, mod.CAPABILITIES, cases["fixture.valid"], 4096, Host())
    assert (valid[-1].ret, valid[-1].errno) == (0, None)
    # an earlier check still wins over the run
    pair = cases["fixture.pair.nr_above+vm_has_run"]
    assert isinstance(pair.steps[-1], VmIoctl)
    out = predict(mod.OPERATIONS, mod.CAPABILITIES, pair, 4096, Host())
    assert out[-1].check == "nr_above"


@pytest.fixture(scope="module")
def nx():
    spec = extract_spec(CORPUS / "x86-nx-huge-pages-v6-08.txt", "x86-nx-huge-pages-v6-08")
    return spec, {c.id: c for c in plan(spec)}


def test_a_capable_check_drops_that_capability_just_before_the_call(nx):
    """`!capable(CAP_SYS_BOOT)` -> EPERM: the process drops CAP_SYS_BOOT
    right before the call; the valid call keeps every capability."""
    _, cases = nx
    c = cases["enable_cap.not_caller_capable"]
    drop = c.steps[-2]
    assert isinstance(drop, DropCapability) and drop.posix_cap == "CAP_SYS_BOOT"
    assert drop.role is StepRole.SETUP and c.steps[-1].role is StepRole.SUBJECT
    assert not any(isinstance(s, DropCapability) for s in cases["enable_cap.valid"].steps)


def test_reference_refuses_the_call_only_without_the_capability(nx):
    spec, cases = nx
    mod = _module(spec)
    last = lambda cid: predict(mod.OPERATIONS, mod.CAPABILITIES, cases[cid], 4096, Host())[-1]
    assert (last("enable_cap.not_caller_capable").errno,
            last("enable_cap.not_caller_capable").check) == (Errno.EPERM, "not_caller_capable")
    assert last("enable_cap.valid").errno is None
    # args[0] is checked first in the posted patch: it wins over the capability
    assert last("enable_cap.pair.args_0_nonzero+not_caller_capable").check == "args_0_nonzero"


def test_a_capable_check_without_a_capability_name_is_untested_by_line():
    from generator.model.case import Gap
    from generator.plan import plan_all
    spec = extract_spec(CORPUS / "x86-nx-huge-pages-v6-08.txt", "x86-nx-huge-pages-v6-08")
    op = next(o for o in spec.operations if any(c.id == "not_caller_capable" for c in o.checks))
    chk = next(c for c in op.checks if c.id == "not_caller_capable")
    chk.condition = "!capable(cap)"
    u = {u.check: u for u in plan_all(spec).untested}["not_caller_capable"]
    assert u.gap is Gap.NO_LEVER and "POSIX capability" in u.reason
    assert str(u.source).startswith("x86-nx-huge-pages-v6-08.txt:")


@pytest.fixture(scope="module")
def pmu():
    spec = extract_spec(CORPUS / "pmu-set-pmu-v4-05.txt", "pmu-set-pmu-v4-05")
    cases = {c.id.replace("set_attr.pmu_v3_pmu_v3_set_pmu.", ""): c for c in plan(spec)}
    return spec, cases


def test_a_feature_initialised_first_is_initialised_on_the_calls_vcpu(pmu):
    """`vcpu->arch.pmu.created` -> EBUSY: KVM_ARM_VCPU_PMU_V3_INIT (the
    vocabulary's init attribute) on the call's vCPU, with the PMU, first."""
    _, cases = pmu
    c = cases["pmu_initialised"]
    vcpu, init, call = c.steps[1:]
    assert isinstance(vcpu, CreateVcpu) and [n for n, _ in vcpu.features] == ["KVM_ARM_VCPU_PMU_V3"]
    assert isinstance(init, DeviceAttr) and init.role is StepRole.SETUP
    assert (init.group, init.attr, init.initialises, init.on_vcpu) == (0, 1, "KVM_ARM_VCPU_PMU_V3", True)
    assert call.role is StepRole.SUBJECT
    # no pair takes the feature away from a vCPU whose feature it initialises
    assert not any("not_vcpu_has_pmu+pmu_initialised" in k for k in cases)


def test_the_vcpu_that_runs_initialises_what_its_features_need_before_kvm_run(pmu):
    _, cases = pmu
    kinds = [s.kind for s in cases["vm_has_run"].steps]
    i = kinds.index(StepKind.VCPU_START)
    init = cases["vm_has_run"].steps[i + 1]
    assert isinstance(init, DeviceAttr) and init.initialises == "KVM_ARM_VCPU_PMU_V3"
    assert kinds[i + 2] is StepKind.GUEST


def test_a_value_the_host_gives_is_read_at_run_time_and_an_unused_one_fails(pmu):
    """`arm_pmu->pmu.type != pmu_id` -> ENXIO: the valid call sends the
    host PMU's type (read from sysfs by the C runtime), the case a type
    no PMU has; the reference matches only the host's."""
    from generator.model.case import HostValue
    from generator.render.c import val_init
    spec, cases = pmu
    valid, bad = cases["vm_has_run"].steps[-1].value, cases["arm_pmu_pmu_type_mismatch"].steps[-1].value
    assert valid == Val(host="pmu_type") and val_init(valid) == "{ .host = KC_HOST_PMU_TYPE }"
    assert bad == Val(bytes=0x7fffffff)
    assert HostValue("pmu_type") == valid.resolve(4096) and HostValue("pmu_type") != 0
    mod = _module(spec)
    last = lambda cid: predict(mod.OPERATIONS, mod.CAPABILITIES, cases[cid], 4096, Host())[-1]
    assert (last("arm_pmu_pmu_type_mismatch").errno,
            last("arm_pmu_pmu_type_mismatch").check) == (Errno.ENXIO, "arm_pmu_pmu_type_mismatch")
    assert (last("pmu_initialised").errno, last("pmu_initialised").check) == \
        (Errno.EBUSY, "pmu_initialised")
    # the vCPU that ran initialised its own PMU; the call's vCPU is fresh
    assert (last("vm_has_run").errno, last("vm_has_run").check) == (Errno.EBUSY, "vm_has_run")


def _fixture_with_lock_check():
    spec = fixture_spec_levers()
    op = spec.operations[0]
    op.checks.append(Check("not_vcpus_lockable", 4, "!lock_all_vcpus(kvm)", Errno.EBUSY,
                           CheckKind.STATE, [], [Predicate("lock_all_vcpus", "vcpus_lockable")],
                           _lsrc(15)))
    return spec


def test_a_vcpu_inside_kvm_run_makes_locking_every_vcpu_fail():
    """`!lock_all_vcpus(kvm)` -> EBUSY: a started vCPU stays inside KVM_RUN
    (VCPU_IN_RUN, a thread) during the call; the reference predicts EBUSY
    there and nowhere else."""
    spec = _fixture_with_lock_check()
    cases = {c.id: c for c in plan(spec)}
    c = cases["fixture.not_vcpus_lockable"]
    kinds = [s.kind for s in c.steps]
    assert kinds[-3:] == [StepKind.VCPU_START, StepKind.VCPU_IN_RUN, StepKind.VM_IOCTL]
    assert StepKind.GUEST not in kinds and has_guest([c])
    mod = _module(spec)
    out = predict(mod.OPERATIONS, mod.CAPABILITIES, c, 4096, Host())[-1]
    assert (out.errno, out.check) == (Errno.EBUSY, "not_vcpus_lockable")
    valid = predict(mod.OPERATIONS, mod.CAPABILITIES, cases["fixture.valid"], 4096, Host())[-1]
    assert valid.errno is None
