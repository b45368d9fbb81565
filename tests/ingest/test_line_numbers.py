"""`seed:line` counts `\\n` only (issue 11): a form feed, a U+2028 line
separator, a vertical tab or a lone `\\r` in a seed (all line breaks to
`str.splitlines()`) leaves every later line number where an editor shows
it.  Before, each shifted every later `seed:line` by one."""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.extract import extract_spec
from generator.ingest.mail import newline_lines

ROOT = Path(__file__).resolve().parents[2]
V10 = ROOT / "seeds" / "002_640e98e582cbc741.txt"


def _lines_of(spec) -> dict[str, int]:
    return {f"{op.name}:{c.id}": c.source.line for op in spec.operations for c in op.checks}


@pytest.fixture(scope="module")
def clean():
    return _lines_of(extract_spec(V10, "mte-v10"))


@pytest.mark.parametrize("sep", ["\f", "\u2028", "\x0b", "\x1c", "\u0085", "\r"])
def test_a_separator_in_prose_shifts_nothing(tmp_path, clean, sep):
    lines = V10.read_text().split("\n")
    # a prose line of the cover letter, well before any patch
    k = next(i for i, l in enumerate(lines[:80]) if len(l.split()) > 4)
    lines[k] = lines[k].replace(" ", f" {sep}", 1)
    seed = tmp_path / V10.name
    seed.write_text("\n".join(lines), newline="")
    assert _lines_of(extract_spec(seed, "mte-v10")) == clean


def test_newline_lines():
    assert newline_lines("a\fb\nc\r\nd\u2028e\n") == ["a\fb", "c", "d\u2028e"]
    assert newline_lines("") == []
    assert newline_lines("x") == ["x"]
