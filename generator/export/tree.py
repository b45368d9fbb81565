"""Put an exported selftest into a kernel tree and build it there.

Phases:
  1. the Makefile patch: one `TEST_GEN_PROGS_<arch> += <arch>/<name>` line
     in the tree's KVM selftest Makefile (`Makefile` in 6.12, `Makefile.kvm`
     from 6.13), in sorted place among the arm64 tests, as a unified diff
     against the tree (`git apply`/`patch -p1` take it);
  2. install: kconform's own Debian tree gets its pristine Makefile back,
     then every patch; a user's tree (`--tree`) gets the C file and the
     patch unless the line is already there (that is the change a developer
     sends with the series);
  3. build with the tree's own `make -C tools/testing/selftests/kvm
     ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- LDFLAGS=-static`, objects
     under the cache (the library objects are reused between builds);
     the binaries are cached by the hash of everything that went in.
"""
from __future__ import annotations

import dataclasses
import difflib
import fcntl
import hashlib
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

from generator.export.kselftest import KselftestFile
from generator.runner.build import CROSS_CC, compiler_version, find_compiler
from generator.runner.errors import BuildError
from generator.runner.kernels import cache_root
from generator.runner.source import KVM_SELFTESTS, KernelTree

CROSS_COMPILE = "aarch64-linux-gnu-"
ORIG_SUFFIX = ".kconform-orig"
Log = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class MakefilePatch:
    path: str                     # tree-relative, e.g. tools/.../kvm/Makefile
    line: str                     # the line added
    diff: str                     # unified diff, a/ b/ prefixes


@dataclasses.dataclass(frozen=True)
class BuiltTest:
    name: str
    binary: Path
    cached: bool
    seconds: float                # make (0 when cached)


def makefile(tree: KernelTree) -> Path:
    kvm = tree.selftests
    return kvm / "Makefile.kvm" if (kvm / "Makefile.kvm").is_file() else kvm / "Makefile"


def _pristine(tree: KernelTree) -> str:
    mk = makefile(tree)
    orig = mk.with_name(mk.name + ORIG_SUFFIX)
    return (orig if orig.is_file() else mk).read_text()


def makefile_patch(tree: KernelTree, name: str, text: Optional[str] = None) -> MakefilePatch:
    """The diff adding `name` to the tree's arm64 KVM selftests."""
    mk = makefile(tree)
    rel = str(mk.relative_to(tree.root))
    text = _pristine(tree) if text is None else text
    lines = text.splitlines(keepends=True)
    rx = re.compile(rf"^TEST_GEN_PROGS_(\w+)\s*\+=\s*{re.escape(tree.arch_dir)}/(\S+)\s*$")
    block = [(i, rx.match(ln)) for i, ln in enumerate(lines)]
    block = [(i, m) for i, m in block if m]
    if not block:
        raise BuildError(f"{mk}: no `TEST_GEN_PROGS_<arch> += {tree.arch_dir}/...` line "
                         "to add the test beside; is this an arm64-capable tree?")
    var = block[0][1].group(1)
    new = f"TEST_GEN_PROGS_{var} += {tree.arch_dir}/{name}\n"
    if new in lines:
        return MakefilePatch(rel, new.rstrip("\n"), "")
    at = next((i for i, m in block if m.group(2) > name), block[-1][0] + 1)
    out = lines[:at] + [new] + lines[at:]
    diff = "".join(difflib.unified_diff(lines, out, f"a/{rel}", f"b/{rel}"))
    return MakefilePatch(rel, new.rstrip("\n"), f"diff --git a/{rel} b/{rel}\n" + diff)


def test_source(tree: KernelTree, name: str) -> Path:
    return tree.selftests / tree.arch_dir / f"{name}.c"


def _apply(tree: KernelTree, patch: MakefilePatch) -> None:
    if not patch.diff:
        return
    proc = subprocess.run(["patch", "-p1", "--forward", "--quiet", "--no-backup-if-mismatch"],
                          input=patch.diff, cwd=tree.root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{tree.root}/{patch.path}: the Makefile patch does not apply:\n"
                         f"{proc.stdout.strip()}{proc.stderr.strip()}")


def install(files: list[KselftestFile], tree: KernelTree) -> list[MakefilePatch]:
    """Write the C files and apply the Makefile patches (phase 2)."""
    mk = makefile(tree)
    orig = mk.with_name(mk.name + ORIG_SUFFIX)
    patches = []
    if tree.package is not None:          # kconform's own tree: start pristine
        if not orig.is_file():
            shutil.copyfile(mk, orig)
        shutil.copyfile(orig, mk)
        current = orig.read_text()
    else:
        current = mk.read_text()
    for f in files:
        src = test_source(tree, f.name)
        if not src.is_file() or src.read_text() != f.text:
            src.write_text(f.text)
        p = makefile_patch(tree, f.name, current)
        _apply(tree, p)
        current = mk.read_text()
        patches.append(p)
    return patches


def _key(files: list[KselftestFile], tree: KernelTree, patches: list[MakefilePatch]) -> str:
    h = hashlib.sha256()
    for part in ([tree.label, tree.arch_dir, compiler_version(CROSS_CC), "LDFLAGS=-static"]
                 + [f.text for f in files] + [p.line for p in patches]):
        h.update(part.encode() + b"\0")
    if tree.package is None:              # a user's tree may change under us
        for lib in sorted((tree.selftests / "lib").rglob("*")):
            if lib.is_file():
                h.update(lib.read_bytes())
        for inc in sorted((tree.selftests / "include").rglob("*.h")):
            h.update(inc.read_bytes())
    return h.hexdigest()[:16]


def _tree_id(tree: KernelTree) -> str:
    return re.sub(r"[^A-Za-z0-9.+_-]", "_", tree.label)[-80:]


def build(files: list[KselftestFile], tree: KernelTree, *, cache: Optional[Path] = None,
          jobs: int = 2, log: Optional[Log] = None) -> list[BuiltTest]:
    """Install and build every file in `tree`; one static binary each."""
    log = log or (lambda m: None)
    find_compiler(CROSS_CC)
    root = cache or cache_root()
    out_dir = root / "kselftest" / "out" / _tree_id(tree)
    lock_path = root / "kselftest" / "build.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        patches = install(files, tree)
        key = _key(files, tree, patches)
        bin_dir = root / "kselftest" / "bin" / key
        wanted = [bin_dir / f.name for f in files]
        if all(b.is_file() for b in wanted):
            return [BuiltTest(f.name, b, True, 0.0) for f, b in zip(files, wanted)]
        out_dir.mkdir(parents=True, exist_ok=True)
        targets = [str(out_dir / tree.arch_dir / f.name) for f in files]
        cmd = ["make", "-C", str(tree.selftests), f"-j{jobs}", "ARCH=arm64",
               f"CROSS_COMPILE={CROSS_COMPILE}", "LDFLAGS=-static",
               f"OUTPUT={out_dir}", *targets]
        log(f"building {', '.join(f.name for f in files)} in {tree.root}")
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        took = time.monotonic() - t0
        if proc.returncode != 0:
            errs = [ln for ln in (proc.stderr + proc.stdout).splitlines()
                    if "error" in ln.lower()][:12]
            raise BuildError(f"make -C {tree.root / KVM_SELFTESTS} failed "
                             f"(exit {proc.returncode}):\n" + "\n".join(errs or
                             proc.stderr.strip().splitlines()[-12:]))
        bin_dir.mkdir(parents=True, exist_ok=True)
        for t, b in zip(targets, wanted):
            shutil.copyfile(t, b)
            b.chmod(0o755)
    return [BuiltTest(f.name, b, False, took) for f, b in zip(files, wanted)]
