"""The levers that set VM, vCPU and process state, on the real kernel: one
boot of Debian 6.12 runs smccc-filter v3 09 (a VM attribute whose addr is
a struct: reserved bytes, a derived u32 range, a bound from a vocabulary
constant, a vCPU that has run, the filter helper's EEXIST for the valid call made twice), pmu-set-pmu v4
05 (a PMU initialised first, the host's PMU type read at run time, a vCPU
that has run) and x86-nx-huge-pages v6 08 (CAP_SYS_BOOT dropped; an x86
capability, so not reported on arm64: the run leaves the x86_64 target out,
`--arch arm64`), plus a FIXTURE of mainline's
KVM_ARM_SET_COUNTER_OFFSET (a vCPU held inside KVM_RUN: EBUSY).  The
verdicts must be the ones tests/data/corpus/SOURCES.md gives for v6.12.  Slow (one boot); marked
`boot`."""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from generator.cli import main
from generator.extract import extract_spec
from generator.model.specio import dump_spec
from generator.render.reference import module_name, render_reference
from tests.data.spec_fixtures import fixture_spec_counter_offset

pytestmark = pytest.mark.boot

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
MAILS = ("smccc-filter-v3-09", "pmu-set-pmu-v4-05", "x86-nx-huge-pages-v6-08")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("levers")
    specs = [extract_spec(CORPUS / f"{m}.txt", m) for m in MAILS] + [fixture_spec_counter_offset()]
    args, names = [], []
    for spec in specs:
        path = out / f"{spec.name}.yaml"
        path.write_text(dump_spec(spec))
        args += ["--spec", str(path)]
        name = f"reference.{module_name(spec)}"
        mod = types.ModuleType(name)
        exec(compile(render_reference(spec), name, "exec"), mod.__dict__)
        sys.modules[name] = mod
        names.append(name)
    try:
        code = main(["run", "--quiet", "--arch", "arm64", *args, "--results", str(out / "r.json"),
                     "--work-dir", str(out / "work")])
    finally:
        for name in names:
            del sys.modules[name]
    data = json.loads((out / "r.json").read_text())
    assert code in (0, 1) and data["kernel"]["release"].startswith("6.12")
    return data["cases"]


def _id(case) -> str:
    return case["id"].split(":")[-1]        # a second spec's ids name it first


def _by(cases, prefix: str) -> dict:
    return {_id(c): c for c in cases if _id(c).startswith(prefix)}


def test_every_smccc_filter_case_conforms(run):
    """SOURCES rows 1-9 and 11: the v3 checks are v6.12's, in order."""
    smccc = _by(run, "set_attr.smccc.")
    clauses = {c["clause"] for c in smccc.values()}
    assert {"bytes_nonzero", "end_below", "filter_action_at_least", "vm_has_run"} <= clauses
    assert len([i for i in smccc if ".bytes_nonzero.pad_" in i]) == 15
    assert smccc["set_attr.smccc.range_overlaps"]["observed"]["errno"] == "EEXIST"
    bad = [(i, c["verdict"], c["reason"]) for i, c in smccc.items() if c["verdict"] != "conforms"]
    # row 10, the maple tree's ENOMEM, is the host's: an untested row, said so
    assert [(i, v) for i, v, _ in bad] == [("set_attr.smccc.host_memory_exhausted", "untested")]
    assert bad[0][2].startswith("only the host decides it")


def test_the_pmu_rows_the_levers_reach_conform(run):
    """SOURCES rows 3, 5 and 6: EBUSY for a PMU initialised first, ENXIO for
    a type no host PMU has, EBUSY once a vCPU ran (with the host's type)."""
    pmu = _by(run, "set_attr.pmu_v3_pmu_v3_set_pmu.")
    for clause, errno in (("pmu_initialised", "EBUSY"), ("arm_pmu_pmu_type_mismatch", "ENXIO"),
                          ("vm_has_run", "EBUSY")):
        c = pmu[f"set_attr.pmu_v3_pmu_v3_set_pmu.{clause}"]
        assert (c["verdict"], c["observed"]["errno"]) == ("conforms", errno), c["reason"]
    assert not [i for i, c in pmu.items() if c["verdict"] == "error"]


def test_the_capability_case_is_planned_and_not_applicable_on_arm64(run):
    """SOURCES rows 8-9: KVM_CAP_VM_DISABLE_NX_HUGE_PAGES is x86's, so the
    case that drops CAP_SYS_BOOT is skipped on arm64, naming the capability."""
    c = next(c for c in run if _id(c) == "enable_cap.not_caller_capable")
    assert c["verdict"] == "skipped" and "KVM_CAP_VM_DISABLE_NX_HUGE_PAGES" in c["reason"]


def test_a_vcpu_inside_kvm_run_keeps_every_vcpu_from_being_locked(run):
    """KVM_ARM_SET_COUNTER_OFFSET (mainline, FIXTURE): EBUSY while a vCPU
    is inside KVM_RUN on a thread of the test; the thread ends with the
    case, so the cases after it run as usual."""
    co = _by(run, "set_counter_offset.")
    assert co["set_counter_offset.not_vcpus_lockable"]["observed"]["errno"] == "EBUSY"
    assert {i: c["verdict"] for i, c in co.items()} == {i: "conforms" for i in co}
    assert "set_counter_offset.valid" in co
