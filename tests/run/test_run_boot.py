"""End to end on a real kernel: `kconform run` boots the default Debian
arm64 kernel under QEMU and every case gets a verdict from what that kernel
did.  Slow (about 10 s a boot); marked `boot`."""
import json

import pytest

from generator.cli import main

pytestmark = pytest.mark.boot

VERDICTS = {"conforms", "diverges", "skipped", "error", "not reachable", "untested"}


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


def _run_on(machine: str, tmp_path):
    import dataclasses

    from generator.run.pipeline import RunRequest, run
    from generator.runner.qemu import AARCH64
    cfg = dataclasses.replace(AARCH64, machine=machine)
    return run(RunRequest(qemu_config=cfg, work_dir=tmp_path))


def test_kernel_without_mte_skips_with_the_reason(tmp_path):
    """Same kernel, QEMU without MTE: the functional cases are skipped with
    the probe's reason; what is observable (check-extension) is still judged."""
    r = _run_on("virt,virtualization=on,mte=off,gic-version=3", tmp_path)
    by = {x.id: x for x in r.results}
    assert by["check_extension.reports_mte"].verdict.value == "conforms"
    assert by["check_extension.reports_mte"].observed.ret == 0
    functional = [x for x in r.results if x.id.startswith("copy_tags.")]
    assert functional and all(x.verdict.value == "skipped" for x in functional)
    assert all("KVM_CAP_ARM_MTE" in x.reason for x in functional)
    assert r.facts.platform_state == "unchecked"


def test_kernel_without_kvm_skips_every_case(tmp_path):
    """No EL2 for the guest kernel, so no /dev/kvm: every case is skipped."""
    r = _run_on("virt,virtualization=off,mte=on,gic-version=3", tmp_path)
    ran = [x for x in r.results if x.verdict.value != "untested"]   # no case: the spec decides
    assert ran and all(x.verdict.value == "skipped" for x in ran), \
        [(x.id, x.verdict, x.reason) for x in ran if x.verdict.value != "skipped"]
    assert all("kvm" in x.reason.lower() for x in ran)
    assert [x.id for x in r.results if x.verdict.value == "untested"] == \
        ["enable_cap.not_host_has_mte"]


def test_spec_struct_compared_with_the_kernels_btf(v10_run):
    _, data, _ = v10_run
    btf = data["run"]["btf"]
    assert btf["state"] == "compared" and btf["source"] == "/sys/kernel/btf/vmlinux"
    assert "kvm_arm_copy_mte_tags" in btf["structs"]
    # Mainline merged the struct without the union's `padding` member.
    assert any("padding" in d for d in btf["structs"]["kvm_arm_copy_mte_tags"])


def test_default_run_lists_the_lock_memslot_and_mmio_guard_clauses(v10_run):
    """The default run checks the companion series in the same boot: what is
    observable of the lock-memslot RFC is cross-checked (KVM_CHECK_EXTENSION
    of 207, the patch's number since <linux/kvm.h> has no such name, and
    KVM_ENABLE_CAP failing at the RFC's first check); its dead checks and
    every MMIO guard rule are `not reachable`, each with its reason."""
    from generator import paths
    from generator.model.specio import load_spec
    _, data, _ = v10_run
    assert data["specs"] == ["mte-v10", "lock-memslot-rfc-v5", "mmio-guard-v2"]
    lock = {c["id"].split(":", 1)[1]: c for c in data["cases"]
            if c["spec"] == "lock-memslot-rfc-v5"}
    assert data["bindings"]["KVM_CAP_ARM_LOCK_USER_MEMORY_REGION"] == {
        "number": 207, "how": "patch(not-in-header)", "spec": "lock-memslot-rfc-v5"}
    for name in ("check_extension.reports_lock_user_memory_region", "cap.number"):
        assert lock[name]["observed"]["ret"] == lock[name]["expected"]["ret"] == 0
    enable = [c for k, c in lock.items() if k.startswith("enable_cap.not_kvm_arm")]
    assert len(enable) == 3
    for c in enable:
        assert c["expected"]["errno"] == "EINVAL" and c["verdict"] in ("conforms", "diverges")
        assert c["observed"] is not None     # run and cross-checked, not skipped
    spec = load_spec(paths.spec_path("lock-memslot-rfc-v5"))
    dead = [c.id for op in spec.operations for c in op.checks if c.reach.value == "unreachable"]
    for check in dead:
        row = lock[f"enable_cap.{check}"]
        assert row["verdict"] == "not reachable" and "always fails" in row["reason"]
    mmio = [c for c in data["cases"] if c["spec"] == "mmio-guard-v2"]
    rules = load_spec(paths.spec_path("mmio-guard-v2")).operations
    assert len(mmio) == sum(len(op.checks) for op in rules)
    assert all(c["verdict"] == "not reachable" for c in mmio)
    assert "mmio-guard-v2" in data["nothing_to_run"]
