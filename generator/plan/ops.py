"""Case planning: from a Spec to a list of test cases (pure Python).

Phases:
  1. load the reviewed vocabulary (kernel predicate -> concept, lever);
  2. for every check of every operation, derive a `Violation`: how a case
     makes the check's failing side true, read from the check's C condition
     (a truthy field, `field & ~CONST`, `field & ~PAGE_MASK`) or from the
     vocabulary lever of its predicate; host-only checks get none and become
     the skip reason of the cases that depend on them;
  3. build cases: each reachable check violated alone with every earlier
     check satisfied (inside its branch, when it sits in one: `when`);
     pairs of checks with different errnos violated together (the earlier
     must win); the valid paths and the partial and boundary behaviours of
     a page loop with a user buffer.  A check the patch's own code makes
     fail on every call (`Check.value` True: a helper that returns a
     constant) ends the plan of its operation there: one case per branch
     of the operation, each expecting that check's errno, and nothing after
     it (those checks are `not reachable` rows, generator.verdict.unreachable).

A spec with no user-reachable operation and no guest rule plans no case;
`nothing_to_run` says why (the caller prints it instead of generating).

Sizes are never byte literals of a page: a `Val` is `pages * PAGE_SIZE +
bytes` (optionally divided, for buffers of one byte per granule), resolved
by the C runtime with sysconf(_SC_PAGESIZE) and by the reference with the
page size the kernel reported.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pycparser import c_ast

from generator.cparse import parse_expr, to_c
from generator.errors import KconformError
from generator.extract.defaults import DEFAULT_LABEL
from generator.plan.onereg import (ONE_REG_FIELDS, ONE_REG_KINDS, VCPU_REQUESTS, id_for, reads_id,
                                   register_default, through_addr, vcpu_request)
from generator.model.vocab import DEFAULT_PATH as VOCABULARY
from generator.model.vocab import Vocabulary
from generator.model.vocab import load_vocabulary as _load_vocabulary
from generator.model.vocab import user_vocabularies
from generator.model import Check, Operation, OpKind, Reach, Source, Spec
from generator.model.concepts import Lever
from generator.plan.values import describe, solve, value_struct
from generator.model.case import HOST_OTHER
from generator.model.case import (OUTSIDE_PAGES, SLOT, SLOT_BASE_PAGES, SLOT_PAGES, AddMemslot,
                                  ArgPointer, Buffer, Case, CheckExtension, CreateDevice, CreateVcpu, CreateVm,
                                  AttrRequest, DeviceAttr, DropCapability, EnableCap, Fill, Gap,
                                  GetOneReg, Guest, GuestOp, ReadBack, RegList, Report, SetOneReg,
                                  Step, StepRole, Untested, Val, VcpuInRun, VcpuStart, VmIoctl)


class PlanError(KconformError):
    """A check whose violation cannot be derived; names the patch line."""

    def __init__(self, source: Source, message: str, gap: Gap = Gap.NO_LEVER):
        super().__init__(f"{source.describe()}: {message}")
        self.source = source
        self.gap = gap
        self.detail = message


# ---------------------------------------------------------------- vocabulary
def load_vocabulary(path: Path = VOCABULARY) -> Vocabulary:
    """The reviewed vocabulary with the user's files over it, parsed once
    per set of files (generator.model.vocab)."""
    extra = user_vocabularies() if Path(path).resolve() == VOCABULARY.resolve() else ()
    return _cached_vocabulary(Path(path), extra)


@functools.lru_cache(maxsize=8)
def _cached_vocabulary(path: Path, extra: tuple) -> Vocabulary:
    return _load_vocabulary(path, extra)


# ---------------------------------------------------------------- violations
class How(enum.Enum):
    LEVER = "lever"
    TRUTHY = "truthy"                # field != 0 fails: set it to 1
    BIT_OUTSIDE_MASK = "bit"         # field & ~CONST fails: set a bit
    MISALIGN = "misalign"            # field & ~PAGE_MASK fails: add a granule
    ELEMENTS = "elements"            # an array must be all zero: one element at a time
    ABOVE = "above"                  # field > bound / field >= bound: set it past the bound
    VALUE = "value"                  # set the field to a value the check refuses
    ASSIGN = "assign"                # set several fields (a check over derived locals)
    ALL = "all"                      # `a && b && (c & ~MASK)`: make every conjunct fail


@dataclass(frozen=True)
class Violation:
    check: Check
    how: How
    lever: Optional[Lever] = None
    field: str = ""
    value: int = 0
    elements: tuple = ()             # ELEMENTS: the element paths, one case each
    arg: str = ""                    # DROP_CAPABILITY: the POSIX capability
    assignments: tuple = ()          # ASSIGN: ((path, value), ...) per case
    named: tuple = ()                # ASSIGN: a word per assignment ("closest", "wraps")
    inside: int = 0                  # ABOVE: the value just inside the bound
    note: str = ""                   # VALUE: what the value is, for the description
    feature: tuple = ()              # VCPU_WITHOUT_FEATURE, VCPU_NOT_FINALIZED: (KVM_ARM_VCPU_*
                                     # name, bit); VCPU_NOT_FINALIZED's arg: the capability
                                     # the host reports the feature with ("" unknown)
    init: tuple = ()                 # INITIALISE_FEATURE_FIRST: (feature, group, attr)
    parts: tuple = ()                # ALL: one Violation per conjunct
    state: tuple = ()                # SET_STATE_FIRST: (what, group, attr, value)

    def levers(self) -> set:
        """Its lever and its conjuncts' levers."""
        out = {self.lever} - {None}
        for p in self.parts:
            out |= p.levers()
        return out

    @property
    def touches(self) -> str:
        return self.lever.value if self.how is How.LEVER else self.field

    def composable_with(self, other: "Violation") -> bool:
        levers = self.levers() | other.levers()
        if levers & {Lever.INITIALISE_FEATURE_FIRST, Lever.SET_STATE_FIRST,
                     Lever.OTHER_HOST_ENTRY} and levers & {
                Lever.VCPU_WITHOUT_FEATURE, Lever.VCPU_NOT_INITIALISED}:
            return False                  # a feature initialised (or its state set) needs
                                          # the vCPU to have it
        if Lever.VCPU_NOT_FINALIZED in levers and levers & {
                Lever.VCPU_NOT_INITIALISED, Lever.VM_HAS_RUN, Lever.VCPU_IN_RUN}:
            return False                  # an uninitialised vCPU has no feature to finalize;
                                          # one not finalized cannot run
        if self.touches != other.touches:
            return True
        return {self.how, other.how} == {How.BIT_OUTSIDE_MASK, How.MISALIGN}


def struct_fields(spec: Spec, arg_type: str) -> list[str]:
    """Spec.struct_fields (the model answers it)."""
    return spec.struct_fields(arg_type)


ATTR_KINDS = {OpKind.SET_DEVICE_ATTR: AttrRequest.SET, OpKind.GET_DEVICE_ATTR: AttrRequest.GET,
              OpKind.HAS_DEVICE_ATTR: AttrRequest.HAS}
# struct kvm_device_attr (include/uapi/linux/kvm.h) as a DEVICE_ATTR step
# sets it; `value` is the u64 its addr points at
ATTR_FIELDS = ["flags", "group", "attr", "value"]
# struct kvm_create_device as a CREATE_DEVICE step sets it (its fd is the kernel's
# answer); KVM_CREATE_DEVICE_TEST (include/uapi/linux/kvm.h): probe, create nothing
CREATE_DEVICE_FIELDS = ["type", "flags"]
KVM_CREATE_DEVICE_TEST = 1


def op_fields(spec: Spec, op: Operation) -> list[str]:
    """The inputs a case sets for an operation: its argument struct's
    scalar fields, a device attribute's group, attr and value (or, when
    the handler copies the value pointer into a struct the spec defines,
    values.value_struct, that struct's fields instead of value), the one
    value a scalar argument points at (named as the handler's local:
    `get_user(what, (int __user *)argp)` -> "what"), or the ioctl's
    integer argument itself ("arg": KVM_RUN's)."""
    if op.kind in ATTR_KINDS:
        inner = attr_value_fields(spec, op)
        return ATTR_FIELDS[:3] + inner if inner else list(ATTR_FIELDS)
    if op.kind in ONE_REG_KINDS:
        return list(ONE_REG_FIELDS)
    if op.kind is OpKind.CREATE_DEVICE:
        return list(CREATE_DEVICE_FIELDS)
    if vcpu_request(op):
        return list(VCPU_REQUESTS[op.name])
    mode = arg_mode(op)
    if mode is ArgMode.VALUE:
        return ["arg"]
    if mode is ArgMode.SCALAR:
        return [scalar_field(op)]
    return struct_fields(spec, op.arg_type)


class ArgMode(enum.Enum):
    """How an ioctl of the spec takes its argument."""
    STRUCT = "struct"                # a pointer to a struct (or a struct the uAPI defines)
    SCALAR = "scalar"                # a pointer to one scalar (`_IOW(KVMIO, n, int)`)
    VALUE = "value"                  # the integer argument itself (`_IO`: no type)


SCALAR_TYPES = {"int", "unsigned int", "long", "unsigned long", "__u8", "__s8", "__u16",
                "__s16", "__u32", "__s32", "__u64", "__s64", "bool", "u8", "u16", "u32", "u64"}


def arg_mode(op: Operation) -> ArgMode:
    if op.kind is not OpKind.IOCTL or op.buffer is not None:
        return ArgMode.STRUCT
    if not op.arg_type:
        return ArgMode.VALUE
    if " ".join(op.arg_type.split()) in SCALAR_TYPES:
        return ArgMode.SCALAR
    return ArgMode.STRUCT


def scalar_field(op: Operation) -> str:
    """The name of the one value a scalar argument points at: the local the
    handler reads it into (`get_user(what, argp)`), else "value"."""
    m = re.search(r"\b(?:__)?get_user\s*\(\s*(\w+)\s*,", op.body or "")
    if m is None:
        m = re.search(r"\bcopy_from_user\s*\(\s*&\s*(\w+)\s*,\s*(?:\([^)]*\)\s*)?argp\b",
                      op.body or "")
    return m.group(1) if m else "value"


def attr_value_fields(spec: Spec, op: Operation) -> list[str]:
    """The scalar fields of the struct a device attribute's addr points at
    ([] when it points at one u64, or when a field's name is one of
    kvm_device_attr's own)."""
    if op.kind not in ATTR_KINDS:
        return []
    vs = value_struct(spec, op)
    if vs is None:
        return []
    inner = struct_fields(spec, vs[1])
    if not inner or {f.split("[")[0] for f in inner} & set(ATTR_FIELDS):
        return []
    return inner


def _field_path(node: c_ast.Node, op: Operation, fields: list[str]) -> Optional[str]:
    bases = {f.split("[")[0] for f in fields} | {"flags", "args"}
    if isinstance(node, c_ast.ID):
        name = op.aliases.get(node.name, node.name)    # a local may alias args[1]
        return name if name.split("[")[0] in bases else None
    if isinstance(node, c_ast.StructRef):
        parts, n = [], node               # events->exception.pad: "exception.pad"
        while isinstance(n, c_ast.StructRef):
            parts.insert(0, n.field.name)
            n = n.name
        return next((p for p in (".".join(parts[k:]) for k in range(len(parts)))
                     if p in bases), None)
    if isinstance(node, c_ast.ArrayRef) and isinstance(node.subscript, c_ast.Constant):
        base = _field_path(node.name, op, fields)
        return f"{base}[{int(node.subscript.value, 0)}]" if base else None
    return None


def memslot_violation(op: Operation, check: Check, node: c_ast.Node) -> Violation:
    """ADD_MEMSLOT_FIRST for a check that is `[!]pred(...)` with pred a
    memslots_empty predicate: value 1 when the check fails once a memslot
    exists (`!kvm_are_all_memslots_empty(kvm)`: the case adds one), 0 when it
    fails on a VM without one (the bare predicate: the case is a fresh VM and
    the valid call adds one first)."""
    negated = isinstance(node, c_ast.UnaryOp) and node.op == "!"
    if not negated and op.buffer is not None:
        raise PlanError(check.source, f"`{check.condition}` fails on a VM without a memslot, "
                        f"but every call of {op.name} has a memslot backing its buffer")
    return Violation(check, How.LEVER, lever=Lever.ADD_MEMSLOT_FIRST, value=int(negated),
                     note="a memslot exists" if negated else "no memslot exists")


def _head(node: c_ast.Node) -> Optional[str]:
    if isinstance(node, c_ast.FuncCall) and isinstance(node.name, c_ast.ID):
        return node.name.name
    if isinstance(node, c_ast.StructRef):
        return to_c(node)
    return None


def derive_violation(spec: Spec, op: Operation, check: Check,
                     vocab: Vocabulary) -> Optional[Violation]:
    """How to make `check` fail; None when only the host decides it, or
    when the patch's own code fixes its outcome (`check.value`: it fails on
    every call, or on none) so that no input changes it."""
    if check.reach is Reach.HOST_ONLY and check.value is None:
        return host_violation(spec, op, check, vocab)
    if check.reach is not Reach.REACHABLE or check.value is not None:
        return None
    fields = op_fields(spec, op)
    if op.kind in ONE_REG_KINDS and reads_id(op, check):
        return _id_violation(spec, op, check, vocab)
    node = parse_expr(check.condition)
    below = _below_count(op, node, fields, vocab) if vcpu_request(op) else None
    if below is not None:
        return Violation(check, How.VALUE, field=below, value=0,
                         note="below any count of registers (there is at least one)")
    inner = node.expr if isinstance(node, c_ast.UnaryOp) and node.op == "!" else node
    # a predicate's whole spelling (`test_bit(KVM_ARCH_FLAG_HAS_RAN_ONCE)`) before its head
    heads = [_head(inner)] + [h for p in check.predicates
                              for h in (p.spelling.strip(), p.spelling.split("(")[0].strip())]
    helper_error = _repeat_helper_error(check, vocab)
    if helper_error is not None:
        return helper_error
    for head in filter(None, heads):
        term = vocab.predicates.get(head) or vocab.helpers.get(head)
        if term is not None and term.lever in (Lever.RESERVED_ELEMENT_NONZERO.value,
                                               Lever.NOT_POWER_OF_2.value):
            return _field_lever(spec, op, check, Lever(term.lever), fields)
        term = vocab.predicates.get(head)
        if term is not None:
            if term.reach is not Reach.REACHABLE or term.lever == Lever.NONE.value:
                return None
            lever = Lever(term.lever)
            if lever is Lever.REPEAT_VALID_CALL and not any(
                    e.startswith(f"{head} = ") for e in op.effects):
                return None               # the operation does not set what the check tests
            if lever is Lever.DROP_CAPABILITY:
                return Violation(check, How.LEVER, lever=lever,
                                 arg=_posix_capability(check, head))
            if lever is Lever.BAD_ARG_POINTER and (
                    (op.kind in ATTR_KINDS and "addr" in check.reads)
                    or (op.kind in ONE_REG_KINDS and through_addr(check))):
                lever = Lever.BAD_VALUE_POINTER   # the pointer a field holds, not the argument
            read = next((op.aliases.get(r, r) for r in check.reads), "")
            feature = ()
            if lever in (Lever.VCPU_NOT_INITIALISED, Lever.VCPU_WITHOUT_FEATURE,
                         Lever.VCPU_NOT_FINALIZED) and op.fd != "vcpu":
                raise PlanError(check.source, f"{head} tests a vCPU, but {op.name} is "
                                f"issued on the {op.fd} fd: no case makes the vCPU it means")
            if lever is Lever.VCPU_WITHOUT_FEATURE:
                feature = vcpu_feature(spec, check, head, term, vocab)
            if lever is Lever.VCPU_NOT_FINALIZED:
                return Violation(check, How.LEVER, lever=lever,
                                 feature=vcpu_feature(spec, check, head, term, vocab),
                                 arg=str(dict(term.args).get("cap", "")))
            if lever is Lever.INITIALISE_FEATURE_FIRST:
                if op.fd != "vcpu":
                    raise PlanError(check.source, f"{head} tests a vCPU feature, but "
                                    f"{op.name} is issued on the {op.fd} fd")
                return Violation(check, How.LEVER, lever=lever,
                                 init=feature_init(spec, check, head, term, vocab))
            if lever is Lever.SET_STATE_FIRST:
                return state_and_rest(spec, op, check, node, head, term, vocab)
            if lever is Lever.ADD_MEMSLOT_FIRST:
                if _head(inner) != head:
                    continue              # a conjunct: which side needs the memslot is
                                          # the condition's, not the predicate's
                return memslot_violation(op, check, node)
            return Violation(check, How.LEVER, lever=lever,
                             field=read if read in fields else "", feature=feature)
    other = other_host_entry(op, node, fields, vocab)
    if other is not None:
        path, host = other
        return Violation(check, How.LEVER, lever=Lever.OTHER_HOST_ENTRY, field=path, arg=host)
    host = host_value_test(op, node, fields, vocab)
    if host is not None:
        path, _, unused = host
        return Violation(check, How.VALUE, field=path, value=unused)
    solved = _solve(spec, op, check.condition, fields, vocab)
    if solved is not None:
        return Violation(check, How.ASSIGN, field=",".join(p for p, _ in solved.failing[0]),
                         assignments=solved.failing, named=solved.what)
    bound = _bound(spec, op, node, fields, vocab)
    if bound is not None:
        path, past, inside = bound
        return Violation(check, How.ABOVE, lever=Lever.FIELD_OUT_OF_RANGE, field=path,
                         value=past, inside=inside)
    simple = _field_test(spec, op, check, node, fields, vocab)
    if simple is not None:
        return simple
    conj = _conjuncts(node)
    if len(conj) > 1:
        parts = [_field_test(spec, op, check, n, fields, vocab) for n in conj]
        if all(parts) and len({p.field for p in parts}) == len(parts):
            return Violation(check, How.ALL, field=parts[0].field, value=parts[0].value,
                             parts=tuple(parts))
    buffer_names = set()
    if op.buffer:
        buffer_names = {op.buffer.pointer_field} | {
            k for k, v in op.aliases.items() if v == op.buffer.pointer_field}
    tag_copy = any(getattr(vocab.helpers.get(p.spelling.split("(")[0].strip()),
                           "effect", "") for p in check.predicates)
    if op.buffer and (buffer_names & set(check.reads) or tag_copy):
        return Violation(check, How.LEVER, lever=Lever.BAD_BUFFER_POINTER)
    aligned = _not_aligned(node, op, fields)
    if aligned is not None:
        return Violation(check, How.MISALIGN, field=aligned, value=1)
    other = _not_one_of(spec, op, node, fields, vocab)
    if other is not None:
        path, value, _ = other
        return Violation(check, How.VALUE, field=path, value=value)
    unmapped = [h for h in heads if h and h.isidentifier() and h not in vocab.predicates
                and h not in vocab.helpers and h not in vocab.constants]
    if unmapped and isinstance(inner, c_ast.FuncCall):
        raise PlanError(check.source, f"unmapped name {unmapped[0]} at line "
                        f"{check.source.line}: no vocabulary entry gives it a lever",
                        Gap.UNMAPPED)
    raise PlanError(check.source, f"cannot derive how to violate check "
                    f"{check.id} ({check.condition!r}): not a field test, a "
                    f"mask test or a vocabulary predicate with a lever")


def _posix_capability(check: Check, head: str) -> str:
    """The POSIX capability `capable(CAP_X)` (or ns_capable(ns, CAP_X), ...)
    tests: its last argument, a <linux/capability.h> name."""
    def find(n):
        if isinstance(n, c_ast.FuncCall) and to_c(n.name) == head and n.args:
            return n.args.exprs[-1]
        for _, child in n.children():
            got = find(child)
            if got is not None:
                return got
        return None
    arg = find(parse_expr(check.condition))
    name = to_c(arg) if arg is not None else ""
    if not re.fullmatch(r"CAP_[A-Z0-9_]+", name):
        raise PlanError(check.source, f"check {check.id} ({check.condition!r}): {head}() "
                        f"names no POSIX capability (CAP_...) to drop")
    return name


# concepts of host values a case reads at run time (generator.model.case
# HOST_VALUES): concept -> (host value, a number the host never gives)
HOST_CONCEPTS = {
    # perf type numbers come from an IDR counting up from PERF_TYPE_MAX
    "host_pmu_type": ("pmu_type", 0x7fffffff),
}


def host_value_test(op: Operation, node, fields: list[str], vocab: Vocabulary):
    """`HOST != field` (either way round), HOST a vocabulary helper whose
    concept is a host value: (field path, host value, a value the host
    never gives) -- the valid call sends the host's, the case an unused one."""
    if not (isinstance(node, c_ast.BinaryOp) and node.op == "!="):
        return None
    for a, b in ((node.left, node.right), (node.right, node.left)):
        term = vocab.lookup(to_c(a)) or vocab.lookup(_head(a) or "")
        if term is None or term.concept not in HOST_CONCEPTS:
            continue
        path = _field_path(b, op, fields)
        if path is not None:
            return (path, *HOST_CONCEPTS[term.concept])
    return None


def other_host_entry(op: Operation, node, fields: list[str], vocab: Vocabulary):
    """`VALUE != entry` (either way round), VALUE a vocabulary term of
    concept vm_value with lever other_host_entry that the operation itself
    sets (`VALUE = entry` among its effects), `entry` the cursor of a search
    of a host list (concept host_pmu) whose key another check of the
    operation compares with a field (`entry->pmu.type != field`,
    host_value_test): (that field, the host value naming a second entry,
    case.HOST_OTHER).  The valid call, made first, makes the first entry
    the VM's; the call then names the second."""
    if not (isinstance(node, c_ast.BinaryOp) and node.op == "!="):
        return None
    for a, b in ((node.left, node.right), (node.right, node.left)):
        value, entry = vocab.lookup(to_c(a)), vocab.lookup(to_c(b))
        if value is None or entry is None or value.lever != Lever.OTHER_HOST_ENTRY.value \
                or entry.concept != "host_pmu" \
                or f"{to_c(a)} = {to_c(b)}" not in op.effects:
            continue
        for c in op.checks:
            host = host_value_test(op, parse_expr(c.condition), fields, vocab)
            if host is not None and host[1] in HOST_OTHER:
                return host[0], HOST_OTHER[host[1]]
    return None


def state_and_rest(spec: Spec, op: Operation, check: Check, node, head: str, term,
                   vocab: Vocabulary) -> Violation:
    """A VM state predicate (lever set_state_first): the state set first
    by the device attribute its vocabulary args name (`set: GROUP/ATTR`,
    `value`); AND-ed with other conditions, each of them made true too
    (How.ALL), or the check has no lever."""
    args = dict(term.args)
    parts = args.get("set", "").split("/")
    if op.fd != "vcpu" or len(parts) != 2 or "value" not in args:
        raise PlanError(check.source, f"{head} names no vCPU device attribute that sets "
                        "it (vocabulary args set: GROUP/ATTR and value), or "
                        f"{op.name} is not issued on a vCPU")
    values = [constant_value(spec, vocab, c.strip()) for c in parts]
    if None in values:
        raise PlanError(check.source, f"unmapped name in {args['set']} at line "
                        f"{check.source.line}: the attribute that sets {head} has no value",
                        Gap.UNMAPPED)
    state = Violation(check, How.LEVER, lever=Lever.SET_STATE_FIRST, field=head,
                      state=(args.get("what", head), values[0], values[1],
                             int(args["value"], 0)))
    rest = [n for n in _conjuncts(node) if head not in to_c(n)]
    if len(rest) + 1 != len(_conjuncts(node)):
        raise PlanError(check.source, f"check {check.id} ({check.condition!r}): {head} is "
                        "not one conjunct of it")
    parts_ = [state]
    for n in rest:
        text = to_c(n)
        sub = dataclasses.replace(check, condition=text, predicates=[
            p for p in check.predicates if p.spelling in text])
        try:
            v = derive_violation(spec, op, sub, vocab)
        except PlanError as e:
            raise PlanError(check.source, f"check {check.id}: no lever makes `{text}` "
                            f"true beside {head} ({e.detail})", e.gap) from None
        if v is None:
            raise PlanError(check.source, f"check {check.id}: no lever makes `{text}` "
                            f"true beside {head}", Gap.NO_LEVER)
        parts_.append(v)
    if len(parts_) == 1:
        return state
    return Violation(check, How.ALL, field=parts_[-1].field or head, parts=tuple(parts_))


def _repeat_helper_error(check: Check, vocab: Vocabulary) -> Optional[Violation]:
    """`r = helper(...); if (r) goto out;` read as `helper(...) == -ERRNO`
    (a helper error of the vocabulary): when that error's lever is
    repeat_valid_call (mtree_insert_range's EEXIST on an overlap), the valid
    call made first makes the same call fail with it."""
    if check.errno is None:
        return None
    for p in check.predicates:
        term = vocab.helpers.get(p.spelling.split("(")[0].strip())
        for e in getattr(term, "errors", ()) or ():
            if e.concept == p.concept and e.errno == check.errno.name \
                    and e.lever == Lever.REPEAT_VALID_CALL.value:
                return Violation(check, How.LEVER, lever=Lever.REPEAT_VALID_CALL)
    return None


def _solve(spec: Spec, op: Operation, condition: str, fields: list[str], vocab: Vocabulary):
    """values.solve over the operation's inputs (a condition reading locals
    the handler derives from them), constants from the spec or the vocabulary."""
    def constant(name):
        return constant_value(spec, vocab, name)
    vs = value_struct(spec, op) if op.kind in ATTR_KINDS else None
    return solve(spec, op, fields, condition, constant,
                 struct_type=vs[1] if vs else op.arg_type)


def _field_test(spec: Spec, op: Operation, check: Check, node, fields: list[str],
                vocab: Vocabulary) -> Optional[Violation]:
    """A truthy field (`field`: set it to 1) or a mask test (`field &
    ~CONST`: set a bit outside CONST; `~PAGE_MASK`: add a granule)."""
    path = _field_path(node, op, fields)
    if path is not None:
        return Violation(check, How.TRUTHY, field=path, value=1)
    zero = _zero_test(node, op, fields)
    if zero is not None:                # `!field` fails when it is 0
        return Violation(check, How.VALUE, field=zero, value=0, note="zero")
    if (isinstance(node, c_ast.BinaryOp) and node.op == "&"
            and isinstance(node.right, c_ast.UnaryOp) and node.right.op == "~"
            and isinstance(node.right.expr, c_ast.ID)):
        path = _field_path(node.left, op, fields)
        mask = node.right.expr.name
        if path is not None and mask == "PAGE_MASK":
            granule = op.buffer.bytes_per_unit if op.buffer else 1
            return Violation(check, How.MISALIGN, field=path, value=granule)
        if path is not None:
            allowed = constant_value(spec, vocab, mask)
            if allowed is None:
                raise PlanError(check.source, f"unmapped name {mask} at line "
                                f"{check.source.line}: the mask is not a constant "
                                f"of spec {spec.name} or the vocabulary", Gap.UNMAPPED)
            bit = ~allowed & -(~allowed)
            return Violation(check, How.BIT_OUTSIDE_MASK, field=path, value=bit)
    return None


def _host_feature(node, vocab: Vocabulary):
    """(feature, has, key) when `node` is a host-feature predicate of the
    registry (`cpus_have_final_cap(ARM64_HAS_RAS_EXTN)`: has True) or its
    negation (has False), else None; `key` is its vocabulary spelling."""
    from generator.model.hostfeatures import registry
    has = True
    while isinstance(node, c_ast.UnaryOp) and node.op == "!":
        node, has = node.expr, not has
    if not isinstance(node, c_ast.FuncCall):
        return None
    head = to_c(node.name)
    exprs = node.args.exprs if node.args else []
    keys = ([f"{head}({to_c(exprs[0])})"] if exprs else []) + [head]
    for key in keys:
        term = vocab.predicates.get(key)
        if term is not None and term.lever == Lever.HOST_LACKS_FEATURE.value:
            feature = registry().feature_of(key)
            if feature is not None:
                return feature, has, key
    return None


def host_violation(spec: Spec, op: Operation, check: Check,
                   vocab: Vocabulary) -> Optional[Violation]:
    """A host-only check `a && b && !host_has(F)` (a conjunction of which
    the host-feature predicates of the registry are the only host-only
    part): the host profile that lacks F (lever host_lacks_feature; a
    conjunct `host_has(F)` wants the default host, which has every
    feature) and the violation of the rest, derived as for any check.
    None when no host in the registry makes it true, or the rest has no
    violation."""
    from generator.model.hostfeatures import DEFAULT_PROFILE, registry
    node = parse_expr(check.condition)
    rest, lacks, has, keys = [], set(), set(), set()
    for conj in _conjuncts(node):
        found = _host_feature(conj, vocab)
        if found is None:
            rest.append(conj)
        else:
            (has if found[1] else lacks).add(found[0].name)
            keys |= {found[2], found[2].split("(")[0]}
    if not lacks and not has:
        return None
    reg = registry()
    profiles = {reg.features[f].lacking for f in lacks}
    if len(profiles) > 1:
        return None                      # no one profile lacks every feature wanted
    profile = reg.profile(profiles.pop() if profiles else DEFAULT_PROFILE)
    if not lacks <= profile.lacks or has & profile.lacks:
        return None                      # the profile has a feature the check needs absent
    inner = None
    if rest:
        text = " && ".join(to_c(n) for n in rest)
        others = [p for p in check.predicates       # those of the rest
                  if p.spelling.strip() not in keys and p.spelling.split("(")[0].strip() not in keys]
        plain = Check(check.id, check.order, text, check.errno, check.kind, list(check.reads),
                      others, check.source, check.in_loop, Reach.REACHABLE, check.context,
                      check.result, check.effect, check.when, None)
        try:
            inner = derive_violation(spec, op, plain, vocab)
        except PlanError:
            return None
        if inner is None:
            return None
    elif not lacks:
        return None                      # `host_has(F)` alone fails on every default call
    return Violation(check, How.LEVER, lever=Lever.HOST_LACKS_FEATURE,
                     arg="" if profile.name == DEFAULT_PROFILE else profile.name,
                     parts=(inner,) if inner is not None else (),
                     note=", ".join(sorted(lacks)))


def _zero_test(node, op: Operation, fields: list[str]) -> Optional[str]:
    """The input a check `!field` (or `field == 0`) tests for zero: it
    fails with the field 0, and a valid call gives it 1."""
    if isinstance(node, c_ast.UnaryOp) and node.op == "!":
        return _field_path(node.expr, op, fields)
    if isinstance(node, c_ast.BinaryOp) and node.op == "==" and \
            isinstance(node.right, c_ast.Constant) and to_c(node.right) == "0":
        return _field_path(node.left, op, fields)
    return None


def _conjuncts(node) -> list:
    """`a && b && c` -> [a, b, c] (one node for anything else)."""
    if isinstance(node, c_ast.BinaryOp) and node.op == "&&":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def feature_init(spec: Spec, check: Check, head: str, term, vocab: Vocabulary) -> tuple:
    """(feature, group, attr) of the device attribute that initialises the
    vCPU feature a predicate tests: its vocabulary args `feature` and
    `init: GROUP/ATTR` (constants of the vocabulary or the spec)."""
    args = dict(term.args)
    name, init = args.get("feature", ""), args.get("init", "")
    parts = init.split("/")
    if not name or len(parts) != 2:
        raise PlanError(check.source, f"{head} names no attribute that initialises the "
                        "feature (vocabulary args feature and init: GROUP/ATTR)")
    values = []
    for c in parts:
        v = vocab.constant_value(c.strip())
        if v is None:
            try:
                v = spec.constant(c.strip()).value
            except KeyError:
                raise PlanError(check.source, f"unmapped name {c.strip()} at line "
                                f"{check.source.line}: the attribute that initialises "
                                f"{name} has no value in the vocabulary", Gap.UNMAPPED) from None
        values.append(int(v))
    return (name, values[0], values[1])


def feature_inits(vocab: Vocabulary) -> dict[str, tuple[int, int]]:
    """feature -> (group, attr) of its init attribute, for every vCPU
    feature the vocabulary says is initialised by one (a vCPU with it
    needs it before KVM_RUN)."""
    out: dict[str, tuple[int, int]] = {}
    for term in vocab.predicates.values():
        args = dict(term.args)
        parts = args.get("init", "").split("/")
        if term.concept != "feature_initialised" or len(parts) != 2:
            continue
        values = [vocab.constant_value(c.strip()) for c in parts]
        if None not in values and args.get("feature"):
            out[args["feature"]] = (int(values[0]), int(values[1]))
    return out


def vcpu_feature(spec: Spec, check: Check, head: str, term, vocab: Vocabulary) -> tuple:
    """The KVM_ARM_VCPU_INIT feature a vCPU predicate names, (name, bit):
    its vocabulary `args.feature` (`kvm_vcpu_has_pmu`), else the argument
    its `params` call `feature` (`vcpu_has_feature(vcpu, KVM_ARM_VCPU_SVE)`);
    the bit is the constant's value (the vocabulary's or the spec's)."""
    name = dict(term.args).get("feature", "")
    if not name and "feature" in term.params:
        i = term.params.index("feature")
        for node in _calls(parse_expr(check.condition), head):
            exprs = node.args.exprs if node.args else []
            if i < len(exprs) and isinstance(exprs[i], c_ast.ID):
                name = exprs[i].name
                break
    if not name:
        raise PlanError(check.source, f"{head} names no vCPU feature the planner can read "
                        f"(`{check.condition}`): no args.feature in the vocabulary and no "
                        "constant argument", Gap.NO_LEVER)
    bit = vocab.constant_value(name)
    if bit is None:
        try:
            bit = spec.constant(name).value
        except KeyError:
            raise PlanError(check.source, f"unmapped name {name} at line {check.source.line}: "
                            "the vCPU feature has no bit number in the vocabulary",
                            Gap.UNMAPPED) from None
    return (name, int(bit))


def _calls(node, head: str) -> list:
    """Every call of `head` inside a parsed condition."""
    out = []

    class V(c_ast.NodeVisitor):
        def visit_FuncCall(self, n):
            if isinstance(n.name, c_ast.ID) and n.name.name == head:
                out.append(n)
            self.generic_visit(n)
    V().visit(node)
    return out


def _field_lever(spec: Spec, op: Operation, check: Check, lever: Lever,
                 fields: list[str]) -> Violation:
    """A lever that sets the field the check reads: each element of a
    reserved array in turn, or a value that is not a power of two."""
    path = check.reads[0] if check.reads else ""
    if lever is Lever.RESERVED_ELEMENT_NONZERO:
        elements = tuple(f for f in fields if f.split("[")[0] == path and "[" in f)
        if not elements and path in fields:
            elements = (path,)
        if not elements:
            raise PlanError(check.source, f"check {check.id} ({check.condition!r}) reads "
                            f"{path or 'no field'}, which is not an array of "
                            f"{op.arg_type or 'the argument'}")
        return Violation(check, How.ELEMENTS, lever=lever, field=path, value=1,
                         elements=elements)
    if path not in fields:
        raise PlanError(check.source, f"check {check.id} ({check.condition!r}) reads "
                        f"{path or 'no field'}, not a field of {op.arg_type or 'the argument'}")
    return Violation(check, How.VALUE, lever=lever, field=path, value=3)


def _not_aligned(node, op: Operation, fields: list[str]) -> Optional[str]:
    """`!IS_ALIGNED(field, a)`: the field (a value one past a multiple fails it)."""
    if isinstance(node, c_ast.UnaryOp) and node.op == "!" and isinstance(node.expr, c_ast.FuncCall) \
            and to_c(node.expr.name) == "IS_ALIGNED" and node.expr.args:
        return _field_path(node.expr.args.exprs[0], op, fields)
    return None


def _not_one_of(spec: Spec, op: Operation, node, fields: list[str], vocab: Vocabulary):
    """`field != A` or `field != A && field != B ...` on one field: the
    field, a value none of them is (one past the largest), and the values
    that pass (the first is what a valid call uses)."""
    parts = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, c_ast.BinaryOp) and n.op == "&&":
            stack += [n.right, n.left]
        else:
            parts.append(n)
    path, values = None, []
    for n in parts:
        if not (isinstance(n, c_ast.BinaryOp) and n.op == "!="):
            return None
        p = _field_path(n.left, op, fields)
        v = _const_value(spec, n.right, vocab)
        if p is None or v is None or (path is not None and p != path):
            return None
        path = p
        values.append(v)
    if path is None:
        return None
    return path, max(values) + 1, values


_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


def _bound(spec: Spec, op: Operation, node, fields: list[str], vocab: Vocabulary):
    """`field > BOUND`, `field >= BOUND` (or the bound on the left): the
    field path, a value that fails the check, and one just inside it."""
    if not (isinstance(node, c_ast.BinaryOp) and node.op in _FLIP):
        return None
    for a, b, op_ in ((node.left, node.right, node.op), (node.right, node.left, _FLIP[node.op])):
        shift, mask = 0, None
        if (isinstance(a, c_ast.FuncCall) and isinstance(a.name, c_ast.ID)
                and a.name.name == "FIELD_GET" and a.args and len(a.args.exprs) == 2):
            # `FIELD_GET(MASK, field) > MAX`: the bound on the bits MASK selects
            mask = _const_value(spec, a.args.exprs[0], vocab)
            if not mask:
                continue
            shift, a = (mask & -mask).bit_length() - 1, a.args.exprs[1]
        path = _field_path(a, op, fields + ["flags"] + [f"args[{i}]" for i in range(4)])
        value = _const_value(spec, b, vocab)
        if path is None or value is None:
            continue
        if op_ == ">":
            past, inside = value + 1, value
        elif op_ == ">=":
            past, inside = value, value - 1
        else:
            return None                  # `field < BOUND` fails below: not a range lever
        if mask is not None:
            past, inside = past << shift, inside << shift
            if past & ~mask:             # MAX fills the field: no value of it is past MAX
                return None
        return path, past, inside
    return None


def _below_count(op: Operation, node, fields: list[str], vocab: Vocabulary) -> Optional[str]:
    """`field < count` where the count is the host's number of registers
    (a vocabulary helper of concept reg_count): the field's path (0 is
    below any such count)."""
    if not (isinstance(node, c_ast.BinaryOp) and node.op in ("<", ">")):
        return None
    a, b = (node.left, node.right) if node.op == "<" else (node.right, node.left)
    head = _head(b)
    term = vocab.helpers.get(head) if head else None
    path = _field_path(a, op, fields)
    if term is not None and term.concept == "reg_count" and path is not None:
        return path
    return None


def constant_value(spec: Spec, vocab: Vocabulary, name: str) -> Optional[int]:
    """A name's value: the spec's constant, else the vocabulary's (None)."""
    try:
        return spec.constant(name).value
    except KeyError:
        return vocab.constant_value(name)


def _const_value(spec: Spec, node, vocab: Vocabulary) -> Optional[int]:
    if isinstance(node, c_ast.Constant) and node.type.startswith(("int", "unsigned", "long")):
        return int(node.value.rstrip("uUlL"), 0)
    if isinstance(node, c_ast.ID):
        return constant_value(spec, vocab, node.name)
    return None


def _id_violation(spec: Spec, op: Operation, check: Check, vocab: Vocabulary) -> Violation:
    """A check on a ONE_REG operation's register id: the variant of the
    valid id that fails it alone (generator.plan.onereg)."""
    const = op.select.get("id", "")
    valid = constant_value(spec, vocab, const)
    if valid is None:
        raise PlanError(check.source, f"unmapped name {const} at line {check.source.line}: "
                        f"the register id {op.name} is reached by has no value", Gap.UNMAPPED)
    found, why = id_for(spec, op, vocab, check, {"id": valid, "value": 0})
    if found is None:
        raise PlanError(check.source, why, Gap.NOT_TARGETED)
    what, rid = found
    return Violation(check, How.VALUE, field="id", value=rid, note=what)


HOST_ALLOCATION = "host_memory_exhausted"     # the concept of a failed host allocation


def allocation_failure(check: Check, vocab: Vocabulary) -> Optional[str]:
    """Why a check that fails only when a host allocation fails stays
    untested (its predicate maps to `host_memory_exhausted`), or None for
    any other check.  No lever fails a host allocation: Debian's kernels
    are built without CONFIG_FAULT_INJECTION (no failslab, no fail-nth),
    and a memory-cgroup limit would fail only what is charged to the
    caller's cgroup: the vocabulary's meaning of the helper says whether
    its allocation is."""
    for p in check.predicates:
        if p.concept != HOST_ALLOCATION:
            continue
        head = p.spelling.split("(")[0].strip()
        term = vocab.lookup(head)
        meaning = ""
        if term is not None:
            meaning = next((e.meaning for e in term.errors
                            if e.concept == HOST_ALLOCATION
                            and (check.errno is None or e.errno == check.errno.name)),
                           term.meaning if term.concept == HOST_ALLOCATION else "")
        what = f"{head}: {meaning}" if meaning else head
        return (f"`{check.condition}` fails only when the host cannot allocate ({what}); "
                "no lever makes a host allocation fail: Debian's kernels, which "
                "kconform boots, have no fault injection, and kconform has no "
                "memory-cgroup lever (a memory.max limit fails only allocations "
                "charged to the caller's cgroup)")
    return None


def why_no_violation(spec: Spec, op: Operation, check: Check,
                     vocab: Vocabulary) -> tuple[Gap, str]:
    """Why `derive_violation` gave None for a check userspace cannot be
    made to fail: the host decides it, the vocabulary gives it no lever,
    or the patch's own code fixes its outcome."""
    if check.reach is Reach.HOST_ONLY:
        allocation = allocation_failure(check, vocab)
        if allocation is not None:
            return Gap.HOST_ONLY, allocation
        return Gap.HOST_ONLY, f"`{check.condition}` depends on the host's features"
    if check.value is False:
        return Gap.FIXED, f"`{check.condition}` never fails: the patch's code fixes it"
    if check.value is True:
        return Gap.FIXED, (f"`{check.condition}` fails on every call inside branch "
                           f"`{check.when}`")
    node = parse_expr(check.condition)
    inner = node.expr if isinstance(node, c_ast.UnaryOp) and node.op == "!" else node
    for head in filter(None, [_head(inner)] + [p.spelling.split("(")[0].strip()
                                                for p in check.predicates]):
        term = vocab.predicates.get(head)
        if term is not None and term.reach is Reach.HOST_ONLY:
            return Gap.HOST_ONLY, f"{head} is a host feature (vocabulary {vocab.path})"
        if term is not None:
            return Gap.NO_LEVER, (f"{head} maps to concept {term.concept} with lever "
                                  f"{term.lever} (vocabulary {vocab.path})")
    return Gap.NOT_TARGETED, f"`{check.condition}`"


# ---------------------------------------------------------------- planning
def op_cap(op: Operation) -> str:
    """Operation.capability (stored by extraction, not parsed from the name)."""
    return op.capability


def op_prefix(spec: Spec, op: Operation, gating_cap: str = "") -> str:
    if op.default_for and op.kind in (OpKind.ENABLE_CAP, OpKind.CHECK_EXTENSION):
        # the target's default beside another architecture's operation of one capability
        return f"{op.kind.value}.on_{op.arch or 'target'}"
    if op.kind is OpKind.ENABLE_CAP:
        return "enable_cap"
    if op.kind in ATTR_KINDS:
        words = [w for w in "_".join(op.select.values()).split("_")
                 if w not in ("KVM", "ARM", "VCPU", "VM", "CTRL")]
        return f"{ATTR_KINDS[op.kind].value}_attr.{'_'.join(words).lower()}"
    if op.kind is OpKind.CHECK_EXTENSION:
        return "check_extension"
    if op.kind is OpKind.CREATE_DEVICE:
        words = [w for w in op.select.get("type", "").split("_")
                 if w not in ("KVM", "DEV", "TYPE", "ARM")]
        return f"create_device.{'_'.join(words).lower()}"
    if op.kind in ONE_REG_KINDS:
        words = [w for w in "_".join(op.select.values()).split("_")
                 if w not in ("KVM", "REG", "ARM", "ARM64")]
        return f"{op.kind.value}.{'_'.join(words).lower()}"
    noise = {"KVM", "ARM", "CAP"} | set(gating_cap.split("_"))
    for c in spec.capabilities:
        noise |= set(c.name.split("_"))
    words = op.name.split("_")
    while len(words) > 1 and words[0] in noise:
        words.pop(0)
    return "_".join(words).lower()


def cap_short(cap: str) -> str:
    """A capability's name without the KVM_/CAP_/ARM_ words, for case ids:
    KVM_CAP_ARM_MTE -> "mte", KVM_CAP_ARM_LOCK_USER_MEMORY_REGION ->
    "lock_user_memory_region"."""
    words = cap.split("_")
    while len(words) > 1 and words[0] in ("KVM", "CAP", "ARM"):
        words.pop(0)
    return "_".join(words).lower()


def _common_prefix_words(names: list[str]) -> int:
    split = [n.split("_") for n in names]
    n = 0
    while all(len(w) > n + 1 and w[n] == split[0][n] for w in split):
        n += 1
    return n


@dataclass
class _Draft:
    """A case under construction: the valid path plus applied violations."""
    fields: dict
    enable: bool = True
    vcpu_first: bool = False
    arg: ArgPointer = ArgPointer.VALID
    buffer_valid: Optional[Val] = None     # None: the whole buffer is mapped
    addr: ArgPointer = ArgPointer.VALID    # a device attribute's addr
    repeat: bool = False                   # the valid call is made first
    ran: bool = False                      # a vCPU has entered the guest once
    in_run: bool = False                   # a vCPU is inside KVM_RUN during the call
    drop_caps: tuple = ()                  # POSIX capabilities dropped before the call
    vcpu_init: bool = True                 # the vCPU the call is made on is initialised
    vcpu_features: tuple = ()              # ... with these features ((name, bit), ...)
    feature_inits: tuple = ()              # ... initialised first ((name, group, attr), ...)
    states_first: tuple = ()               # VM state set first ((what, group, attr, value), ...)
    host: str = ""                         # the host profile the case runs on ("" the default)
    memslot_first: bool = False            # a memslot is added before the call


class _OpPlanner:
    """Plans the cases of one operation."""

    def __init__(self, spec: Spec, op: Operation, vocab: Vocabulary):
        vcpu_ok = op.kind is OpKind.IOCTL and op.fd == "vcpu"   # VM_IOCTL on_vcpu
        if op.kind in (OpKind.IOCTL, OpKind.ENABLE_CAP, OpKind.CHECK_EXTENSION) \
                and op.fd != "vm" and not vcpu_ok:
            raise PlanError(op.source, f"{op.name} is a {op.fd} ioctl; its step issues it "
                            f"on the VM fd, and no step kind issues it on a {op.fd} fd yet")
        self.spec, self.op, self.vocab = spec, op, vocab
        self.fields = op_fields(spec, op)
        self.fatal = always_failing(op)
        self.untested: list[Untested] = []
        self.violations = [(c, self._violation(c))
                           for c in sorted(op.checks, key=lambda c: c.order)
                           if self.fatal is None or c.order < self.fatal.order]
        self.cap = self._gating_cap()
        self.prefix = op_prefix(spec, op, self.cap)
        self.host_checks = [c for c in self._cap_op_checks()
                            if c.reach is Reach.HOST_ONLY]
        aligned = {v.field for _, v in self.violations
                   if v is not None and v.how is How.MISALIGN}
        length = op.buffer.length_field if op.buffer else ""
        addr = sorted(aligned - {length})
        self.addr_field = addr[0] if addr else ""

    # -- what no case can exercise
    def gap(self, check: Check, gap: Gap, detail: str, case: str = "") -> None:
        self.untested.append(Untested(self.spec.name, self.op.name, check.id, check.source,
                                      gap, detail, case))

    def _violation(self, c: Check) -> Optional[Violation]:
        """The check's violation; a check none can be derived for is
        recorded as untested (with why) and planning goes on."""
        try:
            v = derive_violation(self.spec, self.op, c, self.vocab)
        except PlanError as e:
            self.gap(c, e.gap, e.detail)
            return None
        if v is None and c.reach is not Reach.UNREACHABLE and not (
                self.fatal is not None and c is self.fatal):
            self.gap(c, *why_no_violation(self.spec, self.op, c, self.vocab))
        elif v is not None and c.errno is None and not _is_effect(c):
            self.gap(c, Gap.NOT_OBSERVABLE, f"`{c.condition}` fails with `return "
                     f"{c.result or '?'}`, no errno a single call shows")
        return v

    def _branch_ok(self, *checks: Check) -> bool:
        """Whether the branch conditions of these checks can be entered;
        a branch the planner cannot read makes the check untested."""
        for c in checks:
            if not c.when:
                continue
            try:
                self.branch_values(c.when, c.source)
            except PlanError as e:
                if not any(u.check == c.id for u in self.untested):
                    self.gap(c, e.gap, e.detail)
                return False
        return True

    # -- what the operation depends on
    def _gating_cap(self) -> str:
        if self.op.kind in (OpKind.ENABLE_CAP, OpKind.CHECK_EXTENSION):
            return op_cap(self.op)
        for c in self.op.checks:
            for p in c.predicates:
                e = self.vocab.lookup(p.spelling.split("(")[0].strip())
                cap = dict(e.args).get("cap") if e is not None else None
                if e is not None and e.concept == "cap_enabled" and cap:
                    return cap
        return ""

    def _enable_op(self) -> Optional[Operation]:
        return next((o for o in self.spec.operations if o.kind is OpKind.ENABLE_CAP
                     and op_cap(o) == self.cap), None)

    def _cap_op_checks(self) -> list[Check]:
        op = self._enable_op()
        return op.checks if op else []

    def cap_can_be_reported(self) -> bool:
        """Whether a kernel that follows the spec can report the capability.

        The probe before a gated case (KVM_CHECK_EXTENSION of the case's
        capability) skips it when the kernel does not report the
        capability: what the case predicts needs the feature.  When the
        spec's own KVM_CHECK_EXTENSION returns the constant 0 (the
        lock-memslot RFC: `r = kvm_arm_lock_memslot_supported();`, whose
        body is `return 0;`), the patch describes a kernel that never
        reports it.  A kernel lacking the feature is then the very kernel
        the spec predicts for: the probe's 0 agrees with the spec (the
        check_extension and cap.number cases cross-check exactly that), and
        skipping would hide what is observable -- every KVM_ENABLE_CAP of it
        failing with the errno of the check that always fails.  So those
        cases are not gated: they run and are cross-checked."""
        probe = next((o for o in self.spec.operations if o.kind is OpKind.CHECK_EXTENSION
                      and op_cap(o) == self.cap), None)
        return not (probe is not None and probe.success is not None
                    and probe.success.ret_value == 0)

    def cap_answers_a_value(self) -> bool:
        """Whether the spec's KVM_CHECK_EXTENSION of the capability returns a
        value (a size, a bitmap, a count: `r = kvm->arch.max_foo;`) rather
        than whether it is supported (`r = 1;`, a predicate such as
        `system_supports_mte()`, a helper of the patch): then an answer of 0
        does not mean the capability is absent, and the probe before a
        gated case skips it only when the probe itself fails."""
        probe = next((o for o in self.spec.operations if o.kind is OpKind.CHECK_EXTENSION
                      and op_cap(o) == self.cap), None)
        if probe is None or probe.success is None or probe.success.ret_value is not None:
            return False
        ret = probe.success.ret.strip()
        head = re.match(r"!*\s*([\w>.-]+)", ret)
        name = head.group(1) if head else ret
        term = self.vocab.lookup(name.split("(")[0])
        if term is not None or ret.startswith("!") or re.search(r"[=<>!]=|&&|\|\|", ret):
            return False          # a predicate or a comparison: a yes/no answer
        helpers = {p.spelling.split("(")[0].strip() for o in self.spec.operations
                   for c in o.checks for p in c.predicates if p.value is not None}
        return name.split("(")[0] not in helpers

    def skip_reason(self) -> str:
        why = f"{self.cap} is not reported by KVM_CHECK_EXTENSION"
        if self.host_checks:
            h = self.host_checks[0]
            why += (f": the host lacks the feature ({h.id} `{h.condition}` "
                    f"at {h.source})")
        return why

    # -- drafts and steps
    def base(self, to_kernel: bool = False, pages: int = 1) -> _Draft:
        # a request whose step sizes its own argument (KVM_GET_REG_LIST's n) sets none
        f = {} if vcpu_request(self.op) else {name: Val() for name in self.fields}
        b = self.op.buffer
        if b is not None:
            f[b.length_field] = Val(pages=pages)
            f[b.direction_field] = Val(bytes=self._direction(to_kernel))
            f.pop(b.pointer_field, None)
        if self.addr_field:
            f[self.addr_field] = Val(pages=SLOT_BASE_PAGES)
        for _, v in self.violations:      # a field that must be a power of two: 1
            if v is not None and v.lever is Lever.NOT_POWER_OF_2:
                f[v.field] = Val(bytes=1)
        for path, value in self._required().items():
            f[path] = Val(bytes=value)
        for c in self.op.checks:          # a value only the host knows: the host's
            if c.reach is Reach.REACHABLE and c.value is None:
                host = host_value_test(self.op, parse_expr(c.condition), self.fields,
                                       self.vocab)
                if host is not None:
                    f[host[0]] = Val(host=host[1])
        for _, v in self.violations:      # an address a memslot must back
            if v is not None and v.lever is Lever.IPA_OUTSIDE_MEMSLOT and v.field \
                    and not self.addr_field:
                f[v.field] = Val(pages=SLOT_BASE_PAGES)
        # a check failing without a memslot: the valid call adds one first
        memslot = any(v is not None and v.lever is Lever.ADD_MEMSLOT_FIRST and not v.value
                      for _, v in self.violations)
        return _Draft(fields=f, vcpu_features=self.vcpu_features(), memslot_first=memslot)

    def vcpu_features(self) -> tuple:
        """The features the valid path initialises its vCPU with: every
        feature a check of the operation requires (VCPU_WITHOUT_FEATURE)."""
        out: dict = {}
        for _, v in self.violations:
            if v is not None and v.lever is Lever.VCPU_WITHOUT_FEATURE:
                out.setdefault(v.feature[0], v.feature)
        return tuple(sorted(out.values(), key=lambda f: f[1]))

    def _required(self) -> dict[str, int]:
        """Values a valid call must give: what the dispatcher selects (the
        group and attribute of a device attribute), and `field != CONST`
        checks (the one value that passes)."""
        out: dict[str, int] = {}
        for c in self.op.checks:
            if c.reach is not Reach.REACHABLE or c.value is not None:
                continue
            zero = _zero_test(parse_expr(c.condition), self.op, self.fields)
            if zero is not None:
                out.setdefault(zero, 1)
            got = _not_one_of(self.spec, self.op, parse_expr(c.condition), self.fields,
                              self.vocab)
            if got is not None:
                out.setdefault(got[0], got[2][0])
            solved = _solve(self.spec, self.op, c.condition, self.fields, self.vocab)
            for path, value in (solved.passing if solved else ()):
                out.setdefault(path, value)
        for name, const in self.op.select.items():
            value = self._constant(c_ast.ID(const))
            if value is None:
                raise PlanError(self.op.source, f"{const}, the {name} {self.op.name} is "
                                "reached by, is not a constant of the spec or the vocabulary")
            out[name] = value
        return out

    def _direction(self, to_kernel: bool) -> int:
        b = self.op.buffer
        return self.spec.constant(b.to_kernel if to_kernel else b.from_kernel).value

    def _is_to_kernel(self, fields: dict) -> bool:
        b = self.op.buffer
        to_v = self.spec.constant(b.to_kernel).value
        from_v = self.spec.constant(b.from_kernel).value
        bit = from_v or to_v
        d = fields.get(b.direction_field, Val()).bytes
        return bool(d & bit) == bool(to_v & bit)

    def apply(self, d: _Draft, v: Violation, element: str = "") -> None:
        if v.how is How.ASSIGN:
            for path, value in (element or v.assignments[0]):
                d.fields[path] = Val(bytes=value)
        elif v.how is How.ALL:
            for p in v.parts:
                self.apply(d, p)
        elif v.how is How.TRUTHY:
            d.fields[v.field] = Val(bytes=v.value)
        elif v.lever is Lever.RESERVED_ELEMENT_NONZERO:
            d.fields[element or v.elements[0]] = Val(bytes=v.value)
        elif v.lever in (Lever.FIELD_OUT_OF_RANGE, Lever.NOT_POWER_OF_2) or v.how is How.VALUE:
            d.fields[v.field] = Val(bytes=v.value)
        elif v.how in (How.BIT_OUTSIDE_MASK, How.MISALIGN):
            d.fields[v.field] = d.fields.get(v.field, Val()).plus(v.value)
        elif v.lever is Lever.OMIT_CAP_ENABLE:
            d.enable = False
        elif v.lever is Lever.ADD_VCPU_FIRST:
            d.vcpu_first = True
        elif v.lever is Lever.BAD_ARG_POINTER:
            d.arg = ArgPointer.UNMAPPED
        elif v.lever is Lever.BAD_BUFFER_POINTER:
            d.buffer_valid = Val()
        elif v.lever is Lever.IPA_OUTSIDE_MEMSLOT:
            target = self.addr_field or v.field
            old = d.fields.get(target, Val())
            d.fields[target] = Val(pages=OUTSIDE_PAGES, bytes=old.bytes)
        elif v.lever is Lever.BAD_VALUE_POINTER:
            d.addr = ArgPointer.UNMAPPED
        elif v.lever is Lever.REPEAT_VALID_CALL:
            d.repeat = True
        elif v.lever is Lever.VCPU_NOT_INITIALISED:
            d.vcpu_init = False
        elif v.lever is Lever.VCPU_WITHOUT_FEATURE:
            d.vcpu_features = tuple(f for f in d.vcpu_features if f != v.feature)
        elif v.lever is Lever.VCPU_NOT_FINALIZED:
            # initialised with the feature that needs KVM_ARM_VCPU_FINALIZE; no
            # step finalizes it
            if v.feature not in d.vcpu_features:
                d.vcpu_features = tuple(sorted(d.vcpu_features + (v.feature,),
                                               key=lambda f: f[1]))
        elif v.lever is Lever.INITIALISE_FEATURE_FIRST:
            d.feature_inits += (v.init,)
        elif v.lever is Lever.SET_STATE_FIRST:
            d.states_first += (v.state,)
        elif v.lever is Lever.OTHER_HOST_ENTRY:
            d.repeat = True                # the valid call first: the VM's is the first entry
            d.fields[v.field] = Val(host=v.arg)
        elif v.lever is Lever.VM_HAS_RUN:
            d.ran = True
        elif v.lever is Lever.VCPU_IN_RUN:
            d.in_run = True
        elif v.lever is Lever.ADD_MEMSLOT_FIRST:
            d.memslot_first = bool(v.value)   # 1: a memslot exists; 0: none does
        elif v.lever is Lever.DROP_CAPABILITY:
            d.drop_caps += (v.arg,)
        elif v.lever is Lever.HOST_LACKS_FEATURE:
            d.host = v.arg
            for p in v.parts:
                self.apply(d, p, element)

    def setup(self, d: _Draft) -> list[Step]:
        steps = [CreateVm()]
        vcpu = None
        if self.op.fd == "vcpu":          # the vCPU the call is made on
            vcpu = CreateVcpu(init=d.vcpu_init,
                              features=d.vcpu_features if d.vcpu_init else ())
        elif d.vcpu_first:
            vcpu = CreateVcpu()
        if vcpu is not None and not (d.ran or d.in_run):
            steps.append(vcpu)
            steps += self.init_features(d)
        if self.cap and d.enable and self.op.kind is OpKind.IOCTL:
            en = self._enable_op()
            role = StepRole.SUBJECT if en else StepRole.SETUP
            steps.append(EnableCap(role=role,
                              op=en.name if en else "", cap=self.cap))
        if self.op.buffer is not None or d.memslot_first or any(
                v is not None and v.lever is Lever.IPA_OUTSIDE_MEMSLOT for _, v in self.violations):
            steps.append(AddMemslot(slot=SLOT,
                              guest_ipa=Val(pages=SLOT_BASE_PAGES), pages=SLOT_PAGES))
        if d.ran or d.in_run:             # another vCPU, with the call's features, runs
            features = d.vcpu_features if self.op.fd == "vcpu" else ()
            inits = feature_inits(self.vocab)
            steps += run_once(features, [(n, *inits[n]) for n, _ in features if n in inits],
                              stay=d.in_run, once=d.ran)
            if self.op.fd == "vcpu":      # ... and the call's vCPU comes after it
                steps.append(vcpu)
                steps += self.init_features(d)
        if d.repeat:
            steps.append(self.call(self.base(), note="the valid call first"))
        steps += [state_step(*st) for st in d.states_first]
        steps += [DropCapability(posix_cap=c, note=f"the process drops {c}")
                  for c in d.drop_caps]
        return steps

    def init_features(self, d: _Draft) -> list[Step]:
        """The call's vCPU features initialised first (INITIALISE_FEATURE_FIRST)."""
        return [init_feature_step(*i) for i in d.feature_inits]

    def call(self, d: _Draft, seed: int = 0, note: str = "") -> Step:
        op = self.op
        if op.kind is OpKind.ENABLE_CAP:
            args = tuple(d.fields.get(f"args[{i}]", Val()).bytes for i in range(4))
            return EnableCap(StepRole.SUBJECT, op=op.name,
                        cap=self.cap, flags=d.fields.get("flags", Val()).bytes,
                        args=args, arg=d.arg, note=note)
        if op.kind is OpKind.CHECK_EXTENSION:
            return CheckExtension(StepRole.SUBJECT, op=op.name,
                        cap=self.cap, note=note)
        if vcpu_request(op):              # KVM_GET_REG_LIST on the vCPU
            n = d.fields.get("n")         # set by a case; else the step sizes the list
            return RegList(StepRole.SUBJECT, op=op.name, note=note, arg=d.arg,
                           n=None if n is None else n.bytes)
        if op.kind in ONE_REG_KINDS:
            cls = GetOneReg if op.kind is OpKind.GET_ONE_REG else SetOneReg
            return cls(StepRole.SUBJECT, op=op.name, note=note,
                       reg_id=d.fields.get("id", Val()).bytes,
                       value=d.fields.get("value", Val()), arg=d.arg, addr=d.addr)
        if op.kind is OpKind.CREATE_DEVICE:
            return CreateDevice(StepRole.SUBJECT, op=op.name, note=note,
                                dev_type=d.fields.get("type", Val()).bytes,
                                flags=d.fields.get("flags", Val()).bytes, arg=d.arg)
        if op.kind in ATTR_KINDS:
            inner = attr_value_fields(self.spec, op)
            return DeviceAttr(StepRole.SUBJECT, op=op.name, note=note,
                              request=ATTR_KINDS[op.kind], on_vcpu=op.fd == "vcpu",
                              group=d.fields.get("group", Val()).bytes,
                              attr=d.fields.get("attr", Val()).bytes,
                              value=d.fields.get("value", Val()), arg=d.arg, addr=d.addr,
                              fields=tuple((p, d.fields.get(p, Val())) for p in inner))
        buf = None
        if op.buffer is not None:
            n = d.fields[op.buffer.length_field]
            length = Val(n.pages, n.bytes, op.buffer.bytes_per_unit)
            to_kernel = self._is_to_kernel(d.fields)
            buf = Buffer(length=length,
                         valid=length if d.buffer_valid is None else d.buffer_valid,
                         fill=Fill.PATTERN if to_kernel else Fill.SENTINEL,
                         seed=seed if to_kernel else 0)
        return VmIoctl(StepRole.SUBJECT, op=op.name,
                    fields=tuple(d.fields.items()), arg=d.arg, buffer=buf, note=note,
                    on_vcpu=op.fd == "vcpu")

    def case(self, name: str, clause: str, source: Source, description: str,
             steps: list[Step], violates=(), host: str = "") -> Case:
        # a case that breaks only the generic entry code's checks (the copy
        # of struct kvm_enable_cap) gets its answer before any capability's
        # handler is chosen: whether the capability is reported is moot; so
        # does the target's default for a request it does not handle; and a
        # case for a host without a feature is not gated on the capability
        # that feature gives: the host lacking it is what the case tests
        gated = (self.cap and self.op.kind is not OpKind.CHECK_EXTENSION
                 and not self.op.default_for
                 and not self.op.entry_checks_only(violates)
                 and not host
                 and self.cap_can_be_reported())
        if not gated:
            need = self.feature_cap(violates)
            if need:
                return Case(id=f"{self.prefix}.{name}", spec=self.spec.name, clause=clause,
                            source=source, description=description, steps=steps,
                            violates=list(violates), requires_cap=need[0],
                            skip_reason=need[1], host=host)
        return Case(id=f"{self.prefix}.{name}", spec=self.spec.name,
                    clause=clause, source=source, description=description,
                    steps=steps, violates=list(violates),
                    requires_cap=self.cap if gated else "",
                    requires_value=bool(gated) and self.cap_answers_a_value(),
                    skip_reason=self.skip_reason() if gated else "", host=host)

    def feature_cap(self, violates) -> Optional[tuple[str, str]]:
        """(capability, skip reason) when a violated check's lever gives
        the vCPU a feature the host reports with a capability
        (VCPU_NOT_FINALIZED's args.cap): a host without it cannot run the
        case, which is the platform's limit, not a verdict."""
        for c, v in self.violations:
            if v is not None and v.lever is Lever.VCPU_NOT_FINALIZED and v.arg \
                    and c.id in violates:
                return v.arg, (f"{v.arg} is not reported by KVM_CHECK_EXTENSION: the host "
                               f"cannot offer vCPU feature {v.feature[0]}, which check {c.id} "
                               "needs initialised and not finalized")
        return None

    # -- branches (`Check.when`)
    def branch_values(self, when: str, source: Source) -> dict[str, int]:
        """The field values that make a branch condition hold: `local ==
        CONST` (either way round) and conjunctions of them."""
        fields = self.fields + ["flags"] + [f"args[{i}]" for i in range(4)]

        def walk(n) -> dict[str, int]:
            if isinstance(n, c_ast.BinaryOp) and n.op == "&&":
                return {**walk(n.left), **walk(n.right)}
            if isinstance(n, c_ast.BinaryOp) and n.op == "==":
                for a, b in ((n.left, n.right), (n.right, n.left)):
                    path = _field_path(a, self.op, fields)
                    value = self._constant(b)
                    if path is not None and value is not None:
                        return {path: value}
            raise PlanError(source, f"cannot derive the branch `{when}`: not "
                            "`field == CONSTANT` or a conjunction of them")
        return walk(parse_expr(when))

    def _constant(self, node) -> Optional[int]:
        return _const_value(self.spec, node, self.vocab)

    def _required_bits(self, check: Check) -> Optional[tuple[str, int]]:
        """A check `!(field & CONST)` is satisfied by setting CONST's bits."""
        node = parse_expr(check.condition)
        if (isinstance(node, c_ast.UnaryOp) and node.op == "!"
                and isinstance(node.expr, c_ast.BinaryOp) and node.expr.op == "&"):
            path = _field_path(node.expr.left, self.op,
                               self.fields + ["flags"] + [f"args[{i}]" for i in range(4)])
            value = self._constant(node.expr.right)
            if path is not None and value is not None:
                return path, value
        return None

    def enter_branch(self, d: _Draft, check: Check) -> None:
        """Make the check's branch condition hold, with the field bits the
        branch's own `!(field & CONST)` checks require."""
        if not check.when:
            return
        for path, value in self.branch_values(check.when, check.source).items():
            d.fields[path] = Val(bytes=value)
        for c in self.op.checks:
            bits = self._required_bits(c) if c.when == check.when else None
            if bits is not None and c is not check:
                path, value = bits
                d.fields[path] = Val(bytes=d.fields.get(path, Val()).bytes | value)

    def branches(self) -> list[tuple[str, Check]]:
        """(name, first check) per distinct `when` of the operation, in order."""
        firsts: dict[str, Check] = {}
        for c in sorted(self.op.checks, key=lambda c: c.order):
            if c.when and c.when not in firsts:
                firsts[c.when] = c
        consts = [_condition_constant(w) for w in firsts]
        if consts and all(consts):
            cut = _common_prefix_words(consts) if len(consts) > 1 else len(consts[0].split("_")) - 1
            names = ["_".join(n.split("_")[cut:]).lower() for n in consts]
        else:
            names = [f"branch_{i}" for i in range(1, len(firsts) + 1)]
        return list(zip(names, firsts.values()))

    # -- the cases
    def fatal_cases(self) -> list[Case]:
        """The check that fails on every call (its outcome fixed by the
        patch's own code): one call per branch of the operation, with the
        arguments that branch accepts, and one that takes no branch; each
        expects that check's errno.  Nothing after it is reachable."""
        c = self.fatal
        if c is None:
            return []
        fixed = [f"{p.spelling}() returns {p.value}" for p in c.predicates
                 if p.value is not None]
        why = f" ({'; '.join(fixed)} in the patch)" if fixed else ""
        expect = c.errno.name if c.errno else f"`return {c.result}`"
        calls: list[tuple[str, _Draft, str]] = []
        branch_fields: dict[str, set] = {}
        for name, first in self.branches():
            if not self._branch_ok(first):
                continue
            d = self.base()
            self.enter_branch(d, first)
            for path, value in self.branch_values(first.when, first.source).items():
                branch_fields.setdefault(path, set()).add(value)
            calls.append((name, d, f"branch `{first.when}` (its first check at {first.source})"))
        if len(branch_fields) == 1:          # a value no branch takes
            path, taken = next(iter(branch_fields.items()))
            other = next(v for v in range(len(taken) + 1) if v not in taken)
            d = self.base()
            d.fields[path] = Val(bytes=other)
            calls.append(("other", d, f"{path} = {other}, which no branch takes"))
        if not calls:
            calls.append(("", self.base(), "valid arguments"))
        failing = f"`{c.condition}` fails on every call{why}"
        if c.value is True and c.context and c.source.patch == DEFAULT_LABEL:   # mainline's
            failing = (f"mainline's default answers every call ({c.source.text}; "
                       f"{c.source.path}, {c.source.seed}:{c.source.line})")
        out = []
        for name, d, what in calls:
            args = _describe_call(d)
            out.append(self.case(
                f"{c.id}.{name}" if name else c.id, c.id, c.source,
                f"{failing}: {what}"
                f"{', ' + args if args else ''}: expect {expect}",
                self.setup(d) + [self.call(d)], [c.id]))
        return out

    def read_back_cases(self) -> list[Case]:
        """What a call set, read back by the ioctl the vocabulary names for
        it (dispatch `reads_back`: KVM_SET_VCPU_EVENTS -> KVM_GET_VCPU_EVENTS),
        one case per field it lists: the field set as a check with an effect
        sets it (`ext_dabt_pending = 1`) or as the valid call does, then the
        GET on the same fd reports it -- the value written, or the one the
        vocabulary says it always reads back."""
        op = self.op
        disp = self.vocab.dispatch.get(op.handler)
        if disp is None or not disp.reads_back or arg_mode(op) is not ArgMode.STRUCT \
                or self.fatal is not None or op.success is None:
            return []
        effects = {v.field: (c, v) for c, v in self.violations
                   if v is not None and _is_effect(c) and self._branch_ok(c)}
        where = Source(disp.file, disp.line, "context", disp.function,
                       disp.read_meaning or f"{disp.reads_back} reads back what {op.name} set")
        out = []
        for path, value in disp.read_fields:
            if path not in self.fields:
                continue
            d = self.base()
            set_by = ""
            if path in effects:
                c, v = effects[path]
                self.enter_branch(d, c)
                self.apply(d, v)
                set_by = f" ({c.condition} holds: `{c.effect}`)"
            fixed = None if value == "as_set" else int(value, 0)
            written = d.fields.get(path, Val()).bytes
            expect = f"{fixed}, always" if fixed is not None else f"{written}, as written"
            back = ReadBack(StepRole.SUBJECT, op=op.name, request=disp.reads_back, field=path,
                            on_vcpu=op.fd == "vcpu", set_value=written, fixed=fixed,
                            note=disp.read_meaning)
            name = re.sub(r"[^0-9a-z]+", "_", path.lower()).strip("_")
            out.append(self.case(
                f"reads_back.{name}", "success", where,
                f"{op.name} with {path} = {written}{set_by}, then {disp.reads_back} on the "
                f"same fd: {path} reads back {expect}",
                self.setup(d) + [self.call(d), back]))
        return out

    def effect_cases(self) -> list[Case]:
        """A condition whose side acts and goes on (`if (ext_dabt_pending)
        kvm_inject_dabt(...)`: no errno, no early return): made true, the
        call returns what a valid call returns; the action itself is only
        seen where something reads it back."""
        out = []
        for check, v in self.violations:
            if v is None or not _is_effect(check) or not self._branch_ok(check):
                continue
            d = self.base()
            self.enter_branch(d, check)
            self.apply(d, v)
            desc = (f"{check.condition} holds ({_how(v)}): the call also does "
                    f"`{check.effect}` and returns what a valid call returns")
            out.append(self.case(check.id, check.id, check.source, desc,
                                 self.setup(d) + [self.call(d)], [check.id]))
        return out

    def violation_cases(self) -> list[Case]:
        out = []
        for check, v in self.violations:
            if v is None or check.errno is None:   # no errno: not observable alone
                continue
            if not self._branch_ok(check):
                continue
            for name, element in self._variants(check, v):
                d = self.base()
                self.enter_branch(d, check)
                self.apply(d, v, element)
                desc = (f"{check.condition} fails alone ({_how(v, element)}): expect "
                        f"{check.errno.name}, every earlier check satisfied")
                out.append(self.case(name, check.id, check.source, desc,
                                     self.setup(d) + [self.call(d)], [check.id], d.host))
            if v.how is How.ABOVE:          # the other side of the bound passes this check
                d = self.base()
                self.enter_branch(d, check)
                d.fields[v.field] = Val(bytes=v.inside)
                desc = (f"{check.condition} holds no more at {v.field} = {v.inside}, just "
                        f"inside the bound: the call goes on past check {check.order}")
                out.append(self.case(f"{check.id}.inside", check.id, check.source, desc,
                                     self.setup(d) + [self.call(d)], []))
        return out

    @staticmethod
    def _variants(check: Check, v: Violation) -> list[tuple[str, str]]:
        """(case name, element) per case a violation gives: one per
        element of a reserved array, else one."""
        if v.how is How.ELEMENTS and len(v.elements) > 1:
            return [(f"{check.id}.{re.sub(r'[^0-9a-z]+', '_', e.lower()).strip('_')}", e)
                    for e in v.elements]
        if v.how is How.ASSIGN:      # the closest failing values, then one that wraps
            return [(check.id if i == 0 else f"{check.id}.{word}", a)
                    for i, (a, word) in enumerate(zip(v.assignments, v.named))]
        return [(check.id, "")]

    def pair_cases(self) -> list[Case]:
        out = []
        vs = [(c, v) for c, v in self.violations
              if v is not None and c.errno is not None]
        for i, (a, va) in enumerate(vs):
            for b, vb in vs[i + 1:]:
                if a.errno is b.errno or not va.composable_with(vb):
                    continue
                if a.when != b.when and a.when and b.when:   # exclusive branches
                    continue
                if not self._branch_ok(a, b):
                    continue
                d = self.base()
                self.enter_branch(d, a)
                self.enter_branch(d, b)
                self.apply(d, va)
                self.apply(d, vb)
                desc = (f"{a.id} and {b.id} both fail: {a.id} comes first "
                        f"(order {a.order} < {b.order}), so {a.errno.name}, "
                        f"not {b.errno.name}")
                out.append(self.case(f"pair.{a.id}+{b.id}", f"order.{a.id}+{b.id}",
                                     a.source, desc,
                                     self.setup(d) + [self.call(d)], [a.id, b.id], d.host))
        return out

    def buffer_cases(self) -> list[Case]:
        """Valid, boundary and partial behaviour of a page loop over a buffer."""
        op = self.op
        if op.buffer is None or not op.loop or not self.addr_field or self.fatal:
            return []
        ok = op.success.source if op.success else op.source
        lev = {v.lever: c for c, v in self.violations if v and v.lever}
        noslot = lev.get(Lever.IPA_OUTSIDE_MEMSLOT)
        short = lev.get(Lever.BAD_BUFFER_POINTER)

        def at(page: int, pages: int, to_kernel: bool, valid_pages=None) -> _Draft:
            d = self.base(to_kernel, pages)
            d.fields[self.addr_field] = Val(pages=SLOT_BASE_PAGES + page)
            if valid_pages is not None:
                d.buffer_valid = Val(pages=valid_pages, div=op.buffer.bytes_per_unit)
            return d

        def steps(*calls) -> list[Step]:
            return self.setup(self.base()) + [self.call(d, seed, note)
                                              for d, seed, note in calls]
        edge = SLOT_PAGES - 2
        out = [
            self.case("valid.roundtrip_4pages", "success", ok,
                      "write a distinct tag per granule over 4 pages, read them back",
                      steps((at(0, 4, True), 1, "write"), (at(0, 4, False), 0, "read back"))),
            self.case("valid.length_zero", "success", ok,
                      "length 0 copies nothing and succeeds",
                      steps((at(0, 0, False), 0, ""))),
            self.case("valid.never_written", "success", ok,
                      "tags of pages never written read as zero",
                      steps((at(0, 2, False), 0, ""))),
        ]
        if noslot is not None:
            out += [
                self.case("partial.to_guest_past_slot_end", noslot.id, noslot.source,
                          "write 4 pages, the last 2 outside the memslot; the "
                          "first 2 keep their tags",
                          steps((at(edge, 4, True), 2, "write"),
                                (at(edge, 2, False), 0, "read back"))),
                self.case("partial.from_guest_past_slot_end", noslot.id, noslot.source,
                          "read 4 pages, the last 2 outside the memslot; the "
                          "first 2 reach the buffer",
                          steps((at(edge, 2, True), 3, "write"),
                                (at(edge, 4, False), 0, "read"))),
            ]
        if short is not None:
            out.append(self.case(
                "partial.short_buffer", short.id, short.source,
                "write 4 pages from a buffer mapped for 2: the first 2 are "
                "written, then the copy faults",
                steps((at(0, 4, True, valid_pages=2), 4, "write"),
                      (at(0, 4, False), 0, "read back"))))
        return out

    def valid_cases(self) -> list[Case]:
        """Valid arguments: the call returns what the patch's code returns
        (page-loop operations have theirs in buffer_cases; KVM_ENABLE_CAP
        and KVM_CHECK_EXTENSION in cap_cases)."""
        plain = self.op.kind is OpKind.IOCTL and self.op.buffer is None
        if not (self.op.kind in ATTR_KINDS or self.op.kind in ONE_REG_KINDS or plain
                or self.op.kind is OpKind.CREATE_DEVICE) \
                or self.fatal is not None or self.op.success is None:
            return []
        if self.op.kind is OpKind.CREATE_DEVICE:
            return self.create_device_cases()
        d = self.base()
        args = _describe_call(d)
        what = f"the call returns `{self.op.success.ret}`"
        if self.op.kind is OpKind.GET_ONE_REG:
            default = register_default(self.spec, self.op)
            what = (f"the call returns 0 and writes `{self.op.success.ret}` to reg->addr"
                    + (f": {default[0]:#x} on a fresh VM, {default[1]}" if default else ""))
        return [self.case("valid", "success", self.op.success.source,
                          f"valid arguments ({args or 'the defaults'}): {what}",
                          self.setup(d) + [self.call(d)])] + self.one_reg_cases()

    def create_device_cases(self) -> list[Case]:
        """A device type the series registers ops for: KVM_CREATE_DEVICE
        of it succeeds (0, the device's fd in cd.fd), and so does the probe
        with KVM_CREATE_DEVICE_TEST, which creates nothing."""
        op, out = self.op, []
        for name, flags, what in (("valid", 0, "creates the device"),
                                  ("test", KVM_CREATE_DEVICE_TEST,
                                   "with KVM_CREATE_DEVICE_TEST probes the type, creating "
                                   "nothing")):
            d = self.base()
            d.fields["flags"] = Val(bytes=flags)
            out.append(self.case(name, "success", op.success.source,
                                 f"KVM_CREATE_DEVICE({op.select['type']}) {what}: the series "
                                 f"registers its device ops ({op.success.source.text}), so "
                                 "the call returns 0", self.setup(d) + [self.call(d)]))
        return out

    def one_reg_cases(self) -> list[Case]:
        """What a register's ONE_REG operations promise together (api.rst
        4.68-4.70, 4.84): a value KVM_SET_ONE_REG accepted is what a
        following KVM_GET_ONE_REG reads; KVM_GET_REG_LIST lists every
        register KVM_GET_ONE_REG reads."""
        op = self.op
        if op.kind not in ONE_REG_KINDS or self.fatal is not None or op.success is None:
            return []
        get = next((o for o in self.spec.operations if o.kind is OpKind.GET_ONE_REG
                    and o.select == op.select), None)
        if get is None:
            return []
        d = self.base()
        rid = d.fields["id"].bytes
        if op.kind is OpKind.GET_ONE_REG:
            return [self.case("listed", "success", op.success.source,
                              f"KVM_GET_REG_LIST lists {op.select['id']} ({rid:#x}), which "
                              "KVM_GET_ONE_REG reads", self.setup(d) + [
                                  RegList(StepRole.SUBJECT, op=op.name, reg_ids=(rid,))])]
        out = [self.case("then_get", "success", op.success.source,
                         f"KVM_SET_ONE_REG({op.select['id']}) of {d.fields['value']} succeeds; "
                         "KVM_GET_ONE_REG then reads that value",
                         self.setup(d) + [self.call(d),
                                          GetOneReg(StepRole.SUBJECT, op=get.name, reg_id=rid,
                                                    note="read it back")])]
        default = register_default(self.spec, get)
        for check, v in self.violations:  # once the VM ran: the value it already holds
            if v is None or v.lever is not Lever.VM_HAS_RUN or check.errno is None \
                    or default is None:
                continue
            same = self.base()
            self.apply(same, v)
            same.fields["value"] = Val(bytes=default[0])
            out.append(self.case(
                f"{check.id}.same_value", check.id, check.source,
                f"`{check.condition}` (a vCPU has run) with the value the register already "
                f"holds ({default[0]:#x}, {default[1]}): expect {check.errno.name} as the "
                "patch's order says, the value not being compared first",
                self.setup(same) + [self.call(same)], [check.id]))
        return out

    def cap_cases(self) -> list[Case]:
        op = self.op
        src = op.success.source if op.success else op.source
        if op.kind is OpKind.ENABLE_CAP and self.fatal is None:
            d = self.base()
            return [self.case("valid", "success", src, f"enable {self.cap}",
                              self.setup(d) + [self.call(d)]),
                    self.case("twice", "success", src,
                              f"enable {self.cap} twice: no check forbids it",
                              self.setup(d) + [self.call(d), self.call(d)])]
        if op.kind is OpKind.CHECK_EXTENSION:
            d = self.base()
            return [self.case(f"reports_{cap_short(self.cap)}", "success", src,
                              f"KVM_CHECK_EXTENSION({self.cap}) returns "
                              f"`{op.success.ret if op.success else '?'}`",
                              self.setup(d) + [self.call(d)])]
        return []


# an ID register every EL1 can read: the guest command a vCPU runs to enter
# the guest once (any command would do; this one cannot fault)
RUN_ONCE_REG = "ID_AA64PFR1_EL1"


def init_feature_step(feature: str, group: int, attr: int) -> Step:
    """KVM_SET_DEVICE_ATTR on the last vCPU created that initialises a
    feature (KVM_ARM_VCPU_PMU_V3_INIT), as a set-up step."""
    return DeviceAttr(request=AttrRequest.SET, on_vcpu=True, group=group, attr=attr,
                      initialises=feature, note=f"initialise {feature}")


def state_step(what: str, group: int, attr: int, value: int) -> Step:
    """KVM_SET_DEVICE_ATTR on the last vCPU created that sets a piece of VM
    state (a PMU event filter) to `value`, as a set-up step."""
    return DeviceAttr(request=AttrRequest.SET, on_vcpu=True, group=group, attr=attr,
                      value=Val(bytes=value), sets_state=what, note=f"set the {what}")


def run_once(features: tuple = (), inits=(), stay: bool = False,
             once: bool = True) -> list[Step]:
    """Set-up steps that make a vCPU enter the guest through KVM_RUN once
    (concept vm_has_run): a vCPU initialised (with `features`: a VM's
    vCPUs share their features; `inits`, (feature, group, attr), the
    attributes a feature needs before KVM_RUN) and loaded with the guest
    runtime, which then runs one command.  An operation on a vCPU fd is
    made on a vCPU created after it.  With `stay` the vCPU then stays
    inside KVM_RUN, on a thread, until the case ends (concept
    vcpus_lockable); `once` False: no command before that."""
    return ([VcpuStart(features=tuple(features), note="a vCPU to run the guest")]
            + [init_feature_step(*i) for i in inits]
            + ([Guest(reg=RUN_ONCE_REG, guest_op=GuestOp.MRS, report=Report.ACCESS,
                      note="enter the guest once (KVM_RUN)")] if once else [])
            + ([VcpuInRun(note="the vCPU stays inside KVM_RUN")] if stay else []))


def _is_effect(c: Check) -> bool:
    """A check whose side acts (`effect`) and returns nothing: not a failure."""
    return c.errno is None and not c.result and bool(c.effect)


def always_failing(op: Operation) -> Optional[Check]:
    """The first reachable check the patch's own code makes fail on every
    call (`value` True, outside any branch), if any: the operation ends
    there."""
    return next((c for c in sorted(op.checks, key=lambda c: c.order)
                 if c.value is True and not c.when and c.reach is not Reach.UNREACHABLE),
                None)


def _condition_constant(when: str) -> str:
    """The constant a `x == CONST` branch condition names, "" if none."""
    node = parse_expr(when)
    if isinstance(node, c_ast.BinaryOp) and node.op == "==":
        for side in (node.right, node.left):
            if isinstance(side, c_ast.ID) and side.name.isupper():
                return side.name
    return ""


def _describe_call(d: _Draft) -> str:
    return ", ".join(f"{k} = {v}" for k, v in d.fields.items() if v != Val())


def _how(v: Violation, element=()) -> str:
    if v.how is How.ASSIGN:
        return describe(element or v.assignments[0])
    if v.how is How.LEVER and v.feature and v.lever is Lever.VCPU_NOT_FINALIZED:
        return f"lever {v.lever.value}: {v.feature[0]}, never finalized"
    if v.how is How.LEVER and v.feature:
        return f"lever {v.lever.value}: no {v.feature[0]}"
    if v.how is How.LEVER and v.lever is Lever.SET_STATE_FIRST:
        return f"lever {v.lever.value}: the {v.state[0]} set first"
    if v.how is How.LEVER and v.lever is Lever.OTHER_HOST_ENTRY:
        return (f"lever {v.lever.value}: the valid call first, then {v.field} = "
                f"<host {v.arg}>")
    if v.lever is Lever.HOST_LACKS_FEATURE:
        host = f"on host {v.arg} (no {v.note})" if v.arg else "on the default host"
        return ", ".join([_how(p, element) for p in v.parts] + [host])
    if v.how is How.LEVER:
        return f"lever {v.lever.value}"
    if v.how is How.TRUTHY:
        return f"{v.field}=1"
    if v.how is How.ELEMENTS:
        return f"{element or v.elements[0]}={v.value}"
    if v.how is How.VALUE and v.note:
        return f"{v.field}={v.value:#x}: {v.note}"
    if v.how in (How.ABOVE, How.VALUE):
        return f"{v.field}={v.value}"
    if v.how is How.ALL:
        return ", ".join(_how(p) for p in v.parts)
    return f"{v.field} += {v.value:#x}"


def plan_capability_numbers(spec: Spec) -> list[Case]:
    """Probe each capability's patch number with KVM_CHECK_EXTENSION."""
    out = []
    caps = spec.capabilities
    for cap in caps:
        probe = next((o for o in spec.operations if o.kind is OpKind.CHECK_EXTENSION
                      and op_cap(o) == cap.name), None)
        if probe is None:
            continue
        suffix = "" if len(caps) == 1 else f".{cap_short(cap.name)}"
        out.append(Case(
            id=f"cap.number{suffix}", spec=spec.name, clause="cap_number",
            source=cap.source,
            description=(f"KVM_CHECK_EXTENSION({cap.number}), the patch's "
                         f"number for {cap.name}, answers as {cap.name} does"),
            steps=[CreateVm(),
                   CheckExtension(StepRole.SUBJECT, op=probe.name,
                        cap=cap.name, cap_number=cap.number)]))
    return out
