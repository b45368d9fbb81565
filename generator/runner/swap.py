"""A swap device for the booted kernel: zram, from the kernel package.

Debian builds zram as a module (`zram.ko.xz`) with compressor modules it
depends on; the package ships no modules.dep, so dependencies are read from
each module's own `.modinfo` (`depends=`).  Modules are decompressed here
(busybox insmod takes plain ELF) and packed into the initramfs under
/lib/modules/kconform/; /init loads them in dependency order, sizes
/dev/zram0, runs mkswap and swapon, and writes what happened to
/tmp/kconform-swap.log, which a test that needs swap quotes when it skips.
"""
from __future__ import annotations

import dataclasses
import gzip
import lzma
import re
import shutil
import subprocess
from pathlib import Path
from typing import Optional

SWAP_LOG = "/tmp/kconform-swap.log"
MODULE_DIR = "lib/modules/kconform"
ZRAM_SIZE = "64M"
_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")


@dataclasses.dataclass(frozen=True)
class GuestSetup:
    """Files to add to the initramfs and shell lines /init runs before the
    tests (generator.runner.initramfs)."""
    files: tuple[tuple[str, bytes], ...] = ()
    lines: tuple[str, ...] = ()
    summary: str = ""
    early: tuple[str, ...] = ()     # run before any test, not beside the first


class ModuleError(Exception):
    pass


def _index(modules_dir: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in Path(modules_dir).rglob("*.ko*"):
        for suf in _SUFFIXES:
            if p.name.endswith(suf):
                out.setdefault(p.name[:-len(suf)].replace("-", "_"), p)
    return out


def decompress(path: Path) -> bytes:
    data = Path(path).read_bytes()
    name = Path(path).name
    if name.endswith(".xz"):
        return lzma.decompress(data)
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".zst"):
        try:
            import zstandard  # type: ignore
            return zstandard.ZstdDecompressor().decompressobj().decompress(data)
        except ImportError:
            tool = shutil.which("zstd")
            if tool is None:
                raise ModuleError(f"{name} is zstd-compressed and neither the "
                                  "python zstandard package nor zstd is installed")
            return subprocess.run([tool, "-dc", str(path)], capture_output=True,
                                  check=True).stdout
    return data


def _depends(elf: bytes) -> list[str]:
    m = re.search(rb"(?:^|\0)depends=([^\0]*)", elf)
    return [d.replace("-", "_") for d in m.group(1).decode().split(",") if d] if m else []


def module_closure(modules_dir: Path, names: list[str]) -> list[tuple[str, bytes]]:
    """`names` and what they depend on, decompressed, dependencies first."""
    index = _index(modules_dir)
    out: list[tuple[str, bytes]] = []
    done: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in chain:
            raise ModuleError(f"module dependency loop: {' -> '.join(chain + (name,))}")
        path = index.get(name)
        if path is None:
            raise ModuleError(f"module {name} is not in {modules_dir}"
                              + (f" (needed by {chain[-1]})" if chain else ""))
        elf = decompress(path)
        for dep in _depends(elf):
            visit(dep, chain + (name,))
        done.add(name)
        out.append((name, elf))
    for n in names:
        visit(n, ())
    return out


def is_builtin(modules_dir: Path, name: str) -> bool:
    f = Path(modules_dir) / "modules.builtin"
    return f.exists() and any(Path(l).name.startswith(f"{name}.ko")
                              for l in f.read_text().split())


def zram_swap(modules_dir: Optional[Path]) -> GuestSetup:
    """Set-up that gives the booted kernel a zram swap device, or one that
    only records why it cannot."""
    def cannot(why: str) -> GuestSetup:
        return GuestSetup(lines=(f"echo {_quote('swap: ' + why)} > {SWAP_LOG}",),
                          summary=f"no swap: {why}")
    if modules_dir is None or not Path(modules_dir).is_dir():
        return cannot("the kernel came without a modules directory, so zram "
                      "cannot be loaded")
    try:
        mods = [] if is_builtin(modules_dir, "zram") else module_closure(modules_dir, ["zram"])
    except (ModuleError, OSError, lzma.LZMAError, subprocess.CalledProcessError) as e:
        return cannot(str(e))
    files = tuple((f"{MODULE_DIR}/{n}.ko", elf) for n, elf in mods)
    log = f">> {SWAP_LOG} 2>&1"
    lines = [f": > {SWAP_LOG}"]
    lines += [f"insmod /{path} {log} || echo 'insmod {Path(path).name} failed' {log}"
              for path, _ in files]
    lines += [
        f"if [ -e /sys/block/zram0/disksize ] && echo {ZRAM_SIZE} > "
        f"/sys/block/zram0/disksize 2>> {SWAP_LOG} && mkswap /dev/zram0 {log} "
        f"&& swapon /dev/zram0 {log}; then echo 'swap: zram0 {ZRAM_SIZE} active' {log};"
        f" else echo 'swap: zram0 could not be set up' {log}; fi",
    ]
    return GuestSetup(files, tuple(lines),
                      f"zram swap ({', '.join(n for n, _ in mods) or 'built in'})")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
