"""End to end on a real kernel: `kconform run` boots the default Debian
arm64 kernel under QEMU and every case gets a verdict from what that kernel
did.  Slow (about 10 s a boot); marked `boot`."""
import json

import pytest

from generator.cli import main

pytestmark = pytest.mark.boot

VERDICTS = {"conforms", "diverges", "skipped", "error", "not reachable"}


@pytest.fixture(scope="module")
def v10_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["run", "--quiet", "--strict", "--results", str(out / "r.json"),
                 "--work-dir", str(out / "work")])
    return code, json.loads((out / "r.json").read_text()), out


def test_report_shape_and_platform(v10_run):
    code, data, _ = v10_run
    assert data["kernel"]["release"].startswith("6.12")
    assert data["kernel"]["page_size"] in (4096, 16384, 65536)
    assert data["emulator"]["name"] == "qemu-system-aarch64"
    assert data["platform"]["state"] == "ok", data["platform"]["sentence"]
    assert data["spec"] == "mte-v10"
    for c in data["cases"]:
        assert set(c) >= {"id", "spec", "clause", "source", "expected", "observed",
                          "verdict", "reason"}
        assert c["verdict"] in VERDICTS
        # a seed line, or the vocabulary line of a check from the code around the patch
        assert c["source"]["seed"].endswith((".txt", "vocabulary.yaml")) and c["source"]["line"] > 0


def test_every_case_observed_on_the_kernel(v10_run):
    _, data, _ = v10_run
    errors = [c for c in data["cases"] if c["verdict"] == "error"]
    assert not errors, errors
    for c in data["cases"]:
        if c["verdict"] in ("conforms", "diverges"):
            assert c["observed"] is not None and "ret" in c["observed"]


def test_divergences_name_the_patch_line_and_strict_exit(v10_run):
    code, data, _ = v10_run
    div = [c for c in data["cases"] if c["verdict"] == "diverges"]
    for c in div:
        assert "002_640e98e582cbc741.txt:" in c["reason"], c
        assert c["expected"] != c["observed"]
    assert code == (1 if div else 0)


def test_console_log_kept(v10_run):
    _, _, out = v10_run
    log = out / "work" / "mte-v10" / "console.log"
    text = log.read_text(errors="replace")
    assert "qemu-system-aarch64" in text and " DONE " in text


def test_v8_runs_against_its_own_spec(tmp_path):
    code = main(["run", "--quiet", "--spec", "v8", "--results", str(tmp_path / "r8.json"),
                 "--work-dir", str(tmp_path / "work")])
    data = json.loads((tmp_path / "r8.json").read_text())
    assert code == 0
    assert data["spec"] == "mte-v8" and data["cases"]
    assert all(c["spec"] == "mte-v8" for c in data["cases"])
    assert all(c["source"]["seed"] == "000_87786364e6aad26e.txt" or c["source"]["seed"].endswith(".yaml")
               for c in data["cases"])
