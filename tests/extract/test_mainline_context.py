"""The vocabulary's mainline context of pre-existing code a hunk sits in,
read from small synthetic hunks and a synthetic user vocabulary:

* `function case LABEL` lists one case's mainline checks in order: a rule
  the hunk shows is read where the hunk has it; an `if (cond) break;` the
  hunk shows whose `r = -E;` is above the hunk takes the rule's errno (its
  source the vocabulary line, marked context, a note at the `if`); rules
  listed above the first shown one come first, rules below the last shown
  one after the patch's code, and one listed between two shown rules (not
  in the code the hunk shows) is a note, never a check;
* a case the patch adds whole has no mainline code: no case rule applies;
* `after: true` of a dispatcher's rule (the ENXIO after
  kvm_arm_pmu_v3_has_attr's switch) comes after the patch's own checks;
* a predicate the patch defines as a constant but the vocabulary maps with
  a lever is a placeholder: read with the concept (a note), not folded.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator.extract import extract_spec
from generator.model import Errno, Reach
from generator.model.vocab import load_vocabulary, set_user_vocabularies

VOCAB = """\
predicates:
  kvm_frob_busy:
    concept: vcpus_created
    reach: reachable
    lever: add_vcpu_first
  kvm_frob_locked:
    concept: vcpus_created
    reach: reachable
    lever: add_vcpu_first
cases:
  kvm_arch_vcpu_ioctl:
    KVM_FROB:
      anchor: "copy_from_user(&frob, argp, sizeof(frob))"
      arg: struct kvm_frob
context:
  kvm_arch_vcpu_ioctl case KVM_FROB:
    - condition: "kvm_frob_busy(vcpu)"
      id: frob_busy
      errno: EBUSY
    - condition: "!kvm_vcpu_initialized(vcpu)"
      id: not_vcpu_initialised
      errno: ENOEXEC
      where: "a test: `r = -ENOEXEC;` above the hunk"
    - condition: "kvm_frob_locked(vcpu)"
      id: frob_locked
      errno: EPERM
    - condition: "copy_from_user(&frob, argp, sizeof(frob))"
      id: frob_copy_faults
      errno: EFAULT
    - condition: "frob.count > 8"
      id: count_too_big
      errno: E2BIG
      reads: [count]
"""

# the case's label and its first lines are above the hunk
IN_CASE = """\
@@ -10,6 +10,10 @@ long kvm_arch_vcpu_ioctl(struct file *filp,
 \t\tif (unlikely(!kvm_vcpu_initialized(vcpu)))
 \t\t\tbreak;
 
 \t\tr = -EFAULT;
 \t\tif (copy_from_user(&frob, argp, sizeof(frob)))
 \t\t\tbreak;
+
+\t\tr = -EINVAL;
+\t\tif (frob.flags)
+\t\t\tbreak;
"""

WHOLE_CASE = """\
@@ -10,6 +10,16 @@ long kvm_arch_vcpu_ioctl(struct file *filp,
 \t\treturn kvm_arm_vcpu_set_events(vcpu, &events);
 \t}
+\tcase KVM_FROB: {
+\t\tstruct kvm_frob frob;
+
+\t\tif (copy_from_user(&frob, argp, sizeof(frob)))
+\t\t\treturn -EFAULT;
+\t\tif (frob.flags)
+\t\t\treturn -EINVAL;
+\t\treturn 0;
+\t}
 \tdefault:
 \t\tr = -EINVAL;
"""


@pytest.fixture
def voc(tmp_path):
    f = tmp_path / "kconform-vocabulary.yaml"
    f.write_text(VOCAB)
    set_user_vocabularies([f])
    yield load_vocabulary(extra=[f])
    set_user_vocabularies([])


def _mail(tmp_path: Path, path: str, hunks: str, header: str = "") -> Path:
    """A one-patch mail changing `path` with `hunks`, and a header with
    `header`'s added lines first when given."""
    diff = ""
    if header:
        diff += (f"diff --git a/include/frob.h b/include/frob.h\nindex 1111111..2222222 100644\n"
                 f"--- a/include/frob.h\n+++ b/include/frob.h\n{textwrap.dedent(header).strip()}\n")
    diff += (f"diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n"
             f"--- a/{path}\n+++ b/{path}\n{textwrap.dedent(hunks).strip(chr(10))}\n")
    f = tmp_path / "test.txt"
    f.write_text("From: A Developer <dev@example.org>\nSubject: [PATCH] KVM: arm64: a test\n"
                 "Date: Tue, 1 Dec 2026 10:00:00 +0000\n"
                 f"Message-Id: <ctx-{abs(hash(hunks + header))}@example.org>\n\n"
                 "A test patch.\n\nSigned-off-by: A Developer <dev@example.org>\n---\n"
                 f" {path} | 4 ++++\n 1 file changed, 4 insertions(+)\n\n{diff}-- \n2.30.0\n")
    return f


def _line(f: Path, text: str) -> int:
    return next(i for i, l in enumerate(f.read_text().splitlines(), 1) if l == text)


def test_a_cases_rules_around_and_inside_the_hunk(tmp_path, voc):
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c", IN_CASE)
    spec = extract_spec(f, "t", voc)
    op = spec.operation("KVM_FROB")
    rule = {c.id: c for c in voc.context["kvm_arch_vcpu_ioctl"] if c.case == "KVM_FROB"}
    got = [(c.id, c.errno, c.context, c.source.seed, c.source.line) for c in op.checks]
    at = lambda r: (r.file, r.line)                     # noqa: E731
    assert got == [
        # above the hunk: first
        ("frob_busy", Errno.EBUSY, True, *at(rule["frob_busy"])),
        # shown, its errno above the hunk: the rule's, at the vocabulary line
        ("not_vcpu_initialised", Errno.ENOEXEC, True, *at(rule["not_vcpu_initialised"])),
        # shown with its errno: the hunk's, at the mail line, pre-existing
        ("user_read_faults", Errno.EFAULT, True, f.name,
         _line(f, " \t\tif (copy_from_user(&frob, argp, sizeof(frob)))")),
        # the patch's own
        ("flags_nonzero", Errno.EINVAL, False, f.name, _line(f, "+\t\tif (frob.flags)")),
        # below the hunk: after the patch's code
        ("count_too_big", Errno.E2BIG, True, *at(rule["count_too_big"]))]
    assert rule["not_vcpu_initialised"].file == "kconform-vocabulary.yaml"
    assert op.checks[1].source.patch == "context"
    (note,) = [x for x in spec.findings if "from the vocabulary's mainline context" in x.message]
    assert "-ENOEXEC" in note.message and "case KVM_FROB" in note.message
    assert note.source.line == _line(f, " \t\tif (unlikely(!kvm_vcpu_initialized(vcpu)))")
    # listed between two rules the hunk shows, which does not make it: a note only
    (gap,) = [x for x in spec.findings if "lies between lines the hunk shows" in x.message]
    assert "kvm_frob_locked(vcpu)" in gap.message
    assert "frob_locked" not in {c.id for c in op.checks}


def test_without_the_rule_the_break_stays_a_note(tmp_path, voc):
    """The same hunk with the ENOEXEC rule gone from the vocabulary: the
    `break`'s errno is unknown, so no check, and the note says why."""
    f = tmp_path / "v.yaml"
    f.write_text(VOCAB.replace('"!kvm_vcpu_initialized(vcpu)"', '"!kvm_frob_ready(vcpu)"'))
    other = load_vocabulary(extra=[f])
    spec = extract_spec(_mail(tmp_path, "arch/arm64/kvm/arm.c", IN_CASE), "t", other)
    op = spec.operation("KVM_FROB")
    assert "!kvm_vcpu_initialized(vcpu)" not in {c.condition for c in op.checks}
    assert any("leaves with `break`: the error it returns is set before the hunk" in x.message
               for x in spec.findings)


def test_a_case_the_patch_adds_whole_has_no_mainline_rules(tmp_path, voc):
    spec = extract_spec(_mail(tmp_path, "arch/arm64/kvm/arm.c", WHOLE_CASE), "t", voc)
    op = spec.operation("KVM_FROB")
    assert [(c.errno, c.context) for c in op.checks] == [(Errno.EFAULT, False),
                                                         (Errno.EINVAL, False)]


HAS_ATTR = """\
@@ -1083,6 +1122,9 @@ int kvm_arm_pmu_v3_has_attr(struct kvm_vcpu *vcpu, struct kvm_device_attr *attr)
 \tcase KVM_ARM_VCPU_PMU_V3_INIT:
 \tcase KVM_ARM_VCPU_PMU_V3_FILTER:
+\tcase KVM_ARM_VCPU_PMU_V3_SET_PMU:
+\t\tif (kvm_frob_busy(vcpu))
+\t\t\treturn -EBUSY;
 \t\tif (kvm_vcpu_has_pmu(vcpu))
 \t\t\treturn 0;
 \t}
"""


def test_an_after_rule_comes_after_the_patchs_checks(tmp_path, voc):
    """kvm_arm_pmu_v3_has_attr: the ENXIO after its switch (`after: true` in
    the bundled vocabulary) follows the check the patch adds to the case."""
    spec = extract_spec(_mail(tmp_path, "arch/arm64/kvm/pmu-emul.c", HAS_ATTR), "t", voc)
    op = spec.operation("KVM_HAS_DEVICE_ATTR(KVM_ARM_VCPU_PMU_V3_CTRL/KVM_ARM_VCPU_PMU_V3_SET_PMU)")
    assert [(c.condition, c.errno, c.context) for c in op.checks] == [
        ("copy_from_user(&attr, argp, sizeof(attr))", Errno.EFAULT, True),
        ("kvm_frob_busy(vcpu)", Errno.EBUSY, False),
        ("!kvm_vcpu_has_pmu(vcpu)", Errno.ENXIO, True)]
    assert op.checks[-1].source.seed == "kvm-arm.yaml"


PLACEHOLDER_H = """\
@@ -1,3 +1,4 @@
 #include <linux/types.h>
+#define kvm_frob_busy(vcpu) false
+#define kvm_frob_stuck(vcpu) false
"""

USES_PLACEHOLDERS = """\
@@ -10,6 +10,12 @@ long kvm_arch_vcpu_ioctl(struct file *filp,
 \t\tr = -EFAULT;
 \t\tif (copy_from_user(&frob, argp, sizeof(frob)))
 \t\t\tbreak;
+\t\tr = -EBUSY;
+\t\tif (kvm_frob_busy(vcpu))
+\t\t\tbreak;
+\t\tr = -EAGAIN;
+\t\tif (kvm_frob_stuck(vcpu))
+\t\t\tbreak;
"""


def test_a_placeholder_of_a_mapped_predicate_is_read_with_its_concept(tmp_path, voc):
    """`#define kvm_frob_busy(vcpu) false` where the vocabulary maps
    kvm_frob_busy with a lever: the check is the concept's (reachable, a
    note names the placeholder); kvm_frob_stuck, unmapped, stays folded to
    its constant: the check never fails (dead code)."""
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c", USES_PLACEHOLDERS, header=PLACEHOLDER_H)
    spec = extract_spec(f, "t", voc)
    got = {c.condition: c for c in spec.operation("KVM_FROB").checks}
    busy, stuck = got["kvm_frob_busy(vcpu)"], got["kvm_frob_stuck(vcpu)"]
    assert [(p.spelling, p.concept, p.value) for p in busy.predicates] == [
        ("kvm_frob_busy", "vcpus_created", None)]
    assert busy.reach is Reach.REACHABLE and busy.value is None
    (note,) = [x for x in spec.findings if "a placeholder for mainline's predicate" in x.message]
    assert "kvm_frob_busy" in note.message
    assert f"line {_line(f, '+#define kvm_frob_busy(vcpu) false')}" in note.message
    assert stuck.value is False and stuck.reach is Reach.UNREACHABLE


# a patch that adds checks at the top of a dispatcher and, in a second hunk,
# a case of its switch
HEAD_APART = """\
@@ -20,6 +20,9 @@ static int frob_prio(struct kvm_vcpu *vcpu)
 
 int kvm_arm_pmu_v3_set_attr(struct kvm_vcpu *vcpu, struct kvm_device_attr *attr)
 {
+\tif (vcpu->arch.frob_locked)
+\t\treturn -EBUSY;
+
 \tswitch (attr->attr) {
 \tcase KVM_ARM_VCPU_PMU_V3_IRQ: {
 \t\tint __user *uaddr = (int __user *)(long)attr->addr;
@@ -40,6 +43,13 @@ int kvm_arm_pmu_v3_set_attr(struct kvm_vcpu *vcpu, struct kvm_device_attr *attr)
 \t\tvcpu->arch.pmu.irq_num = irq;
 \t\treturn 0;
 \t}
+\tcase KVM_ARM_VCPU_PMU_V3_FROB: {
+\t\tif (vcpu->arch.frob_count > 3)
+\t\t\treturn -EINVAL;
+\t\treturn 0;
+\t}
+
 \tcase KVM_ARM_VCPU_PMU_V3_INIT:
 \t\treturn kvm_arm_pmu_v3_init(vcpu);
"""


def test_checks_added_at_a_dispatchers_top_apart_from_its_case_are_said(tmp_path, voc):
    """The case is read from its own hunk with the vocabulary's mainline
    rules before the switch; the patch's own check there, in the other hunk,
    is not joined to it: a finding names its line."""
    header = """\
    @@ -1,3 +1,4 @@
     #define KVM_ARM_VCPU_PMU_V3_INIT	1
    +#define KVM_ARM_VCPU_PMU_V3_FROB	5
    """
    f = _mail(tmp_path, "arch/arm64/kvm/pmu-emul.c", HEAD_APART, header)
    spec = extract_spec(f, "head-apart")
    notes = [x for x in spec.findings if "at the top of kvm_arm_pmu_v3_set_attr" in x.message]
    assert len(notes) == 1
    assert notes[0].source.line == _line(f, "+\tif (vcpu->arch.frob_locked)")
    op = next(o for o in spec.operations if "FROB" in o.name and "SET" in o.name)
    assert any(c.errno is Errno.EINVAL for c in op.checks)
