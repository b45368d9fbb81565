"""QEMU behind one small class, and the host-side console watcher.

* :class:`QemuConfig` — per-architecture settings, frozen plain data.
* :class:`QemuProcess` — starts QEMU under a pty (pexpect) and hands out
  console lines; it is always killed on ``stop()``/context exit, on
  interpreter exit, and (via ``PR_SET_PDEATHSIG``) if this process dies.
* :class:`ReplayConsole` — the same line interface over a captured log, with
  a virtual clock, so timeouts can be tested without waiting.
* :func:`watch` — the loop both share: every line goes to the log file and
  the callback as it arrives; it stops on kernel panic, QEMU exit, lack of
  progress (hang) or the whole-run deadline.
"""

from __future__ import annotations

import atexit
import ctypes
import dataclasses
import enum
import re
import shutil
import signal
import subprocess
import threading
import time
import weakref
from pathlib import Path
from typing import Callable, Optional, Protocol, Sequence, TextIO

import pexpect

from generator.runner.errors import QemuError


@dataclasses.dataclass(frozen=True)
class QemuConfig:
    """How to boot one architecture (kunit_tool's qemu_configs, as data)."""
    arch: str
    binary: str
    machine: str
    cpu: str
    smp: int
    memory_mb: int
    console: str
    kernel_args: tuple[str, ...]
    extra_args: tuple[str, ...]
    dtb: str = ""            # a device tree file of a host profile (runner.dtb); "": QEMU's
    # the host profile this is (specs/host-features.yaml): "default", or a
    # variant of the default whose cpu / machine lack some host features
    profile: str = "default"


AARCH64 = QemuConfig(
    arch="arm64",
    binary="qemu-system-aarch64",
    # virtualization=on: the guest kernel starts at EL2 and runs KVM itself.
    machine="virt,virtualization=on,mte=on,gic-version=3",
    # pauth-impdef=on: emulating the architected QARMA pauth triples boots.
    cpu="max,pauth-impdef=on",
    # one vCPU: measured faster than two on a two-core host for both the
    # boot (2.1-2.6 s against 3.0-3.4 s) and the tests (the default run's
    # execution 0.84 s against 1.9 s, same verdicts): MTTCG's cross-vCPU
    # synchronisation costs more than a second vCPU gives; `--vcpus N`
    smp=1,
    memory_mb=1024,
    console="ttyAMA0",
    kernel_args=("panic=-1", "quiet"),
    extra_args=("-nographic", "-no-reboot", "-net", "none"),
)
X86_64 = QemuConfig(
    arch="x86_64",
    binary="qemu-system-x86_64",
    machine="q35",
    # TCG emulates AMD's SVM, not Intel's VMX: +svm lets the guest kernel
    # run KVM itself (kvm_amd, nested paging)
    cpu="EPYC,+svm",
    smp=1,
    memory_mb=1024,
    console="ttyS0",
    kernel_args=("panic=-1", "quiet"),
    extra_args=("-accel", "tcg", "-nographic", "-no-reboot", "-net", "none"),
)
CONFIGS = {"arm64": AARCH64, "x86_64": X86_64}

# the Debian package (bookworm-backports for QEMU >= 8) holding each emulator
QEMU_PACKAGES = {"qemu-system-aarch64": "qemu-system-arm",
                 "qemu-system-x86_64": "qemu-system-x86"}


def for_profile(config: QemuConfig, profile, cache: Optional[Path] = None) -> QemuConfig:
    """The variant of `config` that emulates a host profile
    (generator.model.hostfeatures.Profile): its -cpu, -M and -smp where it
    gives them, and its device tree when it names a transform (built by
    generator.runner.dtb.profile_dtb under `cache`, by default the
    runner's cache); the rest as `config` has it."""
    if profile.name == config.profile:
        return config
    variant = dataclasses.replace(config, cpu=profile.cpu or config.cpu,
                                  machine=profile.machine or config.machine,
                                  smp=profile.smp or config.smp, dtb="",
                                  profile=profile.name)
    if getattr(profile, "dtb", ""):
        from generator.runner.dtb import profile_dtb
        if cache is None:
            from generator.runner.kernels import cache_root
            cache = cache_root() / "runner"
        banner = emulator_info(config.binary).banner    # no QEMU: the helpful error
        variant = dataclasses.replace(variant, dtb=str(profile_dtb(profile, variant, cache,
                                                                   banner)))
    return variant


def qemu_command(config: QemuConfig, kernel: Path, initrd: Path,
                 append: Sequence[str] = (),
                 extra: Sequence[str] = ()) -> list[str]:
    """The command line; ``extra`` (devices, a QMP socket, ``-incoming``)
    goes last."""
    cmdline = " ".join([f"console={config.console}", *config.kernel_args,
                        *append])
    return [config.binary, "-M", config.machine, "-cpu", config.cpu,
            "-smp", str(config.smp), "-m", str(config.memory_mb),
            *config.extra_args, *(("-dtb", config.dtb) if config.dtb else ()),
            "-kernel", str(kernel), "-initrd", str(initrd),
            "-append", cmdline, *extra]


@dataclasses.dataclass(frozen=True)
class EmulatorInfo:
    name: str           # e.g. qemu-system-aarch64
    version: str        # e.g. 10.0.2
    banner: str         # first line of --version
    path: str

    @property
    def major(self) -> int:
        m = re.match(r"(\d+)", self.version)
        return int(m.group(1)) if m else 0


def emulator_info(binary: str = AARCH64.binary) -> EmulatorInfo:
    path = shutil.which(binary)
    if path is None:
        package = QEMU_PACKAGES.get(Path(binary).name, "qemu-system-arm")
        raise QemuError(f"'{binary}' not found: install QEMU >= 8 (Debian "
                        "bookworm: apt-get install -t bookworm-backports "
                        f"{package}; or run scripts/setup.sh)")
    proc = subprocess.run([path, "--version"], capture_output=True, text=True)
    banner = (proc.stdout.splitlines() or [""])[0]
    m = re.search(r"version (\S+)", banner)
    if proc.returncode != 0 or not m:
        raise QemuError(f"'{path} --version' failed ({proc.stderr.strip()}); "
                        "reinstall QEMU")
    return EmulatorInfo(Path(binary).name, m.group(1), banner, path)


# -- console faults -------------------------------------------------------

class FaultKind(enum.Enum):
    PANIC = "kernel panic"
    OOPS = "kernel Oops"
    BUG = "kernel BUG"
    WARNING = "kernel WARNING"
    STALL = "kernel stall"


_KPREFIX = r"^(?:\[\s*\d+\.\d+\]\s*)?(?:\[\s*[TC]\d+\]\s*)?"
_FAULTS = (
    (FaultKind.PANIC, re.compile(r"Kernel panic - not syncing")),
    (FaultKind.OOPS, re.compile(_KPREFIX + r"(?:Internal error: .*Oops|"
                                r"Unable to handle kernel|kernel BUG at)")),
    (FaultKind.BUG, re.compile(_KPREFIX + r"(?:\S+: )?BUG: ")),
    (FaultKind.WARNING, re.compile(_KPREFIX + r"WARNING: CPU: ")),
    (FaultKind.STALL, re.compile(_KPREFIX + r"(?:rcu: INFO: .*stall|"
                                 r"INFO: task .* blocked for more than)")),
)


def console_fault(line: str) -> Optional[FaultKind]:
    """The kind of kernel fault ``line`` announces, if any."""
    for kind, rx in _FAULTS:
        if rx.search(line):
            return kind
    return None


# -- consoles -------------------------------------------------------------

class Console(Protocol):
    closed: bool
    exit_status: Optional[int]

    def clock(self) -> float: ...
    def readline(self, timeout: float) -> Optional[str]: ...
    def stop(self) -> None: ...


# Lines of a console log written by the runner itself, not by the guest.
LOG_HEADER = "#kconform# "
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|[()][A-Z0-9]|[=>c])")
_LIVE: "weakref.WeakSet[QemuProcess]" = weakref.WeakSet()


def _clean(text: str) -> str:
    return _ANSI.sub("", text).replace("\r", "")


def _die_with_parent() -> None:
    """In the child: get SIGKILL when the Python process dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PDEATHSIG
    except (OSError, AttributeError):
        pass


class QemuProcess:
    """One QEMU run, read line by line.  Use as a context manager."""

    def __init__(self, config: QemuConfig, kernel: Path, initrd: Path, *,
                 append: Sequence[str] = (), extra: Sequence[str] = ()):
        self.config = config
        self.cmd = qemu_command(config, kernel, initrd, append, extra)
        self.child: Optional[pexpect.spawn] = None
        self.closed = False
        self.exit_status: Optional[int] = None

    def clock(self) -> float:
        return time.monotonic()

    def start(self) -> "QemuProcess":
        if shutil.which(self.config.binary) is None:
            emulator_info(self.config.binary)  # raises the helpful error
        try:
            self.child = pexpect.spawn(
                self.cmd[0], self.cmd[1:], encoding="utf-8",
                codec_errors="replace", echo=False, timeout=None,
                dimensions=(50, 1000), preexec_fn=_die_with_parent)
        except (pexpect.ExceptionPexpect, OSError) as e:
            raise QemuError(f"cannot start {self.cmd[0]}: {e}") from e
        _LIVE.add(self)
        return self

    def readline(self, timeout: float) -> Optional[str]:
        """Next console line; None when nothing came within ``timeout`` or
        QEMU exited (then ``closed`` is set and the last partial line, if
        any, has been returned first)."""
        if self.closed or self.child is None:
            return None
        idx = self.child.expect(["\n", pexpect.EOF, pexpect.TIMEOUT],
                                timeout=max(timeout, 0.01))
        if idx == 0:
            return _clean(self.child.before)
        if idx == 1:
            rest = _clean(self.child.before or "")
            self._reap()
            return rest if rest.strip() else None
        return None

    def send_line(self, text: str) -> None:
        """Type ``text`` and Enter on the guest's console."""
        if self.child is None or self.closed:
            raise QemuError("cannot type on the console: QEMU is not running")
        self.child.send(text + "\r")

    def _reap(self) -> None:
        self.closed = True
        if self.child is not None:
            self.child.close(force=True)
            self.exit_status = (self.child.exitstatus
                                if self.child.exitstatus is not None
                                else -(self.child.signalstatus or 0))

    def stop(self) -> None:
        """Kill QEMU (if still running) and reap it.  Idempotent."""
        if self.child is not None and not self.closed:
            try:
                if self.child.isalive():
                    self.child.kill(signal.SIGKILL)
            except OSError:
                pass
            self._reap()
        _LIVE.discard(self)

    def __enter__(self) -> "QemuProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        proc.stop()


class ReplayConsole:
    """Feeds a captured console log through the QemuProcess interface.

    Each line advances a virtual clock by ``line_interval`` seconds.  After
    the last line the console either ends like an exited QEMU
    (``then="exit"``) or goes silent like a hung guest (``then="hang"``):
    ``readline`` then lets the whole timeout pass on the virtual clock.
    """

    def __init__(self, text: str, *, line_interval: float = 0.01,
                 then: str = "exit", exit_status: int = 0):
        if then not in ("exit", "hang"):
            raise ValueError("then must be 'exit' or 'hang'")
        self._lines = [l for l in text.splitlines()
                       if not l.startswith(LOG_HEADER)]
        self._pos = 0
        self._now = 0.0
        self.line_interval = line_interval
        self.then = then
        self._exit = exit_status
        self.closed = False
        self.exit_status: Optional[int] = None
        self.stopped = False

    @classmethod
    def from_file(cls, path: Path, **kw) -> "ReplayConsole":
        return cls(Path(path).read_text(errors="replace"), **kw)

    def clock(self) -> float:
        return self._now

    def readline(self, timeout: float) -> Optional[str]:
        if self.closed:
            return None
        if self._pos < len(self._lines):
            if self.line_interval > timeout:
                self._now += timeout
                return None
            self._now += self.line_interval
            self._pos += 1
            return _clean(self._lines[self._pos - 1])
        if self.then == "exit":
            self.closed = True
            self.exit_status = self._exit
            return None
        self._now += max(timeout, 0.0)
        return None

    def stop(self) -> None:
        self.stopped = True
        if not self.closed:
            self.closed = True
            self.exit_status = -signal.SIGKILL


# -- the watcher ----------------------------------------------------------

CANCEL_POLL = 0.25      # seconds between looks at a watch's cancel event

class EndReason(enum.Enum):
    EXITED = "QEMU exited"
    PANIC = "kernel panic"
    STALLED = "no progress"
    TOTAL_TIMEOUT = "whole-run timeout"
    CANCELLED = "cancelled"     # the caller's cancel event was set


@dataclasses.dataclass
class Fault:
    kind: FaultKind
    line: str
    index: int          # position in WatchResult.lines


@dataclasses.dataclass
class WatchResult:
    reason: EndReason
    lines: list[str]
    faults: list[Fault]
    elapsed: float
    exit_status: Optional[int]
    stalled_after: Optional[float] = None   # silence that ended the run


def watch(console: Console, *, boot_timeout: float, step_timeout: float,
          total_timeout: float, is_progress: Callable[[str], bool],
          is_final: Callable[[str], bool] = lambda line: False,
          log: Optional[TextIO] = None,
          on_line: Optional[Callable[[str], None]] = None,
          final_grace: float = 30.0, panic_grace: float = 5.0,
          cancel: Optional[threading.Event] = None) -> WatchResult:
    """Read ``console`` until it ends; always stops it before returning.

    Deadlines: until the first progress line, ``boot_timeout``; after each
    progress line, ``step_timeout``; after the final line, ``final_grace``
    (QEMU should power off); after a panic, ``panic_grace`` (to capture the
    trace).  ``total_timeout`` bounds everything.  Setting ``cancel`` (from
    another thread) ends the watch within ``CANCEL_POLL`` seconds.
    """
    lines: list[str] = []
    faults: list[Fault] = []
    start = console.clock()
    hard_deadline = start + total_timeout
    deadline = start + boot_timeout
    window = boot_timeout
    panicked = False
    reason = EndReason.EXITED
    try:
        while True:
            now = console.clock()
            if now >= hard_deadline:
                reason = EndReason.TOTAL_TIMEOUT
                break
            if now >= deadline:
                reason = EndReason.PANIC if panicked else EndReason.STALLED
                break
            if cancel is not None and cancel.is_set():
                reason = EndReason.CANCELLED
                break
            wait = min(deadline, hard_deadline) - now
            line = console.readline(wait if cancel is None
                                    else min(wait, CANCEL_POLL))
            if line is None:
                if console.closed:
                    reason = EndReason.PANIC if panicked else EndReason.EXITED
                    break
                continue
            lines.append(line)
            if log is not None:
                log.write(line + "\n")
                log.flush()
            if on_line is not None:
                on_line(line)
            now = console.clock()
            kind = console_fault(line)
            if kind is not None:
                faults.append(Fault(kind, line, len(lines) - 1))
                if kind is FaultKind.PANIC and not panicked:
                    panicked = True
                    deadline = now + panic_grace
                    continue
            if panicked:
                continue
            if is_final(line):
                deadline, window = now + final_grace, final_grace
            elif is_progress(line):
                deadline, window = now + step_timeout, step_timeout
    finally:
        console.stop()
    return WatchResult(reason, lines, faults, console.clock() - start,
                       console.exit_status,
                       window if reason is EndReason.STALLED else None)
