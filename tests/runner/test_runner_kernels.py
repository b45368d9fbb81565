"""Kernel resolution: alias -> newest package, errors, Image headers.

The archive is replaced by FakeArchive (package names as apt listed them on
2025-11-22); no network is used."""

import gzip
from contextlib import contextmanager
from pathlib import Path

import pytest

from generator.runner import kernels
from generator.runner.errors import KernelError
from generator.runner.kernels import (DebianArchive, image_page_size, newest,
                                      resolve_busybox, resolve_kernel)

LISTED = """
linux-image-6.1.0-47-arm64-unsigned linux-image-6.1.0-47-cloud-arm64-unsigned
linux-image-6.1.0-50-arm64-unsigned linux-image-6.1.0-9-arm64-unsigned
linux-image-6.1.0-56-arm64-unsigned linux-image-6.1.0-56-rt-arm64-unsigned
linux-image-6.12.95+deb12-arm64-16k-unsigned
linux-image-6.12.95+deb12-arm64-unsigned
linux-image-6.12.107+deb12-arm64-unsigned
linux-image-6.12.117+deb12-arm64-16k-unsigned
linux-image-6.12.117+deb12-arm64-unsigned
linux-image-6.12.117+deb12-cloud-arm64-unsigned
linux-image-6.12.117+deb12-rt-arm64-unsigned
linux-image-arm64 linux-image-6.12.117+deb12-arm64-dbg
""".split()


def arm64_header(page_code: int) -> bytes:
    head = bytearray(64)
    head[24:32] = (0x8 | (page_code << 1)).to_bytes(8, "little")
    head[56:60] = b"ARM\x64"
    return bytes(head)


class FakeArchive(DebianArchive):
    """Stands in for apt: fixed package names, unpacks fake trees."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.fetched = []

    @contextmanager
    def locked(self):
        yield

    def update(self, *, force=False):
        self.updated = force

    def package_names(self, prefix):
        return [n for n in LISTED if n.startswith(prefix)]

    def candidate(self, package):
        return ("1:1.35.0-4", 1000) if package == "busybox-static" \
            else ("6.x-1", 1000)

    def unpacked(self, package, version):
        root = self.root / package
        if package == "busybox-static":
            (root / "bin").mkdir(parents=True)
            (root / "bin" / "busybox").write_bytes(b"bb")
            return root
        release = package[len("linux-image-"):-len("-unsigned")]
        (root / "boot").mkdir(parents=True)
        (root / "lib" / "modules" / release).mkdir(parents=True)
        (root / "boot" / f"vmlinuz-{release}").write_bytes(arm64_header(1))
        self.fetched.append(package)
        return root


@pytest.mark.parametrize("alias,package", [
    ("debian-6.12", "linux-image-6.12.117+deb12-arm64-unsigned"),
    ("debian-6.1", "linux-image-6.1.0-56-arm64-unsigned"),
    ("debian-6.12-16k", "linux-image-6.12.117+deb12-arm64-16k-unsigned"),
])
def test_alias_picks_newest(alias, package):
    flavour = next(f for f in kernels.FLAVOURS if f.alias == alias)
    assert newest(LISTED, flavour.pattern) == package


def test_numeric_not_lexical_order():
    names = ["linux-image-6.1.0-9-arm64-unsigned",
             "linux-image-6.1.0-10-arm64-unsigned"]
    assert newest(names, r"linux-image-6\.1\.\d+-\d+-arm64-unsigned") == \
        names[1]


def test_resolve_default(tmp_path):
    k = resolve_kernel(archive=FakeArchive(tmp_path))
    assert k.alias == "debian-6.12"
    assert k.package == "linux-image-6.12.117+deb12-arm64-unsigned"
    assert k.version == "6.x-1"
    assert k.release == "6.12.117+deb12-arm64"
    assert k.vmlinuz.name == "vmlinuz-6.12.117+deb12-arm64"
    assert k.modules_dir.name == "6.12.117+deb12-arm64"
    assert k.page_size == 4096


def test_resolve_16k_and_exact_package(tmp_path):
    k = resolve_kernel("debian-6.12-16k", archive=FakeArchive(tmp_path))
    assert k.page_size == 16384
    exact = "linux-image-6.12.95+deb12-arm64-unsigned"
    k = resolve_kernel(exact, archive=FakeArchive(tmp_path / "x"))
    assert k.package == exact and k.alias == exact


def test_unknown_name_lists_what_resolves(tmp_path):
    with pytest.raises(KernelError) as err:
        resolve_kernel("debian-7", archive=FakeArchive(tmp_path))
    msg = str(err.value)
    assert msg.startswith("unknown kernel 'debian-7'. Names that resolve:")
    assert "debian-6.12      -> linux-image-6.12.117+deb12-arm64-unsigned" \
        in msg
    assert "debian-6.1 " in msg and "debian-6.12-16k" in msg
    assert "path to a user-built arm64 Image" in msg
    assert "cloud" not in msg and "-rt-" not in msg


def test_busybox(tmp_path):
    bb = resolve_busybox(archive=FakeArchive(tmp_path))
    assert bb.package == "busybox-static" and bb.binary.read_bytes() == b"bb"


@pytest.mark.parametrize("code,size", [(1, 4096), (2, 16384), (3, 65536),
                                       (0, None)])
def test_image_header_page_size(tmp_path, code, size):
    p = tmp_path / "Image"
    p.write_bytes(arm64_header(code) + b"\0" * 100)
    assert image_page_size(p) == size
    gz = tmp_path / "Image.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    assert image_page_size(gz) == size


def test_user_built_kernel(tmp_path):
    p = tmp_path / "Image"
    p.write_bytes(arm64_header(2))
    k = resolve_kernel(str(p))
    assert (k.alias, k.package, k.page_size) == ("path", None, 16384)
    assert k.vmlinuz == p.resolve()


def test_user_path_errors(tmp_path):
    with pytest.raises(KernelError, match="does not exist"):
        resolve_kernel(str(tmp_path / "missing" / "Image"))
    bogus = tmp_path / "bzImage"
    bogus.write_bytes(b"MZ" + b"\0" * 100)
    with pytest.raises(KernelError, match="not an arm64 kernel Image"):
        resolve_kernel(str(bogus))


def test_cache_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KCONFORM_CACHE", str(tmp_path))
    assert kernels.cache_root() == tmp_path.resolve()
    monkeypatch.delenv("KCONFORM_CACHE")
    assert kernels.cache_root().name == ".cache"


def test_private_apt_options_never_touch_system_state(tmp_path):
    opts = DebianArchive(tmp_path)._apt_opts()
    assert "-oAPT::Architecture=arm64" in opts
    assert f"-oDir::State::Lists={tmp_path}/apt/lists" in opts
    assert f"-oDir::Cache={tmp_path}/apt" in opts
