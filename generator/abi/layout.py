"""The layout engine: size, alignment and member offsets of C aggregates on
one ABI, computed from the pycparser AST of a `Unit`.

Rules (System V / AAPCS, as GCC implements them for Linux targets):
  * a member is placed at the next multiple of its alignment; the aggregate's
    alignment is the largest member alignment, its size is rounded up to it;
  * `packed` (on the aggregate or the member) makes a member 1-aligned;
    `aligned(N)` / `_Alignas(N)` on a member or aggregate only raise the
    alignment, on a typedef it sets it (up or down);
  * a bitfield of type T is placed at the current bit position unless that
    makes it span more alignof(T) units than sizeof(T) has, in which case it
    starts at the next alignof(T) boundary; named bitfields give the
    aggregate T's alignment, unnamed ones only on arm (AAPCS), `:0` rounds
    up to alignof(T);
  * enums are `int`-sized unless their values need 64 bits (or they are
    packed: then the smallest integer that holds them);
  * a flexible or zero-length array has size 0 and its element's alignment.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from pycparser import c_ast

from generator.abi.abis import Abi, canonical_scalar
from generator.abi.attrs import BUILTIN_FILE, BUILTIN_TYPEDEFS, UNKNOWN_FILE, UNSUPPORTED_ATTRS, Attr
from generator.abi.cexpr import Evaluator
from generator.abi.errors import LayoutError
from generator.abi.unit import Unit


# ---------------------------------------------------------------- results
@dataclass(frozen=True)
class Hole:
    offset: int               # from the start of the outermost struct
    size: int
    after: str | None         # member before the hole; None at the start
    inside: str = ""          # path of the aggregate it is in, "" = top


@dataclass(frozen=True)
class MemberLayout:
    name: str | None          # None for an anonymous struct/union member
    type: str                 # C spelling
    offset: int               # bytes from the start of the enclosing aggregate
    size: int
    align: int | None         # None when unknown (DWARF does not say)
    bit_offset: int | None = None   # bitfields: bits from the aggregate start
    bit_size: int | None = None
    nested: "StructLayout | None" = None   # members of an untagged aggregate
    pointer: bool = False
    flexible: bool = False


@dataclass(frozen=True)
class FlatMember:
    path: str                 # "addr", "u.hw.hardware_exit_reason"
    offset: int               # from the start of the outermost struct
    member: MemberLayout


@dataclass(frozen=True)
class StructLayout:
    name: str                 # tag, typedef name, or "" for untagged
    kind: str                 # "struct" or "union"
    size: int
    align: int
    members: tuple[MemberLayout, ...]
    holes: tuple[Hole, ...] = ()
    abi: str = ""
    file: str = ""
    line: int = 0
    packed: bool = False

    @property
    def title(self) -> str:
        return f"{self.kind} {self.name}" if self.name else f"{self.kind} <anonymous>"

    def flatten(self, base: int = 0, prefix: str = "") -> Iterator[FlatMember]:
        """Members with paths as C spells them (anonymous members' fields
        appear directly) and offsets from the outermost struct."""
        for m in self.members:
            path = prefix + m.name if m.name else prefix.rstrip(".")
            if m.name:
                yield FlatMember(path, base + m.offset, m)
            if m.nested is not None:
                yield from m.nested.flatten(base + m.offset,
                                            f"{path}." if path else "")

    def all_holes(self) -> list[Hole]:
        """Holes at every level, nested aggregates included."""
        out = list(self.holes)
        for fm in self.flatten():
            if fm.member.nested is not None:
                out.extend(fm.member.nested._shifted_holes(fm.offset, fm.path))
        for m in self.members:          # anonymous members are not in flatten
            if m.name is None and m.nested is not None:
                out.extend(m.nested._shifted_holes(m.offset, ""))
        return sorted(set(out), key=lambda h: (h.offset, h.inside))

    def _shifted_holes(self, base: int, path: str) -> list[Hole]:
        out = [Hole(h.offset + base, h.size, h.after, path) for h in self.holes]
        for m in self.members:
            if m.nested is not None and m.name is None:
                out.extend(m.nested._shifted_holes(base + m.offset, path))
        return out


@dataclass
class _TInfo:
    size: int
    align: int
    spelling: str
    nested: StructLayout | None = None
    pointer: bool = False
    flexible: bool = False
    unsigned: bool = False
    user_align: bool = False


def _round(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def spell(node: c_ast.Node) -> str:
    """C spelling of a type node (for reports, not for compilers)."""
    if isinstance(node, (c_ast.TypeDecl, c_ast.Typename)):
        return spell(node.type)
    if isinstance(node, c_ast.IdentifierType):
        return " ".join(node.names)
    if isinstance(node, (c_ast.Struct, c_ast.Union, c_ast.Enum)):
        kw = {c_ast.Struct: "struct", c_ast.Union: "union", c_ast.Enum: "enum"}[type(node)]
        return f"{kw} {node.name}" if node.name else f"{kw} {{...}}"
    if isinstance(node, c_ast.PtrDecl):
        return spell(node.type) + " *"
    if isinstance(node, c_ast.ArrayDecl):
        dim = "" if node.dim is None else getattr(node.dim, "value", "N")
        return f"{spell(node.type)}[{dim}]"
    if isinstance(node, c_ast.FuncDecl):
        return spell(node.type) + " (*)()"
    return type(node).__name__


# ---------------------------------------------------------------- environment
@dataclass
class TypeEnv:
    """Tags, typedefs and enumerators of parsed units; earlier units win, so
    a spec's struct shadows the installed header's of the same name."""
    units: list[Unit]
    tags: dict[tuple[str, str], tuple[c_ast.Node, Unit]] = field(default_factory=dict)
    typedefs: dict[str, tuple[c_ast.Typedef, Unit]] = field(default_factory=dict)
    enumerators: dict[str, tuple[c_ast.Enum, Unit]] = field(default_factory=dict)
    aggregates: list[tuple[str, c_ast.Node, Unit]] = field(default_factory=list)

    def __post_init__(self):
        for unit in self.units:
            for ext in unit.ast.ext:
                if isinstance(ext, c_ast.Typedef):
                    self.typedefs.setdefault(ext.name, (ext, unit))
                    t = ext.type.type if isinstance(ext.type, c_ast.TypeDecl) else None
                    if isinstance(t, (c_ast.Struct, c_ast.Union)) and not t.name \
                            and t.decls is not None:
                        self.aggregates.append((ext.name, t, unit))
            for node in _walk(unit.ast):
                if isinstance(node, (c_ast.Struct, c_ast.Union)) and node.name \
                        and node.decls is not None:
                    kind = "struct" if isinstance(node, c_ast.Struct) else "union"
                    if (kind, node.name) not in self.tags:
                        self.tags[(kind, node.name)] = (node, unit)
                        self.aggregates.append((node.name, node, unit))
                elif isinstance(node, c_ast.Enum) and node.values is not None:
                    if node.name:
                        self.tags.setdefault(("enum", node.name), (node, unit))
                    for e in node.values.enumerators:
                        self.enumerators.setdefault(e.name, (node, unit))

    def find(self, name: str) -> tuple[c_ast.Node, Unit]:
        """"struct X", "union X", a bare tag, or a typedef name."""
        kind, _, tag = name.strip().rpartition(" ")
        kinds = [kind] if kind else ["struct", "union"]
        for k in kinds:
            if (k, tag) in self.tags:
                return self.tags[(k, tag)]
        if not kind:
            for n, node, unit in self.aggregates:
                if n == tag:
                    return node, unit
        raise LayoutError("<types>", 0, f"{name} is not defined in "
                          f"{', '.join(u.origin for u in self.units)}",
                          "a struct, union or typedef name")


def _walk(node: c_ast.Node) -> Iterator[c_ast.Node]:
    yield node
    for _, child in node.children():
        yield from _walk(child)


# ---------------------------------------------------------------- engine
class Layouter:
    """Lays out aggregates of a `TypeEnv` on one `Abi`."""

    def __init__(self, env: TypeEnv, abi: Abi):
        self.env = env
        self.abi = abi
        self._cache: dict[int, StructLayout] = {}
        self._enum_values: dict[int, dict[str, int]] = {}
        self._busy: set[int] = set()
        self._unit: Unit = env.units[0]

    # public ------------------------------------------------------------
    def layout(self, name: str) -> StructLayout:
        node, unit = self.env.find(name)
        return self.layout_node(node, unit, name.rpartition(" ")[2])

    def layout_node(self, node: c_ast.Node, unit: Unit, name: str = "") -> StructLayout:
        key = id(node)
        if key not in self._cache:
            if key in self._busy:
                raise self._err(node, f"{spell(node)} contains itself", "a finite type")
            self._busy.add(key)
            try:
                self._cache[key] = self._aggregate(node, unit, name or node.name or "")
            finally:
                self._busy.discard(key)
        return self._cache[key]

    def sizeof(self, name: str) -> int:
        return self.layout(name).size

    def evaluate(self, expr: c_ast.Node, unit: Unit | None = None) -> int:
        """An integer constant expression, with this ABI's sizeof/_Alignof."""
        return self._eval(expr, unit or self.env.units[0])

    # helpers -----------------------------------------------------------
    def _err(self, node, message: str, expected: str = "") -> LayoutError:
        c = getattr(node, "coord", None)
        return LayoutError(c.file if c else "<types>", c.line if c else 0, message, expected)

    def _eval(self, node: c_ast.Node, unit: Unit) -> int:
        ev = Evaluator(self.abi,
                       sizeof=lambda n: self._info(n, unit).size,
                       alignof=lambda n: self._info(n, unit).align,
                       enumerator=self._enumerator,
                       int_type=lambda n: self._int_type(n, unit))
        return ev(node)

    def _int_type(self, node, unit) -> tuple[int, bool]:
        t = self._info(node, unit)
        return t.size * 8, t.unsigned or t.pointer

    def _align_arg(self, attr: Attr, unit: Unit, node) -> int:
        if attr.arg is None:
            return self.abi.biggest_align
        from generator.abi.unit import parse_expression
        return self._eval(parse_expression(attr.arg, attr.file, attr.line), unit)

    def _attr_aligns(self, attrs, unit, node, align_nodes=()) -> tuple[bool, int | None]:
        packed, align = False, None
        for a in attrs:
            if a.name in UNSUPPORTED_ATTRS:
                raise self._err(node, f"attribute {a} changes layout in a way the "
                                "engine does not model", "packed or aligned(N)")
            if a.name == "packed":
                packed = True
            elif a.name == "aligned":
                align = max(align or 1, self._align_arg(a, unit, node))
        for al in align_nodes or ():
            v = (self._info(al.alignment, unit).align
                 if isinstance(al.alignment, c_ast.Typename)
                 else self._eval(al.alignment, unit))
            align = max(align or 1, v)
        return packed, align

    def _enumerator(self, name: str) -> int | None:
        if name not in self.env.enumerators:
            return None
        node, unit = self.env.enumerators[name]
        return self._enum(node, unit)[name]

    def _enum(self, node: c_ast.Enum, unit: Unit) -> dict[str, int]:
        key = id(node)
        if key not in self._enum_values:
            values, nxt = {}, 0
            self._enum_values[key] = values      # enumerators refer to earlier ones
            for e in node.values.enumerators:
                nxt = self._eval(e.value, unit) if e.value is not None else nxt
                values[e.name] = nxt
                nxt += 1
        return self._enum_values[key]

    # types -------------------------------------------------------------
    def _info(self, node: c_ast.Node, unit: Unit) -> _TInfo:
        if isinstance(node, (c_ast.TypeDecl, c_ast.Typename, c_ast.Decl)):
            return self._info(node.type, unit)
        if isinstance(node, c_ast.PtrDecl):
            p = self.abi.pointer
            return _TInfo(p, p, spell(node), pointer=True, unsigned=True)
        if isinstance(node, c_ast.ArrayDecl):
            el = self._info(node.type, unit)
            if el.flexible:
                raise self._err(node, "array of a type with a flexible array member")
            n = 0 if node.dim is None else self._eval(node.dim, unit)
            return _TInfo(el.size * n, el.align, spell(node), flexible=n == 0)
        if isinstance(node, (c_ast.Struct, c_ast.Union)):
            if node.decls is None:
                kind = "struct" if isinstance(node, c_ast.Struct) else "union"
                if (kind, node.name) not in self.env.tags:
                    raise self._err(node, f"{kind} {node.name} is declared but never "
                                    "defined", "a complete type")
                node, unit = self.env.tags[(kind, node.name)]
            lay = self.layout_node(node, unit)
            return _TInfo(lay.size, lay.align, spell(node),
                          nested=None if node.name else lay)
        if isinstance(node, c_ast.Enum):
            return self._enum_info(node, unit)
        if isinstance(node, c_ast.IdentifierType):
            return self._identifier(node, unit)
        if isinstance(node, c_ast.FuncDecl):
            raise self._err(node, "a function type has no layout", "an object type")
        raise self._err(node, f"unsupported type node {type(node).__name__}")

    def _identifier(self, node: c_ast.IdentifierType, unit: Unit) -> _TInfo:
        kind = canonical_scalar(node.names)
        if kind == "void":
            raise self._err(node, "void has no size", "an object type")
        if kind is not None:
            size, align = self.abi.scalar(kind)
            unsigned = "unsigned" in node.names or kind == "_Bool"
            return _TInfo(size, align, " ".join(node.names), unsigned=unsigned)
        name = node.names[-1]
        if name not in self.env.typedefs:
            raise self._err(node, f"unknown type name {name}", "a typedef in scope")
        td, tunit = self.env.typedefs[name]
        if td.coord and td.coord.file == UNKNOWN_FILE:
            raise self._err(node, f"unknown type name {name}", "a typedef in scope")
        if td.coord and td.coord.file == BUILTIN_FILE:
            kind = BUILTIN_TYPEDEFS[name]
            if kind is None or (kind == "__int128" and not self.abi.int128):
                raise self._err(node, f"{name} is not available on {self.abi.name}",
                                "a type this ABI has")
            size, align = self.abi.scalar(kind)
            return _TInfo(size, align, name, unsigned="u" in name[:4])
        base = self._info(td.type, tunit)
        _, align = self._attr_aligns(tunit.san.table.for_decl(td, tunit.san.lines), tunit, td)
        info = _TInfo(base.size, base.align, name, base.nested, base.pointer,
                      base.flexible, base.unsigned, base.user_align)
        if align is not None:           # a typedef's aligned() sets, not raises
            info.align, info.user_align = align, True
        return info

    def _enum_info(self, node: c_ast.Enum, unit: Unit) -> _TInfo:
        if node.values is None:
            if ("enum", node.name) not in self.env.tags:
                raise self._err(node, f"enum {node.name} is declared but never defined")
            node, unit = self.env.tags[("enum", node.name)]
        values = self._enum(node, unit).values() or [0]
        lo, hi = min(values), max(values)
        packed, _ = self._attr_aligns(unit.san.table.for_type(node, unit.san.lines),
                                      unit, node)
        for size in ((1, 2, 4, 8) if packed else (4, 8)):
            bits = size * 8
            if (lo >= 0 and hi < 1 << bits) or (-(1 << bits - 1) <= lo and hi < 1 << bits - 1):
                a = self.abi.scalar("long long")[1] if size == 8 else size
                return _TInfo(size, a, spell(node), unsigned=lo >= 0)
        raise self._err(node, f"enum {node.name} has values beyond 64 bits")

    # aggregates ----------------------------------------------------------
    def _aggregate(self, node, unit: Unit, name: str) -> StructLayout:
        lines, table = unit.san.lines, unit.san.table
        if table.pragmas:
            f, ln, text = table.pragmas[0]
            raise self._err(node, f"{text} at {f}:{ln} is not modelled", "no #pragma pack")
        is_union = isinstance(node, c_ast.Union)
        t_packed, t_align = self._attr_aligns(table.for_type(node, lines), unit, node)
        bitpos, max_align, members = 0, 1, []
        for decl in node.decls:
            if not isinstance(decl, c_ast.Decl):
                continue
            anonymous = decl.name is None and isinstance(decl.type, (c_ast.Struct, c_ast.Union))
            if decl.name is None and not anonymous and decl.bitsize is None:
                continue                # a nested tag declaration, not a member
            if anonymous and decl.type.name:
                continue                # `struct tag {...};` inside: not a member in C11
            ti = self._info(decl.type, unit)
            d_packed, d_align = self._attr_aligns(table.for_decl(decl, lines), unit,
                                                  decl, decl.align)
            packed = t_packed or d_packed
            align = 1 if packed else ti.align
            if d_align is not None:
                align = max(align, d_align)
            if decl.bitsize is not None:
                width = self._eval(decl.bitsize, unit)
                if is_union:
                    start = 0
                elif width == 0:
                    start = _round(bitpos, ti.align * 8)
                elif not packed and (bitpos % (ti.align * 8) + width + ti.align * 8 - 1) \
                        // (ti.align * 8) > ti.size // ti.align:
                    start = _round(bitpos, ti.align * 8)
                else:
                    start = bitpos
                if decl.name is not None or self.abi.unnamed_bitfield_align:
                    max_align = max(max_align, align)
                if decl.name is not None:
                    members.append(MemberLayout(decl.name, ti.spelling, start // 8, ti.size,
                                                align, start, width))
                end = start + width
                if is_union:
                    end = _round(width, 8)
                bitpos = max(bitpos, end) if is_union else end
                continue
            start = 0 if is_union else _round(_round(bitpos, 8) // 8, align)
            max_align = max(max_align, align)
            members.append(MemberLayout(decl.name, ti.spelling, start, ti.size, align,
                                        nested=ti.nested, pointer=ti.pointer,
                                        flexible=ti.flexible))
            bitpos = max(bitpos, (start + ti.size) * 8)
        align = max(max_align, t_align or 1)
        size = _round(_round(bitpos, 8) // 8, align)
        coord = node.coord
        return StructLayout(name, "union" if is_union else "struct", size, align,
                            tuple(members), tuple(_holes(members, size, is_union)),
                            self.abi.name, coord.file if coord else "",
                            coord.line if coord else 0, t_packed)


def _holes(members: list[MemberLayout], size: int, is_union: bool) -> list[Hole]:
    out, cursor, prev = [], 0, None
    for m in sorted(members, key=lambda m: (m.offset, m.bit_offset or 0)):
        if m.bit_size is not None:
            start, end = m.bit_offset // 8, (m.bit_offset + m.bit_size + 7) // 8
        else:
            start, end = m.offset, m.offset + m.size
        if not is_union and start > cursor:
            out.append(Hole(cursor, start - cursor, prev))
        cursor = max(cursor, end)
        prev = m.name or prev
    if size > cursor:
        out.append(Hole(cursor, size - cursor, prev))
    return out
