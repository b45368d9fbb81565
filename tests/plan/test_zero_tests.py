"""A check `!field` (or `field == 0`) fails when the input is 0: the case
that violates it gives 0, every other case (the valid call first) gives 1,
instead of the check being `untested` for want of a lever."""
from __future__ import annotations

from generator.extract import extract_spec
from generator.model import Errno
from generator.model.case import EnableCap, StepRole
from generator.plan import plan_all

from tests.extract.test_hunk_idioms import _mail

ZERO = """\
@@ -91,6 +91,14 @@ int kvm_vm_ioctl_enable_cap(struct kvm *kvm,
 \t\tr = 0;
 \t\tset_bit(KVM_ARCH_FLAG_SYSTEM_SUSPEND_ENABLED, &kvm->arch.flags);
 \t\tbreak;
+\tcase KVM_CAP_ARM_DOODAD: {
+\t\tu64 period = cap->args[0];
+
+\t\tif (!period)
+\t\t\treturn -EINVAL;
+\t\tkvm->arch.doodad_period = period;
+\t\treturn 0;
+\t}
 \tdefault:
 \t\tr = -EINVAL;
 \t\tbreak;
"""


def _args(case):
    step = next(s for s in case.steps if s.role is StepRole.SUBJECT)
    assert isinstance(step, EnableCap)
    return step.args


def test_a_zero_test_on_an_argument_gets_a_case(tmp_path):
    spec = extract_spec(_mail(tmp_path, "arch/arm64/kvm/arm.c", ZERO), "t")
    op = spec.operation("KVM_ENABLE_CAP(KVM_CAP_ARM_DOODAD)")
    [check] = [c for c in op.checks if c.condition == "!period"]
    assert check.errno is Errno.EINVAL
    plan = plan_all(spec)
    assert check.id not in {u.check for u in plan.untested}
    [bad] = [c for c in plan.cases if list(c.violates) == [check.id]]
    valid = next(c for c in plan.cases if c.id.endswith("enable_cap.valid"))
    assert _args(bad)[0] == 0 and _args(valid)[0] == 1
