"""Saved guests: boot a kernel once with the agent waiting, restore it later.

The one interface the rest of kconform (the runner, a live explorer) uses
is :class:`AgentGuest`: ``start(extra)`` gives a running QEMU whose guest
agent waits for work — restored from the cached snapshot when there is a
good one, booted otherwise (and saved on the way, once the agent is ready:
``on_line`` sees the READY line, saves, resumes and calls ``ready``).

Phases:
  1. key: everything that decides what the saved machine holds —
     the kernel (package and version, or a user build's sha256), QEMU's
     version banner, machine, CPU, vCPUs, memory, kernel arguments, the
     agent initramfs's sha256, the work disk's size, the host profile
     (specs/host-features.yaml) (:class:`SnapshotKey`);
  2. look-up under ``<cache>/snapshots/<digest>/`` with an fcntl lock
     (exclusive to check, delete or build; shared while a restore reads);
  3. check (:func:`check_snapshot`): meta.json must name the same key, the
     state file must have the size recorded when it was saved; anything
     else is rejected with one line, deleted and rebuilt;
  4. restore with QEMU's ``-incoming file:`` (migration stream), wait on
     QMP until the guest runs; a restore QEMU refuses is rejected the same
     way and the run falls back on a boot, saying so;
  5. save: QMP ``migrate`` to a temporary file beside the state, renamed
     into place with its meta.json, then ``cont`` resumes the source.
"""
from __future__ import annotations

import dataclasses
import enum
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from generator.runner.errors import QemuError
from generator.runner.qemu import QemuConfig, QemuProcess
from generator.runner.qmp import Qmp

SNAPSHOT_DIR = "snapshots"
STATE = "state"
META = "meta.json"
RESTORE_TIMEOUT = 60.0
SAVE_TIMEOUT = 120.0


class Start(enum.Enum):
    RESTORED = "restored"          # from a cached snapshot
    BOOTED_SAVED = "booted, saved"  # booted; the snapshot is saved at READY
    BOOTED = "booted"              # booted without saving (another run saves)


@dataclasses.dataclass(frozen=True)
class SnapshotKey:
    kernel: str
    qemu: str
    machine: str
    cpu: str
    smp: int
    memory_mb: int
    kernel_args: tuple[str, ...]
    initramfs: str
    disk_bytes: int
    agent: str
    arch: str = "arm64"       # runner.arch; arm64's keys (and digests) read as before
    dtb: str = ""        # sha256 of a host profile's device tree (QemuConfig.dtb); "": QEMU's
    profile: str = "default"     # the host profile (specs/host-features.yaml)

    @classmethod
    def of(cls, config: QemuConfig, *, kernel: str, qemu: str, initramfs: str,
           disk_bytes: int, agent: str) -> "SnapshotKey":
        dtb = hashlib.sha256(Path(config.dtb).read_bytes()).hexdigest() if config.dtb else ""
        return cls(kernel, qemu, config.machine, config.cpu, config.smp,
                   config.memory_mb, tuple(config.kernel_args), initramfs,
                   disk_bytes, agent, config.arch, dtb, config.profile)

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["kernel_args"] = list(self.kernel_args)
        if self.arch == "arm64":
            del d["arch"]
        if not self.dtb:              # QEMU's own tree: the key (and digest) as before
            del d["dtb"]
        return d

    @property
    def digest(self) -> str:
        text = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


_FIELD_WORDS = {"kernel": "another kernel", "qemu": "another QEMU",
                "machine": "another machine", "cpu": "another CPU",
                "smp": "another vCPU count", "memory_mb": "another memory size",
                "kernel_args": "other kernel arguments",
                "initramfs": "another agent initramfs",
                "disk_bytes": "another work-disk size", "agent": "another agent",
                "arch": "another architecture", "dtb": "another device tree",
                "profile": "another host profile"}


@dataclasses.dataclass(frozen=True)
class Snapshot:
    key: SnapshotKey
    directory: Path

    @property
    def state(self) -> Path:
        return self.directory / STATE

    @property
    def meta(self) -> Path:
        return self.directory / META


def snapshot_for(key: SnapshotKey, cache: Path) -> Snapshot:
    return Snapshot(key, Path(cache) / SNAPSHOT_DIR / key.digest)


def check_snapshot(snap: Snapshot) -> Optional[str]:
    """None when ``snap`` may be restored; else why not, in a few words
    (``""`` when there is simply none yet)."""
    if not snap.state.exists() and not snap.meta.exists():
        return ""
    try:
        meta = json.loads(snap.meta.read_text())
        saved = meta["key"]
        size = int(meta["state_bytes"])
    except (OSError, ValueError, KeyError, TypeError):
        return "its meta.json is missing or unreadable"
    mine = snap.key.as_dict()
    for field, value in mine.items():
        if saved.get(field) != value:
            return (f"it is from {_FIELD_WORDS.get(field, field)} "
                    f"({field} {saved.get(field)!r}, this run {value!r})")
    try:
        actual = snap.state.stat().st_size
    except OSError:
        return "its state file is missing"
    if actual != size:
        return f"its state file is truncated ({actual} of {size} bytes)"
    return None


def discard(snap: Snapshot) -> None:
    shutil.rmtree(snap.directory, ignore_errors=True)


# what names "the same guest"; a snapshot that matches on these but not on
# the rest (another QEMU, agent initramfs or agent) is superseded
_SAME_GUEST = ("kernel", "machine", "cpu", "smp", "memory_mb", "kernel_args")


def prune_superseded(snap: Snapshot) -> list[Path]:
    """Delete the snapshots ``snap`` replaces (same kernel and machine,
    older QEMU or agent), each only when no run holds its lock; the
    directories deleted."""
    gone = []
    mine = snap.key.as_dict()
    root = snap.directory.parent
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if not d.is_dir() or d == snap.directory:
            continue
        try:
            saved = json.loads((d / META).read_text())["key"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if any(saved.get(f) != mine[f] for f in _SAME_GUEST):
            continue
        with open(root / f"{d.name}.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue                      # in use by another run
            shutil.rmtree(d, ignore_errors=True)
            (root / f"{d.name}.lock").unlink(missing_ok=True)
            fcntl.flock(lock, fcntl.LOCK_UN)
        gone.append(d)
    return gone


class _Lock:
    """An fcntl lock on ``<snapshots>/<digest>.lock``."""

    def __init__(self, snap: Snapshot):
        snap.directory.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(snap.directory.parent / f"{snap.directory.name}.lock", "a")
        self.mode: Optional[int] = None

    def take(self, mode: int) -> None:
        fcntl.flock(self._f, mode)
        self.mode = mode

    def release(self) -> None:
        if self.mode is not None:
            fcntl.flock(self._f, fcntl.LOCK_UN)
            self.mode = None

    def close(self) -> None:
        self.release()
        self._f.close()


class AgentGuest:
    """A guest whose agent waits for work: restored, or booted and saved.

    ``start(extra)`` returns the running QemuProcess (``extra``: devices,
    e.g. the work disk; they must be the same on every start of a key).
    ``on_line(line)`` must see every console line; once the agent is ready
    (at once after a restore, at the READY line after a boot) ``ready`` is
    called with the process — the caller hands the work over there.
    ``notes`` collects one-line explanations (rejected snapshots, falling
    back on a boot, a save that failed).  ``stop()`` always ends QEMU.
    """

    def __init__(self, config: QemuConfig, kernel: Path, initrd: Path,
                 key: SnapshotKey, cache: Path, *, ready_line: str,
                 ready: Callable[[QemuProcess], None],
                 note: Callable[[str], None] = lambda s: None,
                 use_snapshot: bool = True):
        self.config, self.kernel, self.initrd = config, kernel, initrd
        self.snap = snapshot_for(key, cache)
        self.ready_line = ready_line
        self._ready, self._note = ready, note
        self.use_snapshot = use_snapshot
        self.proc: Optional[QemuProcess] = None
        self.how: Optional[Start] = None
        self.restore_seconds: Optional[float] = None
        self.save_seconds: Optional[float] = None
        self._tmp = Path(tempfile.mkdtemp(prefix="kconform-qmp-"))
        self._lock: Optional[_Lock] = None
        self._extra: tuple[str, ...] = ()
        self._handed = False

    # -- start ---------------------------------------------------------
    def start(self, extra: Sequence[str] = ()) -> QemuProcess:
        self._extra = tuple(extra)
        if not self.use_snapshot:
            return self._boot(save=False)
        self._lock = _Lock(self.snap)
        self._lock.take(fcntl.LOCK_EX)
        why = check_snapshot(self.snap)
        if why is None:
            self._lock.take(fcntl.LOCK_SH)
            try:
                return self._restore()
            except QemuError as e:
                self._lock.take(fcntl.LOCK_EX)
                why = f"QEMU could not restore it ({e})"
                if check_snapshot(self.snap) is not None:
                    why = ""          # another run replaced it meanwhile
        if why:
            self._note(f"snapshot {self.snap.directory.name} rejected: {why}; "
                       "deleted, booting instead (a new one is saved)")
        discard(self.snap)
        return self._boot(save=True)

    def _qmp_args(self) -> list[str]:
        sock = self._tmp / "qmp.sock"
        sock.unlink(missing_ok=True)
        return ["-qmp", f"unix:{sock},server=on,wait=off"]

    def _spawn(self, extra: Sequence[str]) -> QemuProcess:
        self.proc = QemuProcess(self.config, self.kernel, self.initrd,
                                extra=[*self._extra, *self._qmp_args(), *extra])
        return self.proc.start()

    def _qmp(self, timeout: float) -> Qmp:
        proc = self.proc
        return Qmp.connect(self._tmp / "qmp.sock", timeout=timeout,
                           alive=lambda: proc.child is not None and proc.child.isalive())

    def _restore(self) -> QemuProcess:
        t0 = time.monotonic()
        proc = self._spawn(["-incoming", f"file:{self.snap.state}"])
        try:
            with self._qmp(RESTORE_TIMEOUT) as q:
                status = q.wait_status("inmigrate", RESTORE_TIMEOUT)
                if status == "paused":
                    q.execute("cont")
                    status = q.status()
            if status != "running":
                raise QemuError(f"the restored machine is {status!r}, not running")
        except QemuError as e:
            tail = self._console_tail()
            proc.stop()
            self.proc = None
            raise QemuError(f"{e}{'; ' + tail if tail else ''}") from None
        finally:
            self._lock.release()
        self.restore_seconds = time.monotonic() - t0
        self.how = Start.RESTORED
        self._hand()
        return proc

    def _console_tail(self) -> str:
        """QEMU's own last words (e.g. 'load of migration failed')."""
        child = self.proc.child if self.proc else None
        if child is None:
            return ""
        try:
            child.expect([r"\n", "$"], timeout=0.2)
            text = (child.before or "") + (child.buffer or "")
        except Exception:               # pexpect EOF/TIMEOUT: nothing more
            text = (child.before or "") if isinstance(child.before, str) else ""
        lines = [l.strip() for l in text.splitlines() if l.strip()]
        return lines[-1][:200] if lines else ""

    def _boot(self, save: bool) -> QemuProcess:
        self.how = Start.BOOTED_SAVED if save else Start.BOOTED
        if not save and self._lock is not None:
            self._lock.release()
        return self._spawn([])

    # -- the console ---------------------------------------------------
    def on_line(self, line: str) -> None:
        if self._handed or self.ready_line not in line:
            return
        if self.how is Start.BOOTED_SAVED:
            self._save()
        self._hand()

    def _hand(self) -> None:
        self._handed = True
        self._ready(self.proc)

    def _save(self) -> None:
        t0 = time.monotonic()
        snap = self.snap
        snap.directory.mkdir(parents=True, exist_ok=True)
        part = snap.directory / f".{STATE}.{os.getpid()}.tmp"
        try:
            with self._qmp(10.0) as q:
                why = q.migrate_to_file(part, SAVE_TIMEOUT)
                if why is None:
                    size = part.stat().st_size
                    os.replace(part, snap.state)
                    meta = {"key": snap.key.as_dict(), "state_bytes": size,
                            "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                    tmp = snap.directory / f".{META}.tmp"
                    tmp.write_text(json.dumps(meta, indent=1) + "\n")
                    os.replace(tmp, snap.meta)
                    prune_superseded(snap)
                else:
                    self._note(f"the guest could not be saved ({why}); the next run "
                               "boots again")
                if q.status() != "running":
                    q.execute("cont")
        except (QemuError, OSError) as e:
            self._note(f"the guest could not be saved ({e}); the next run boots again")
            discard(snap)
        finally:
            part.unlink(missing_ok=True)
            if self._lock is not None:
                self._lock.release()
        self.save_seconds = time.monotonic() - t0

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        shutil.rmtree(self._tmp, ignore_errors=True)
