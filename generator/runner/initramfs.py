"""Assemble the gzip'd newc cpio initramfs the guest boots into.

The archive holds busybox (static), the test binaries under ``/tests`` and an
``/init`` shell script that mounts proc/sys/devtmpfs, announces itself with
markers, runs every test under busybox ``timeout`` and powers off.  Markers
carry a per-run nonce so no test output can forge one::

    KCONFORM-<nonce> START <uptime> <per-test timeout>
    KCONFORM-<nonce> RELEASE 6.12.117+deb12-arm64
    KCONFORM-<nonce> PAGESIZE 4096
    KCONFORM-<nonce> BEGIN <test> <uptime>
    KCONFORM-<nonce> END <test> <exit status> <uptime>
    KCONFORM-<nonce> DONE <uptime>

``<uptime>`` is the guest's /proc/uptime, so a captured log alone tells how
long each test ran and whether the guest's timeout killed it.

The cpio is written here in Python, so device nodes (``/dev/console``) need
no privileges.
"""

from __future__ import annotations

import dataclasses
import enum
import gzip
import io
import re
import secrets
import stat
from pathlib import Path
from typing import Optional, Sequence

from generator.runner.errors import InitramfsError

TIMEOUT_SIGNAL = "KILL"          # busybox timeout kills hung tests with this
TIMEOUT_EXIT = 128 + 9           # ... so the shell sees this exit status
_NAME_RE = re.compile(r"[A-Za-z0-9_.+-]+")


# the first lines of every /init (this one, the warm-run agent's in
# runner.workdisk, the explore agent's in runner.agent): busybox's applets,
# then /proc, /sys and /dev
INIT_PREAMBLE = (
    "#!/bin/sh",
    "/bin/busybox --install -s /bin",
    "export PATH=/bin",
    "mount -t proc proc /proc",
    "mount -t sysfs sysfs /sys",
    "mount -t devtmpfs devtmpfs /dev",
)


# -- markers --------------------------------------------------------------

class MarkerKind(enum.Enum):
    START = "START"
    RELEASE = "RELEASE"
    PAGESIZE = "PAGESIZE"
    BEGIN = "BEGIN"
    END = "END"
    DONE = "DONE"


@dataclasses.dataclass(frozen=True)
class Marker:
    kind: MarkerKind
    name: Optional[str] = None      # test name (BEGIN/END)
    value: Optional[str] = None     # release, page size, exit status,
                                    # per-test timeout (START)
    uptime: Optional[float] = None  # guest seconds since boot


def _float(text: Optional[str]) -> Optional[float]:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True)
class Markers:
    """The marker vocabulary of one run (one nonce)."""
    nonce: str

    @classmethod
    def fresh(cls) -> "Markers":
        return cls(secrets.token_hex(4))

    @classmethod
    def find_in(cls, lines: Sequence[str]) -> Optional["Markers"]:
        """Recover the markers of a captured log from its START line."""
        for line in lines:
            m = re.search(r"KCONFORM-([0-9a-f]+) START\b", line)
            if m:
                return cls(m.group(1))
        return None

    @property
    def prefix(self) -> str:
        return f"KCONFORM-{self.nonce}"

    def parse(self, line: str) -> Optional[Marker]:
        """The marker on ``line`` (console noise before it is ignored)."""
        i = line.find(self.prefix + " ")
        if i < 0:
            return None
        words = line[i + len(self.prefix) + 1:].split()
        if not words:
            return None
        try:
            kind = MarkerKind(words[0])
        except ValueError:
            return None
        args = words[1:] + [None] * 3
        if kind is MarkerKind.START:
            return Marker(kind, value=args[1], uptime=_float(args[0]))
        if kind is MarkerKind.DONE:
            return Marker(kind, uptime=_float(args[0]))
        if kind in (MarkerKind.RELEASE, MarkerKind.PAGESIZE):
            return Marker(kind, value=args[0] or "")
        if kind is MarkerKind.BEGIN and args[0]:
            return Marker(kind, name=args[0], uptime=_float(args[1]))
        if kind is MarkerKind.END and args[1] is not None:
            return Marker(kind, name=args[0], value=args[1],
                          uptime=_float(args[2]))
        return None


# -- newc cpio writer -----------------------------------------------------

class CpioWriter:
    """Minimal writer of the SVR4 ``newc`` format the kernel unpacks."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1
        self.names: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes = b"",
               rdev: tuple[int, int] = (0, 0), nlink: int = 1) -> None:
        name = name.lstrip("/")
        if name in self.names:
            raise InitramfsError(f"initramfs entry /{name} added twice")
        self.names.add(name)
        fields = [self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(name) + 1, 0]
        self.ino += 1
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.buf.write(header + name.encode() + b"\0")
        self._pad()
        self.buf.write(data)
        self._pad()

    def _pad(self) -> None:
        self.buf.write(b"\0" * (-self.buf.tell() % 4))

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name: str, data: bytes, mode: int = 0o755) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def file_at(self, name: str, data: bytes, mode: int = 0o644) -> None:
        """A file at a path (leading `/` ignored), with the directories
        above it that are not in the archive yet."""
        parts = name.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in self.names:
                self.directory(d)
        self.file(name.strip("/"), data, mode=mode)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name: str, major: int, minor: int) -> None:
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return self.buf.getvalue()


# -- /init ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class GuestTest:
    """One binary to run in the guest, in order."""
    name: str
    binary: Path


@dataclasses.dataclass(frozen=True)
class Initramfs:
    path: Path
    size: int                       # bytes, compressed
    markers: Optional[Markers]      # None for the floor initramfs
    tests: tuple[GuestTest, ...]


def _base(busybox: Path) -> CpioWriter:
    cpio = CpioWriter()
    for d in ("bin", "dev", "proc", "sys", "tmp", "tests"):
        cpio.directory(d)
    # The kernel opens /dev/console for init before devtmpfs is mounted.
    cpio.chardev("dev/console", 5, 1)
    try:
        cpio.file("bin/busybox", Path(busybox).read_bytes())
    except OSError as e:
        raise InitramfsError(f"cannot read busybox {busybox}: {e}") from e
    cpio.symlink("bin/sh", "busybox")
    return cpio


def init_script(tests: Sequence[GuestTest], markers: Markers,
                per_test_timeout: int, setup: Sequence[str] = (),
                early: Sequence[str] = ()) -> str:
    """/init: mounts, markers, ``early`` (shell lines every test needs,
    e.g. the KVM modules, run to their end first), ``setup`` (shell lines
    run once before the tests, e.g. a swap device), then every test under
    ``timeout``."""
    m = markers.prefix
    up = "read up _ </proc/uptime"      # a shell builtin: no fork
    lines = [
        *INIT_PREAMBLE,
        up,
        f"echo \"{m} START $up {per_test_timeout}\"",
        f"echo \"{m} RELEASE $(uname -r)\"",
        f"echo \"{m} PAGESIZE $(awk '/^KernelPageSize:/ {{print $2 * 1024; "
        "exit}' /proc/self/smaps)\"",
        "cd /tmp",
        *early,
    ]
    if setup:
        # The set-up (e.g. a swap device) runs beside the first test (the
        # platform check), which does not need it; the rest wait for it.
        lines += ["(", *[f"    {l}" for l in setup], ") &", "setup_pid=$!"]
    lines += [
        "run() {",
        f"    {up}",
        f"    echo \"{m} BEGIN $1 $up\"",
        f"    timeout -s {TIMEOUT_SIGNAL} {per_test_timeout} \"$2\" "
        "</dev/null 2>&1",
        "    rc=$?",
        f"    {up}",
        f"    echo \"{m} END $1 $rc $up\"",
        "}",
    ]
    for i, t in enumerate(tests):
        if setup and i == min(1, len(tests) - 1) and i > 0:
            lines.append("wait $setup_pid")
        lines.append(f"run {t.name} /tests/{t.name}")
    if setup and len(tests) <= 1:
        lines.append("wait $setup_pid")
    lines += [up, f"echo \"{m} DONE $up\"", "poweroff -f", ""]
    return "\n".join(lines)


def _write(cpio: CpioWriter, out: Path) -> int:
    data = gzip.compress(cpio.finish(), compresslevel=1, mtime=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return len(data)


def build_initramfs(tests: Sequence[GuestTest], busybox: Path, out: Path, *,
                    per_test_timeout: float,
                    markers: Optional[Markers] = None,
                    extra_files: Sequence[tuple[str, bytes]] = (),
                    setup: Sequence[str] = (),
                    early: Sequence[str] = ()) -> Initramfs:
    """Pack ``tests`` (run in order) with busybox and /init into ``out``;
    ``extra_files`` (path in the archive, bytes) are added with their
    directories, and /init runs the ``setup`` lines before the tests."""
    markers = markers or Markers.fresh()
    seen: set[str] = set()
    for t in tests:
        if not _NAME_RE.fullmatch(t.name):
            raise InitramfsError(f"test name '{t.name}' may only use letters, "
                                 "digits and ._+-; rename the binary")
        if t.name in seen:
            raise InitramfsError(f"two tests are named '{t.name}'")
        seen.add(t.name)
    cpio = _base(busybox)
    for t in tests:
        try:
            cpio.file(f"tests/{t.name}", Path(t.binary).read_bytes())
        except OSError as e:
            raise InitramfsError(f"cannot read test binary {t.binary}: {e}") \
                from e
    for name, data in extra_files:
        cpio.file_at(name, data)
    timeout = max(1, int(round(per_test_timeout)))
    cpio.file("init", init_script(tests, markers, timeout, setup, early).encode())
    return Initramfs(out, _write(cpio, out), markers, tuple(tests))


def build_floor_initramfs(busybox: Path, out: Path) -> Initramfs:
    """An initramfs whose /init only powers off: the cost of a bare boot."""
    cpio = _base(busybox)
    cpio.file("init", b"#!/bin/sh\n/bin/busybox poweroff -f\n")
    return Initramfs(out, _write(cpio, out), None, ())
