"""Cross-compile C test programs into static arm64 binaries.

One C file makes one binary named after the file's stem.  Binaries are
static (``-static``) so they run in a busybox initramfs with no libc.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Optional, Sequence

from generator.runner.errors import BuildError

CROSS_CC = "aarch64-linux-gnu-gcc"
BASE_CFLAGS = ("-static", "-O2", "-Wall")
MAX_ERROR_LINES = 20


@dataclasses.dataclass(frozen=True)
class BuiltBinary:
    source: Path
    binary: Path
    elapsed: float          # seconds spent in the compiler
    warnings: str           # compiler diagnostics of a successful build


@dataclasses.dataclass(frozen=True)
class BuildResult:
    binaries: tuple[BuiltBinary, ...]
    elapsed: float          # wall-clock seconds for the whole batch
    compiler: str           # first line of `cc --version`


def find_compiler(cc: str = CROSS_CC) -> str:
    path = shutil.which(cc)
    if path is None:
        raise BuildError(f"cross compiler '{cc}' not found: install "
                         "gcc-aarch64-linux-gnu and libc6-dev-arm64-cross "
                         "(apt-get install gcc-aarch64-linux-gnu "
                         "libc6-dev-arm64-cross, or run scripts/setup.sh)")
    return path


def compiler_version(cc: str = CROSS_CC) -> str:
    out = subprocess.run([find_compiler(cc), "--version"], capture_output=True,
                         text=True).stdout
    return out.splitlines()[0] if out else cc


def _first_errors(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    errs = [i for i, l in enumerate(lines) if "error" in l]
    start = max(0, errs[0] - 2) if errs else 0
    shown = lines[start:start + MAX_ERROR_LINES]
    more = len(lines) - start - len(shown)
    return "\n".join(shown) + (f"\n... ({more} more lines)" if more > 0 else "")


def compile_one(source: Path, out_dir: Path, *, include_dirs: Sequence[Path] = (),
                extra_cflags: Sequence[str] = (), cc: str = CROSS_CC,
                output_name: Optional[str] = None) -> BuiltBinary:
    """Compile ``source`` into ``out_dir/<stem>``; raise BuildError on failure."""
    compiler = find_compiler(cc)
    source = Path(source)
    if not source.is_file():
        raise BuildError(f"C source {source} does not exist")
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / (output_name or source.stem)
    cmd = [compiler, *BASE_CFLAGS, *extra_cflags,
           *(f"-I{d}" for d in include_dirs), "-o", str(binary), str(source)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0:
        raise BuildError(f"{source} failed to compile ({' '.join(cmd)}):\n"
                         + _first_errors(proc.stderr))
    return BuiltBinary(source, binary, elapsed, proc.stderr.strip())


def cross_compile(sources: Iterable[Path], out_dir: Path, *,
                  include_dirs: Sequence[Path] = (),
                  extra_cflags: Sequence[str] = (), cc: str = CROSS_CC,
                  jobs: Optional[int] = None) -> BuildResult:
    """Compile every source in parallel; binaries keep the input order.

    Raises BuildError naming every file that failed (with its first errors).
    """
    sources = [Path(s) for s in sources]
    stems = [s.stem for s in sources]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise BuildError("two sources would make the same binary name: "
                         + ", ".join(dupes) + "; rename one of them")
    version = compiler_version(cc)
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        futures = [pool.submit(compile_one, s, Path(out_dir),
                               include_dirs=include_dirs,
                               extra_cflags=extra_cflags, cc=cc)
                   for s in sources]
        built, errors = [], []
        for fut in futures:
            try:
                built.append(fut.result())
            except BuildError as e:
                errors.append(str(e))
    if errors:
        raise BuildError("\n\n".join(errors))
    return BuildResult(tuple(built), time.monotonic() - t0, version)
