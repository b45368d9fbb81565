"""`--target ssh://` against a real arm64 machine: a QEMU guest (Debian's
6.12 kernel, nested KVM, MTE) running Debian's dropbear ssh server, reached
through QEMU user networking forwarded to a loopback port.  kconform copies
the static binaries over ssh, runs them there, and must reach the same
verdicts as booting the tests directly (the committed baseline's
debian-6.12 column).  Slow; marked `boot`."""
import dataclasses
import json
import lzma
import re
import socket
import subprocess
from pathlib import Path

import pytest

from generator.cli import main
from generator.runner.initramfs import CpioWriter
from generator.runner.kernels import DebianArchive, resolve_busybox, resolve_kernel
from generator.runner.qemu import AARCH64, QemuProcess

pytestmark = pytest.mark.boot

ROOT = Path(__file__).parents[2]
READY = "KCONFORM-SSH-GUEST-READY"
# dropbear and the shared libraries it loads, all Debian arm64 packages
PACKAGES = ("dropbear-bin", "libtomcrypt1", "libtommath1", "zlib1g", "libcrypt1",
            "libc6", "libgmp10")
NET_MODULES = ("kernel/net/core/failover.ko.xz", "kernel/drivers/net/net_failover.ko.xz",
               "kernel/drivers/net/virtio_net.ko.xz")       # in dependency order


def _unpacked() -> list[Path]:
    archive = DebianArchive()
    roots = []
    with archive.locked():
        archive.update()
        for p in PACKAGES:
            version, _ = archive.candidate(p)
            roots.append(archive.unpacked(p, version))
    return roots


GUEST_INIT = f"""#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in failover net_failover virtio_net; do insmod /lib/net/$m.ko || echo "insmod $m failed"; done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key >/dev/null 2>&1
dropbear -r /etc/dropbear/dropbear_ed25519_host_key -p 22 -s -E 2>/tmp/dropbear.log
sleep 1
echo "{READY} $(uname -r)"
while true; do sleep 3600; done
"""


def build_guest(out: Path, kernel, public_key: str) -> Path:
    """An initramfs: busybox, dropbear with its libraries, the kernel's own
    virtio-net modules (decompressed), root's authorized key, and an /init
    that brings eth0 up and starts dropbear."""
    cpio = CpioWriter()
    dirs = set()

    def directory(path: str) -> None:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in dirs:
                dirs.add(d)
                cpio.directory(d)

    for d in ("bin", "dev", "proc", "sys", "tmp", "root/.ssh", "etc/dropbear", "var/run",
              "var/log", "lib/net", "usr/bin", "usr/sbin"):
        directory(d)
    cpio.chardev("dev/console", 5, 1)
    cpio.file("bin/busybox", resolve_busybox().binary.read_bytes())
    cpio.symlink("bin/sh", "busybox")
    for root in _unpacked():
        for f in sorted(root.rglob("*")):
            rel = f.relative_to(root).as_posix()
            if rel.startswith("usr/share") or f.is_dir():
                continue
            if not (rel.startswith(("lib/", "usr/lib/", "usr/bin/dropbearkey", "usr/sbin/dropbear"))):
                continue
            directory(str(Path(rel).parent))
            if f.is_symlink():
                cpio.symlink(rel, str(f.readlink()))
            else:
                cpio.file(rel, f.read_bytes(), mode=0o755)
    for m in NET_MODULES:
        data = lzma.decompress((kernel.modules_dir / m).read_bytes())
        cpio.file(f"lib/net/{Path(m).name[:-3]}", data, mode=0o644)
    cpio.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", mode=0o644)
    cpio.file("etc/group", b"root:x:0:\n", mode=0o644)
    cpio.file("etc/shells", b"/bin/sh\n", mode=0o644)
    cpio.file("root/.ssh/authorized_keys", public_key.encode(), mode=0o600)
    cpio.file("init", GUEST_INIT.encode())
    import gzip
    out.write_bytes(gzip.compress(cpio.finish(), compresslevel=1))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ssh_guest(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sshguest")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kconform-test",
                    "-f", str(tmp / "key")], check=True)
    kernel = resolve_kernel("debian-6.12")
    initrd = build_guest(tmp / "guest.gz", kernel, (tmp / "key.pub").read_text())
    port = _free_port()
    config = dataclasses.replace(AARCH64, extra_args=(
        "-nographic", "-no-reboot",
        "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device", "virtio-net-pci,netdev=n0,romfile="))
    with QemuProcess(config, kernel.vmlinuz, initrd) as qemu:
        lines = []
        for _ in range(2000):
            line = qemu.readline(timeout=120)
            if line is None:
                pytest.fail("the ssh guest did not come up:\n" + "\n".join(lines[-30:]))
            lines.append(line)
            if READY in line:
                break
        yield {"port": port, "key": tmp / "key", "release": line.split()[-1], "console": lines}


def test_ssh_target_runs_the_tests_on_the_remote_machine(ssh_guest, tmp_path):
    port = ssh_guest["port"]
    code = main(["run", "--quiet", "--target", f"ssh://root@127.0.0.1:{port}",
                 "--ssh-identity", str(ssh_guest["key"]),
                 "--ssh-option", "UserKnownHostsFile=/dev/null",
                 "--ssh-option", "StrictHostKeyChecking=no", "--ssh-option", "LogLevel=ERROR",
                 "--per-test-timeout", "120", "--timeout", "300",
                 "--results", str(tmp_path / "r.json"), "--ktap", str(tmp_path / "r.ktap"),
                 "--work-dir", str(tmp_path / "work")])
    data = json.loads((tmp_path / "r.json").read_text())
    assert code == 0, data["run"]
    assert data["kernel"]["release"] == ssh_guest["release"]
    assert data["kernel"]["release"].startswith("6.12.")
    assert data["kernel"]["page_size"] == 4096
    assert data["emulator"] == {"name": "ssh", "version": f"root@127.0.0.1:{port}"}
    assert data["run"]["target"] == f"ssh://root@127.0.0.1:{port}"
    assert data["platform"]["state"] == "ok", data["platform"]["sentence"]
    # The same verdicts as booting the tests on that kernel directly.
    from generator.report.baseline import load
    base = load(ROOT / "baselines" / "mte-v10.baseline")
    verdicts = {c["id"]: c["verdict"] for c in data["cases"]}
    assert verdicts and "error" not in verdicts.values()
    # a rule no call reaches is accepted as `not reachable` (generator.run.matrix)
    from generator.run.pipeline import RunRequest, prepare
    from generator.run.matrix import MatrixReport
    prep = prepare(RunRequest(spec=data["specs"][0], companions=tuple(data["specs"][1:]),
                              work_dir=tmp_path / "again"))
    m = MatrixReport(prep.spec, prep.all_cases, [], None, listed=prep.listed, specs=prep.specs)
    accepted = {case: {v.value for v in base.accepted("debian-6.12", case, m.default_verdict(case))}
                for case in verdicts}
    differ = {case: (v, accepted[case]) for case, v in verdicts.items()
              if v not in accepted[case]}
    # This guest has no swap device (the QEMU runner's /init sets one up),
    # so a case that needs one skips here, saying so; nothing else differs.
    reasons = {c["id"]: c["reason"] for c in data["cases"]}
    assert {case for case, (v, _) in differ.items() if v != "skipped"} == set(), differ
    assert all("swap" in reasons[case] for case in differ), {c: reasons[c] for c in differ}
    ktap = (tmp_path / "r.ktap").read_text()
    assert f"ok 1 ssh://root@127.0.0.1:{port}" in ktap


def test_the_remote_staging_directory_is_removed(ssh_guest):
    port = ssh_guest["port"]
    proc = subprocess.run(
        ["ssh", "-T", "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=15",
         "-i", str(ssh_guest["key"]), "-p", str(port), "root@127.0.0.1",
         "ls -d /tmp/kconform.* 2>/dev/null | wc -l"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"
