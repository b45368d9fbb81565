"""Spec ioctls on a vCPU fd (VM_IOCTL steps with on_vcpu): a struct the
hunks show only in part (KVM_SET_VCPU_EVENTS with ext_dabt_pending, nested
reserved/pad arrays), one scalar read through the pointer
(KVM_ARM_VCPU_FINALIZE's get_user), the integer argument itself (KVM_RUN's
`arg`); what the C test renders for each and what the reference predicts."""
from __future__ import annotations

import types

import pytest

from generator.extract import extract_spec
from generator.model import Errno
from generator.model.case import CreateVcpu, VmIoctl
from generator.plan import plan_all
from generator.render.c import render_c
from generator.render.reference import render_reference
from reference.vmstate import Host, predict
from tests.extract.corpus_truth import CORPUS


def _load(name):
    spec = extract_spec(CORPUS / f"{name}.txt", name)
    p = plan_all(spec)
    mod = types.ModuleType(f"reference.generated_{name.replace('-', '_')}")
    exec(compile(render_reference(spec), mod.__name__, "exec"), mod.__dict__)
    return spec, p, {c.id: c for c in p.cases}, mod


@pytest.fixture(scope="module")
def events():
    return _load("nisv-v3-02")


@pytest.fixture(scope="module")
def finalize():
    return _load("sve-finalize-pull-22")


def _call(case) -> VmIoctl:
    return next(s for s in case.steps if isinstance(s, VmIoctl))


def _vals(case) -> dict:
    return {p: v.bytes for p, v in _call(case).fields}


def _outcome(mod, case):
    return predict(mod.OPERATIONS, mod.CAPABILITIES, case, 4096, Host())[-1]


def test_a_struct_shown_in_part_gives_its_fields(events):
    spec, *_ = events
    fields = spec.struct_fields("struct kvm_vcpu_events")
    assert fields[:4] == ["exception.serror_pending", "exception.serror_has_esr",
                          "exception.ext_dabt_pending", "exception.pad[0]"]
    assert "exception.pad[5]" not in fields          # the patch shrinks pad[6] to pad[5]
    assert fields[-1] == "reserved[11]" and len(fields) == 21
    assert str(spec.partial_structs[0].source).startswith("nisv-v3-02.txt:193")
    assert not spec.structs                         # never rendered as the spec's own


def test_every_check_of_set_vcpu_events_gets_its_case_on_the_vcpu(events):
    _, p, cases, mod = events
    ids = [i for i in cases if i.startswith("set_vcpu_events.")]
    assert len([i for i in ids if ".reserved_nonzero." in i]) == 12
    assert len([i for i in ids if ".exception_pad_nonzero." in i]) == 5
    for i in ids:
        assert _call(cases[i]).on_vcpu
        vcpu = next(s for s in cases[i].steps if isinstance(s, CreateVcpu))
        assert vcpu.init
    gaps = {u.check: u.gap.name for u in p.untested if u.op == "KVM_SET_VCPU_EVENTS"}
    assert gaps == {}
    # the host-only check runs on a host without RAS (specs/host-features.yaml),
    # alone and after the copy; every other case on the default host
    hosted = {i: c.host for i, c in cases.items() if c.host}
    assert hosted == {"set_vcpu_events.serror_esr_without_ras": "armv8.0",
                      "set_vcpu_events.pair.events_copy_faults+serror_esr_without_ras": "armv8.0"}


def test_a_conjunction_of_field_tests_fails_as_a_whole(events):
    _, _, cases, mod = events
    c = cases["set_vcpu_events.serror_esr_invalid_bits"]
    v = _vals(c)
    assert (v["exception.serror_pending"], v["exception.serror_has_esr"]) == (1, 1)
    assert v["exception.serror_esr"] == 1 << 25     # the first bit outside ESR_ELx_ISS_MASK
    o = _outcome(mod, c)
    assert (o.errno, o.check) == (Errno.EINVAL, "serror_esr_invalid_bits")


def test_an_effect_returns_what_the_valid_call_returns(events):
    _, _, cases, mod = events
    c = cases["set_vcpu_events.exception_ext_dabt_pending_nonzero"]
    assert _vals(c)["exception.ext_dabt_pending"] == 1
    assert c.violates == ["exception_ext_dabt_pending_nonzero"]
    for i in ("set_vcpu_events.exception_ext_dabt_pending_nonzero", "set_vcpu_events.valid"):
        o = _outcome(mod, cases[i])
        assert (o.ret, o.errno) == (0, None)
    assert _outcome(mod, cases["set_vcpu_events.exception_pad_nonzero.exception_pad_4"]
                    ).errno is Errno.EINVAL


def test_the_c_test_fills_nested_fields_on_the_vcpu_fd(events):
    spec, _, cases, _ = events
    text = render_c(spec, list(cases.values()))
    assert "arg->exception.ext_dabt_pending = v[2];" in text
    assert ".request = KVM_SET_VCPU_EVENTS," in text    # the uAPI header's request
    assert ".kind = KC_VM_IOCTL, .op = KC_OP_KVM_SET_VCPU_EVENTS, .on_vcpu = 1" in text


def test_a_scalar_and_an_integer_argument(finalize):
    spec, p, cases, mod = finalize
    assert spec.ioctl("KVM_ARM_VCPU_FINALIZE").number == 0x4004AEC2   # sizeof(int) = 4
    assert set(_vals(cases["vcpu_finalize.kvm_arm_vcpu_finalize"])) == {"what"}
    assert _vals(cases["run.arg_nonzero"]) == {"arg": 1}
    run_init = next(s for s in cases["run.not_vcpu_initialised"].steps
                    if isinstance(s, CreateVcpu))
    assert not run_init.init and _vals(cases["run.not_vcpu_initialised"]) == {"arg": 0}
    text = render_c(spec, p.cases)
    assert "_IOW(0xae, 0xc2, int)" in text and "int *arg = p;" in text
    assert "*arg = (int)v[0];\t/* what */" in text
    assert ".request = KVM_RUN," in text and ".by_value = 1," in text
    want = {"vcpu_finalize.not_vcpu_initialised": Errno.ENOEXEC,
            "vcpu_finalize.user_read_faults": Errno.EFAULT,
            "vcpu_finalize.kvm_arm_vcpu_finalize": Errno.EINVAL,
            "run.arg_nonzero": Errno.EINVAL, "run.not_vcpu_initialised": Errno.ENOEXEC,
            "run.pair.arg_nonzero+not_vcpu_initialised": Errno.EINVAL,
            # the placeholder kvm_arm_vcpu_is_finalized() read with its concept: a vCPU
            # with KVM_ARM_VCPU_SVE, never finalized
            "run.not_vcpu_finalized": Errno.EPERM,
            "run.pair.arg_nonzero+not_vcpu_finalized": Errno.EINVAL,
            # KVM_GET_REG_LIST's mainline context: ENOEXEC (its `r =` above the hunk)
            # and E2BIG (below it)
            "get_reg_list.not_vcpu_initialised": Errno.ENOEXEC,
            "get_reg_list.not_vcpu_finalized": Errno.EPERM,
            "get_reg_list.user_read_faults": Errno.EFAULT,
            "get_reg_list.n_below_reg_count": Errno.E2BIG}
    assert {i: _outcome(mod, cases[i]).errno for i in want} == want
    fin = next(s for s in cases["run.not_vcpu_finalized"].steps if isinstance(s, CreateVcpu))
    assert fin.init and fin.features == (("KVM_ARM_VCPU_SVE", 4),)
    assert cases["run.not_vcpu_finalized"].requires_cap == "KVM_CAP_ARM_SVE"
    assert not p.untested


def test_a_call_past_every_check_of_kvm_run_is_unmodelled(finalize):
    """KVM_RUN's success (running the guest) is not in the patch: the
    `return 0` its hunk shows is kvm_vcpu_first_run_init's, which hands back
    to KVM_RUN's code (extraction gives the request no success value), so
    its checks are modelled and a call that passes them has no prediction."""
    from dataclasses import replace
    from reference.runtime import Unmodelled
    _, _, cases, mod = finalize
    c = cases["run.arg_nonzero"]
    call = _call(c)
    valid = replace(c, steps=c.steps[:-1] + [replace(call, fields=(("arg", call.fields[0][1].__class__()),))])
    with pytest.raises(Unmodelled):
        _outcome(mod, valid)


def test_what_a_call_set_is_read_back_by_the_vocabularys_get(events):
    """KVM_SET_VCPU_EVENTS with ext_dabt_pending = 1 (the effect's side),
    then KVM_GET_VCPU_EVENTS on the same vCPU: the vocabulary says an
    injected abort never reads back as pending, so the model expects 0."""
    from generator.model.case import ReadBack
    spec, _, cases, mod = events
    c = cases["set_vcpu_events.reads_back.exception_ext_dabt_pending"]
    back = c.steps[-1]
    assert isinstance(back, ReadBack) and back.request == "KVM_GET_VCPU_EVENTS"
    assert (back.field, back.set_value, back.fixed, back.on_vcpu) == (
        "exception.ext_dabt_pending", 1, 0, True)
    assert _vals(c)["exception.ext_dabt_pending"] == 1
    o = predict(mod.OPERATIONS, mod.CAPABILITIES, c, 4096, Host())
    assert [(x.ret, x.errno) for x in o[-2:]] == [(0, None), (0, None)]
    text = render_c(spec, list(cases.values()))
    assert "case 2: return arg->exception.ext_dabt_pending;" in text
    assert ".rb_request = KVM_GET_VCPU_EVENTS, .rb_field = 2" in text


def test_a_field_read_back_as_set_is_predicted_as_written():
    from generator.model.case import ReadBack
    from reference.vmstate import VMState
    vm = VMState(4096, Host())
    assert vm.read_back("x", 7, None).ret == 7 and vm.read_back("x", 7, 0).ret == 0
    assert ReadBack(field="x", set_value=7).ref_predict(vm).ret == 7


# ground-truth rows with a planned case, as measured (a floor: 0, 0 and 2 before
# vCPU-fd ioctls and vCPU features were planned)
PLANNED = {"nisv-v3-02": 4, "sve-finalize-pull-22": 10, "pmu-set-pmu-v4-05": 7}


@pytest.mark.parametrize("name", sorted(PLANNED))
def test_vcpu_fd_rows_of_the_ground_truth_get_a_case(name):
    from tests.extract.corpus_truth import ground_truth, plannable_checks, score
    spec = extract_spec(CORPUS / f"{name}.txt", name)
    s = score(name, spec, ground_truth(), plannable_checks(spec))
    assert s.plannable >= PLANNED[name]


def test_the_kselftest_export_says_it_leaves_vcpu_fd_cases_out(events):
    """The exported selftest's helpers create bare vCPUs and call on the VM
    fd: a case on an initialised vCPU or a vCPU fd is listed as not
    exported with that reason, never exported wrong."""
    from generator.export.kselftest import VCPU_REASON, Exported, classify
    _, _, cases, _ = events
    assert classify(cases["set_vcpu_events.valid"]).status is Exported.NO
    assert classify(cases["set_vcpu_events.valid"]).reason == VCPU_REASON
    assert classify(cases["check_extension.reports_inject_ext_dabt"]).status is Exported.YES
