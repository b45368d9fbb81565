"""Integer constant expressions of `#define`s: `(1 << 0)`, `0x10UL`,
`KVM_ARM_FOO | 2`, evaluated over the pycparser AST with the constants
already known.  Anything else is not a number, and the caller says so."""
from __future__ import annotations

import operator

from pycparser import c_ast

from generator import cparse

_BIN = {"+": operator.add, "-": operator.sub, "*": operator.mul, "<<": operator.lshift,
        ">>": operator.rshift, "&": operator.and_, "|": operator.or_, "^": operator.xor,
        "/": lambda a, b: int(a / b), "%": lambda a, b: a - int(a / b) * b}


def _literal(text: str) -> int:
    t = text.rstrip("uUlL")
    if len(t) > 1 and t.startswith("0") and t[1] not in "xXbB":
        return int(t, 8)
    return int(t, 0)


def evaluate(expr: str, known: dict[str, int]) -> int | None:
    """The value of a C integer constant expression, or None."""
    text = expr.strip()
    try:
        return _literal(text)
    except ValueError:
        pass
    try:
        node = cparse.parse_expr(text)
    except cparse.CParseError:
        return None
    return _eval(node, known)


def _eval(n, known: dict[str, int]) -> int | None:
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
        return _eval(n.expr, known)
    if isinstance(n, c_ast.UnaryOp):
        v = _eval(n.expr, known)
        if v is None:
            return None
        return {"-": -v, "+": v, "~": ~v, "!": int(not v)}.get(n.op)
    if isinstance(n, c_ast.BinaryOp) and n.op in _BIN:
        a, b = _eval(n.left, known), _eval(n.right, known)
        if a is None or b is None or (n.op in "/%" and b == 0):
            return None
        return _BIN[n.op](a, b)
    if isinstance(n, c_ast.TernaryOp):
        c = _eval(n.cond, known)
        return None if c is None else _eval(n.iftrue if c else n.iffalse, known)
    return None
