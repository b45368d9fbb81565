"""Parse kernel C fragments with pycparser.

Kernel spellings (`__u64`, `void __user *`, `gpa_t`, `bool`, `likely()`) are
handled by a prelude that the real C preprocessor sees before the fragment,
not by rewriting the fragment with regular expressions.  Line markers keep
pycparser's coordinates pointing at the seed file and its lines.

A typedef name the prelude does not know makes pycparser stop at the
declaration that uses it; `parse` learns such names from the error position
(an identifier followed by another identifier at the start of a declaration)
and retries, and records each learned name so callers can report it.
"""
from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from pycparser import c_ast, c_parser

from generator.errors import KconformError

PRELUDE = r"""
#define __user
#define __iomem
#define __force
#define __rcu
#define __must_check
#define __maybe_unused
#define __always_inline inline
#define __init
#define __exit
#define noinline
#define __aligned(x)
#define __packed
#define likely(x) (x)
#define unlikely(x) (x)
#define READ_ONCE(x) (x)
#define list_for_each_entry(pos, head, member) \
	for (pos = list_first_entry(head); pos; pos = list_next_entry(pos, member))
typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef signed short __s16;
typedef unsigned int __u32;
typedef signed int __s32;
typedef unsigned long long __u64;
typedef signed long long __s64;
typedef __u16 __le16; typedef __u32 __le32; typedef __u64 __le64;
typedef __u16 __be16; typedef __u32 __be32; typedef __u64 __be64;
typedef __u8 u8; typedef __s8 s8; typedef __u16 u16; typedef __s16 s16;
typedef __u32 u32; typedef __s32 s32; typedef __u64 u64; typedef __s64 s64;
typedef unsigned long size_t;
typedef long ssize_t;
typedef long long loff_t;
typedef _Bool bool;
typedef u64 gpa_t;
typedef u64 gfn_t;
typedef u64 gva_t;
typedef u64 hpa_t;
typedef u64 hfn_t;
typedef u64 phys_addr_t;
typedef u64 kvm_pfn_t;
typedef u64 pte_t;
typedef unsigned long uintptr_t;
typedef int atomic_t;
typedef int spinlock_t;
"""

# Names of the prelude's typedefs; pycparser must be told about learned ones.
_LINE = re.compile(r'^#\s*(?:line\s+)?(\d+)\s+"([^"]*)"')


class CParseError(KconformError):
    """A fragment that does not parse; names the seed file and line."""

    def __init__(self, origin: str, line: int, message: str):
        super().__init__(f"{origin}:{line}: {message}")
        self.origin = origin
        self.line = line
        self.message = message


@dataclass
class Parsed:
    ast: c_ast.FileAST
    learned_types: list[str] = field(default_factory=list)


def _cpp() -> list[str]:
    for name in ("cpp", "gcc"):
        path = shutil.which(name)
        if path:
            return [path, "-E"] if name == "gcc" else [path]
    raise CParseError("<toolchain>", 0,
                      "no C preprocessor found: install gcc (apt-get install gcc)")


def preprocess(text: str, origin: str, first_line: int = 1,
               defines: dict[str, str] | None = None,
               prelude: str = PRELUDE) -> str:
    """Run the real C preprocessor over PRELUDE + text.

    The fragment keeps its own coordinates: line `first_line` of `origin`.
    """
    src = [prelude]
    for k, v in (defines or {}).items():
        src.append(f"#define {k} {v}")
    src.append(f'#line {first_line} "{origin}"')
    src.append(text)
    cmd = _cpp() + ["-x", "c", "-undef", "-nostdinc", "-"]
    proc = subprocess.run(cmd, input="\n".join(src) + "\n", text=True,
                          capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        msg = err[0] if err else "the preprocessor failed"
        m = re.match(r'[^:]*:(\d+):\d*:?\s*(?:error:)?\s*(.*)', msg)
        line = int(m.group(1)) if m else first_line
        raise CParseError(origin, line, f"does not preprocess: {msg}")
    return proc.stdout


_PARSE_ERR = re.compile(r'^(?P<file>[^:]*):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$')


def _line_text(pre: str, origin: str, line: int) -> str | None:
    """The preprocessed text of `origin`:`line` (for learning typedefs)."""
    cur_file, cur_line = None, 0
    for raw in pre.splitlines():
        m = _LINE.match(raw)
        if m:
            cur_line, cur_file = int(m.group(1)), m.group(2)
            continue
        if cur_file == origin and cur_line == line:
            return raw
        cur_line += 1
    return None


def parse(text: str, origin: str, first_line: int = 1,
          defines: dict[str, str] | None = None, max_learn: int = 16) -> Parsed:
    """Parse a C fragment (declarations or function definitions)."""
    learned: list[str] = []
    for _ in range(max_learn + 1):
        extra = "".join(f"typedef int {t};\n" for t in learned)
        pre = preprocess(text, origin, first_line, defines, PRELUDE + extra)
        try:
            ast = c_parser.CParser().parse(pre, filename=origin)
            return Parsed(ast, learned)
        except c_parser.ParseError as e:
            m = _PARSE_ERR.match(str(e))
            if not m:
                raise CParseError(origin, first_line, str(e)) from None
            line, col = int(m.group("line")), int(m.group("col"))
            name = _unknown_type_at(_line_text(pre, m.group("file"), line) or "", col)
            if name and name not in learned:
                learned.append(name)
                continue
            raise CParseError(m.group("file"), line,
                              f"C does not parse ({m.group('msg')})") from None
    raise CParseError(origin, first_line, "too many unknown type names")


_DECL_START = re.compile(r'(?:^|[;{}(,]\s*|^\s*)(?:const\s+|static\s+|struct\s+)*'
                         r'([A-Za-z_]\w*)\s*\*?\s*[A-Za-z_]\w*\s*[=;,)\[]')


def _unknown_type_at(line: str, col: int) -> str | None:
    """If the error is at `NAME ident` where NAME is not a type yet, return NAME."""
    m = re.match(r'\s*(?:const\s+|static\s+)*([A-Za-z_]\w*)\s+\**\s*([A-Za-z_]\w*)', line)
    if m and m.group(1) not in ("return", "struct", "union", "enum", "goto",
                                "case", "if", "else", "while", "for", "do",
                                "switch", "sizeof"):
        return m.group(1)
    return None


def join_lines(lines: list[tuple[int, str]], origin: str) -> tuple[str, int]:
    """Join (seed line, text) pairs into one fragment whose coordinates stay
    right even where the seed lines are not consecutive (quoted replies with
    remarks between the quoted lines).  Returns the text and its first line."""
    if not lines:
        return "", 1
    out: list[str] = []
    prev = None
    for no, text in lines:
        if prev is not None and no != prev + 1:
            out.append(f'#line {no} "{origin}"')
        out.append(text)
        prev = no
    return "\n".join(out), lines[0][0]


def parse_expr(expr: str) -> c_ast.Node:
    """Parse one C expression (used to re-read conditions stored in specs).
    Each text goes through the preprocessor once per process: planning and
    rendering re-read the same conditions many times.  The caller gets its
    own copy of the tree."""
    return copy.deepcopy(_parse_expr(expr))


_PRELUDE_MACROS = frozenset(re.findall(r"^#define\s+(\w+)", PRELUDE, re.M))


@functools.lru_cache(maxsize=1)
def _preprocessed_prelude() -> str:
    return preprocess("", "<prelude>")


@functools.lru_cache(maxsize=2048)
def _parse_expr(expr: str) -> c_ast.Node:
    wrapped = f"void __kc_expr(void) {{ (void)({expr}); }}"
    plain = (not set(re.findall(r"[A-Za-z_]\w*", expr)) & _PRELUDE_MACROS
             and not any(t in expr for t in ("#", "/*", "//", "\\", "'", '"')))
    if plain:
        # nothing for the preprocessor to do: the prelude it already expanded
        # once, then the expression as written
        try:
            ast = c_parser.CParser().parse(_preprocessed_prelude()
                                           + f'# 1 "<expr>"\n{wrapped}\n', filename="<expr>")
        except c_parser.ParseError:
            ast = parse(wrapped, "<expr>").ast     # learns typedef names, says where
    else:
        ast = parse(wrapped, "<expr>").ast
    body = ast.ext[-1].body.block_items[0]
    return body.expr


def to_c(node: c_ast.Node) -> str:
    from pycparser import c_generator
    return c_generator.CGenerator().visit(node)
