"""Boot a kernel with the explore agent and talk to it over the console.

Phases of an :class:`AgentVM` session:

1. pack an initramfs: busybox, the agents under ``/tests``, and an
   ``/init`` that turns console echo off and loops: it announces
   ``AGENT-READY``, reads one command line (``A <agent>`` starts that agent,
   ``P`` powers off) and, when an agent exits (asked to, or killed by its
   step alarm), says ``AGENT-EXIT <agent> <status>`` and loops again;
2. boot under QEMU (runner.qemu.QemuProcess) and wait for the markers;
3. per agent: start it, read its hello (page size, host MTE, bindings),
   then send batches of sequences and read each one's observation lines
   until the batch's flush line;
4. faults: an agent that dies mid-batch (a hung step) raises
   :class:`AgentDied` with every sequence finished before it; a kernel
   panic or a silent guest raises :class:`VmBroke` with the same; QEMU is
   always killed on close.

Every console line goes to the log as it arrives.
"""
from __future__ import annotations

import dataclasses
import enum
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence, TextIO

from generator.runner.errors import RunnerError
from generator.runner.initramfs import INIT_PREAMBLE, Markers, _base, _write
from generator.runner.kernels import KernelImage, resolve_busybox
from generator.runner.qemu import (AARCH64, LOG_HEADER, FaultKind, QemuConfig, QemuProcess,
                                   console_fault, emulator_info)

BOOT_TIMEOUT = 180.0      # QEMU start -> the first AGENT-READY
GRACE = 20.0              # host waits this much longer than the guest's step alarm
_KV = re.compile(r"(\w+)=(\S+)")


class AgentEvent(enum.Enum):
    READY = "AGENT-READY"
    EXIT = "AGENT-EXIT"
    START = "START"
    RELEASE = "RELEASE"
    DONE = "DONE"


class AgentDied(RunnerError):
    """The agent exited in the middle of a batch (its step alarm fired)."""

    def __init__(self, message: str, done: dict, hung: Optional[str], status: Optional[int]):
        super().__init__(message)
        self.done, self.hung, self.status = done, hung, status


class VmBroke(RunnerError):
    """The kernel panicked, QEMU died or the guest went silent."""

    def __init__(self, message: str, done: dict, panic: bool = False):
        super().__init__(message)
        self.done, self.panic = done, panic


@dataclasses.dataclass
class AgentInfo:
    name: str
    spec: str
    page_size: int
    host_mte: bool
    bindings: dict                # capability -> (number, how)
    step_timeout: int
    kvm: str = "ok"
    lanes: int = 1                # guest processes a batch runs in


@dataclasses.dataclass
class SeqResult:
    """The console lines one sequence produced, and how it ended: per step
    the agent's short observation ("=<ret> <errno|-> <digest|->", in step
    order), its `hang` line if a step hung, its `end` line's fields."""
    id: str
    lines: list[str]
    end: Optional[dict] = None    # the `end` line's fields; None: never ended
    hung: bool = False


def init_script(markers: Markers) -> str:
    m = markers.prefix
    return "\n".join([
        *INIT_PREAMBLE,
        "stty -echo -ixon 2>/dev/null",
        "read up _ </proc/uptime",
        f"echo \"{m} START $up 0\"",
        f"echo \"{m} RELEASE $(uname -r)\"",
        "cd /tmp",
        "while true; do",
        f"    echo \"{m} AGENT-READY\"",
        "    read cmd arg || break",
        "    case \"$cmd\" in",
        f"    A) /tests/\"$arg\"; echo \"{m} AGENT-EXIT $arg $?\" ;;",
        "    P) break ;;",
        "    esac",
        "done",
        f"echo \"{m} DONE\"",
        "poweroff -f",
        ""])


def build_agent_initramfs(agents: Sequence[Path], busybox: Path, out: Path,
                          markers: Markers) -> Path:
    cpio = _base(busybox)
    try:
        for a in agents:
            cpio.file(f"tests/{Path(a).name}", Path(a).read_bytes())
    except OSError as e:
        raise RunnerError(f"cannot read {e.filename}: {e.strerror}") from e
    cpio.file("init", init_script(markers).encode())
    _write(cpio, out)
    return out


class AgentVM:
    """One boot of `kernel` with the agents; use as a context manager."""

    def __init__(self, kernel: Optional[KernelImage], agents: Sequence[Path], log_path: Path, *,
                 config: QemuConfig = AARCH64, boot_timeout: float = BOOT_TIMEOUT,
                 grace: float = GRACE, console=None, markers: Optional[Markers] = None):
        """`console` (tests): a started console with QemuProcess's line
        interface and `send_text(text)`, used instead of booting `kernel`."""
        self.kernel, self.agents = kernel, [Path(a) for a in agents]
        self.log_path, self.config, self.boot_timeout = Path(log_path), config, boot_timeout
        self.grace = grace
        self.markers = markers or Markers.fresh()
        self.proc = console
        self.log: Optional[TextIO] = None
        self.release: Optional[str] = None
        self.emulator = None
        self.current: Optional[AgentInfo] = None
        self.boot_seconds: Optional[float] = None
        self.faults: list[str] = []
        self._tmp: Optional[tempfile.TemporaryDirectory] = None

    # -- lifecycle
    def __enter__(self) -> "AgentVM":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        t0 = time.monotonic()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.proc is not None:                      # a test's console
            self.log = open(self.log_path, "w", encoding="utf-8")
            self._until(AgentEvent.READY, self.boot_timeout, {}, "boot")
            self.boot_seconds = time.monotonic() - t0
            return
        self.emulator = emulator_info(self.config.binary)
        busybox = resolve_busybox()
        self._tmp = tempfile.TemporaryDirectory(prefix="kconform-explore-")
        initrd = build_agent_initramfs(self.agents, busybox.binary,
                                       Path(self._tmp.name) / "initrd.gz", self.markers)
        self.log = open(self.log_path, "w", encoding="utf-8")
        self.proc = QemuProcess(self.config, self.kernel.vmlinuz, initrd)
        self.log.write(f"{LOG_HEADER}{' '.join(self.proc.cmd)}\n")
        self.proc.start()
        self._until(AgentEvent.READY, self.boot_timeout, {}, "boot")
        self.boot_seconds = time.monotonic() - t0

    def close(self) -> None:
        """Power off if the guest still listens; QEMU is killed either way."""
        if self.proc is not None and not self.proc.closed:
            try:
                self._send("P\n")
                self._until(AgentEvent.DONE, 5.0, {}, "power off")
            except (RunnerError, OSError):
                pass
            self.proc.stop()
        if self.log is not None:
            self.log.close()
            self.log = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- console
    def _send(self, text: str) -> None:
        if hasattr(self.proc, "send_text"):
            self.proc.send_text(text)
            return
        data = text.encode()
        fd = self.proc.child.child_fd
        while data:
            n = os.write(fd, data)
            data = data[n:]

    def _line(self, timeout: float) -> Optional[str]:
        line = self.proc.readline(timeout)
        if line is not None and self.log is not None:
            self.log.write(line + "\n")
            self.log.flush()
        return line

    def _event(self, line: str) -> Optional[tuple[AgentEvent, list[str]]]:
        i = line.find(self.markers.prefix + " ")
        if i < 0:
            return None
        words = line[i + len(self.markers.prefix) + 1:].split()
        try:
            return AgentEvent(words[0]), words[1:]
        except (ValueError, IndexError):
            return None

    def _fault(self, line: str, done: dict) -> None:
        kind = console_fault(line)
        if kind is None:
            return
        self.faults.append(line.strip())
        if kind is FaultKind.PANIC:
            for _ in range(40):                   # the trace, for the log
                if self._line(0.2) is None:
                    break
            self.proc.stop()
            raise VmBroke(f"kernel panic: {line.strip()}", done, panic=True)

    def _next(self, deadline: float, done: dict, silent: str, when: str) -> str:
        """The next console line before `deadline` (a fault on it checked);
        VmBroke when the guest stays silent (QEMU is killed) or QEMU exits."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.proc.stop()
                raise VmBroke(f"{silent}; QEMU was killed", done)
            line = self._line(left)
            if line is None:
                if self.proc.closed:
                    raise VmBroke(f"QEMU exited (status {self.proc.exit_status}) {when}",
                                  done)
                continue
            self._fault(line, done)
            return line

    def _until(self, event: AgentEvent, timeout: float, done: dict, what: str,
               lines: Optional[list] = None) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            line = self._next(deadline, done,
                              f"the guest said nothing for {timeout:.0f} s during {what}",
                              f"during {what}")
            ev = self._event(line)
            if ev is not None and ev[0] is AgentEvent.RELEASE and ev[1]:
                self.release = ev[1][0]
            if ev is not None and ev[0] is event:
                return ev[1]
            if lines is not None:
                lines.append(line)

    # -- agents
    def start_agent(self, name: str) -> AgentInfo:
        self._send(f"A {name}\n")
        hello: list[str] = []
        timeout = self.boot_timeout
        deadline = time.monotonic() + timeout
        while True:
            line = self._line(max(0.0, deadline - time.monotonic()))
            if line is None:
                if self.proc.closed or time.monotonic() >= deadline:
                    self.proc.stop()
                    raise VmBroke(f"agent {name} did not start", {})
                continue
            self._fault(line, {})
            ev = self._event(line)
            if ev is not None and ev[0] is AgentEvent.EXIT:
                raise RunnerError(f"agent {name} exited at start (status "
                                  f"{ev[1][1] if len(ev[1]) > 1 else '?'}): "
                                  + " | ".join(hello[-3:]))
            hello.append(line)
            if "kconform: agent ready" in line:
                break
        info = AgentInfo(name, "", 0, True, {}, 0)
        for line in hello:
            kv = dict(_KV.findall(line.partition("kconform:")[2]))
            if "agent" in line and "spec" in kv:
                info.spec, info.page_size = kv["spec"], int(kv["page_size"])
                info.host_mte = kv.get("hwcap2_mte") == "1"
                info.step_timeout = int(kv.get("step_timeout", "10"))
                info.kvm = kv.get("kvm", "ok")
                info.lanes = int(kv.get("lanes", "1"))
            elif "binding" in line and "name" in kv:
                info.bindings[kv["name"]] = (int(kv["number"]), kv.get("how", ""))
        if not info.page_size:
            raise RunnerError(f"agent {name} gave no hello line: " + " | ".join(hello[-3:]))
        self.current = info
        return info

    def set_lanes(self, lanes: int) -> None:
        """Run later batches in `lanes` guest processes at once (the agent
        clamps it to 1..its KC_AGENT_LANES)."""
        self._send(f"L {int(lanes)}\n")

    def stop_agent(self) -> None:
        if self.current is None:
            return
        self._send("Q\n")
        self._until(AgentEvent.EXIT, self.grace, {}, f"stopping {self.current.name}")
        self._until(AgentEvent.READY, self.grace, {}, "the next prompt")
        self.current = None

    def run_batch(self, texts: Sequence[tuple[str, str]]) -> dict[str, SeqResult]:
        """Send every (id, sequence text) of the batch, then a flush; return
        each finished sequence's lines (one whose step hung is finished;
        one the agent's lanes never reached is absent: send it again).
        Raises AgentDied (the agent was restarted) or VmBroke, both with the
        sequences finished so far."""
        info = self.current
        if info is None:
            raise RunnerError("no agent is running")
        done: dict[str, SeqResult] = {}
        for _, text in texts:
            self._send(text)
        self._send("F\n")
        ids = [i for i, _ in texts]
        pending = {i: SeqResult(i, []) for i in ids}
        running: Optional[str] = None
        window = info.step_timeout + self.grace
        deadline = time.monotonic() + window * max(1, len(ids))
        while True:
            line = self._next(deadline, done,
                              f"no answer from agent {info.name} for {window:.0f} s",
                              f"while agent {info.name} ran")
            ev = self._event(line)
            if ev is not None and ev[0] is AgentEvent.EXIT:
                status = int(ev[1][1]) if len(ev[1]) > 1 and ev[1][1].isdigit() else None
                hung = next((i for i in ids if i in done and done[i].hung), None)
                hung = hung or next((i for i in ids if i not in done and pending[i].lines), None)
                hung = hung or next((i for i in ids if i not in done), None)
                if hung is not None and hung not in done:
                    pending[hung].hung = any(" hang " in l for l in pending[hung].lines)
                    done[hung] = pending[hung]
                self._until(AgentEvent.READY, self.grace, done, "the agent's restart")
                self.current = None
                self.start_agent(info.name)
                raise AgentDied(f"agent {info.name} exited (status {status}) during "
                                f"sequence {hung}", done, hung, status)
            if "kconform: flush" in line:
                return done
            if line.startswith("="):              # a step of the sequence running
                if running is not None:
                    pending[running].lines.append(line)
                continue
            kv = dict(_KV.findall(line.partition("kconform:")[2]))
            sid = kv.get("case")
            if sid in pending:
                if line.rstrip().endswith(" begin"):
                    running = sid
                    continue
                pending[sid].lines.append(line)
                if " hang step=" in line:           # a lane's step hung: its last line
                    pending[sid].hung = True
                    done[sid] = pending[sid]
                    running = None
                elif " end steps=" in line:
                    pending[sid].end = kv
                    done[sid] = pending[sid]
                    deadline = time.monotonic() + window * max(1, len(ids) - len(done))
