"""Cache problems are named as cache problems, with the fix (issue 11): a
cached kernel truncated after it was unpacked fails its sha256 manifest and
is fetched again (not booted for 180 s and blamed on the kernel); package
lists apt cannot read are fetched again, then reported as a cache problem
(not "unknown kernel"); a read-only cache is named as such."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from generator.runner.cachefs import CacheError, atomic_write, check_writable, new_run_dir
from generator.runner.kernels import MANIFEST, DebianArchive, verify_manifest, write_manifest


def _unpacked_kernel(root: Path) -> Path:
    d = root / "unpacked" / "linux-image-x_1"
    (d / "boot").mkdir(parents=True)
    (d / "boot" / "vmlinuz-x").write_bytes(os.urandom(4096))
    write_manifest(d)
    return d


def test_a_truncated_kernel_fails_its_manifest(tmp_path):
    d = _unpacked_kernel(tmp_path)
    assert verify_manifest(d) == []
    with open(d / "boot" / "vmlinuz-x", "r+b") as f:
        f.truncate(1000)
    problems = verify_manifest(d)
    assert problems and "boot/vmlinuz-x" in problems[0] and "sha256" in problems[0]


class RefetchingArchive(DebianArchive):
    """Test double: records a fetch instead of running apt."""

    def __init__(self, root, fail=False):
        super().__init__(root)
        self.fetched, self.fail = [], fail

    def _fetch(self, package, version, dest):
        from generator.runner.errors import KernelError
        self.fetched.append((package, version))
        if self.fail:
            raise KernelError("cannot download (no network)")
        (dest / "boot").mkdir(parents=True)
        (dest / "boot" / "vmlinuz-x").write_bytes(b"fresh")
        write_manifest(dest)
        return dest


def test_a_damaged_cached_package_is_fetched_again(tmp_path):
    d = _unpacked_kernel(tmp_path)
    (d / "boot" / "vmlinuz-x").write_bytes(b"short")
    a = RefetchingArchive(tmp_path)
    assert a.unpacked("linux-image-x", "1") == d
    assert a.fetched == [("linux-image-x", "1")]
    assert (d / "boot" / "vmlinuz-x").read_bytes() == b"fresh"
    assert not list(d.parent.glob(".damaged-*"))


def test_a_whole_cached_package_is_not_fetched(tmp_path):
    _unpacked_kernel(tmp_path)
    a = RefetchingArchive(tmp_path)
    a.unpacked("linux-image-x", "1")
    assert a.fetched == []


def test_damage_that_cannot_be_refetched_is_a_cache_problem(tmp_path):
    d = _unpacked_kernel(tmp_path)
    (d / "boot" / "vmlinuz-x").write_bytes(b"short")
    with pytest.raises(CacheError, match="cache problem: .* was damaged"):
        RefetchingArchive(tmp_path, fail=True).unpacked("linux-image-x", "1")


class GarbledLists(DebianArchive):
    """Test double: apt lists that do not parse; `update` fetches nothing new."""

    def __init__(self, root):
        super().__init__(root)
        self.updates = 0
        self.lists.mkdir(parents=True)
        (self.lists / "deb.debian.org_debian_dists_bookworm_main_binary-arm64_Packages"
         ).write_text("Package: linux-image-6.12\n\x00\x00garbage: [\n")

    def update(self, *, force=False):
        self.updates += 1
        (self.lists / "deb.debian.org_debian_dists_bookworm_main_binary-arm64_Packages"
         ).write_text("Package linux-image-6.12 no colon\n")

    def _run(self, tool, args, cwd=None):
        return subprocess.CompletedProcess([tool, *args], 100, "", "E: Problem parsing the "
                                           "lists (garbled)\n")


def test_unreadable_lists_are_a_cache_problem_not_an_unknown_kernel(tmp_path):
    a = GarbledLists(tmp_path)
    with pytest.raises(CacheError, match="cache problem: apt cannot read the package lists"):
        a.package_names("linux-image-")
    assert a.updates == 1                   # fetched again once before giving up


@pytest.mark.skipif(os.geteuid() == 0 and not Path("/proc").exists(), reason="needs /proc")
def test_an_unwritable_cache_is_named(tmp_path):
    with pytest.raises(CacheError, match="not writable"):
        check_writable(Path("/proc/kconform-cache"), "the cache")


def test_run_directories_are_unique_and_atomic_writes_whole(tmp_path):
    a, b = new_run_dir(tmp_path), new_run_dir(tmp_path)
    assert a != b and a.parent == b.parent == tmp_path / "runs"
    atomic_write(tmp_path / "f.txt", "x" * 100)
    assert (tmp_path / "f.txt").read_text() == "x" * 100
    assert not list(tmp_path.glob(".f.txt.*"))
