"""Ground truth from the real compilers: compile a probe that defines one
object of each aggregate (and a `char[_Alignof(T)]` array, so alignment is in
the debug information too) with `<cc> -g -c`, and read sizes, alignments and
member offsets back from DWARF with pyelftools.

The probe is the preprocessed text the engine parsed, plus the objects; a
compile error inside a declaration is reported with the compiler's own file
and line (`CompileFailed.errors`) so the caller can leave it out and retry.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass

from elftools.elf.elffile import ELFFile

from generator.abi.abis import Abi
from generator.abi.errors import DwarfError, ToolchainError
from generator.abi.layout import MemberLayout, StructLayout
from generator.abi.unit import compiler

PROBE_FILE = "<kconform-probe>"


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int
    message: str


class CompileFailed(ToolchainError):
    def __init__(self, abi: Abi, errors: list[Diagnostic], stderr: str):
        first = errors[0] if errors else Diagnostic(PROBE_FILE, 0, stderr.strip()[:300])
        super().__init__(first.file, first.line,
                         f"{abi.compiler} rejects the probe: {first.message}")
        self.errors = errors


_DIAG = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)? (?:fatal )?error: (?P<msg>.*)$",
                   re.M)


def probe_source(raw: str, ctypes: list[str | None]) -> str:
    """`raw` (preprocessed C) plus one object and one alignment array per type,
    on line i+1 of PROBE_FILE for type i (None leaves the line empty)."""
    out = [raw, f'\n# 1 "{PROBE_FILE}"\n']
    for i, ct in enumerate(ctypes):
        if ct is None:
            out.append("\n")
            continue
        out.append(f"{ct} __kc_obj_{i}; char __kc_align_{i}[_Alignof({ct})];\n")
    return "".join(out)


def compile_probe(source: str, abi: Abi, workdir: str | None = None) -> bytes:
    """Compile with `-g -c`; returns the object file's bytes."""
    with tempfile.TemporaryDirectory(prefix="kconform-abi-", dir=workdir) as tmp:
        src, obj = os.path.join(tmp, "probe.c"), os.path.join(tmp, "probe.o")
        with open(src, "w") as f:
            f.write(source)
        cmd = [compiler(abi), "-g", "-O0", "-c", "-w", "-std=gnu11",
               "-fno-eliminate-unused-debug-types", "-x", "c", src, "-o", obj]
        proc = subprocess.run(cmd, text=True, capture_output=True)
        if proc.returncode != 0:
            errors = [Diagnostic(m.group("file"), int(m.group("line")), m.group("msg"))
                      for m in _DIAG.finditer(proc.stderr)]
            raise CompileFailed(abi, errors, proc.stderr)
        with open(obj, "rb") as f:
            return f.read()


def read_layouts(obj: bytes, abi_name: str = "") -> dict[int, StructLayout]:
    """Layouts of the probe's objects, by their index in `probe_source`."""
    import io
    elf = ELFFile(io.BytesIO(obj))
    if not elf.has_dwarf_info():
        raise DwarfError("<probe.o>", 0, "the object has no DWARF", "compiled with -g")
    dw = elf.get_dwarf_info()
    objs: dict[int, StructLayout] = {}
    aligns: dict[int, int] = {}
    for cu in dw.iter_CUs():
        for die in cu.get_top_DIE().iter_children():
            if die.tag != "DW_TAG_variable" or "DW_AT_name" not in die.attributes:
                continue
            name = die.attributes["DW_AT_name"].value.decode()
            m = re.fullmatch(r"__kc_(obj|align)_(\d+)", name)
            if not m:
                continue
            t = die.get_DIE_from_attribute("DW_AT_type")
            if m.group(1) == "align":
                aligns[int(m.group(2))] = _type_size(t)
            else:
                agg = _strip(t)
                if agg.tag not in ("DW_TAG_structure_type", "DW_TAG_union_type"):
                    raise DwarfError("<probe.o>", 0, f"{name} is a {agg.tag}",
                                     "a struct or union")
                objs[int(m.group(2))] = _aggregate(agg, abi_name)
    return {i: StructLayout(lay.name, lay.kind, lay.size, aligns.get(i, 0), lay.members,
                            (), abi_name, lay.file, lay.line)
            for i, lay in objs.items()}


_QUALS = ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type",
          "DW_TAG_restrict_type", "DW_TAG_atomic_type")


def _strip(die):
    while die.tag in _QUALS and "DW_AT_type" in die.attributes:
        die = die.get_DIE_from_attribute("DW_AT_type")
    return die


def _type_size(die) -> int:
    die = _strip(die)
    if die.tag == "DW_TAG_array_type":
        n = 1
        for sub in die.iter_children():
            if sub.tag != "DW_TAG_subrange_type":
                continue
            if "DW_AT_count" in sub.attributes:
                n *= sub.attributes["DW_AT_count"].value
            elif "DW_AT_upper_bound" in sub.attributes:
                ub = sub.attributes["DW_AT_upper_bound"].value
                n *= ub + 1 if isinstance(ub, int) and ub < (1 << 62) else 0
            else:
                n = 0                    # flexible array member
        return n * _type_size(die.get_DIE_from_attribute("DW_AT_type"))
    if "DW_AT_byte_size" in die.attributes:
        return die.attributes["DW_AT_byte_size"].value
    raise DwarfError("<probe.o>", 0, f"{die.tag} at {die.offset:#x} has no size",
                     "DW_AT_byte_size")


def _spell(die) -> str:
    name = die.attributes.get("DW_AT_name")
    if name is not None:
        prefix = {"DW_TAG_structure_type": "struct ", "DW_TAG_union_type": "union ",
                  "DW_TAG_enumeration_type": "enum "}.get(die.tag, "")
        return prefix + name.value.decode()
    if die.tag == "DW_TAG_pointer_type":
        return "pointer"
    if die.tag == "DW_TAG_array_type":
        return _spell(die.get_DIE_from_attribute("DW_AT_type")) + "[]"
    if die.tag in _QUALS:
        return _spell(die.get_DIE_from_attribute("DW_AT_type"))
    return die.tag.replace("DW_TAG_", "").replace("_type", "") + " {...}"


def _location(member) -> int:
    loc = member.attributes.get("DW_AT_data_member_location")
    if loc is None:
        return 0
    if isinstance(loc.value, int):
        return loc.value
    if isinstance(loc.value, list) and loc.value and loc.value[0] == 0x23:
        value, shift = 0, 0                  # DW_OP_plus_uconst ULEB128
        for b in loc.value[1:]:
            value |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                break
        return value
    raise DwarfError("<probe.o>", 0, f"member location {loc.value!r}",
                     "a constant or DW_OP_plus_uconst")


def _aggregate(die, abi_name: str) -> StructLayout:
    members = []
    for m in die.iter_children():
        if m.tag != "DW_TAG_member":
            continue
        t = m.get_DIE_from_attribute("DW_AT_type")
        name = m.attributes["DW_AT_name"].value.decode() if "DW_AT_name" in m.attributes else None
        size = _type_size(t)
        bare = _strip(t)
        nested = None
        if bare.tag in ("DW_TAG_structure_type", "DW_TAG_union_type") \
                and "DW_AT_name" not in bare.attributes:
            nested = _aggregate(bare, abi_name)
        bit_offset = bit_size = None
        offset = _location(m)
        if "DW_AT_bit_size" in m.attributes:
            bit_size = m.attributes["DW_AT_bit_size"].value
            if "DW_AT_data_bit_offset" in m.attributes:
                bit_offset = m.attributes["DW_AT_data_bit_offset"].value
            else:                            # DWARF <= 4, little-endian
                storage = m.attributes.get("DW_AT_byte_size")
                storage = storage.value if storage else size
                bit_offset = offset * 8 + storage * 8 - m.attributes["DW_AT_bit_offset"].value \
                    - bit_size
            offset = bit_offset // 8
        flexible = bare.tag == "DW_TAG_array_type" and size == 0
        members.append(MemberLayout(name, _spell(t), offset, size, None, bit_offset,
                                    bit_size, nested, bare.tag == "DW_TAG_pointer_type",
                                    flexible))
    name = die.attributes.get("DW_AT_name")
    kind = "union" if die.tag == "DW_TAG_union_type" else "struct"
    return StructLayout(name.value.decode() if name else "", kind,
                        die.attributes["DW_AT_byte_size"].value if "DW_AT_byte_size"
                        in die.attributes else 0, 0, tuple(members), (), abi_name)
