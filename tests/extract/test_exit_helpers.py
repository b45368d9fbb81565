"""Exits set in a helper the patch adds (generator/extract/exits.py):

* the helper called as the body of an `if` without braces (`if (c)` then
  `return helper(vcpu);`) has that `if` as its guard;
* an `if` at the top of the helper's body that returns before the exit is
  passed only when false: its negation joins the condition, a local the
  helper initialises once shown as its initialiser, so the capability
  whose state it tests is found;
* a helper no line calls (posted ahead of its caller) is a note, not
  damage: the spec is still written without the rule;
* a run field the exit's block changes under a nested condition (or with
  `|=`) is no value the exit always gives: a note at its line, not a run
  field of the rule."""
from __future__ import annotations

from generator.extract import extract_spec
from generator.model import FindingKind, GuestRuleKind

from tests.extract.test_hunk_idioms import _mail

HELPER = """\
@@ -100,6 +100,10 @@ int kvm_vm_ioctl_enable_cap(struct kvm *kvm,
 \t\tr = 0;
 \t\tset_bit(KVM_ARCH_FLAG_SYSTEM_SUSPEND_ENABLED, &kvm->arch.flags);
 \t\tbreak;
+\tcase KVM_CAP_ARM_WIDGET_EXIT:
+\t\tr = 0;
+\t\tset_bit(KVM_ARCH_FLAG_WIDGET_EXIT, &kvm->arch.flags);
+\t\tbreak;
 \tdefault:
 \t\tr = -EINVAL;
 \t\tbreak;
@@ -200,6 +204,24 @@ static int kvm_other(struct kvm_vcpu *vcpu)
 \treturn 0;
 }
 
+static int widget_exit(struct kvm_vcpu *vcpu)
+{
+\tbool wanted = test_bit(KVM_ARCH_FLAG_WIDGET_EXIT,
+\t\t\t       &vcpu->kvm->arch.flags);
+
+\tif (widget_handled_by_host(vcpu) == 0)
+\t\treturn 1;
+
+\tif (!wanted) {
+\t\tkvm_inject_vabt(vcpu);
+\t\treturn 1;
+\t}
+
+\tvcpu->run->exit_reason = KVM_EXIT_WIDGET;
+\tvcpu->run->widget.esr = kvm_vcpu_get_esr(vcpu);
+\treturn 0;
+}
+
 int kvm_handle_widget_abort(struct kvm_vcpu *vcpu)
 {
 \tint ret;
@@ -300,3 +322,5 @@ int kvm_handle_widget_abort(struct kvm_vcpu *vcpu)
 \t/* a widget abort? */
+\tif (kvm_vcpu_is_widget(vcpu))
+\t\treturn widget_exit(vcpu);
 
 \tesr = kvm_vcpu_get_esr(vcpu);
"""


def test_a_braceless_call_site_and_the_helpers_early_returns_are_the_condition(tmp_path):
    spec = extract_spec(_mail(tmp_path, "arch/arm64/kvm/arm.c", HELPER), "t")
    assert not [f for f in spec.findings if f.kind is FindingKind.PARSE_ERROR]
    [r] = [r for r in spec.guest if r.kind is GuestRuleKind.EXIT]
    assert r.value == "KVM_EXIT_WIDGET" and r.function == "kvm_handle_widget_abort"
    assert r.when == ("kvm_vcpu_is_widget(vcpu) && !(widget_handled_by_host(vcpu) == 0) && "
                      "test_bit(KVM_ARCH_FLAG_WIDGET_EXIT, &vcpu->kvm->arch.flags)")
    assert r.cap == "KVM_CAP_ARM_WIDGET_EXIT"
    assert r.source.text == "if (kvm_vcpu_is_widget(vcpu))"


def test_an_exit_in_a_helper_nothing_calls_is_a_note_not_damage(tmp_path):
    uncalled = HELPER.replace("+\t\treturn widget_exit(vcpu);\n", "+\t\treturn 1;\n")
    spec = extract_spec(_mail(tmp_path, "arch/arm64/kvm/arm.c", uncalled), "t")
    assert not [r for r in spec.guest if r.kind is GuestRuleKind.EXIT]
    [f] = [f for f in spec.findings if "KVM_EXIT_WIDGET" in f.message]
    assert f.kind is FindingKind.NOTE
    assert "widget_exit(), which no line the patch adds calls" in f.message
    assert spec.operation("KVM_ENABLE_CAP(KVM_CAP_ARM_WIDGET_EXIT)") is not None


def test_a_run_field_changed_under_a_condition_is_a_note_not_a_field(tmp_path):
    varying = HELPER.replace(
        "+\tvcpu->run->widget.esr = kvm_vcpu_get_esr(vcpu);\n",
        "+\tvcpu->run->widget.esr = kvm_vcpu_get_esr(vcpu);\n"
        "+\tvcpu->run->widget.flags = 0;\n"
        "+\tif (widget_far_valid(vcpu))\n"
        "+\t\tvcpu->run->widget.flags |= 1;\n")
    varying = varying.replace("@@ -200,6 +204,24 @@", "@@ -200,6 +204,27 @@")
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c", varying)
    spec = extract_spec(f, "t")
    [r] = [r for r in spec.guest if r.kind is GuestRuleKind.EXIT]
    assert [x.path for x in r.run_fields] == ["widget.esr"]
    [note] = [x for x in spec.findings if "run->widget.flags is changed" in x.message]
    assert "(`widget_far_valid(vcpu)`)" in note.message
    assert note.source.text == "vcpu->run->widget.flags |= 1;"
