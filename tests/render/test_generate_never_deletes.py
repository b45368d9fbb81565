"""`generate` never deletes a reference module silently (issue 11): a spec
that lost its operations (a damaged extraction) keeps the committed
reference/<spec>.py, names it and exits 2; --force removes it."""
from __future__ import annotations

import dataclasses

from generator import paths
from generator.cli import main
from generator.model.specio import dump_spec, load_spec


def test_a_spec_with_nothing_to_run_keeps_its_reference(tmp_path, monkeypatch, capsys):
    specs, ref = tmp_path / "specs", tmp_path / "reference"
    specs.mkdir()
    ref.mkdir()
    spec = dataclasses.replace(load_spec(paths.spec_path("mte-v10")), operations=[], guest=[])
    (specs / "mte-v10.yaml").write_text(dump_spec(spec))
    (specs / "series.yaml").write_text("mte-v10:\n  seed: 002_640e98e582cbc741.txt\n")
    module = (paths.REFERENCE / "mte_v10.py").read_text()
    (ref / "mte_v10.py").write_text(module)
    monkeypatch.setattr(paths, "SPECS", specs)
    monkeypatch.setattr(paths, "SERIES", specs / "series.yaml")
    monkeypatch.setattr(paths, "REFERENCE", ref)
    assert main(["generate", "-o", str(tmp_path / "gen")]) == 2
    out = capsys.readouterr().out
    assert "not removed" in out and "--force" in out
    assert (ref / "mte_v10.py").read_text() == module
    assert main(["generate", "-o", str(tmp_path / "gen"), "--force"]) == 0
    assert "removed" in capsys.readouterr().out
    assert not (ref / "mte_v10.py").exists()
