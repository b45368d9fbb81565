"""Types of the reference runtime: the user memory and arguments a call
sees, and what a call or a step results in.  Generic: nothing here knows
a feature family (those are reference.mte, reference.families)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

from generator.model import Errno
from generator.model.case import SENTINEL, Buffer, Fill

PATTERN_MASK = 0xF           # a PATTERN fill byte is 4 bits (one MTE tag)
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


# ---------------------------------------------------------------- digests
def fnv1a64(data: bytes) -> str:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def pattern_byte(i: int, seed: int) -> int:
    """Tag for granule i of a PATTERN fill (kc_pattern in the C runtime).
    7 is odd, so 16 neighbouring granules get 16 different tags; i >> 4
    shifts every block of 16 so that blocks differ too."""
    return (i * 7 + (i >> 4) + seed * 5) & PATTERN_MASK


def initial_bytes(buf: Buffer, length: int) -> bytearray:
    if buf.fill is Fill.PATTERN:
        return bytearray(pattern_byte(i, buf.seed) for i in range(length))
    return bytearray([SENTINEL]) * length


# ---------------------------------------------------------------- inputs
def _registry_features() -> frozenset:
    from generator.model.hostfeatures import registry
    return frozenset(registry().features)


_ALL_FEATURES = frozenset({"mte"}) | _registry_features()


@dataclass(frozen=True)
class Host:
    """Facts about the host the model cannot learn from userspace: the
    features it has, by the names the concept families declare
    (reference.mte: "mte") and the host-feature registry's
    (specs/host-features.yaml: "ras", "sve", ...).  The default host has
    every one; a host profile lacks some (`Host.lacking(profile)`)."""
    features: frozenset = field(default_factory=lambda: _ALL_FEATURES)

    @classmethod
    def of(cls, **flags: bool) -> "Host":
        """Host.of(mte=False): every family feature, less those set False."""
        return cls(frozenset(f for f in cls().features | set(flags) if flags.get(f, True)))

    @classmethod
    def lacking(cls, lacks, **flags: bool) -> "Host":
        """A host without the features `lacks` (a profile's), less those set False."""
        return cls.of(**{**{f: False for f in lacks}, **flags})

    def has(self, feature: str) -> bool:
        return feature in self.features


class UserBuffer:
    """A user buffer: `valid` bytes mapped, then a guard page."""

    def __init__(self, data: bytearray, valid: int):
        self.data, self.valid = data, min(valid, len(data))

    def read(self, off: int) -> Optional[int]:
        return self.data[off] if 0 <= off < self.valid else None

    def write(self, off: int, value: int) -> bool:
        if not 0 <= off < self.valid:
            return False
        self.data[off] = value
        return True

    def digest(self) -> str:
        return fnv1a64(bytes(self.data[:self.valid]))


class Arg:
    """The argument struct as the kernel reads it: `arg.flags`,
    `arg.reserved[1]`, `arg.exception.pad[0]` (a named nested struct is an
    Arg of its own); array fields are lists."""

    def __init__(self, values: Mapping[str, int]):
        nested: dict[str, dict] = {}
        for path, v in values.items():
            head, dot, rest = path.partition(".")
            if dot and "[" not in head:
                nested.setdefault(head, {})[rest] = v
                continue
            if "[" in path:
                name, idx = path[:-1].split("[")
                arr = self.__dict__.setdefault(name, [])
                arr.extend([0] * (int(idx) + 1 - len(arr)))
                arr[int(idx)] = v
            else:
                setattr(self, path, v)
        for name, inner in nested.items():
            setattr(self, name, Arg(inner))

    def __getattr__(self, name: str):
        raise AttributeError(f"the argument has no field {name!r}; it has "
                             f"{', '.join(sorted(self.__dict__)) or 'none'}")


@dataclass
class Call:
    """One invocation of an operation: its argument and user memory."""
    arg: Arg
    arg_readable: bool = True
    buffer: Optional[UserBuffer] = None
    pointers: Mapping[str, bool] = field(default_factory=dict)   # field -> can be dereferenced

    def readable(self, ptr: str = "") -> bool:
        """The argument itself (ptr ""), or the user pointer a field holds."""
        return self.arg_readable if not ptr else self.pointers.get(ptr, True)


@dataclass
class Cursor:
    """Position of a page loop: the guest frame and the buffer offset."""
    gfn: int = 0
    offset: int = 0


class Unmodelled(Exception):
    """The spec holds a check (or an operation) the reference cannot
    evaluate: a call that reaches it has no prediction, and its case is
    reported `untested` with this reason, never judged."""

    def __init__(self, check: str, reason: str):
        super().__init__(f"{check}: {reason}")
        self.check, self.reason = check, reason


@dataclass(frozen=True)
class Result:
    ret: int                    # the handler's value (>= 0) on success
    errno: Optional[Errno] = None
    check: str = ""             # id of the check that failed


@dataclass(frozen=True)
class Outcome:
    """What one step should show: ret None means any value >= 0 (an fd)."""
    ret: Optional[int]
    errno: Optional[Errno]
    digest: Optional[str]
    check: str = ""             # failing check id, "success" or "setup"
    op: str = ""
