"""Keep GNU attributes that change layout, in a form pycparser can live with.

pycparser does not parse `__attribute__((...))`, and `cparse.PRELUDE`
defines `__packed` / `__aligned(x)` away.  `sanitize` scans preprocessed C
once and

  1. blanks every `__attribute__((...))` with spaces of the same length, so
     line and column of every other token stay what the preprocessor wrote
     and pycparser's coordinates can be matched back to text offsets;
  2. records `packed`, `aligned` (and layout attributes it does not support,
     such as `mode`) in a side table: *type* attributes (right after
     `struct`/`union`/`enum` or their tag, or right after the closing brace)
     keyed by the aggregate's anchors (keyword, tag and `{` offsets, which is
     where pycparser puts a Struct's coordinate), *declaration* attributes by
     the declaration statement and comma-separated declarator they sit in;
  3. rewrites GNU keyword spellings (`__signed__`, `__extension__`,
     `__int128`, `__asm__(...)`) to standard ones, also length-preserving.

After parsing, `AttrTable.bind(ast)` attaches declaration attributes to the
Decl/Typedef nodes whose declarator lies in the same declaration.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from pycparser import c_ast

from generator.abi.errors import HeaderError

BUILTIN_FILE = "<kconform-builtin>"
# Type names GCC knows without a declaration; `layout` maps them to scalars.
BUILTIN_TYPEDEFS = {"__int128_t": "__int128", "__uint128_t": "__int128",
                    "__kci128": "__int128", "__kcu128": "__int128",
                    "__builtin_va_list": None}
BUILTIN_PRELUDE = (f'# 1 "{BUILTIN_FILE}"\n'
                   + "".join(f"typedef int {n};\n" for n in BUILTIN_TYPEDEFS))

# Names used as types but declared nowhere (a spec fragment's `foo_t x;`):
# declared here so pycparser goes on, and refused by `layout` by name.
UNKNOWN_FILE = "<kconform-unknown>"
_C_WORDS = {"struct", "union", "enum", "const", "volatile", "signed", "unsigned",
            "char", "short", "int", "long", "float", "double", "void", "_Bool",
            "static", "extern", "typedef", "return", "inline", "restrict", "register",
            "_Alignas", "_Atomic", "sizeof", "case", "goto", "else", "auto"}
_TYPE_USE = re.compile(r"(?:^|[;{(,])\s*(?:const\s+|volatile\s+)*([A-Za-z_]\w*)\s*[*\s]\s*\**\s*"
                       r"[A-Za-z_]\w*\s*[\[;:,)=]", re.M)
_TYPEDEF_NAME = re.compile(r"\btypedef\b[^;]*?(?:\(\s*\*\s*(\w+)\s*\)[^;]*|(\w+)\s*(?:\[[^\];]*\]\s*)*);")


def unknown_type_prelude(text: str) -> str:
    """`typedef int NAME;` for names used as types in `text` but never
    declared there, under UNKNOWN_FILE."""
    declared = {a or b for a, b in _TYPEDEF_NAME.findall(text)} | set(BUILTIN_TYPEDEFS)
    used = {m for m in _TYPE_USE.findall(text)} - declared - _C_WORDS
    if not used:
        return ""
    return f'# 1 "{UNKNOWN_FILE}"\n' + "".join(f"typedef int {n};\n" for n in sorted(used))


LAYOUT_ATTRS = {"packed", "aligned"}
UNSUPPORTED_ATTRS = {"mode", "vector_size", "ms_struct", "gcc_struct",
                     "designated_init", "scalar_storage_order"}

_MARKER = re.compile(r'#\s*(?:line\s+)?(\d+)\s+"((?:\\.|[^"\\])*)"')
_TOKEN = re.compile(r"""
    (?P<dir>^[ \t]*\#[^\n]*)
  | (?P<id>[A-Za-z_]\w*)
  | (?P<num>\.?\d(?:[eEpP][+-]|[\w.])*)
  | (?P<str>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<ws>\s+)
  | (?P<punct>.)""", re.X | re.M)

_REWRITE = {"__extension__": "", "__signed__": "signed", "__signed": "signed",
            "__inline__": "inline", "__inline": "inline", "__const": "const",
            "__const__": "const", "__volatile__": "volatile",
            "__volatile": "volatile", "__restrict": "restrict",
            "__restrict__": "restrict", "__alignof__": "_Alignof",
            "__alignof": "_Alignof"}


@dataclass(frozen=True)
class Attr:
    name: str                 # "packed", "aligned", or an unsupported one
    arg: str | None           # C text of the argument, None when bare
    file: str
    line: int

    def __str__(self) -> str:
        return self.name if self.arg is None else f"{self.name}({self.arg})"


@dataclass
class _DeclAttr:
    attrs: list[Attr]
    pos: int
    start: int                # declaration region, after the last ; { }
    end: int                  # the terminating ;
    commas: list[int]


@dataclass
class AttrTable:
    type_attrs: dict[int, tuple[Attr, ...]] = field(default_factory=dict)
    decl_attrs: list[_DeclAttr] = field(default_factory=list)
    bound: dict[int, tuple[Attr, ...]] = field(default_factory=dict)
    pragmas: list[tuple[str, int, str]] = field(default_factory=list)

    def for_type(self, node: c_ast.Node, lines: "LineMap") -> tuple[Attr, ...]:
        return self.type_attrs.get(lines.offset(node.coord), ())

    def for_decl(self, node: c_ast.Node, lines: "LineMap") -> tuple[Attr, ...]:
        return self.bound.get(lines.offset(node.coord), ())

    def bind(self, ast: c_ast.Node, lines: "LineMap") -> None:
        """Attach declaration attributes to the declarators they belong to."""
        offsets = sorted({o for o in (lines.offset(n.coord)
                                      for n in _declarators(ast)) if o >= 0})
        for da in self.decl_attrs:
            lo = bisect.bisect_right(offsets, da.start)
            hi = bisect.bisect_left(offsets, da.end)
            decls = offsets[lo:hi]
            if not decls:
                continue
            seg = bisect.bisect_left(da.commas, da.pos)
            specifier = da.pos < decls[0] and seg == 0
            for d in decls:
                if specifier or bisect.bisect_left(da.commas, d) == seg:
                    self.bound[d] = self.bound.get(d, ()) + tuple(da.attrs)


def _declarators(ast: c_ast.Node):
    class V(c_ast.NodeVisitor):
        found: list = []

        def visit_Decl(self, n):
            self.found.append(n)
            self.generic_visit(n)

        def visit_Typedef(self, n):
            self.found.append(n)
            self.generic_visit(n)
    v = V()
    v.found = []
    v.visit(ast)
    return [n for n in v.found if n.name and n.coord]


class LineMap:
    """Between text offsets and the (file, line, column) pycparser reports."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.logical: list[tuple[str, int]] = []
        self.index: dict[tuple[str, int], int] = {}
        cur_file, cur_line = "<unknown>", 1
        for i, start in enumerate(self.starts):
            m = _MARKER.match(text, start)
            if m and text.startswith("#", start):
                self.logical.append((cur_file, cur_line))
                cur_file, cur_line = m.group(2), int(m.group(1))
                continue
            self.logical.append((cur_file, cur_line))
            self.index.setdefault((cur_file, cur_line), i)
            cur_line += 1

    def where(self, offset: int) -> tuple[str, int, int]:
        i = bisect.bisect_right(self.starts, offset) - 1
        f, ln = self.logical[i]
        return f, ln, offset - self.starts[i] + 1

    def line_offset(self, file: str, line: int) -> int:
        i = self.index.get((file, line))
        return -1 if i is None else self.starts[i]

    def offset(self, coord) -> int:
        if coord is None:
            return -1
        base = self.line_offset(coord.file, coord.line)
        return -1 if base < 0 else base + (coord.column or 1) - 1


@dataclass
class Sanitized:
    text: str                 # what pycparser parses (same length as input)
    table: AttrTable
    lines: LineMap
    statements: list[tuple[int, int]]   # file-scope declarations (start, end)

    def statement_at(self, offset: int) -> tuple[int, int] | None:
        i = bisect.bisect_right([s for s, _ in self.statements], offset) - 1
        if i >= 0 and self.statements[i][0] <= offset <= self.statements[i][1]:
            return self.statements[i]
        return None


def _blank(chars: list[str], start: int, end: int, repl: str = "") -> None:
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = " "
    for i, c in enumerate(repl):
        chars[start + i] = c


def _split_attrs(inner: str, file: str, line: int) -> list[Attr]:
    out, depth, cur = [], 0, ""
    for ch in inner + ",":
        if ch == "," and depth == 0:
            cur = cur.strip()
            if cur:
                m = re.match(r"(\w+)\s*(?:\((.*)\))?\s*$", cur, re.S)
                if not m:
                    raise HeaderError(file, line, f"attribute {cur!r} does not parse",
                                      "name or name(arguments)")
                name = m.group(1).strip("_")
                if name in LAYOUT_ATTRS | UNSUPPORTED_ATTRS:
                    out.append(Attr(name, m.group(2), file, line))
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    return out


def _add_type_attrs(table: AttrTable, anchors, found: list[Attr]) -> None:
    for a in anchors:
        if found:
            table.type_attrs[a] = table.type_attrs.get(a, ()) + tuple(found)


def sanitize(text: str) -> Sanitized:
    """Scan preprocessed C; see the module docstring."""
    lines = LineMap(text)
    chars = list(text)
    table = AttrTable()
    toks = [(m.lastgroup, m.group(), m.start(), m.end())
            for m in _TOKEN.finditer(text) if m.lastgroup != "ws"]
    depth_boundary = [0]        # per brace depth: offset after last ; { }
    commas: list[list[int]] = [[]]
    pending: list[list[_DeclAttr]] = [[]]
    frames: list[tuple[int, ...]] = []      # anchors of open braces
    statements: list[tuple[int, int]] = []
    top_start = 0
    aggr: list[int] | None = None           # anchors of struct/union/enum head
    head_attrs: list[Attr] = []             # attributes seen in that head
    closed: tuple[int, ...] | None = None   # anchors of the aggregate just closed
    paren = 0
    i = 0
    while i < len(toks):
        kind, tok, s, e = toks[i]
        if kind == "dir":
            if not _MARKER.match(tok.strip()):
                f, ln, _ = lines.where(s)
                if re.match(r"\s*#\s*pragma\s+pack", tok):
                    table.pragmas.append((f, ln, tok.strip()))
                _blank(chars, s, e)
            i += 1
            continue
        if tok in ("__attribute__", "__attribute", "__asm__", "__asm", "asm"):
            j, depth = i + 1, 0
            while j < len(toks):
                depth += toks[j][1] == "("
                depth -= toks[j][1] == ")"
                if depth == 0:
                    break
                j += 1
            if j >= len(toks) or toks[i + 1][1] != "(":
                f, ln, _ = lines.where(s)
                raise HeaderError(f, ln, f"unbalanced {tok}", "balanced parentheses")
            end = toks[j][3]
            if tok.startswith("__attribute"):
                f, ln, _ = lines.where(s)
                inner = text[toks[i + 1][3]:toks[j][2]].strip()
                if inner.startswith("(") and inner.endswith(")"):
                    inner = inner[1:-1]
                found = _split_attrs(inner, f, ln)
                if aggr is not None:
                    head_attrs.extend(found)
                elif closed is not None:
                    _add_type_attrs(table, closed, found)
                elif found:
                    pending[-1].append(_DeclAttr(found, s, 0, 0, []))
            _blank(chars, s, end)
            i = j + 1
            continue
        if tok in _REWRITE:
            _blank(chars, s, e, _REWRITE[tok])
        elif tok == "__int128":
            prev = toks[i - 1] if i else None
            name = "__kci128"
            if prev and prev[1] in ("unsigned", "signed"):
                name = "__kcu128" if prev[1] == "unsigned" else name
                _blank(chars, prev[2], prev[3])
            _blank(chars, s, e, name)
        closed = None
        if tok in ("struct", "union", "enum"):
            aggr, head_attrs = [s], []
        elif aggr is not None and kind == "id" and len(aggr) == 1:
            aggr.append(s)
        elif tok == "{":
            anchors = tuple(aggr + [s]) if aggr is not None else ()
            _add_type_attrs(table, anchors, head_attrs)
            frames.append(anchors)
            aggr, head_attrs = None, []
            depth_boundary.append(e)
            commas.append([])
            pending.append([])
        elif tok == "}":
            aggr = None
            if frames:
                closed = frames.pop() or None
                depth_boundary.pop()
                commas.pop()
                pending.pop()
                depth_boundary[-1] = e
                commas[-1] = []
        else:
            aggr = None
            if tok == "(":
                paren += 1
            elif tok == ")":
                paren -= 1
            elif tok == "," and paren == 0:
                commas[-1].append(s)
            elif tok == ";" and paren == 0:
                for da in pending[-1]:
                    da.start, da.end, da.commas = depth_boundary[-1], s, list(commas[-1])
                    table.decl_attrs.append(da)
                pending[-1] = []
                commas[-1] = []
                depth_boundary[-1] = e
                if not frames:
                    statements.append((top_start, e))
                    top_start = e
        i += 1
    return Sanitized("".join(chars), table, lines, statements)
