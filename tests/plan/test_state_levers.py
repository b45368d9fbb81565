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
from generator.model.case import (CreateVcpu, DeviceAttr, DropCapability, Guest, GuestOp, StepKind, StepRole,
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
