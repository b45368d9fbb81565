"""The booted kernel's BTF: build `btf_probe.c`, parse what it prints, and
compare it with the engine's layout of the spec's structs.

In the guest: `btf_probe kvm_arm_copy_mte_tags ...` prints KTAP diagnostic
lines (see the top of btf_probe.c); `parse_probe_output` reads them from any
iterable of console lines (prefixes such as timestamps are tolerated) and
`compare_btf` lists every difference as a `Mismatch` by "kernel BTF".
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import Iterable

from generator.abi.compare import Mismatch
from generator.abi.errors import BtfError, ToolchainError
from generator.abi.layout import StructLayout

PROBE_C = os.path.join(os.path.dirname(__file__), "btf_probe.c")
EXIT_OK, EXIT_ERROR, EXIT_MISSING, EXIT_SKIP = 0, 1, 2, 4

_LINE = re.compile(r"#\s*btf(?P<tag>-struct|-member|-anon|-missing|-error|-skip)?:\s*(?P<rest>.*)$")
_KV = re.compile(r"(\w+)=(\S+)")


@dataclass(frozen=True)
class BtfMember:
    path: str                 # "addr", "inner.q"; "-" never appears here
    bit_offset: int
    bit_size: int             # 0 unless a bitfield
    size: int


@dataclass
class BtfStruct:
    name: str
    kind: str
    size: int
    members: list[BtfMember] = field(default_factory=list)

    def member(self, path: str) -> BtfMember | None:
        return next((m for m in self.members if m.path == path), None)


@dataclass
class BtfResult:
    structs: dict[str, BtfStruct] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: str = ""         # why the kernel has no BTF, when it has none
    source: str = ""          # the BTF file the probe read


def build_probe(out: str, cc: str = "aarch64-linux-gnu-gcc", static: bool = True,
                structs: Iterable[str] = ()) -> str:
    """Compile btf_probe.c (statically, for the guest, by default); with
    `structs`, the probe checks them when run without arguments."""
    names = " ".join(s.rpartition(" ")[2] for s in structs)
    if any(c in names for c in '"\\'):
        raise ToolchainError(PROBE_C, 0, f"struct names {names!r}", "C identifiers")
    cmd = [cc, "-O2", "-Wall", "-o", out, PROBE_C] + (["-static"] if static else [])
    if names:
        cmd.append(f'-DBTF_PROBE_STRUCTS="{names}"')
    try:
        proc = subprocess.run(cmd, text=True, capture_output=True)
    except FileNotFoundError:
        raise ToolchainError(cc, 0, "compiler not found",
                             "scripts/setup.sh to have installed it") from None
    if proc.returncode != 0:
        raise ToolchainError(PROBE_C, 0, f"{cc} fails: {proc.stderr.strip()[:400]}")
    return out


def probe_command(probe: str, structs: Iterable[str], btf_file: str | None = None) -> list[str]:
    """argv for the probe; struct names may be spelled "struct X"."""
    names = [s.rpartition(" ")[2] for s in structs]
    return [probe] + (["-f", btf_file] if btf_file else []) + names


def parse_probe_output(lines: Iterable[str], origin: str = "<console>") -> BtfResult:
    res = BtfResult()
    for n, raw in enumerate(lines, 1):
        m = _LINE.search(raw)
        if not m:
            continue
        tag, rest = m.group("tag") or "", m.group("rest").strip()
        kv = dict(_KV.findall(rest))
        words = rest.split()
        try:
            if tag == "":
                res.source = words[0] if words else ""
            elif tag == "-struct":
                res.structs[words[0]] = BtfStruct(words[0], kv["kind"], int(kv["size"]))
            elif tag == "-member":
                st = res.structs[words[0]]
                st.members.append(BtfMember(words[1], int(kv["bit_offset"]),
                                            int(kv["bit_size"]), int(kv["size"])))
            elif tag == "-missing":
                res.missing.append(words[0])
            elif tag == "-error":
                res.errors.append(rest)
            elif tag == "-skip":
                res.skipped = rest
        except (KeyError, IndexError, ValueError) as e:
            raise BtfError(origin, n, f"btf_probe line does not parse ({e}): {raw.strip()!r}",
                           "the format printed by btf_probe.c") from None
    return res


def compare_btf(layout: StructLayout, btf: BtfStruct) -> list[Mismatch]:
    """The engine's layout (normally arm64) against the kernel's BTF."""
    title, by = layout.title, "kernel BTF"
    out = []
    if layout.size != btf.size:
        out.append(Mismatch(title, "", "size", layout.size, btf.size, by))
    seen = set()
    for fm in layout.flatten():
        seen.add(fm.path)
        bm = btf.member(fm.path)
        if bm is None:
            out.append(Mismatch(title, fm.path, "member", "present", "absent", by))
            continue
        bits = fm.offset * 8
        if fm.member.bit_size is not None:     # bit_offset is from its aggregate
            bits = (fm.offset - fm.member.offset) * 8 + fm.member.bit_offset
        if bits != bm.bit_offset:
            out.append(Mismatch(title, fm.path, "bit_offset", bits, bm.bit_offset, by))
        if (fm.member.bit_size or 0) != bm.bit_size:
            out.append(Mismatch(title, fm.path, "bit_size", fm.member.bit_size or 0,
                                bm.bit_size, by))
        elif not fm.member.bit_size and fm.member.size != bm.size:
            out.append(Mismatch(title, fm.path, "size", fm.member.size, bm.size, by))
    for bm in btf.members:
        if bm.path not in seen:
            out.append(Mismatch(title, bm.path, "member", "absent", "present", by))
    return out


def compare_spec_btf(layouts: dict[str, StructLayout], result: BtfResult) -> dict[str, list[Mismatch]]:
    """{struct name: mismatches} for the structs the probe was asked about;
    a struct the kernel does not have is one mismatch "absent"."""
    out = {}
    for name, lay in layouts.items():
        if name in result.structs:
            out[name] = compare_btf(lay, result.structs[name])
        elif name in result.missing:
            out[name] = [Mismatch(lay.title, "", "struct", "present", "absent", "kernel BTF")]
    return out
