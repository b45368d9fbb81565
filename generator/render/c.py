"""Render one C kselftest per spec (kconform_<spec>.c).

Phases:
  1. uAPI: the spec's structs, constants and ioctl numbers under a
     `kconform_` / `KCONFORM_` prefix (the toolchain's <linux/kvm.h> has its
     own, different definitions), with static asserts that the C layout
     gives the size and request number the spec computed, plus the ABI
     checker's asserts (hook: generator.abi.static_asserts);
  2. capability binding: the patch's number (default) or the number the
     toolchain's uAPI header gives the same name (CapBinding.HEADER,
     `--cap-binding header`), falling back on the patch's number where the
     header lacks the name;
  3. one fill function per ioctl argument struct, one table row per case
     (designated initialisers), laid out by templates/kconform_test.c.j2;
     the hand-written templates/kconform_runtime.h drives the table.
"""
from __future__ import annotations

import enum
import json
import re
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from generator.model.case import C_ENUMS, Case, Gap, Step, StepKind, Untested, Val

from generator.plan.ops import (ArgMode, arg_mode, attr_value_fields, op_fields,
                               struct_fields)
from generator.plan.values import value_struct
from generator.errors import KconformError
from generator.render.templates import environment
from generator.model import Member, OpKind, Spec, StructDef

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
RUNTIME = TEMPLATES / "kconform_runtime.h"
# what a generated test includes: the runtime and the headers it includes
RUNTIME_HEADERS = (RUNTIME, TEMPLATES / "kconform_types.h", TEMPLATES / "kconform_steps.h")
PREFIX = "kconform_"


class CapBinding(enum.Enum):
    PATCH = "patch"      # functional cases use the number the patch defines
    HEADER = "header"    # ... the number <linux/kvm.h> gives the same name


class RenderError(KconformError):
    """A spec or plan the C runtime cannot hold; says what and where."""


def c_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)


def c_name(name: str) -> str:
    return f"KCONFORM_{name}"


def cap_macro(cap: str, patch: bool = False) -> str:
    return c_name(cap) + ("_PATCH" if patch else "")


def op_index(name: str) -> str:
    return f"KC_OP_{name}"


# ---------------------------------------------------------------- uAPI
def _member_lines(m: Member, indent: str) -> list[str]:
    if m.nested is not None:
        inner = [ln for n in m.nested.members for ln in _member_lines(n, indent + "\t")]
        tail = f" {m.name}" if m.name else ""
        return [f"{indent}{m.nested.kind} {{", *inner, f"{indent}}}{tail};"]
    ctype = " ".join(t for t in m.ctype.split() if t != "__user")
    sep = "" if ctype.endswith("*") else " "
    dims = "".join(f"[{d}]" for d in m.array)
    return [f"{indent}{ctype}{sep}{m.name}{dims};"]


def struct_lines(sd: StructDef) -> list[str]:
    body = [ln for m in sd.members for ln in _member_lines(m, "\t")]
    return [f"/* {sd.source} */", f"{sd.kind} {PREFIX}{sd.name} {{", *body, "};"]


def _prefixed_type(arg_type: str) -> str:
    kind, _, name = arg_type.partition(" ")
    if kind not in ("struct", "union"):      # a scalar (`_IOW(KVMIO, 0xc2, int)`)
        return arg_type
    return f"{kind} {PREFIX}{name}"


def uapi_lines(spec: Spec, kernel_ioctls: Optional[dict] = None) -> list[str]:
    """The spec's structs, constants and ioctl numbers.  With
    `kernel_ioctls` (name -> nr in the kernel under test's uAPI headers) an
    ioctl the kernel numbers differently is bound by its name: the kernel's
    nr, the spec's direction and struct."""
    out: list[str] = []
    for sd in spec.structs:
        out += struct_lines(sd) + [""]
    caps = {c.name for c in spec.capabilities}
    consts = [c for c in spec.constants if c.name not in caps]  # bound below
    for c in consts:
        out.append(f"#define {c_name(c.name)}\t{c.value}\t/* {c.source} */")
    if consts:
        out.append("")
    for io in spec.ioctls:
        arg = f", {_prefixed_type(io.arg_type)}" if io.arg_type else ""
        out.append(f"/* {io.source}: {io.direction.value}({io.type_expr}, "
                   f"{io.nr:#x}{', ' + io.arg_type if io.arg_type else ''}) */")
        nr = (kernel_ioctls or {}).get(io.name, io.nr)
        out.append(f"#define {c_name(io.name)} \\")
        out.append(f"\t{io.direction.value}({io.type_value:#x}, {nr:#x}{arg})")
        if nr != io.nr:
            out.append(f"/* renumbered: posted nr {io.nr:#x}, the kernel under test's "
                       f"uAPI headers give {nr:#x}: bound by name */")
        if io.arg_type:
            out.append(f"_Static_assert(sizeof({_prefixed_type(io.arg_type)}) == "
                       f"{io.size},")
            out.append(f"\t       \"spec: sizeof({io.arg_type}) is {io.size}\");")
        if nr == io.nr:
            out.append(f"_Static_assert({c_name(io.name)} == {io.number:#x}UL,")
            out.append(f"\t       \"spec: {io.name} is {io.number:#x}\");")
    return out


def abi_asserts(spec: Spec) -> list[str]:
    """The ABI checker's static asserts (generator.abi), renamed to the
    prefixed definitions of this file: unprefixed, they would test the
    toolchain's <linux/kvm.h> instead of the spec."""
    try:
        from generator.abi.spec import static_asserts
    except ImportError:
        return []
    lines = list(static_asserts(spec))
    renames = [(rf"\b(struct|union)\s+{re.escape(sd.name)}\b", rf"\1 {PREFIX}{sd.name}")
               for sd in spec.structs if sd.name]
    renames += [(rf"(?<![\w\"]){re.escape(io.name)}\b", c_name(io.name))
                for io in spec.ioctls]
    out = []
    for line in lines:
        code, sep, message = line.partition(', "')
        for pat, rep in renames:
            code = re.sub(pat, rep, code)
        out += [code + ",", '\t       "' + message] if sep else [code]
    return out


# ---------------------------------------------------------------- binding
@dataclass
class CapDef:
    name: str
    macro: str
    value: str                   # C expression
    how: str                     # "patch" or "header"
    comment: str
    patch_number: Optional[int] = None


def cap_defs(spec: Spec, cases: list[Case], binding: CapBinding,
             kernel_caps: Optional[dict] = None) -> list[CapDef]:
    """How each capability a case uses is bound.  With `kernel_caps` (the
    numbers of the kernel under test's own uAPI headers, runner.uapi) a
    header binding writes that number; without, the C preprocessor takes it
    from the toolchain's <linux/kvm.h>."""
    names = sorted({s.cap for c in cases for s in c.steps if s.cap}
                   | {c.requires_cap for c in cases if c.requires_cap})
    out = []
    for name in names:
        try:
            num: Optional[int] = spec.capability(name).number
            src = str(spec.capability(name).source)
        except KeyError:
            num, src = None, ""
        if binding is CapBinding.PATCH and num is not None:
            out.append(CapDef(name, cap_macro(name), str(num), "patch",
                              f"the patch's number ({src})", num))
        elif kernel_caps is not None and name in kernel_caps:
            out.append(CapDef(name, cap_macro(name), str(kernel_caps[name]), "header(kernel)",
                              f"the kernel under test's uAPI headers give {kernel_caps[name]}; "
                              f"the patch says {num} ({src})", num))
        elif kernel_caps is not None and num is not None:
            out.append(CapDef(name, cap_macro(name), str(num), "patch(not-in-header)",
                              f"not in the kernel under test's uAPI headers: the patch's "
                              f"number ({src})", num))
        else:
            why = ("bound by name (--cap-binding header)" if num is not None else
                   f"spec {spec.name} defines no number: bound by name")
            out.append(CapDef(name, cap_macro(name), name, "header",
                              f"{why}; the patch says {num} ({src}), which is used "
                              "when <linux/kvm.h> has no such name"
                              if num is not None else why, num))
    return out


# ---------------------------------------------------------------- ops, rows
@dataclass
class OpDef:
    name: str
    index: str
    request: str
    arg_type: str                # prefixed C type
    fill: str
    fields: list[str]            # v[i] order
    body: list[str] = field(default_factory=list)
    by_value: bool = False       # the ioctl's argument is v[0] itself (KVM_RUN's `arg`)
    read: str = ""               # the function reading field i (a READ_BACK step uses it)
    only: str = ""               # #if condition where the header's struct has these fields


#: the compiler's macro of an architecture whose <asm/kvm.h> struct an
#: operation fills (another architecture's struct of that name has other
#: fields: x86's kvm_vcpu_events has no serror_pending); built elsewhere,
#: the op has no fill function and a case reaching it says so
STRUCT_ARCH_GUARDS = {"arm64": "defined(__aarch64__)", "arm": "defined(__aarch64__)"}


def op_defs(spec: Spec) -> list[OpDef]:
    out = []
    for op in spec.operations:
        if op.kind is not OpKind.IOCTL:
            continue
        ptr = op.buffer.pointer_field if op.buffer else None
        mode = arg_mode(op)
        fields = [f for f in op_fields(spec, op) if f != ptr]
        if any(i.name == op.name for i in spec.ioctls):
            request, arg_type = c_name(op.name), _prefixed_type(op.arg_type)
        elif (op.arg_type or mode is ArgMode.VALUE) and op.name.isidentifier():
            # a new use of an ioctl the patch does not define (KVM_SET_VCPU_EVENTS
            # with a new field, KVM_RUN): the uAPI header's own request and struct
            request, arg_type = op.name, op.arg_type
        else:
            continue
        if mode is ArgMode.VALUE:
            arg_type = "unsigned long"
        d = OpDef(op.name, op_index(op.name), request,
                  arg_type, f"kc_fill_{op.name.lower()}", fields,
                  by_value=mode is ArgMode.VALUE)
        if mode is ArgMode.STRUCT:
            d.body = [f"arg->{f} = v[{i}];" for i, f in enumerate(fields)]
            if arg_type == op.arg_type:   # the uAPI header's struct: its architecture's
                d.only = STRUCT_ARCH_GUARDS.get(op.arch or "", "")
        else:                    # the one value: pointed at, or passed as is
            d.body = [f"*arg = ({arg_type})v[0];\t/* {fields[0]} */"]
        if ptr:
            d.body.append(f"arg->{ptr} = buf;")
        else:
            d.body.append("(void)buf;")
        out.append(d)
    return out + attr_value_defs(spec)


def attr_value_defs(spec: Spec) -> list[OpDef]:
    """A fill function per device attribute whose addr points at a struct
    of the spec (generator.plan.ops.attr_value_fields): the DEVICE_ATTR
    step fills that struct, not one u64 (the request is the step's own)."""
    out = []
    for op in spec.operations:
        inner = attr_value_fields(spec, op)
        if not inner:
            continue
        _, struct_type = value_struct(spec, op)
        slug = re.sub(r"\W+", "_", op.name).strip("_")
        d = OpDef(op.name, op_index(slug), "0", _prefixed_type(struct_type),
                  f"kc_fill_{slug.lower()}", inner)
        d.body = [f"arg->{f} = v[{i}];" for i, f in enumerate(inner)] + ["(void)buf;"]
        out.append(d)
    return out


# ---------------------------------------------------------------- guest
def sysreg_macro(name: str) -> str:
    return f"KC_SYSREG_{name}"


def mrs_macro(name: str) -> str:
    return f"KC_MRS_{name}"


def mrs_insn(op0: int, op1: int, crn: int, crm: int, op2: int, rt: int = 0) -> int:
    """The A64 encoding of `mrs x<rt>, S<op0>_<op1>_C<crn>_C<crm>_<op2>`."""
    return (0xD5200000 | (op0 << 19) | (op1 << 16) | (crn << 12) | (crm << 8)
            | (op2 << 5) | rt)


def one_reg_id(op0: int, op1: int, crn: int, crm: int, op2: int) -> int:
    """KVM_{GET,SET}_ONE_REG id of a system register (arm64 uAPI:
    KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG | encoding)."""
    return (0x6000000000000000 | 0x0030000000000000 | (0x0013 << 16)
            | (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2)


def guest_lines(cases: list[Case]) -> list[str]:
    """Register ids and mrs instructions of the registers the cases name."""
    from generator.extract.guest import load_guest_vocabulary
    names = sorted({r for c in cases for s in c.steps for r in (s.reg, *s.regs) if r})
    if not names:
        return []
    gvoc = load_guest_vocabulary()
    out = []
    for n in names:
        enc = gvoc.encoding(n, RenderError)
        where = f"{gvoc.path}:{gvoc.lines.get(n, 0)}"
        out.append(f"#define {sysreg_macro(n)}\t{one_reg_id(*enc):#018x}ULL"
                   f"\t/* S{enc[0]}_{enc[1]}_C{enc[2]}_C{enc[3]}_{enc[4]}, {where} */")
        out.append(f"#define {mrs_macro(n)}\t{mrs_insn(*enc):#010x}ULL\t/* mrs x0, {n} */")
    out.append("#ifdef __aarch64__")
    for n in names:
        args = ", ".join(str(x) for x in gvoc.sysregs[n])
        out.append(f"_Static_assert({sysreg_macro(n)} == ARM64_SYS_REG({args}), "
                   f"\"{n}: the uAPI's own encoding\");")
    out.append("#endif")
    return out


def has_guest(cases: list[Case]) -> bool:
    return any(s.kind is StepKind.VCPU_START for c in cases for s in c.steps)


def val_init(v: Val) -> str:
    if v.host:
        from generator.model.case import HOST_VALUES
        return f"{{ .host = {HOST_VALUES[v.host]} }}"
    parts = [f".pages = {v.pages}" if v.pages else "",
             f".bytes = {v.bytes:#x}" if v.bytes else "",
             f".div = {v.div}" if v.div != 1 else ""]
    parts = [p for p in parts if p]
    return "{ " + ", ".join(parts) + " }" if parts else "{ 0 }"


class StepRenderer:
    """What a step's `c_init` (generator.model.case) needs from this file."""

    def __init__(self, ops: dict[str, OpDef]):
        self.ops = ops

    cap_macro = staticmethod(cap_macro)
    sysreg_macro = staticmethod(sysreg_macro)
    mrs_macro = staticmethod(mrs_macro)
    val_init = staticmethod(val_init)


def step_init(s: Step, ops: dict[str, OpDef]) -> list[str]:
    """Designated initialiser of one step, as lines of at most ~64 columns:
    the step's own `c_init`, joined by commas."""
    lines = s.c_init(StepRenderer(ops))
    if len(lines) > 1:
        lines[0] += ","
    lines[-1] = lines[-1].rstrip(",") if not lines[-1].endswith("*/") else lines[-1]
    return lines


# ---------------------------------------------------------------- C enums
STEPS_HEADER = TEMPLATES / "kconform_steps.h"


def steps_header() -> str:
    """templates/kconform_steps.h: the C enums of the case IR and the step
    kinds' names, generated from generator.model.case (never by hand)."""
    out = ["/* SPDX-License-Identifier: GPL-2.0 */",
           "/* do not edit, generated from generator/model/case.py by kconform",
           " * (generator.render.c.steps_header); `kconform generate --check` and",
           " * tests/render/test_steps.py fail when it drifts. */",
           "#ifndef KCONFORM_STEPS_H", "#define KCONFORM_STEPS_H", ""]
    for cname, enum_type, first in C_ENUMS:
        out.append(f"enum {cname} {{")
        for i, member in enumerate(enum_type):
            value = f" = {first}" if i == 0 else ""
            out.append(f"\t{member.c_name}{value},\t/* {member.value} */")
        out += ["};", ""]
    out += ["static inline const char *kc_kind_name(enum kc_step_kind k)", "{",
            "\tswitch (k) {"]
    out += [f"\tcase {k.c_name}: return \"{k.value}\";" for k in StepKind]
    out += ["\t}", "\treturn \"unknown\";", "}", "", "#endif", ""]
    return "\n".join(out)


@dataclass
class Row:
    id: str
    comment: list[str]
    requires: list[str]          # C initialisers for the requirement
    steps: list[list[str]]


def skip_name(reason: str, reasons: dict[str, str]) -> str:
    return reasons.setdefault(reason, f"kc_skip_{len(reasons)}")


def c_string_lines(text: str, width: int = 60) -> list[str]:
    """A long C string as adjacent literals, one per line."""
    parts = textwrap.wrap(text, width, drop_whitespace=False) or [""]
    return [c_string(p) for p in parts]


MAX_STEPS = 8                    # KC_MAX_STEPS in templates/kconform_types.h


def fit_runtime(spec: Spec, cases: list[Case]) -> tuple[list[Case], list[Untested]]:
    """The cases the C runtime can hold, and one `Untested` per case it
    cannot (a case of more than KC_MAX_STEPS steps): the others are still
    built.  (An argument of any number of fields fits: the test defines
    KC_MAX_FIELDS for its widest, `max_fields`.)"""
    kept, dropped = [], []
    for c in cases:
        if len(c.steps) <= MAX_STEPS:
            kept.append(c)
            continue
        why = (f"case {c.id} has {len(c.steps)} steps; the C runtime holds "
               f"KC_MAX_STEPS={MAX_STEPS}")
        for check in (c.violates or [c.clause]):
            dropped.append(Untested(spec.name, c.steps[-1].op, check, c.source,
                                    Gap.RUNTIME_LIMIT, why, case=c.id))
    return kept, dropped


def rows(cases: list[Case], ops: dict[str, OpDef],
         reasons: dict[str, str]) -> list[Row]:
    out = []
    for c in cases:
        req = []
        if c.requires_cap:
            req = [f".requires = {2 if c.requires_value else 1}, "
                   f".requires_cap = {cap_macro(c.requires_cap)},",
                   f".skip_reason = {skip_name(c.skip_reason, reasons)},"]
        comment = textwrap.wrap(f"{c.description} [{c.clause}, {c.source}]", 66)
        out.append(Row(c.id, comment, req, [step_init(s, ops) for s in c.steps]))
    return out


# ---------------------------------------------------------------- output
def file_name(spec: Spec) -> str:
    return f"kconform_{spec.name.replace('-', '_')}.c"


def render_c(spec: Spec, cases: list[Case],
             binding: CapBinding = CapBinding.PATCH,
             extra_asserts: Optional[list[str]] = None,
             kernel_caps: Optional[dict] = None,
             kernel_ioctls: Optional[dict] = None) -> str:
    env = environment(cached=True)
    ops = op_defs(spec)
    read = {s.op for c in cases for s in c.steps if s.kind is StepKind.READ_BACK}
    for o in ops:
        if o.name in read and not o.by_value:
            o.read = f"kc_read_{o.name.lower()}"
    cases, _ = fit_runtime(spec, cases)   # the caller reports what is dropped
    asserts = abi_asserts(spec) if extra_asserts is None else extra_asserts
    reasons: dict[str, str] = {}
    table = rows(cases, {o.name: o for o in ops}, reasons)
    return env.get_template("kconform_test.c.j2").render(
        spec=spec, binding=binding.value, caps=cap_defs(spec, cases, binding, kernel_caps),
        uapi=uapi_lines(spec, kernel_ioctls if binding is CapBinding.HEADER else None), asserts=asserts, ops=ops, rows=table,
        reasons=[(name, c_string_lines(text)) for text, name in reasons.items()],
        c_string=c_string, guest=guest_lines(cases), with_guest=has_guest(cases),
        max_fields=max_fields(ops))


DEFAULT_MAX_FIELDS = 8      # KC_MAX_FIELDS in templates/kconform_types.h


def max_fields(ops: list[OpDef]) -> int:
    """KC_MAX_FIELDS for a spec whose widest argument has more scalar fields
    than the runtime's default holds (0: the default is enough)."""
    widest = max((len(o.fields) for o in ops), default=0)
    return widest if widest > DEFAULT_MAX_FIELDS else 0


def copy_runtime(out_dir: Path) -> None:
    """The runtime headers a generated test includes, beside it (files
    already equal are left alone, so a build cache sees no change)."""
    for header in RUNTIME_HEADERS:
        rt = Path(out_dir) / header.name
        if not rt.exists() or rt.read_bytes() != header.read_bytes():
            shutil.copyfile(header, rt)


def write_c(spec: Spec, cases: list[Case], out_dir: Path,
            binding: CapBinding = CapBinding.PATCH,
            kernel_caps: Optional[dict] = None,
            kernel_ioctls: Optional[dict] = None) -> Path:
    """Write kconform_<spec>.c and the runtime header beside it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / file_name(spec)
    text = render_c(spec, cases, binding, kernel_caps=kernel_caps, kernel_ioctls=kernel_ioctls)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    copy_runtime(out_dir)
    if has_guest(cases):
        from generator.render.guest import write_guest_files
        write_guest_files(out_dir)
    return path
