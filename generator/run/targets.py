"""Where the built tests run.

* ``qemu`` (the default): QEMU boots a kernel named by alias, package or
  path (``runner.run.run_tests``); one target per kernel of a matrix.
* ``local``: this machine, when it is arm64 with ``/dev/kvm``.
* ``ssh://[user@]host[:port]``: an arm64 machine reached with the system's
  ``ssh`` client.

Every target returns a ``runner.run.RunOutcome``, so cross-checking and
reporting do not know where the tests ran.  ``local`` and ``ssh`` speak the
runner's marker protocol (``runner.initramfs.Markers``) through a small
shell script instead of an ``/init``:

1. check the target (host architecture and ``/dev/kvm``; the ssh client);
2. stage the static binaries and ``run.sh`` (a temporary directory; over
   ssh a tar stream unpacked into ``mktemp -d`` and removed afterwards, so
   the remote needs only ``sh``, ``tar``, ``mktemp`` and ``timeout``);
3. run it and watch the output like a QEMU console (``runner.qemu.watch``:
   log file, per-test and whole-run timeouts, cancellation);
4. interpret the output with ``runner.run.outcome_from_lines``.
"""
from __future__ import annotations

import dataclasses
import io
import os
import platform as host_platform
import queue
import re
import shlex
import shutil
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from generator.errors import KconformError
from generator.runner.initramfs import TIMEOUT_SIGNAL, MarkerKind, Markers
from generator.runner.platform import PLATFORM_TEST, platform_binary
from generator.runner.qemu import AARCH64, LOG_HEADER, QemuConfig, watch
from generator.runner.run import (BOOT_TIMEOUT, HOST_GRACE, EventKind, RunEvent,
                         RunOutcome, RunStatus, outcome_from_lines)

ARM64_MACHINES = ("aarch64", "arm64")
SSH_CONNECT_TIMEOUT = 15          # seconds for the TCP connection and login


class TargetError(KconformError):
    """A target that cannot be used; the message says what to do instead."""


def _emit(on_event, kind: EventKind, message: str, test: Optional[str] = None) -> None:
    if on_event is not None:
        on_event(RunEvent(kind, message, test))


def _tail(lines: Sequence[str], n: int = 15) -> str:
    shown = [l for l in lines if l.strip()][-n:]
    return "\n".join("    " + l for l in shown) or "    (no output)"


# ------------------------------------------------------------------ QEMU
@dataclasses.dataclass
class QemuTarget:
    """QEMU booting one kernel (alias, Debian package name or Image path)."""
    kernel: str
    config: QemuConfig = AARCH64
    image: object = None              # runner.kernels.KernelImage once resolved
    restore: bool = True              # restore the saved guest agent (runner.snapshot)

    @property
    def label(self) -> str:
        return self.kernel

    @property
    def arch(self) -> str:
        """The architecture booted (runner.arch: arm64, x86_64)."""
        return self.config.arch

    def resolve(self, log: Optional[Callable[[str], None]] = None) -> None:
        from generator.runner.arch import arch_of_config
        from generator.runner.kernels import resolve_kernel
        if self.image is None:
            self.image = resolve_kernel(self.kernel, log=log,
                                        arch=arch_of_config(self.config).debian)

    def facts(self) -> dict:
        k = self.image
        if k is None:
            return {"target": "qemu", "arch": self.arch, "kernel_name": self.kernel}
        return {"target": "qemu", "arch": self.arch, "kernel_name": self.kernel,
                "kernel_package": f"{k.package or k.vmlinuz} {k.version or ''}".strip()}

    def run(self, binaries: Sequence[Path], *, per_test_timeout: float,
            total_timeout: float, log_path: Path, work_dir: Path,
            on_event=None, cancel: Optional[threading.Event] = None) -> RunOutcome:
        from generator.runner.run import run_tests
        if self.image is None:
            self.resolve()
        return run_tests(list(binaries), self.image,
                         per_test_timeout=per_test_timeout,
                         total_timeout=total_timeout, log_path=log_path,
                         on_event=on_event, config=self.config,
                         work_dir=work_dir, cancel=cancel, restore=self.restore)


# ------------------------------------------------------------------ the script
def run_script(names: Sequence[str], markers: Markers, per_test_timeout: float) -> str:
    """``run.sh``: run each staged binary in order between markers, from
    the directory it is in.  Same markers as the initramfs's /init, without
    mounting anything or powering off."""
    m = markers.prefix
    timeout = max(1, int(round(per_test_timeout)))
    up = "read up _ </proc/uptime"
    lines = [
        "#!/bin/sh",
        "# Written by kconform: runs the staged test binaries and brackets",
        "# each one with markers the host parses.",
        'cd "$(dirname "$0")" || exit 99',
        up,
        f'echo "{m} START $up {timeout}"',
        f'echo "{m} RELEASE $(uname -r)"',
        f'ps=$(getconf PAGESIZE 2>/dev/null) || ps=$(awk \'/^KernelPageSize:/ '
        "{print $2 * 1024; exit}' /proc/self/smaps)",
        f'echo "{m} PAGESIZE $ps"',
        "run() {",
        f"    {up}",
        f'    echo "{m} BEGIN $1 $up"',
        f'    timeout -s {TIMEOUT_SIGNAL} {timeout} "./$1" </dev/null 2>&1',
        "    rc=$?",
        f"    {up}",
        f'    echo "{m} END $1 $rc $up"',
        "}",
    ]
    lines += [f"run {n}" for n in names]
    lines += [up, f'echo "{m} DONE $up"', ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ consoles
class CommandConsole:
    """A command's merged stdout/stderr, line by line, through the console
    interface ``runner.qemu.watch`` reads (``readline``/``stop``/``clock``).
    ``stdin`` bytes, if given, are written from a thread and then closed."""

    _EOF = object()

    def __init__(self, argv: Sequence[str], *, stdin: Optional[bytes] = None,
                 cwd: Optional[Path] = None):
        self.argv = list(argv)
        self.closed = False
        self.exit_status: Optional[int] = None
        self._lines: "queue.Queue" = queue.Queue()
        try:
            self._proc = subprocess.Popen(
                self.argv, cwd=cwd, start_new_session=True,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as e:
            raise TargetError(f"cannot start {self.argv[0]}: {e}") from e
        threading.Thread(target=self._read, daemon=True).start()
        if stdin is not None:
            threading.Thread(target=self._write, args=(stdin,), daemon=True).start()

    def _read(self) -> None:
        for raw in iter(self._proc.stdout.readline, b""):
            self._lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        self._lines.put(self._EOF)

    def _write(self, data: bytes) -> None:
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass          # the command ended early; its output says why

    def clock(self) -> float:
        return time.monotonic()

    def readline(self, timeout: float) -> Optional[str]:
        if self.closed:
            return None
        try:
            item = self._lines.get(timeout=max(timeout, 0.01))
        except queue.Empty:
            return None
        if item is self._EOF:
            self.exit_status = self._proc.wait()
            self.closed = True
            return None
        return item

    def stop(self) -> None:
        if self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        status = self._proc.wait()
        if not self.closed:
            self.closed = True
            self.exit_status = status


# ------------------------------------------------------------------ staged targets
class _StagedTarget:
    """Shared by ``local`` and ``ssh``: stage, run ``run.sh``, interpret."""
    label = ""
    what = ""             # "this machine", "root@host"

    def facts(self) -> dict:
        return {"target": self.label}

    def _console(self, files: dict[str, Path], script: str, stage: Path) -> CommandConsole:
        raise NotImplementedError

    def run(self, binaries: Sequence[Path], *, per_test_timeout: float,
            total_timeout: float, log_path: Path, work_dir: Path,
            on_event=None, cancel: Optional[threading.Event] = None) -> RunOutcome:
        names = [Path(b).name for b in binaries]
        if PLATFORM_TEST in names:
            raise TargetError(f"a test binary may not be named '{PLATFORM_TEST}'")
        files = {PLATFORM_TEST: platform_binary(Path(work_dir))}
        files.update({Path(b).name: Path(b) for b in binaries})
        markers = Markers.fresh()
        script = run_script(list(files), markers, per_test_timeout)
        log_path = Path(log_path)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        _emit(on_event, EventKind.BOOTING, f"running on {self.label}")
        times: list[float] = []
        with tempfile.TemporaryDirectory(prefix="kconform-stage-") as tmp, \
                open(log_path, "w", encoding="utf-8") as log:
            console = self._console(files, script, Path(tmp))
            start = console.clock()
            log.write(f"{LOG_HEADER}{' '.join(shlex.quote(a) for a in console.argv)}\n")

            def seen(line: str) -> None:
                times.append(console.clock() - start)
                mk = markers.parse(line)
                if mk is not None and mk.kind is MarkerKind.BEGIN:
                    _emit(on_event, EventKind.TEST_STARTED, mk.name, mk.name)

            watched = watch(console, boot_timeout=min(BOOT_TIMEOUT, total_timeout),
                            step_timeout=per_test_timeout + HOST_GRACE,
                            total_timeout=total_timeout,
                            is_progress=lambda l: markers.parse(l) is not None,
                            is_final=lambda l: _is_done(markers, l),
                            log=log, on_line=seen, final_grace=10.0,
                            cancel=cancel)
        outcome = outcome_from_lines(
            watched, markers, expected=names, per_test_timeout=per_test_timeout,
            emulator_name=self.emulator_name, emulator_version=self.what,
            line_times=times, emulator_label=self.label)
        outcome.command = console.argv
        outcome.log_path = log_path
        if outcome.status is RunStatus.BOOT_FAILED:
            outcome.broke = (f"the tests did not start on {self.label}: "
                             f"{self._why_not_started(watched.exit_status)}. "
                             f"Output tail:\n{_tail(watched.lines)}")
        return outcome

    emulator_name = "hardware"

    def _why_not_started(self, status: Optional[int]) -> str:
        return f"the run script exited with status {status}"


def _is_done(markers: Markers, line: str) -> bool:
    mk = markers.parse(line)
    return mk is not None and mk.kind is MarkerKind.DONE


class LocalTarget(_StagedTarget):
    """This machine: only an arm64 host with /dev/kvm can run the tests."""
    label = "local"
    what = "this machine"

    def __init__(self, machine: Optional[str] = None, kvm: str = "/dev/kvm"):
        self.machine = machine or host_platform.machine()
        self.kvm = kvm

    def resolve(self, log=None) -> None:
        if self.machine.lower() not in ARM64_MACHINES:
            raise TargetError(
                f"--target local runs the arm64 test binaries on this machine, "
                f"but this host is {self.machine}, not arm64 (aarch64); use "
                "--target qemu (the default: boots an arm64 kernel under QEMU) "
                "or --target ssh://[user@]HOST[:PORT] for an arm64 machine")
        if not os.path.exists(self.kvm):
            raise TargetError(
                f"--target local needs KVM, but {self.kvm} does not exist on "
                "this arm64 host: load the kvm module, boot the kernel at EL2, "
                "or use --target qemu")
        if not os.access(self.kvm, os.R_OK | os.W_OK):
            raise TargetError(f"--target local: {self.kvm} is not readable and "
                              "writable by this user; run as root or join the "
                              "kvm group")

    def _console(self, files, script, stage):
        for name, path in files.items():
            shutil.copy(path, stage / name)
            os.chmod(stage / name, 0o755)
        (stage / "run.sh").write_text(script)
        return CommandConsole(["sh", str(stage / "run.sh")], cwd=stage)


@dataclasses.dataclass
class SshTarget(_StagedTarget):
    """An arm64 machine over ssh: ``ssh://[user@]host[:port]``."""
    host: str
    user: Optional[str] = None
    port: Optional[int] = None
    identity: Optional[Path] = None
    options: tuple[str, ...] = ()     # extra ``-o`` options, "Key=Value"
    emulator_name = "ssh"

    @property
    def label(self) -> str:
        who = f"{self.user}@{self.host}" if self.user else self.host
        return f"ssh://{who}" + (f":{self.port}" if self.port else "")

    @property
    def what(self) -> str:
        return self.label[len("ssh://"):]

    def resolve(self, log=None) -> None:
        if shutil.which("ssh") is None:
            raise TargetError("--target ssh:// needs the OpenSSH client "
                              "(apt-get install openssh-client)")

    def ssh_argv(self, command: str) -> list[str]:
        argv = ["ssh", "-T", "-o", "BatchMode=yes",
                "-o", f"ConnectTimeout={SSH_CONNECT_TIMEOUT}",
                "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
        for opt in self.options:
            argv += ["-o", opt]
        if self.identity:
            argv += ["-i", str(self.identity), "-o", "IdentitiesOnly=yes"]
        if self.port:
            argv += ["-p", str(self.port)]
        if self.user:
            argv += ["-l", self.user]
        return argv + ["--", self.host, command]

    def _console(self, files, script, stage):
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w", format=tarfile.USTAR_FORMAT) as t:
            for name, data in [("run.sh", script.encode())] + [
                    (n, Path(p).read_bytes()) for n, p in files.items()]:
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o755, int(time.time())
                t.addfile(info, io.BytesIO(data))
        # One connection stages, runs and cleans up; the tests read
        # /dev/null, so the tar stream is all stdin carries.
        remote = ('D=$(mktemp -d /tmp/kconform.XXXXXX) || exit 97; '
                  'trap \'rm -rf "$D"\' EXIT; '
                  'tar -xf - -C "$D" || exit 98; '
                  'sh "$D/run.sh"')
        return CommandConsole(self.ssh_argv("sh -c " + shlex.quote(remote)),
                              stdin=tar.getvalue())

    def _why_not_started(self, status: Optional[int]) -> str:
        return {255: "ssh could not connect or log in (exit status 255)",
                97: "mktemp -d failed on the remote machine",
                98: "tar could not unpack the binaries on the remote machine",
                }.get(status, f"the remote run exited with status {status}")


# ------------------------------------------------------------------ parsing
_SSH_URL = re.compile(r"ssh://(?:(?P<user>[^@/:\s]+)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^@/:\s\[\]]+)"
                      r"(?::(?P<port>\d+))?/?")


def parse_target(text: str, *, identity: Optional[str] = None,
                 options: Sequence[str] = ()):
    """``qemu`` -> None (the kernels decide); ``local`` -> LocalTarget;
    ``ssh://[user@]host[:port]`` -> SshTarget.  Anything else raises a
    TargetError listing the forms."""
    text = (text or "qemu").strip()
    if text == "qemu":
        return None
    if text == "local":
        return LocalTarget()
    m = _SSH_URL.fullmatch(text)
    if m:
        port = int(m.group("port")) if m.group("port") else None
        if port is not None and not 0 < port < 65536:
            raise TargetError(f"--target {text}: port {port} is not in 1..65535")
        for opt in options:
            if "=" not in opt:
                raise TargetError(f"--ssh-option {opt!r}: expected Key=Value, "
                                  "as for ssh -o")
        return SshTarget(m.group("host").strip("[]"), m.group("user"), port,
                         Path(identity) if identity else None, tuple(options))
    raise TargetError(f"--target {text!r} is not a target; options are qemu "
                      "(default), local, ssh://[user@]HOST[:PORT]")
