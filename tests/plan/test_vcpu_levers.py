"""vCPU creation variants (generator.plan.ops): the vCPU an operation on a
vCPU fd runs on is initialised (KVM_ARM_PREFERRED_TARGET + KVM_ARM_VCPU_INIT)
with every feature its checks require; VCPU_NOT_INITIALISED creates it
without the init, VCPU_WITHOUT_FEATURE initialises it without the feature
the predicate names; the reference predicts both."""
from __future__ import annotations

import types

import pytest

from generator.extract import extract_spec
from generator.model import Check, Errno, Operation, OpKind, Predicate, Source, Spec, Success
from generator.model.case import CreateVcpu, Gap
from generator.model.concepts import Lever
from generator.plan import plan_all
from generator.plan.ops import PlanError, derive_violation, load_vocabulary
from generator.render.c import render_c
from generator.render.reference import render_reference
from reference.vmstate import Host, predict
from tests.extract.corpus_truth import CORPUS

PMU = ("KVM_ARM_VCPU_PMU_V3", 3)
SET_PMU = "set_attr.pmu_v3_pmu_v3_set_pmu"


def _module(spec):
    mod = types.ModuleType(f"reference.generated_{spec.name.replace('-', '_')}")
    exec(compile(render_reference(spec), mod.__name__, "exec"), mod.__dict__)
    return mod


def _vcpu(case) -> CreateVcpu:
    return next(s for s in case.steps if isinstance(s, CreateVcpu))


@pytest.fixture(scope="module")
def pmu():
    spec = extract_spec(CORPUS / "pmu-set-pmu-v4-05.txt", "pmu-set-pmu-v4-05")
    return spec, {c.id: c for c in plan_all(spec).cases}


def test_the_valid_path_initialises_the_vcpu_with_the_feature_its_checks_need(pmu):
    _, cases = pmu
    v = _vcpu(cases[f"{SET_PMU}.valid"])
    assert v.init and v.features == (PMU,) and v.feature_mask == 1 << 3
    # a check after the feature test still runs on a vCPU that has it
    assert _vcpu(cases[f"{SET_PMU}.user_read_faults"]).features == (PMU,)


def test_without_feature_initialises_the_vcpu_without_it(pmu):
    _, cases = pmu
    c = cases[f"{SET_PMU}.not_vcpu_has_pmu"]
    v = _vcpu(c)
    assert v.init and v.features == () and c.violates == ["not_vcpu_has_pmu"]
    assert "no KVM_ARM_VCPU_PMU_V3" in c.description


def test_the_c_step_names_the_feature_it_needs(pmu):
    spec, cases = pmu
    text = render_c(spec, list(cases.values()))
    assert '.features = 0x8ULL, .feature_names = "KVM_ARM_VCPU_PMU_V3"' in text
    assert ".vcpu_init = 1" in text


def test_the_reference_predicts_enodev_without_the_feature():
    """A model spec whose only check is the PMU feature test (the corpus
    operation's page-loop-like body is not modelled): the lever's case
    fails with ENODEV, the valid one passes."""
    src = Source("t.txt", 10, "v1 1/1", "arch/arm64/kvm/pmu-emul.c")
    op = Operation(name="KVM_SET_DEVICE_ATTR(KVM_ARM_VCPU_PMU_V3_CTRL/X)",
                   kind=OpKind.SET_DEVICE_ATTR, handler="kvm_arm_pmu_v3_set_attr", fd="vcpu",
                   checks=[Check("not_vcpu_has_pmu", 1, "!kvm_vcpu_has_pmu(vcpu)", Errno.ENODEV,
                                 "argument", [], [Predicate("kvm_vcpu_has_pmu",
                                                            "vcpu_has_feature")], src)],
                   success=Success("0", 0, src), source=src,
                   select={"group": "KVM_ARM_VCPU_PMU_V3_CTRL", "attr": "KVM_ARM_VCPU_PMU_V3_CTRL"})
    spec = Spec(name="vcpu-fixture", title="t", version=1, rfc=False, seed="t.txt", patches=[],
                operations=[op])
    cases = {c.id: c for c in plan_all(spec).cases}
    mod = _module(spec)
    got = {i: predict(mod.OPERATIONS, mod.CAPABILITIES, c, 4096, Host())[-1]
           for i, c in cases.items()}
    lever = next(i for i in got if i.endswith("not_vcpu_has_pmu"))
    valid = next(i for i in got if i.endswith(".valid"))
    assert (got[lever].errno, got[lever].check) == (Errno.ENODEV, "not_vcpu_has_pmu")
    assert (got[valid].ret, got[valid].errno) == (0, None)


def _check(cond: str, pred: str) -> Check:
    return Check("c", 1, cond, Errno.ENOEXEC, "argument", [],
                 [Predicate(pred, "x")], Source("t.txt", 5, "", ""))


def _op(fd: str, *checks) -> Operation:
    src = Source("t.txt", 1, "", "")
    return Operation(name="KVM_FOO", kind=OpKind.IOCTL, handler="h", fd=fd, checks=list(checks),
                     success=Success("0", 0, src), source=src)


def test_a_feature_named_by_the_predicates_argument():
    """`vcpu_has_feature(vcpu, KVM_ARM_VCPU_SVE)`: the feature is the
    constant argument (vocabulary params), its bit the constant's value."""
    voc = load_vocabulary()
    c = _check("!vcpu_has_feature(vcpu, KVM_ARM_VCPU_SVE)", "vcpu_has_feature")
    spec = Spec(name="s", title="t", version=1, rfc=False, seed="t.txt", patches=[])
    v = derive_violation(spec, _op("vcpu", c), c, voc)
    assert (v.lever, v.feature) == (Lever.VCPU_WITHOUT_FEATURE, ("KVM_ARM_VCPU_SVE", 4))
    c2 = _check("!vcpu_has_feature(vcpu, KVM_ARM_VCPU_NEW)", "vcpu_has_feature")
    with pytest.raises(PlanError) as e:
        derive_violation(spec, _op("vcpu", c2), c2, voc)
    assert e.value.gap is Gap.UNMAPPED and "KVM_ARM_VCPU_NEW" in str(e.value)


def test_not_initialised_is_a_lever_on_a_vcpu_fd_only():
    voc = load_vocabulary()
    spec = Spec(name="s", title="t", version=1, rfc=False, seed="t.txt", patches=[])
    c = _check("!kvm_vcpu_initialized(vcpu)", "kvm_vcpu_initialized")
    assert derive_violation(spec, _op("vcpu", c), c, voc).lever is Lever.VCPU_NOT_INITIALISED
    with pytest.raises(PlanError) as e:
        derive_violation(spec, _op("vm", c), c, voc)
    assert "vm fd" in str(e.value)


def test_the_reference_counts_an_initialised_vcpu_and_its_features():
    from reference.vmstate import VMState
    vm = VMState(4096, Host())
    vm.setup_vcpu()
    assert not vm.vcpu_initialised(None, None)
    vm.setup_vcpu(True, (PMU,))
    assert vm.vcpu_initialised(None, None)
    assert vm.vcpu_has_feature(None, None, feature="KVM_ARM_VCPU_PMU_V3")
    assert vm.vcpu_has_feature(None, None, feature=3)
    assert not vm.vcpu_has_feature(None, None, feature="KVM_ARM_VCPU_SVE")


def test_the_corpus_pmu_checks_before_its_host_pmu_loop_are_predicted(pmu):
    """kvm_arm_pmu_v3_set_pmu loops over the host's PMUs (no page loop): the
    reference models the checks before that loop, the search itself as one
    pass (its entry the host PMU a host value names: levers branch), and the
    PMU event filter check: the filter set first (vm_state_set), the VM's
    PMU (vm_value) the one the valid call made first named."""
    spec, cases = pmu
    mod = _module(spec)
    run = lambda i: predict(mod.OPERATIONS, mod.CAPABILITIES, cases[i], 4096, Host())[-1]
    assert run(f"{SET_PMU}.not_vcpu_has_pmu").errno is Errno.ENODEV
    assert run(f"{SET_PMU}.user_read_faults").errno is Errno.EFAULT
    assert run(f"{SET_PMU}.arm_pmu_pmu_type_mismatch").errno is Errno.ENXIO
    assert run(f"{SET_PMU}.valid").errno is None
    busy = cases[f"{SET_PMU}.vm_state_set_and_kvm_arch_arm_pmu_mismatch"]
    outs = predict(mod.OPERATIONS, mod.CAPABILITIES, busy, 4096, Host())
    assert [o.errno for o in outs[-3:]] == [None, None, Errno.EBUSY]   # SET_PMU, filter, SET_PMU
