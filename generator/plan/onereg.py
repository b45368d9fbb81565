"""ONE_REG operations (KVM_GET_ONE_REG / KVM_SET_ONE_REG of a register a
patch defines): their inputs, the register ids that make a check about
the id fail, and the register's value on a fresh VM.

A case sets two inputs: `id` (struct kvm_one_reg's id) and `value` (the
u64 its addr points at).  A check that reads the id is made to fail by a
variant of the valid id, built from the ONE_REG id layout (the
vocabulary's KVM_REG_* constants): another architecture, another size,
another index in the same register space (the last ones first).  The first variant for which
the check's condition holds while every earlier check on the id still
passes is the case's id; the conditions are evaluated over the spec's and
the vocabulary's constants, so nothing here knows a particular register.
"""
from __future__ import annotations

import copy
import re
from typing import Optional

from pycparser import c_ast

from generator.cparse import CParseError, parse_expr, to_c
from generator.extract.consts import Macro, evaluate
from generator.model import Check, Operation, OpKind, Reach, Spec
from generator.model.case import ONE_REG_BYTES
from generator.model.vocab import Vocabulary

ONE_REG_KINDS = (OpKind.GET_ONE_REG, OpKind.SET_ONE_REG)
# vCPU ioctls a step kind of their own issues (not VM_IOCTL's table of ops):
# request -> the inputs a case sets.  KVM_GET_REG_LIST: struct kvm_reg_list's
# n (a REG_LIST step sizes it to the list itself unless a case sets it)
VCPU_REQUESTS = {"KVM_GET_REG_LIST": ["n"]}


def vcpu_request(op: Operation) -> bool:
    """A vCPU ioctl a step kind of its own issues (VCPU_REQUESTS)."""
    return op.kind is OpKind.IOCTL and op.fd == "vcpu" and op.name in VCPU_REQUESTS
# struct kvm_one_reg (include/uapi/linux/kvm.h) as a ONE_REG step sets it;
# `value` is the u64 its addr points at
ONE_REG_FIELDS = ["id", "value"]
# KVM_REG_SIZE(id) of include/uapi/linux/kvm.h, over the vocabulary's constants
_MACROS = {"KVM_REG_SIZE": Macro(("id",), "(1 << (((id) & KVM_REG_SIZE_MASK) >> "
                                          "KVM_REG_SIZE_SHIFT))")}


def _known(spec: Spec, vocab: Vocabulary) -> dict[str, int]:
    known = {n: t.value for n, t in vocab.constants.items() if t.value is not None}
    known.update({c.name: c.value for c in spec.constants})
    return known


def id_variants(spec: Spec, vocab: Vocabulary, valid: int) -> list[tuple[str, int]]:
    """(what, id) per variant of a valid register id: the arm64 field
    cleared, each other size, other indices of its register space."""
    k = _known(spec, vocab)
    need = ("KVM_REG_ARCH_MASK", "KVM_REG_ARM64", "KVM_REG_SIZE_MASK", "KVM_REG_SIZE_SHIFT")
    if any(n not in k for n in need):
        return []
    arch, size_mask, shift = k["KVM_REG_ARCH_MASK"], k["KVM_REG_SIZE_MASK"], k["KVM_REG_SIZE_SHIFT"]
    out = [("another architecture's id (KVM_REG_ARM64 cleared)", valid & ~arch)]
    size = (valid & size_mask) >> shift
    for s in range(8):
        if s != size:
            out.append((f"size field {1 << s} bytes", (valid & ~size_mask) | (s << shift)))
    # an index of the same register space: the last ones first, as later
    # patches of a series add registers after the patch's (fw-bmap's 3/9
    # and 4/9 took indices 1 and 2), then the next ones; never an id a
    # constant of the spec or the vocabulary names
    taken = set(k.values())
    for idx in [0xffff - i for i in range(4)] + [(valid + i) & 0xffff for i in range(1, 5)]:
        rid = (valid & ~0xffff) | idx
        if rid != valid and rid not in taken:
            out.append((f"index {idx:#x} of its register space", rid))
    return out


def holds(spec: Spec, op: Operation, vocab: Vocabulary, condition: str,
          fields: dict[str, int]) -> Optional[bool]:
    """Whether a check's condition holds for these inputs; None when it
    names something other than the inputs and constants (a predicate)."""
    try:
        node = parse_expr(condition)
    except CParseError:
        return None
    node = _inputs(copy.deepcopy(node), op)
    if node is None:
        return None
    v = evaluate(to_c(node), {**_known(spec, vocab), **fields}, _MACROS)
    return None if v is None else bool(v)


def _inputs(node, op: Operation):
    """The condition over the inputs: `reg->id`, an alias (`reg_id`, `val`)
    -> the field's name; sizeof(the value) -> its bytes."""
    values = {k for k, v in op.aliases.items() if v == "value"} | {"value"}

    class V(c_ast.NodeVisitor):
        ok = True

        def generic_visit(self, n):
            for name, child in n.children():
                rep = self.replace(child)
                if rep is not None:
                    _set(n, name, rep)
                else:
                    self.visit(child)

        def replace(self, n):
            if isinstance(n, c_ast.StructRef) and n.field.name in ONE_REG_FIELDS:
                return c_ast.ID(n.field.name)
            if isinstance(n, c_ast.ID) and n.name in op.aliases:
                return c_ast.ID(op.aliases[n.name])
            if isinstance(n, c_ast.UnaryOp) and n.op == "sizeof" \
                    and isinstance(n.expr, c_ast.ID) and n.expr.name in values:
                return c_ast.Constant("int", str(ONE_REG_BYTES))
            return None
    v = V()
    rep = v.replace(node)
    if rep is not None:
        return rep
    v.visit(node)
    return node


def _set(node, name: str, value) -> None:
    if "[" in name:
        attr, idx = name[:-1].split("[")
        getattr(node, attr)[int(idx)] = value
    else:
        setattr(node, name, value)


def reads_id(op: Operation, check: Check) -> bool:
    return any(op.aliases.get(r, r) == "id" for r in check.reads)


def through_addr(check: Check) -> bool:
    """A user copy through the register's addr (`copy_from_user(&val,
    reg->addr, ...)`, `put_user(val, uaddr)` with uaddr the addr)."""
    return "addr" in check.reads or re.search(r"->\s*addr\b", check.condition) is not None


def id_for(spec: Spec, op: Operation, vocab: Vocabulary, check: Check,
           valid: dict[str, int]) -> tuple[Optional[tuple[str, int]], str]:
    """((what, id), "") making `check` fail with every earlier check on the
    id passing; (None, why) when no variant does."""
    earlier = [c for c in op.checks if c.order < check.order and reads_id(op, c)
               and c.reach is Reach.REACHABLE and c.value is None]
    variants = id_variants(spec, vocab, valid["id"])
    if not variants:
        return None, "the vocabulary lacks the ONE_REG id layout (KVM_REG_ARCH_MASK, ...)"
    if holds(spec, op, vocab, check.condition, valid) is None:
        return None, f"`{check.condition}` is not over the id and known constants"
    shadow: set[str] = set()
    for what, rid in variants:
        fields = {**valid, "id": rid}
        if not holds(spec, op, vocab, check.condition, fields):
            continue
        first = next((c for c in earlier if holds(spec, op, vocab, c.condition, fields)), None)
        if first is None:
            return (what, rid), ""
        shadow.add(first.id)
    if shadow:
        return None, (f"every register id that fails `{check.condition}` fails "
                      f"{', '.join(sorted(shadow))} first: no id reaches it")
    return None, f"no variant of the register id makes `{check.condition}` fail"


def register_default(spec: Spec, op: Operation) -> Optional[tuple[int, str]]:
    """The value a GET returns on a fresh VM: what the patch's code assigns
    to the location the GET reads (`smccc_feat->std_bmap =
    KVM_ARM_SMCCC_STD_FEATURES;` in kvm_arm_init_hypercalls), as (value,
    "where")."""
    if op.success is None:
        return None
    loc = re.sub(r"^READ_ONCE\((.*)\)$", r"\1", op.success.ret.strip())
    pat = re.compile(rf"(?<![\w>.]){re.escape(loc)}\s*=\s*([A-Za-z_]\w*|0x[0-9a-fA-F]+|\d+)\s*;")
    known = {c.name: c.value for c in spec.constants}
    for other in spec.operations:
        m = pat.search(other.body or "")
        if m is None:
            continue
        v = evaluate(m.group(1), known)
        if v is not None:
            return v, f"`{loc} = {m.group(1)};` in {other.handler} ({other.source})"
    return None
