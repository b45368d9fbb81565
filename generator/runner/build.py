"""Cross-compile C test programs into static arm64 binaries.

One C file makes one binary named after the file's stem.  Binaries are
static (``-static``) so they run in a busybox initramfs with no libc.
"""

from __future__ import annotations

import dataclasses
import hashlib
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


def content_key(source: Path, include_dirs: Sequence[Path], flags: Sequence[str],
                compiler: str) -> str:
    """What decides a binary: the compiler's version line, the flags, the
    source and every header in the include directories (by content)."""
    h = hashlib.sha256()
    for part in (compiler, "\0".join(flags)):
        h.update(part.encode() + b"\0\0")
    h.update(Path(source).read_bytes() + b"\0\0")
    for d in include_dirs:
        for header in sorted(Path(d).glob("*.h")):
            h.update(header.name.encode() + b"\0" + header.read_bytes() + b"\0\0")
    return h.hexdigest()[:24]


def compile_one(source: Path, out_dir: Path, *, include_dirs: Sequence[Path] = (),
                extra_cflags: Sequence[str] = (), cc: str = CROSS_CC,
                output_name: Optional[str] = None,
                cache: Optional[Path] = None) -> BuiltBinary:
    """Compile ``source`` into ``out_dir/<stem>``; raise BuildError on failure.

    With ``cache``, a binary built before from the same content (content_key)
    is copied from ``cache/<key>/`` instead (``elapsed`` is then 0)."""
    compiler = find_compiler(cc)
    source = Path(source)
    if not source.is_file():
        raise BuildError(f"C source {source} does not exist")
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / (output_name or source.stem)
    flags = [*BASE_CFLAGS, *extra_cflags]
    cached = None
    if cache is not None:
        key = content_key(source, include_dirs, flags, compiler_version(cc))
        cached = Path(cache) / key / binary.name
        if cached.is_file():
            place_cached(cached, binary)
            return BuiltBinary(source, binary, 0.0, "")
    cmd = [compiler, *flags, *(f"-I{d}" for d in include_dirs),
           "-o", str(binary), str(source)]
    binary.unlink(missing_ok=True)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0:
        raise BuildError(f"{source} failed to compile ({' '.join(cmd)}):\n"
                         + _first_errors(proc.stderr))
    if cached is not None:
        store_cached(binary, cached)
    return BuiltBinary(source, binary, elapsed, proc.stderr.strip())


def place_cached(cached: Path, binary: Path) -> None:
    """Put a copy of the cached binary at ``binary`` (a copy, not a link:
    whatever later writes the run's binary must not reach the cache)."""
    tmp = binary.with_name(f".{binary.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    shutil.copy2(cached, tmp)
    os.replace(tmp, binary)


def store_cached(binary: Path, cached: Path) -> None:
    """Keep a copy of a fresh build in the cache (atomically: a rename)."""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        shutil.copy2(binary, tmp)
        os.replace(tmp, cached)
    except OSError:
        pass              # a cache that cannot be written only costs a compile


def cross_compile(sources: Iterable[Path], out_dir: Path, *,
                  include_dirs: Sequence[Path] = (),
                  extra_cflags: Sequence[str] = (), cc: str = CROSS_CC,
                  jobs: Optional[int] = None,
                  cache: Optional[Path] = None) -> BuildResult:
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
                               extra_cflags=extra_cflags, cc=cc, cache=cache)
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
