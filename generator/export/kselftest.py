"""Export a spec's planned cases as a self-judging KVM selftest.

Phases:
  1. plan (generator.plan.plan) and split the cases: those whose every
     step is an ioctl the KVM selftest library can make from a barebones
     VM are exported; the rest (a vCPU running kconform's own guest
     runtime, KVM_{GET,SET}_ONE_REG on it, page-out) are listed in the
     file's header as not exported, with the reason;
  2. predict every step of every exported case with the reference module
     (reference/<spec>.py, `predict`) for 4K, 16K and 64K pages: a value
     that differs between page sizes becomes PS_VALUE(4k, 16k, 64k),
     picked at run time by getpagesize(); sizes are `pages * page_size +
     bytes` expressions, never numbers baked for 4K;
  3. render one C function per case (each step a call to a small helper
     that checks the model's return value, errno and buffer digest and,
     on a mismatch, prints expected and observed and the patch line), a
     table of cases with their capability requirement and skip reason,
     and a main() printing KTAP through the ksft_* API; the fixed parts
     live in templates/export/kvm_selftest.c.j2.

The KTAP names are the case ids, so a run of the exported binary and a
kconform run of the same spec name the same cases.
"""
from __future__ import annotations

import enum
import re
import textwrap
from dataclasses import dataclass, field
from typing import Optional

from generator.errors import KconformError
from generator.model import Spec
from generator.model.case import (SENTINEL, ArgPointer, Case, Fill, GuestOp, Report,
                                  Step, StepKind, StepRole, Val)
from generator.plan import plan
from generator.render.c import CapBinding, c_string, cap_defs, op_defs, uapi_lines
from generator.render.templates import environment
from generator.verdict.crosscheck import reference_module
from reference.vmstate import Host

PAGE_SIZES = (4096, 16384, 65536)      # the arm64 page sizes, PS_VALUE's order
PS_VALUE_SIZES = PAGE_SIZES
MAX_VCPUS = 8
MAX_SLOTS = 4
WIDTH = 80


class ExportError(KconformError):
    """A spec or case the exporter cannot express; says which and why."""


class Exported(enum.Enum):
    YES = "exported"
    NO = "not exported"


# the step kinds the selftest library makes from userspace: VM ioctls on a
# barebones VM, and a vCPU initialised for the preferred target whose
# registers are read, written and listed (its guest code never runs)
IOCTL_STEPS = (StepKind.CREATE_VM, StepKind.CHECK_EXTENSION, StepKind.ENABLE_CAP,
               StepKind.CREATE_VCPU, StepKind.ADD_MEMSLOT, StepKind.VM_IOCTL,
               StepKind.VCPU_START, StepKind.GET_ONE_REG, StepKind.SET_ONE_REG,
               StepKind.REG_LIST)
VCPU_STEPS = (StepKind.VCPU_START, StepKind.GET_ONE_REG, StepKind.SET_ONE_REG,
              StepKind.REG_LIST)
GUEST_REASON = ("they need guest code the exporter does not write yet "
                "({kinds}: tag stores and loads (STG/LDG) in Normal Tagged "
                "guest memory, page-out); kconform runs them with its own "
                "guest image.  MRS cases use guest_code() below (vm_create(), "
                "vm_vcpu_add(), an UNDEF handler, ucall)")

ONE_REG_REASON = ("the exporter writes ONE_REG steps of the guest vocabulary's system "
                  "registers only; {kinds} of a register id the spec defines (an id "
                  "variant, an unmapped struct kvm_one_reg or addr) is not exported yet")

@dataclass
class CaseExport:
    case: Case
    status: Exported
    reason: str = ""                    # why not exported
    function: str = ""                  # C function name


@dataclass
class KselftestFile:
    spec: Spec
    name: str                           # test name, e.g. mte_v10_test
    text: str
    cases: list[CaseExport] = field(default_factory=list)

    @property
    def exported(self) -> list[Case]:
        return [c.case for c in self.cases if c.status is Exported.YES]

    @property
    def not_exported(self) -> list[CaseExport]:
        return [c for c in self.cases if c.status is Exported.NO]


def kselftest_name(spec: Spec) -> str:
    return re.sub(r"[^a-z0-9]+", "_", spec.name.lower()).strip("_") + "_test"


def function_name(case_id: str) -> str:
    """test_<case id>; a pair case loses its `pair.` when the name would
    not fit the table's `.run = ` line in 80 columns."""
    def slug(text):
        return "test_" + re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    name = slug(case_id)
    if len(name) > WIDTH - 24 and ".pair." in case_id:
        name = slug(case_id.replace(".pair.", "."))
    return name


GUEST_REPORTS = {Report.FIELD: "REPORT_FIELD", Report.ACCESS: "REPORT_ACCESS",
                 Report.TCO: "REPORT_TCO"}


def guest_mrs(step: Step) -> bool:
    """A guest step the exported guest_code() makes: MRS of a register,
    reporting a field or whether the read was UNDEFINED."""
    return (step.kind is StepKind.GUEST and step.guest_op is GuestOp.MRS
            and step.report in GUEST_REPORTS)


def has_guest_code(case: Case) -> bool:
    return any(guest_mrs(s) for s in case.steps)


def classify(case: Case, spec: Optional[Spec] = None) -> CaseExport:
    if case.host:                 # a selftest runs on the host it finds
        return CaseExport(case, Exported.NO, HOST_REASON.format(host=case.host))
    if spec is not None and case.clause != "cap_number":
        from generator.verdict.platform import TARGET_ARCH, foreign_arch, subject_op
        op = subject_op(spec, case)
        arch = foreign_arch(op) if op is not None else ""
        if arch:                  # an arm64 selftest cannot run another arch's handler
            return CaseExport(case, Exported.NO, f"{op.name} is handled by arch/{arch} "
                              f"code, which the {TARGET_ARCH} kernel a selftest runs on "
                              "does not have")
    other = sorted({s.kind.value for s in case.steps
                    if s.kind not in IOCTL_STEPS and not guest_mrs(s)})
    vcpu = [s for s in case.steps if s.kind is not StepKind.DEVICE_ATTR
            and (getattr(s, "init", False) or getattr(s, "on_vcpu", False))]
    if vcpu:                      # the selftest's helpers create bare vCPUs, call on the VM fd
        return CaseExport(case, Exported.NO, VCPU_REASON)
    if other:
        return CaseExport(case, Exported.NO, GUEST_REASON.format(kinds=", ".join(other)))
    if any(s.kind is StepKind.ENABLE_CAP and s.arg is not ArgPointer.VALID for s in case.steps):
        return CaseExport(case, Exported.NO, ENABLE_CAP_ARG_REASON)
    direct = sorted({s.kind.value for s in case.steps if getattr(s, "direct", False)})
    if direct:                      # a spec's own register (ONE_REG id, REG_LIST subject)
        return CaseExport(case, Exported.NO, ONE_REG_REASON.format(kinds=", ".join(direct)))
    return CaseExport(case, Exported.YES, function=function_name(case.id))


HOST_REASON = ("it needs host profile {host} (a host without a feature; "
               "specs/host-features.yaml), and a selftest runs on the host it finds")
ENABLE_CAP_ARG_REASON = ("it passes KVM_ENABLE_CAP an argument on an unmapped page, which the "
                         "exported vm_enable_cap() helper cannot do")
VCPU_REASON = ("it initialises a vCPU (KVM_ARM_VCPU_INIT with features) or makes a spec "
               "ioctl on a vCPU fd, which the exported helpers do not do yet")


# ---------------------------------------------------------------- values
def size_expr(v: Val) -> str:
    """A Val as C: pages * page_size + bytes (divided by div)."""
    parts = []
    if v.pages:
        parts.append("page_size" if v.pages == 1 else f"{v.pages} * page_size")
    if v.bytes or not parts:
        parts.append(f"{v.bytes:#x}" if v.bytes > 9 else str(v.bytes))
    expr = " + ".join(parts)
    if v.div != 1:
        expr = f"({expr}) / {v.div}" if len(parts) > 1 else f"{expr} / {v.div}"
    return expr


def per_page_size(values: list, fmt) -> str:
    """One C value, or PS_VALUE(...) when it depends on the page size."""
    if len(set(values)) == 1:
        return fmt(values[0])
    return "PS_VALUE(" + ", ".join(fmt(v) for v in values) + ")"


@dataclass
class StepExpect:
    any_fd: bool
    ret: str
    err: str
    digest: Optional[str]
    line: str


def _decided_by(spec: Spec, step: Step, check: str) -> str:
    """seed:line and condition of the check (or success) the model used."""
    if ":" in check:                     # a guest rule: "<rule>:value|otherwise"
        rule_id, _, side = check.rpartition(":")
        try:
            r = spec.guest_rule(rule_id)
        except KeyError:
            return ""
        src = (r.value_source if side == "value" else r.otherwise_source) or r.source
        return f"{src} ({rule_id})"
    try:
        op = spec.operation(step.op)
    except KeyError:
        return ""
    for c in op.checks:
        if c.id == check:
            return f"{c.source} ({c.id})"
    if check == "success" and op.success is not None:
        return f"{op.success.source} (success)"
    return ""


def expectations(spec: Spec, case: Case, module, host: Host) -> list[StepExpect]:
    per = [module.predict(case, ps, host) for ps in PAGE_SIZES]
    out = []
    for i, step in enumerate(case.steps):
        outs = [p[i] for p in per]
        if all(o.ret is None for o in outs):
            out.append(StepExpect(True, "0", "0", None, ""))
            continue
        if any(o.ret is None for o in outs):
            raise ExportError(f"case {case.id} ({case.source}): step {i} returns an "
                              "fd with some page sizes and a value with others")
        ret = per_page_size([o.ret for o in outs], str)
        err = per_page_size([o.errno.name if o.errno else "0" for o in outs], str)
        digests = [o.digest for o in outs]
        if any(d is None for d in digests) and any(d is not None for d in digests):
            raise ExportError(f"case {case.id} ({case.source}): step {i} reads a "
                              "buffer back with some page sizes only")
        digest = (None if digests[0] is None
                  else per_page_size(digests, lambda d: f"0x{d}ULL"))
        line = (_decided_by(spec, step, outs[0].check)
                if step.role is StepRole.SUBJECT else "")
        out.append(StepExpect(False, ret, err, digest, line))
    return out


def simple_expect(e: StepExpect) -> Optional[str]:
    """EXPECT_FD / EXPECT_RET(r) / EXPECT_ERR(e), or None when the step
    needs its own `struct expect` (a digest or a patch line)."""
    if e.any_fd:
        return "EXPECT_FD"
    if e.digest is not None or e.line:
        return None
    return f"EXPECT_ERR({e.err})" if e.err != "0" else f"EXPECT_RET({e.ret})"


def wrap_call(head: str, args: list[str], indent: str) -> list[str]:
    """`head(a, b, c)` at most WIDTH columns, continuation lines aligned
    after the parenthesis (kernel style: tabs, then spaces)."""
    lines = [indent + head + "("]
    col = len(lines[0].expandtabs())
    pad = "\t" * (col // 8) + " " * (col % 8)
    for i, a in enumerate(args):
        tail = ", " if i < len(args) - 1 else ")"
        if (len(lines[-1].expandtabs()) + len(a) + len(tail.rstrip()) > WIDTH
                and not lines[-1].endswith("(")):
            lines[-1] = lines[-1].rstrip()
            lines.append(pad + a + tail)
        else:
            lines[-1] += a + tail
    return [ln.rstrip() for ln in lines]


def expect_decl(e: StepExpect, n: int) -> list[str]:
    """`struct expect e<n> = { ... };`, one field a line."""
    out = [f"\tstruct expect e{n} = {{", f"\t\t.ret = {e.ret},"]
    if e.err != "0":
        out.append(f"\t\t.err = {e.err},")
    if e.digest is not None:
        out.append("\t\t.has_digest = true,")
        if e.digest.startswith("PS_VALUE("):
            args = [a.strip() for a in e.digest[len("PS_VALUE("):-1].split(",")]
            call = wrap_call("PS_VALUE", args, "\t\t.digest = ")
            call[1:] = ["\t\t" + ln[2:] if ln.startswith("  ") else ln for ln in call[1:]]
            out += call
            out[-1] += ","
        else:
            out.append(f"\t\t.digest = {e.digest},")
    if e.line:
        line = f"\t\t.line = {c_string(e.line)},"
        if len(line.expandtabs()) > WIDTH:      # the check id is in the comment
            line = f"\t\t.line = {c_string(e.line.split(' (')[0])},"
        out.append(line)
    return out + ["\t};"]


def fit(lines: list[str]) -> list[str]:
    """Lines of the shared uAPI renderer in 80 columns: a trailing comment
    of a long #define goes on the line above; a long comment line wraps."""
    out = []
    for ln in lines:
        if len(ln.expandtabs()) <= WIDTH:
            out.append(ln)
            continue
        m = re.match(r"^(#define\s.*?)\s*(/\*.*\*/)$", ln)
        if m:
            out += [m.group(2), m.group(1)]
        elif ln.startswith("/* ") and ln.endswith(" */"):
            words = textwrap.wrap(ln[3:-3], WIDTH - 3)
            out += ["/*"] + [f" * {w}" for w in words] + [" */"]
        else:
            out.append(ln)
    return out


# ---------------------------------------------------------------- steps
@dataclass
class OpC:
    name: str
    function: str
    arg_type: str
    request: str
    pointer: str                        # pointer field ("" if none)


def ioctl_ops(spec: Spec) -> dict[str, OpC]:
    out = {}
    for d in op_defs(spec):
        op = spec.operation(d.name)
        ptr = op.buffer.pointer_field if op.buffer else ""
        fn = re.sub(r"^kvm_", "", d.name.lower())
        out[d.name] = OpC(d.name, fn, d.arg_type, d.request, ptr)
    return out


def op_function(op: OpC) -> list[str]:
    """The typed wrapper of one ioctl of the series around vm_ioctl_arg()."""
    offset = f"offsetof({op.arg_type}, {op.pointer})" if op.pointer else "-1"
    body = wrap_call("vm_ioctl_arg", ["t", c_string(op.name), op.request, "arg",
                                      "sizeof(*arg)", "ptr_offset", "b", "unmapped_arg",
                                      "e"], "\treturn ")
    return ([f"/* {op.name}: the pointer field is {op.pointer or 'none'} */"]
            + wrap_call(f"static bool {op.function}",
                        ["struct test *t", f"const {op.arg_type} *arg",
                         "const struct buffer *b", "bool unmapped_arg",
                         "struct expect e"], "")
            + ["{", f"\tlong ptr_offset = {offset};", ""]
            + body[:-1] + [body[-1] + ";", "}"])


def _cap_macro(step: Step, patch_numbers: dict[str, str]) -> str:
    if step.cap_number is not None:
        return patch_numbers[step.cap]
    return step.cap


def step_call(step: Step, n: int, e: StepExpect, ops: dict[str, OpC],
              patch_numbers: dict[str, str],
              guest: bool = False) -> tuple[list[str], str, list[str]]:
    """(declarations, helper name, arguments) of one step's call; `guest`:
    the case runs guest_code(), so its VM and vCPU come from vm_create()
    and vm_vcpu_add()."""
    k = step.kind
    simple = simple_expect(e)
    expect = simple or f"e{n}"
    tail = [] if simple else expect_decl(e, n)
    if k is StepKind.CREATE_VM:
        return tail, "create_guest_vm" if guest else "create_vm", ["t", expect]
    if k is StepKind.GUEST:
        return tail, "guest_mrs", ["t", guest_reg_macro(step.reg),
                                   GUEST_REPORTS[step.report], str(step.shift),
                                   str(step.width), expect]
    if k is StepKind.CHECK_EXTENSION:
        return tail, "check_extension", ["t", _cap_macro(step, patch_numbers), expect]
    if k is StepKind.CREATE_VCPU:
        return tail, "create_vcpu", ["t", expect]
    if k is StepKind.ADD_MEMSLOT:
        return tail, "add_memslot", ["t", str(step.slot), size_expr(step.guest_ipa),
                                     str(step.pages), expect]
    if k is StepKind.ENABLE_CAP:
        init = [f".cap = {step.cap}"]
        if step.flags:
            init.append(f".flags = {step.flags:#x}")
        if any(step.args):
            init.append(".args = { " + ", ".join(f"{a:#x}" for a in step.args) + " }")
        decl = [f"\tstruct kvm_enable_cap cap{n} = {{ " + ", ".join(init) + " };"]
        if len(decl[0].expandtabs()) > WIDTH:
            decl = ([f"\tstruct kvm_enable_cap cap{n} = {{"]
                    + [f"\t\t{i}," for i in init] + ["\t};"])
        return decl + tail, "enable_cap", ["t", f"cap{n}", expect]
    if k is StepKind.VM_IOCTL:
        op = ops[step.op]
        fields = [(p, v) for p, v in step.fields if v != Val()]
        if fields:
            decl = ([f"\t{op.arg_type} arg{n} = {{"]
                    + [f"\t\t.{p} = {size_expr(v)}," for p, v in fields] + ["\t};"])
        else:
            decl = [f"\t{op.arg_type} arg{n} = {{ 0 }};"]
        buf = "NULL"
        if step.buffer is not None:
            b = step.buffer
            decl += [f"\tstruct buffer buf{n} = {{",
                     f"\t\t.length = {size_expr(b.length)},",
                     f"\t\t.valid = {size_expr(b.valid)},"]
            if b.fill is Fill.PATTERN:
                decl += ["\t\t.pattern = true,", f"\t\t.seed = {b.seed},"]
            decl.append("\t};")
            buf = f"&buf{n}"
        unmapped = "true" if step.arg is ArgPointer.UNMAPPED else "false"
        return decl + tail, op.function, ["t", f"&arg{n}", buf, unmapped, expect]
    if k is StepKind.VCPU_START:
        return tail, "start_guest_vcpu" if guest else "start_vcpu", ["t", expect]
    if k is StepKind.GET_ONE_REG:
        return tail, "get_one_reg", ["t", reg_macro(step.reg), str(step.shift),
                                     str(step.width), expect]
    if k is StepKind.SET_ONE_REG:
        return tail, "set_one_reg", ["t", reg_macro(step.reg), expect]
    if k is StepKind.REG_LIST:
        decl = [f"\tconst uint64_t regs{n}[] = {{"] + [
            f"\t\t{reg_macro(r)}," for r in step.regs] + ["\t};"]
        return decl + tail, "reg_list", ["t", f"regs{n}", f"ARRAY_SIZE(regs{n})", expect]
    raise ExportError(f"step kind {k.value} is not exported")


def reg_macro(name: str) -> str:
    return f"REG_{name}"


def guest_reg_macro(name: str) -> str:
    return f"GUEST_{name}"


def guest_read_lines(names: list[str]) -> tuple[list[str], list[str]]:
    """(enum of the registers guest_code() reads, its guest_read())."""
    if not names:
        return [], []
    from generator.extract.guest import load_guest_vocabulary
    gvoc = load_guest_vocabulary()
    enum_lines = ["enum guest_reg {"] + [
        f"\t{guest_reg_macro(n)}{' = 1' if i == 0 else ''}," for i, n in enumerate(names)
    ] + ["};"]
    body = ["static uint64_t guest_read(int reg)", "{", "\tswitch (reg) {"]
    for n in names:
        enc = ", ".join(map(str, gvoc.sysregs[n]))
        body += [f"\tcase {guest_reg_macro(n)}:\t/* {n} */",
                 f"\t\treturn read_sysreg_s(sys_reg({enc}));"]
    body += ["\t}", "\treturn 0;", "}"]
    return enum_lines, body


def reg_lines(cases: list[Case]) -> list[str]:
    """KVM_{GET,SET}_ONE_REG ids of the registers the cases name, from the
    guest vocabulary's encodings."""
    names = sorted({r for c in cases for s in c.steps if s.kind in VCPU_STEPS
                    for r in (s.reg, *s.regs) if r})
    if not names:
        return []
    from generator.extract.guest import load_guest_vocabulary
    gvoc = load_guest_vocabulary()
    out = []
    for n in names:
        enc = gvoc.encoding(n, ExportError)
        out.append(f"#define {reg_macro(n)}\tARM64_SYS_REG({', '.join(map(str, enc))})")
    return out


def case_function(spec: Spec, ce: CaseExport, exp: list[StepExpect],
                  ops: dict[str, OpC], patch_numbers: dict[str, str]) -> list[str]:
    c = ce.case
    about = textwrap.wrap(f"{c.id}: {c.description} [{c.clause}, {c.source}]", 72)
    subject = [e.line for e in exp if e.line]
    if subject:
        about += textwrap.wrap(f"Expected by the model: {subject[-1]}.", 72)
    sig = f"static bool {ce.function}(struct test *t)"
    sig_lines = [sig] if len(sig) <= WIDTH else ["static bool", sig[len("static bool "):]]
    out = ["/*"] + [f" * {ln}" for ln in about] + [" */", *sig_lines, "{"]
    decls, calls = [], []
    for n, (step, e) in enumerate(zip(c.steps, exp)):
        d, fn, args = step_call(step, n, e, ops, patch_numbers, has_guest_code(c))
        decls += d
        calls.append((fn, args))
    if decls:
        out += decls + [""]
    for i, (fn, args) in enumerate(calls):
        if i == len(calls) - 1:
            lines = wrap_call(fn, args, "\treturn ")
            out += lines[:-1] + [lines[-1] + ";"]
        else:
            lines = wrap_call("if (!" + fn, args, "\t")
            # continuation lines align after "if (!fn("
            out += lines[:-1] + [lines[-1] + ")", "\t\treturn false;"]
    out.append("}")
    return out


def table_row(ce: CaseExport, skip: str) -> list[str]:
    c = ce.case
    run = f"\t.run = {ce.function},"
    if len(("\t" + run).expandtabs()) > WIDTH:
        run = f"\t.run =\n\t\t{ce.function},"
    row = ["{", f"\t.name = {c_string(c.id)},", *run.split("\n")]
    if c.requires_cap:
        row += [f"\t.requires_cap = {c.requires_cap},", f"\t.skip_reason = {skip},"]
    return row + ["},"]


def skip_decl(name: str, text: str) -> list[str]:
    parts = textwrap.wrap(text, 60, drop_whitespace=False) or [""]
    return ([f"static const char {name}[] ="] + [f"\t{c_string(p)}" for p in parts[:-1]]
            + [f"\t{c_string(parts[-1])};"])


# ---------------------------------------------------------------- file
def cap_lines(spec: Spec, cases: list[Case]) -> tuple[list[str], dict[str, str]]:
    """The capabilities by the tree's <linux/kvm.h> name, falling back on
    the patch's number; the patch's own number where a case probes it."""
    out, patch_numbers = [], {}
    for d in cap_defs(spec, cases, CapBinding.HEADER):
        if d.patch_number is not None:
            out += [f"#ifndef {d.name}",
                    f"#define {d.name}\t{d.patch_number}\t/* the series' number */",
                    "#endif"]
    probed = sorted({s.cap for c in cases for s in c.steps if s.cap_number is not None})
    for name in probed:
        macro = f"{name}_AS_POSTED"
        src = spec.capability(name).source
        out.append(f"#define {macro}\t{spec.capability(name).number}\t/* {src} */")
        patch_numbers[name] = macro
    return out, patch_numbers


def title(spec: Spec) -> str:
    """The series' title; a mail without a cover letter: its first patch's
    subject (without "vN i/n: "), else the spec's name."""
    if spec.title.strip():
        return spec.title.strip()
    if spec.patches:
        return re.sub(r"^v?\d*\s*\d+/\d+:\s*", "", spec.patches[0]).strip() or spec.name
    return spec.name


def header(spec: Spec, name: str, exported: list[CaseExport],
           skipped: list[CaseExport], host: Host = Host()) -> list[str]:
    lines = [f"Generated by kconform from the series \"{title(spec)}\""
             f" (v{spec.version}{', RFC' if spec.rfc else ''}; mail {spec.seed}):"]
    lines += [f"  {p}" for p in spec.patches]
    lines += ["", "Do not edit by hand; regenerate with `kconform export kselftest "
              f"{spec.name}`.", "",
              f"One KTAP test per case kconform plans from the patch ({len(exported)} "
              "here).  Each checks the return value, errno and (where the call "
              "fills a buffer) an FNV-1a digest of the buffer that kconform's "
              "reference model of the series predicts, and on a mismatch prints "
              "expected and observed values and the patch line the expectation "
              "comes from.  Sizes follow the running kernel's page size; "
              "values that depend on it are given for 4K, 16K and 64K pages.  "
              "A case needing a capability the host does not report is a KTAP "
              "SKIP with the reason.  The expectations are the model's for a "
              "host with the features " + ", ".join(sorted(host.features))
              + " (the kernel's own checks of those are not asserted)."]
    vcpu = [c for c in skipped if c.reason == VCPU_REASON]
    skipped = [c for c in skipped if c.reason != VCPU_REASON]
    if skipped:
        kinds = sorted({s.kind.value for c in skipped for s in c.case.steps
                        if s.kind not in IOCTL_STEPS})
        lines += ["", f"Not exported ({len(skipped)} cases): "
                  + GUEST_REASON.format(kinds=", ".join(kinds)) + ":"]
        lines += [f"  {c.case.id}" for c in skipped]
    if vcpu:
        lines += ["", f"Not exported ({len(vcpu)} cases): {VCPU_REASON}:"]
        lines += [f"  {c.case.id}" for c in vcpu]
    out = []
    for ln in lines:
        out += textwrap.wrap(ln, 74, subsequent_indent="  " if ln.startswith("  ") else "",
                             break_on_hyphens=False) or [""]
    return out


def render(spec: Spec, cases: Optional[list[Case]] = None,
           host: Host = Host(), module=None) -> KselftestFile:
    """The selftest of one spec; `module` is its reference module
    (default reference/<spec>.py)."""
    cases = plan(spec) if cases is None else cases
    module = module or reference_module(spec)
    name = kselftest_name(spec)
    exports = [classify(c, spec) for c in cases]
    yes = [c for c in exports if c.status is Exported.YES]
    no = [c for c in exports if c.status is Exported.NO]
    if not yes:
        raise ExportError(f"spec {spec.name}: none of its {len(cases)} case(s) can be "
                          "exported" + (f" ({no[0].reason})" if no else ""))
    ops = ioctl_ops(spec)
    caps, patch_numbers = cap_lines(spec, [c.case for c in yes])
    skips: dict[str, str] = {}
    functions, table = [], []
    for ce in yes:
        exp = expectations(spec, ce.case, module, host)
        functions.append(case_function(spec, ce, exp, ops, patch_numbers))
        skip = ""
        if ce.case.requires_cap:
            text = ce.case.skip_reason or f"{ce.case.requires_cap} is not reported"
            skip = skips.setdefault(text, f"skip_reason_{len(skips)}")
        table.append(table_row(ce, skip))
    used = {s.op for ce in yes for s in ce.case.steps if s.kind is StepKind.VM_IOCTL}
    guest_names = sorted({s.reg for ce in yes for s in ce.case.steps if guest_mrs(s)})
    guest_enum, guest_read = guest_read_lines(guest_names)
    if guest_enum:
        guest_enum = [""] + guest_enum
    text = environment().get_template("export/kvm_selftest.c.j2").render(
        name=name, title=textwrap.wrap(f"{name} - {title(spec)}", 76), header=header(spec, name, yes, no, host),
        uapi=fit(uapi_lines(spec)), caps=fit(caps),
        regs=reg_lines([c.case for c in yes]) + guest_enum,
        guest_regs=bool(guest_names), guest_read=guest_read,
        with_vcpu=any(s.kind in VCPU_STEPS for c in yes for s in c.case.steps), sentinel=f"{SENTINEL:#x}",
        max_vcpus=MAX_VCPUS, max_slots=MAX_SLOTS,
        ops=[op_function(o) for n, o in ops.items() if n in used],
        skips=[skip_decl(n, t) for t, n in skips.items()],
        functions=functions, table=table)
    return KselftestFile(spec, name, text, exports)
