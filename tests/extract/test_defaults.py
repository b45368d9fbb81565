"""What the target's mainline answers where a patch adds no handler
(generator/extract/defaults.py), from small synthetic mails:

* a device-attribute family a patch adds on a VM fd without its GET: the
  vocabulary's default of KVM_GET_DEVICE_ATTR on a VM fd (EINVAL), as an
  operation of its own whose check is the vocabulary line, planned and
  predicted; none when the patch names the request, or for an fd the
  vocabulary declares no default for;
* an operation of another architecture's code (arch/x86): the target's
  default of the same request (KVM_ENABLE_CAP of an unknown capability),
  planned as its own ungated cases beside the x86 operation's;
* a value the patch adds to enum kvm_device_type: KVM_CREATE_DEVICE of it,
  ENODEV when the series registers no device ops for it, success (0) and
  the KVM_CREATE_DEVICE_TEST probe when it does.
"""
from __future__ import annotations

import textwrap
import types
from pathlib import Path

from generator.extract import extract_spec
from generator.extract.defaults import DEFAULT_ID
from generator.model import Errno, OpKind
from generator.model.case import CreateDevice, EnableCap, StepRole
from generator.plan import plan_all
from generator.render.reference import render_reference
from reference import vmstate
from generator.model.vocab import DEFAULT_PATH


def vocabulary_line(n: int) -> str:
    return DEFAULT_PATH.read_text().splitlines()[n - 1]


def _mail(tmp_path: Path, files: list[tuple[str, str]]) -> Path:
    """A one-patch mail changing each (path, unified-diff hunks)."""
    diffs = "".join(
        f"diff --git a/{p} b/{p}\nindex 1111111..2222222 100644\n--- a/{p}\n+++ b/{p}\n"
        f"{textwrap.dedent(h).strip(chr(10))}\n" for p, h in files)
    f = tmp_path / "test.txt"
    f.write_text("From: A Developer <dev@example.org>\nSubject: [PATCH] KVM: a test\n"
                 "Date: Tue, 1 Dec 2026 10:00:00 +0000\nMessage-Id: <t@example.org>\n\n"
                 "A test patch.\n\nSigned-off-by: A Developer <dev@example.org>\n---\n"
                 f"{diffs}-- \n2.30.0\n")
    return f


def _predict(spec, case):
    m = types.ModuleType("ref")
    exec(compile(render_reference(spec), "ref", "exec"), m.__dict__)
    return m.predict(case, 4096, vmstate.Host())[-1]


ATTR_UAPI = ("arch/arm64/include/uapi/asm/kvm.h", """\
@@ -10,2 +10,3 @@
 #define KVM_ARM_VM_SMCCC_CTRL		0
+#define KVM_ARM_VM_FOO_CTRL		1
""")


def _set_attr(fn: str, extra: str = "") -> tuple[str, str]:
    return ("arch/arm64/kvm/arm.c", f"""\
@@ -1,6 +1,8 @@ static int {fn}(struct kvm *kvm, struct kvm_device_attr *attr)
 {{
 	switch (attr->group) {{
+	case KVM_ARM_VM_FOO_CTRL:
+		return 0;{extra}
 	default:
 		return -ENXIO;
 	}}
""")


def test_a_vm_attribute_family_without_get_gets_mainlines_get(tmp_path):
    spec = extract_spec(_mail(tmp_path, [ATTR_UAPI, _set_attr("kvm_vm_set_attr")]), "t")
    get = spec.operation("KVM_GET_DEVICE_ATTR(KVM_ARM_VM_FOO_CTRL)")
    assert (get.kind, get.fd, get.select) == (OpKind.GET_DEVICE_ATTR, "vm",
                                              {"group": "KVM_ARM_VM_FOO_CTRL"})
    assert get.default_for == "KVM_SET_DEVICE_ATTR(KVM_ARM_VM_FOO_CTRL)"
    (c,) = get.checks
    assert (c.id, c.errno, c.value, c.context) == (DEFAULT_ID, Errno.EINVAL, True, True)
    # its position is the vocabulary's line of that default, marked mainline's
    assert c.source.seed == "vocabulary.yaml" and c.source.patch == "mainline default"
    assert vocabulary_line(c.source.line).strip() == "default:"
    assert "kvm_arch_vm_ioctl" in c.source.path
    # no HAS: the vocabulary declares no default for it on a VM fd
    assert [o.name for o in spec.operations if o.kind is OpKind.HAS_DEVICE_ATTR] == []
    plan = plan_all(spec)
    (case,) = [k for k in plan.cases if DEFAULT_ID in k.violates]
    assert case.id == "get_attr.foo.mainline_default" and not case.requires_cap
    last = case.steps[-1]
    assert (last.role, last.op, last.group) == (StepRole.SUBJECT, get.name, 1)
    got = _predict(spec, case)
    assert (got.errno, got.check) == (Errno.EINVAL, DEFAULT_ID)


def test_no_default_where_the_patch_names_the_request(tmp_path):
    spec = extract_spec(_mail(tmp_path, [ATTR_UAPI, _set_attr(
        "kvm_vm_set_attr", "\n+\t/* KVM_GET_DEVICE_ATTR of it is handled elsewhere */")]), "t")
    assert not [o for o in spec.operations if o.default_for]


VCPU_UAPI = ("arch/arm64/include/uapi/asm/kvm.h", """\
@@ -10,2 +10,3 @@
 #define KVM_ARM_VCPU_TIMER_CTRL		1
+#define KVM_ARM_VCPU_FOO_CTRL		7
""")


def _vcpu_hunk(fn: str) -> tuple[str, str]:
    return ("arch/arm64/kvm/guest.c", f"""\
@@ -1,6 +1,8 @@ int {fn}(struct kvm_vcpu *vcpu, struct kvm_device_attr *attr)
 {{
 	switch (attr->group) {{
+	case KVM_ARM_VCPU_FOO_CTRL:
+		return 0;
 	default:
 		return -ENXIO;
 	}}
""")


def test_a_vcpu_group_without_get_and_has_gets_the_dispatchers_default(tmp_path):
    """A new vCPU group with SET only: GET and HAS meet the default of
    arm64's group switches (ENXIO), after their copy of the attribute,
    every position the vocabulary's."""
    spec = extract_spec(_mail(tmp_path, [VCPU_UAPI, _vcpu_hunk("kvm_arm_vcpu_arch_set_attr")]),
                        "t")
    assert spec.operation("KVM_SET_DEVICE_ATTR(KVM_ARM_VCPU_FOO_CTRL)").fd == "vcpu"
    for kind in ("GET", "HAS"):
        op = spec.operation(f"KVM_{kind}_DEVICE_ATTR(KVM_ARM_VCPU_FOO_CTRL)")
        assert op.fd == "vcpu" and op.handler == f"kvm_arm_vcpu_arch_{kind.lower()}_attr"
        assert [(c.id, c.errno) for c in op.checks] == [("attr_copy_faults", Errno.EFAULT),
                                                         (DEFAULT_ID, Errno.ENXIO)]
        assert {c.source.seed for c in op.checks} == {"kvm-arm.yaml"}
        assert op.checks[-1].source.patch == "mainline default"
        text = (DEFAULT_PATH.parent / "vocabulary" / "kvm-arm.yaml").read_text().splitlines()
        assert text[op.checks[-1].source.line - 1].strip() == \
            f"kvm_arm_vcpu_arch_{kind.lower()}_attr:"
    case = next(k for k in plan_all(spec).cases if k.id == "get_attr.foo.mainline_default")
    assert case.steps[-1].on_vcpu and _predict(spec, case).errno is Errno.ENXIO


def test_no_default_from_a_dispatcher_the_patch_changes(tmp_path):
    """The patch's hunks sit in kvm_arm_vcpu_arch_get_attr too (a case the
    extractor may not read as an operation): GET is not assumed mainline's."""
    spec = extract_spec(_mail(tmp_path, [VCPU_UAPI, _vcpu_hunk("kvm_arm_vcpu_arch_set_attr"),
                                         _vcpu_hunk("kvm_arm_vcpu_arch_get_attr")]), "t")
    assert spec.operation("KVM_GET_DEVICE_ATTR(KVM_ARM_VCPU_FOO_CTRL)").default_for == ""
    has = spec.operation("KVM_HAS_DEVICE_ATTR(KVM_ARM_VCPU_FOO_CTRL)")
    assert has.default_for and has.checks[-1].errno is Errno.ENXIO


X86 = [("include/uapi/linux/kvm.h", """\
@@ -10,2 +10,3 @@
 #define KVM_CAP_ARM_MTE 205
+#define KVM_CAP_FOO 300
"""), ("arch/x86/kvm/x86.c", """\
@@ -1,6 +1,10 @@ int kvm_vm_ioctl_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap)
 {
 	switch (cap->cap) {
+	case KVM_CAP_FOO:
+		if (cap->args[0])
+			return -EINVAL;
+		return 0;
 	default:
 		return -EINVAL;
 	}
""")]


def test_a_foreign_operation_gets_the_targets_default_beside_it(tmp_path):
    spec = extract_spec(_mail(tmp_path, X86), "t")
    x86 = spec.operation("KVM_ENABLE_CAP(KVM_CAP_FOO)")
    assert x86.arch == "x86"
    mine = spec.operation("KVM_ENABLE_CAP(KVM_CAP_FOO) on arm64")
    assert (mine.kind, mine.cap, mine.arch, mine.default_for) == (
        OpKind.ENABLE_CAP, "KVM_CAP_FOO", "arm64", x86.name)
    # the entry point's copy first, then arm64's unknown-capability default
    assert [(c.id, c.errno) for c in mine.checks] == [("cap_copy_faults", Errno.EFAULT),
                                                       (DEFAULT_ID, Errno.EINVAL)]
    assert all(c.source.seed == "vocabulary.yaml" for c in mine.checks)
    plan = plan_all(spec)
    cases = {k.id: k for k in plan.cases}
    default = cases["enable_cap.on_arm64.mainline_default"]
    # no capability gates it: the target answers whether or not it reports the cap
    assert not default.requires_cap
    step = default.steps[-1]
    assert isinstance(step, EnableCap) and (step.cap, step.op) == ("KVM_CAP_FOO", mine.name)
    got = _predict(spec, default)
    assert (got.errno, got.check, got.op) == (Errno.EINVAL, DEFAULT_ID, mine.name)
    # the x86 operation's own cases keep its model: valid arguments succeed there
    assert _predict(spec, cases["enable_cap.valid"]).errno is None
    assert _predict(spec, cases["enable_cap.on_arm64.cap_copy_faults"]).errno is Errno.EFAULT


def test_a_foreign_capability_probe_gets_the_targets_value(tmp_path):
    """KVM_CHECK_EXTENSION of an x86 capability: arm64's default is a value
    (0, absent), not an errno: an operation that succeeds with it."""
    probe = ("arch/x86/kvm/x86.c", """\
@@ -1,6 +1,8 @@ int kvm_vm_ioctl_check_extension(struct kvm *kvm, long ext)
 {
 	switch (ext) {
+	case KVM_CAP_FOO:
+		r = 1;
+		break;
 	default:
 		r = 0;
 	}
""")
    spec = extract_spec(_mail(tmp_path, [X86[0], probe]), "t")
    assert spec.operation("KVM_CHECK_EXTENSION(KVM_CAP_FOO)").success.ret_value == 1
    mine = spec.operation("KVM_CHECK_EXTENSION(KVM_CAP_FOO) on arm64")
    assert mine.checks == [] and mine.success.ret_value == 0
    assert mine.success.source.seed == "vocabulary.yaml"
    cases = {k.id: k for k in plan_all(spec).cases}
    got = _predict(spec, cases["check_extension.on_arm64.reports_foo"])
    assert (got.ret, got.errno, got.op) == (0, None, mine.name)
    assert _predict(spec, cases["check_extension.reports_foo"]).ret == 1


def test_an_arm64_operation_gets_no_foreign_default(tmp_path):
    files = [X86[0], ("arch/arm64/kvm/arm.c", X86[1][1])]
    spec = extract_spec(_mail(tmp_path, files), "t")
    assert not [o for o in spec.operations if o.default_for]


DEVICE_UAPI = ("include/uapi/linux/kvm.h", """\
@@ -1227,6 +1227,8 @@ enum kvm_device_type {
 	KVM_DEV_TYPE_XIVE,
 #define KVM_DEV_TYPE_XIVE		KVM_DEV_TYPE_XIVE
+	KVM_DEV_TYPE_ARM_FOO,
+#define KVM_DEV_TYPE_ARM_FOO		KVM_DEV_TYPE_ARM_FOO
 	KVM_DEV_TYPE_MAX,
 };
""")


def test_a_new_device_type_without_ops_is_enodev(tmp_path):
    f = _mail(tmp_path, [DEVICE_UAPI])
    spec = extract_spec(f, "t")
    # the enumerator after mainline's XIVE (9): 10; its #define names itself
    const = next(c for c in spec.constants if c.name == "KVM_DEV_TYPE_ARM_FOO")
    assert (const.value, const.enum) == (10, "kvm_device_type")
    assert not [x for x in spec.findings if "KVM_DEV_TYPE_ARM_FOO =" in x.message]
    op = spec.operation("KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_FOO)")
    assert op.source.seed == f.name and "KVM_DEV_TYPE_ARM_FOO," in op.source.text
    assert [(c.id, c.errno) for c in op.checks] == [("cd_copy_faults", Errno.EFAULT),
                                                     (DEFAULT_ID, Errno.ENODEV)]
    assert op.success is None
    cases = {k.id: k for k in plan_all(spec).cases}
    default = cases["create_device.foo.mainline_default"]
    step = default.steps[-1]
    assert isinstance(step, CreateDevice) and step.dev_type == 10
    assert ".dtype = 0xa" in step.c_init(None)[0]
    assert _predict(spec, default).errno is Errno.ENODEV
    assert _predict(spec, cases["create_device.foo.cd_copy_faults"]).errno is Errno.EFAULT


def test_a_new_device_type_with_registered_ops_is_created(tmp_path):
    reg = ("arch/arm64/kvm/foo.c", """\
@@ -1,2 +1,6 @@
 #include <linux/kvm_host.h>
+int kvm_foo_init(void)
+{
+	return kvm_register_device_ops(&kvm_foo_ops, KVM_DEV_TYPE_ARM_FOO);
+}
""")
    f = _mail(tmp_path, [DEVICE_UAPI, reg])
    spec = extract_spec(f, "t")
    op = spec.operation("KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_FOO)")
    assert [c.id for c in op.checks] == ["cd_copy_faults"]
    assert op.success.ret_value == 0 and "kvm_register_device_ops" in op.success.source.text
    assert op.success.source.seed == f.name
    cases = {k.id: k for k in plan_all(spec).cases}
    flags = {k: cases[k].steps[-1].flags for k in ("create_device.foo.valid",
                                                    "create_device.foo.test")}
    assert flags == {"create_device.foo.valid": 0, "create_device.foo.test": 1}
    for k in flags:
        got = _predict(spec, cases[k])
        assert (got.ret, got.errno) == (0, None)


def test_an_enumerator_after_an_unknown_one_is_a_finding(tmp_path):
    uapi = ("include/uapi/linux/kvm.h", """\
@@ -1227,4 +1227,5 @@ enum kvm_device_type {
 	KVM_DEV_TYPE_NOT_IN_MAINLINE,
+	KVM_DEV_TYPE_ARM_FOO,
 	KVM_DEV_TYPE_MAX,
 };
""")
    spec = extract_spec(_mail(tmp_path, [uapi]), "t")
    assert not [c for c in spec.constants if c.name == "KVM_DEV_TYPE_ARM_FOO"]
    assert any("KVM_DEV_TYPE_ARM_FOO: an enumerator added to enum kvm_device_type" in x.message
               for x in spec.findings)
    assert not [o for o in spec.operations if o.kind is OpKind.CREATE_DEVICE]


def test_a_default_case_bound_to_a_renumbered_number_says_so(tmp_path):
    """--cap-binding patch on a kernel that numbers the capability otherwise:
    the target's default is asked about the patch's number, another
    capability there; its verdict names that (never a bare pass or
    divergence of the default)."""
    from types import SimpleNamespace

    from generator.model import Source, Verdict
    from generator.report.table import RunFacts
    from generator.run.pipeline import _default_cap_numbers
    from generator.runner import uapi
    from generator.verdict.crosscheck import CaseResult, Expect
    spec = extract_spec(_mail(tmp_path, X86), "t")
    cases = plan_all(spec).cases
    kvm_h = tmp_path / "tree" / "include" / "uapi" / "linux" / "kvm.h"
    kvm_h.parent.mkdir(parents=True)
    kvm_h.write_text("#define KVM_CAP_SYSTEM_EVENT_DATA 300\n#define KVM_CAP_FOO 305\n")
    h = uapi.from_source_tree(tmp_path / "tree")
    prep = SimpleNamespace(uapi=h, parts=[SimpleNamespace(spec=spec, cases=cases,
                                                          qualify=lambda i: i)])

    def result(case_id, verdict):
        return CaseResult(case_id, spec.name, "x", Source("s", 1), Expect(0, None),
                          Expect(1, None), verdict)
    mine, x86 = (result("enable_cap.on_arm64.mainline_default", Verdict.DIVERGES),
                 result("enable_cap.valid", Verdict.DIVERGES))
    facts = RunFacts()
    facts.bindings = {"KVM_CAP_FOO": {"number": 300, "how": "patch", "spec": spec.name}}
    _default_cap_numbers(prep, facts, [mine, x86])
    assert "300 is KVM_CAP_SYSTEM_EVENT_DATA" in mine.reason
    assert "numbers KVM_CAP_FOO 305" in mine.reason
    assert mine.decided_by == spec.capabilities[0].source
    assert not x86.reason                       # the x86 operation's own: not this rule
    same = result("enable_cap.on_arm64.mainline_default", Verdict.CONFORMS)
    facts.bindings = {"KVM_CAP_FOO": {"number": 305, "how": "header(kernel)"}}
    _default_cap_numbers(prep, facts, [same])
    assert not same.reason                      # bound by name: the name's own number
