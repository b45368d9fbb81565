"""Translation units for the layout engine: preprocessed C, sanitized
(`attrs`), parsed by pycparser, with the statements it could not parse
blanked out and recorded, so one bad declaration costs one struct, not the
whole header.

Two sources:
  * `preprocess_headers`: the target compiler's own preprocessor (`<cc> -E`)
    over `#include <...>` lines with a header tree's include path, so
    `__aarch64__`, `__BITS_PER_LONG` and friends are those of the ABI;
  * `preprocess_fragment`: a spec's C text through `cparse.preprocess` with
    the kernel prelude, plus `ATTR_PRELUDE`, which gives `__packed`,
    `__aligned(x)` and `__aligned_u64` back their GCC meaning.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from pycparser import c_ast, c_parser

from generator import cparse
from generator.abi.abis import Abi
from generator.abi.attrs import BUILTIN_PRELUDE, Sanitized, sanitize, unknown_type_prelude
from generator.abi.errors import HeaderError, ToolchainError

ATTR_PRELUDE = r"""
#undef __aligned
#undef __packed
#define __aligned(x) __attribute__((aligned(x)))
#define __packed __attribute__((packed))
#define __aligned_u64 __u64 __attribute__((aligned(8)))
#define __aligned_s64 __s64 __attribute__((aligned(8)))
#define __aligned_be64 __be64 __attribute__((aligned(8)))
#define __aligned_le64 __le64 __attribute__((aligned(8)))
"""

_PARSE_ERR = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$", re.S)


@dataclass(frozen=True)
class Skip:
    """A declaration left out of a unit, and why."""
    file: str
    line: int
    reason: str
    names: tuple[str, ...] = ()    # aggregates it defined, when known


@dataclass
class Unit:
    origin: str               # what was parsed, for messages
    raw: str                  # preprocessed text as the compiler sees it
    san: Sanitized            # prelude + same text, attributes blanked
    ast: c_ast.FileAST
    skipped: list[Skip] = field(default_factory=list)
    shift: int = 0            # len(prelude): raw offset = san offset - shift

    def blank(self, start: int, end: int) -> None:
        """Remove [start, end) from both texts (newlines kept)."""
        keep = lambda s: "".join(c if c == "\n" else " " for c in s)
        self.raw = self.raw[:start] + keep(self.raw[start:end]) + self.raw[end:]


def include_dirs(tree: str, abi: Abi) -> list[str]:
    """The tree, and its multiarch asm/ directory when it has one
    (/usr/include/x86_64-linux-gnu holds x86-64's asm/)."""
    dirs = [tree]
    multi = os.path.join(tree, abi.triplet)
    if os.path.isdir(multi):
        dirs.insert(0, multi)
    return dirs


def compiler(abi: Abi) -> str:
    path = shutil.which(abi.compiler)
    if not path:
        raise ToolchainError(abi.compiler, 0, f"the {abi.name} compiler is not installed",
                             "scripts/setup.sh to have installed it "
                             "(apt-get install gcc-*-linux-gnu*)")
    return path


def preprocess_headers(headers: list[str], tree: str, abi: Abi, extra: str = "",
                       markers: bool = True) -> str:
    """`#include <h>` for each header (then `extra`), preprocessed for `abi`
    against `tree`; `markers=False` drops line markers (`-P`)."""
    for h in headers:
        if not any(os.path.isfile(os.path.join(d, h)) for d in include_dirs(tree, abi)):
            raise HeaderError(os.path.join(tree, h), 0, "header not found",
                              f"a file under {tree} for {abi.name}")
    src = "".join(f"#include <{h}>\n" for h in headers) + extra
    cmd = [compiler(abi), "-E", "-nostdinc", "-x", "c", "-"] + ([] if markers else ["-P"])
    for d in include_dirs(tree, abi):
        cmd += ["-isystem", d]
    proc = subprocess.run(cmd, input=src, text=True, capture_output=True)
    if proc.returncode != 0:
        first = next((ln for ln in proc.stderr.splitlines() if "error" in ln),
                     proc.stderr.strip()[:200])
        m = re.match(r"(.*?):(\d+):", first)
        raise HeaderError(m.group(1) if m else tree, int(m.group(2)) if m else 0,
                          f"does not preprocess for {abi.name}: {first}")
    return proc.stdout


def preprocess_fragment(text: str, origin: str, first_line: int = 1) -> str:
    return cparse.preprocess(text, origin, first_line,
                             prelude=cparse.PRELUDE + ATTR_PRELUDE)


def parse_unit(raw: str, origin: str, max_skips: int = 200) -> Unit:
    """Parse preprocessed text; a declaration pycparser rejects is blanked
    and recorded as a Skip, and parsing starts again."""
    skipped: list[Skip] = []
    prelude = BUILTIN_PRELUDE + unknown_type_prelude(sanitize(raw).text)
    for _ in range(max_skips + 1):
        san = sanitize(prelude + raw)
        shift = len(prelude)
        try:
            ast = c_parser.CParser().parse(san.text, filename=origin)
        except c_parser.ParseError as e:
            m = _PARSE_ERR.match(str(e))
            if not m:
                raise HeaderError(origin, 0, f"C does not parse: {e}") from None
            f, ln, col = m.group("file"), int(m.group("line")), int(m.group("col"))
            off = san.lines.line_offset(f, ln)
            span = san.statement_at(off + col - 1) if off >= 0 else None
            if span is None or span[0] < shift:
                raise HeaderError(f, ln, f"C does not parse ({m.group('msg')})",
                                  "a declaration pycparser accepts") from None
            skipped.append(Skip(f, ln, f"does not parse: {m.group('msg')}",
                                tuple(_defined_names(san.text[span[0]:span[1]]))))
            unit = Unit(origin, raw, san, None, shift=shift)
            unit.blank(span[0] - shift, span[1] - shift)
            raw = unit.raw
            continue
        unit = Unit(origin, raw, san, ast, skipped, shift)
        san.table.bind(ast, san.lines)
        return unit
    raise HeaderError(origin, 0, f"more than {max_skips} declarations do not parse")


def _defined_names(text: str) -> list[str]:
    return re.findall(r"\b(?:struct|union)\s+(\w+)\s*\{", text)


def parse_expression(text: str, file: str, line: int) -> c_ast.Node:
    """One C expression, e.g. the argument of aligned(...)."""
    try:
        ast = c_parser.CParser().parse(f"int __kc = ({text});", filename=file)
    except c_parser.ParseError as e:
        raise HeaderError(file, line, f"expression {text!r} does not parse: {e}") from None
    return ast.ext[0].init
