"""Repairs for the damage mail-archive dumps do to code.

Archive pages decode HTML entities, including the legacy ones that need no
semicolon, so C's `&copy_tags` arrives as `©_tags` and `&regs` as `®s`.
C identifiers and operators are ASCII: a non-ASCII character that a legacy
entity decodes to, standing in C code, can be mapped back unambiguously.
Every repair is recorded; none is silent.
"""
from __future__ import annotations

import enum
import html.entities
from dataclasses import dataclass


class RepairKind(enum.Enum):
    HTML_ENTITY = "html-entity"              # `©_tags` back to `&copy_tags`
    CONTEXT_MARKER = "context-marker"        # a context line lost its leading space
    SHORT_HUNK = "short-hunk"                # fewer lines than the header says, explained
    INCONSISTENT_HUNK = "inconsistent-hunk"  # more lines than the header says
    INCONSISTENT_QUOTE = "inconsistent-quote"  # a diff line quoted one level off
    DIFF_HEADER = "diff-header"              # a damaged `diff --git` line: path from `+++`
    HUNK_HEADER = "hunk-header"              # a damaged `@@` line whose counts still read


@dataclass(frozen=True)
class Repair:
    line: int          # seed line
    kind: RepairKind
    before: str
    after: str

    def describe(self) -> str:
        return f"line {self.line}: {self.kind.value}: {self.before.strip()!r} -> {self.after.strip()!r}"


def _legacy_entities() -> dict[str, str]:
    out: dict[str, str] = {}
    for name, char in sorted(html.entities.html5.items()):
        # Legacy entities are the ones HTML decodes without a semicolon.
        if name.endswith(";") or len(char) != 1 or ord(char) < 0x80:
            continue
        if char == "\xa0":          # &nbsp is whitespace, handled apart
            continue
        # `&COPY` and `&copy` both decode to the same sign; C code is
        # written in lower case, so prefer the lower-case spelling.
        if char not in out or (name.islower() and not out[char].islower()):
            out[char] = name
    return out


_DECODED = _legacy_entities()


def repair_entities(text: str) -> str:
    """Map decoded legacy entities in a line of C back to `&name`."""
    if text.isascii():
        return text
    # A no-break space is what an archive page renders indentation as.
    text = text.replace("\xa0", " ")
    return "".join(("&" + _DECODED[c]) if c in _DECODED else c for c in text)


def is_code_path(path: str) -> bool:
    return path.endswith((".c", ".h", ".S", ".lds"))
