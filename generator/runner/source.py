"""Fetch, cache and prepare a kernel source tree for building KVM selftests.

Phases:
  1. fetch: Debian's ``linux-source-6.12`` (the same 6.12.y as the default
     kernel) through the private apt view of generator.runner.kernels; the
     package holds one tarball, ``usr/src/linux-source-6.12.tar.xz``;
  2. unpack only what ``make -C tools/testing/selftests/kvm`` needs (the
     top-level build files, ``scripts/``, ``include/``, ``arch/arm64/``,
     ``tools/`` and ``usr/``) into ``CACHE/kselftest/tree/<pkg>_<version>``;
  3. install the arm64 uAPI headers into the tree's ``usr/include``
     (``make ARCH=arm64 headers``) (what
     the selftests' ``KHDR_INCLUDES`` points at), once.

A user's own tree (``--tree DIR``) skips 1 and 2; phase 3 runs there only
when its ``usr/include`` lacks ``linux/kvm.h``.

``kvm_source`` shares phase 1 and unpacks another subset, KVM_SOURCE_PATHS
(the KVM C files, the uAPI headers, api.rst), into
``CACHE/kvm-source/<pkg>_<version>`` for the merged spec
(generator.extract.tree); a marker file records the subset, so a grown
subset is unpacked again.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

from generator.runner.errors import BuildError, KernelError
from generator.runner.kernels import DebianArchive, cache_root

SOURCE_PACKAGE = "linux-source-6.12"
# what the KVM selftests of 6.12 read from the tree (top-level Makefile and
# scripts/ for `make headers_install`; tools/ for the selftests themselves)
SELFTEST_PATHS = ("Makefile", "Kbuild", "Kconfig", "scripts", "include",
                  "arch/arm64", "tools", "usr")
KVM_SELFTESTS = Path("tools/testing/selftests/kvm")

Log = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class KernelTree:
    """A kernel source tree the KVM selftests can be built in."""
    root: Path
    package: Optional[str]          # None: the user's own tree
    version: Optional[str]
    arch_dir: str                   # "aarch64" (6.12) or "arm64" (6.14+)
    fetch_seconds: float = 0.0      # download + unpack (0 when cached)

    @property
    def selftests(self) -> Path:
        return self.root / KVM_SELFTESTS

    @property
    def label(self) -> str:
        return (f"{self.package} {self.version}" if self.package
                else str(self.root))


def arch_dir(root: Path) -> str:
    """The arm64 KVM selftest directory's name in this tree."""
    kvm = root / KVM_SELFTESTS
    return "arm64" if (kvm / "arm64").is_dir() else "aarch64"


def check_tree(root: Path) -> None:
    kvm = root / KVM_SELFTESTS
    if not (kvm / "include" / "kvm_util.h").is_file():
        raise BuildError(f"{root}: not a kernel tree with KVM selftests (no "
                         f"{KVM_SELFTESTS}/include/kvm_util.h); pass the top "
                         "directory of a Linux source tree to --tree")


# what a spec of the merged code reads (generator.extract.tree): the KVM
# handlers, the arm64 and generic uAPI headers, the kernel's own api.rst
KVM_SOURCE_PATHS = ("virt/kvm", "arch/arm64/kvm", "arch/arm64/include/uapi",
                    "arch/arm64/include/asm", "include/uapi", "include/linux",
                    "include/kvm", "Documentation/virt/kvm", "Makefile",
                    "arch/x86/kvm")
_KVM_SOURCE_MARK = ".kconform-paths"      # which KVM_SOURCE_PATHS a cached tree holds


def _members(tar: tarfile.TarFile, top: str, wanted: tuple[str, ...] = SELFTEST_PATHS):
    for m in tar:
        rel = m.name[len(top) + 1:] if m.name.startswith(top + "/") else ""
        if rel and any(rel == p or rel.startswith(p + "/") for p in wanted):
            m.name = rel
            yield m


def _gnu_tar(tarball: Path, top: str, tmp: Path, wanted: tuple[str, ...]) -> bool:
    """GNU tar with a threaded xz (Debian's tarball has many xz blocks, so
    this is about twice as fast as Python's single-threaded lzma); False
    when the tools are missing."""
    if not (shutil.which("tar") and shutil.which("xz")) or not tarball.name.endswith(".xz"):
        return False
    proc = subprocess.run(["tar", "-x", "-f", str(tarball), "-C", str(tmp),
                           "--use-compress-program=xz -T0", "--strip-components=1",
                           *(f"{top}/{p}" for p in wanted)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise KernelError(f"cannot unpack {tarball}: {proc.stderr.strip()[-400:]}; "
                          "delete it and retry")
    return True


def unpack_selftest_tree(tarball: Path, dest: Path, log: Log,
                         wanted: tuple[str, ...] = SELFTEST_PATHS) -> None:
    """Extract ``wanted`` (SELFTEST_PATHS) of the source tarball into
    ``dest`` (atomic)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=dest.parent))
    log(f"unpacking {tarball.name} ({', '.join(wanted)})")
    top = tarball.name.split(".tar")[0]
    try:
        if not _gnu_tar(tarball, top, tmp, wanted):
            with tarfile.open(tarball) as tar:
                tar.extractall(tmp, members=_members(tar, top, wanted), filter="tar")
    except (OSError, tarfile.TarError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise KernelError(f"cannot unpack {tarball}: {e}; delete it and "
                          "retry") from e
    except KernelError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.rename(tmp, dest)


def install_headers(root: Path, log: Log) -> Path:
    """``make ARCH=arm64 headers`` (root/usr/include, once; unlike
    ``headers_install`` it needs no rsync)."""
    inc = root / "usr" / "include"
    if (inc / "linux" / "kvm.h").is_file():
        return inc
    log(f"installing arm64 uAPI headers into {inc}")
    proc = subprocess.run(["make", "-s", f"-j{os.cpu_count() or 1}", "-C", str(root),
                           "ARCH=arm64", "headers"],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not (inc / "linux" / "kvm.h").is_file():
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise BuildError(f"make ARCH=arm64 headers in {root} failed:\n{tail}")
    return inc


def user_tree(path: Path, log: Optional[Log] = None) -> KernelTree:
    root = Path(path).expanduser().resolve()
    check_tree(root)
    install_headers(root, log or (lambda m: None))
    return KernelTree(root, None, None, arch_dir(root))


def fetch_tree(archive: DebianArchive, package: str, version: str, dest: Path,
               log: Log) -> None:
    """Phases 1-3 into ``dest``: download (into the archive's cache),
    unpack the selftest paths, install the headers."""
    unpack_selftest_tree(_tarball(archive, package, version), dest, log)
    check_tree(dest)
    install_headers(dest, log)


def _version(archive: DebianArchive, package: str) -> str:
    """The version of Debian's package the (updated) package lists offer."""
    archive.update()
    cand = archive.candidate(package)
    if cand is None:
        raise KernelError(f"{package} is not in the package lists; it is "
                          "in Debian bookworm-backports and trixie "
                          "(check the machine's apt sources)")
    return cand[0]


def _tarball(archive: DebianArchive, package: str, version: str) -> Path:
    """The source tarball of the package, downloaded and unpacked once."""
    unpacked = archive.unpacked(package, version)
    tarballs = sorted((unpacked / "usr" / "src").glob("linux-source-*.tar.*"))
    if not tarballs:
        raise KernelError(f"{package} {version} holds no "
                          f"usr/src/linux-source-*.tar.* (unpacked at "
                          f"{unpacked}); delete that directory and retry")
    return tarballs[0]


@dataclasses.dataclass(frozen=True)
class KvmSource:
    """The KVM part of a kernel source tree: what the merged spec is read from."""
    root: Path
    package: Optional[str]          # None: the user's own tree
    version: Optional[str]

    @property
    def label(self) -> str:
        """How a tree line names its origin ("linux-source-6.12 6.12.117-1")."""
        return f"{self.package} {self.version}" if self.package else str(self.root)


def kvm_source(package: str = SOURCE_PACKAGE, *, cache: Optional[Path] = None,
               log: Optional[Log] = None,
               archive: Optional[DebianArchive] = None) -> KvmSource:
    """Debian's kernel source, KVM_SOURCE_PATHS of it unpacked once into
    ``CACHE/kvm-source/<pkg>_<version>`` (no headers installed: the tree's
    own uAPI headers are read as text)."""
    log = log or (lambda m: None)
    root_cache = cache or cache_root()
    archive = archive or DebianArchive(root_cache, log)
    with archive.locked():
        version = _version(archive, package)
        dest = root_cache / "kvm-source" / tree_dir_name(package, version)
        mark = "\n".join(KVM_SOURCE_PATHS)
        if _marked(dest) != mark:
            if dest.exists():
                shutil.rmtree(dest)          # an older subset: unpack the current one
            unpack_selftest_tree(_tarball(archive, package, version), dest, log,
                                 KVM_SOURCE_PATHS)
            (dest / _KVM_SOURCE_MARK).write_text(mark)
    return KvmSource(dest, package, version)


def _marked(dest: Path) -> str:
    try:
        return (dest / _KVM_SOURCE_MARK).read_text()
    except OSError:
        return ""


def source_package_for(kernel: str) -> str:
    """The Debian source package of a kernel alias: debian-6.12[-16k] ->
    linux-source-6.12, debian-6.1 -> linux-source-6.1."""
    import re
    m = re.match(r'^debian-(\d+\.\d+)(?:-\w+)?$', kernel)
    if not m:
        raise KernelError(f"{kernel}: no Debian source package for it; expected "
                          "debian-6.1, debian-6.12 or a source tree directory")
    return f"linux-source-{m.group(1)}"


def resolve_source(package: str = SOURCE_PACKAGE, *,
                   cache: Optional[Path] = None, log: Optional[Log] = None,
                   archive: Optional[DebianArchive] = None) -> KernelTree:
    """Debian's kernel source, fetched, unpacked and prepared once."""
    log = log or (lambda m: None)
    root_cache = cache or cache_root()
    archive = archive or DebianArchive(root_cache, log)
    t0 = time.monotonic()
    fetched = False
    with archive.locked():
        version = _version(archive, package)
        dest = root_cache / "kselftest" / "tree" / tree_dir_name(package, version)
        if not (dest / KVM_SELFTESTS).is_dir():
            fetched = True
            fetch_tree(archive, package, version, dest, log)
        check_tree(dest)
        install_headers(dest, log)
    took = time.monotonic() - t0 if fetched else 0.0
    return KernelTree(dest, package, version, arch_dir(dest), took)


def tree_dir_name(package: str, version: str) -> str:
    return f"{package}_{version}".replace("~", "_").replace(":", "_")
