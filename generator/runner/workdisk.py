"""The warm-run guest agent (runner.snapshot): a booted guest waiting for
work, and the work it gets.

1. :func:`build_agent_initramfs` — busybox, the virtio-blk module (Debian
   builds it as a module) and an ``/init`` that mounts, runs the set-up
   (the zram swap), loads the module, says ``KCONFORM-AGENT READY`` and
   waits for one line on the console.  This is the state a snapshot saves.
2. :func:`work_script` — ``run.sh``: the run's markers (a fresh nonce per
   run, so nothing saved in a snapshot can forge them), the platform check
   alone, then the test binaries in lanes of ``lanes`` at a time, each
   lane's output kept in its own file and printed between its BEGIN/END
   markers when the lane ends, so the console reads as if they had run one
   by one (``runner.run.outcome_from_lines`` parses it unchanged).
3. :func:`write_work_disk` — ``run.sh`` and the binaries as a tar on a raw
   disk image of a fixed size (the size is part of the snapshot: the saved
   guest knows its disk's capacity).  The host types ``run <blocks>``; the
   agent drops its page cache, reads exactly that many 4 KiB blocks of
   /dev/vda (reading the whole sparse disk would cost seconds), unpacks
   and runs ``run.sh``, then powers off.
"""
from __future__ import annotations

import dataclasses
import io
import tarfile
from pathlib import Path
from typing import Sequence

from generator.runner.errors import InitramfsError
from generator.runner.initramfs import (INIT_PREAMBLE, TIMEOUT_SIGNAL, GuestTest, Initramfs,
                                        Markers, _NAME_RE, _base, _write)
from generator.runner.swap import GuestSetup

AGENT_READY = "KCONFORM-AGENT READY"
AGENT_BAD_DISK = "KCONFORM-AGENT BAD-DISK"
AGENT_NO_DISK = "KCONFORM-AGENT NO-DISK"
AGENT_VERSION = "2"              # bump when /init or the protocol changes
DISK_BYTES = 256 << 20           # the work disk's fixed size (sparse)
BLOCK = 4096
# the PCI transport (built in on 6.12, a module on 6.1) and the disk driver
DISK_MODULES = ("virtio_pci", "virtio_blk")
DISK_WAIT = 50                   # tenths of a second the agent waits for it
GUEST_DISK = "/dev/vda"


def agent_init(setup: Sequence[str], modules: Sequence[str]) -> str:
    up = "read up _ </proc/uptime"
    lines = [
        *INIT_PREAMBLE,
        "cd /tmp",
        *setup,
        *[f"insmod /lib/modules/agent/{m}.ko" for m in modules],
        f"i=0; while [ ! -b {GUEST_DISK} ] && [ $i -lt {DISK_WAIT} ]; do "
        "sleep 0.1; i=$((i + 1)); done",
        f'[ -b {GUEST_DISK} ] || {{ echo "{AGENT_NO_DISK}"; poweroff -f; }}',
        up,
        f'echo "{AGENT_READY} $up"',
        "while read -r cmd blocks; do",
        '    [ "$cmd" = run ] || continue',
        "    echo 3 > /proc/sys/vm/drop_caches",
        "    mkdir -p /tmp/w && cd /tmp/w",
        f"    dd if={GUEST_DISK} bs={BLOCK} count=\"$blocks\" 2>/dev/null | tar -xf - "
        f"&& [ -f run.sh ] || echo \"{AGENT_BAD_DISK}\"",
        "    sh ./run.sh",
        "    break",
        "done",
        "poweroff -f",
        "",
    ]
    return "\n".join(lines)


def build_agent_initramfs(busybox: Path, out: Path, setup: GuestSetup,
                          modules: Sequence[tuple[str, bytes]]) -> Initramfs:
    """The agent's initramfs: ``modules`` (name, ELF) in load order."""
    cpio = _base(busybox)
    for d in ("lib", "lib/modules", "lib/modules/agent"):
        cpio.directory(d)
    for name, elf in modules:
        cpio.file(f"lib/modules/agent/{name}.ko", elf, mode=0o644)
    for name, data in setup.files:
        cpio.file_at(name, data)
    cpio.file("init", agent_init(setup.lines, [n for n, _ in modules]).encode())
    return Initramfs(out, _write(cpio, out), None, ())


def work_script(tests: Sequence[GuestTest], markers: Markers,
                per_test_timeout: float, lanes: int, out_dir: str = "/tmp/o") -> str:
    """``run.sh``: the first test alone (the platform check), then the rest
    ``lanes`` at a time, each with its output in its own file under
    ``out_dir``."""
    m = markers.prefix
    timeout = max(1, int(round(per_test_timeout)))
    up = "read up _ </proc/uptime"
    lines = [
        "#!/bin/sh",
        'cd "$(dirname "$0")" || exit 99',
        f"o={out_dir}",
        'mkdir -p "$o"',
        up,
        f'echo "{m} START $up {timeout}"',
        f'echo "{m} RELEASE $(uname -r)"',
        f"echo \"{m} PAGESIZE $(awk '/^KernelPageSize:/ {{print $2 * 1024; "
        "exit}' /proc/self/smaps)\"",
        "lane() {",
        f"    {up}",
        '    echo "$up" > "$o/$1.begin"',
        f'    timeout -s {TIMEOUT_SIGNAL} {timeout} "./$1" </dev/null '
        ">\"$o/$1.out\" 2>&1",
        "    rc=$?",
        f"    {up}",
        '    echo "$rc $up" > "$o/$1.end"',
        "}",
        "show() {",
        "    read b <\"$o/$1.begin\"",
        f'    echo "{m} BEGIN $1 $b"',
        "    cat \"$o/$1.out\"",
        "    read rc e <\"$o/$1.end\"",
        f'    echo "{m} END $1 $rc $e"',
        "}",
    ]
    names = [t.name for t in tests]
    if names:
        lines += [f"lane {names[0]}", f"show {names[0]}"]
    rest = names[1:]
    n = max(1, min(lanes, len(rest)))
    if n == 1:
        lines += [f"lane {t}" for t in rest]
    else:
        # lane k runs tests k, k+n, k+2n... one after the other
        for k in range(n):
            lines.append("( " + "; ".join(f"lane {t}" for t in rest[k::n]) + " ) &")
        lines.append("wait")
    lines += [f"show {t}" for t in rest]
    lines += [up, f'echo "{m} DONE $up"', ""]
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class WorkDisk:
    path: Path
    blocks: int           # 4 KiB blocks the agent reads
    payload: int          # bytes of the tar


def write_work_disk(tests: Sequence[GuestTest], script: str, out: Path,
                    size: int = DISK_BYTES) -> WorkDisk:
    """``run.sh`` and every test binary (named by its GuestTest) as a tar
    at the start of a sparse raw image of ``size`` bytes."""
    seen: set[str] = set()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        entries = [("run.sh", script.encode())]
        for t in tests:
            if not _NAME_RE.fullmatch(t.name) or t.name == "run.sh":
                raise InitramfsError(f"test name '{t.name}' may only use letters, "
                                     "digits and ._+-; rename the binary")
            if t.name in seen:
                raise InitramfsError(f"two tests are named '{t.name}'")
            seen.add(t.name)
            try:
                entries.append((t.name, Path(t.binary).read_bytes()))
            except OSError as e:
                raise InitramfsError(f"cannot read test binary {t.binary}: {e}") from e
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    data += b"\0" * (-len(data) % BLOCK)
    if len(data) > size:
        raise InitramfsError(f"the test binaries take {len(data) >> 20} MiB, more than "
                             f"the agent's {size >> 20} MiB work disk; run fewer specs "
                             "at once")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        f.write(data)
        f.truncate(size)
    return WorkDisk(out, len(data) // BLOCK, len(data))


def disk_args(disk: Path) -> list[str]:
    """QEMU arguments attaching ``disk`` as the agent's virtio-blk disk."""
    if "," in str(disk):
        raise InitramfsError(f"work disk path {disk} contains a comma; QEMU "
                             "cannot take it; use another work directory")
    return ["-drive", f"file={disk},if=none,id=work,format=raw,cache=unsafe",
            "-device", "virtio-blk-pci,drive=work"]


