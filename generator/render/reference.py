"""Render the Python reference model of a spec (reference/<spec>.py).

Phases:
  1. translate every check's C condition to a Python expression over the
     runtime (reference/vmstate.py): pycparser AST -> `PyExpr` visitor;
     kernel predicates become calls of their vocabulary concept, struct
     fields become `arg.<field>`, PAGE_* the running page size;
  2. lay out one function per operation: checks before the page loop in
     order, then the loop with its per-page checks around the copy effect,
     then the success value;
  3. fill templates/reference.py.j2.

A check no call reaches (`reach: unreachable`: dead after a check that
always fails, or an internal helper's) is laid out as a comment naming its
condition, errno and line, never evaluated.  A helper the patch defines
with a constant body (`Predicate.value`, e.g. `return 0;`) becomes a
function of the module returning that constant, so a condition that calls
it evaluates to what the patch's code gives.  A spec with no operation
userspace can call and no guest rule has no reference module.

Changing an errno, an order or a condition in the seed changes the output.
"""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from pycparser import c_ast

from generator.plan.ops import (ATTR_KINDS, Vocabulary, always_failing, load_vocabulary, op_cap,
                               op_fields)
from generator.cparse import parse_expr, to_c
from generator.plan.values import derived_locals
from generator.errors import KconformError
from generator.model.case import ONE_REG_BYTES
from generator.plan.onereg import ONE_REG_KINDS, register_default, through_addr, vcpu_request
from generator.render.templates import environment
from generator.model import (Check, Errno, GuestRule, GuestRuleKind, Operation, OpKind,
                             Reach, Source, Spec, errno_from_number)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STEP_KIND = {OpKind.IOCTL: "vm_ioctl", OpKind.ENABLE_CAP: "enable_cap",
             OpKind.CHECK_EXTENSION: "check_extension", OpKind.SET_DEVICE_ATTR: "device_attr",
             OpKind.GET_DEVICE_ATTR: "device_attr", OpKind.HAS_DEVICE_ATTR: "device_attr",
             OpKind.GET_ONE_REG: "get_one_reg", OpKind.SET_ONE_REG: "set_one_reg",
             OpKind.CREATE_DEVICE: "create_device"}
_POINTER_CONCEPTS = ("user_read_faults", "user_write_faults")
_BINOPS = {"/": "//", "&&": "and", "||": "or"}
_RUNTIME_CONSTANTS = {"page_size": "vm.page_size", "page_mask": "vm.page_mask",
                      "page_shift": "vm.page_shift",
                      "mte_granules_per_page": "vm.mte_granules_per_page"}


class RenderError(KconformError):
    """A condition the reference cannot express; names the patch line."""

    def __init__(self, source: Source, message: str):
        super().__init__(f"{source.describe()}: {message}")
        self.source = source
        self.detail = f"{message} (at {source})"


class PyExpr(c_ast.NodeVisitor):
    """C condition -> Python expression over `vm`, `call`, `arg`, `it`."""

    def __init__(self, spec: Spec, op: Operation, vocab: Vocabulary,
                 source: Source, locals_: set[str], in_loop: bool,
                 helpers: Optional[dict[str, int]] = None):
        self.spec, self.op, self.vocab, self.source = spec, op, vocab, source
        self.helpers = helpers or {}     # the patch's constant helpers
        self.fields = {f.split("[")[0] for f in op_fields(spec, op)}
        self.ptr = ""                    # the pointer field a user copy goes through
        if op.kind is OpKind.ENABLE_CAP:
            self.fields |= {"flags", "args"}
        self.locals = locals_
        self.it = "it" if in_loop else "None"
        self.constants = {c.name for c in spec.constants}

    def fail(self, node, why: str):
        raise RenderError(self.source, f"cannot translate `{to_c(node)}`: {why}")

    def concept(self, entry, call=None) -> str:
        args = "".join(f", {k}={v!r}" for k, v in entry.args)
        if entry.concept in _POINTER_CONCEPTS and self.ptr:
            args += f", ptr={self.ptr!r}"
        if call is not None and entry.params:
            exprs = call.args.exprs if call.args else []
            args += "".join(f", {name}={self.visit(a)}"
                            for name, a in zip(entry.params, exprs) if name)
        return f"vm.{entry.concept}(call, {self.it}{args})"

    def visit_Constant(self, n):
        if n.type in ("int", "unsigned int", "long", "unsigned long"):
            return str(int(n.value.rstrip("uUlL"), 0))
        self.fail(n, f"{n.type} constants are not modelled")

    def visit_ID(self, n):
        name = n.name
        if name in self.locals:
            return name
        if name in self.constants:
            return name
        entry = self.vocab.constants.get(name)
        if entry is not None:
            if entry.concept in _RUNTIME_CONSTANTS:
                return _RUNTIME_CONSTANTS[entry.concept]
            if entry.value is not None:
                return name
        pred = self.vocab.lookup(name)
        if pred is not None:
            return self.concept(pred)
        if re.fullmatch(r"E[A-Z0-9]+", name) and name in Errno.__members__:
            return f"Errno.{name}.value"     # `r == -EEXIST`: a helper's errno
        if name in self.fields:          # a scalar argument's value, KVM_RUN's `arg`
            return f"arg.{name}"
        self.fail(n, f"{name} is neither a field, a local, a spec constant "
                  f"nor in the vocabulary")

    def visit_StructRef(self, n):
        entry = self.vocab.lookup(to_c(n))
        if entry is not None:
            return self.concept(entry)
        parts, node = [], n               # events->exception.pad: "exception.pad"
        while isinstance(node, c_ast.StructRef):
            parts.insert(0, node.field.name)
            node = node.name
        for k in range(len(parts)):
            path = ".".join(parts[k:])
            if path in self.fields:
                return f"arg.{path}"
        self.fail(n, f"{n.field.name} is not a field of {self.op.arg_type or 'the argument'}")

    def visit_ArrayRef(self, n):
        return f"{self.visit(n.name)}[{self.visit(n.subscript)}]"

    def visit_FuncCall(self, n):
        head = n.name.name if isinstance(n.name, c_ast.ID) else to_c(n.name)
        if head in self.helpers:            # defined by the patch: its constant
            return f"{head}()"
        exprs = n.args.exprs if n.args else []
        if exprs and isinstance(exprs[0], c_ast.ID):  # `test_bit(KVM_ARCH_FLAG_X)`: the flag's entry
            entry = self.vocab.lookup(f"{head}({exprs[0].name})")
            if entry is not None:
                return self.concept(entry)
        entry = self.vocab.lookup(head)
        if entry is None:
            self.fail(n, f"{head} is not in specs/vocabulary.yaml")
        if entry.concept == "value_of" and n.args and n.args.exprs:
            arg = n.args.exprs[0]          # atomic_read(&counter): the counter
            if isinstance(arg, c_ast.UnaryOp) and arg.op == "&":
                arg = arg.expr
            return self.visit(arg)
        return self.concept(entry, n)

    def visit_UnaryOp(self, n):
        if n.op == "!":
            return f"(not {self.visit(n.expr)})"
        if n.op in ("~", "-"):
            return f"({n.op}{self.visit(n.expr)})"
        if n.op == "sizeof" and self.op.kind in ONE_REG_KINDS and isinstance(n.expr, c_ast.ID) \
                and self.op.aliases.get(n.expr.name) == "value":
            return str(ONE_REG_BYTES)         # the u64 a ONE_REG step's addr points at
        self.fail(n, f"unary {n.op} is not modelled")

    def visit_BinaryOp(self, n):
        op = _BINOPS.get(n.op, n.op)
        return f"({self.visit(n.left)} {op} {self.visit(n.right)})"

    def visit_TernaryOp(self, n):
        return (f"({self.visit(n.iftrue)} if {self.visit(n.cond)} "
                f"else {self.visit(n.iffalse)})")

    def visit_Cast(self, n):
        return self.visit(n.expr)

    def generic_visit(self, n):
        self.fail(n, f"{type(n).__name__} is not modelled")


def _identifiers(node: c_ast.Node) -> set[str]:
    out: set[str] = set()

    class V(c_ast.NodeVisitor):
        def visit_ID(self, n):
            out.add(n.name)

        def visit_FuncCall(self, n):       # a concept replaces the whole call
            pass

        def visit_StructRef(self, n):      # nor a member name
            self.visit(n.name)
    V().visit(node)
    return out


# ---------------------------------------------------------------- layout
@dataclass
class CheckRow:
    order: int
    id: str
    condition: str               # C text
    expr: str                    # Python ("" when not reachable)
    errno: str                   # "" when the failing side returns no errno
    source: str
    fails: str = ""              # Python result of the failing side
    dead: str = ""               # why no call reaches it (a comment, not code)
    when: str = ""               # C text of its branch condition
    unmodelled: str = ""         # why the reference cannot evaluate it (a call stops there)
    unmodelled_if: str = ""      # Python: when it holds the call stops there; when it does
                                 # not, C's `&&` never reaches the untranslatable part


def _short_circuit(t: "PyExpr", c: Check) -> str:
    """For a check `a && b && ...` the reference cannot translate in full:
    the Python of its leading conjuncts that translate (and of its branch),
    "" when none does.  When they are false C never evaluates the rest, so
    the check passes and the call goes on; only when they hold is the
    outcome unknown."""
    terms, node = [], parse_expr(c.condition)
    while isinstance(node, c_ast.BinaryOp) and node.op == "&&":
        terms.insert(0, node.right)
        node = node.left
    terms.insert(0, node)
    prefix = []
    try:
        if c.when:
            prefix.append(t.visit(parse_expr(c.when)))
        for term in terms[:-1]:
            prefix.append(t.visit(term))
    except RenderError:
        pass
    if len(prefix) == (1 if c.when else 0):
        return ""
    return " and ".join(f"({p})" for p in prefix)


@dataclass
class Helper:
    """A helper the patch defines with a constant body."""
    name: str
    value: int
    used_at: str                 # the check line that calls it


@dataclass
class LoopModel:
    header: str                  # C text of the loop header
    cond: str                    # Python
    direction: str               # Python: True when user -> kernel
    before: list[CheckRow]       # per-page checks before the copy
    result: str                  # local holding the copy's count
    copy_in: str                 # concept of the user -> guest copy
    copy_out: str
    after: list[CheckRow]
    step: str                    # decrement of the loop's length local


@dataclass
class FunctionModel:
    name: str
    key: tuple                   # (step kind, operation name)
    doc: str
    prologue: list[str] = field(default_factory=list)
    checks: list[CheckRow] = field(default_factory=list)
    loop: Optional[LoopModel] = None
    effects: list[str] = field(default_factory=list)
    ret: str = "vm.ok(0)"        # Python result of a call that passes every check
    ret_source: str = ""
    dead_tail: str = ""          # why the code after the checks is not reachable


def _effect_concepts(op: Operation, vocab: Vocabulary) -> tuple[str, str]:
    """Concepts of the helpers that write / read guest data for this loop."""
    found = {}
    for name, e in vocab.helpers.items():
        if e.effect and (not op.body or name in op.body):
            found.setdefault(e.effect, e.concept)
    try:
        return found["writes_guest_tags"], found["reads_guest_tags"]
    except KeyError:
        raise RenderError(op.source, "the vocabulary names no helper with effect "
                          "writes_guest_tags / reads_guest_tags for this loop") from None


def patch_helpers(spec: Spec) -> dict[str, Helper]:
    """Helpers the patch's own code fixes to a constant (`Predicate.value`)."""
    out: dict[str, Helper] = {}
    for op in spec.operations:
        for c in op.checks:
            for p in c.predicates:
                name = p.spelling.split("(")[0].strip()
                if p.value is not None and name.isidentifier():
                    out.setdefault(name, Helper(name, p.value, str(c.source)))
    return out


def _fails(c: Check) -> str:
    """What the model returns when check `c` fails."""
    if c.errno is not None:
        return f"vm.fail(Errno.{c.errno.name}, {json.dumps(c.id)})"
    value = {"false": 0, "true": 1}.get(c.result)
    if value is None:
        raise RenderError(c.source, f"check {c.id} fails with no errno and no known result "
                          f"(result {c.result!r}); expected an errno or `false`/`true`")
    return f"vm.returns({value}, {json.dumps(c.id)})"


def _dead_reason(spec: Spec, op: Operation, c: Check) -> str:
    fatal = always_failing(op)
    if fatal is not None and c.order > fatal.order:
        return f"not reachable: check {fatal.order} ({fatal.id}) fails on every call"
    return "not reachable from userspace with this input"


def step_kind(op: Operation) -> str:
    """The step kind a case calls the operation with (its functions' key)."""
    return "reg_list" if vcpu_request(op) else STEP_KIND[op.kind]


def function_name(op: Operation) -> str:
    """The Python name of an operation's function in the reference module
    (`KVM_SET_DEVICE_ATTR(KVM_ARM_VCPU_PVTIME_CTRL)` -> an identifier)."""
    return re.sub(r"\W+", "_", f"{step_kind(op)}_{model_subject(op).lower()}").strip("_")


def model_subject(op: Operation) -> str:
    """What a step names to reach the operation's function: its capability,
    else its name; the target's default beside another architecture's
    operation of the same capability (Operation.default_for) by its name."""
    return op.name if op.default_for else (op_cap(op) or op.name)


def _list_search(loop: str) -> bool:
    """A loop over the entries of a kernel list (list_for_each_entry, as
    the extractor spells it: `for (e = list_first_entry(...); e; ...)`)."""
    return bool(re.search(r"\blist_(first|next)_entry\b|\blist_for_each", loop))


def _wrapped(py: str, bits: int, signed: bool) -> str:
    """A Python expression for a C value of `bits` bits (wrapped around)."""
    mask = (1 << bits) - 1
    if not signed:
        return f"({py}) & {mask:#x}"
    half = 1 << (bits - 1)
    return f"((({py}) + {half:#x}) & {mask:#x}) - {half:#x}"


def function_model(spec: Spec, op: Operation, vocab: Vocabulary,
                   helpers: Optional[dict[str, int]] = None,
                   strict: bool = False) -> FunctionModel:
    subject = op_cap(op) or op.name
    fn = FunctionModel(name=function_name(op), key=(step_kind(op), model_subject(op)),
                       doc=f"{op.name} ({op.kind.value}): {op.handler}, {op.source}")
    buf = op.buffer
    locals_ = {k for k, v in op.aliases.items() if not buf or v != buf.pointer_field}
    fn.prologue = [f"{k} = arg.{op.aliases[k]}" for k in sorted(locals_)]
    for d in derived_locals(op).values():       # `end = start + nr - 1;` (u32)
        try:
            py = PyExpr(spec, op, vocab, op.source, locals_, False, helpers).visit(
                parse_expr(d.expr))
        except RenderError:
            continue                              # a check reading it says why
        fn.prologue.append(f"{d.name} = {_wrapped(py, d.bits, d.signed)}")
        locals_ = locals_ | {d.name}
    checks = sorted(op.checks, key=lambda c: c.order)
    # a loop check naming a local that is no alias reads the copy's result
    post: dict[str, str] = {}
    for c in checks:
        if c.in_loop and c.reach is not Reach.UNREACHABLE:   # a dead row reads nothing
            free = _identifiers(parse_expr(c.condition)) - locals_ - {
                k.name for k in spec.constants} - set(vocab.constants) - set(
                vocab.predicates) - set(vocab.helpers) - set(op.aliases)
            if free:
                post[c.id] = sorted(free)[0]
    result = next(iter(post.values()), "copied")

    def row(c: Check) -> CheckRow:
        errno = c.errno.name if c.errno else ""
        if c.errno is None and not c.result and c.effect and c.reach is not Reach.UNREACHABLE:
            return CheckRow(c.order, c.id, c.condition, "", "no errno", str(c.source),
                            dead=f"an effect, not a failure: when it holds the call also does "
                            f"`{c.effect}` and goes on", when=c.when)
        if c.reach is Reach.UNREACHABLE:
            return CheckRow(c.order, c.id, c.condition, "", errno or "no errno",
                            str(c.source), dead=_dead_reason(spec, op, c), when=c.when)
        t = PyExpr(spec, op, vocab, c.source, locals_ | {result}, c.in_loop, helpers)
        try:
            if (op.kind in ATTR_KINDS and "addr" in c.reads) or (
                    op.kind in ONE_REG_KINDS and through_addr(c)):
                t.ptr = "addr"
            expr = t.visit(parse_expr(c.condition))
            if c.when:
                expr = f"{t.visit(parse_expr(c.when))} and {expr}"
            fails = _fails(c)
            if c.in_loop and op.success is not None and op.success.partial:
                done = t.visit(parse_expr(op.success.partial))   # progress before the fault
                fails = f"vm.ok(int({done})) if {done} else {fails}"
        except RenderError as e:          # one check never stops the module
            if strict:
                raise
            return CheckRow(c.order, c.id, c.condition, "", errno or "no errno",
                            str(c.source), when=c.when, unmodelled=e.detail,
                            unmodelled_if=_short_circuit(t, c))
        return CheckRow(c.order, c.id, c.condition, expr, errno, str(c.source),
                        fails=fails, when=c.when)
    fn.checks = [row(c) for c in checks if not c.in_loop]
    if op.loop and buf is None and _list_search(op.loop):
        # a search of a kernel list (the host's PMUs) for the entry the
        # argument names: one pass, whose entry is the one a host value of
        # the case names (generator.model.case.HostValue), or none
        fn.checks += [row(dataclasses.replace(c, in_loop=False)) for c in checks if c.in_loop]
    elif op.loop and buf is None:       # a loop over kernel objects: modelled up to it
        first = min((c.order for c in checks if c.in_loop), default=None)
        fn.checks = [r for r in fn.checks if first is None or r.order < first]
        why = (f"{op.name}: the loop `{op.loop.strip()}` is not a page loop over a user "
               f"buffer; the reference does not model it or what follows (at {op.source})")
        fn.ret = f"vm.unmodelled(\"loop\", {json.dumps(why)})"
        fn.ret_source = str(op.source)
        return fn
    elif op.loop:
        header = op.loop.strip()
        cond_c = header[header.index("(") + 1:header.rindex(")")]
        t = PyExpr(spec, op, vocab, op.source, locals_, True)
        to_v = spec.constant(buf.to_kernel).value
        from_v = spec.constant(buf.from_kernel).value
        bit = from_v or to_v
        length_local = next(k for k, v in op.aliases.items() if v == buf.length_field)
        addr = next((k for k, v in sorted(op.aliases.items())
                     if k in locals_ and v != buf.length_field), "0")
        fn.prologue.append(f"it = vm.cursor({addr})")
        copy_in, copy_out = _effect_concepts(op, vocab)
        fn.loop = LoopModel(
            header=header, cond=t.visit(parse_expr(cond_c)),
            direction=(f"(arg.{buf.direction_field} & {bit}) == {to_v & bit}"),
            before=[row(c) for c in checks if c.in_loop and c.id not in post],
            result=result, copy_in=copy_in, copy_out=copy_out,
            after=[row(c) for c in checks if c.in_loop and c.id in post],
            step=f"{length_local} -= vm.page_size")
    fatal = always_failing(op)
    if fatal is not None:
        fn.dead_tail = (f"not reachable in this version: check {fatal.order} "
                        f"({fatal.id}) fails on every call")
    if op.success is None:            # the checks are modelled; what passes them is not
        why = (f"{op.name}: the patch shows no value for a call that passes every "
               f"check (at {op.source})")
        fn.ret = f"vm.unmodelled(\"success\", {json.dumps(why)})"
        fn.ret_source = str(op.source)
        return fn
    fn.ret_source = str(op.success.source)
    value = op.success.ret_value
    if value is not None and value < 0:
        # the patch's code ends in `ret = -EINVAL` even when every check
        # passes (an early RFC): the call fails with that errno
        e = errno_from_number(-value)
        if e is None:
            raise RenderError(op.success.source, f"{op.name} returns {value}, which is "
                              "no errno the model knows")
        fn.ret = f"vm.fail(Errno.{e.name}, \"success\")"
        return fn
    if op.kind is OpKind.ENABLE_CAP:
        fn.effects.append(f"vm.enable_cap({subject!r})")
    if op.kind in ONE_REG_KINDS:
        return _one_reg_success(spec, op, fn)
    if vcpu_request(op):                 # KVM_GET_REG_LIST: the indices copied, 0
        fn.ret = "vm.ok(vm.listed(call, ()))"
        return fn
    for e in op.effects:                # `vcpu->arch.steal.base = ipa`: a per-vCPU value set
        target, eq, rhs = e.partition(" = ")
        entry = vocab.lookup(target)
        if eq and entry is not None and entry.concept in ("vcpu_value", "vm_value"):
            t = PyExpr(spec, op, vocab, op.success.source, locals_, False, helpers)
            setter = "set_vcpu_value" if entry.concept == "vcpu_value" else "set_vm_value"
            fn.effects.append(f"vm.{setter}({dict(entry.args)['what']!r}, "
                              f"{t.visit(parse_expr(rhs))})")
    calls = set(re.findall(r"(\w+)\s*\(", op.success.ret))
    if value is not None and not (calls and calls <= set(helpers or {})):
        fn.ret = f"vm.ok({value})"
    else:                               # an expression, or the patch's own helper
        t = PyExpr(spec, op, vocab, op.success.source, locals_, False, helpers)
        fn.ret = f"vm.ok(int({t.visit(parse_expr(op.success.ret))}))"
    return fn


def _one_reg_success(spec: Spec, op: Operation, fn: FunctionModel) -> FunctionModel:
    """A ONE_REG call that passes every check: KVM_SET_ONE_REG stores the
    value for the register (the uAPI's contract: a later GET reads it);
    KVM_GET_ONE_REG writes the register's value to reg->addr, its value on a
    fresh VM being what the patch's code assigns to the location it reads."""
    if op.kind is OpKind.SET_ONE_REG:
        fn.effects.append("vm.set_one_reg(arg.id, arg.value)")
        fn.ret = "vm.ok(0)"
        return fn
    default = register_default(spec, op)
    if default is None:
        fn.effects.append(f"# the value on a fresh VM: no assignment to `{op.success.ret}` "
                          "in the patch's code")
        fn.effects.append(f"vm.put_user_value(call, vm.one_reg(arg.id, None, "
                          f"{json.dumps(op.success.ret)}))")
    else:
        value, where = default
        fn.effects.append(f"# on a fresh VM: {where}")
        fn.effects.append(f"vm.put_user_value(call, vm.one_reg(arg.id, {value:#x}))")
    fn.ret = "vm.ok(0)"
    return fn


def reg_list_function(spec: Spec, op: Operation) -> FunctionModel:
    """KVM_GET_REG_LIST as a ONE_REG register's cases observe it: every
    register KVM_GET_ONE_REG reads is listed (api.rst 4.84)."""
    ids = sorted({spec.constant(o.select["id"]).value for o in spec.operations
                  if o.kind is OpKind.GET_ONE_REG and "id" in o.select
                  and _has_constant(spec, o.select["id"])})
    return FunctionModel(name=function_name(op).replace("get_one_reg", "reg_list", 1),
                         key=("reg_list", op.name),
                         doc=f"KVM_GET_REG_LIST: lists what {op.name} reads ({op.source})",
                         ret=f"vm.ok(vm.listed(call, {tuple(ids)!r}))",
                         ret_source=str(op.source))


def _has_constant(spec: Spec, name: str) -> bool:
    try:
        spec.constant(name)
    except KeyError:
        return False
    return True


def _function_or_unmodelled(spec: Spec, op: Operation, vocab: Vocabulary,
                            helpers: dict[str, int], strict: bool) -> FunctionModel:
    """The operation's function; one the reference cannot lay out (no
    success value, a loop it has no effect for) stops every call to it
    with the reason, so its cases are `untested`, not the whole module."""
    try:
        return function_model(spec, op, vocab, helpers, strict)
    except RenderError as e:
        if strict:
            raise
        return FunctionModel(name=function_name(op), key=(step_kind(op), model_subject(op)),
                             doc=f"{op.name} ({op.kind.value}): {op.handler}, {op.source}; "
                             "the reference cannot model it",
                             ret=f"vm.unmodelled(\"success\", {json.dumps(e.detail)})",
                             ret_source=str(op.source))


# ---------------------------------------------------------------- guest rules
@dataclass
class GuestFunction:
    """One function per guest rule: the value a vCPU or the guest sees."""
    name: str
    key: tuple                   # ("guest_rule", rule id)
    doc: str
    comments: list[str]          # the patch lines behind it
    cond: str                    # Python
    cond_c: str
    cond_source: str
    then: str                    # Python return expression
    then_source: str
    otherwise: str
    otherwise_source: str


def _guest_cond(spec: Spec, r: GuestRule, vocab: Vocabulary) -> str:
    """The rule's condition over the model: its vocabulary predicates; the
    conjuncts no predicate maps (kernel internals such as `pfn_valid(pfn)`
    on a fault the guest caused) hold on the path the cases take."""
    op = Operation(name=r.id, kind=OpKind.INTERNAL, handler=r.function, fd="vcpu",
                   checks=[], success=None, source=r.source)
    t = PyExpr(spec, op, vocab, r.source, set(), False)
    mapped = [p for p in r.predicates if p.concept]
    if not mapped:
        raise RenderError(r.source, f"guest rule {r.id}: no predicate of `{r.when}` "
                          "is in the vocabulary")
    return " and ".join(t.visit(parse_expr(p.spelling)) for p in mapped)


def _number(spec: Spec, name: str, table: dict, what: str, r: GuestRule) -> int:
    """A name's number: the spec's own constant, else the vocabulary's table."""
    for c in spec.constants:
        if c.name == name:
            return c.value
    if name in table:
        return int(table[name])
    if re.fullmatch(r"-?(0x[0-9a-fA-F]+|\d+)", name):
        return int(name, 0)
    raise RenderError(r.source, f"{name} is neither a constant of the spec nor in the "
                      f"vocabulary's guest.{what}")


def exit_function(spec: Spec, r: GuestRule, gvoc) -> GuestFunction:
    """An exit rule: with `when` KVM_RUN exits with the reason and its run
    fields, else it fails with the errno or the guest's call returns."""
    from generator.extract.exits import run_field_meaning
    if r.value_source is None:
        raise RenderError(r.source, f"{r.name} is stated by the documentation only: no code "
                          "of the patch sets it")
    if not r.cap:
        raise RenderError(r.source, f"{r.name}: no capability of the spec makes "
                          f"`{r.when}` true")
    reason = _number(spec, r.value, gvoc.exit_reasons, "exit_reasons", r)
    fields = {f.path: run_field_meaning(spec, r, f, gvoc) for f in r.run_fields}
    fields = {k: list(v) for k, v in fields.items() if v is not None}
    if r.otherwise.startswith("-E"):
        otherwise = f'vm.run_fails(call, Errno.{r.otherwise[1:]}, "{r.id}:otherwise")'
    elif r.otherwise:
        x0 = _number(spec, r.otherwise, gvoc.call_results, "call_results", r)
        otherwise = f'vm.guest_answers(call, {x0}, "{r.id}:otherwise")'
    else:
        raise RenderError(r.source, f"{r.name}: what {r.function} does otherwise is not "
                          "in the patch")
    comments = [f"exit in {r.function}: `{r.when}` ({r.source}); {r.cap} sets it "
                f"({r.cap_source or r.source})",
                f"the guest's event: {r.trigger} {r.trigger_arg}".rstrip()]
    comments += [f"run->{f.path} = {f.expr} ({f.source})" for f in r.run_fields]
    if r.doc:
        comments.append(f"api: {r.doc} ({r.doc_source})")
    return GuestFunction(
        name=f"guest_{r.id.replace('.', '_')}", key=("guest_rule", r.id),
        doc=f"{r.name} ({r.kind.value}): {r.function}, {r.source}", comments=comments,
        cond=f"vm.cap_enabled(call, None, {r.cap!r})", cond_c=r.when,
        cond_source=str(r.source),
        then=f'vm.exit_taken(call, {reason}, {json.dumps(fields)}, "{r.id}:value")',
        then_source=str(r.value_source or r.source), otherwise=otherwise,
        otherwise_source=str(r.otherwise_source or r.source))


def guest_function(spec: Spec, r: GuestRule, vocab: Vocabulary, gvoc) -> GuestFunction:
    if r.kind is GuestRuleKind.EXIT:
        return exit_function(spec, r, gvoc)
    cond = _guest_cond(spec, r, vocab)
    vs = str(r.value_source) if r.value_source else str(r.source)
    os_ = str(r.otherwise_source) if r.otherwise_source else str(r.source)
    comments = [f"{r.kind.value} in {r.function}: `{r.when}` ({r.source})"]
    then = otherwise = ""
    if r.kind is GuestRuleKind.ID_FIELD:
        if r.value.isidentifier() and r.value not in gvoc.fields:
            raise RenderError(r.source, f"{r.value} is not in the vocabulary's guest.fields")
        then = f'vm.rule({_guest_name(r.value)}, "{r.id}:value")'
        otherwise = f'vm.rule({int(r.otherwise, 0)}, "{r.id}:otherwise")'
    elif r.kind is GuestRuleKind.REG_VISIBILITY:
        for v in (r.value, r.otherwise):
            if v not in gvoc.visibility:
                raise RenderError(r.source, f"visibility {v} is not in the vocabulary's "
                                  f"guest.visibility ({', '.join(gvoc.visibility)})")
        comments.append(f"registers: {', '.join(r.registers)} "
                        f"({', '.join(str(x) for x in r.register_sources)})")
        then = f'vm.visibility(call, VISIBILITY[{r.value!r}], "{r.id}:value")'
        otherwise = f'vm.visibility(call, VISIBILITY[{r.otherwise!r}], "{r.id}:otherwise")'
    elif r.kind is GuestRuleKind.TRAP_CONTROL:
        vis = next((v for v in spec.guest if v.kind is GuestRuleKind.REG_VISIBILITY
                    and v.access), None)
        if vis is None or gvoc.access.get(vis.access, {}).get("guest") != "undef":
            raise RenderError(r.source, f"{r.name}: no trapped access handler the "
                              "vocabulary's guest.access says injects UNDEF")
        comments.append(f"{r.name} untraps {', '.join(gvoc.hcr[r.name]['untraps'])} "
                        f"({gvoc.path}:{gvoc.lines.get(r.name, 0)}); trapped, "
                        f"`.access = {vis.access}` ({vis.access_source}) injects UNDEF")
        then = f'vm.rule(1, "{r.id}:value")'
        otherwise = f'vm.rule(0, "{r.id}:otherwise")'
        os_ = str(vis.access_source)
    elif r.kind is GuestRuleKind.EXCEPTION_PSTATE:
        then = f'vm.rule(1, "{r.id}:value")'
        otherwise = f'vm.rule(0, "{r.id}:otherwise")'
    elif r.kind is GuestRuleKind.TAG_INIT:
        then = f'vm.guest_tags(call, "{r.id}:value")'
        otherwise = f'vm.no_guest_tags(call, "{r.id}:otherwise")'
    return GuestFunction(
        name=f"guest_{r.id.replace('.', '_')}", key=("guest_rule", r.id),
        doc=f"{r.subject} {r.name or r.function} ({r.kind.value}): {r.function}, {r.source}",
        comments=comments, cond=cond, cond_c=r.when, cond_source=str(r.source),
        then=then, then_source=vs, otherwise=otherwise, otherwise_source=os_)


def _guest_or_unmodelled(spec: Spec, r: GuestRule, vocab: Vocabulary, gvoc,
                         strict: bool) -> GuestFunction:
    """A guest rule's function; one the reference cannot model stops every
    call to it with the reason (its cases are `untested`)."""
    try:
        return guest_function(spec, r, vocab, gvoc)
    except RenderError as e:
        if strict:
            raise
        stop = f"vm.unmodelled({json.dumps(r.id)}, {json.dumps(e.detail)})"
        return GuestFunction(
            name=f"guest_{r.id.replace('.', '_')}", key=("guest_rule", r.id),
            doc=f"{r.subject} {r.name or r.function} ({r.kind.value}): {r.function}, "
                f"{r.source}; the reference cannot model it",
            comments=[f"not modelled: {e.detail}"], cond=stop, cond_c=r.when,
            cond_source=str(r.source), then=stop, then_source=str(r.source),
            otherwise=stop, otherwise_source=str(r.source))


def _guest_name(name: str) -> str:
    return name if name.isidentifier() else str(int(name, 0))


def guest_constants(spec: Spec, gvoc) -> list[tuple[str, int, str]]:
    out = []
    for r in spec.guest:
        if r.kind is GuestRuleKind.ID_FIELD and r.value.isidentifier():
            f = gvoc.fields.get(r.value)
            if f is None:                # its rule is unmodelled (guest_function)
                continue
            out.append((r.value, int(f["value"]), f"{gvoc.path}:{gvoc.lines.get(r.value, 0)}"))
    return out


def module_name(spec: Spec) -> str:
    return spec.name.replace("-", "_")


def render_reference(spec: Spec, vocab: Optional[Vocabulary] = None,
                     strict: bool = False) -> str:
    """The text of reference/<spec>.py.  `strict`: a check, operation or
    guest rule the reference cannot express raises RenderError instead of
    becoming a stop that makes its cases `untested`."""
    vocab = vocab or load_vocabulary()
    env = environment()
    helpers = patch_helpers(spec)
    functions = [_function_or_unmodelled(spec, op, vocab,
                                         {h.name: h.value for h in helpers.values()}, strict)
                 for op in spec.operations if op.kind in STEP_KIND]
    functions += [reg_list_function(spec, op) for op in spec.operations
                  if op.kind is OpKind.GET_ONE_REG and _has_constant(spec, op.select.get("id", ""))]
    if not functions and not spec.guest:
        raise RenderError(Source(spec.seed, 0), f"spec {spec.name} has no operation "
                          "userspace can call and no guest rule: nothing to model "
                          "(check generator.cases.nothing_to_run first)")
    from generator.extract.guest import load_guest_vocabulary
    gvoc = load_guest_vocabulary(vocab.path)
    guest = [_guest_or_unmodelled(spec, r, vocab, gvoc, strict) for r in spec.guest]
    # the core vocabulary's numbers, and those of an area vocabulary the spec's code names
    named = set(re.findall(r"[A-Za-z_]\w*", " ".join(
        " ".join((c.condition, c.when)) + " " + (o.success.ret if o.success else "")
        for o in spec.operations for c in o.checks)))
    named |= set(re.findall(r"[A-Za-z_]\w*", " ".join(
        f"{o.success.ret if o.success else ''} {' '.join(o.select.values())}"
        for o in spec.operations)))
    used = {name for name, e in vocab.constants.items() if e.value is not None
            and (e.file == vocab.path.name or name in named)}
    return env.get_template("reference.py.j2").render(
        spec=spec, functions=functions, helpers=list(helpers.values()),
        vocab_constants=[(n, vocab.constants[n].value) for n in sorted(used)],
        capabilities=[(c.name, c.number, str(c.source)) for c in spec.capabilities],
        constants=[(c.name, c.value, str(c.source)) for c in spec.constants],
        guest=guest, guest_constants=guest_constants(spec, gvoc),
        visibility=sorted(gvoc.visibility.items()) if guest else [],
        vocabulary_name=gvoc.path)


def write_reference(spec: Spec, out_dir: Path) -> Path:
    path = Path(out_dir) / f"{module_name(spec)}.py"
    text = render_reference(spec)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
