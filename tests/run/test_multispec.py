"""One run, several specs (the default `kconform run`): MTE v10 with the
lock-memslot RFC and the MMIO guard in one boot, without booting -- the
console a kernel following each spec would print is replayed through the
runner's own watcher.  Every spec's clauses are in the report with a
verdict, none missing; companion ids are `<spec>:<case>`; the baseline,
JUnit, markdown, KTAP and JSON outputs keep working."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from generator.plan import plan
from generator.run.matrix import ColumnState, run_matrix
from generator.model import Verdict
from generator.run.pipeline import DEFAULT_SPECS, RunRequest, prepare
from generator.runner.initramfs import Markers
from generator.runner.qemu import ReplayConsole, watch
from generator.runner.run import HOST_GRACE, outcome_from_lines
from generator.model.specio import load_spec
from generator import paths

from tests.verdict.test_crosscheck import fake_kernel_output

DATA = Path(__file__).parents[1] / "data" / "runner"
LOCK, MMIO = "lock-memslot-rfc-v5", "mmio-guard-v2"


class FollowingKernel:
    """Test double for targets.QemuTarget: a console log in which every
    spec's test binary prints what a kernel following that spec would
    (test_crosscheck.fake_kernel_output), after the platform check of a
    captured Debian 6.1 boot."""

    def __init__(self, label, page_size=4096, drop=()):
        self.label, self.page_size, self.drop = label, page_size, drop

    def resolve(self, log=None):
        pass

    def facts(self):
        return {"target": "replay", "kernel_name": self.label}

    def run(self, binaries, *, per_test_timeout, total_timeout, log_path, work_dir,
            on_event=None, cancel=None):
        head = (DATA / "debian-6.1.log").read_text().splitlines()
        end = next(i for i, l in enumerate(head) if " BEGIN hello_ktap " in l)
        lines = head[:end]
        marker = lines[-1].split()[0]
        for b in binaries:
            name = Path(b).name
            spec = next((s for s in DEFAULT_SPECS if name == f"kconform_{s.replace('-', '_')}"),
                        None)
            lines.append(f"{marker} BEGIN {name} 4.00")
            if spec is not None:
                s = load_spec(paths.spec_path(spec))
                cases = [c for c in plan(s) if c.id not in self.drop]
                lines += fake_kernel_output(s, cases, self.page_size)
            else:
                lines += ["KTAP version 1", "1..0"]
            lines.append(f"{marker} END {name} 0 4.10")
        lines.append(f"{marker} DONE 4.20")
        console = ReplayConsole("\n".join(lines) + "\n")
        markers = Markers.find_in(console._lines)
        watched = watch(console, boot_timeout=180, step_timeout=per_test_timeout + HOST_GRACE,
                        total_timeout=total_timeout, cancel=cancel,
                        is_progress=lambda l: markers.parse(l) is not None)
        return outcome_from_lines(watched, markers, expected=[Path(b).name for b in binaries],
                                  per_test_timeout=per_test_timeout)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    work = tmp_path_factory.mktemp("multi")
    return prepare(RunRequest(spec="mte-v10", companions=(LOCK, MMIO), work_dir=work))


def test_prepare_builds_one_binary_per_spec_with_cases(prepared):
    parts = {p.spec.name: p for p in prepared.parts}
    assert list(parts) == list(DEFAULT_SPECS)
    assert parts["mte-v10"].binary.name == "kconform_mte_v10"
    assert parts[LOCK].binary.name == "kconform_lock_memslot_rfc_v5"
    assert parts[MMIO].binary is None and "internal functions" in parts[MMIO].nothing
    names = [b.name for b in prepared.binaries]
    assert names == ["kconform_mte_v10", "kconform_lock_memslot_rfc_v5", "btf_probe"]
    ids = [c.id for c in prepared.all_cases]
    assert "cap.number" in ids and f"{LOCK}:cap.number" in ids and len(ids) == len(set(ids))
    listed = [r.id for r in prepared.listed]
    assert f"{LOCK}:enable_cap.not_vcpus_lockable" in listed
    assert f"{MMIO}:kvm_install_ioguard_page.ipa_unaligned" in listed


@pytest.fixture(scope="module")
def matrix(prepared):
    req = RunRequest(spec="mte-v10", companions=(LOCK, MMIO))
    return run_matrix(req, [FollowingKernel("debian-6.1")], prepared=prepared)


def test_every_clause_of_every_spec_has_a_verdict(matrix, prepared):
    [col] = matrix.columns
    assert col.state is ColumnState.COMPLETED
    got = {r.id: r for r in col.results}
    want = [c.id for c in prepared.all_cases] + [r.id for r in prepared.listed]
    assert sorted(got) == sorted(want) and len(got) == len(want)   # none missing, none extra
    for spec in DEFAULT_SPECS:
        rows = [r for r in col.results if r.spec == spec]
        checks = [c for op in load_spec(paths.spec_path(spec)).operations for c in op.checks]
        assert rows, spec
        # every check of the spec is a case (violated, or the failing check) or a row
        clauses = {r.clause for r in rows}
        missing = [c.id for c in checks if c.id not in clauses]
        assert not missing, (spec, missing)
    lock = {r.id: r for r in col.results if r.spec == LOCK}
    assert lock[f"{LOCK}:cap.number"].verdict is Verdict.CONFORMS
    assert lock[f"{LOCK}:enable_cap.not_kvm_arm_lock_memslot_supported.lock"].observed.errno == "EINVAL"
    assert lock[f"{LOCK}:enable_cap.slot_at_least"].verdict is Verdict.UNREACHABLE
    assert {r.verdict for r in col.results if r.spec == MMIO} == {Verdict.UNREACHABLE}


def test_json_keeps_spec_and_adds_specs(matrix):
    from generator.report.table import to_json
    col = matrix.columns[0]
    doc = to_json(matrix.spec.name, col.results, col.report.facts)
    assert doc["spec"] == "mte-v10" and doc["specs"] == list(DEFAULT_SPECS)
    assert set(doc) >= {"kernel", "emulator", "cases"}
    assert all("spec" in c for c in doc["cases"])
    assert doc["nothing_to_run"] == {MMIO: col.report.facts.specs[2]["nothing_to_run"]}
    s = doc["summary_by_spec"]
    assert s[MMIO] == {"conforms": 0, "diverges": 0, "skipped": 0, "error": 0,
                       "not_reachable": 8, "untested": 0, "total": 8, "checks": 8,
                       "checks_exercised": 0, "checks_untested": 0, "checks_not_reachable": 8}
    assert s["mte-v10"]["untested"] == 1 and s["mte-v10"]["checks_untested"] == 1
    # 6: the RFC's three cases, cap.number, the capability probe and kvm_vm_ioctl's copy
    assert s[LOCK]["not_reachable"] == 12 and s[LOCK]["conforms"] == 6
    json.dumps(doc)


def test_terminal_report_has_a_table_per_spec(matrix, capsys):
    from rich.console import Console

    from generator.report.table import render_report
    col = matrix.columns[0]
    render_report("mte-v10", col.results, col.report.facts,
                  console=Console(width=200, force_terminal=False, color_system=None))
    out = capsys.readouterr().out
    assert f"{LOCK} on " in out and f"{MMIO}: nothing to run (its 3 operation(s)" in out
    assert f"{LOCK}: 6 cases: 6 conform, 0 diverge, 0 skipped, 0 error; 12 rule(s) not reachable" in out
    assert f"{MMIO}: 0 cases: 0 conform, 0 diverge, 0 skipped, 0 error; 8 rule(s) not reachable" in out
    assert "all 3 specs: " in out
    assert f"{LOCK}:cap.number" not in out        # the table of the spec shows its own ids


def test_baseline_accepts_not_reachable_by_default_and_round_trips(matrix):
    from generator.report.baseline import compare, parse, record
    text = record(matrix)
    assert f"spec mte-v10 {LOCK} {MMIO}\n" in text
    assert "not-reachable" not in text            # the default for listed rules
    b = parse(text)
    assert b.spec == "mte-v10" and b.specs == list(DEFAULT_SPECS)
    assert [c for c in compare(b, matrix) if c.fails] == []
    # a listed rule that became a case would be a change
    edited = text + f"debian-6.1  {LOCK}:enable_cap.slot_at_least  diverges  # x\n"
    [change] = [c for c in compare(parse(edited), matrix) if c.fails]
    assert change.line().startswith(f"debian-6.1 {LOCK}:enable_cap.slot_at_least: "
                                    "baseline diverges, now not-reachable")


def test_baseline_for_other_specs_is_refused(matrix):
    from generator.report.baseline import compare, parse
    from generator.errors import KconformError
    with pytest.raises(KconformError, match=f"baseline is for spec mte-v10, the run is "
                       f"mte-v10 {LOCK} {MMIO}; pass --spec mte-v10"):
        compare(parse("spec mte-v10\nkernels debian-6.1\n"), matrix)


def test_junit_ktap_and_markdown(matrix, tmp_path):
    from junitparser import JUnitXml

    from generator.report.ci import ktap, write_junit
    from generator.report.matrix import to_markdown
    write_junit(tmp_path / "j.xml", matrix)
    [suite] = list(JUnitXml.fromfile(str(tmp_path / "j.xml")))
    skipped = [c for c in suite if c.result and c.result[0]._tag == "skipped"]
    # the one failure: cap.number probes v10's 195, which the kernel's headers give
    # KVM_CAP_SET_GUEST_DEBUG2 (MTE is 205): never a pass, even when the answer agrees
    failed = [c for c in suite if c.result and c.result[0]._tag == "failure"]
    assert [c.name for c in failed] == ["cap.number"]
    assert len(skipped) == 21 and suite.failures == 1 and suite.tests == 93
    assert {c.classname.split(".")[0] for c in skipped} == {LOCK, MMIO, "mte-v10"}
    untested = [c for c in skipped if c.result[0].message.startswith("untested: ")]
    assert [c.name for c in untested] == ["enable_cap.not_host_has_mte"]
    write_junit(tmp_path / "s.xml", matrix, strict=True)     # --strict: untested fails too
    [suite] = list(JUnitXml.fromfile(str(tmp_path / "s.xml")))
    assert suite.failures == 2
    text = ktap(matrix)
    assert f"# kconform: mte-v10 + {LOCK} + {MMIO} on 1 kernel(s)" in text
    assert "        ok 1 enable_cap.cap_copy_faults" in text      # kvm_vm_ioctl's copy first
    assert re.search(r"^        ok \d+ enable_cap\.not_kvm_arm_lock_memslot_supported\.lock$",
                     text, re.M)
    md = to_markdown(matrix)
    assert md.startswith(f"## kconform: mte-v10 + {LOCK} + {MMIO} on 1 kernel(s)")
    assert "### Rules no call from userspace reaches" in md
    bad = md.split("### Cases that do not conform")[1].split("###")[0]
    assert LOCK not in bad and MMIO not in bad    # not reachable is not a failure


def test_cli_default_is_the_three_specs_and_spec_v8_alone(monkeypatch):
    from generator.cli import run as commands
    from generator.cli import build_parser
    args = build_parser().parse_args(["run"])
    req, _ = commands._plan(args)
    assert req.specs == DEFAULT_SPECS
    req, _ = commands._plan(build_parser().parse_args(["run", "--spec", "v8"]))
    assert req.specs == ("mte-v8",)
    req, _ = commands._plan(build_parser().parse_args(["run", "--spec", "v10", "--spec", "v5"]))
    assert req.specs == ("mte-v10", LOCK)
