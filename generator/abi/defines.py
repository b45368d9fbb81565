"""`#define` values of installed uAPI headers, as the compiler sees them.

Object-like macros are found in the headers' own text (so each keeps its
file and line), expanded by the ABI's real preprocessor after the headers,
and evaluated by `cexpr` with the engine's sizeof, so
`KVM_ARM_MTE_COPY_TAGS` becomes the request number the kernel compares
against.  Macros that are not integer constants (strings, empty, types)
are left out.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from pycparser import c_parser

from generator.abi.abis import Abi
from generator.abi.errors import AbiError
from generator.abi.layout import Layouter, TypeEnv
from generator.abi.unit import Unit, include_dirs, parse_unit, preprocess_headers

_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)(?![\w(])[ \t]*(.*?)\s*$", re.M)
_IOC_MACRO = re.compile(r"\b_IO(?:R|W|WR)?\s*\(")


@dataclass(frozen=True)
class Define:
    name: str
    value: int
    expr: str                 # the body as written in the header
    file: str
    line: int

    @property
    def is_ioctl(self) -> bool:
        return bool(_IOC_MACRO.search(self.expr))


def _header_path(tree: str, abi: Abi, header: str) -> str | None:
    for d in include_dirs(tree, abi):
        p = os.path.join(d, header)
        if os.path.isfile(p):
            return p
    return None


def _scan(path: str) -> list[tuple[str, str, int]]:
    with open(path, errors="replace") as f:
        text = f.read()
    text = re.sub(r"\\\n", " ", text)       # join continuation lines...
    out = []
    for m in _DEFINE.finditer(text):         # ...lines counted before joining
        body = re.sub(r"/\*.*?\*/|//.*$", "", m.group(2)).strip()
        if body and not body.startswith('"'):
            line = text.count("\n", 0, m.start()) + 1
            out.append((m.group(1), body, line))
    return out


def header_defines(tree: str, abi: Abi,
                   headers: tuple[str, ...] = ("linux/kvm.h", "asm/kvm.h"),
                   unit: Unit | None = None) -> dict[str, Define]:
    """Integer `#define`s of `headers`, evaluated for `abi`."""
    found: list[tuple[str, str, str, int]] = []
    for h in headers:
        path = _header_path(tree, abi, h)
        if path:
            found += [(n, body, path, ln) for n, body, ln in _scan(path)]
    present = [h for h in headers if _header_path(tree, abi, h)]
    if not present:
        return {}
    probe = "".join(f"\n__kc_def_{n} ({n})" for n, _, _, _ in found)
    text = preprocess_headers(present, tree, abi, extra=probe + "\n", markers=False)
    if unit is None:
        unit = parse_unit(preprocess_headers(present, tree, abi), tree)
    engine = Layouter(TypeEnv([unit]), abi)
    typedefs = "".join(f"typedef int {t};" for t in engine.env.typedefs)
    expansions = dict(re.findall(r"^__kc_def_(\w+) (.*)$", text, re.M))
    exprs = _parse_all(typedefs, [(n, expansions[n]) for n, _, _, _ in found
                                  if n in expansions])
    out: dict[str, Define] = {}
    for name, body, path, line in found:
        if name in out or name not in exprs:
            continue
        try:
            value = engine.evaluate(exprs[name], unit)
        except (AbiError, RecursionError):
            continue
        out[name] = Define(name, value, body, path, line)
    return out


def _parse_all(typedefs: str, items: list[tuple[str, str]]) -> dict:
    """Parse every expansion in one go; one that does not parse is dropped
    and the rest parsed again."""
    items = list(dict(items).items())
    while items:
        src = typedefs + "\n" + "".join(f"long long __kc_def_{n} = {e};\n" for n, e in items)
        try:
            ast = c_parser.CParser().parse(src, filename="<defines>")
        except c_parser.ParseError as e:
            m = re.match(r"[^:]*:(\d+):", str(e))
            if not m or not 2 <= int(m.group(1)) <= len(items) + 1:
                return {}
            del items[int(m.group(1)) - 2]
            continue
        return {d.name[len("__kc_def_"):]: d.init for d in ast.ext
                if getattr(d, "name", "").startswith("__kc_def_")}
    return {}


def decode_ioctl(number: int) -> tuple[int, int, int, int]:
    """asm-generic encoding (arm64, x86): (dir, size, type, nr);
    dir is _IOC_WRITE=1, _IOC_READ=2."""
    return (number >> 30) & 3, (number >> 16) & 0x3FFF, (number >> 8) & 0xFF, number & 0xFF


def encode_ioctl(direction: int, size: int, type_: int, nr: int) -> int:
    return (direction << 30) | (size << 16) | (type_ << 8) | nr
