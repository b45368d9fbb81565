"""Restored guests against booted ones, with real QEMU (``pytest -m boot``).

* the default run's verdicts after a restore are those after a boot, the
  platform check (MTE tags) included, on every kernel of the matrix (6.12, its 16K build, 6.1);
* a snapshot QEMU cannot load, or a truncated one, is rejected with one
  line, the run boots instead and saves a new one, which restores;
* two runs at once on an empty snapshot cache: one boots and saves, the
  other waits on the lock and restores;
* no QEMU is left behind."""

import os
import shutil
import threading
from pathlib import Path

import pytest

from generator.render.c import CapBinding
from generator.run.pipeline import DEFAULT_SPECS, RunRequest, prepare, run_target
from generator.run.targets import QemuTarget
from generator.runner.build import cross_compile
from generator.runner.kernels import DEFAULT_KERNEL, resolve_kernel
from generator.runner.platform import PlatformState
from generator.runner.run import EventKind, RunStatus, run_tests
from generator.runner.snapshot import Start

SRC = Path(__file__).parents[1] / "data" / "runner" / "src"

pytestmark = [
    pytest.mark.boot,
    pytest.mark.skipif(shutil.which("qemu-system-aarch64") is None
                       or shutil.which("aarch64-linux-gnu-gcc") is None,
                       reason="needs qemu-system-aarch64 and "
                              "gcc-aarch64-linux-gnu (scripts/setup.sh)"),
]


def _our_qemus() -> list[int]:
    """QEMU processes whose parent is this test process."""
    me, found = os.getpid(), []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == me and comm.startswith("qemu"):
            found.append(int(d.name))
    return found


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    work = tmp_path_factory.mktemp("restore-vs-boot")
    req = RunRequest(spec=DEFAULT_SPECS[0], companions=DEFAULT_SPECS[1:],
                     binding=CapBinding.HEADER, work_dir=work, per_test_timeout=300)
    return req, prepare(req)


def _verdicts(report) -> dict:
    return {r.id: (r.verdict, r.observed) for r in report.results}


@pytest.mark.parametrize("kernel", ["debian-6.12", "debian-6.12-16k", "debian-6.1"])
def test_restored_verdicts_are_the_booted_ones(prepared, kernel, tmp_path):
    req, prep = prepared
    booted = run_target(prep, QemuTarget(kernel, restore=False), req, out=tmp_path / "b")
    restored = run_target(prep, QemuTarget(kernel), req, out=tmp_path / "r")
    if restored.outcome.start is not Start.RESTORED:     # it had to save one first
        restored = run_target(prep, QemuTarget(kernel), req, out=tmp_path / "r2")
    assert restored.outcome.start is Start.RESTORED
    for rep in (booted, restored):
        assert rep.outcome.status is RunStatus.COMPLETED, rep.broke
        assert rep.outcome.platform.state is PlatformState.OK, rep.outcome.platform
    assert restored.outcome.page_size == booted.outcome.page_size == (
        16384 if kernel.endswith("16k") else 4096)
    assert restored.outcome.platform.facts == booted.outcome.platform.facts
    assert _verdicts(restored) == _verdicts(booted)
    assert len(_verdicts(booted)) > 60
    assert not _our_qemus()


def _hello(tmp_path, kernel, cache, events=None):
    built = cross_compile([SRC / "hello_ktap.c"], tmp_path / "bin")
    return run_tests([b.binary for b in built.binaries], kernel, per_test_timeout=60,
                     total_timeout=300, log_path=tmp_path / "console.log",
                     snapshot_cache=cache,
                     on_event=(events.append if events is not None else None))


def _warnings(events) -> list[str]:
    return [e.message for e in events if e.kind is EventKind.WARNING]


def test_bad_snapshots_are_rejected_and_rebuilt(tmp_path):
    kernel = resolve_kernel(DEFAULT_KERNEL)
    cache = tmp_path / "cache"
    first = _hello(tmp_path, kernel, cache)
    assert first.start is Start.BOOTED_SAVED and first.status is RunStatus.COMPLETED
    [snap] = [d for d in (cache / "snapshots").iterdir() if d.is_dir()]
    state = snap / "state"
    again = _hello(tmp_path, kernel, cache)
    assert again.start is Start.RESTORED and again.status is RunStatus.COMPLETED
    assert again.timings.restore < first.timings.boot
    assert [t.ktap.results[0].name for t in again.tests] == ["hello_world"]

    # same size, garbage inside: only QEMU can tell
    size = state.stat().st_size
    with open(state, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\xff" * 65536)
    events = []
    broken = _hello(tmp_path, kernel, cache, events)
    [why] = _warnings(events)
    assert "rejected: QEMU could not restore it" in why and "booting instead" in why
    assert "\n" not in why
    assert broken.start is Start.BOOTED_SAVED and broken.status is RunStatus.COMPLETED
    assert state.stat().st_size > 0

    # truncated: rejected before QEMU sees it
    with open(state, "r+b") as f:
        f.truncate(size // 3)
    events = []
    cut = _hello(tmp_path, kernel, cache, events)
    [why] = _warnings(events)
    assert "rejected: its state file is truncated" in why
    assert cut.start is Start.BOOTED_SAVED and cut.status is RunStatus.COMPLETED
    assert _hello(tmp_path, kernel, cache).start is Start.RESTORED
    assert not _our_qemus()


def test_two_runs_at_once_share_the_snapshot_cache(tmp_path):
    kernel = resolve_kernel(DEFAULT_KERNEL)
    cache = tmp_path / "cache"
    outcomes = {}

    def one(name):
        d = tmp_path / name
        d.mkdir()
        outcomes[name] = _hello(d, kernel, cache)

    threads = [threading.Thread(target=one, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=400)
    assert sorted(o.start.value for o in outcomes.values()) == sorted(
        [Start.BOOTED_SAVED.value, Start.RESTORED.value])
    assert all(o.status is RunStatus.COMPLETED for o in outcomes.values())
    assert not _our_qemus()
