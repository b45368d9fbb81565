"""What a handler reads besides its argument's own fields, and the values
that make a check over it fail or pass.

  * the struct a device attribute's value pointer points at: `struct T x;
    ... copy_from_user(&x, uaddr, sizeof(x))` in the handler, T a struct
    the spec defines (`value_struct`); its scalar fields become inputs of
    the operation (generator.plan.ops.op_fields);
  * locals the handler derives from its inputs (`u32 start, end; ...
    end = start + filter.nr_functions - 1;`), with the width and signedness
    of their declared type (`derived_locals`), so a check such as `end <
    start` is a check over inputs, wrap-around included;
  * `solve`: for a condition over such inputs, one assignment that passes
    it and the assignments that fail it, found by evaluating the C
    condition over a few candidate values per input (0, 1, 2 and the
    largest of the field's type).
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Callable, Optional

from pycparser import c_ast

from generator.cparse import parse_expr, to_c
from generator.model import Operation, Spec

# C integer types -> (bits, signed)
_TYPES = {"u8": (8, False), "__u8": (8, False), "s8": (8, True), "u16": (16, False),
          "__u16": (16, False), "s16": (16, True), "u32": (32, False), "__u32": (32, False),
          "s32": (32, True), "int": (32, True), "unsigned int": (32, False),
          "unsigned": (32, False), "u64": (64, False), "__u64": (64, False),
          "s64": (64, True), "long": (64, True), "unsigned long": (64, False),
          "size_t": (64, False)}
_DECL = re.compile(r"^\s*(?:const\s+)?(unsigned\s+long|unsigned\s+int|\w+)\s+"
                   r"([\w\s,]+);", re.M)
_ASSIGN = re.compile(r"^\s*(\w+)\s*=\s*([^;=][^;]*);", re.M)


def type_bits(ctype: str) -> Optional[tuple[int, bool]]:
    return _TYPES.get(" ".join(ctype.replace("__user", "").split()))


def value_struct(spec: Spec, op: Operation) -> Optional[tuple[str, str]]:
    """(local, "struct T") when the handler copies its value pointer into a
    local struct the spec defines, else None."""
    body = op.body or ""
    for m in re.finditer(r"copy_from_user\(\s*&\s*(\w+)\s*,", body):
        local = m.group(1)
        decl = re.search(rf"\bstruct\s+(\w+)\s+{re.escape(local)}\s*;", body)
        if decl is None:
            continue
        try:
            sd = spec.struct(decl.group(1))
        except KeyError:
            continue
        return local, f"{sd.kind} {sd.name}"
    return None


def field_bits(spec: Spec, struct_type: str, path: str) -> tuple[int, bool]:
    """Width and signedness of a scalar field of a spec struct (64, False
    when the type is unknown)."""
    try:
        sd = spec.struct(struct_type)
    except KeyError:
        return 64, False
    name = path.split("[")[0]

    def walk(members):
        for m in members:
            if m.nested is not None:
                got = walk(m.nested.members)
                if got:
                    return got
            elif m.name == name:
                return type_bits(m.ctype) or (64, False)
        return None
    return walk(sd.members) or (64, False)


@dataclass(frozen=True)
class Derived:
    name: str
    expr: str                    # C text of the value assigned
    bits: int
    signed: bool


def derived_locals(op: Operation) -> dict[str, Derived]:
    """Locals of a fixed-width integer type assigned once from an
    expression (not plain aliases of a field: Operation.aliases has those),
    in the order the handler assigns them."""
    body = op.body or ""
    types: dict[str, tuple[int, bool]] = {}
    for m in _DECL.finditer(body):
        bits = type_bits(m.group(1))
        if bits is None:
            continue
        for name in m.group(2).split(","):
            name = name.strip()
            if name.isidentifier():
                types[name] = bits
    out: dict[str, Derived] = {}
    seen: set[str] = set()
    for m in _ASSIGN.finditer(body):
        name, expr = m.group(1), m.group(2).strip()
        if name in seen:                  # assigned twice: not one value
            out.pop(name, None)
            continue
        seen.add(name)
        if name in types and name not in op.aliases and _arithmetic(expr):
            out[name] = Derived(name, expr, *types[name])
    return out


def _arithmetic(expr: str) -> bool:
    """An expression of names, numbers and operators (no call, no pointer)."""
    try:
        node = parse_expr(expr)
    except Exception:
        return False
    ok = True

    class V(c_ast.NodeVisitor):
        def generic_visit(v, n):
            nonlocal ok
            if not isinstance(n, (c_ast.ID, c_ast.Constant, c_ast.BinaryOp, c_ast.UnaryOp,
                                  c_ast.StructRef, c_ast.Cast, c_ast.Typename,
                                  c_ast.TypeDecl, c_ast.IdentifierType)) or (
                    isinstance(n, c_ast.UnaryOp) and n.op in ("&", "*", "sizeof")) or (
                    isinstance(n, c_ast.StructRef) and n.type == "->"):
                ok = False
            for _, c in n.children():
                v.visit(c)
    V().visit(node)
    return ok


def wrap(value: int, bits: int, signed: bool) -> int:
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


class Evaluator:
    """Evaluates a C expression over input values: fields (by path, through
    the operation's aliases), derived locals (wrapped to their type) and
    constants (`constant(name)`: an int or None)."""

    _BIN = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
            "<": lambda a, b: int(a < b), "<=": lambda a, b: int(a <= b),
            ">": lambda a, b: int(a > b), ">=": lambda a, b: int(a >= b),
            "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b),
            "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
            "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b}

    def __init__(self, op: Operation, fields: list[str],
                 constant: Callable[[str], Optional[int]]):
        self.op, self.fields, self.constant = op, set(fields), constant
        self.derived = derived_locals(op)

    def reads(self, node) -> set[str]:
        """The input fields an expression reads (through locals too)."""
        out: set[str] = set()

        class V(c_ast.NodeVisitor):
            def visit_ID(v, n):
                out.update(self._id_reads(n.name))

            def visit_StructRef(v, n):
                if n.field.name in self.fields:
                    out.add(n.field.name)
                else:
                    v.visit(n.name)
        V().visit(node)
        return out

    def _id_reads(self, name: str) -> set[str]:
        if name in self.derived:
            return self.reads(parse_expr(self.derived[name].expr))
        name = self.op.aliases.get(name, name)
        return {name} if name in self.fields else set()

    def value(self, node, values: dict[str, int]) -> Optional[int]:
        """The expression's value, None when it reads anything else."""
        if isinstance(node, c_ast.Constant):
            try:
                return int(node.value.rstrip("uUlL"), 0)
            except ValueError:
                return None
        if isinstance(node, c_ast.ID):
            if node.name in self.derived:
                d = self.derived[node.name]
                v = self.value(parse_expr(d.expr), values)
                return None if v is None else wrap(v, d.bits, d.signed)
            name = self.op.aliases.get(node.name, node.name)
            if name in values:
                return values[name]
            return self.constant(node.name)
        if isinstance(node, c_ast.StructRef):
            return values.get(node.field.name)
        if isinstance(node, c_ast.BinaryOp):
            a, b = self.value(node.left, values), self.value(node.right, values)
            if node.op == "&&":
                return None if a is None or b is None else int(bool(a) and bool(b))
            if node.op == "||":
                return None if a is None or b is None else int(bool(a) or bool(b))
            fn = self._BIN.get(node.op)
            return None if fn is None or a is None or b is None else fn(a, b)
        if isinstance(node, c_ast.UnaryOp):
            v = self.value(node.expr, values)
            if v is None:
                return None
            return {"!": int(not v), "-": -v, "~": ~v}.get(node.op)
        if isinstance(node, c_ast.Cast):
            return self.value(node.expr, values)
        return None


@dataclass(frozen=True)
class Solution:
    passing: tuple                   # ((path, value), ...) that pass the check
    failing: tuple                   # (((path, value), ...), ...) each fails it
    what: tuple = ()                 # a word per failing assignment ("wraps", ...)


def solve(spec: Spec, op: Operation, fields: list[str], condition: str,
          constant: Callable[[str], Optional[int]], struct_type: str = "",
          base: Optional[dict[str, int]] = None) -> Optional[Solution]:
    """Values of the inputs `condition` reads through derived locals that
    make it pass, and (at most two) that make it fail: the closest to the
    passing values, and one where a derived local wraps around its type.
    None when the condition reads no derived local or cannot be evaluated."""
    ev = Evaluator(op, fields, constant)
    node = parse_expr(condition)
    if not (ev.derived and _names(node) & set(ev.derived)):
        return None
    reads = sorted(ev.reads(node))
    if not reads or len(reads) > 3:
        return None
    base = dict(base or {})
    tops = {p: (1 << field_bits(spec, struct_type, p)[0]) - 1 for p in reads}
    cands = {p: [1, 0, 2, tops[p]] for p in reads}
    combos = [dict(zip(reads, vs)) for vs in itertools.product(*(cands[p] for p in reads))]
    results = []
    for c in combos:
        v = ev.value(node, {**base, **c})
        if v is None:
            return None
        results.append((c, bool(v)))
    passing = next((c for c, fails in results if not fails), None)
    if passing is None:
        return None
    fails = [c for c, f in results if f]
    if not fails:
        return None
    near = min(fails, key=lambda c: sum(c[p] != passing[p] for p in reads))
    out, what = [near], ["closest"]
    wrapped = next((c for c in fails if c is not near and _wraps(ev, node, {**base, **c})), None)
    if wrapped is not None and not _wraps(ev, node, {**base, **near}):
        out.append(wrapped)
        what.append("wraps")
    return Solution(tuple(passing.items()), tuple(tuple(c.items()) for c in out), tuple(what))


def _names(node) -> set[str]:
    out: set[str] = set()

    class V(c_ast.NodeVisitor):
        def visit_ID(v, n):
            out.add(n.name)
    V().visit(node)
    return out


def _wraps(ev: Evaluator, node, values: dict[str, int]) -> bool:
    """Whether a derived local the condition reads leaves its type's range
    before it is wrapped."""
    for name in _names(node) & set(ev.derived):
        d = ev.derived[name]
        raw = ev.value(parse_expr(d.expr), values)
        if raw is not None and raw != wrap(raw, d.bits, d.signed):
            return True
    return False


def describe(assignment: tuple) -> str:
    return ", ".join(f"{p} = {v:#x}" if v > 9 else f"{p} = {v}" for p, v in assignment)


__all__ = ["value_struct", "derived_locals", "Derived", "Evaluator", "solve", "Solution",
           "field_bits", "wrap", "describe", "to_c"]
