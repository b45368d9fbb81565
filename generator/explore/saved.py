"""Saved reproducers: `kconform explore --save FILE` and `--replay FILE`.

A saved file is JSON: the run's kernel and seed, and per confirmed class
its spec, class, patch line, minimal sequence (the case IR's steps, kind by
kind) and standalone C reproducer.  Loading checks every step against its
kind's fields and names the file, the line and what was expected.
"""
from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path
from typing import Any

from generator.errors import InputError
from generator.model.case import (STEP_CLASSES, ArgPointer, Buffer, Fill, GuestOp, Report, Step,
                                  StepKind, StepRole, Val)

FORMAT = "kconform-explore/1"
_ENUMS = {"role": StepRole, "arg": ArgPointer, "guest_op": GuestOp, "report": Report}


def _enc(x: Any) -> Any:
    if isinstance(x, enum.Enum):
        return x.value
    if isinstance(x, Val):
        return {"pages": x.pages, "bytes": x.bytes, "div": x.div}
    if isinstance(x, Buffer):
        return {"length": _enc(x.length), "valid": _enc(x.valid), "fill": x.fill.value,
                "seed": x.seed}
    if isinstance(x, tuple):
        return [_enc(y) for y in x]
    return x


def encode_step(step: Step) -> dict:
    out = {"kind": step.kind.value}
    for f in dataclasses.fields(step):
        out[f.name] = _enc(getattr(step, f.name))
    return out


def _val(x: Any) -> Val:
    if not isinstance(x, dict) or set(x) - {"pages", "bytes", "div"}:
        raise ValueError(f"a size {{pages, bytes, div}}, not {x!r}")
    return Val(int(x.get("pages", 0)), int(x.get("bytes", 0)), int(x.get("div", 1)))


def _dec(name: str, x: Any) -> Any:
    if name in _ENUMS:
        return _ENUMS[name](x)
    if name in ("guest_ipa",):
        return _val(x)
    if name == "buffer":
        return None if x is None else Buffer(_val(x["length"]), _val(x["valid"]),
                                             Fill(x.get("fill", "sentinel")), int(x.get("seed", 0)))
    if name == "fields":
        return tuple((str(p), _val(v)) for p, v in x)
    if name == "gargs":
        return tuple(_val(v) for v in x)
    if isinstance(x, list):
        return tuple(x)
    return x


def decode_step(d: dict) -> Step:
    kind = StepKind(d["kind"])
    cls = STEP_CLASSES[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names - {"kind"}
    if unknown:
        raise ValueError(f"{kind.value} has no field(s) {', '.join(sorted(unknown))}; it has "
                         f"{', '.join(sorted(names))}")
    return cls(**{k: _dec(k, v) for k, v in d.items() if k != "kind"})


def save(path: Path, doc: dict) -> None:
    Path(path).write_text(json.dumps({"format": FORMAT, **doc}, indent=2) + "\n")


def _line_of(text: str, needle: str, start: int = 0) -> int:
    i = text.find(needle, start)
    return text.count("\n", 0, i) + 1 if i >= 0 else 0


def load(path: Path) -> list[dict]:
    """The saved findings, each with `steps` decoded; InputError naming
    the file and line on anything else."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise InputError(str(p), 0, f"cannot read: {e.strerror}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(str(p), e.lineno, f"not JSON: {e.msg}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(str(p), 1, "not a saved exploration",
                         f'"format": "{FORMAT}" (written by kconform explore --save)')
    out = []
    for i, f in enumerate(doc.get("findings") or []):
        where = _line_of(text, '"steps"', _nth(text, '"class"', i))
        try:
            if not isinstance(f, dict) or "spec" not in f or "steps" not in f:
                raise ValueError("a finding needs `spec` and `steps`")
            out.append({**f, "steps": [decode_step(s) for s in f["steps"]]})
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(str(p), where, f"finding {i}: {e}",
                             "steps as kconform explore --save writes them") from None
    return out


def _nth(text: str, needle: str, n: int) -> int:
    i = -1
    for _ in range(n + 1):
        i = text.find(needle, i + 1)
        if i < 0:
            return 0
    return i
