"""Seeded mutations of text inputs (seeds, corpus mails, specs, baselines)
for the fuzz suite: line deletions, truncations, byte flips, re-encodings,
duplicated hunks and lines, and YAML type changes.  Every mutation is a
(name, bytes) pair reproducible from its seed number."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Callable

# the number of mutated inputs per source file: small by default (the whole
# fuzz suite under a minute), larger with KCONFORM_FUZZ=N
DEFAULT_BUDGET = 12


@dataclass(frozen=True)
class Mutant:
    source: str          # the input it came from
    kind: str            # which mutation
    seed: int            # the random seed that reproduces it
    data: bytes
    line: int = 0        # the line it touched (1-based; 0: several or none)

    @property
    def label(self) -> str:
        return f"{self.source}:{self.kind}:{self.seed}"


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def delete_line(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    ls = _lines(data)
    k = rng.randrange(len(ls))
    return b"\n".join(ls[:k] + ls[k + 1:]), k + 1


def delete_lines(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    ls = _lines(data)
    k = rng.randrange(len(ls))
    n = rng.randint(2, 12)
    return b"\n".join(ls[:k] + ls[k + n:]), k + 1


def truncate(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    cut = rng.randrange(len(data) + 1)
    return data[:cut], data[:cut].count(b"\n") + 1


def flip_byte(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    if not data:
        return data, 0
    k = rng.randrange(len(data))
    b = bytearray(data)
    b[k] ^= 1 << rng.randrange(8)
    return bytes(b), data[:k].count(b"\n") + 1


def random_byte(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    if not data:
        return data, 0
    k = rng.randrange(len(data))
    b = bytearray(data)
    b[k] = rng.choice(b"#@{}[]:;\\'\"\x00\x0c\xff\x80-+ \t\r\n")
    return bytes(b), data[:k].count(b"\n") + 1


def encoding(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    text = data.decode("utf-8", errors="replace")
    how = rng.choice(["latin-1", "utf-16", "bom", "crlf", "u2028", "formfeed", "nul"])
    if how == "latin-1":
        return text.encode("latin-1", errors="replace"), 0
    if how == "utf-16":
        return text.encode("utf-16"), 0
    if how == "bom":
        return b"\xef\xbb\xbf" + data, 1
    if how == "crlf":
        return data.replace(b"\n", b"\r\n"), 0
    ls = _lines(data)
    k = rng.randrange(len(ls))
    sep = {"u2028": "\u2028".encode(), "formfeed": b"\x0c", "nul": b"\x00"}[how]
    mid = len(ls[k]) // 2
    ls[k] = ls[k][:mid] + sep + ls[k][mid:]
    return b"\n".join(ls), k + 1


_HUNK = re.compile(rb"^@@ ")


def duplicate_hunk(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    """A hunk (its @@ line to the next @@/diff line) given twice in a row."""
    ls = _lines(data)
    starts = [i for i, l in enumerate(ls) if _HUNK.match(l)]
    if not starts:
        return duplicate_line(data, rng)
    s = rng.choice(starts)
    e = next((j for j in range(s + 1, len(ls))
              if _HUNK.match(ls[j]) or ls[j].startswith((b"diff --git", b"^ permalink"))),
             len(ls))
    return b"\n".join(ls[:e] + ls[s:e] + ls[e:]), s + 1


def duplicate_line(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    ls = _lines(data)
    k = rng.randrange(len(ls))
    return b"\n".join(ls[:k + 1] + [ls[k]] + ls[k + 1:]), k + 1


_SCALAR = re.compile(rb"^(\s*-?\s*[A-Za-z_]+: )(\S.*)$")
_REPLACEMENTS = [b"[1, 2]", b"{a: 1}", b"''", b"-1", b"0", b"1000000000", b"true", b"null",
                 b"3.5", b"EBOGUS", b"'x: y'", b"!!binary aGk=", b"*alias", b"&a [1]"]


def yaml_type(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    """A scalar `key: value` line with its value of another type."""
    ls = _lines(data)
    cand = [i for i, l in enumerate(ls) if _SCALAR.match(l)]
    if not cand:
        return flip_byte(data, rng)
    k = rng.choice(cand)
    m = _SCALAR.match(ls[k])
    ls[k] = m.group(1) + rng.choice(_REPLACEMENTS)
    return b"\n".join(ls), k + 1


TEXT_MUTATIONS: dict[str, Callable] = {
    "delete-line": delete_line, "delete-lines": delete_lines, "truncate": truncate,
    "flip-byte": flip_byte, "random-byte": random_byte, "encoding": encoding,
    "duplicate-hunk": duplicate_hunk, "duplicate-line": duplicate_line,
}
YAML_MUTATIONS: dict[str, Callable] = {**TEXT_MUTATIONS, "type-change": yaml_type}


def mutants(source: str, data: bytes, budget: int, base_seed: int,
            kinds: dict[str, Callable] = TEXT_MUTATIONS) -> list[Mutant]:
    """`budget` mutants of `data`, the kinds in turn, each from its own seed."""
    names = sorted(kinds)
    out = []
    for i in range(budget):
        seed = base_seed * 100_003 + i
        rng = random.Random(seed)
        kind = names[i % len(names)]
        mutated, line = kinds[kind](data, rng)
        out.append(Mutant(source, kind, seed, mutated, line))
    return out
