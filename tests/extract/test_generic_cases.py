"""Cases a patch adds to virt/kvm/kvm_main.c's generic dispatchers, whose
blocks sit between `#ifdef CONFIG_...` lines: the case cut out of the
switch preprocesses (an `#ifdef` opened before the next label, an `#endif`
closing one opened above, are not its code), and KVM_ENABLE_CAP's generic
handler is a dispatcher like the architecture's."""
from __future__ import annotations

from generator.extract import extract_spec
from generator.extract.units import _balanced_conditionals
from generator.model import Errno, FindingKind

from tests.extract.test_hunk_idioms import _line, _mail

GENERIC = """\
@@ -3516,6 +3516,7 @@ static long kvm_vm_ioctl_check_extension_generic(struct kvm *kvm, long arg)
 \tcase KVM_CAP_IOEVENTFD_ANY_LENGTH:
 \tcase KVM_CAP_CHECK_EXTENSION_VM:
 \tcase KVM_CAP_ENABLE_CAP_VM:
+\tcase KVM_CAP_GADGET:
 \t\treturn 1;
 #ifdef CONFIG_KVM_MMIO
 \tcase KVM_CAP_COALESCED_MMIO:
@@ -3566,6 +3567,13 @@ static int kvm_vm_ioctl_enable_cap_generic(struct kvm *kvm,
 \t\treturn 0;
 \t}
 #endif
+\tcase KVM_CAP_GADGET: {
+\t\tif (cap->args[0] > 64)
+\t\t\treturn -ERANGE;
+
+\t\tkvm->gadget = cap->args[0];
+\t\treturn 0;
+\t}
 \tdefault:
 \t\treturn kvm_vm_ioctl_enable_cap(kvm, cap);
 \t}
"""


def test_a_generic_case_between_ifdefs_is_read(tmp_path):
    f = _mail(tmp_path, "virt/kvm/kvm_main.c", GENERIC)
    spec = extract_spec(f, "t")
    assert not [x for x in spec.findings if x.kind in (FindingKind.PARSE_ERROR,
                                                         FindingKind.DAMAGE)]
    assert spec.operation("KVM_CHECK_EXTENSION(KVM_CAP_GADGET)").success.ret_value == 1
    op = spec.operation("KVM_ENABLE_CAP(KVM_CAP_GADGET)")
    mine = [c for c in op.checks if c.source.seed == f.name]
    assert [(c.condition, c.errno, c.source.line) for c in mine] == [
        ("cap->args[0] > 64", Errno.ERANGE, _line(f, "+\t\tif (cap->args[0] > 64)"))]


def test_only_unbalanced_conditionals_are_blanked():
    lines = [(1, "#endif"), (2, "\treturn 1;"), (3, "#ifdef A"), (4, "\tx();"), (5, "#endif"),
             (6, "#ifdef B")]
    assert _balanced_conditionals(lines) == [
        (1, ""), (2, "\treturn 1;"), (3, "#ifdef A"), (4, "\tx();"), (5, "#endif"), (6, "")]
