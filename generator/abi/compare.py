"""Compare two layouts of one aggregate: the engine's and a compiler's (or
the kernel's BTF).  Every difference is one `Mismatch`."""
from __future__ import annotations

from dataclasses import dataclass

from generator.abi.layout import StructLayout


@dataclass(frozen=True)
class Mismatch:
    struct: str               # "struct kvm_regs"
    member: str               # C path of the member, "" for the aggregate
    what: str                 # size, align, offset, bit_offset, bit_size, name, members
    engine: object
    truth: object
    truth_name: str = "compiler"

    def __str__(self) -> str:
        where = f"{self.struct}.{self.member}" if self.member else self.struct
        return (f"{where}: {self.what} is {self.engine} in the engine but "
                f"{self.truth} in {self.truth_name}")

    def to_json(self) -> dict:
        return {"struct": self.struct, "member": self.member, "what": self.what,
                "engine": self.engine, "truth": self.truth, "by": self.truth_name}


def compare_layouts(engine: StructLayout, truth: StructLayout, title: str = "",
                    truth_name: str = "compiler") -> list[Mismatch]:
    title = title or engine.title
    out: list[Mismatch] = []

    def diff(member: str, what: str, a, b):
        if b is not None and a != b:
            out.append(Mismatch(title, member, what, a, b, truth_name))

    diff("", "size", engine.size, truth.size)
    diff("", "align", engine.align, truth.align or None)
    _members(engine, truth, "", diff)
    return out


def _members(engine: StructLayout, truth: StructLayout, prefix: str, diff) -> None:
    if len(engine.members) != len(truth.members):
        diff(prefix.rstrip("."), "members",
             [m.name for m in engine.members], [m.name for m in truth.members])
        return
    for i, (e, t) in enumerate(zip(engine.members, truth.members)):
        path = prefix + (e.name or f"<anonymous #{i}>")
        diff(path, "name", e.name, t.name)
        diff(path, "offset", e.offset, t.offset)
        diff(path, "size", e.size, t.size)
        diff(path, "bit_offset", e.bit_offset, t.bit_offset)
        diff(path, "bit_size", e.bit_size, t.bit_size)
        if (e.nested is None) != (t.nested is None):
            diff(path, "nested", e.nested is not None, t.nested is not None)
        elif e.nested is not None:
            diff(path, "size", e.nested.size, t.nested.size)
            _members(e.nested, t.nested, path + ".", diff)
