"""The merged spec as a second oracle, on a real kernel: `kconform run
--oracle merged` boots Debian's 6.12 kernel and judges mte-v10's cases
against the model of linux-source-6.12 (fetched once into the cache);
on its own kernel every case it models conforms.  Also `--merged`: each
diverging case of the posted model carries what the merged model says.
Slow (a boot each, and the source download on a fresh cache); `boot`."""
import json

import pytest

from generator.cli import main

pytestmark = pytest.mark.boot


def _run(tmp_path, *extra):
    out = tmp_path / "r.json"
    code = main(["run", "--quiet", "--spec", "mte-v10", "--results", str(out),
                 "--work-dir", str(tmp_path / "work"), *extra])
    return code, json.loads(out.read_text())


def test_merged_oracle_conforms_on_its_own_kernel(tmp_path):
    code, data = _run(tmp_path, "--oracle", "merged")
    assert code == 0
    cases = data["cases"]
    judged = [c for c in cases if c["verdict"] in ("conforms", "diverges")]
    assert len(judged) >= 30
    wrong = [(c["id"], c["reason"]) for c in judged if c["verdict"] == "diverges"]
    assert not wrong, wrong
    untested = [c for c in cases if c["verdict"] == "skipped"]
    assert all(c["reason"].startswith("untested by the merged oracle") for c in untested)
    # the reason names the tree's lines, not the patch's
    pair = next(c for c in cases if c["id"] == "copy_tags.pair.not_cap_enabled+user_read_faults")
    assert pair["verdict"] == "conforms"
    assert pair["decided_by"]["seed"] == "arch/arm64/kvm/arm.c"


def test_every_divergence_carries_what_the_merged_model_says(tmp_path):
    code, data = _run(tmp_path, "--merged")
    assert code == 0
    div = [c for c in data["cases"] if c["verdict"] == "diverges"]
    assert div
    for c in div:
        m = c["merged"]
        assert m["says"] in ("follows its own code", "neither predicts it", "not modelled")
        assert m["tree_line"] or "no tree line" in m["sentence"], c["id"]
    pair = next(c for c in div if c["id"] == "copy_tags.pair.not_cap_enabled+user_read_faults")
    assert pair["merged"]["says"] == "follows its own code"
    assert pair["merged"]["tree_line"].startswith("arch/arm64/kvm/arm.c:")
    assert "copy_from_user" in pair["merged"]["tree_text"]
