"""Check ids and kinds, named from the C condition itself.

An id says what makes the check fail, in the code's own words: the field
it reads (`length_unaligned`, `reserved_0_nonzero`), the flag it tests
(`lock_mem_read_clear`, `lock_mem_write_set`), or the vocabulary concept
of its predicate (`not_cap_enabled`, `memslot_at_gfn`).  Renaming a field or
a flag in the seed renames the check; ids never come from a table.
"""
from __future__ import annotations

import re

from pycparser import c_ast

from generator import cparse
from generator.model import CheckKind, Predicate, Reach

_STATE_CONCEPTS = {"cap_enabled", "vcpus_created", "memslot_visible", "memslot_exists",
                   "memslot_at_gfn", "memslot_flags", "memslot_dirty_logging",
                   "vcpus_lockable", "mmio_guard_enrolled", "vgic_in_kernel",
                   "vgic_model", "vgic_cpu_base", "mmio_guard_page_at"}


def ident(text: str) -> str:
    return re.sub(r'[^a-z0-9]+', '_', text.lower()).strip("_")


def short_const(name: str) -> str:
    """A uAPI constant without its namespace: KVM_ARM_LOCK_MEM_READ -> lock_mem_read."""
    return ident(re.sub(r'^(?:KVM_)?(?:ARM_|ARM64_)?', '', name)) or ident(name)


def disjuncts(node) -> list:
    if isinstance(node, c_ast.BinaryOp) and node.op == "||":
        return disjuncts(node.left) + disjuncts(node.right)
    return [node]


def conjuncts(node) -> list:
    if isinstance(node, c_ast.BinaryOp) and node.op == "&&":
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


def classify(text: str, preds: list[Predicate], in_loop: bool, reach: Reach) -> CheckKind:
    if in_loop:
        return CheckKind.PER_PAGE
    if reach is Reach.HOST_ONLY:
        return CheckKind.HOST
    if "PAGE_MASK" in text or "PAGE_SIZE - 1" in text:
        return CheckKind.ALIGNMENT
    concepts = {p.concept for p in preds}
    if concepts & {"user_read_faults", "user_write_faults"}:
        return CheckKind.USER_MEMORY
    if concepts & _STATE_CONCEPTS:
        return CheckKind.STATE
    return CheckKind.ARGUMENT


def _pred_for(node, preds: list[Predicate]) -> Predicate | None:
    """The mapped predicate a (sub)condition names directly."""
    head = ""
    if isinstance(node, c_ast.FuncCall):
        head = cparse.to_c(node.name)
    elif isinstance(node, c_ast.StructRef):
        head = cparse.to_c(node)
    for p in preds:
        if p.concept and (p.spelling == head or p.spelling.split("(")[0] == head):
            return p
    return None


def slug(node, reads: list[str], preds: list[Predicate], aliases: dict[str, str],
         text: str, locals_: dict[str, list] | None = None, depth: int = 0) -> str:
    """The id of the check whose failing condition is `node`."""
    locals_ = locals_ or {}
    neg = isinstance(node, c_ast.UnaryOp) and node.op == "!"
    inner = node.expr if neg else node
    direct = [p for p in preds if p.concept]
    parts = conjuncts(inner) if not neg else [inner]
    if len(parts) > 1 and depth < 3:
        return "_and_".join(_part_slug(p, preds, aliases, locals_, depth) for p in parts)
    if isinstance(inner, c_ast.BinaryOp) and inner.op == "||" and depth and depth < 3:
        return "_or_".join(_part_slug(p, preds, aliases, locals_, depth) for p in disjuncts(inner))
    if isinstance(inner, c_ast.BinaryOp) and inner.op == "&":
        rhs = cparse.to_c(inner.right)
        lhs = cparse.to_c(inner.left)
        field_name = ident(reads[0].split("[")[0]) if reads else ident(lhs)
        if "PAGE_MASK" in rhs:
            return f"{field_name}_unaligned"
        if isinstance(inner.right, c_ast.UnaryOp) and inner.right.op == "~":
            return f"{field_name}_invalid_bits"
        if isinstance(inner.right, c_ast.ID):
            return f"{short_const(inner.right.name)}_{'clear' if neg else 'set'}"
        return f"{field_name}_bits_{'clear' if neg else 'set'}"
    if isinstance(inner, c_ast.BinaryOp) and inner.op == "==" and depth:
        return f"{_operand(inner.left, preds, aliases)}_is_{_operand(inner.right, preds, aliases)}"
    if isinstance(inner, c_ast.BinaryOp) and inner.op in ("!=", "==", "<", ">", "<=", ">="):
        lhs = cparse.to_c(inner.left)
        word = {"!=": "mismatch", "==": "equal", "<": "below", ">": "above",
                "<=": "at_most", ">=": "at_least"}[inner.op]
        return f"{ident(lhs)}_{word}"
    p = _pred_for(inner, preds)
    if isinstance(inner, c_ast.FuncCall) and p is not None:
        return f"not_{p.concept}" if neg else p.concept
    if isinstance(inner, c_ast.ID) and inner.name in locals_ and len(locals_[inner.name]) == 1 \
            and depth < 3:
        init = locals_[inner.name][0]
        if (isinstance(init, c_ast.BinaryOp) and init.op == "&") or \
                (isinstance(init, c_ast.FuncCall) and _pred_for(init, preds) is not None):
            sub = slug(c_ast.UnaryOp("!", init) if neg else init, reads, preds, aliases,
                       text, locals_, depth + 1)
            return sub
    if isinstance(inner, (c_ast.FuncCall, c_ast.StructRef, c_ast.ID)) and direct and not reads:
        concept = (p or direct[0]).concept
        return f"not_{concept}" if neg else concept
    if reads and isinstance(inner, (c_ast.StructRef, c_ast.ArrayRef, c_ast.ID)):
        return ("not_" if neg else "") + f"{ident(reads[0])}_" + ("zero" if neg else "nonzero")
    if isinstance(inner, c_ast.FuncCall):
        return ("not_" if neg else "") + ident(cparse.to_c(inner.name))
    return ("not_" if neg else "") + ident(text)[:40]


def _operand(node, preds: list[Predicate], aliases: dict[str, str]) -> str:
    p = _pred_for(node, preds)
    if p is not None:
        return p.concept
    if isinstance(node, c_ast.ID):
        if node.name in aliases:
            return ident(aliases[node.name])
        return short_const(node.name) if node.name.isupper() else ident(node.name)
    return ident(cparse.to_c(node))


def _part_slug(part, preds: list[Predicate], aliases: dict[str, str],
               locals_: dict[str, list], depth: int) -> str:
    """The slug of one conjunct or disjunct, with the predicates it names."""
    text = cparse.to_c(part)
    names = set(re.findall(r'[A-Za-z_]\w*', text))
    related = text + " " + " ".join(cparse.to_c(i) for n in names for i in locals_.get(n, []))
    mine = [p for p in preds if p.spelling.split("(")[0] in related]
    reads = [aliases[n] for n in sorted(names) if n in aliases]
    return slug(part, reads[:1], mine, aliases, text, locals_, depth + 1)
