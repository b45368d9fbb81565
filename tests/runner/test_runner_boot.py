"""One real boot: Debian's default 6.12 arm64 kernel under QEMU running a
tiny static KTAP test.  Slow (downloads the kernel on first use, boots in
about 5 s); select with ``pytest -m boot``."""

import shutil
from pathlib import Path

import pytest

from generator.runner.build import cross_compile
from generator.runner.kernels import DEFAULT_KERNEL, resolve_kernel
from generator.runner.ktap import KtapStatus
from generator.runner.platform import PlatformState
from generator.runner.run import EventKind, RunStatus, boot_floor, run_tests

SRC = Path(__file__).parents[1] / "data" / "runner" / "src"

pytestmark = [
    pytest.mark.boot,
    pytest.mark.skipif(shutil.which("qemu-system-aarch64") is None
                       or shutil.which("aarch64-linux-gnu-gcc") is None,
                       reason="needs qemu-system-aarch64 and "
                              "gcc-aarch64-linux-gnu (scripts/setup.sh)"),
]


@pytest.fixture(scope="module")
def kernel():
    return resolve_kernel(DEFAULT_KERNEL)


def test_boot_runs_ktap_test(kernel, tmp_path):
    built = cross_compile([SRC / "hello_ktap.c"], tmp_path / "bin")
    lines, events = [], []
    outcome = run_tests([b.binary for b in built.binaries], kernel,
                        per_test_timeout=60, total_timeout=300,
                        log_path=tmp_path / "console.log",
                        on_line=lines.append, on_event=events.append)
    assert outcome.status is RunStatus.COMPLETED, outcome.broke
    assert outcome.broke is None
    assert outcome.kernel_release == kernel.release
    assert outcome.page_size == kernel.page_size == 4096
    assert outcome.emulator_name == "qemu-system-aarch64"
    assert outcome.platform.state is PlatformState.OK, outcome.platform
    [test] = outcome.tests
    assert test.name == "hello_ktap" and test.exit_status == 0
    assert not test.timed_out
    assert test.ktap.complete
    assert [(r.name, r.status) for r in test.ktap.results] == [
        ("hello_world", KtapStatus.PASS),
        ("needs_feature_x", KtapStatus.SKIP)]
    assert f"release {kernel.release}" in test.ktap.results[0].diagnostics
    assert lines and (tmp_path / "console.log").read_text().count("\n") \
        == len(lines) + 2
    kinds = [e.kind for e in events]
    assert kinds[:2] == [EventKind.BOOTING, EventKind.BOOTED]
    assert kinds.count(EventKind.TEST_FINISHED) == 2   # platform + hello
    assert 0 < outcome.timings.boot < outcome.timings.total
    assert outcome.timings.execute > 0


def test_boot_floor(kernel):
    seconds = boot_floor(kernel)
    assert 0.5 < seconds < 120
