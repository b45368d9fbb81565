"""Two `kconform run` at once on one cache (issue 11): one with
`--cap-binding header`, one with `--cap-binding patch`, neither given a
--work-dir.  Each must report its own binary's verdicts and binding: its
own run directory under the cache, its JSON's `binding`, every
`bindings.how` and the digests of what it built agreeing with each other.
Before, both built into $KCONFORM_CACHE/work and one reported the other's
binary (`binding: patch` beside `bindings.how: header`).  Marked `boot`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.runner.kernels import cache_root

pytestmark = pytest.mark.boot
ROOT = Path(__file__).resolve().parents[2]


def _start(binding: str, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KCONFORM_CACHE": str(cache_root())}
    return subprocess.Popen(
        [sys.executable, "-m", "generator.cli", "run", "--quiet", "--spec", "mte-v10",
         "--cap-binding", binding, "--results", str(out / f"{binding}.json")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_runs_at_once_each_report_their_own(tmp_path):
    procs = {b: _start(b, tmp_path) for b in ("header", "patch")}
    outs = {}
    for b, p in procs.items():
        try:
            outs[b] = p.communicate(timeout=900)[0]
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    for b, p in procs.items():
        assert p.returncode == 0, (b, outs[b][-3000:])
    docs = {b: json.loads((tmp_path / f"{b}.json").read_text()) for b in procs}
    for b, doc in docs.items():
        assert doc["binding"] == b
        hows = {name: v["how"] for name, v in doc["bindings"].items()}
        assert hows, doc["bindings"]
        if b == "patch":
            assert set(hows.values()) == {"patch"}, hows
        else:
            assert hows["KVM_CAP_ARM_MTE"] == "header", hows
        build = doc["run"]["build"]
        assert build["binding"] == b
        assert Path(build["work_dir"]).parent == cache_root() / "runs"
        assert all(len(d) == 64 for d in build["binaries"].values())
        assert len(build["specs"]["mte-v10"]["sha256"]) == 64
        assert not [c for c in doc["cases"] if c["verdict"] == "error"], b
    h, p = docs["header"]["run"]["build"], docs["patch"]["run"]["build"]
    assert h["work_dir"] != p["work_dir"]
    assert h["binaries"]["kconform_mte_v10"] != p["binaries"]["kconform_mte_v10"]
    assert h["specs"]["mte-v10"]["sha256"] == p["specs"]["mte-v10"]["sha256"]
    verdicts = {b: {c["id"]: c["verdict"] for c in d["cases"]} for b, d in docs.items()}
    # header binds KVM_CAP_ARM_MTE by its mainline number: enabling works
    assert verdicts["header"]["enable_cap.valid"] == "conforms"
    # patch binds it by v10's 195 (KVM_CAP_SET_GUEST_DEBUG2 in mainline)
    assert verdicts["header"] != verdicts["patch"]
