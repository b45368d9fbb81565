"""From a watched console to a RunOutcome, on captured logs (no boot)."""

import re
from pathlib import Path

from generator.runner.initramfs import Markers
from generator.runner.ktap import KtapStatus
from generator.runner.platform import PlatformState
from generator.runner.qemu import ReplayConsole, watch
from generator.runner.run import (HOST_GRACE, RunStatus, outcome_from_lines)

DATA = Path(__file__).parents[1] / "data" / "runner"


def outcome(text: str, expected, *, then="exit", per_test_timeout=8.0,
            total=600.0, label="QEMU 10.0.2"):
    console = ReplayConsole(text, then=then)
    markers = Markers.find_in(console._lines) or Markers("00000000")
    times = []
    result = watch(console, boot_timeout=180,
                   step_timeout=per_test_timeout + HOST_GRACE,
                   total_timeout=total,
                   is_progress=lambda l: markers.parse(l) is not None,
                   on_line=lambda l: times.append(console.clock()))
    return outcome_from_lines(result, markers, expected=expected,
                              per_test_timeout=per_test_timeout,
                              line_times=times, emulator_label=label,
                              emulator_name="qemu-system-aarch64",
                              emulator_version="10.0.2")


def log(name: str) -> str:
    return (DATA / name).read_text()


SUITE = ["hello_ktap", "failing", "noisy", "nested", "sleeper"]


def test_completed_run():
    o = outcome(log("qemu10-complete.log"), SUITE)
    assert o.status is RunStatus.COMPLETED
    assert o.kernel_release == "6.12.117+deb12-arm64"
    assert o.page_size == 4096
    assert [t.name for t in o.tests] == SUITE
    assert [t.exit_status for t in o.tests] == [0, 1, 0, 0, 137]
    assert [t.timed_out for t in o.tests] == [False] * 4 + [True]
    assert 8.0 <= o.tests[-1].seconds < 8.0 + 1.0
    assert o.tests[0].ktap.counts()[KtapStatus.SKIP] == 1
    assert o.not_run == []
    assert o.platform.state is PlatformState.OK
    assert o.platform.facts["kvm_cap_arm_mte"] == "1"
    assert o.platform_test.exit_status == 0
    assert o.broke == "test 'sleeper' timed out after 8 s and was killed"
    assert o.timings.boot is not None and o.timings.execute > 0
    assert o.emulator_version == "10.0.2"


def test_rc_137_without_timeout_is_not_a_timeout():
    # Same log, but had the per-test timeout been 60 s, exit 137 after 8 s
    # would be a SIGKILL from elsewhere, not the guest's timeout.
    text = re.sub(r"( START \S+) 8$", r"\1 60", log("qemu10-complete.log"),
                  flags=re.MULTILINE)
    assert " 60\n" in text
    o = outcome(text, SUITE)
    assert o.tests[-1].exit_status == 137
    assert not o.tests[-1].timed_out
    assert o.broke is None


def test_panic_keeps_results_seen_and_names_the_test():
    o = outcome(log("panic.log"), ["hello_ktap", "crash", "nested"],
                per_test_timeout=30)
    assert o.status is RunStatus.PANIC
    assert [t.name for t in o.tests] == ["hello_ktap", "crash"]
    assert o.tests[0].exit_status == 0
    crash = o.tests[1]
    assert crash.exit_status is None and not crash.timed_out
    assert [r.name for r in crash.ktap.results] == ["before_the_crash"]
    assert o.not_run == ["nested"]
    assert o.broke.startswith("kernel panic while running 'crash': ")
    assert "sysrq triggered crash" in o.broke
    assert "Console tail:" in o.broke and "Memory Limit: none" in o.broke


def test_hung_guest_is_a_timeout_with_partial_results():
    text = log("qemu10-complete.log")
    cut = text[:text.index("Killed")]
    o = outcome(cut, SUITE, then="hang")
    assert o.status is RunStatus.TIMEOUT
    assert [t.name for t in o.tests] == SUITE
    sleeper = o.tests[-1]
    assert sleeper.exit_status is None and sleeper.timed_out
    assert [r.name for r in sleeper.ktap.results] == ["before_the_hang"]
    assert o.broke.startswith("the guest hung while running 'sleeper': no "
                              "console progress for 38 s")
    assert o.platform.state is PlatformState.OK


def test_qemu_exit_mid_run():
    text = log("qemu10-complete.log")
    cut = text[:re.search(r"KCONFORM-\w+ BEGIN nested", text).start()]
    o = outcome(cut, SUITE)
    assert o.status is RunStatus.QEMU_DIED
    assert [t.name for t in o.tests] == SUITE[:3]
    assert o.not_run == ["nested", "sleeper"]
    assert o.broke.startswith("QEMU exited (status 0) before the tests "
                              "finished")


def test_total_timeout():
    text = log("qemu10-complete.log")
    cut = text[:text.index("Killed")]
    o = outcome(cut, SUITE, then="hang", total=20.0)
    assert o.status is RunStatus.TIMEOUT
    assert "whole-run timeout expired while running 'sleeper'" in o.broke


def test_boot_failed():
    o = outcome(log("boot-failed.log"), ["hello_ktap"])
    assert o.status is RunStatus.BOOT_FAILED
    assert o.tests == [] and o.not_run == ["hello_ktap"]
    assert o.kernel_release is None
    assert o.broke.startswith("the kernel never reached /init: the kernel "
                              "panicked")
    assert "Unable to mount root fs" in o.broke
    assert o.platform.state is PlatformState.UNCHECKED


def test_platform_fault_is_blamed_on_the_emulator():
    o = outcome(log("qemu72-platform.log"), ["hello_ktap"],
                per_test_timeout=30, label="QEMU 7.2.22")
    assert o.status is RunStatus.COMPLETED
    assert o.platform.state is PlatformState.FAULTY
    assert o.platform.sentence.startswith(
        "QEMU 7.2.22 does not store MTE tags faithfully: distinct "
        "per-granule tags read back wrong")
    assert "uniform tags survive" in o.platform.sentence
    assert "use QEMU >= 8" in o.platform.sentence
    assert o.platform_test.exit_status == 1
    assert o.tests[0].exit_status == 0


def test_16k_kernel_reports_page_size():
    o = outcome(log("debian-6.12-16k.log"), ["hello_ktap"],
                per_test_timeout=30)
    assert o.status is RunStatus.COMPLETED
    assert o.page_size == 16384
    assert o.kernel_release == "6.12.117+deb12-arm64-16k"
    assert "page size 16384" in o.tests[0].ktap.results[0].diagnostics


def test_61_kernel():
    o = outcome(log("debian-6.1.log"), ["hello_ktap"], per_test_timeout=30)
    assert o.kernel_release == "6.1.0-56-arm64"
    assert o.platform.state is PlatformState.OK


def test_without_line_times():
    console = ReplayConsole(log("panic.log"))
    markers = Markers.find_in(console._lines)
    result = watch(console, boot_timeout=180, step_timeout=60,
                   total_timeout=600,
                   is_progress=lambda l: markers.parse(l) is not None)
    o = outcome_from_lines(result, markers, expected=["hello_ktap", "crash"],
                           per_test_timeout=30)
    assert o.status is RunStatus.PANIC
    assert o.timings.boot is None
    assert o.platform.sentence.startswith("the emulator stores MTE tags")
