"""Resolve, fetch and cache the arm64 kernels (and busybox) the tests boot.

A kernel is named by an alias (``debian-6.12``, ``debian-6.1``,
``debian-6.12-16k``), by an exact Debian package name, or by the path to a
user-built arm64 ``Image``/``vmlinuz``.  Debian packages are fetched with
``apt-get`` through a *private* view of the archive: the machine's sources
are read, but the package lists and downloaded archives live under the
kconform cache, and the architecture is forced to arm64, so the machine's
own apt state is never touched::

    apt-get -oAPT::Architecture=arm64 -oAPT::Architectures=arm64 \\
            -oDir::State::Lists=CACHE/apt/lists -oDir::Cache=CACHE/apt update

The cache lives in ``$KCONFORM_CACHE`` or ``<repo>/.cache``.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

from generator import paths
from generator.runner.cachefs import CacheError, sha256
from generator.runner.cachefs import locked as cachefs_locked
from generator.runner.errors import KernelError, UnknownKernelError

DEFAULT_KERNEL = "debian-6.12"
LISTS_MAX_AGE = 6 * 3600.0   # refresh the private package lists after this

Log = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class KernelFlavour:
    """One alias: which Debian packages it means and what page size they use."""
    alias: str
    pattern: str          # full-match regex over package names
    page_size: int
    summary: str


FLAVOURS: tuple[KernelFlavour, ...] = (
    KernelFlavour("debian-6.12", r"linux-image-6\.12\.[^-]+-arm64-unsigned",
                  4096, "newest Debian 6.12 arm64 kernel, 4K pages (default)"),
    KernelFlavour("debian-6.1", r"linux-image-6\.1\.\d+-\d+-arm64-unsigned",
                  4096, "newest Debian 6.1 arm64 kernel, 4K pages"),
    KernelFlavour("debian-6.12-16k",
                  r"linux-image-6\.12\.[^-]+-arm64-16k-unsigned",
                  16384, "newest Debian 6.12 arm64 kernel, 16K pages"),
)
_ANY_KERNEL_PACKAGE = re.compile(r"linux-image-.*-arm64(-16k)?-unsigned")

# the same aliases for Debian's amd64 kernels (the x86_64 target,
# runner.arch): KVM is a module there (kvm, kvm_amd), loaded by /init
AMD64_FLAVOURS: tuple[KernelFlavour, ...] = (
    KernelFlavour("debian-6.12", r"linux-image-6\.12\.[^-]+-amd64-unsigned",
                  4096, "newest Debian 6.12 amd64 kernel (default)"),
    KernelFlavour("debian-6.1", r"linux-image-6\.1\.\d+-\d+-amd64-unsigned",
                  4096, "newest Debian 6.1 amd64 kernel"),
)
FLAVOURS_BY_ARCH = {"arm64": FLAVOURS, "amd64": AMD64_FLAVOURS}
_ANY_PACKAGE_BY_ARCH = {"arm64": _ANY_KERNEL_PACKAGE,
                        "amd64": re.compile(r"linux-image-.*-amd64-unsigned")}


def flavours(arch: str = "arm64") -> tuple[KernelFlavour, ...]:
    """The aliases of one Debian architecture's kernels."""
    try:
        return FLAVOURS_BY_ARCH[arch]
    except KeyError:
        raise UnknownKernelError(f"no Debian kernels known for architecture {arch!r}; "
                                 f"options are {', '.join(FLAVOURS_BY_ARCH)}") from None


@dataclasses.dataclass(frozen=True)
class KernelImage:
    """A bootable kernel.  ``package``/``version`` are None for a user build."""
    alias: str
    package: Optional[str]
    version: Optional[str]
    vmlinuz: Path
    modules_dir: Optional[Path]
    page_size: Optional[int]      # expected guest page size (None: unknown)
    release: Optional[str] = None  # expected `uname -r` (None: unknown)


@dataclasses.dataclass(frozen=True)
class Busybox:
    """Debian's static arm64 busybox, unpacked."""
    package: str
    version: str
    binary: Path


def cache_root() -> Path:
    """The cache directory (generator.paths.cache_dir, resolved there only)."""
    return paths.cache_dir(create=False)


def _natural_key(text: str) -> list:
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok)
            for tok in re.findall(r"\d+|[^\d]+", text)]


def newest(names: list[str], pattern: str) -> Optional[str]:
    """The package name matching ``pattern`` with the highest version."""
    rx = re.compile(pattern)
    found = [n for n in names if rx.fullmatch(n)]
    return max(found, key=_natural_key) if found else None


# -- arm64 Image header ---------------------------------------------------

_IMAGE_MAGIC = b"ARM\x64"
_PAGE_SIZES = {1: 4096, 2: 16384, 3: 65536}


def image_page_size(path: Path) -> Optional[int]:
    """Page size recorded in an arm64 Image header (None if unspecified).

    Accepts a raw ``Image`` (with or without EFI stub) or a gzip'd one.
    Raises KernelError when the file is not an arm64 kernel image.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(64)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as f:
                head = f.read(64)
    except OSError as e:
        raise KernelError(f"cannot read kernel image {path}: {e}") from e
    if len(head) < 64 or head[56:60] != _IMAGE_MAGIC:
        raise KernelError(
            f"{path} is not an arm64 kernel Image (no 'ARM\\x64' magic at "
            "offset 56); pass arch/arm64/boot/Image or Image.gz of an arm64 "
            "build, or a kernel alias")
    flags = int.from_bytes(head[24:32], "little")
    return _PAGE_SIZES.get((flags >> 1) & 3)


# -- the private apt view -------------------------------------------------

class DebianArchive:
    """Debian's packages of one architecture (arm64 unless told) seen
    through private apt lists in the cache (``apt/`` for arm64,
    ``apt-<arch>/`` for another)."""

    def __init__(self, root: Optional[Path] = None, log: Optional[Log] = None,
                 arch: str = "arm64"):
        self.root = (root or cache_root())
        self.arch = arch
        self.apt_dir = self.root / ("apt" if arch == "arm64" else f"apt-{arch}")
        self.lists = self.apt_dir / "lists"
        self.debs = self.apt_dir / "debs"
        self.log = log or (lambda msg: None)
        self.download_log: list[tuple[str, int, float]] = []  # (file, bytes, s)

    def _apt_opts(self) -> list[str]:
        opts = ["-q", f"-oAPT::Architecture={self.arch}",
                f"-oAPT::Architectures={self.arch}",
                f"-oDir::State::Lists={self.lists}",
                f"-oDir::Cache={self.apt_dir}",
                f"-oDir::Cache::Archives={self.apt_dir / 'archives'}",
                # Docker images blank these; a private binary cache saves
                # re-parsing 20 MB of lists on every apt-cache call.
                f"-oDir::Cache::pkgcache={self.apt_dir / 'pkgcache.bin'}",
                f"-oDir::Cache::srcpkgcache={self.apt_dir / 'srcpkgcache.bin'}"]
        if os.geteuid() == 0:
            # The cache may sit where the unprivileged _apt user cannot write.
            opts.append("-oAPT::Sandbox::User=root")
        return opts

    def _run(self, tool: str, args: list[str], cwd: Optional[Path] = None
             ) -> subprocess.CompletedProcess:
        if shutil.which(tool) is None:
            raise KernelError(f"'{tool}' not found: kconform fetches Debian "
                              "kernels with apt; run it on Debian/Ubuntu")
        return subprocess.run([tool, *self._apt_opts(), *args], cwd=cwd,
                              capture_output=True, text=True)

    def locked(self):
        """Serialise cache updates between concurrent kconform processes (a
        read-only, populated cache is read as it is)."""
        return cachefs_locked(self.apt_dir, "kconform.lock", read_only_ok=True)

    def lists_signature(self) -> str:
        """Names, sizes and times of the package lists: what a resolution
        read, so a memo of it holds until the lists change."""
        parts = sorted(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                       for p in self.lists.glob("*_Packages*"))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def memo(self, name: str, resolve: Callable[[], tuple[str, str]]
             ) -> tuple[str, str]:
        """(package, version) for ``name``, from ``resolved.json`` when the
        lists are those it was resolved from, else ``resolve()`` (saved)."""
        path = self.apt_dir / "resolved.json"
        sig = self.lists_signature()
        try:
            table = json.loads(path.read_text())
        except (OSError, ValueError):
            table = {}
        hit = table.get(name)
        if isinstance(hit, dict) and hit.get("lists") == sig:
            return hit["package"], hit["version"]
        package, version = resolve()
        table[name] = {"package": package, "version": version, "lists": sig}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
            os.replace(tmp, path)
        except OSError:
            pass          # an unwritable memo only costs the next look-up
        return package, version

    def _lists_present(self) -> bool:
        return any(self.lists.glob("*_Packages*"))

    def _lists_age(self) -> float:
        stamps = [p.stat().st_mtime for p in self.lists.glob("*_Packages*")]
        return time.time() - max(stamps) if stamps else float("inf")

    def update(self, *, force: bool = False) -> None:
        """Refresh the private lists when missing, stale or ``force``d.

        Sources that fail (a non-Debian source without network, say) are
        tolerated as long as some arm64 package list arrived.
        """
        if not force and self._lists_age() < LISTS_MAX_AGE:
            return
        (self.lists / "partial").mkdir(parents=True, exist_ok=True)
        (self.apt_dir / "archives" / "partial").mkdir(parents=True,
                                                      exist_ok=True)
        self.log(f"updating private {self.arch} package lists")
        t0 = time.monotonic()
        proc = self._run("apt-get", ["update"])
        if proc.returncode != 0:
            if not self._lists_present():
                tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
                raise KernelError(
                    f"apt-get update for {self.arch} failed and no cached package "
                    f"lists exist under {self.lists}:\n{tail}\n"
                    "Check network access to Debian's archive, or pass the "
                    "path to a kernel Image instead of an alias.")
            self.log("apt-get update reported errors; using the lists it got")
        self.log(f"package lists ready in {time.monotonic() - t0:.1f} s")

    def package_names(self, prefix: str) -> list[str]:
        """Package names starting with `prefix`.  Lists that apt cannot read
        (truncated, garbled) are a cache problem: they are fetched again
        once, and if that fails too the error names the cache and the fix."""
        proc = self._run("apt-cache", ["pkgnames", prefix])
        if proc.returncode == 0 and proc.stdout.strip():
            return sorted(set(proc.stdout.split()))
        if not self._lists_present():
            return []
        self.log(f"the private package lists under {self.lists} cannot be read; fetching "
                 "them again")
        self._drop_lists()
        self.update(force=True)
        proc = self._run("apt-cache", ["pkgnames", prefix])
        if proc.returncode != 0 or not proc.stdout.strip():
            tail = "\n".join(proc.stderr.strip().splitlines()[-3:])
            raise CacheError(f"cache problem: apt cannot read the package lists under "
                             f"{self.lists} (fetched again, still unreadable):\n{tail}\n"
                             f"Delete {self.apt_dir} and retry, or point KCONFORM_CACHE at "
                             "another directory.")
        return sorted(set(proc.stdout.split()))

    def _drop_lists(self) -> None:
        for p in list(self.lists.glob("*")) + [self.apt_dir / "pkgcache.bin",
                                               self.apt_dir / "srcpkgcache.bin"]:
            if p.is_file():
                p.unlink(missing_ok=True)

    def expected_sha256(self, package: str, version: str) -> Optional[str]:
        """The SHA256 the archive lists for package=version, if any."""
        proc = self._run("apt-cache", ["show", f"{package}={version}"])
        m = re.search(r"^SHA256: ([0-9a-f]{64})$", proc.stdout, re.MULTILINE)
        return m.group(1) if proc.returncode == 0 and m else None

    def candidate(self, package: str) -> Optional[tuple[str, int]]:
        """(version, size in bytes) apt would download, or None."""
        proc = self._run("apt-cache", ["show", "--no-all-versions", package])
        if proc.returncode != 0:
            return None
        fields = dict(re.findall(r"^(Version|Size): (\S+)$", proc.stdout,
                                 re.MULTILINE))
        if "Version" not in fields:
            return None
        return fields["Version"], int(fields.get("Size", "0"))

    def unpacked(self, package: str, version: str) -> Path:
        """Directory holding ``dpkg -x`` of package=version (fetched once)."""
        # busybox-static has one name and version for every architecture
        tag = "" if self.arch == "arm64" else f"_{self.arch}"
        safe = re.sub(r"[^A-Za-z0-9.+_-]", "_", f"{package}_{version}{tag}")
        dest = self.root / "unpacked" / safe
        damaged: list[str] = []
        if dest.is_dir():
            damaged = verify_manifest(dest)
            if not damaged:
                return dest
            # a cached file no longer has the digest it was unpacked with
            # (truncated, overwritten): a cache problem, fetched again
            self.log(f"cache problem: {dest.name}: {'; '.join(damaged)}; fetching it again")
            gone = dest.with_name(f".damaged-{dest.name}-{os.getpid()}")
            try:
                os.rename(dest, gone)
            except OSError as e:
                raise CacheError(f"cache problem: {dest} is damaged ({'; '.join(damaged)}) "
                                 f"and cannot be replaced ({e.strerror}); delete it, or "
                                 "point KCONFORM_CACHE at a writable directory") from None
            shutil.rmtree(gone, ignore_errors=True)
        try:
            return self._fetch(package, version, dest)
        except KernelError as e:
            if damaged:
                raise CacheError(f"cache problem: {dest} was damaged ({'; '.join(damaged)}) "
                                 f"and could not be fetched again: {e}") from None
            raise

    def _fetch(self, package: str, version: str, dest: Path) -> Path:
        self.debs.mkdir(parents=True, exist_ok=True)
        for old in self.debs.glob(f"{package}_*.deb"):
            old.unlink(missing_ok=True)        # a partial download of an earlier run
        self.log(f"downloading {package} {version}")
        t0 = time.monotonic()
        proc = self._run("apt-get", ["download", f"{package}={version}"],
                         cwd=self.debs)
        debs = sorted(self.debs.glob(f"{package}_*.deb"))
        if proc.returncode != 0 or not debs:
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise KernelError(f"cannot download {package}={version}:\n{tail}\n"
                              "Check network access to Debian's archive.")
        deb = debs[-1]
        want = self.expected_sha256(package, version)
        if want is not None and sha256(deb) != want:
            deb.unlink(missing_ok=True)
            raise CacheError(f"cache problem: the downloaded {deb.name} does not have the "
                             f"SHA256 the archive lists ({want[:16]}...): truncated or "
                             "damaged; retry (it is fetched again)")
        size = deb.stat().st_size
        secs = time.monotonic() - t0
        self.download_log.append((deb.name, size, secs))
        self.log(f"downloaded {deb.name}: {size / 1e6:.1f} MB in {secs:.1f} s")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=dest.parent))
        proc = subprocess.run(["dpkg", "-x", str(deb), str(tmp)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise KernelError(f"dpkg -x {deb} failed: {proc.stderr.strip()}")
        write_manifest(tmp)
        os.rename(tmp, dest)
        deb.unlink()
        return dest


MANIFEST = ".kconform-sha256"


def _manifest_files(root: Path) -> list[Path]:
    """The files of an unpacked package a run boots or copies into the guest."""
    return sorted((root / "boot").glob("vmlinuz-*")) + [
        p for p in (root / "bin" / "busybox",) if p.is_file()]


def write_manifest(root: Path) -> None:
    from generator.runner.cachefs import atomic_write
    data = {str(p.relative_to(root)): sha256(p) for p in _manifest_files(root)}
    atomic_write(root / MANIFEST, json.dumps(data, indent=1, sort_keys=True) + "\n")


def verify_manifest(root: Path) -> list[str]:
    """What is wrong with an unpacked package against its manifest ([] when
    it is whole).  A directory unpacked before manifests existed gets one
    now (its files trusted as they are)."""
    path = root / MANIFEST
    if not path.is_file():
        try:
            write_manifest(root)
        except OSError:
            pass                         # a read-only cache: nothing to compare against
        return []
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError
    except (OSError, ValueError):
        return [f"its manifest {MANIFEST} is unreadable"]
    problems = []
    for rel, want in data.items():
        p = root / rel
        if not p.is_file():
            problems.append(f"{rel} is missing")
        elif sha256(p) != want:
            problems.append(f"{rel} ({p.stat().st_size} bytes) does not have the sha256 "
                            "it was unpacked with")
    return problems


# -- resolution -----------------------------------------------------------

def _flavour(alias: str, arch: str = "arm64") -> Optional[KernelFlavour]:
    return next((f for f in flavours(arch) if f.alias == alias), None)


def _looks_like_path(name: str) -> bool:
    return "/" in name or Path(name).exists()


def _user_kernel(name: str, arch: str = "arm64") -> KernelImage:
    path = Path(name).expanduser().resolve()
    if not path.is_file():
        raise UnknownKernelError(f"kernel image {name} does not exist; pass the path "
                          f"to an {arch} Image/vmlinuz or one of: "
                          + ", ".join(f.alias for f in flavours(arch)))
    if arch != "arm64":
        return KernelImage(alias="path", package=None, version=None, vmlinuz=path,
                           modules_dir=None, page_size=None)
    return KernelImage(alias="path", package=None, version=None, vmlinuz=path,
                       modules_dir=None, page_size=image_page_size(path))


def _unknown_name(name: str, names: list[str], arch: str = "arm64") -> UnknownKernelError:
    what = "kernel" if arch == "arm64" else f"{arch} kernel"
    lines = [f"unknown {what} '{name}'. Names that resolve:"]
    for f in flavours(arch):
        pkg = newest(names, f.pattern)
        lines.append(f"  {f.alias:<16} -> {pkg or '(nothing in the archive)'}"
                     f"  {f.summary}")
    exact = [n for n in names if _ANY_PACKAGE_BY_ARCH[arch].fullmatch(n)
             and "cloud" not in n and "-rt-" not in n]
    if exact:
        shown = sorted(exact, key=_natural_key)[-6:]
        lines.append("  an exact package name, e.g. " + ", ".join(shown))
    lines.append(f"  or the path to a user-built {arch} Image/vmlinuz")
    return UnknownKernelError("\n".join(lines))


def resolve_kernel(name: str = DEFAULT_KERNEL, *, cache: Optional[Path] = None,
                   refresh: bool = False, log: Optional[Log] = None,
                   archive: Optional[DebianArchive] = None,
                   arch: str = "arm64") -> KernelImage:
    """Resolve ``name`` to a cached, unpacked kernel of Debian architecture
    ``arch`` (``arm64``, ``amd64``), fetching it if needed."""
    if _looks_like_path(name):
        return _user_kernel(name, arch)
    archive = archive or DebianArchive(cache, log, arch=arch)
    arch = archive.arch
    with archive.locked():
        archive.update(force=refresh)
        flavour = _flavour(name, arch)

        def look_up() -> tuple[str, str]:
            names = archive.package_names("linux-image-")
            if flavour is not None:
                package = newest(names, flavour.pattern)
            elif name in names and _ANY_PACKAGE_BY_ARCH[arch].fullmatch(name):
                package = name
            else:
                raise _unknown_name(name, names, arch)
            if package is None:
                raise _unknown_name(name, names, arch)
            cand = archive.candidate(package)
            if cand is None:
                raise KernelError(f"{package} is listed but has no downloadable "
                                  "version; run with refresh=True "
                                  "(kconform --refresh-kernels)")
            return package, cand[0]
        package, version = (look_up() if refresh
                            else archive.memo(f"kernel {name}", look_up))
        page_size: Optional[int] = (flavour.page_size if flavour is not None
                                    else 16384 if "-16k-" in package else 4096)
        root = archive.unpacked(package, version)
    vmlinuz = sorted((root / "boot").glob("vmlinuz-*"))
    if not vmlinuz:
        raise KernelError(f"{package} {version} has no boot/vmlinuz-* "
                          f"(unpacked at {root}); delete that directory and "
                          "retry")
    release = vmlinuz[0].name[len("vmlinuz-"):]
    modules = root / "lib" / "modules" / release
    return KernelImage(alias=name, package=package, version=version,
                       vmlinuz=vmlinuz[0],
                       modules_dir=modules if modules.is_dir() else None,
                       page_size=page_size, release=release)


def resolve_busybox(*, cache: Optional[Path] = None, log: Optional[Log] = None,
                    archive: Optional[DebianArchive] = None,
                    arch: str = "arm64") -> Busybox:
    """Debian's ``busybox-static`` of architecture ``arch`` (arm64 unless
    told), fetched and unpacked once."""
    archive = archive or DebianArchive(cache, log, arch=arch)
    with archive.locked():
        archive.update()

        def look_up() -> tuple[str, str]:
            cand = archive.candidate("busybox-static")
            if cand is None:
                raise KernelError(f"busybox-static ({archive.arch}) is not in the package "
                                  "lists; run with refresh=True")
            return "busybox-static", cand[0]
        _, version = archive.memo("busybox", look_up)
        root = archive.unpacked("busybox-static", version)
    binary = root / "bin" / "busybox"
    if not binary.is_file():
        raise KernelError(f"{binary} missing from the unpacked busybox-static; "
                          f"delete {root} and retry")
    return Busybox("busybox-static", version, binary)
