"""QEMU command line, fault detection and the console watcher, on captured
logs replayed through ReplayConsole and on a fake QEMU script."""

import dataclasses
import io
import os
import time
from pathlib import Path

import pytest

from generator.runner.errors import QemuError
from generator.runner.initramfs import MarkerKind, Markers
from generator.runner.qemu import (AARCH64, EndReason, FaultKind, QemuConfig,
                                   QemuProcess, ReplayConsole, console_fault,
                                   emulator_info, qemu_command, watch)

DATA = Path(__file__).parents[1] / "data" / "runner"


def replay(name: str, **kw) -> tuple[ReplayConsole, Markers]:
    console = ReplayConsole.from_file(DATA / name, **kw)
    return console, Markers.find_in(console._lines) or Markers("none")


def is_done(markers: Markers, line: str) -> bool:
    mk = markers.parse(line)
    return mk is not None and mk.kind is MarkerKind.DONE


def watch_log(name: str, *, then="exit", step=38.0, boot=180.0, total=600.0,
              **kw):
    console, markers = replay(name, then=then)
    seen = []
    log = io.StringIO()
    result = watch(console, boot_timeout=boot, step_timeout=step,
                   total_timeout=total,
                   is_progress=lambda l: markers.parse(l) is not None,
                   is_final=lambda l: is_done(markers, l),
                   log=log, on_line=seen.append, **kw)
    return result, console, seen, log.getvalue()


def test_command_line_matches_platform_facts():
    cmd = qemu_command(AARCH64, Path("/k/vmlinuz"), Path("/i/initrd.gz"))
    assert cmd == [
        "qemu-system-aarch64",
        "-M", "virt,virtualization=on,mte=on,gic-version=3",
        "-cpu", "max,pauth-impdef=on", "-smp", "1", "-m", "1024",
        "-nographic", "-no-reboot", "-net", "none",
        "-kernel", "/k/vmlinuz", "-initrd", "/i/initrd.gz",
        "-append", "console=ttyAMA0 panic=-1 quiet"]


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        AARCH64.smp = 4


@pytest.mark.parametrize("line,kind", [
    ("[    3.850814] Kernel panic - not syncing: sysrq triggered crash",
     FaultKind.PANIC),
    ("[   10.1] Internal error: Oops: 0000000096000004 [#1] SMP",
     FaultKind.OOPS),
    ("[   10.1] Unable to handle kernel NULL pointer dereference at virtual "
     "address 0000000000000000", FaultKind.OOPS),
    ("[   22.2] watchdog: BUG: soft lockup - CPU#0 stuck for 22s!",
     FaultKind.BUG),
    ("[    5.0] WARNING: CPU: 1 PID: 140 at arch/arm64/kvm/mmu.c:1 x+0x1",
     FaultKind.WARNING),
    ("[   60.0] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:",
     FaultKind.STALL),
    ("# BUG: this is test output, not the kernel", None),
    ("ok 1 WARNING: CPU: in a test name", None),
    ("[    3.342153] kconform-noise: in the middle of a line", None),
])
def test_console_fault(line, kind):
    assert console_fault(line) is kind


def test_watch_completed_run_writes_log_and_calls_back():
    result, console, seen, log = watch_log("qemu10-complete.log")
    assert result.reason is EndReason.EXITED
    assert result.exit_status == 0
    assert result.faults == []
    assert seen == result.lines
    assert log == "".join(l + "\n" for l in result.lines)
    assert result.lines[-1].endswith("reboot: Power down")
    assert console.stopped


def test_watch_panic():
    result, _, _, _ = watch_log("panic.log")
    assert result.reason is EndReason.PANIC
    assert result.faults[0].kind is FaultKind.PANIC
    assert "sysrq triggered crash" in result.faults[0].line
    # The trace after the panic line is still captured.
    assert result.lines[-1].endswith("Memory Limit: none")


def test_watch_panic_then_silence_stops_after_grace():
    result, console, _, _ = watch_log("panic.log", then="hang",
                                      panic_grace=5.0)
    assert result.reason is EndReason.PANIC
    assert result.elapsed < 10.0       # virtual seconds, not a 38 s stall


def test_watch_hang_is_detected_by_lack_of_progress():
    # The log ends inside a test and the console goes silent: a hung guest.
    text = (DATA / "qemu10-complete.log").read_text()
    cut = text[:text.index("ok 1 before_the_hang")]
    console = ReplayConsole(cut, then="hang")
    markers = Markers.find_in(console._lines)
    result = watch(console, boot_timeout=180, step_timeout=38,
                   total_timeout=600,
                   is_progress=lambda l: markers.parse(l) is not None)
    assert result.reason is EndReason.STALLED
    assert result.stalled_after == 38
    assert 38 <= result.elapsed < 40
    assert console.stopped and console.exit_status < 0


def test_watch_total_timeout_beats_step_timeout():
    console = ReplayConsole("a\nb\n" * 50, line_interval=1.0, then="hang")
    result = watch(console, boot_timeout=1000, step_timeout=1000,
                   total_timeout=30, is_progress=lambda l: True)
    assert result.reason is EndReason.TOTAL_TIMEOUT
    assert len(result.lines) == 30


def test_watch_boot_timeout():
    console = ReplayConsole("", then="hang")
    result = watch(console, boot_timeout=120, step_timeout=5,
                   total_timeout=600, is_progress=lambda l: True)
    assert result.reason is EndReason.STALLED
    assert result.stalled_after == 120


def test_watch_boot_failure_panic():
    result, _, _, _ = watch_log("boot-failed.log")
    assert result.reason is EndReason.PANIC
    assert "Unable to mount root fs" in result.faults[0].line


def test_replay_skips_runner_header_lines():
    console = ReplayConsole("#kconform# qemu ...\nhello\n")
    assert console.readline(1.0) == "hello"
    assert console.readline(1.0) is None and console.closed


def test_emulator_info_installed():
    info = emulator_info()
    assert info.name == "qemu-system-aarch64"
    assert info.major >= 2 and info.version in info.banner


def test_emulator_info_missing_says_how_to_install():
    with pytest.raises(QemuError, match="install QEMU >= 8"):
        emulator_info("qemu-system-nonexistent")


# -- the real process class, driven by a fake QEMU script ------------------

def fake_qemu(tmp_path: Path, body: str) -> QemuConfig:
    """A QemuConfig whose 'emulator' is a shell script (FakeQemu)."""
    script = tmp_path / "fake-qemu"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return dataclasses.replace(AARCH64, binary=str(script))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_process_lines_and_exit(tmp_path):
    cfg = fake_qemu(tmp_path, "echo one; printf 'two\\r\\n'; printf tail\n"
                    "exit 3\n")
    with QemuProcess(cfg, Path("k"), Path("i")) as proc:
        result = watch(proc, boot_timeout=10, step_timeout=10,
                       total_timeout=10, is_progress=lambda l: True)
    assert result.lines == ["one", "two", "tail"]
    assert result.reason is EndReason.EXITED
    assert result.exit_status == 3


def test_process_hang_is_killed(tmp_path):
    cfg = fake_qemu(tmp_path, "echo started; exec sleep 60\n")
    proc = QemuProcess(cfg, Path("k"), Path("i")).start()
    pid = proc.child.pid
    t0 = time.monotonic()
    result = watch(proc, boot_timeout=10, step_timeout=0.5,
                   total_timeout=10, is_progress=lambda l: True)
    assert result.reason is EndReason.STALLED
    assert time.monotonic() - t0 < 5
    assert not _alive(pid)


def test_process_killed_on_exception(tmp_path):
    cfg = fake_qemu(tmp_path, "echo started; exec sleep 60\n")
    with pytest.raises(KeyboardInterrupt):
        with QemuProcess(cfg, Path("k"), Path("i")) as proc:
            pid = proc.child.pid
            assert proc.readline(5) == "started"
            raise KeyboardInterrupt
    assert not _alive(pid)


def test_callback_exception_still_kills(tmp_path):
    cfg = fake_qemu(tmp_path, "echo started; exec sleep 60\n")
    proc = QemuProcess(cfg, Path("k"), Path("i")).start()
    pid = proc.child.pid

    def boom(line):
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError):
        watch(proc, boot_timeout=10, step_timeout=10, total_timeout=10,
              is_progress=lambda l: True, on_line=boom)
    assert not _alive(pid)
