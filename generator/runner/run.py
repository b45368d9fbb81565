"""Entry point of the runner: boot test binaries on a kernel, collect results.

Phases of :func:`run_tests`:

1. check the emulator (name, version) and fetch busybox;
2. build the platform sanity check (``platform_mte.c``, cached);
3. pack an initramfs: platform check first, then the binaries in order;
4. boot under QEMU and :func:`qemu.watch` the console (log file, callbacks,
   panic / hang / exit detection, host-side timeouts);
5. split the console at the run's markers into per-binary results, parse
   each binary's KTAP, judge the platform, and say what broke, if anything.

Phase 5 is :func:`outcome_from_lines`, which works on any captured log, so
it is tested without booting.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from generator.runner.cachefs import sha256, sha256_text
from generator.runner.errors import RunnerError
from generator.runner.swap import GuestSetup, zram_swap
from generator.runner.initramfs import (TIMEOUT_EXIT, GuestTest, MarkerKind, Markers,
                        build_floor_initramfs, build_initramfs)
from generator.runner.kernels import KernelImage, cache_root, resolve_busybox
from generator.runner.ktap import KtapDocument, parse_ktap
from generator.runner.platform import (PLATFORM_TEST, PlatformState, PlatformStatus,
                       interpret_platform, platform_binary)
from generator.runner.qemu import (AARCH64, LOG_HEADER, EndReason, Fault, FaultKind,
                   QemuConfig, QemuProcess, WatchResult, console_fault,
                   emulator_info, watch)

BOOT_TIMEOUT = 180.0     # seconds from QEMU start to the START marker
HOST_GRACE = 30.0        # host waits this much longer than the guest timeout
TAIL_LINES = 15


class RunStatus(enum.Enum):
    COMPLETED = "completed"       # every test ran, QEMU powered off
    PANIC = "panic"               # the kernel panicked during the tests
    TIMEOUT = "timeout"           # the guest hung or the run took too long
    QEMU_DIED = "qemu died"       # QEMU exited before the tests finished
    BOOT_FAILED = "boot failed"   # the kernel never reached /init
    INTERRUPTED = "interrupted"   # the caller cancelled the run


class EventKind(enum.Enum):
    BOOTING = "booting"
    BOOTED = "booted"
    TEST_STARTED = "test started"
    TEST_FINISHED = "test finished"
    FAULT = "kernel fault"
    WARNING = "warning"


@dataclasses.dataclass(frozen=True)
class RunEvent:
    kind: EventKind
    message: str
    test: Optional[str] = None


@dataclasses.dataclass
class TestRun:
    """What one binary did in the guest."""
    name: str
    exit_status: Optional[int]      # None: it never finished
    timed_out: bool                 # killed by the guest's per-test timeout
    ktap: KtapDocument
    lines: list[str]                # raw console lines between its markers
    seconds: Optional[float] = None  # guest time from BEGIN to END


@dataclasses.dataclass
class Timings:
    boot: Optional[float]       # QEMU start until the START marker
    execute: Optional[float]    # START marker until DONE (or the end)
    total: float                # QEMU start until QEMU gone
    prepare: float = 0.0        # building the platform check and initramfs
    restore: Optional[float] = None  # QEMU start until the restored guest ran
    save: Optional[float] = None     # saving the booted guest's snapshot


@dataclasses.dataclass
class RunOutcome:
    status: RunStatus
    tests: list[TestRun]
    kernel_release: Optional[str]
    page_size: Optional[int]
    emulator_name: str
    emulator_version: str
    broke: Optional[str]            # None when nothing went wrong
    timings: Timings
    platform: PlatformStatus
    faults: list[Fault] = dataclasses.field(default_factory=list)
    platform_test: Optional[TestRun] = None
    not_run: list[str] = dataclasses.field(default_factory=list)
    command: list[str] = dataclasses.field(default_factory=list)
    log_path: Optional[Path] = None
    start: object = None            # runner.snapshot.Start when an agent ran


def _tail(lines: Sequence[str], n: int = TAIL_LINES) -> str:
    shown = [l for l in lines if l.strip()][-n:]
    return "\n".join("    " + l for l in shown) or "    (no console output)"


def _broke(status: RunStatus, watched: WatchResult, current: Optional[str],
           tests: list[TestRun], faults: list[Fault],
           boot_timeout: float) -> Optional[str]:
    during = f" while running '{current}'" if current else ""
    panic = next((f.line.strip() for f in faults
                  if f.kind is FaultKind.PANIC), "")
    if status is RunStatus.INTERRUPTED:
        return (f"the run was interrupted{during} after {watched.elapsed:.0f} s;"
                f" QEMU was killed. Console tail:\n{_tail(watched.lines)}")
    if status is RunStatus.BOOT_FAILED:
        why = {EndReason.EXITED: f"QEMU exited (status {watched.exit_status})",
               EndReason.PANIC: f"the kernel panicked ({panic})",
               EndReason.STALLED: f"nothing reached /init within "
                                  f"{boot_timeout:.0f} s",
               EndReason.TOTAL_TIMEOUT: "the whole-run timeout expired",
               }[watched.reason]
        what = f"the kernel never reached /init: {why}"
    elif status is RunStatus.PANIC:
        what = f"kernel panic{during}: {panic}"
    elif status is RunStatus.TIMEOUT and watched.reason is EndReason.STALLED:
        what = (f"the guest hung{during}: no console progress for "
                f"{watched.stalled_after:.0f} s although the guest's own "
                "per-test timeout should have fired; QEMU was killed")
    elif status is RunStatus.TIMEOUT:
        what = (f"the whole-run timeout expired{during} after "
                f"{watched.elapsed:.0f} s; QEMU was killed")
    elif status is RunStatus.QEMU_DIED:
        what = (f"QEMU exited (status {watched.exit_status}){during} before "
                "the tests finished")
    else:
        notes = [f"test '{t.name}' timed out after {t.seconds or 0:.0f} s "
                 "and was killed" for t in tests if t.timed_out]
        notes += [f"{f.kind.value}: {f.line.strip()}" for f in faults]
        return "; ".join(notes) if notes else None
    extra = [f"{f.kind.value}: {f.line.strip()}" for f in faults
             if f.kind is not FaultKind.PANIC][:3]
    if extra:
        what += " (earlier: " + "; ".join(extra) + ")"
    return f"{what}. Console tail:\n{_tail(watched.lines)}"


def outcome_from_lines(watched: WatchResult, markers: Markers, *,
                       expected: Sequence[str], per_test_timeout: float,
                       emulator_name: str = "", emulator_version: str = "",
                       line_times: Optional[Sequence[float]] = None,
                       boot_timeout: float = BOOT_TIMEOUT,
                       emulator_label: Optional[str] = None) -> RunOutcome:
    """Interpret a watched console: per-test results, status, timings."""
    release: Optional[str] = None
    page_size: Optional[int] = None
    started_at = done_at = None
    started = done = False
    runs: dict[str, TestRun] = {}
    order: list[str] = []
    current: Optional[str] = None
    current_lines: list[str] = []
    begin_uptime: Optional[float] = None
    guest_timeout = per_test_timeout
    for i, line in enumerate(watched.lines):
        mk = markers.parse(line)
        if mk is None:
            if current is not None:
                current_lines.append(line)
            continue
        t = line_times[i] if line_times else None
        if mk.kind is MarkerKind.START:
            started, started_at = True, t
            if mk.value and mk.value.isdigit():
                guest_timeout = float(mk.value)
        elif mk.kind is MarkerKind.RELEASE:
            release = mk.value or None
        elif mk.kind is MarkerKind.PAGESIZE:
            page_size = int(mk.value) if (mk.value or "").isdigit() else None
        elif mk.kind is MarkerKind.BEGIN:
            current, current_lines, begin_uptime = mk.name, [], mk.uptime
        elif mk.kind is MarkerKind.END and mk.name == current:
            rc = int(mk.value) if mk.value.lstrip("-").isdigit() else None
            secs = (mk.uptime - begin_uptime
                    if mk.uptime is not None and begin_uptime is not None
                    else None)
            timed_out = (rc == TIMEOUT_EXIT and secs is not None
                         and secs >= guest_timeout - 0.5)
            runs[current] = TestRun(current, rc, timed_out,
                                    parse_ktap(current_lines), current_lines,
                                    secs)
            order.append(current)
            current = None
        elif mk.kind is MarkerKind.DONE:
            done, done_at = True, t
    if current is not None:   # the run broke inside this test
        runs[current] = TestRun(current, None,
                                watched.reason is EndReason.STALLED,
                                parse_ktap(current_lines), current_lines)
        order.append(current)

    if done:
        status = RunStatus.COMPLETED
    elif watched.reason is EndReason.CANCELLED:
        status = RunStatus.INTERRUPTED
    elif not started and not runs:
        status = RunStatus.BOOT_FAILED
    elif watched.reason is EndReason.PANIC:
        status = RunStatus.PANIC
    elif watched.reason in (EndReason.STALLED, EndReason.TOTAL_TIMEOUT):
        status = RunStatus.TIMEOUT
    else:
        status = RunStatus.QEMU_DIED

    platform_run = runs.get(PLATFORM_TEST)
    platform = interpret_platform(
        platform_run.ktap if platform_run else None,
        emulator=emulator_label,
        exit_status=platform_run.exit_status if platform_run else None)
    tests = [runs[n] for n in order if n != PLATFORM_TEST]
    kernel_faults = list(watched.faults)
    execute = None
    if started_at is not None:
        end = done_at if done_at is not None else watched.elapsed
        execute = end - started_at
    return RunOutcome(
        status=status, tests=tests, kernel_release=release,
        page_size=page_size, emulator_name=emulator_name,
        emulator_version=emulator_version,
        broke=_broke(status, watched, current, tests, kernel_faults,
                     boot_timeout),
        timings=Timings(started_at, execute, watched.elapsed),
        platform=platform, faults=kernel_faults, platform_test=platform_run,
        not_run=[n for n in expected if n not in runs])


def _console_outcome(watched: WatchResult, markers: Markers, names: Sequence[str], emulator,
                     proc, log_path: Path, *, per_test_timeout: float,
                     line_times: Sequence[float], boot_timeout: float,
                     prepare: float) -> RunOutcome:
    """The outcome of one watched QEMU console (a cold boot or a restored
    guest): its results, the command that ran and its log."""
    outcome = outcome_from_lines(
        watched, markers, expected=names, per_test_timeout=per_test_timeout,
        emulator_name=emulator.name, emulator_version=emulator.version,
        line_times=line_times, boot_timeout=boot_timeout,
        emulator_label=f"QEMU {emulator.version}")
    outcome.timings.prepare = prepare
    outcome.command = list(proc.cmd)
    outcome.log_path = log_path
    return outcome


def _emit(on_event, kind: EventKind, message: str,
          test: Optional[str] = None) -> None:
    if on_event is not None:
        on_event(RunEvent(kind, message, test))


def run_tests(binaries: list[Path], kernel: KernelImage, *,
              per_test_timeout: float, total_timeout: float, log_path: Path,
              on_line: Optional[Callable[[str], None]] = None,
              on_event: Optional[Callable[[RunEvent], None]] = None,
              config: QemuConfig = AARCH64,
              boot_timeout: float = BOOT_TIMEOUT,
              work_dir: Optional[Path] = None,
              setup: Optional[GuestSetup] = None,
              cancel: Optional[threading.Event] = None,
              restore: bool = True, lanes: Optional[int] = None,
              snapshot_cache: Optional[Path] = None) -> RunOutcome:
    """Run ``binaries`` on ``kernel`` (the MTE platform check first on
    arm64; another architecture's KVM modules loaded first, runner.arch).

    With ``restore`` (the default) the guest agent is restored from the
    cached snapshot of this kernel and configuration, or booted and saved
    when there is none (runner.snapshot), and gets the binaries on a disk;
    they run ``lanes`` at a time (default: one per vCPU), each with its own
    output.  Without it, ``kernel`` boots an initramfs that holds the
    binaries and runs them in order.  Always returns an outcome for a run that started; raises a
    RunnerError subclass only when the run cannot start (no QEMU, no
    compiler, no busybox, unreadable binary).

    ``work_dir`` holds the compiled platform check (default: the cache).
    ``setup`` adds files and /init lines run before the tests; by default
    the booted kernel gets a zram swap device when its package has the
    modules (generator.runner.swap), or a note saying why not.
    The guest kills a test after ``per_test_timeout`` seconds; the host
    gives up on a silent guest ``HOST_GRACE`` seconds later, and on the
    whole run after ``total_timeout``.  Setting ``cancel`` from another
    thread kills QEMU promptly; the outcome is then ``INTERRUPTED``."""
    from generator.runner.arch import arch_of_config, combine, kvm_setup
    t0 = time.monotonic()
    arch = arch_of_config(config)
    emulator = emulator_info(config.binary)
    busybox = resolve_busybox(arch=arch.debian)
    names = [Path(b).name for b in binaries]
    if PLATFORM_TEST in names:
        raise RunnerError(f"a test binary may not be named '{PLATFORM_TEST}' "
                          "(reserved for the platform check); rename it")
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    guests = []
    if arch.platform_check:
        guests.append(GuestTest(PLATFORM_TEST, platform_binary(
            Path(work_dir) if work_dir else cache_root() / "runner")))
    guests += [GuestTest(n, Path(b)) for n, b in zip(names, binaries)]
    if restore and arch.snapshots:
        return _run_restored(
            guests, kernel, emulator=emulator, busybox=busybox.binary,
            per_test_timeout=per_test_timeout, total_timeout=total_timeout,
            log_path=log_path, on_line=on_line, on_event=on_event,
            config=config, boot_timeout=boot_timeout, setup=setup,
            cancel=cancel, lanes=lanes or config.smp, t0=t0,
            cache=Path(snapshot_cache) if snapshot_cache else cache_root())
    with tempfile.TemporaryDirectory(prefix="kconform-run-") as tmp:
        setup = setup if setup is not None else zram_swap(kernel.modules_dir)
        setup = combine(kvm_setup(arch, kernel.modules_dir), setup)
        initrd = build_initramfs(guests, busybox.binary,
                                 Path(tmp) / "initrd.gz",
                                 per_test_timeout=per_test_timeout,
                                 extra_files=setup.files, setup=setup.lines,
                                 early=setup.early)
        markers = initrd.markers
        prepare = time.monotonic() - t0
        proc = QemuProcess(config, kernel.vmlinuz, initrd.path)
        _emit(on_event, EventKind.BOOTING,
              f"booting {kernel.release or kernel.vmlinuz.name} on "
              f"{emulator.name} {emulator.version}")
        line_times: list[float] = []
        seen = _line_sink(markers, on_event, on_line, line_times,
                          lambda: proc.clock() - start, ready="booted")

        with open(log_path, "w", encoding="utf-8") as log:
            log.write(f"{LOG_HEADER}{' '.join(proc.cmd)}\n")
            log.write(f"{LOG_HEADER}{emulator.banner}\n")
            start = proc.clock()
            with proc:
                watched = watch(
                    proc, boot_timeout=min(boot_timeout, total_timeout),
                    step_timeout=per_test_timeout + HOST_GRACE,
                    total_timeout=total_timeout,
                    is_progress=lambda l: markers.parse(l) is not None,
                    is_final=lambda l: _is_done(markers, l),
                    log=log, on_line=seen, cancel=cancel)
    outcome = _console_outcome(watched, markers, names, emulator, proc, log_path,
                               per_test_timeout=per_test_timeout, line_times=line_times,
                               boot_timeout=boot_timeout, prepare=prepare)
    if not arch.platform_check:
        outcome.platform = PlatformStatus(
            PlatformState.UNCHECKED, f"no platform check on {arch.name}: the MTE "
            "sanity check is arm64's")
    _check_expectations(outcome, kernel, on_event)
    return outcome


def _run_restored(guests: list[GuestTest], kernel: KernelImage, *, emulator,
                  busybox: Path, per_test_timeout: float, total_timeout: float,
                  log_path: Path, on_line, on_event, config: QemuConfig,
                  boot_timeout: float, setup: Optional[GuestSetup],
                  cancel: Optional[threading.Event], lanes: int,
                  t0: float, cache: Path) -> RunOutcome:
    """``run_tests`` on a restored guest agent (runner.snapshot): the
    binaries and run.sh go on a work disk, the agent is restored (or booted
    and saved), told to run them, and powers off."""
    from generator.runner import workdisk as agent
    from generator.runner.snapshot import AgentGuest, SnapshotKey, Start, discard
    names = [g.name for g in guests[1:]]
    markers = Markers.fresh()

    def boot_instead() -> RunOutcome:
        """The saved guest cannot serve: boot with the tests in the initramfs."""
        return run_tests([g.binary for g in guests[1:]], kernel,
                         per_test_timeout=per_test_timeout,
                         total_timeout=total_timeout, log_path=log_path,
                         on_line=on_line, on_event=on_event, config=config,
                         boot_timeout=boot_timeout, setup=setup, cancel=cancel,
                         restore=False)

    with tempfile.TemporaryDirectory(prefix="kconform-warm-") as tmp:
        tmp = Path(tmp)
        initrd_path = _agent_initramfs(kernel, busybox, setup, cache)
        if isinstance(initrd_path, str):
            _emit(on_event, EventKind.WARNING, f"no snapshot: {initrd_path}; booting")
            return boot_instead()
        script = agent.work_script(guests, markers, per_test_timeout, lanes)
        disk = agent.write_work_disk(guests, script, tmp / "work.img")
        key = SnapshotKey.of(
            config, kernel=_kernel_identity(kernel), qemu=emulator.banner,
            initramfs=sha256(initrd_path), disk_bytes=agent.DISK_BYTES,
            agent=agent.AGENT_VERSION)
        prepare = time.monotonic() - t0
        guest = AgentGuest(config, kernel.vmlinuz, initrd_path, key, cache,
                           ready_line=agent.AGENT_READY,
                           ready=lambda p: p.send_line(f"run {disk.blocks}"),
                           note=lambda m: _emit(on_event, EventKind.WARNING, m))
        line_times: list[float] = []
        with open(log_path, "w", encoding="utf-8") as log:
            start = time.monotonic()
            try:
                proc = guest.start(agent.disk_args(disk.path))
                how = guest.how
                _emit(on_event, EventKind.BOOTING,
                      f"{'restored' if how is Start.RESTORED else 'booting'} "
                      f"{kernel.release or kernel.vmlinuz.name} on "
                      f"{emulator.name} {emulator.version}"
                      + (f" in {guest.restore_seconds:.1f} s" if guest.restore_seconds
                         else " (saving the guest for later runs)"
                         if how is Start.BOOTED_SAVED else ""))
                log.write(f"{LOG_HEADER}{' '.join(proc.cmd)}\n")
                log.write(f"{LOG_HEADER}{emulator.banner} (guest {how.value})\n")
                sink = _line_sink(markers, on_event, on_line, line_times,
                                  lambda: time.monotonic() - start)

                def seen(line: str) -> None:
                    guest.on_line(line)
                    sink(line)

                watched = watch(
                    proc, boot_timeout=min(boot_timeout, total_timeout),
                    step_timeout=per_test_timeout + HOST_GRACE,
                    total_timeout=total_timeout,
                    is_progress=lambda l: (markers.parse(l) is not None
                                           or agent.AGENT_READY in l),
                    is_final=lambda l: _is_done(markers, l),
                    log=log, on_line=seen, cancel=cancel)
            finally:
                guest.stop()
            total = time.monotonic() - start
    no_disk = next((l for l in watched.lines
                    if agent.AGENT_NO_DISK in l or agent.AGENT_BAD_DISK in l), None)
    if no_disk is not None:
        if guest.how is Start.RESTORED:
            discard(guest.snap)
        what = ("found no work disk" if agent.AGENT_NO_DISK in no_disk
                else "could not read the work disk")
        _emit(on_event, EventKind.WARNING,
              f"the guest agent {what} on {kernel.release or kernel.vmlinuz.name}"
              + ("; its snapshot is deleted" if guest.how is Start.RESTORED else "")
              + "; booting with the tests in the initramfs instead")
        return boot_instead()
    outcome = _console_outcome(watched, markers, names, emulator, proc, log_path,
                               per_test_timeout=per_test_timeout, line_times=line_times,
                               boot_timeout=boot_timeout, prepare=prepare)
    outcome.timings.total = total
    outcome.timings.restore = guest.restore_seconds
    outcome.timings.save = guest.save_seconds
    outcome.start = guest.how
    _check_expectations(outcome, kernel, on_event)
    return outcome


def _agent_initramfs(kernel: KernelImage, busybox: Path,
                     setup: Optional[GuestSetup], cache: Path):
    """The agent's initramfs, cached by what decides it (the kernel, busybox,
    the code that writes it, the set-up); a string says why there is none."""
    from generator.runner import swap
    from generator.runner import workdisk as agent
    from generator.runner.swap import ModuleError, is_builtin, module_closure
    if kernel.modules_dir is None:
        return "the kernel has no modules directory (virtio_blk is a module)"
    parts = [_kernel_identity(kernel), str(busybox), str(Path(busybox).stat().st_size),
             agent.AGENT_VERSION, sha256(Path(agent.__file__)),
             sha256(Path(swap.__file__))]
    if setup is not None:
        parts += list(setup.lines) + [f"{n}:{len(d)}" for n, d in setup.files]
    digest = sha256_text("\0".join(parts))[:20]
    path = Path(cache) / "snapshots" / f"agent-{digest}.gz"
    if path.is_file():
        return path
    try:
        wanted = [m for m in agent.DISK_MODULES if not is_builtin(kernel.modules_dir, m)]
        modules = module_closure(kernel.modules_dir, wanted)
    except (ModuleError, OSError) as e:
        return f"the kernel's virtio_blk module cannot be loaded ({e})"
    setup = setup if setup is not None else zram_swap(kernel.modules_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # runs in threads too
    agent.build_agent_initramfs(busybox, tmp, setup, modules)
    os.replace(tmp, path)
    return path


def _line_sink(markers: Markers, on_event, on_line, line_times: list[float],
               elapsed: Callable[[], float], ready: str = "ready") -> Callable[[str], None]:
    """The per-line callback: timestamps, run events, the caller's on_line."""
    def seen(line: str) -> None:
        line_times.append(elapsed())
        mk = markers.parse(line)
        if mk is not None and on_event is not None:
            if mk.kind is MarkerKind.START:
                _emit(on_event, EventKind.BOOTED, f"{ready} in {line_times[-1]:.1f} s")
            elif mk.kind is MarkerKind.BEGIN:
                _emit(on_event, EventKind.TEST_STARTED, mk.name, mk.name)
            elif mk.kind is MarkerKind.END:
                _emit(on_event, EventKind.TEST_FINISHED,
                      f"{mk.name} exit {mk.value}", mk.name)
        elif mk is None and console_fault(line) is not None:
            _emit(on_event, EventKind.FAULT, line.strip())
        if on_line is not None:
            on_line(line)
    return seen


def _kernel_identity(kernel: KernelImage) -> str:
    """What names a kernel's content: its Debian package and version, or
    the sha256 of a user-built image."""
    if kernel.package and kernel.version:
        return f"{kernel.package} {kernel.version}"
    return f"file sha256 {sha256(kernel.vmlinuz)}"


def _is_done(markers: Markers, line: str) -> bool:
    mk = markers.parse(line)
    return mk is not None and mk.kind is MarkerKind.DONE


def _check_expectations(outcome: RunOutcome, kernel: KernelImage,
                        on_event) -> None:
    if (kernel.release and outcome.kernel_release
            and outcome.kernel_release != kernel.release):
        _emit(on_event, EventKind.WARNING,
              f"booted kernel reports {outcome.kernel_release}, expected "
              f"{kernel.release}")
    if (kernel.page_size and outcome.page_size
            and outcome.page_size != kernel.page_size):
        _emit(on_event, EventKind.WARNING,
              f"guest page size {outcome.page_size}, expected "
              f"{kernel.page_size} for {kernel.alias}")


def boot_floor(kernel: KernelImage, *, config: QemuConfig = AARCH64,
               timeout: float = BOOT_TIMEOUT,
               log_path: Optional[Path] = None) -> float:
    """Seconds to boot ``kernel`` into an /init that only powers off, with
    the same emulator and flags as :func:`run_tests` (the benchmark floor)."""
    from generator.runner.arch import arch_of_config
    emulator_info(config.binary)
    busybox = resolve_busybox(arch=arch_of_config(config).debian)
    with tempfile.TemporaryDirectory(prefix="kconform-floor-") as tmp:
        initrd = build_floor_initramfs(busybox.binary,
                                       Path(tmp) / "floor.gz")
        proc = QemuProcess(config, kernel.vmlinuz, initrd.path)
        log = open(log_path, "w", encoding="utf-8") if log_path else None
        try:
            t0 = time.monotonic()
            with proc:
                watched = watch(proc, boot_timeout=timeout,
                                step_timeout=timeout, total_timeout=timeout,
                                is_progress=lambda l: False, log=log)
            elapsed = time.monotonic() - t0
        finally:
            if log is not None:
                log.close()
    if watched.reason is not EndReason.EXITED or watched.exit_status != 0:
        raise RunnerError(
            f"the floor boot of {kernel.vmlinuz} did not power off cleanly "
            f"({watched.reason.value}, exit status {watched.exit_status}); "
            f"console tail:\n{_tail(watched.lines)}")
    return elapsed
