"""Patch subjects: `[RFC PATCH v8 5/5] KVM: arm64: ...` into its parts."""
from __future__ import annotations

import re
from dataclasses import dataclass

_BRACKET = re.compile(r'\[([^\]]*)\]')
_COUNTER = re.compile(r'^(\d+)/(\d+)$')
_VERSION = re.compile(r'^[vV](\d+)$')


@dataclass(frozen=True)
class PatchSubject:
    title: str            # text after the brackets
    version: int          # 1 when not given
    index: int            # 0 for a cover letter; 1 when not given
    total: int            # 1 when not given
    rfc: bool
    reply: bool           # "Re:" in front
    resend: bool = False
    inferred: tuple[str, ...] = ()   # which of version/index/total were inferred

    @property
    def is_cover(self) -> bool:
        return self.index == 0

    @property
    def label(self) -> str:
        return f"v{self.version} {self.index}/{self.total}"


def parse_subject(line: str) -> PatchSubject | None:
    """Parse a subject line; None when it names no patch."""
    text = line.strip()
    reply = False
    while True:
        m = re.match(r'^(?:\*\s*)?(?:Re|RE|Aw|AW|Fwd)\s*:\s*', text)
        if not m:
            text = re.sub(r'^\*\s*', '', text)
            break
        reply = True
        text = text[m.end():]
    tags: list[str] = []
    pos = 0
    for m in _BRACKET.finditer(text):
        if text[pos:m.start()].strip():
            break
        tags.extend(m.group(1).split())
        pos = m.end()
    upper = [t.upper() for t in tags]
    if not any("PATCH" in t for t in upper):
        return None
    version, index, total = 1, 1, 1
    inferred = {"version", "index", "total"}
    for t in tags:
        if (mv := _VERSION.match(t)):
            version = int(mv.group(1))
            inferred.discard("version")
        elif (mc := _COUNTER.match(t)):
            index, total = int(mc.group(1)), int(mc.group(2))
            inferred -= {"index", "total"}
    return PatchSubject(title=text[pos:].strip(), version=version, index=index,
                        total=total, rfc="RFC" in upper, reply=reply,
                        resend="RESEND" in upper, inferred=tuple(sorted(inferred)))
