"""A corpus mail end to end on the real kernel: pvtime v7 (vCPU device
attributes, merged in v5.5 and unchanged in v6.12 for the rows it has)
extracted, planned, built and run on Debian 6.12 under QEMU.  SOURCES.md
says v7's checks are what v6.12 does, so every case must conform.  The
spec is not a bundled one: its reference module is generated from it and
loaded from memory.  Slow (one boot); marked `boot`."""
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
from tests.extract.corpus_truth import TRUTH, Found

pytestmark = pytest.mark.boot

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


def _run(out: Path, entry: str):
    """One corpus mail checked on its own (its reference loaded from memory)."""
    return _run_many(out, [entry])


@pytest.fixture(scope="module")
def pvtime_run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("corpus"), "pvtime-v7-07")


def test_every_pvtime_case_conforms_on_6_12(pvtime_run):
    code, data = pvtime_run
    assert code == 0
    assert data["kernel"]["release"].startswith("6.12")
    cases = data["cases"]
    assert len(cases) >= 30
    bad = [(c["id"], c["verdict"], c["reason"]) for c in cases if c["verdict"] != "conforms"]
    assert bad == []


def test_the_ground_truth_rows_were_exercised(pvtime_run):
    _, data = pvtime_run
    clauses = {(c["clause"], c["id"].split(".")[0]) for c in data["cases"]}
    request = {"KVM_SET_DEVICE_ATTR": "set_attr", "KVM_GET_DEVICE_ATTR": "get_attr",
               "KVM_HAS_DEVICE_ATTR": "has_attr", "KVM_CREATE_DEVICE": "create_device"}
    rows = [x for x in TRUTH["pvtime-v7-07"].rows if isinstance(x, Found)]
    run = [x for x in rows if (x.check, request[x.op.split("(")[0]]) in clauses]
    assert run == rows


def test_pvtime_v6_diverges_where_v7_added_the_memslot_check(tmp_path):
    """v6 accepts any 64-byte aligned IPA; v6.12 (as v7, after review)
    refuses one no memslot backs with EINVAL: exactly the cases whose call
    v6 says succeeds diverge, naming v6's success line."""
    _, data = _run(tmp_path, "pvtime-v6-07")
    div = [c for c in data["cases"] if c["verdict"] == "diverges"]
    assert div and all(c["verdict"] == "conforms" for c in data["cases"] if c not in div)
    for c in div:
        assert c["id"].startswith("set_attr.pvtime.") and c["expected"]["ret"] == 0
        assert c["observed"]["errno"] == "EINVAL" and "pvtime-v6-07.txt:131" in c["reason"]


def test_nisv_capability_number_diverges_and_its_exit_conforms(tmp_path):
    """SOURCES.md: posted 176, v6.12 177 (176 is a PPC capability there).
    Rows 6-7: the guest's LDP outside every memslot (no ISV syndrome) exits
    with KVM_EXIT_ARM_NISV, the faulting IPA and an esr_iss holding no bit
    but the fault status code (the patch's helper keeps CM | WnR | FSC; the
    LDP is a read) when the capability is enabled, and KVM_RUN fails with
    ENOSYS when not."""
    _, data = _run(tmp_path, "nisv-v3-01")
    verdicts = {c["id"]: c["verdict"] for c in data["cases"]}
    assert verdicts.pop("cap.number") == "diverges"
    assert set(verdicts.values()) == {"conforms"} and "enable_cap.flags_nonzero" in verdicts
    # kvm_vm_ioctl's copy of struct kvm_enable_cap (the vocabulary's entry point),
    # exercised with the argument on an unmapped page
    copy = next(c for c in data["cases"] if c["id"] == "enable_cap.cap_copy_faults")
    assert copy["observed"]["errno"] == "EFAULT"
    assert copy["source"]["seed"] == "vocabulary.yaml" and \
        copy["source"]["patch"] == "entry point KVM_ENABLE_CAP"
    by_id = {c["id"]: c for c in data["cases"]}
    assert by_id["guest.exit.arm_nisv.disabled"]["observed"]["errno"] == "ENOSYS"
    assert by_id["guest.exit.arm_nisv.disabled"]["source"]["line"] == 336
    assert by_id["guest.exit.arm_nisv.enabled"]["verdict"] == "conforms"


def test_fw_bmap_one_reg_conforms_on_6_12(tmp_path):
    """fw-bmap v7 (firmware pseudo-register KVM_REG_ARM_STD_BMAP through
    KVM_GET/SET_ONE_REG, merged in v5.19): SOURCES.md rows 1-7 and 9-12 are
    what v6.12 does, and row 8 differs only for an unchanged value, which
    no case sets; so every case conforms, and each ground-truth row of the
    SET is some case's clause.  The GET on a fresh VM reads the default
    (row 11), a SET's value is read back (row 9) and KVM_GET_REG_LIST lists
    the register (row 12)."""
    code, data = _run(tmp_path, "fw-bmap-v7-02")
    assert data["kernel"]["release"].startswith("6.12")
    # row 8 changed after merge: posted refuses any write once a vCPU ran
    # (EBUSY at :383), v6.12 accepts the value the register already holds
    div = {c["id"]: c for c in data["cases"] if c["verdict"] == "diverges"}
    assert set(div) == {"set_one_reg.std_bmap.vm_has_run.same_value",
                        "set_one_reg.std_bmap.vm_has_run_2.same_value"}
    for c in div.values():
        assert c["observed"]["ret"] == 0 and "fw-bmap-v7-02.txt:383" in c["reason"]
    bad = [(c["id"], c["verdict"], c["reason"]) for c in data["cases"] if c["id"] not in div
           and c["verdict"] not in ("conforms", "not reachable", "untested")]
    assert bad == []
    run = {(c["clause"], c["id"].split(".")[0]) for c in data["cases"]
           if c["verdict"] == "conforms"}
    rows = [(x.check, x.op.split("(")[0][4:].lower()) for x in TRUTH["fw-bmap-v7-02"].rows
            if isinstance(x, Found)]
    assert ("value_copy_faults", "get_one_reg") in rows      # row 10, the GET's copy out
    assert set(rows) <= run
    ids = {c["id"] for c in data["cases"] if c["verdict"] == "conforms"}
    assert {"get_one_reg.std_bmap.valid", "get_one_reg.std_bmap.listed",
            "set_one_reg.std_bmap.then_get", "get_one_reg.std_bmap.id_not_a_case"} <= ids
    untested = [c["id"] for c in data["cases"] if c["verdict"] == "untested"]
    assert untested == ["set_one_reg.std_bmap.id_not_a_case_2"]


def _run_many(out: Path, entries: list[str]):
    """Several corpus mails checked in one boot (the first is the primary)."""
    paths, names = [], []
    for entry in entries:
        spec = extract_spec(CORPUS / f"{entry}.txt", entry)
        path = out / f"{entry}.yaml"
        path.write_text(dump_spec(spec))
        name = f"reference.{module_name(spec)}"
        mod = types.ModuleType(name)
        exec(compile(render_reference(spec), name, "exec"), mod.__dict__)
        sys.modules[name] = mod
        paths.append(path)
        names.append(name)
    try:
        code = main(["run", "--quiet", *[a for p in paths for a in ("--spec", str(p))],
                     "--results", str(out / "r.json"), "--work-dir", str(out / "work")])
    finally:
        for name in names:
            del sys.modules[name]
    return code, json.loads((out / "r.json").read_text())


def test_vcpu_ioctls_and_vcpu_features_on_6_12(tmp_path):
    """vCPU-fd operations in one boot, against SOURCES.md: KVM_SET_VCPU_EVENTS
    (nisv-v3-02 rows 1-3 and 5 conform, row 4 too on a host without RAS --
    host profile armv8.0, booted for its cases -- row 6's
    ext_dabt_pending returns 0 and row 7 reads it back as 0),
    KVM_ARM_VCPU_FINALIZE rows 1-3 and KVM_RUN rows 8-10 conform (row 10 on a
    vCPU with KVM_ARM_VCPU_SVE never finalized), and the PMU feature test of
    pmu-set-pmu-v4-05 row 2 conforms both ways (ENODEV without
    KVM_ARM_VCPU_PMU_V3; with it, row 4's get_user is reached) -- or is
    skipped naming the feature where the emulated host has no PMU."""
    _, data = _run_many(tmp_path, ["nisv-v3-02", "sve-finalize-pull-22", "pmu-set-pmu-v4-05"])
    assert data["kernel"]["release"].startswith("6.12")
    by_id = {c["id"].split(":", 1)[-1]: c for c in data["cases"]}   # "<spec>:" after the first
    verdict = {i: c["verdict"] for i, c in by_id.items()}
    events = {i: v for i, v in verdict.items() if i.startswith("set_vcpu_events.")}
    assert len(events) >= 25
    assert {i for i, v in events.items() if v != "conforms"} == set()
    ras = by_id["set_vcpu_events.serror_esr_without_ras"]
    assert ras["host"] == "armv8.0" and ras["observed"]["errno"] == "EINVAL"
    for row in (x for x in TRUTH["nisv-v3-02"].rows if isinstance(x, Found)):
        assert any(c["clause"] == row.check and c["verdict"] == "conforms"
                   for c in data["cases"]), row
    assert by_id["set_vcpu_events.exception_ext_dabt_pending_nonzero"]["observed"]["ret"] == 0
    assert by_id["set_vcpu_events.reads_back.exception_ext_dabt_pending"]["observed"]["ret"] == 0
    assert verdict["cap.number"] == "diverges"          # posted 177, v6.12 178
    sve = {i: v for i, v in verdict.items() if i.startswith(("vcpu_finalize.", "run."))}
    # row 10: the posted kvm_arm_vcpu_is_finalized() is a placeholder, read with the
    # vocabulary's concept: a vCPU initialised with KVM_ARM_VCPU_SVE and never
    # finalized -- or skipped naming KVM_CAP_ARM_SVE where the host has no SVE
    fin = sorted(i for i in sve if "not_vcpu_finalized" in i)
    assert fin == ["run.not_vcpu_finalized", "run.pair.arg_nonzero+not_vcpu_finalized"]
    if verdict["run.not_vcpu_finalized"] == "skipped":
        assert all("KVM_CAP_ARM_SVE" in by_id[i]["reason"] for i in fin)
        for i in fin:
            del sve[i]
    else:
        assert by_id["run.not_vcpu_finalized"]["observed"]["errno"] == "EPERM"
    assert set(sve.values()) == {"conforms"} and len(sve) in (7, 9)
    for clause in ("not_vcpu_initialised", "user_read_faults", "kvm_arm_vcpu_finalize",
                   "arg_nonzero"):
        assert any(c["clause"] == clause and c["verdict"] == "conforms" for c in data["cases"])
    pmu = "set_attr.pmu_v3_pmu_v3_set_pmu"
    lacks = verdict[f"{pmu}.user_read_faults"] == "skipped"
    if lacks:                           # the emulated host offers no PMU to KVM
        assert "KVM_ARM_VCPU_PMU_V3" in by_id[f"{pmu}.user_read_faults"]["reason"]
    else:
        assert by_id[f"{pmu}.user_read_faults"]["observed"]["errno"] == "EFAULT"
    assert verdict[f"{pmu}.not_vcpu_has_pmu"] == "conforms"
    assert by_id[f"{pmu}.not_vcpu_has_pmu"]["observed"]["errno"] == "ENODEV"
    # row 9: KVM_HAS_DEVICE_ATTR(SET_PMU) is 0 on a vCPU with PMUv3, ENXIO without
    has = "has_attr.pmu_v3_pmu_v3_set_pmu"
    if not lacks:
        assert verdict[f"{has}.valid"] == "conforms" and by_id[f"{has}.valid"]["observed"]["ret"] == 0
    assert by_id[f"{has}.not_vcpu_has_pmu"]["observed"]["errno"] == "ENXIO"
    assert verdict[f"{has}.not_vcpu_has_pmu"] == "conforms"
