"""Exits a patch adds to KVM_RUN (generator/extract/exits.py): extracted
from the corpus mails with their guard, run fields, other side, trigger and
capability, each with its patch line; planned as guest cases with and
without the capability; predicted by the generated reference; a kernel
that does otherwise diverges naming the patch line."""
from __future__ import annotations

import dataclasses
import re
import types
from pathlib import Path

import pytest

from generator.extract import extract_spec
from generator.model import Errno, FindingKind, GuestRuleKind, Verdict
from generator.model.case import (GUEST_ANSWERED, GUEST_UNBACKED_IPA, GuestExit, GuestOp,
                                  RunFieldRead, StepKind)
from generator.plan import plan_all
from generator.render.reference import render_reference
from generator.verdict.crosscheck import crosscheck, from_ktap
from generator.runner.ktap import parse_ktap
from reference.runtime import Host
from tests.verdict.test_crosscheck import fake_kernel_output

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"


def _spec(name: str, text: str = None, tmp: Path = None):
    path = CORPUS / f"{name}.txt"
    if text is not None:
        path = tmp / f"{name}.txt"
        path.write_text(text)
    return extract_spec(path, name)


def _module(spec):
    mod = types.ModuleType("ref_" + spec.name.replace("-", "_"))
    exec(compile(render_reference(spec), mod.__name__, "exec"), mod.__dict__)
    return mod


@pytest.fixture(scope="module")
def nisv():
    return _spec("nisv-v3-01")


@pytest.fixture(scope="module")
def suspend():
    return _spec("system-suspend-v6-07")


def _exits(spec):
    return [r for r in spec.guest if r.kind is GuestRuleKind.EXIT]


def test_the_nisv_exit_is_extracted_with_its_lines(nisv):
    [r] = _exits(nisv)
    assert (r.id, r.value, r.function, r.trigger) == (
        "exit.arm_nisv", "KVM_EXIT_ARM_NISV", "io_mem_abort", "nisv_abort")
    assert r.when == "vcpu->kvm->arch.return_nisv_io_abort_to_user"
    assert r.source.line == 328 and r.value_source.line == 329
    assert (r.otherwise, r.otherwise_source.line) == ("-ENOSYS", 336)
    # the capability whose enable_cap case sets the guard's state
    assert r.cap == "KVM_CAP_ARM_NISV_TO_USER" and r.cap_source.line == 299
    assert [(f.path, f.expr, f.source.line) for f in r.run_fields] == [
        ("arm_nisv.esr_iss", "kvm_vcpu_dabt_iss_nisv_sanitized(vcpu)", 330),
        ("arm_nisv.fault_ipa", "fault_ipa", 331)]
    # the helper the patch defines, inlined from its arm64 definition
    iss = r.run_fields[0]
    assert iss.value == "kvm_vcpu_get_hsr(vcpu) & (ESR_ELx_CM | ESR_ELx_WNR | ESR_ELx_FSC)"
    assert iss.value_source.path == "arch/arm64/include/asm/kvm_emulate.h"
    assert "KVM_EXIT_ARM_NISV" in r.doc and r.doc_source.path.startswith("Documentation/")


def test_the_system_suspend_exit_goes_through_its_helper(suspend):
    """The exit is set in kvm_psci_system_suspend(); the guard is the `if`
    around its call in kvm_psci_1_x_call, under the SYSTEM_SUSPEND case
    labels; not enabled, the switch breaks and the guest gets `val`'s
    initialiser."""
    [r] = _exits(suspend)
    assert r.id == "exit.system_event.suspend" and r.value == "KVM_EXIT_SYSTEM_EVENT"
    assert r.function == "kvm_psci_1_x_call" and r.trigger == "hvc"
    assert r.trigger_arg == "PSCI_1_0_FN64_SYSTEM_SUSPEND"
    assert r.when.startswith("test_bit(KVM_ARCH_FLAG_SYSTEM_SUSPEND_ENABLED")
    assert r.cap == "KVM_CAP_ARM_SYSTEM_SUSPEND" and "set_bit" in r.cap_source.text
    assert (r.otherwise, r.otherwise_source.text) == (
        "PSCI_RET_NOT_SUPPORTED", "unsigned long val = PSCI_RET_NOT_SUPPORTED;")
    assert [(f.path, f.expr) for f in r.run_fields] == [
        ("system_event.type", "KVM_SYSTEM_EVENT_SUSPEND")]
    assert r.vcpu_features == ["KVM_ARM_VCPU_PSCI_0_2"]


def test_cases_with_and_without_the_capability(nisv, suspend):
    p = plan_all(nisv)
    by = {c.id: c for c in p.cases if c.clause == "exit.arm_nisv"}
    on, off = by["guest.exit.arm_nisv.enabled"], by["guest.exit.arm_nisv.disabled"]
    assert [s.kind for s in on.steps] == [StepKind.CREATE_VM, StepKind.ENABLE_CAP,
                                          StepKind.VCPU_START, StepKind.GUEST_EXIT,
                                          StepKind.RUN_FIELD, StepKind.RUN_FIELD]
    assert on.steps[3] == GuestExit(on.steps[3].role, op="exit.arm_nisv",
                                    guest_op=GuestOp.LDP, gargs=(GUEST_UNBACKED_IPA,))
    # esr_iss: the patch's helper keeps CM | WNR | FSC of the syndrome; the
    # guest's LDP fixes CM and WnR (0), the host the fault status code:
    # every bit but FSC is read
    assert (on.steps[4].field, on.steps[4].mask) == ("arm_nisv.esr_iss", ((1 << 64) - 1) & ~0x3f)
    assert (on.steps[5].field, on.steps[5].mask) == ("arm_nisv.fault_ipa", 0)
    assert on.requires_cap
    assert StepKind.ENABLE_CAP not in [s.kind for s in off.steps]
    assert off.source.line == 336 and not off.requires_cap
    assert not [u for u in p.untested if u.op == "guest"]
    s = {c.id: c for c in plan_all(suspend).cases}
    on = s["guest.exit.system_event.suspend.enabled"]
    assert on.steps[2].features == (("KVM_ARM_VCPU_PSCI_0_2", 2),)
    assert on.steps[3].guest_op is GuestOp.HVC and on.steps[3].gargs[0] == 0xC400000E
    off = s["guest.exit.system_event.suspend.disabled"]
    assert off.steps[-1] == RunFieldRead(off.steps[-1].role, op=off.steps[-1].op, field="")


def test_the_reference_predicts_the_exit_and_the_other_side(nisv, suspend):
    for spec, want in ((nisv, {"enabled": [(28, None), (0, None), (GUEST_UNBACKED_IPA, None)],
                               "disabled": [(-1, Errno.ENOSYS)]}),
                       (suspend, {"enabled": [(24, None), (5, None)],
                                  "disabled": [(GUEST_ANSWERED, None), (-1, None)]})):
        mod = _module(spec)
        for c in plan_all(spec).cases:
            if not c.clause.startswith("exit."):
                continue
            got = [(o.ret, o.errno) for s, o in zip(c.steps, mod.predict(c, 4096, Host()))
                   if s.kind in (StepKind.GUEST_EXIT, StepKind.RUN_FIELD)]
            assert got == want[c.id.rsplit(".", 1)[1]], c.id


def test_a_kernel_that_fails_otherwise_diverges_at_the_patch_line(nisv):
    """A kernel answering EOPNOTSUPP (played by the reference of a mutated
    spec) diverges on the disabled case, naming `return -ENOSYS;`."""
    cases = [c for c in plan_all(nisv).cases if c.clause == "exit.arm_nisv"]
    other = dataclasses.replace(nisv, guest=[dataclasses.replace(r, otherwise="-EOPNOTSUPP")
                                             for r in nisv.guest])
    obs = from_ktap(parse_ktap(fake_kernel_output(other, cases)))
    res = {r.id: r for r in crosscheck(nisv, cases, obs, module=_module(nisv))}
    assert res["guest.exit.arm_nisv.enabled"].verdict is Verdict.CONFORMS
    bad = res["guest.exit.arm_nisv.disabled"]
    assert bad.verdict is Verdict.DIVERGES and bad.decided_by.line == 336
    assert "ENOSYS" in bad.reason and "EOPNOTSUPP" in bad.reason


def test_the_mechanism_reads_the_patch_not_the_mail(tmp_path):
    """The same idiom in another shape: a `set_bit` flag instead of a bool,
    another errno, the exit under `vcpu->run`: all read from the code."""
    text = (CORPUS / "nisv-v3-01.txt").read_text()
    text = text.replace("+\t\tkvm->arch.return_nisv_io_abort_to_user = true;",
                        "+\t\tset_bit(KVM_ARCH_FLAG_NISV, &kvm->arch.flags);")
    text = text.replace("+\t\tif (vcpu->kvm->arch.return_nisv_io_abort_to_user) {",
                        "+\t\tif (test_bit(KVM_ARCH_FLAG_NISV, &vcpu->kvm->arch.flags)) {")
    text = text.replace("+\t\t\trun->exit_reason = KVM_EXIT_ARM_NISV;",
                        "+\t\t\tvcpu->run->exit_reason = KVM_EXIT_ARM_NISV;")
    assert " \t\treturn -ENOSYS;" in text          # context of the hunk
    text = text.replace(" \t\treturn -ENOSYS;", " \t\treturn -EOPNOTSUPP;")
    [r] = _exits(_spec("nisv-v3-01", text, tmp_path))
    assert r.cap == "KVM_CAP_ARM_NISV_TO_USER" and r.when.startswith("test_bit(")
    assert r.otherwise == "-EOPNOTSUPP"


def test_an_exit_no_trigger_reaches_is_a_finding_and_untested(tmp_path):
    text = (CORPUS / "nisv-v3-01.txt").read_text()
    text = text.replace("@@ -167,7 +167,14 @@ int io_mem_abort(",
                        "@@ -167,7 +167,14 @@ int some_other_abort(")
    spec = _spec("nisv-v3-01", text, tmp_path)
    notes = [f for f in spec.findings if f.kind is FindingKind.NOTE
             and "guest.triggers" in f.message]
    assert notes and notes[0].source.line == 329 and "some_other_abort" in notes[0].message
    p = plan_all(spec)
    assert not [c for c in p.cases if c.clause.startswith("exit.")]
    assert any(u.check == "exit.arm_nisv" and "guest.triggers" in u.reason for u in p.untested)


def test_the_python_constants_follow_the_guest_abi():
    abi = (ROOT / "templates" / "guest" / "kconform_guest_abi.h").read_text()
    base = int(re.search(r"#define KG_MMIO_BASE\s+(0x[0-9a-fA-F]+)", abi).group(1), 16)
    off = int(re.search(r"#define KG_UNBACKED_IPA\s+\(KG_MMIO_BASE \+ (0x[0-9a-fA-F]+)\)",
                        abi).group(1), 16)
    assert base + off == GUEST_UNBACKED_IPA
    vcpu = (ROOT / "templates" / "kconform_vcpu.h").read_text()
    assert int(re.search(r"#define KC_GUEST_ANSWERED\s+(\d+)", vcpu).group(1)) == GUEST_ANSWERED


def test_an_exit_only_the_documentation_states_is_untested_saying_so():
    """smccc-filter v3 09/13 documents that FWD_TO_USER forwards the call
    with KVM_EXIT_HYPERCALL; the exit itself is added by 08/13, not in the
    mail: a rule at the documentation line, untested with that reason.  A
    mere mention of an exit (nisv's "as it does for KVM_EXIT_MMIO") is none."""
    spec = _spec("smccc-filter-v3-09")
    [r] = _exits(spec)
    assert (r.id, r.value, r.when) == ("exit.hypercall.smccc_filter_fwd_to_user",
                                       "KVM_EXIT_HYPERCALL", "KVM_SMCCC_FILTER_FWD_TO_USER")
    assert r.source.line == 164 and r.source.path == "Documentation/virt/kvm/devices/vm.rst"
    assert r.value_source is None
    p = plan_all(spec)
    assert not [c for c in p.cases if c.clause == r.id]
    [u] = [u for u in p.untested if u.check == r.id]
    assert "documentation only" in u.reason and u.source.line == 164
    src = render_reference(spec)
    fn = src[src.index(f"def guest_{r.id.replace('.', '_')}("):]
    assert fn.split("\n")[3].strip().startswith('if vm.unmodelled("exit.hypercall')
    assert "documentation only" in fn.split("\n\n")[0]
    assert [x.value for x in _exits(_spec("nisv-v3-01"))] == ["KVM_EXIT_ARM_NISV"]


def test_a_run_field_the_reference_cannot_evaluate_is_untested_at_its_line(tmp_path):
    """esr_iss from a helper the patch does not define: untested, by line."""
    text = (CORPUS / "nisv-v3-01.txt").read_text().replace(
        "run->arm_nisv.esr_iss = kvm_vcpu_dabt_iss_nisv_sanitized(vcpu);",
        "run->arm_nisv.esr_iss = kvm_vcpu_dabt_iss_other(vcpu);")
    p = plan_all(_spec("nisv-v3-01", text, tmp_path))
    [u] = [u for u in p.untested if u.op == "guest"]
    assert u.check == "exit.arm_nisv.arm_nisv.esr_iss" and u.source.line == 330
    assert "kvm_vcpu_dabt_iss_other(vcpu)" in u.reason
    on = next(c for c in p.cases if c.id == "guest.exit.arm_nisv.enabled")
    assert [s.field for s in on.steps if s.kind is StepKind.RUN_FIELD] == ["arm_nisv.fault_ipa"]


def test_a_kernel_that_leaks_syndrome_bits_diverges_at_the_helper_line(nisv):
    """A kernel reporting ISV in esr_iss diverges on that step, naming the
    line of the helper the patch fills it with."""
    cases = [c for c in plan_all(nisv).cases if c.id == "guest.exit.arm_nisv.enabled"]
    lines = fake_kernel_output(nisv, cases)
    assert any("step=4 kind=run_field ret=0 " in l for l in lines)
    lines = [l.replace("step=4 kind=run_field ret=0 ", "step=4 kind=run_field ret=16777216 ")
             for l in lines]
    [res] = crosscheck(nisv, cases, from_ktap(parse_ktap(lines)), module=_module(nisv))
    assert res.verdict is Verdict.DIVERGES and res.step == 4
    assert res.decided_by.path == "arch/arm64/include/asm/kvm_emulate.h"
    assert "run->arm_nisv.esr_iss" in res.reason


@pytest.mark.parametrize("old,new,where", [
    ("      trigger: nisv_abort\n", "      trigger: page_fault\n", "io_mem_abort"),
    ("    KVM_EXIT_ARM_NISV: 28\n", "    KVM_EXIT_ARM_NISV: twenty-eight\n",
     "KVM_EXIT_ARM_NISV"),
])
def test_a_malformed_exit_vocabulary_is_a_one_line_error(tmp_path, old, new, where):
    from generator.errors import SpecError
    from generator.extract.guest import load_guest_vocabulary
    text = (ROOT / "specs" / "vocabulary.yaml").read_text()
    assert old in text
    path = tmp_path / "vocabulary.yaml"
    path.write_text(text.replace(old, new))
    line = next(n for n, l in enumerate(path.read_text().split("\n"), 1)
                if l.strip().startswith(where + ":"))
    with pytest.raises(SpecError) as e:
        load_guest_vocabulary(path)
    assert str(e.value).startswith(f"{path}:{line}: guest.{where}")


def test_an_exit_whose_condition_cannot_be_read_is_a_finding(tmp_path):
    """The exit directly in the `} else {` block: the condition is the
    negation of an `if` the hunk does not show -- a finding at the exit's
    line, never silence."""
    text = (CORPUS / "nisv-v3-01.txt").read_text()
    old = "+\t\tif (vcpu->kvm->arch.return_nisv_io_abort_to_user) {\n"
    assert old in text
    text = text.replace(old, "+\t\t{\n")
    spec = _spec("nisv-v3-01", text, tmp_path)
    assert not _exits(spec)
    [f] = [f for f in spec.findings if "KVM_EXIT_ARM_NISV is set here" in f.message]
    assert f.kind is FindingKind.PARSE_ERROR and f.source.line == 329
    assert "not an `if`" in f.message


def test_a_helper_with_a_signature_over_two_lines_is_followed(tmp_path):
    text = (CORPUS / "system-suspend-v6-07.txt").read_text()
    old = "+static void kvm_psci_system_suspend(struct kvm_vcpu *vcpu)\n"
    assert old in text
    text = text.replace(old, "+static void kvm_psci_system_suspend(struct kvm_vcpu *vcpu,\n"
                             "+\t\t\t\t    int unused)\n")
    text = text.replace("@@ -195,6 +195,15 @@", "@@ -195,6 +195,16 @@")
    [r] = _exits(_spec("system-suspend-v6-07", text, tmp_path))
    assert r.id == "exit.system_event.suspend" and r.function == "kvm_psci_1_x_call"
