"""Spec mode: the uAPI a patch series adds, checked on all four ABIs and
against the installed headers.

  1. lay out every spec struct on arm64, arm, x86-64 and i386 (types the
     spec does not define come from the headers, when a tree is given);
  2. implicit padding, and layouts that differ between a 64-bit ABI and its
     32-bit compat ABI;
  3. pointer members: fine when a union gives them a fixed-width companion
     (said so, with what the struct would look like without it), a finding
     when they change the layout on a 32-bit ABI;
  4. ioctls: the encoded `_IOC_SIZE` against sizeof, the number against the
     encoding of direction/type/nr, and compat request numbers;
  5. capabilities, constants and ioctls against the headers' `#define`s:
     different values, and the patch's numbers already used by other names.
"""
from __future__ import annotations

import copy
import enum
import time
from dataclasses import dataclass, field

from pycparser import c_ast

from generator.model import Source, Spec, StructDef
from generator.abi.abis import ABIS, Abi
from generator.abi.defines import Define, decode_ioctl, encode_ioctl, header_defines
from generator.abi.errors import AbiError
from generator.abi.layout import Layouter, StructLayout, TypeEnv
from generator.abi.unit import Unit, parse_unit, preprocess_fragment, preprocess_headers

HEADERS = ("linux/kvm.h", "asm/kvm.h")
PAIRS = (("arm64", "arm"), ("x86_64", "i386"))


class Severity(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class FindingKind(enum.Enum):
    LAYOUT_ERROR = "layout_error"
    HOLE = "hole"
    COMPAT_LAYOUT = "compat_layout"
    POINTER_FIXED = "pointer_fixed"
    POINTER_UNFIXED = "pointer_unfixed"
    IOCTL_SIZE = "ioctl_size"
    IOCTL_NUMBER = "ioctl_number"
    IOCTL_COMPAT = "ioctl_compat"
    IOCTL_COLLISION = "ioctl_collision"
    VALUE_DIFFERS = "value_differs"
    NUMBER_COLLISION = "number_collision"
    NOT_IN_HEADERS = "not_in_headers"


@dataclass(frozen=True)
class AbiFinding:
    kind: FindingKind
    severity: Severity
    subject: str              # struct, ioctl, capability or constant name
    message: str
    source: Source | None = None

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.severity.value}: {self.message}"

    def to_json(self) -> dict:
        return {"kind": self.kind.value, "severity": self.severity.value,
                "subject": self.subject, "message": self.message,
                "source": str(self.source) if self.source else None}


@dataclass
class AbiReport:
    spec: str
    layouts: dict[str, dict[str, StructLayout]] = field(default_factory=dict)
    findings: list[AbiFinding] = field(default_factory=list)
    headers: str = ""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def of(self, kind: FindingKind) -> list[AbiFinding]:
        return [f for f in self.findings if f.kind is kind]

    def to_json(self) -> dict:
        return {"mode": "spec", "spec": self.spec, "headers": self.headers,
                "elapsed": round(self.elapsed, 3), "ok": self.ok,
                "structs": {name: {abi: {"size": lay.size, "align": lay.align,
                                         "members": [{"path": fm.path, "offset": fm.offset,
                                                      "size": fm.member.size}
                                                     for fm in lay.flatten()],
                                         "holes": [{"offset": h.offset, "size": h.size,
                                                    "after": h.after}
                                                   for h in lay.all_holes()]}
                                   for abi, lay in per.items()}
                            for name, per in self.layouts.items()},
                "findings": [f.to_json() for f in self.findings]}


# ---------------------------------------------------------------- parsing
def struct_text(sd: StructDef) -> str:
    """The C declaration of a spec struct: its text, or one built from members."""
    text = sd.text.strip()
    if not text:
        text = _render(sd) + ";"
    return text if text.endswith(";") else text + ";"


def _render(sd: StructDef, indent: str = "") -> str:
    lines = [f"{sd.kind} {sd.name} {{".replace("  ", " ")]
    for m in sd.members:
        if m.nested is not None:
            body = _render(m.nested, indent + "\t")
            lines.append(f"{indent}\t{body} {m.name or ''};".replace(" ;", ";"))
            continue
        dims = "".join(f"[{n}]" for n in m.array)
        ctype = m.ctype.replace("*", "__user *") if m.user_pointer else m.ctype
        sep = "" if ctype.endswith("*") else " "
        lines.append(f"{indent}\t{ctype}{sep}{m.name}{dims};")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def structs_unit(structs: list[StructDef], name: str) -> Unit:
    """The structs as one parsed unit, each at its own seed line."""
    parts = [f'#line {sd.source.line} "{sd.source.seed}"\n{struct_text(sd)}\n'
             for sd in structs]
    return parse_unit(preprocess_fragment("".join(parts), name), name)


def spec_unit(spec: Spec) -> Unit:
    return structs_unit(spec.structs, spec.seed or spec.name)


def arm64_layouts(structs: list[StructDef], name: str) -> dict[str, StructLayout]:
    """`struct X` -> its layout on arm64, by the proven engine (the one
    layout engine every stage uses: extraction for ioctl sizes, the diff
    for field offsets, the ABI check).  Raises AbiError (with the seed
    line) when a struct cannot be laid out."""
    if not structs:
        return {}
    engine = Layouter(TypeEnv([structs_unit(structs, name)]), ABIS["arm64"])
    return {f"{sd.kind} {sd.name}": engine.layout(f"{sd.kind} {sd.name}")
            for sd in structs if sd.name}


class _Engines:
    """One Layouter per ABI over the spec's unit, then the headers' unit."""

    def __init__(self, spec: Spec, headers_dir: str | None):
        self.unit = spec_unit(spec)
        self.headers_dir = headers_dir
        self.header_units: dict[str, Unit] = {}
        self.engines: dict[str, Layouter] = {}
        for name, abi in ABIS.items():
            units = [self.unit]
            hu = self._headers_unit(abi)
            if hu is not None:
                units.append(hu)
            self.engines[name] = Layouter(TypeEnv(units), abi)

    def _headers_unit(self, abi: Abi) -> Unit | None:
        if not self.headers_dir:
            return None
        try:
            unit = parse_unit(preprocess_headers(list(HEADERS), self.headers_dir, abi),
                              self.headers_dir)
        except AbiError:
            return None
        self.header_units[abi.name] = unit
        return unit


# ---------------------------------------------------------------- the check
def check_spec(spec: Spec, headers_dir: str | None = None) -> AbiReport:
    t0 = time.monotonic()
    report = AbiReport(spec.name, headers=headers_dir or "")
    eng = _Engines(spec, headers_dir)
    for sd in spec.structs:
        per: dict[str, StructLayout] = {}
        for name, engine in eng.engines.items():
            try:
                per[name] = engine.layout(f"{sd.kind} {sd.name}")
            except AbiError as e:
                report.findings.append(AbiFinding(
                    FindingKind.LAYOUT_ERROR, Severity.ERROR, sd.name,
                    f"{sd.kind} {sd.name} cannot be laid out on {name}: {e}", sd.source))
        report.layouts[sd.name] = per
        if len(per) == len(ABIS):
            report.findings += _holes(sd, per) + _compat(sd, per) + _pointers(sd, per, eng)
    report.findings += _ioctls(spec, report.layouts, eng)
    if headers_dir:
        hu = eng.header_units.get("arm64")
        defines = header_defines(headers_dir, ABIS["arm64"], HEADERS, hu) if hu else {}
        report.findings += _against_headers(spec, defines)
    report.elapsed = time.monotonic() - t0
    return report


def _holes(sd: StructDef, per: dict[str, StructLayout]) -> list[AbiFinding]:
    seen: dict[tuple, list[str]] = {}
    for abi, lay in per.items():
        for h in lay.all_holes():
            seen.setdefault((h.offset, h.size, h.after, h.inside), []).append(abi)
    out = []
    for (off, size, after, inside), abis in seen.items():
        where = f"after `{after}`" if after else "at the start"
        inside = f" inside `{inside}`" if inside else ""
        out.append(AbiFinding(
            FindingKind.HOLE, Severity.WARNING, sd.name,
            f"{sd.kind} {sd.name} has {size} byte{'s' * (size != 1)} of implicit padding "
            f"{where}{inside} at offset {off} on {', '.join(abis)}: name it "
            f"(e.g. `__u8 pad[{size}]`) so userspace zeroes it", sd.source))
    return out


def _describe_diff(a: StructLayout, b: StructLayout) -> str:
    """How layout `a` differs from `b` (same declaration, two ABIs).  A member
    narrower on one ABI inside a union that is as large on both (a pointer
    beside a __u64) is not a difference: the storage is the same."""
    parts = []
    if a.size != b.size:
        parts.append(f"{a.size} bytes on {a.abi} but {b.size} on {b.abi}")
    _diff_members(a, b, 0, 0, "", False, parts)
    return "; ".join(parts)


def _diff_members(a, b, base_a, base_b, prefix, same_union, parts) -> None:
    for ma, mb in zip(a.members, b.members):
        path = prefix + (ma.name or "")
        oa, ob = base_a + ma.offset, base_b + mb.offset
        if ma.name and oa != ob:
            parts.append(f"`{path}` at {oa} instead of {ob}")
        if ma.nested is not None and mb.nested is not None:
            fixed = ma.nested.kind == "union" and ma.size == mb.size
            _diff_members(ma.nested, mb.nested, oa, ob, f"{path}." if ma.name else prefix,
                          fixed or (same_union and ma.size == mb.size), parts)
        elif ma.size != mb.size and not same_union:
            parts.append(f"`{path}` {ma.size} bytes wide instead of {mb.size}")


def _compat(sd: StructDef, per: dict[str, StructLayout]) -> list[AbiFinding]:
    out = []
    for wide, narrow in PAIRS:
        diff = _describe_diff(per[wide], per[narrow])
        if diff:
            out.append(AbiFinding(
                FindingKind.COMPAT_LAYOUT, Severity.ERROR, sd.name,
                f"{sd.kind} {sd.name} differs between {wide} and its compat ABI "
                f"{narrow}: {diff}; 32-bit userspace needs a compat translation",
                sd.source))
    return out


def _pointers(sd: StructDef, per: dict[str, StructLayout], eng: _Engines) -> list[AbiFinding]:
    out = []
    node, unit = eng.engines["arm64"].env.find(f"{sd.kind} {sd.name}")
    for path, ptr, companion, union_decl in _pointer_members(node):
        if companion is not None:
            sizes = {lay.size for lay in per.values()}
            size_text = (f"is {sizes.pop()} bytes on every ABI" if len(sizes) == 1 else
                         "is " + ", ".join(f"{l.size} bytes on {a}" for a, l in per.items()))
            without = _without_union(node, union_decl, ptr, unit, eng, per)
            out.append(AbiFinding(
                FindingKind.POINTER_FIXED, Severity.INFO, sd.name,
                f"pointer `{path}` shares a union with `{companion}`, so {sd.kind} "
                f"{sd.name} {size_text} and compat userspace needs no translation; "
                f"without the union, {without}", sd.source))
        else:
            out.append(AbiFinding(
                FindingKind.POINTER_UNFIXED, Severity.ERROR, sd.name,
                f"pointer `{path}` in {sd.kind} {sd.name} is {ABIS['arm64'].pointer} "
                f"bytes on arm64 but {ABIS['arm'].pointer} on arm and i386, so compat "
                f"userspace sees another layout: declare it __u64 or put it in a union "
                f"with a __u64", sd.source))
    return out


def _pointer_members(node, prefix: str = "", union=None):
    """(path, pointer Decl, fixed-width companion or None, union Decl)."""
    for decl in node.decls or ():
        t = decl.type
        if isinstance(t, (c_ast.Struct, c_ast.Union)) and decl.name is None:
            yield from _pointer_members(t, prefix, decl if isinstance(t, c_ast.Union) else None)
        elif isinstance(t, c_ast.TypeDecl) and isinstance(t.type, (c_ast.Struct, c_ast.Union)) \
                and t.type.decls is not None:
            yield from _pointer_members(t.type, f"{prefix}{decl.name}.",
                                        decl if isinstance(t.type, c_ast.Union) else None)
        elif isinstance(t, c_ast.PtrDecl):
            companion = None
            if union is not None:
                for other in union.type.decls if union.name is None else union.type.type.decls:
                    ot = other.type
                    if isinstance(ot, c_ast.TypeDecl) and \
                            isinstance(ot.type, c_ast.IdentifierType) and \
                            ot.type.names[-1] in ("__u64", "__s64", "u64", "__aligned_u64",
                                                  "unsigned long long", "long long"):
                        companion = f"{' '.join(ot.type.names)} {other.name}"
            yield f"{prefix}{decl.name}", decl, companion, union


def _without_union(node, union_decl, ptr_decl, unit, eng, per) -> str:
    """What each 32-bit ABI would see with the pointer in the union's place."""
    twin = copy.deepcopy(node)
    container = _find_parent(twin, union_decl.coord)
    if container is None:
        return "the layout could not be recomputed"
    i = next(i for i, d in enumerate(container.decls) if d.coord == union_decl.coord)
    container.decls[i] = copy.deepcopy(ptr_decl)
    said = []
    for wide, narrow in PAIRS:
        lay = eng.engines[narrow].layout_node(twin, unit, node.name)
        if lay.size != per[narrow].size:
            now = {fm.path: fm.offset for fm in per[narrow].flatten()}
            diff = "; ".join(f"`{fm.path}` at {fm.offset} instead of {now[fm.path]}"
                             for fm in lay.flatten()
                             if fm.path in now and now[fm.path] != fm.offset)
            said.append(f"{narrow} would see {lay.size} bytes instead of "
                        f"{per[narrow].size}" + (f" ({diff})" if diff else ""))
        else:
            said.append(f"{narrow} would see the same {lay.size} bytes but "
                        f"`{ptr_decl.name}` would be {ABIS[narrow].pointer} bytes wide")
    return ", ".join(said)


def _find_parent(node, coord):
    for d in node.decls or ():
        if d.coord == coord:
            return node
        t = d.type.type if isinstance(d.type, c_ast.TypeDecl) else d.type
        if isinstance(t, (c_ast.Struct, c_ast.Union)) and t.decls is not None:
            found = _find_parent(t, coord)
            if found is not None:
                return found
    return None


# ---------------------------------------------------------------- ioctls
def _ioctls(spec: Spec, layouts, eng: _Engines) -> list[AbiFinding]:
    out = []
    for io in spec.ioctls:
        if not io.arg_type:
            continue
        sizes = {}
        for name, engine in eng.engines.items():
            try:
                sizes[name] = engine.sizeof(io.arg_type)
            except AbiError as e:
                out.append(AbiFinding(FindingKind.LAYOUT_ERROR, Severity.ERROR, io.name,
                                      f"{io.name}: sizeof({io.arg_type}) unknown on {name}: {e}",
                                      io.source))
        if "arm64" not in sizes:
            continue
        size = sizes["arm64"]
        expect = encode_ioctl(io.direction.bits, size, io.type_value, io.nr)
        _, enc_size, _, _ = decode_ioctl(io.number)
        if io.size != size:
            out.append(AbiFinding(FindingKind.IOCTL_SIZE, Severity.ERROR, io.name,
                                  f"{io.name}: the spec says sizeof({io.arg_type}) is {io.size} "
                                  f"but it is {size} on arm64", io.source))
        if enc_size != size:
            out.append(AbiFinding(FindingKind.IOCTL_SIZE, Severity.ERROR, io.name,
                                  f"{io.name}: _IOC_SIZE({io.number:#x}) is {enc_size} but "
                                  f"sizeof({io.arg_type}) is {size} on arm64", io.source))
        if io.number != expect:
            out.append(AbiFinding(FindingKind.IOCTL_NUMBER, Severity.ERROR, io.name,
                                  f"{io.name} is {io.number:#x} in the spec but "
                                  f"{io.direction.value}({io.type_expr}, {io.nr:#x}, "
                                  f"{io.arg_type}) encodes to {expect:#x}", io.source))
        for wide, narrow in PAIRS:
            if wide in sizes and narrow in sizes and sizes[wide] != sizes[narrow]:
                n32 = encode_ioctl(io.direction.bits, sizes[narrow], io.type_value, io.nr)
                n64 = encode_ioctl(io.direction.bits, sizes[wide], io.type_value, io.nr)
                out.append(AbiFinding(
                    FindingKind.IOCTL_COMPAT, Severity.ERROR, io.name,
                    f"{io.name} is {n64:#x} on {wide} but {n32:#x} from {narrow} userspace "
                    f"(sizeof {sizes[wide]} vs {sizes[narrow]}): the kernel needs a "
                    "compat_ioctl entry", io.source))
    return out


def _against_headers(spec: Spec, defines: dict[str, Define]) -> list[AbiFinding]:
    out = []

    def where(d: Define) -> str:
        return f"{d.file}:{d.line}"

    for cap in spec.capabilities:
        _compare_value(out, cap.name, cap.number, cap.source, defines, "KVM_CAP_", where)
    caps = {c.name for c in spec.capabilities}
    for c in spec.constants:
        if c.name in caps:
            continue                   # already compared as a capability
        _compare_value(out, c.name, c.value, c.source, defines, None, where)
    ioctls = {d.name: d for d in defines.values() if d.is_ioctl}
    for io in spec.ioctls:
        _compare_value(out, io.name, io.number, io.source, ioctls, "", where, hexa=True)
        _, _, t, nr = decode_ioctl(io.number)
        for d in ioctls.values():
            if d.name != io.name and d.value != io.number and decode_ioctl(d.value)[2:] == (t, nr):
                out.append(AbiFinding(
                    FindingKind.IOCTL_COLLISION, Severity.INFO, io.name,
                    f"{io.name} shares type {t:#x} nr {nr:#x} with {d.name} "
                    f"({d.expr}, {where(d)}); the numbers differ ({io.number:#x} vs "
                    f"{d.value:#x}) so they do not collide", io.source))
    return out


def _compare_value(out, name, value, source, defines, family, where, hexa=False):
    fmt = (lambda v: f"{v:#x}") if hexa else str
    d = defines.get(name)
    if d is not None and d.value != value:
        out.append(AbiFinding(FindingKind.VALUE_DIFFERS, Severity.ERROR, name,
                              f"{name} is {fmt(value)} in the patch but {fmt(d.value)} in "
                              f"the headers ({where(d)})", source))
    elif d is None:
        out.append(AbiFinding(FindingKind.NOT_IN_HEADERS, Severity.INFO, name,
                              f"{name} is not in the installed headers (new in the patch)",
                              source))
    if family is None:
        return
    for other in defines.values():
        if other.name != name and other.value == value and other.name.startswith(family):
            out.append(AbiFinding(FindingKind.NUMBER_COLLISION, Severity.ERROR, name,
                                  f"the patch's number {fmt(value)} for {name} is used by "
                                  f"{other.name} in the headers ({where(other)})", source))


# ---------------------------------------------------------------- generated tests
def static_asserts(spec: Spec, headers_dir: str | None = None,
                   arch: str = "arm64") -> list[str]:
    """C11 `_Static_assert` lines pinning the spec's layout on `arch`: sizeof
    and _Alignof of every struct, offsetof of every named member (members of
    anonymous unions included, bitfields excepted: offsetof cannot name
    them), and `_IOC_SIZE(ioctl) == sizeof(arg)` for every ioctl.  They need
    <stddef.h> and <linux/ioctl.h>."""
    engine = _Engines(spec, headers_dir).engines[arch]
    out = []
    for sd in spec.structs:
        ctype = f"{sd.kind} {sd.name}"
        lay = engine.layout(ctype)
        where = f"{sd.source} on {arch}"
        out.append(f'_Static_assert(sizeof({ctype}) == {lay.size}, '
                   f'"sizeof({ctype}) is {lay.size} ({where})");')
        out.append(f'_Static_assert(_Alignof({ctype}) == {lay.align}, '
                   f'"_Alignof({ctype}) is {lay.align} ({where})");')
        for fm in lay.flatten():
            if fm.member.bit_size is not None:
                continue
            out.append(f'_Static_assert(offsetof({ctype}, {fm.path}) == {fm.offset}, '
                       f'"offsetof({ctype}, {fm.path}) is {fm.offset} ({where})");')
    for io in spec.ioctls:
        if io.arg_type:
            out.append(f'_Static_assert(_IOC_SIZE({io.name}) == sizeof({io.arg_type}), '
                       f'"_IOC_SIZE({io.name}) is sizeof({io.arg_type}) ({io.source})");')
    return out
