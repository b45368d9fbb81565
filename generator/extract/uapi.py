"""uAPI extraction: structs and unions, #define constants, capability numbers
and ioctl definitions from the `include/uapi` hunks of a patch.

Structs are parsed with pycparser through cparse's kernel prelude; ioctl
numbers are encoded as arm64 does (asm-generic/ioctl.h).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from pycparser import c_ast

from generator import cparse
from generator.ingest import LineKind, Patch
from generator.model import (Capability, Constant, Finding, FindingKind, IocDir,
                     Ioctl, Member, Source, StructDef)
from generator.abi.errors import AbiError
from generator.abi.spec import arm64_layouts
from generator.extract.consts import Macro, evaluate
from generator.model.vocab import Vocabulary

_DIRECTIVE = re.compile(r'^\s*#\s*(\w*)')
_DIRECTIVES = {"define", "undef", "if", "ifdef", "ifndef", "elif", "else", "endif", "include",
               "pragma", "error", "warning", "line"}
_NOT_C = re.compile(r'[#@$`\\]|[^\x00-\x7f]')   # outside a macro body's C (bar strings)
# a define _DEFINE does not read that is still well formed: a guard, a macro
_DEFINE_OTHER = re.compile(r'^\s*#\s*define\s+[A-Za-z_]\w*(?:\(|\s*(?:/\*.*)?$)')
_DEFINE = re.compile(r'^\s*#\s*define\s+([A-Za-z_]\w*)\s+(.+?)\s*(?:/\*.*)?$')
_DEFINE_FN = re.compile(r'^\s*#\s*define\s+([A-Za-z_]\w*)\(([^)]*)\)\s+(.+?)\s*(?:/\*.*)?$')
_IOC = re.compile(r'^(_IO|_IOR|_IOW|_IOWR)\s*\(\s*([A-Za-z_]\w*|0x[0-9a-fA-F]+)\s*,'
                  r'\s*(0x[0-9a-fA-F]+|\d+)\s*(?:,\s*(.+?))?\s*\)$')
_STRUCT_START = re.compile(r'^\s*(struct|union)\s+([A-Za-z_]\w*)\s*\{')
_STRUCT_END = re.compile(r'^\s*}\s*;')
# bytes of the scalar types an ioctl may take (`_IOW(KVMIO, 0xc2, int)`), on arm64
SCALAR_SIZES = {"int": 4, "unsigned int": 4, "long": 8, "unsigned long": 8, "__u8": 1,
                "__s8": 1, "__u16": 2, "__s16": 2, "__u32": 4, "__s32": 4, "__u64": 8,
                "__s64": 8}


@dataclass
class UapiResult:
    structs: list[StructDef]
    constants: list[Constant]
    capabilities: list[Capability]
    ioctls: list[Ioctl]
    findings: list[Finding]
    macros: dict = field(default_factory=dict)    # function-like: name -> Macro
    partial: list[StructDef] = None


def joined_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """(first seed line, text) with each backslash-continued line joined to
    the next, as the preprocessor reads them."""
    out: list[tuple[int, str]] = []
    pending: Optional[tuple[int, str]] = None
    for no, t in lines:
        if pending is not None:
            no, t = pending[0], pending[1] + " " + t.strip()
            pending = None
        if t.rstrip().endswith("\\"):
            pending = (no, t.rstrip()[:-1].rstrip())
            continue
        out.append((no, t))
    if pending is not None:
        out.append(pending)
    return out


def partial_structs(patch: Patch, seed: str, defined: set[str]) -> list[StructDef]:
    """Structs a uAPI hunk changes inside (its section line is `struct NAME {`)
    without adding them whole: the members the hunk's new side shows,
    from the hunk's first line to the struct's `};` or the hunk's end.  A
    hunk that starts inside a nested struct (its braces close before a
    `};`) shows no member paths one can trust: none is taken from it."""
    out: list[StructDef] = []
    seen = set(defined)
    files = sorted((f for f in patch.files if "include/uapi/" in f.path),
                   key=lambda f: "arm64" not in f.path)       # arm64's own copy first
    for f in files:
        for h in f.hunks:
            m = _STRUCT_START.match(h.section or "")
            if m is None or m.group(2) in seen:
                continue
            block, depth = [], 1
            for ln in h.lines:
                if ln.kind is LineKind.DEL:
                    continue
                depth += ln.text.count("{") - ln.text.count("}")
                if depth < 1:
                    if _STRUCT_END.match(ln.text):
                        break
                    block = []                     # a nested struct's end: not placeable
                    break
                block.append((ln.seed_line, ln.text))
            if not block:
                continue
            head = (h.seed_line, f"{m.group(1)} {m.group(2)} {{")
            text, first = cparse.join_lines([head] + block + [(block[-1][0] + 1, "};")], seed)
            try:
                parsed = cparse.parse(text, seed, first)
            except cparse.CParseError:
                continue
            for node in parsed.ast.ext:
                t = getattr(node, "type", None)
                if isinstance(t, (c_ast.Struct, c_ast.Union)) and t.decls is not None:
                    out.append(StructDef(t.name, m.group(1),
                                         _members(t, seed, patch, f.path, dict(block)),
                                         _src(seed, patch, f.path, h.seed_line, h.section),
                                         header=f.path))
                    seen.add(t.name)
    return out


def _src(seed: str, patch: Patch, path: str, line: int, text: str) -> Source:
    return Source(seed, line, patch.label, path, text.strip())


def _members(node: c_ast.Node, seed: str, patch: Patch, path: str,
             texts: dict[int, str]) -> list[Member]:
    out: list[Member] = []
    for decl in node.decls or []:
        line = decl.coord.line if decl.coord else 0
        src = _src(seed, patch, path, line, texts.get(line, ""))
        typ = decl.type
        dims: list[int] = []
        while isinstance(typ, c_ast.ArrayDecl):
            dims.append(int(cparse.to_c(typ.dim), 0) if typ.dim is not None else 0)
            typ = typ.type
        if isinstance(typ, c_ast.TypeDecl) and isinstance(typ.type, (c_ast.Struct, c_ast.Union)) \
                and typ.type.decls is not None:
            agg = typ.type
            nested = StructDef(agg.name or "", "union" if isinstance(agg, c_ast.Union) else "struct",
                               _members(agg, seed, patch, path, texts), src)
            ctype = f"{nested.kind} {nested.name}".strip()
            out.append(Member(decl.name, ctype, src, dims, nested))
            continue
        if isinstance(typ, (c_ast.Struct, c_ast.Union)) and typ.decls is not None:
            nested = StructDef(typ.name or "", "union" if isinstance(typ, c_ast.Union) else "struct",
                               _members(typ, seed, patch, path, texts), src)
            out.append(Member(decl.name, nested.kind, src, dims, nested))
            continue
        ptr = 0
        while isinstance(typ, c_ast.PtrDecl):
            ptr += 1
            typ = typ.type
        inner = typ.type if isinstance(typ, c_ast.TypeDecl) else typ
        if isinstance(inner, c_ast.IdentifierType):
            base = " ".join(inner.names)
        elif isinstance(inner, (c_ast.Struct, c_ast.Union, c_ast.Enum)):
            base = f"{type(inner).__name__.lower()} {inner.name}"
        else:
            base = cparse.to_c(inner)
        out.append(Member(decl.name, base + (" " + "*" * ptr if ptr else ""), src, dims,
                          user_pointer=bool(ptr) and "__user" in texts.get(line, "")))
    return out


def _struct_blocks(lines: list[tuple[int, str]]):
    """Yield (start index, end index) of brace-balanced struct definitions."""
    i = 0
    while i < len(lines):
        if _STRUCT_START.match(lines[i][1]):
            depth, j = 0, i
            while j < len(lines):
                depth += lines[j][1].count("{") - lines[j][1].count("}")
                if depth <= 0 and "}" in lines[j][1]:
                    break
                j += 1
            yield i, min(j, len(lines) - 1)
            i = j + 1
        else:
            i += 1


def extract_uapi(patch: Patch, seed: str, voc: Vocabulary,
                 known_structs: list[StructDef]) -> UapiResult:
    """The uAPI a patch adds.  `known_structs` holds the structs of the
    patches before it (ioctl sizes may name them) and grows by this
    patch's; sizes come from the one layout engine (generator.abi)."""
    res = UapiResult([], [], [], [], [])
    # mainline's function-like uAPI macros (KVM_REG_ARM_FW_REG(r)), the patch's over them
    res.macros.update({k: Macro(*v) for k, v in voc.macros.items()})
    defines: list[tuple[int, str, str, str]] = []
    for f in patch.files:
        if "include/uapi/" not in f.path:
            continue
        for h in f.hunks:
            added = [(l.seed_line, l.text) for l in h.lines if l.kind is LineKind.ADD]
            for s, e in _struct_blocks(added):
                block = added[s:e + 1]
                text, first = cparse.join_lines(block, seed)
                try:
                    parsed = cparse.parse(text, seed, first)
                except cparse.CParseError as err:
                    res.findings.append(Finding(FindingKind.PARSE_ERROR, err.message,
                                                _src(seed, patch, f.path, err.line, "")))
                    continue
                for node in parsed.ast.ext:
                    t = getattr(node, "type", None)
                    if isinstance(t, (c_ast.Struct, c_ast.Union)) and t.decls is not None:
                        res.structs.append(StructDef(
                            t.name, "union" if isinstance(t, c_ast.Union) else "struct",
                            _members(t, seed, patch, f.path, dict(block)),
                            _src(seed, patch, f.path, block[0][0], block[0][1]),
                            text="\n".join(x for _, x in block), header=f.path))
            for no, t in joined_lines(added):
                fm = _DEFINE_FN.match(t)
                if fm:                   # KVM_REG_ARM_FW_FEAT_BMAP_REG(r): expanded where called
                    res.macros[fm.group(1)] = Macro(
                        tuple(p.strip() for p in fm.group(2).split(",") if p.strip()),
                        fm.group(3).strip())
                    continue
                m = _DEFINE.match(t)
                if m:
                    defines.append((no, m.group(1), m.group(2).strip(), f.path))
                elif (d := _DIRECTIVE.match(t)) and (d.group(1) not in _DIRECTIVES or (
                        d.group(1) == "define" and not _DEFINE_OTHER.match(t))):
                    res.findings.append(Finding(
                        FindingKind.DAMAGE,
                        f"`{t.strip()}` in {f.path} does not read as a preprocessor directive (a damaged "
                        "`#define`?); whatever it defined is not in this spec",
                        _src(seed, patch, f.path, no, t.strip())))
    known_structs.extend(res.structs)
    res.partial = partial_structs(patch, seed, {s.name for s in known_structs})
    known_sizes: dict[str, int] = dict(SCALAR_SIZES)
    try:
        known_sizes.update({k: lay.size for k, lay in arm64_layouts(known_structs, seed).items()})
    except AbiError as err:
        first = res.structs[0].source if res.structs else _src(seed, patch, "", 0, "")
        res.findings.append(Finding(FindingKind.PARSE_ERROR,
                                    f"struct layout on arm64 failed: {err}", first))
    consts = {c: t.value for c, t in voc.constants.items() if t.value is not None}
    for c in enum_additions(patch, seed, consts, res.macros, res.findings):
        res.constants.append(c)
        consts[c.name] = c.value
    enumerators = {c.name for c in res.constants}
    for no, name, expr, path in defines:
        if expr == name and name in enumerators:   # `#define KVM_DEV_TYPE_X KVM_DEV_TYPE_X`
            continue
        src = _src(seed, patch, path, no, f"#define {name} {expr}")
        m = _IOC.match(expr)
        if m:
            macro, typ, nr, arg = m.groups()
            tval = int(typ, 0) if typ.startswith("0x") else consts.get(typ)
            if tval is None:
                res.findings.append(Finding(FindingKind.PARSE_ERROR,
                                            f"{name}: ioctl type {typ} has no known value", src))
                continue
            arg = (arg or "").strip()
            size = known_sizes.get(arg, 0) if arg else 0
            if arg and arg not in known_sizes:
                res.findings.append(Finding(FindingKind.NOTE,
                                            f"{name}: size of {arg} unknown (not defined in this patch)", src))
            d = IocDir(macro)
            number = (d.bits << 30) | (size << 16) | (tval << 8) | int(nr, 0)
            res.ioctls.append(Ioctl(name, d, typ, tval, int(nr, 0), arg, size, number, src))
            continue
        value = evaluate(expr, consts, res.macros)
        if value is None and _NOT_C.search(expr):
            res.findings.append(Finding(FindingKind.DAMAGE,
                                        f"`#define {name} {expr}` has characters no C "
                                        "expression has (a damaged line?); left out", src))
            continue
        if value is None:
            res.findings.append(Finding(FindingKind.NOTE,
                                        f"{name} = {expr} is not an integer constant expression "
                                        "over known constants; left out", src))
            continue
        if name.startswith("KVM_CAP_"):
            res.capabilities.append(Capability(name, value, src))
        res.constants.append(Constant(name, value, expr, src, path))
        consts[name] = value
    return res


_ENUM_OPEN = re.compile(r'^\s*enum\s+(\w+)\s*\{')
_ENUMERATOR = re.compile(r'^\s*([A-Za-z_]\w*)\s*(?:=\s*([^,/]+?))?\s*,?\s*(?:/\*.*)?$')


def enum_additions(patch: Patch, seed: str, consts: dict, macros: dict,
                   findings: list[Finding]) -> list[Constant]:
    """Enumerators a patch adds to a uAPI enum (`+\tKVM_DEV_TYPE_ARM_PV_TIME,`
    in `enum kvm_device_type`): each is its `= value`, else the enumerator
    before it plus one, where that one's value is the patch's or mainline's
    (the vocabulary's constants); one whose value cannot be known so is a
    finding, never a guess."""
    out: list[Constant] = []
    for f in patch.files:
        if "include/uapi/" not in f.path:
            continue
        for h in f.hunks:
            m = _ENUM_OPEN.match(h.section or "")
            inside = m.group(1) if m else ""
            prev: tuple[str, int | None] = ("", None)
            for l in h.lines:
                if l.kind is LineKind.DEL:
                    continue
                t = l.text
                if (o := _ENUM_OPEN.match(t)):
                    inside, prev = o.group(1), ("", None)
                    continue
                if not inside:
                    continue
                if t.strip().startswith("}"):
                    inside = ""
                    continue
                e = _ENUMERATOR.match(t)
                if e is None or t.lstrip().startswith("#"):
                    continue
                name, expr = e.group(1), (e.group(2) or "").strip()
                if expr:
                    value = evaluate(expr, consts, macros)
                elif prev[0]:
                    value = None if prev[1] is None else prev[1] + 1
                else:
                    value = None
                if l.kind is LineKind.ADD and not name.endswith("_MAX"):
                    src = _src(seed, patch, f.path, l.seed_line, t.strip())
                    if value is None:
                        findings.append(Finding(
                            FindingKind.NOTE,
                            f"{name}: an enumerator added to enum {inside} whose value is not "
                            f"known ({prev[0] or 'no enumerator'} before it has none the "
                            "patch or the vocabulary gives); left out", src))
                    else:
                        out.append(Constant(name, value, expr or f"{prev[0]} + 1", src, f.path,
                                            enum=inside))
                if l.kind is not LineKind.ADD:       # mainline's enumerator: its known value
                    value = consts.get(name, value)
                prev = (name, value)
    return out


def header_constants(patches: list[Patch], seed: str, names: set[str],
                     known: dict[str, int], vocab_macros=None) -> list[Constant]:
    """The kernel-internal constants a check names that a patch defines in a
    header outside include/uapi (`#define KVM_ARM_SMCCC_STD_FEATURES
    GENMASK(KVM_REG_ARM_STD_BMAP_BIT_MAX, 0)` in include/kvm/arm_hypercalls.h)
    or in a C file (`#define FOO_MODE GENMASK(7, 4)` above its handler):
    each one evaluated over the constants known and the macros of the
    patch's headers; one that is no integer constant is left out."""
    objects: dict[str, tuple[int, str, str, Patch]] = {}
    macros: dict[str, Macro] = dict(vocab_macros or {})
    for p in patches:
        for f in p.files:
            if not f.path.endswith((".h", ".c")):
                continue
            for h in f.hunks:
                added = [(l.seed_line, l.text) for l in h.lines if l.kind is LineKind.ADD]
                for no, t in joined_lines(added):
                    fm = _DEFINE_FN.match(t)
                    if fm:
                        macros.setdefault(fm.group(1), Macro(
                            tuple(a.strip() for a in fm.group(2).split(",") if a.strip()),
                            fm.group(3).strip()))
                    elif (m := _DEFINE.match(t)):
                        objects.setdefault(m.group(1), (no, m.group(2).strip(), f.path, p))
    scope = dict(known)
    for name, (_, expr, _, _) in objects.items():      # the patch's own constants first
        v = evaluate(expr, scope, macros)
        if v is not None:
            scope.setdefault(name, v)
    out = []
    for name in sorted(names):
        if name in known or name not in objects:
            continue
        no, expr, path, p = objects[name]
        value = scope.get(name)
        if value is None:
            value = evaluate(expr, scope, macros)
        if value is None:
            continue
        out.append(Constant(name, value, expr,
                            _src(seed, p, path, no, f"#define {name} {expr}"), path))
    return out


_BIT_MACROS = {"FIELD_GET", "FIELD_PREP", "FIELD_FIT", "GENMASK", "GENMASK_ULL", "BIT",
               "BIT_ULL", "IS_ALIGNED", "ALIGN"}


def operand_names(condition: str) -> set[str]:
    """The upper-case identifiers a condition computes with: not those a
    call takes (`test_bit(KVM_ARCH_FLAG_X, ...)`: a vocabulary predicate's
    argument, no number userspace sees)."""
    try:
        node = cparse.parse_expr(condition)
    except cparse.CParseError:
        return set()
    out: set[str] = set()

    class V(c_ast.NodeVisitor):
        def visit_ID(self, n):
            if re.fullmatch(r"[A-Z][A-Z0-9_]*", n.name):
                out.add(n.name)

        def visit_FuncCall(self, n):
            # the kernel's bit macros compute with their arguments
            # (`FIELD_GET(FOO_MODE, x)`); another call's arguments are its own
            if isinstance(n.name, c_ast.ID) and n.name.name in _BIT_MACROS and n.args:
                for a in n.args.exprs:
                    self.visit(a)

        def visit_StructRef(self, n):
            self.visit(n.name)
    V().visit(node)
    return out
