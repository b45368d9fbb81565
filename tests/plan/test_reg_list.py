"""KVM_GET_REG_LIST as a spec operation's subject (sve-finalize-pull-22
rows 11-14), from a FIXTURE spec: what extraction gives for the hunk that
adds `if (!kvm_arm_vcpu_is_finalized(vcpu)) break;` to the case, with its
mainline context.  The fixture is hand-built, never a shipped result."""
from __future__ import annotations

import types

import pytest

from generator.model import (Check, CheckKind, Errno, Operation, OpKind, Predicate, Source,
                             Spec, Success)
from generator.model.case import ArgPointer, CreateVcpu, Gap, RegList, StepRole
from generator.plan import plan_all
from generator.render.c import render_c
from generator.render.reference import render_reference
from reference.runtime import Host

SEED = "sve-finalize-pull-22.txt"


def _src(line: int, text: str = "") -> Source:
    return Source(SEED, line, "22/56", "arch/arm64/kvm/arm.c", text)


def fixture_spec_reg_list() -> Spec:
    """FIXTURE: KVM_GET_REG_LIST with the checks of SOURCES.md rows 11-14."""
    op = Operation(
        name="KVM_GET_REG_LIST", kind=OpKind.IOCTL, handler="kvm_arch_vcpu_ioctl", fd="vcpu",
        arg_type="struct kvm_reg_list", source=_src(186), checks=[
            Check("not_vcpu_initialised", 1, "!kvm_vcpu_initialized(vcpu)", Errno.ENOEXEC,
                  CheckKind.ARGUMENT, [], [Predicate("kvm_vcpu_initialized", "vcpu_initialised")],
                  _src(185), context=True),
            Check("not_kvm_arm_vcpu_is_finalized", 2, "!kvm_arm_vcpu_is_finalized(vcpu)",
                  Errno.EPERM, CheckKind.ARGUMENT, [],
                  [Predicate("kvm_arm_vcpu_is_finalized", "vcpu_finalized")], _src(187)),
            Check("user_read_faults", 3, "copy_from_user(&reg_list, user_list, sizeof(reg_list))",
                  Errno.EFAULT, CheckKind.USER_MEMORY, [],
                  [Predicate("copy_from_user", "user_read_faults")], _src(191)),
            Check("n_below", 4, "reg_list.n < kvm_arm_num_regs(vcpu)", Errno.E2BIG,
                  CheckKind.ARGUMENT, ["n"], [Predicate("kvm_arm_num_regs", "reg_count")],
                  _src(195)),
        ],
        success=Success(ret="kvm_arm_copy_reg_indices(vcpu, user_list->reg)", ret_value=None,
                        source=_src(197)))
    return Spec(name="reg-list-fixture", title="KVM_GET_REG_LIST fixture", version=1,
                rfc=False, seed=SEED, patches=["22/56: KVM: arm/arm64: Add KVM_ARM_VCPU_FINALIZE ioctl"],
                operations=[op])


@pytest.fixture(scope="module")
def planned():
    spec = fixture_spec_reg_list()
    return spec, plan_all(spec)


def _subject(case):
    return [s for s in case.steps if s.role is StepRole.SUBJECT]


def test_reg_list_is_planned_on_an_initialised_vcpu(planned):
    spec, p = planned
    by = {c.id: c for c in p.cases}
    fault = _subject(by["get_reg_list.user_read_faults"])[0]
    assert isinstance(fault, RegList) and fault.arg is ArgPointer.UNMAPPED and fault.direct
    uninit = [s for s in by["get_reg_list.not_vcpu_initialised"].steps
              if isinstance(s, CreateVcpu)]
    assert uninit and not uninit[0].init
    valid = [s for s in by["get_reg_list.valid"].steps if isinstance(s, CreateVcpu)]
    assert valid and valid[0].init
    untested = {u.check: u for u in p.untested}
    assert not any(u.gap is Gap.NO_STEP_KIND for u in p.untested)
    # the count of registers is the host's (kvm_arm_num_regs): n = 0 is below it
    small = _subject(by["get_reg_list.n_below"])[0]
    assert small.n == 0 and _subject(by["get_reg_list.valid"])[0].n is None
    assert not untested
    # not finalized: the vCPU is initialised with the feature that needs
    # KVM_ARM_VCPU_FINALIZE (the vocabulary's args.feature) and never finalized;
    # a host that does not report its capability skips the case
    fin = by["get_reg_list.not_kvm_arm_vcpu_is_finalized"]
    (vcpu,) = [s for s in fin.steps if isinstance(s, CreateVcpu)]
    assert vcpu.init and vcpu.features == (("KVM_ARM_VCPU_SVE", 4),)
    assert fin.requires_cap == "KVM_CAP_ARM_SVE" and "KVM_ARM_VCPU_SVE" in fin.skip_reason
    assert not any(s.features for s in valid) and not by["get_reg_list.valid"].requires_cap
    # an uninitialised vCPU has no feature to finalize: no pair of the two
    assert "get_reg_list.pair.not_vcpu_initialised+not_kvm_arm_vcpu_is_finalized" not in by


def test_reference_and_c(planned):
    spec, p = planned
    mod = types.ModuleType("reg_list_fixture")
    exec(compile(render_reference(spec), "reg_list_fixture", "exec"), mod.__dict__)
    by = {c.id: c for c in p.cases}
    out = mod.predict(by["get_reg_list.not_vcpu_initialised"], 4096, Host())[-1]
    assert out.errno is Errno.ENOEXEC
    out = mod.predict(by["get_reg_list.user_read_faults"], 4096, Host())[-1]
    assert out.errno is Errno.EFAULT
    assert mod.predict(by["get_reg_list.n_below"], 4096, Host())[-1].errno is Errno.E2BIG
    out = mod.predict(by["get_reg_list.not_kvm_arm_vcpu_is_finalized"], 4096, Host())[-1]
    assert out.errno is Errno.EPERM
    out = mod.predict(by["get_reg_list.valid"], 4096, Host())[-1]
    assert (out.ret, out.errno) == (0, None)
    text = render_c(spec, p.cases)
    assert ".kind = KC_REG_LIST, .oreg = { .direct = 1 }," in text
    assert ".argp = KC_ARG_UNMAPPED" in text
    assert ".requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_SVE," in text
    assert '.features = 0x10ULL, .feature_names = "KVM_ARM_VCPU_SVE"' in text
