"""Evaluate C integer constant expressions (pycparser AST) for one ABI.

Array bounds, enumerator values, `aligned(N)` arguments and `#define` values
(`_IOR(KVMIO, 0xb4, struct kvm_arm_copy_mte_tags)` after preprocessing) all
go through here.  Values carry their C type's width and signedness, so `~0U`
is 0xffffffff and `1UL << 40` overflows on a 32-bit ABI as it does in C.
`sizeof`/`_Alignof` and enumerator names are answered by callbacks from the
layout engine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from pycparser import c_ast

from generator.abi.abis import Abi
from generator.abi.errors import LayoutError


@dataclass(frozen=True)
class CInt:
    value: int
    bits: int
    unsigned: bool

    def wrap(self) -> "CInt":
        mask = (1 << self.bits) - 1
        v = self.value & mask
        if not self.unsigned and v >> (self.bits - 1):
            v -= 1 << self.bits
        return CInt(v, self.bits, self.unsigned)


_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34,
            "a": 7, "b": 8, "f": 12, "v": 11}


class Evaluator:
    def __init__(self, abi: Abi, sizeof: Callable[[c_ast.Node], int],
                 alignof: Callable[[c_ast.Node], int],
                 enumerator: Callable[[str], int | None],
                 int_type: Callable[[c_ast.Node], tuple[int, bool]]):
        self.abi = abi
        self.sizeof = sizeof
        self.alignof = alignof
        self.enumerator = enumerator
        self.int_type = int_type    # typename -> (bits, unsigned)

    def __call__(self, node: c_ast.Node) -> int:
        return self.eval(node).value

    def _fail(self, node: c_ast.Node, what: str) -> LayoutError:
        c = node.coord
        return LayoutError(c.file if c else "<expr>", c.line if c else 0,
                           f"cannot evaluate {what}", "an integer constant expression")

    # ------------------------------------------------------------ literals
    def _literal(self, node: c_ast.Constant) -> CInt:
        text = node.value
        if node.type == "char" or text.startswith("'"):
            body = text.strip("'")
            if body.startswith("\\"):
                rest = body[1:]
                if rest.startswith("x"):
                    v = int(rest[1:], 16)
                elif rest[:1].isdigit():
                    v = int(rest, 8)
                else:
                    v = _ESCAPES.get(rest, ord(rest[:1]))
            else:
                v = ord(body[:1]) if body else 0
            return CInt(v, 32, False)
        m = re.fullmatch(r"(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9]\d*)([uUlL]*)", text)
        if not m:
            raise self._fail(node, f"literal {text}")
        digits, suffix = m.group(1), m.group(2).lower()
        if digits[:2].lower() == "0x":
            v = int(digits, 16)
        elif digits[:2].lower() == "0b":
            v = int(digits, 2)
        elif digits.startswith("0") and len(digits) > 1:
            v = int(digits, 8)
        else:
            v = int(digits)
        decimal = digits[0] != "0" or digits == "0"
        lbits = self.abi.pointer * 8
        ranks = [("int", 32), ("long", lbits), ("long long", 64)]
        start = 2 if "ll" in suffix else 1 if "l" in suffix else 0
        for _, bits in ranks[start:]:
            if "u" in suffix:
                if v < 1 << bits:
                    return CInt(v, bits, True)
            elif v < 1 << (bits - 1):
                return CInt(v, bits, False)
            elif not decimal and v < 1 << bits:
                return CInt(v, bits, True)
        return CInt(v, 64, True)

    # ------------------------------------------------------------ operators
    @staticmethod
    def _common(a: CInt, b: CInt) -> tuple[int, bool]:
        a_bits, b_bits = max(a.bits, 32), max(b.bits, 32)
        if a_bits == b_bits:
            return a_bits, a.unsigned or b.unsigned
        big = a if a_bits > b_bits else b
        return max(a_bits, b_bits), big.unsigned

    def eval(self, node: c_ast.Node) -> CInt:
        if isinstance(node, c_ast.Constant):
            return self._literal(node)
        if isinstance(node, c_ast.ID):
            v = self.enumerator(node.name)
            if v is None:
                raise self._fail(node, f"identifier {node.name}")
            return CInt(v, 32, False)
        if isinstance(node, c_ast.Cast):
            v = self.eval(node.expr)
            bits, unsigned = self.int_type(node.to_type)
            if bits == 1:
                return CInt(int(v.value != 0), 32, False)
            return CInt(v.value, bits, unsigned).wrap()
        if isinstance(node, c_ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, c_ast.BinaryOp):
            return self._binary(node)
        if isinstance(node, c_ast.TernaryOp):
            return self.eval(node.iftrue if self.eval(node.cond).value else node.iffalse)
        if isinstance(node, c_ast.ExprList) and node.exprs:
            return self.eval(node.exprs[-1])
        raise self._fail(node, type(node).__name__)

    def _unary(self, node: c_ast.UnaryOp) -> CInt:
        size_bits = self.abi.pointer * 8
        if node.op == "sizeof":
            return CInt(self.sizeof(node.expr), size_bits, True)
        if node.op in ("_Alignof", "__alignof__", "alignof"):
            return CInt(self.alignof(node.expr), size_bits, True)
        v = self.eval(node.expr)
        bits = max(v.bits, 32)
        if node.op == "-":
            return CInt(-v.value, bits, v.unsigned).wrap()
        if node.op == "+":
            return CInt(v.value, bits, v.unsigned)
        if node.op == "~":
            return CInt(~v.value, bits, v.unsigned).wrap()
        if node.op == "!":
            return CInt(int(not v.value), 32, False)
        raise self._fail(node, f"operator {node.op}")

    def _binary(self, node: c_ast.BinaryOp) -> CInt:
        op = node.op
        a = self.eval(node.left)
        if op == "&&":
            return CInt(int(bool(a.value) and bool(self.eval(node.right).value)), 32, False)
        if op == "||":
            return CInt(int(bool(a.value) or bool(self.eval(node.right).value)), 32, False)
        b = self.eval(node.right)
        if op in ("<<", ">>"):
            bits = max(a.bits, 32)
            r = a.value << b.value if op == "<<" else a.value >> b.value
            return CInt(r, bits, a.unsigned).wrap()
        bits, unsigned = self._common(a, b)
        x, y = CInt(a.value, bits, unsigned).wrap().value, CInt(b.value, bits, unsigned).wrap().value
        if op in ("==", "!=", "<", ">", "<=", ">="):
            r = {"==": x == y, "!=": x != y, "<": x < y, ">": x > y,
                 "<=": x <= y, ">=": x >= y}[op]
            return CInt(int(r), 32, False)
        if op in ("/", "%") and y == 0:
            raise self._fail(node, "a division by zero")
        if op == "/":
            r = abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1)
        elif op == "%":
            r = x - y * (abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1))
        else:
            ops = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y,
                   "&": lambda: x & y, "|": lambda: x | y, "^": lambda: x ^ y}
            if op not in ops:
                raise self._fail(node, f"operator {op}")
            r = ops[op]()
        return CInt(r, bits, unsigned).wrap()
