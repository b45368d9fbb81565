"""`if (a) { r = -E1; } else if (b) { r = -E2; } else { r = 0; ... }`: a
chain whose branches do not leave but set the local the code returns (a
KVM_ENABLE_CAP case ending in `break;`, a function ending in `return r;`).
The leading errno branches are ordered checks at their lines; the branch
that sets a non-errno value is the success; a chain whose errno comes after
a success branch is not read as checks."""
from __future__ import annotations

from generator.extract import extract_spec
from generator.model import Errno

from tests.extract.test_hunk_idioms import _line, _mail

ENABLE_CAP = """\
@@ -91,6 +91,19 @@ int kvm_vm_ioctl_enable_cap(struct kvm *kvm,
 \t\tr = 0;
 \t\tset_bit(KVM_ARCH_FLAG_SYSTEM_SUSPEND_ENABLED, &kvm->arch.flags);
 \t\tbreak;
+\tcase KVM_CAP_ARM_WIDGET:
+\t\twidth = cap->args[0];
+\t\tmutex_lock(&kvm->lock);
+\t\tif (kvm->created_vcpus) {
+\t\t\tr = -EBUSY;
+\t\t} else if (width > 16) {
+\t\t\tr = -ERANGE;
+\t\t} else {
+\t\t\tr = 0;
+\t\t\tkvm->arch.widget_width = width;
+\t\t}
+\t\tmutex_unlock(&kvm->lock);
+\t\tbreak;
 \tdefault:
 \t\tr = -EINVAL;
 \t\tbreak;
"""


def test_an_if_else_chain_setting_the_result_is_ordered_checks(tmp_path):
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c", ENABLE_CAP)
    spec = extract_spec(f, "t")
    op = spec.operation("KVM_ENABLE_CAP(KVM_CAP_ARM_WIDGET)")
    mine = [c for c in op.checks if c.source.seed == f.name]
    assert [(c.condition, c.errno, c.source.line) for c in mine] == [
        ("kvm->created_vcpus", Errno.EBUSY, _line(f, "+\t\tif (kvm->created_vcpus) {")),
        ("width > 16", Errno.ERANGE, _line(f, "+\t\t} else if (width > 16) {"))]
    assert "args[0]" in mine[1].reads          # the local is the capability's argument
    # the else is the success: `r = 0`, not the argument the case read first
    assert (op.success.ret, op.success.ret_value) == ("0", 0)
    assert "kvm->arch.widget_width = width" in op.effects


FUNCTION = """\
@@ -10,6 +10,22 @@ static int kvm_arm_other(struct kvm *kvm)
 \treturn 0;
 }
 
+static int kvm_vm_ioctl_set_widget(struct kvm *kvm, struct kvm_arm_widget *w)
+{
+\tint ret;
+
+\tif (w->flags) {
+\t\tret = -EINVAL;
+\t} else if (!w->size) {
+\t\tret = 0;
+\t} else if (w->size > 4096) {
+\t\tret = -E2BIG;
+\t} else {
+\t\tret = 0;
+\t}
+\treturn ret;
+}
+
 long kvm_arch_vm_ioctl(struct file *filp,
 \t\t       unsigned int ioctl, unsigned long arg)
 {
@@ -40,6 +56,13 @@ long kvm_arch_vm_ioctl(struct file *filp,
 \t\treturn kvm_vm_ioctl_mte_copy_tags(kvm, &copy_tags);
 \t}
+\tcase KVM_ARM_SET_WIDGET: {
+\t\tstruct kvm_arm_widget w;
+
+\t\tif (copy_from_user(&w, argp, sizeof(w)))
+\t\t\treturn -EFAULT;
+\t\treturn kvm_vm_ioctl_set_widget(kvm, &w);
+\t}
 \tdefault:
 \t\treturn -EINVAL;
 \t}
"""


def test_an_errno_after_a_success_branch_is_not_an_ordered_check(tmp_path):
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c", FUNCTION)
    spec = extract_spec(f, "t")
    op = spec.operation("KVM_ARM_SET_WIDGET")
    conds = [(c.condition, c.errno) for c in op.checks]
    # `!w->size` succeeds before the size bound is looked at: reading the
    # chain as checks in order would fail a call of size 0 with E2BIG
    assert ("w->size > 4096", Errno.E2BIG) not in conds
    # the leading errno branch is still the first check
    assert ("w->flags", Errno.EINVAL) in conds


CHECK_EXTENSION = """\
@@ -288,6 +288,12 @@ int kvm_vm_ioctl_check_extension(struct kvm *kvm, long ext)
 \tcase KVM_CAP_ARM_PTRAUTH_GENERIC:
 \t\tr = system_has_full_ptr_auth();
 \t\tbreak;
+\tcase KVM_CAP_ARM_WIDGET:
+\t\tif (kvm)
+\t\t\tr = kvm->arch.widget_width;
+\t\telse
+\t\t\tr = 4;
+\t\tbreak;
 \tdefault:
 \t\tr = 0;
 \t}
"""


def test_both_sides_setting_the_result_give_a_conditional_value(tmp_path):
    from generator.plan import plan
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c", ENABLE_CAP + CHECK_EXTENSION)
    spec = extract_spec(f, "t")
    op = spec.operation("KVM_CHECK_EXTENSION(KVM_CAP_ARM_WIDGET)")
    # the value after the if/else, not the last side walked (`4`)
    assert op.success.ret == "(kvm) ? (kvm->arch.widget_width) : (4)"
    assert op.success.ret_value is None
    # the capability answers a value: KVM_ENABLE_CAP's cases do not read an
    # answer of 0 as the capability's absence
    gated = [c for c in plan(spec) if c.requires_cap == "KVM_CAP_ARM_WIDGET"]
    assert gated and all(c.requires_value for c in gated)


PENDING = """\
@@ -91,6 +91,15 @@ int kvm_vm_ioctl_enable_cap(struct kvm *kvm,
 \t\tr = 0;
 \t\tset_bit(KVM_ARCH_FLAG_SYSTEM_SUSPEND_ENABLED, &kvm->arch.flags);
 \t\tbreak;
+\tcase KVM_CAP_ARM_GIZMO:
+\t\tr = 0;
+\t\tif (!irqchip_in_kernel(kvm))
+\t\t\tr = -ENXIO;
+\t\telse if (kvm->created_vcpus)
+\t\t\tr = -EBUSY;
+\t\telse
+\t\t\tkvm->arch.gizmo = cap->args[0];
+\t\tbreak;
 \tdefault:
 \t\tr = -EINVAL;
 \t\tbreak;
"""


def test_an_else_that_keeps_the_value_set_before_the_chain_is_the_success(tmp_path):
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c", PENDING)
    op = extract_spec(f, "t").operation("KVM_ENABLE_CAP(KVM_CAP_ARM_GIZMO)")
    mine = [c for c in op.checks if c.source.seed == f.name]
    assert [(c.condition, c.errno, c.source.line) for c in mine] == [
        ("!irqchip_in_kernel(kvm)", Errno.ENXIO, _line(f, "+\t\tif (!irqchip_in_kernel(kvm))")),
        ("kvm->created_vcpus", Errno.EBUSY, _line(f, "+\t\telse if (kvm->created_vcpus)"))]
    assert (op.success.ret, op.success.ret_value) == ("0", 0)
