"""The newc cpio writer, the /init script and the marker vocabulary."""

import gzip
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from generator.runner.errors import InitramfsError
from generator.runner.initramfs import (CpioWriter, GuestTest, MarkerKind,
                                        Markers, build_floor_initramfs,
                                        build_initramfs, init_script)


def read_newc(data: bytes) -> dict[str, tuple[int, bytes, tuple[int, int]]]:
    """name -> (mode, data, (rdevmajor, rdevminor))"""
    out, pos = {}, 0
    while True:
        assert data[pos:pos + 6] == b"070701", f"bad magic at {pos}"
        f = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16)
             for i in range(13)]
        namesize, filesize = f[11], f[6]
        name = data[pos + 110:pos + 110 + namesize - 1].decode()
        pos = (pos + 110 + namesize + 3) & ~3
        body = data[pos:pos + filesize]
        pos = (pos + filesize + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out[name] = (f[1], body, (f[9], f[10]))


@pytest.fixture
def fake_busybox(tmp_path):
    bb = tmp_path / "busybox"
    bb.write_bytes(b"\x7fELF fake busybox")
    return bb


def test_cpio_round_trip():
    w = CpioWriter()
    w.directory("dev")
    w.chardev("dev/console", 5, 1)
    w.file("init", b"#!/bin/sh\n")
    w.symlink("bin/sh", "busybox")
    entries = read_newc(w.finish())
    assert stat.S_ISDIR(entries["dev"][0])
    assert stat.S_ISCHR(entries["dev/console"][0])
    assert entries["dev/console"][2] == (5, 1)
    assert entries["init"] == (stat.S_IFREG | 0o755, b"#!/bin/sh\n", (0, 0))
    assert stat.S_ISLNK(entries["bin/sh"][0])
    assert entries["bin/sh"][1] == b"busybox"


def test_cpio_rejects_duplicates():
    w = CpioWriter()
    w.file("a", b"")
    with pytest.raises(InitramfsError, match="added twice"):
        w.file("/a", b"")


@pytest.mark.skipif(shutil.which("cpio") is None, reason="no cpio tool")
def test_cpio_tool_agrees(tmp_path, fake_busybox):
    t = tmp_path / "t1"
    t.write_bytes(b"binary")
    img = build_initramfs([GuestTest("t1", t)], fake_busybox,
                          tmp_path / "i.gz", per_test_timeout=10)
    listing = subprocess.run(["cpio", "-t", "--quiet"],
                             input=gzip.decompress(img.path.read_bytes()),
                             capture_output=True, check=True).stdout.decode()
    assert set(listing.split()) >= {"init", "bin/busybox", "bin/sh",
                                    "dev/console", "tests/t1", "proc", "sys"}


def test_initramfs_contents(tmp_path, fake_busybox):
    bins = []
    for name in ("a_test", "b-test"):
        p = tmp_path / name
        p.write_bytes(name.encode())
        bins.append(GuestTest(name, p))
    img = build_initramfs(bins, fake_busybox, tmp_path / "i.gz",
                          per_test_timeout=12.4, markers=Markers("abcd0123"))
    entries = read_newc(gzip.decompress(img.path.read_bytes()))
    assert entries["tests/a_test"][1] == b"a_test"
    assert entries["bin/busybox"][1] == fake_busybox.read_bytes()
    assert entries["init"][0] & 0o111
    init = entries["init"][1].decode()
    assert init.index("run a_test /tests/a_test") < init.index(
        "run b-test /tests/b-test")
    assert "timeout -s KILL 12 " in init
    assert init.rstrip().endswith("poweroff -f")
    assert img.size == img.path.stat().st_size


def test_init_script_markers():
    m = Markers("0badcafe")
    text = init_script([GuestTest("x", Path("x"))], m, 30)
    for kind in ("START $up 30", "RELEASE $(uname -r)", "BEGIN $1 $up",
                 "END $1 $rc $up", "DONE $up"):
        assert f"KCONFORM-0badcafe {kind}" in text
    assert "mount -t devtmpfs devtmpfs /dev" in text


@pytest.mark.parametrize("name", ["has space", "semi;colon", "", "a/b"])
def test_bad_test_names(tmp_path, fake_busybox, name):
    with pytest.raises(InitramfsError, match="may only use"):
        build_initramfs([GuestTest(name, fake_busybox)], fake_busybox,
                        tmp_path / "i.gz", per_test_timeout=5)


def test_missing_binary(tmp_path, fake_busybox):
    with pytest.raises(InitramfsError, match="cannot read test binary"):
        build_initramfs([GuestTest("t", tmp_path / "nope")], fake_busybox,
                        tmp_path / "i.gz", per_test_timeout=5)


def test_floor_initramfs(tmp_path, fake_busybox):
    img = build_floor_initramfs(fake_busybox, tmp_path / "f.gz")
    entries = read_newc(gzip.decompress(img.path.read_bytes()))
    assert entries["init"][1] == b"#!/bin/sh\n/bin/busybox poweroff -f\n"
    assert img.markers is None


def test_marker_parsing():
    m = Markers("12345678")
    assert m.parse("KCONFORM-12345678 START 2.54 8").uptime == 2.54
    assert m.parse("KCONFORM-12345678 START 2.54 8").value == "8"
    end = m.parse("[ 1.0] noise KCONFORM-12345678 END t1 137 11.27")
    assert (end.kind, end.name, end.value, end.uptime) == (
        MarkerKind.END, "t1", "137", 11.27)
    assert m.parse("KCONFORM-87654321 START 1 1") is None   # other run
    assert m.parse("KCONFORM-12345678 BOGUS") is None
    assert m.parse("KCONFORM-12345678 END t1") is None
    assert Markers.find_in(["x", "KCONFORM-deadbeef START 1.0 5"]) == \
        Markers("deadbeef")
    assert len(Markers.fresh().nonce) == 8
