"""The kernel matrix on real boots: Debian's 6.1, 6.12 and 6.12-16K kernels
under QEMU in one command, in CI mode against the committed baseline; an
edited baseline fails with a one-line explanation; Ctrl-C keeps the
finished columns.  Slow (two QEMUs at a time); marked `boot`."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.cli import main

pytestmark = pytest.mark.boot

ROOT = Path(__file__).parents[2]
BASELINE = ROOT / "baselines" / "mte-v10.baseline"
KERNELS = ["debian-6.1", "debian-6.12", "debian-6.12-16k"]


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    """`kconform run --baseline baselines/mte-v10.baseline` with every output:
    the baseline gives the spec and the three kernels."""
    out = tmp_path_factory.mktemp("matrix")
    args = ["run", "--quiet", "--baseline", str(BASELINE), "--work-dir", str(out / "work"),
            "--results", str(out / "r.json"), "--markdown", str(out / "r.md"),
            "--junit", str(out / "r.xml"), "--ktap", str(out / "r.ktap")]
    code = main(args)
    return code, json.loads((out / "r.json").read_text()), out


def _columns(data):
    return {c["kernel"]: c for c in data["columns"]}


def test_ci_run_against_the_committed_baseline_passes(ci_run, capsys):
    code, data, _ = ci_run
    assert data["baseline"]["changes"] == [], data["baseline"]["changes"]
    assert code == 0
    assert data["kernels"] == KERNELS


def test_every_cell_comes_from_a_real_boot(ci_run):
    _, data, out = ci_run
    cols = _columns(data)
    releases = {}
    for name in KERNELS:
        c = cols[name]
        assert c["state"] == "completed", c["error"]
        r = c["results"]
        assert r["platform"]["state"] == "ok", r["platform"]["sentence"]
        releases[name] = r["kernel"]["release"]
        for case in r["cases"]:
            assert case["verdict"] in ("conforms", "diverges", "skipped", "not reachable", "untested"), case
            if case["verdict"] in ("conforms", "diverges"):
                assert case["observed"] is not None and "ret" in case["observed"]
        # the default run: MTE v10, the lock-memslot RFC and the MMIO guard
        assert r["specs"] == ["mte-v10", "lock-memslot-rfc-v5", "mmio-guard-v2"]
        assert {case["spec"] for case in r["cases"]} == set(r["specs"])
        assert all(case["verdict"] == "not reachable" for case in r["cases"]
                   if case["spec"] == "mmio-guard-v2")
        # Each kernel has its own console log, and it is that kernel's.
        log = Path(r["run"]["log"])
        assert log.parent.name == name and log.is_file()
        assert f"RELEASE {releases[name]}" in log.read_text(errors="replace")
    assert releases["debian-6.1"].startswith("6.1.")
    assert releases["debian-6.12"].startswith("6.12.") and not releases["debian-6.12"].endswith("16k")
    assert releases["debian-6.12-16k"].endswith("-16k")


def test_the_16k_kernel_makes_sense_on_its_own_terms(ci_run):
    """Byte counts scale with the running page size: the same call sequence
    copies tags for 4 pages (16 KiB at 4K, 64 KiB at 16K), stops at the
    memslot end 2 pages in, and every alignment rule is checked against the
    kernel's own page size."""
    _, data, _ = ci_run
    cols = _columns(data)
    for name in KERNELS:
        r = cols[name]["results"]
        ps = r["kernel"]["page_size"]
        assert ps == (16384 if name.endswith("16k") else 4096)
        by = {c["id"]: c for c in r["cases"]}
        assert by["copy_tags.valid.roundtrip_4pages"]["observed"]["ret"] == 4 * ps
        assert by["copy_tags.valid.never_written"]["observed"]["ret"] == 2 * ps
        assert by["copy_tags.partial.from_guest_past_slot_end"]["observed"]["ret"] == 2 * ps
        for case in ("copy_tags.length_unaligned", "copy_tags.guest_ipa_unaligned"):
            assert by[case]["verdict"] == "conforms"
            assert by[case]["observed"]["errno"] == "EINVAL"
    assert "copy_tags.valid.roundtrip_4pages" in data["comparison"]["scaled"]


def test_cross_kernel_differences_are_real(ci_run):
    """Every listed difference has kernels that did different things, and
    every case not listed has all kernels agreeing (read in pages)."""
    from generator.run.matrix import _ret
    _, data, _ = ci_run
    cmp = data["comparison"]
    assert cmp["compared"] == KERNELS
    listed = {d["case"] for d in cmp["differences"]}
    for d in cmp["differences"]:
        assert len(set(d["kernels"].values())) > 1, d
    cols = _columns(data)
    for case in [c["id"] for c in cols["debian-6.12"]["results"]["cases"]]:
        if case in listed:
            continue
        seen = set()
        for name in KERNELS:
            r = cols[name]["results"]
            c = next(x for x in r["cases"] if x["id"] == case)
            obs = c["observed"]
            scaled = _ret(obs["ret"], r["kernel"]["page_size"]) if obs and c["verdict"] == "diverges" else ""
            seen.add((c["verdict"], scaled))
        assert len(seen) == 1, (case, seen)


def test_markdown_junit_and_ktap_outputs(ci_run):
    from junitparser import JUnitXml
    _, data, out = ci_run
    md = (out / "r.md").read_text()
    assert md.startswith("## kconform: mte-v10 + lock-memslot-rfc-v5 + mmio-guard-v2 "
                         "on 3 kernel(s)")
    assert "### Rules no call from userspace reaches" in md
    assert "### Against the baseline" in md and "No verdict differs from the baseline." in md
    assert "### Where the kernels differ from each other" in md
    for name in KERNELS:
        assert f"| {name} |" in md
    suites = list(JUnitXml.fromfile(str(out / "r.xml")))
    assert len(suites) == 3
    cols = _columns(data)
    for s in suites:
        kernel = next(p.value for p in s.properties() if p.name == "kernel")
        assert s.tests == len(cols[kernel]["results"]["cases"])
        assert s.failures == 0          # every divergence is accepted by the baseline
        assert s.skipped >= 20          # the rules no call reaches, at least
    ktap = (out / "r.ktap").read_text().splitlines()
    assert ktap[:3] == ["KTAP version 1", "# kconform: mte-v10 + lock-memslot-rfc-v5 + "
                        "mmio-guard-v2 on 3 kernel(s)", "1..3"]
    assert [l for l in ktap if re.match(r"(not )?ok \d", l)] == \
        [f"ok {i} {k}" for i, k in enumerate(KERNELS, 1)]
    # the test binary's own KTAP, two levels down, verbatim
    # (kvm_vm_ioctl's copy of the argument is each spec's first KVM_ENABLE_CAP case)
    assert "        ok 1 enable_cap.cap_copy_faults" in ktap
    for case in ("enable_cap.flags_nonzero", "enable_cap.not_kvm_arm_lock_memslot_supported.lock"):
        assert any(re.fullmatch(rf"        ok \d+ {re.escape(case)}", l) for l in ktap), case


def test_a_changed_verdict_fails_with_one_line(tmp_path, capsys):
    """The committed baseline with one verdict edited: the run exits 1 and
    prints exactly that case, on one line, saying what changed."""
    text = BASELINE.read_text()
    case = "copy_tags.valid.never_written"
    edited, n = re.subn(rf"^(debian-6\.12 +{re.escape(case)} +)diverges ", r"\1skipped  ",
                        text, flags=re.M)
    assert n == 1
    (tmp_path / "edited.baseline").write_text(edited)
    code = main(["run", "--quiet", "--kernel", "debian-6.12", "--baseline",
                 str(tmp_path / "edited.baseline"), "--work-dir", str(tmp_path / "work")])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    changed = [l for l in out if l.startswith("debian-6.12 ")]
    assert len(changed) == 1
    assert changed[0].startswith(f"debian-6.12 {case}: baseline skipped, now diverges — "
                                 "observed ret=8192, the patch says ret=0")
    assert out[-1] == f"baseline {tmp_path / 'edited.baseline'}: 1 verdict(s) differ"


def test_unknown_name_and_ctrl_c_keep_the_finished_column(tmp_path):
    """One kernel at a time: an unknown name is its own column listing the
    names that resolve; Ctrl-C after the first boot finishes interrupts the
    second and skips the third, and the report is still written."""
    cmd = [sys.executable, "-m", "generator.cli", "run", "--jobs", "1",
           "--kernel", "debian-7,debian-6.1", "--kernel", "debian-6.12,debian-6.12-16k",
           "--results", str(tmp_path / "r.json"), "--markdown", str(tmp_path / "r.md"),
           "--work-dir", str(tmp_path / "work")]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 300
    try:
        for line in proc.stderr:
            if "[debian-6.1] completed in" in line:
                break
            if "[debian-6.12] booting" in line:
                pytest.fail("debian-6.12 started before debian-6.1 finished")
            assert time.monotonic() < deadline
        time.sleep(1.0)                       # debian-6.12 is booting now
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3
    data = json.loads((tmp_path / "r.json").read_text())
    states = {c["kernel"]: c["state"] for c in data["columns"]}
    assert states == {"debian-7": "unknown kernel", "debian-6.1": "completed",
                      "debian-6.12": "interrupted", "debian-6.12-16k": "not run"}
    assert data["interrupted"] is True
    unknown = _columns(data)["debian-7"]["error"]
    assert "Names that resolve:" in unknown and "debian-6.12-16k" in unknown
    done = _columns(data)["debian-6.1"]["results"]
    assert done["kernel"]["release"].startswith("6.1.") and done["summary"]["error"] == 0
    assert "interrupted: kept 1 finished column(s) of 4" in stdout
    assert "- debian-6.12: interrupted: the run was interrupted" in (tmp_path / "r.md").read_text()
