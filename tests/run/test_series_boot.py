"""`kconform run SERIES`: one command from a list mail to verdicts on the
real 6.12 kernel, with everything made for it in the work directory and
nothing in the checkout written (git status is the same before and after)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from generator.cli import main

pytestmark = pytest.mark.boot
ROOT = Path(__file__).resolve().parents[2]
MAIL = ROOT / "tests" / "data" / "corpus" / "system-suspend-v6-07.txt"


def _status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def test_run_on_a_corpus_mail_reports_and_leaves_the_checkout_alone(tmp_path, capsys):
    before = _status()
    work = tmp_path / "work"
    code = main(["run", str(MAIL), "--quiet", "--work-dir", str(work),
                 "--results", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert _status() == before
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["spec"] == "psci-system-suspend-v6"
    assert (work / "specs" / "psci-system-suspend-v6.yaml").is_file()
    assert doc["run"]["uapi"]["source"] == "debian-package"
    assert "linux-headers-6.12" in doc["run"]["uapi"]["description"]
    counts = doc["summary_by_spec"]["psci-system-suspend-v6"]
    assert counts["checks"] >= 1 and counts["checks_exercised"] + counts["checks_untested"] \
        + counts["checks_not_reachable"] <= counts["checks"]
    assert counts["conforms"] + counts["diverges"] >= 1
    assert all(c["verdict"] != "error" for c in doc["cases"]), out
    assert "checks:" in out and "uapi: names bound with linux-headers-6.12" in out
    # a spec file path works with every command that takes a spec
    spec = work / "specs" / "psci-system-suspend-v6.yaml"
    assert main(["generate", "--spec", str(spec), "-o", str(tmp_path / "gen")]) == 0
    assert _status() == before
