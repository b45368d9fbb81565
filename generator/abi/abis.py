"""The four ABIs the checker lays structs out for, as plain frozen data.

Sizes and alignments are those a type has *inside an aggregate*, which is what
struct layout needs; on i386 `long long` and `double` are 8 bytes but only
4-aligned there (System V i386 psABI), on 32-bit arm EABI they stay 8-aligned.
"""
from __future__ import annotations

from dataclasses import dataclass

from generator.abi.errors import UnknownAbiError


@dataclass(frozen=True)
class Abi:
    name: str                 # "arm64"
    compiler: str             # the cross compiler that is its ground truth
    triplet: str              # Debian multiarch triplet
    pointer: int              # sizeof(void *) == sizeof(long)
    long_long_align: int      # alignment of long long / __u64 in a struct
    double_align: int
    long_double: tuple[int, int]   # (size, align)
    int128: bool              # has __int128 / __uint128_t
    biggest_align: int        # what bare __attribute__((aligned)) means
    include_dir: str          # uAPI headers of libc6-dev-*-cross / linux-libc-dev
    unnamed_bitfield_align: bool  # AAPCS: `int :3;` still makes the struct 4-aligned
    compat_of: str = ""       # the 64-bit ABI this one is the compat of

    @property
    def bits(self) -> int:
        return self.pointer * 8

    def scalar(self, kind: str) -> tuple[int, int]:
        """(size, align) of a canonical scalar kind, see `canonical_scalar`."""
        p = self.pointer
        table = {
            "_Bool": (1, 1), "char": (1, 1), "short": (2, 2), "int": (4, 4),
            "long": (p, p), "long long": (8, self.long_long_align),
            "float": (4, 4), "double": (8, self.double_align),
            "long double": self.long_double, "pointer": (p, p),
        }
        if self.int128:
            table["__int128"] = (16, 16)
        return table[kind]


ABIS: dict[str, Abi] = {a.name: a for a in (
    Abi("arm64", "aarch64-linux-gnu-gcc", "aarch64-linux-gnu", 8, 8, 8,
        (16, 16), True, 16, "/usr/aarch64-linux-gnu/include", True),
    Abi("arm", "arm-linux-gnueabihf-gcc", "arm-linux-gnueabihf", 4, 8, 8,
        (8, 8), False, 8, "/usr/arm-linux-gnueabihf/include", True, compat_of="arm64"),
    Abi("x86_64", "gcc", "x86_64-linux-gnu", 8, 8, 8,
        (16, 16), True, 16, "/usr/include", False),
    Abi("i386", "i686-linux-gnu-gcc", "i686-linux-gnu", 4, 4, 4,
        (12, 4), False, 16, "/usr/i686-linux-gnu/include", False, compat_of="x86_64"),
)}


def get_abi(name: str) -> Abi:
    try:
        return ABIS[name]
    except KeyError:
        raise UnknownAbiError("<arch>", 0, f"{name!r} is not a valid arch",
                              f"one of {', '.join(ABIS)}") from None


_SCALAR_WORDS = {"void", "_Bool", "char", "short", "int", "long", "float",
                 "double", "signed", "unsigned", "__int128"}


def canonical_scalar(names: list[str]) -> str | None:
    """Map pycparser's IdentifierType.names to a kind `Abi.scalar` knows,
    "void", or None when the names are not all scalar keywords."""
    if not names or any(n not in _SCALAR_WORDS for n in names):
        return None
    longs = names.count("long")
    for kind in ("void", "_Bool", "char", "short", "float", "__int128"):
        if kind in names:
            return kind
    if "double" in names:
        return "long double" if longs else "double"
    if longs >= 2:
        return "long long"
    if longs == 1:
        return "long"
    return "int"     # int, signed, unsigned
