"""A `case` the patch adds for a uAPI constant it defines, in a function the
vocabulary lists as no dispatcher (a subsystem's own attribute switch), is
said as a finding at its line: the request it serves has no operation in
the spec, instead of a spec silently without it.  A case inside code an
operation walks, or one handing over to such code, is no finding."""
from __future__ import annotations

from pathlib import Path

from generator.extract import extract_spec

UAPI = """\
diff --git a/arch/arm64/include/uapi/asm/kvm.h b/arch/arm64/include/uapi/asm/kvm.h
index 1111111..2222222 100644
--- a/arch/arm64/include/uapi/asm/kvm.h
+++ b/arch/arm64/include/uapi/asm/kvm.h
@@ -366,4 +366,5 @@ struct kvm_arm_copy_mte_tags {
 #define KVM_ARM_VCPU_TIMER_CTRL\t\t1
 #define   KVM_ARM_VCPU_TIMER_IRQ_VTIMER\t\t0
 #define   KVM_ARM_VCPU_TIMER_IRQ_PTIMER\t\t1
+#define   KVM_ARM_VCPU_TIMER_WOBBLE\t\t2
 #define KVM_ARM_VCPU_PVTIME_CTRL\t2
"""

CODE = """\
diff --git a/arch/arm64/kvm/arch_timer.c b/arch/arm64/kvm/arch_timer.c
index 3333333..4444444 100644
--- a/arch/arm64/kvm/arch_timer.c
+++ b/arch/arm64/kvm/arch_timer.c
@@ -1400,6 +1400,9 @@ int kvm_arm_timer_set_attr(struct kvm_vcpu *vcpu, struct kvm_device_attr *attr)
 \tcase KVM_ARM_VCPU_TIMER_IRQ_VTIMER:
 \tcase KVM_ARM_VCPU_TIMER_IRQ_PTIMER:
 \t\treturn kvm_arm_timer_set_attr_irq(vcpu, attr);
+\tcase KVM_ARM_VCPU_TIMER_WOBBLE:
+\t\tif (!cpus_have_final_cap(ARM64_HAS_WOBBLE))
+\t\t\treturn -ENXIO;
 \tdefault:
 \t\treturn -ENXIO;
 \t}
"""


def _mail(tmp_path: Path, code: str) -> Path:
    f = tmp_path / "wobble.txt"
    f.write_text("From: A Developer <dev@example.org>\n"
                 "Subject: [PATCH] KVM: arm64: a timer wobble attribute\n"
                 "Date: Tue, 1 Dec 2026 10:00:00 +0000\n"
                 "Message-Id: <wobble-1@example.org>\n\nA test patch.\n\n"
                 "Signed-off-by: A Developer <dev@example.org>\n---\n"
                 " arch/arm64/include/uapi/asm/kvm.h | 1 +\n arch/arm64/kvm/arch_timer.c | 3 +++\n"
                 " 2 files changed, 4 insertions(+)\n\n" + UAPI + code + "-- \n2.30.0\n")
    return f


def test_a_case_outside_every_dispatcher_is_a_finding_at_its_line(tmp_path):
    f = _mail(tmp_path, CODE)
    spec = extract_spec(f, "t")
    assert not spec.operations
    [note] = [x for x in spec.findings if "no dispatcher the vocabulary lists" in x.message]
    line = next(i for i, l in enumerate(f.read_text().splitlines(), 1)
                if l == "+\tcase KVM_ARM_VCPU_TIMER_WOBBLE:")
    assert note.source.line == line
    assert note.message.startswith("`case KVM_ARM_VCPU_TIMER_WOBBLE:` in kvm_arm_timer_set_attr()")


def test_a_case_an_operation_reaches_is_no_finding(tmp_path):
    # the same case in the vCPU attribute dispatcher the vocabulary lists
    code = CODE.replace("int kvm_arm_timer_set_attr(", "int kvm_arm_vcpu_arch_set_attr(")
    spec = extract_spec(_mail(tmp_path, code), "t")
    assert spec.operations
    assert not [x for x in spec.findings if "no dispatcher the vocabulary lists" in x.message]


def test_a_seed_with_code_but_no_operation_says_why_not_prose_only(tmp_path):
    from generator.plan import nothing_to_run
    spec = extract_spec(_mail(tmp_path, CODE), "t")
    why = nothing_to_run(spec)
    assert not why.startswith("the seed is prose only")
    assert why.startswith("no operation or guest rule was extracted from its uAPI and code "
                          "(it defines KVM_ARM_VCPU_TIMER_WOBBLE)")
    line = next(i for i, l in enumerate(_mail(tmp_path, CODE).read_text().splitlines(), 1)
                if l == "+\tcase KVM_ARM_VCPU_TIMER_WOBBLE:")
    assert f"the first at wobble.txt:{line}: `case KVM_ARM_VCPU_TIMER_WOBBLE:`" in why
