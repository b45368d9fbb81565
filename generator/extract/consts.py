"""Integer constant expressions of `#define`s: `(1 << 0)`, `0x10UL`,
`KVM_ARM_FOO | 2`, evaluated over the pycparser AST with the constants
already known.  Anything else is not a number, and the caller says so."""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Mapping, Optional

from pycparser import c_ast

from generator import cparse

_BIN = {"+": operator.add, "-": operator.sub, "*": operator.mul, "<<": operator.lshift,
        ">>": operator.rshift, "&": operator.and_, "|": operator.or_, "^": operator.xor,
        "/": lambda a, b: int(a / b), "%": lambda a, b: a - int(a / b) * b,
        "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b),
        "<": lambda a, b: int(a < b), "<=": lambda a, b: int(a <= b),
        ">": lambda a, b: int(a > b), ">=": lambda a, b: int(a >= b),
        "&&": lambda a, b: int(bool(a) and bool(b)), "||": lambda a, b: int(bool(a) or bool(b))}


def _literal(text: str) -> int:
    t = text.rstrip("uUlL")
    if len(t) > 1 and t.startswith("0") and t[1] not in "xXbB":
        return int(t, 8)
    return int(t, 0)


# the kernel's bit macros (include/linux/bits.h, include/uapi/linux/const.h)
_BUILTINS = {"BIT": lambda n: 1 << n, "BIT_ULL": lambda n: 1 << n,
             "_BITUL": lambda n: 1 << n, "_BITULL": lambda n: 1 << n,
             "GENMASK": lambda h, l: ((1 << (h + 1)) - 1) & ~((1 << l) - 1),
             "GENMASK_ULL": lambda h, l: ((1 << (h + 1)) - 1) & ~((1 << l) - 1)}


@dataclass(frozen=True)
class Macro:
    """A function-like `#define NAME(a, b) body` (its body is evaluated with
    the arguments substituted)."""
    params: tuple
    body: str


def evaluate(expr: str, known: dict[str, int],
             macros: Optional[Mapping[str, Macro]] = None) -> int | None:
    """The value of a C integer constant expression, or None.  `macros`:
    function-like macros a call in it may expand (the kernel's bit macros
    always can)."""
    text = expr.strip()
    try:
        return _literal(text)
    except ValueError:
        pass
    try:
        node = cparse.parse_expr(text)
    except cparse.CParseError:
        return None
    return _eval(node, known, macros or {})


def _call(n: c_ast.FuncCall, known: dict[str, int], macros, depth: int) -> int | None:
    name = n.name.name if isinstance(n.name, c_ast.ID) else ""
    args = n.args.exprs if n.args else []
    values = [_eval(a, known, macros, depth + 1) for a in args]
    if any(v is None for v in values):
        return None
    if name in _BUILTINS:
        try:
            return _BUILTINS[name](*values)
        except TypeError:               # wrong number of arguments
            return None
    m = macros.get(name)
    if m is None or len(m.params) != len(values) or depth > 8:
        return None
    scope = {**known, **dict(zip(m.params, values))}
    try:
        body = cparse.parse_expr(m.body)
    except cparse.CParseError:
        return None
    return _eval(body, scope, macros, depth + 1)


def _eval(n, known: dict[str, int], macros=None, depth: int = 0) -> int | None:
    macros = macros or {}
    if isinstance(n, c_ast.FuncCall):
        return _call(n, known, macros, depth)
    if isinstance(n, c_ast.Constant):
        if n.type == "char":
            return ord(n.value.strip("'")[-1])
        try:
            return _literal(n.value)
        except ValueError:
            return None
    if isinstance(n, c_ast.ID):
        return known.get(n.name)
    if isinstance(n, c_ast.Cast):
        return _eval(n.expr, known, macros, depth)
    if isinstance(n, c_ast.UnaryOp):
        v = _eval(n.expr, known, macros, depth)
        if v is None:
            return None
        return {"-": -v, "+": v, "~": ~v, "!": int(not v)}.get(n.op)
    if isinstance(n, c_ast.BinaryOp) and n.op in _BIN:
        a, b = _eval(n.left, known, macros, depth), _eval(n.right, known, macros, depth)
        if a is None or b is None or (n.op in "/%" and b == 0):
            return None
        return _BIN[n.op](a, b)
    if isinstance(n, c_ast.TernaryOp):
        c = _eval(n.cond, known, macros, depth)
        return None if c is None else _eval(n.iftrue if c else n.iffalse, known, macros, depth)
    return None
