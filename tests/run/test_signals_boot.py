"""SIGTERM (a CI cancel) and a double Ctrl-C during a real boot (issue 11):
every report is still written with the results seen, the run exits 3, no
temporary initrd and no QEMU is left behind (`--boot`: a restored guest
would finish before the signal).  Before, SIGTERM wrote
nothing and left the initrd, and a second Ctrl-C 0.3 s after the first
lost the whole report.  Marked `boot`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.boot
ROOT = Path(__file__).resolve().parents[2]


def _qemus_using(path: Path) -> list[int]:
    """Live processes whose command line names `path` (the run's initrd dir)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in cmd and "qemu" in cmd:
            out.append(int(d.name))
    return out


def _interrupt(tmp_path: Path, signals: list[tuple[int, float]]):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}
    cmd = [sys.executable, "-m", "generator.cli", "run", "--spec", "mte-v10", "--boot",
           "--results", str(tmp_path / "r.json"), "--markdown", str(tmp_path / "r.md"),
           "--junit", str(tmp_path / "r.xml"), "--work-dir", str(tmp_path / "work")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    err_lines = []
    try:
        deadline = time.monotonic() + 300
        for line in proc.stderr:
            err_lines.append(line)
            if "booting" in line:
                break
            assert time.monotonic() < deadline, "no boot"
        time.sleep(2.0)                       # the guest is starting
        for signum, delay in signals:
            proc.send_signal(signum)
            time.sleep(delay)
        stdout, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stdout, "".join(err_lines) + err, tmp


def _check_reports_and_cleanup(tmp_path, code, stdout, err, tmp):
    assert code == 3, (stdout[-2000:], err[-2000:])
    assert "stopping; every report is written" in err
    for name in ("r.json", "r.md", "r.xml"):
        assert (tmp_path / name).is_file(), (name, stdout[-2000:], err[-2000:])
        assert f"{tmp_path / name}" in stdout
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["cases"], data.keys()
    assert {c["verdict"] for c in data["cases"]} <= {"conforms", "diverges", "skipped", "error",
                                                     "not reachable", "untested"}
    assert not list(tmp.glob("kconform-run-*")), list(tmp.iterdir())
    time.sleep(0.5)
    assert _qemus_using(tmp) == []


def test_sigterm_writes_every_report_and_cleans_up(tmp_path):
    code, out, err, tmp = _interrupt(tmp_path, [(signal.SIGTERM, 0.0)])
    _check_reports_and_cleanup(tmp_path, code, out, err, tmp)


def test_a_double_ctrl_c_still_writes_every_report(tmp_path):
    code, out, err, tmp = _interrupt(tmp_path, [(signal.SIGINT, 0.02), (signal.SIGINT, 0.0)])
    _check_reports_and_cleanup(tmp_path, code, out, err, tmp)
    assert "once more to exit at once" in err
