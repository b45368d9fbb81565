"""The cache on disk: one lock, atomic writes, digests and run directories.

Several `kconform` processes may share one cache (`$KCONFORM_CACHE`):
  1. shared artefacts (downloaded packages, the compiled platform check,
     the unpacked kernels) are written under an fcntl lock (`locked`) and
     put in place by a rename (`atomic_write`, `atomic_dir`), so a reader
     sees the whole file or none of it, never another run's half;
  2. every run gets its own directory (`new_run_dir`) for what it
     generates, builds and logs, so two runs never read each other's
     binaries;
  3. `sha256` digests record exactly what a run built and ran.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

from generator.errors import KconformError

RUNS_KEPT = 20          # run directories kept under <cache>/runs (oldest pruned)


class CacheError(KconformError):
    """The cache directory cannot be used; names the directory and the fix."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_text(text: Union[str, bytes]) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


@contextmanager
def locked(directory: Path, name: str = ".kconform.lock", *,
           read_only_ok: bool = False) -> Iterator[None]:
    """An exclusive fcntl lock on `directory/name` (created) for the block.
    With `read_only_ok`, a directory that cannot be written but already
    holds the lock file is a read-only, populated cache: the block runs
    unlocked, since nobody can change it."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = open(directory / name, "a")
    except OSError as e:
        if read_only_ok and (directory / name).is_file():
            yield
            return
        raise CacheError(f"cache problem: {directory} cannot be written ({e.strerror}); make "
                         "the cache writable or set KCONFORM_CACHE to a writable directory") \
            from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def atomic_write(path: Path, data: Union[str, bytes]) -> Path:
    """Write `data` to a temporary file beside `path`, then rename it over."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_file(path: Path) -> Path:
    """A temporary name beside `path` for a tool to write to; `commit` it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def check_writable(directory: Path, what: str) -> None:
    """Raise CacheError unless files can be created in `directory`."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".probe-", dir=directory)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise CacheError(f"{directory}: {what} is not writable ({e.strerror}); make it "
                         "writable, or set KCONFORM_CACHE (or --work-dir) to a writable "
                         "directory") from None


def new_run_dir(cache: Path) -> Path:
    """A fresh directory under `cache/runs` for one run (unique per run, even
    for runs started in the same second by several processes); the oldest
    beyond RUNS_KEPT are removed, except any a live run holds."""
    runs = Path(cache) / "runs"
    check_writable(runs, "the cache's run directory")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    d = Path(tempfile.mkdtemp(prefix=f"{stamp}-{os.getpid()}-", dir=runs))
    _HELD.append(_hold(d))
    _prune(runs, keep=d)
    return d


_HELD: list = []        # open locks on this process's run directories


def _hold(run_dir: Path):
    """Mark `run_dir` in use for the process's life (pruning skips it)."""
    f = open(Path(run_dir) / ".in-use", "a")
    fcntl.flock(f, fcntl.LOCK_SH)
    return f


def _in_use(d: Path) -> bool:
    marker = d / ".in-use"
    if not marker.exists():
        return False
    try:
        with open(marker, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(f, fcntl.LOCK_UN)
        return False
    except OSError:
        return True


def _prune(runs: Path, keep: Path) -> None:
    try:
        dirs = sorted((d for d in runs.iterdir() if d.is_dir() and d != keep),
                      key=lambda d: d.stat().st_mtime)
    except OSError:
        return
    for d in dirs[:max(0, len(dirs) - (RUNS_KEPT - 1))]:
        if not _in_use(d):
            shutil.rmtree(d, ignore_errors=True)
