"""Idioms of real series read from small synthetic hunks (kconform issue 12):

* lines a hunk adds that do not parse alone (`} else if` continuing code
  the hunk shows as context): the function's post-image is read, the added
  checks come with their patch line, in code order, and the checks the
  hunk shows as context are marked pre-existing, at their line;
* code between two hunks is unseen: nothing of it is invented (a line
  that is the body of an unseen statement is dropped, never a check);
* lines added inside a mainline case whose label the hunk does not show,
  found by the statement the vocabulary knows that case by;
* the generic checks of an entry point (KVM_ENABLE_CAP's copy of its
  argument in kvm_vm_ioctl), declared once in the vocabulary: first, their
  source the vocabulary, planned with an unmapped argument pointer;
* errors of kernel helpers the patch calls, listed in the vocabulary.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator.errors import SpecError
from generator.extract import extract_spec
from generator.extract.units import UNSEEN, post_image
from generator.model import Errno, Reach
from generator.model.case import ArgPointer
from generator.model.vocab import load_vocabulary


def _mail(tmp_path: Path, path: str, hunks: str, subject: str = "KVM: arm64: a test") -> Path:
    """A one-patch mail changing `path` with `hunks` (unified diff hunks)."""
    body = textwrap.dedent(hunks).strip("\n")
    text = (f"From: A Developer <dev@example.org>\n"
            f"Subject: [PATCH] {subject}\n"
            f"Date: Tue, 1 Dec 2026 10:00:00 +0000\n"
            f"Message-Id: <test-{abs(hash(hunks))}@example.org>\n\n"
            "A test patch.\n\nSigned-off-by: A Developer <dev@example.org>\n---\n"
            f" {path} | 4 ++++\n 1 file changed, 4 insertions(+)\n\n"
            f"diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n"
            f"--- a/{path}\n+++ b/{path}\n{body}\n-- \n2.30.0\n")
    f = tmp_path / "test.txt"
    f.write_text(text)
    return f


def _line(f: Path, text: str) -> int:
    return next(i for i, l in enumerate(f.read_text().splitlines(), 1) if l == text)


# -------------------------------------------------- post-image of a function
ELSE_IF = """\
@@ -720,9 +720,12 @@ int __kvm_arm_vcpu_set_events(struct kvm_vcpu *vcpu,
 \tif (events->exception.serror_has_esr > 1)
 \t\treturn -EINVAL;
 
 \tif (serror_pending && has_esr) {
 \t\tkvm_set_sei_esr(vcpu, 0);
+\t} else if (events->exception.ext_dabt_pending > 1) {
+\t\treturn -ERANGE;
 \t} else if (serror_pending) {
 \t\tkvm_inject_vabt(vcpu);
 \t}
 
 \treturn 0;
 }
"""


def test_else_if_lines_are_read_in_the_functions_post_image(tmp_path):
    f = _mail(tmp_path, "arch/arm64/kvm/guest.c", ELSE_IF)
    spec = extract_spec(f, "t")
    assert not [x for x in spec.findings if "does not parse" in x.message]
    op = spec.operation("KVM_SET_VCPU_EVENTS")
    mine = [c for c in op.checks if c.source.seed == f.name]
    # the check the hunk shows as context, then the added one, in code order
    assert [(c.condition, c.errno) for c in mine] == [
        ("events->exception.serror_has_esr > 1", Errno.EINVAL),
        ("events->exception.ext_dabt_pending > 1", Errno.ERANGE)]
    old, new = mine
    assert old.context and old.source.line == _line(f, " \tif (events->exception.serror_has_esr > 1)")
    assert not new.context
    assert new.source.line == _line(f, "+\t} else if (events->exception.ext_dabt_pending > 1) {")
    assert old.order < new.order and [c.order for c in op.checks] == list(
        range(1, len(op.checks) + 1))


def test_the_added_lines_alone_would_not_parse(tmp_path):
    """The fallback (the added lines alone) is what failed before: the
    post-image is what makes them readable."""
    f = _mail(tmp_path, "arch/arm64/kvm/guest.c", ELSE_IF)
    from generator.extract.units import collect_units
    from generator.ingest import load_series
    from generator import cparse
    (p,) = load_series(f).patches
    (u,) = [u for u in collect_units(p, f.name, load_vocabulary()) if u.added is not None]
    with pytest.raises(cparse.CParseError):
        text, first = cparse.join_lines(u.fallback, f.name)
        cparse.parse(f"int f(void) {{\n{text}\n}}", f.name, first - 1)


def test_code_between_hunks_is_unseen_not_invented(tmp_path):
    """The second hunk starts with the body of a statement the mail does not
    show (`return -EINVAL;` three tabs deep): it is dropped, and the
    `} else if` gets an unseen head; no check is made of either."""
    f = _mail(tmp_path, "arch/arm64/kvm/guest.c", """\
        @@ -720,6 +720,7 @@ int __kvm_arm_vcpu_set_events(struct kvm_vcpu *vcpu,
         {
         \tbool serror_pending = events->exception.serror_pending;
        +\tbool ext = events->exception.ext_dabt_pending;
         
         \tif (serror_pending && has_esr) {
         \t\tif (!cpus_have_const_cap(ARM64_HAS_RAS_EXTN))
        @@ -731,6 +732,8 @@ int __kvm_arm_vcpu_set_events(struct kvm_vcpu *vcpu,
         \t\t\treturn -EINVAL;
         \t} else if (serror_pending) {
         \t\tkvm_inject_vabt(vcpu);
        +\t} else if (ext > 1) {
        +\t\treturn -ERANGE;
         \t}
         
         \treturn 0;
        """)
    spec = extract_spec(f, "t")
    op = spec.operation("KVM_SET_VCPU_EVENTS")
    mine = [c for c in op.checks if c.source.seed == f.name]
    assert [(c.condition, c.errno, c.context) for c in mine] == [("ext > 1", Errno.ERANGE, False)]
    assert not any(c.value is True for c in op.checks), "no unconditional return is invented"


def test_post_image_of_fragments():
    """The assembly itself: the function's own brace dropped, a gap between
    fragments one unseen statement, blocks closed at each fragment's end, and
    a fragment starting inside a block gets an unseen head."""
    first = [(1, "{"), (2, "\tint r;"), (3, "\tif (a) {"), (4, "\t\tif (b)")]
    second = [(9, "\t\t\treturn -EINVAL;"), (10, "\t} else if (c) {"), (11, "\t\tr = 1;"),
              (12, "\t}"), (13, "\treturn r;")]
    out = [t.strip() for _, t in post_image([first, second])]
    assert out == ["int r;", "if (a) {", "if (b)", f"{UNSEEN}();", "}",
                   f"{UNSEEN}();", f"if ({UNSEEN}()) {{", "} else if (c) {", "r = 1;", "}",
                   "return r;"]
    assert "return -EINVAL;" not in out


# -------------------------------------------------- a case whose label is not shown
REG_LIST = """\
@@ -1116,6 +1119,10 @@ long kvm_arch_vcpu_ioctl(struct file *filp,
 \t\tif (unlikely(!kvm_vcpu_initialized(vcpu)))
 \t\t\tbreak;
 
+\t\tr = -EPERM;
+\t\tif (vcpu->arch.pmu.created)
+\t\t\tbreak;
+
 \t\tr = -EFAULT;
 \t\tif (copy_from_user(&reg_list, user_list, sizeof(reg_list)))
 \t\t\tbreak;
"""


def test_lines_added_inside_an_unlabelled_mainline_case(tmp_path):
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c", REG_LIST)
    spec = extract_spec(f, "t")
    op = spec.operation("KVM_GET_REG_LIST")
    assert op.fd == "vcpu" and op.arg_type == "struct kvm_reg_list"
    got = [(c.condition, c.errno, c.context, c.source.seed, c.source.line) for c in op.checks]
    voc = load_vocabulary()
    rule = {c.id: c for c in voc.context["kvm_arch_vcpu_ioctl"] if c.case == "KVM_GET_REG_LIST"}
    assert got == [
        # the `break` whose `r = -ENOEXEC` the hunk does not show: the vocabulary's
        # mainline context of the case gives its errno, at the vocabulary's line
        ("!kvm_vcpu_initialized(vcpu)", Errno.ENOEXEC, True, rule["not_vcpu_initialised"].file,
         rule["not_vcpu_initialised"].line),
        ("vcpu->arch.pmu.created", Errno.EPERM, False, f.name,
         _line(f, "+\t\tif (vcpu->arch.pmu.created)")),
        ("copy_from_user(&reg_list, user_list, sizeof(reg_list))", Errno.EFAULT, True, f.name,
         _line(f, " \t\tif (copy_from_user(&reg_list, user_list, sizeof(reg_list)))")),
        # below the hunk: the case's E2BIG
        ("reg_list.n < kvm_arm_num_regs(vcpu)", Errno.E2BIG, True, rule["n_below_reg_count"].file,
         rule["n_below_reg_count"].line)]
    (note,) = [x for x in spec.findings if "set before the hunk" in x.message]
    assert note.source.line == _line(f, " \t\tif (unlikely(!kvm_vcpu_initialized(vcpu)))")
    # mainline's EPERM lies between the lines the hunk shows, which do not make it
    (gap,) = [x for x in spec.findings if "lies between lines the hunk shows" in x.message]
    assert "!kvm_arm_vcpu_is_finalized(vcpu)" in gap.message


def test_without_the_anchor_no_case_is_guessed(tmp_path):
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c",
              REG_LIST.replace("copy_from_user(&reg_list, user_list, sizeof(reg_list))",
                               "copy_from_user(&other, user_list, sizeof(other))"))
    spec = extract_spec(f, "t")
    assert not [o for o in spec.operations if o.name == "KVM_GET_REG_LIST"]


# -------------------------------------------------- an entry point's own checks
CAP = """\
@@ -80,6 +80,13 @@ int kvm_vm_ioctl_enable_cap(struct kvm *kvm,
 \t\treturn -EINVAL;
 
 \tswitch (cap->cap) {
+\tcase KVM_CAP_ARM_TEST:
+\t\tr = -EINVAL;
+\t\tif (cap->args[0])
+\t\t\tbreak;
+\t\tr = 0;
+\t\tkvm->arch.test = true;
+\t\tbreak;
 \tdefault:
 \t\tr = -EINVAL;
 \t\tbreak;
"""


def test_an_entry_points_check_comes_first_from_the_vocabulary(tmp_path):
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c", CAP)
    spec = extract_spec(f, "t")
    op = spec.operation("KVM_ENABLE_CAP(KVM_CAP_ARM_TEST)")
    first = op.checks[0]
    assert (first.id, first.errno, first.context) == ("cap_copy_faults", Errno.EFAULT, True)
    assert first.source.seed == "vocabulary.yaml" and first.source.patch == \
        "entry point KVM_ENABLE_CAP"
    text = load_vocabulary().path.read_text().splitlines()
    assert "copy_from_user(&cap, argp, sizeof(cap))" in text[first.source.line - 1]
    # the planner makes it fail with the argument pointing at an unmapped page
    from generator.plan import plan
    (case,) = [c for c in plan(spec) if c.violates == ["cap_copy_faults"]]
    assert case.steps[-1].arg is ArgPointer.UNMAPPED
    assert ".argp = KC_ARG_UNMAPPED" in " ".join(case.steps[-1].c_init(_Renderer()))


class _Renderer:
    """Fake renderer for one step's C initialiser (only cap_macro is asked)."""

    @staticmethod
    def cap_macro(cap, *_):
        return f"KCONFORM_{cap}"


def test_the_patch_showing_the_entry_function_takes_its_place(tmp_path):
    """A patch that adds kvm_vm_ioctl itself shows the generic code: the
    vocabulary's entry-point check is not added on top of it."""
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c", CAP + """\
@@ -900,6 +907,12 @@ static int other(void)
 \treturn 0;
 }
 
+long kvm_vm_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
+{
+\treturn 0;
+}
+
 static int more(void)
""")
    spec = extract_spec(f, "t")
    op = spec.operation("KVM_ENABLE_CAP(KVM_CAP_ARM_TEST)")
    assert op.checks and not any(c.id == "cap_copy_faults" for c in op.checks)


def _vocabulary(tmp_path: Path, entry: str) -> Path:
    base = load_vocabulary().path.read_text()
    f = tmp_path / "vocabulary.yaml"
    f.write_text(base.replace("entry_points:\n", "entry_points:\n" + entry, 1))
    for inc in ("vocabulary",):
        (tmp_path / inc).symlink_to(load_vocabulary().path.parent / inc)
    return f


@pytest.mark.parametrize("entry,message", [
    ("  - ioctl: KVM_CHECK_EXTENSION\n    fd: disk\n    function: kvm_vm_ioctl\n",
     "fd 'disk' is not one of"),
    ("  - ioctl: KVM_CHECK_EXTENSION\n    fd: vm\n    function: kvm_vm_ioctl\n"
     "    checks:\n      - condition: \"arg\"\n        errno: EWHATEVER\n",
     "errno 'EWHATEVER' is not an errno"),
    ("  - ioctl: KVM_CHECK_EXTENSION\n    fd: vm\n    function: kvm_vm_ioctl\n"
     "    checks:\n      - condition: \"arg &&\"\n        errno: EINVAL\n",
     "is not a C expression"),
    ("  - ioctl: KVM_ENABLE_CAP\n    fd: vm\n    function: kvm_vm_ioctl\n",
     "is already declared at"),
    ("  - ioctl: KVM_CHECK_EXTENSION\n    fd: vm\n", "needs an ioctl, an fd and a function"),
    # a default is an errno, or a number the request returns (not a word)
    ("  - ioctl: KVM_RUN\n    fd: vcpu\n    function: kvm_vcpu_ioctl\n    default:\n"
     "      returns: none\n", r"default: needs an errno \(or `returns:` a number\)"),
])
def test_the_loader_checks_entry_points(tmp_path, entry, message):
    f = _vocabulary(tmp_path, entry)
    with pytest.raises(SpecError, match=message) as e:
        load_vocabulary(f)
    assert str(e.value).startswith(f"{f}:")
    line = int(str(e.value).split(":")[1])
    assert f.read_text().splitlines()[line - 1].lstrip(" -").startswith(
        ("ioctl:", "condition:", "default:")), "the line of the entry or its check"


# -------------------------------------------------- a kernel helper's errors
HELPER = """\
@@ -80,6 +80,26 @@ int kvm_vm_ioctl_enable_cap(struct kvm *kvm,
 \t\treturn -EINVAL;
 
 \tswitch (cap->cap) {
+\tcase KVM_CAP_ARM_TEST:
+\t\tr = kvm_test_set(kvm, cap->args[0], cap->args[1]);
+\t\tbreak;
 \tdefault:
 \t\tr = -EINVAL;
 \t\tbreak;
@@ -900,6 +920,23 @@ static int other(void)
 \treturn 0;
 }
 
+static int kvm_test_set(struct kvm *kvm, u32 start, u32 end)
+{
+\tint r;
+
+\tr = mtree_insert_range(&kvm->arch.table, start, end, NULL, GFP_KERNEL);
+\tif (r)
+\t\tgoto out;
+
+\tr = frobnicate_table(kvm);
+\tif (r)
+\t\tgoto out;
+
+\tr = 0;
+out:
+\treturn r;
+}
+
 static int more(void)
"""


def test_a_listed_helpers_errors_are_checks_an_unlisted_one_a_finding(tmp_path):
    f = _mail(tmp_path, "arch/arm64/kvm/arm.c", HELPER)
    spec = extract_spec(f, "t")
    op = spec.operation("KVM_ENABLE_CAP(KVM_CAP_ARM_TEST)")
    lines = [i for i, l in enumerate(f.read_text().splitlines(), 1) if l == "+\tif (r)"]
    mine = [c for c in op.checks if c.source.seed == f.name]
    assert [(c.id, c.errno, c.reach, c.source.line) for c in mine] == [
        ("range_overlaps", Errno.EEXIST, Reach.REACHABLE, lines[0]),
        ("host_memory_exhausted", Errno.ENOMEM, Reach.HOST_ONLY, lines[0])]
    assert mine[0].condition.startswith("mtree_insert_range(&kvm->arch.table, start, end")
    assert mine[0].condition.endswith("== -EEXIST")
    # frobnicate_table is in no vocabulary: its errors are not guessed, its `if` is a finding
    (note,) = [x for x in spec.findings if "not a constant the extractor can read" in x.message]
    assert note.source.line == lines[1]


def test_the_loader_checks_a_helpers_errors(tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text("helpers:\n  h:\n    concept: value_of\n    errors:\n"
                 "      - errno: EEXIST\n        concept: lock\n")
    with pytest.raises(SpecError, match="concept 'lock' is not a predicate concept"):
        load_vocabulary(f)
    f.write_text("helpers:\n  h:\n    concept: value_of\n    errors:\n"
                 "      - errno: ENOPE\n        concept: range_overlaps\n")
    with pytest.raises(SpecError, match=r"v.yaml:2: helpers.h: errno 'ENOPE'"):
        load_vocabulary(f)
