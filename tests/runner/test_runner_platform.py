"""Interpreting the MTE platform check; its C source builds cleanly."""

import shutil

import pytest

from generator.runner.ktap import parse_ktap
from generator.runner.platform import (PlatformState, interpret_platform,
                                       platform_binary)

PASS = ["KTAP version 1", "1..5", "# fact page_size=4096",
        "ok 1 userspace_mte_distinct_tags", "ok 2 userspace_mte_uniform_tags",
        "# fact kvm_cap_arm_mte=1", "ok 3 kvm_cap_arm_mte",
        "ok 4 kvm_mte_copy_tags_distinct", "ok 5 kvm_mte_copy_tags_uniform"]


def judge(lines, **kw):
    return interpret_platform(parse_ktap(lines), **kw)


def test_all_pass():
    s = judge(PASS, emulator="QEMU 10.0.2")
    assert s.ok and s.state is PlatformState.OK
    assert s.sentence == "QEMU 10.0.2 stores MTE tags faithfully (5 of 5 " \
                         "checks passed)"
    assert s.facts == {"page_size": "4096", "kvm_cap_arm_mte": "1"}


def test_kvm_only_distinct_failure_is_the_qemu72_fault():
    lines = list(PASS)
    lines[7] = ("not ok 4 kvm_mte_copy_tags_distinct # 3 of 1024 granules "
                "read back a wrong tag")
    s = judge(lines)
    assert s.state is PlatformState.FAULTY
    assert s.sentence.startswith("the emulator does not store MTE tags "
                                 "faithfully")
    assert "KVM_ARM_MTE_COPY_TAGS: 3 of 1024" in s.sentence
    assert "known QEMU 7.2 fault" in s.sentence


def test_other_failures_are_still_platform_faults():
    lines = list(PASS)
    lines[8] = "not ok 5 kvm_mte_copy_tags_uniform # COPY_TAGS failed"
    s = judge(lines)
    assert s.state is PlatformState.FAULTY
    assert "QEMU 7.2" not in s.sentence
    assert "kvm_mte_copy_tags_uniform: COPY_TAGS failed" in s.sentence


def test_no_kvm_is_partial_ok():
    lines = PASS[:5] + [
        "# fact dev_kvm=0",
        "ok 3 kvm_cap_arm_mte # SKIP no /dev/kvm",
        "ok 4 kvm_mte_copy_tags_distinct # SKIP no /dev/kvm",
        "ok 5 kvm_mte_copy_tags_uniform # SKIP no /dev/kvm"]
    s = judge(lines)
    assert s.state is PlatformState.OK
    assert "2 of 5 checks passed; skipped: kvm_cap_arm_mte (no /dev/kvm)" \
        in s.sentence


def test_no_mte_at_all_is_unchecked():
    lines = ["KTAP version 1", "1..5"] + [
        f"ok {i} t{i} # SKIP no MTE (HWCAP2_MTE clear)" for i in range(1, 6)]
    s = judge(lines)
    assert s.state is PlatformState.UNCHECKED
    assert "skipped (no MTE (HWCAP2_MTE clear))" in s.sentence


def test_not_run_or_silent():
    assert interpret_platform(None).state is PlatformState.UNCHECKED
    s = interpret_platform(parse_ktap(["KTAP version 1"]), exit_status=139)
    assert s.state is PlatformState.UNCHECKED
    assert "exit status 139" in s.sentence


def test_stopped_part_way():
    s = judge(PASS[:5])
    assert s.state is PlatformState.UNCHECKED
    assert "stopped after 2 of 5 checks" in s.sentence


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None,
                    reason="no arm64 cross compiler")
def test_platform_check_compiles_once(tmp_path):
    first = platform_binary(tmp_path)
    mtime = first.stat().st_mtime_ns
    assert platform_binary(tmp_path) == first
    assert first.stat().st_mtime_ns == mtime
    assert first.read_bytes()[:4] == b"\x7fELF"
