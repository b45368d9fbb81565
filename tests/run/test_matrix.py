"""The kernel matrix without booting: kernel lists, the cross-kernel
comparison, the reports (terminal, JSON, markdown, JUnit, KTAP), and
run_matrix's fault paths driven by captured console logs replayed through
the runner's own watcher (`ReplayTarget`, a test double for QemuTarget)."""
import json
import signal
import threading
import time
from pathlib import Path

import pytest

from generator.plan import plan
from generator.verdict.crosscheck import CaseResult, Expect
from generator.errors import KconformError
from generator.run.matrix import (DEFAULT_MATRIX, Column, ColumnState, MatrixReport,
                              behaviour, compare, parse_kernels, run_matrix, slug)
from generator.model import Verdict
from generator.run.pipeline import Prepared, RunReport, RunRequest
from generator.report.table import RunFacts
from generator.runner.errors import UnknownKernelError
from generator.runner.initramfs import Markers
from generator.runner.qemu import ReplayConsole, watch
from generator.runner.run import HOST_GRACE, RunStatus, outcome_from_lines
from generator.model.specio import load_spec

DATA = Path(__file__).parents[1] / "data" / "runner"
SPEC = load_spec(Path(__file__).parents[2] / "specs" / "mte-v10.yaml")
CASES = plan(SPEC)


# ------------------------------------------------------------------ kernel lists
def test_kernel_list_commas_repeats_and_matrix():
    assert parse_kernels(["debian-6.1,debian-6.12", "debian-6.12-16k"]) == list(DEFAULT_MATRIX)
    assert parse_kernels(None, matrix=True) == ["debian-6.1", "debian-6.12", "debian-6.12-16k"]
    assert parse_kernels(["/tmp/Image", "debian-6.1"], matrix=True) == \
        list(DEFAULT_MATRIX) + ["/tmp/Image"]
    assert parse_kernels([" debian-6.1 , debian-6.1"]) == ["debian-6.1"]
    assert parse_kernels(None) == []


def test_kernel_list_empty_name_is_usage_error():
    with pytest.raises(KconformError, match="empty kernel name"):
        parse_kernels(["debian-6.1,,debian-6.12"])


def test_slug_flattens_paths():
    assert slug("/home/me/linux/arch/arm64/boot/Image") == "home_me_linux_arch_arm64_boot_Image"
    assert slug("debian-6.12-16k") == "debian-6.12-16k"


# ------------------------------------------------------------------ fabricated results
def result(case_id, verdict, *, exp=(0, None), obs=(0, None), step=None,
           exp_digest=None, obs_digest=None, reason=""):
    case = next(c for c in CASES if c.id == case_id)
    return CaseResult(case.id, case.spec, case.clause, case.source,
                      Expect(exp[0], exp[1], exp_digest), Expect(obs[0], obs[1], obs_digest),
                      verdict, reason or f"{verdict.value} reason", step)


def column(name, results, page_size=4096, state=ColumnState.COMPLETED, platform="ok",
           btf=None):
    facts = RunFacts(f"{name}-release", page_size, "qemu-system-aarch64", "10.0.2",
                     platform, "", "header", {"btf": btf} if btf else {})
    return Column(name, state, RunReport(SPEC, CASES, results, facts), seconds=5.0)


VALID = "copy_tags.valid.roundtrip_4pages"
ORDER = "copy_tags.pair.not_cap_enabled+user_read_faults"
FLAGS = "enable_cap.flags_nonzero"


def three_kernels(ret_16k=4 * 16384, order_16k=Verdict.DIVERGES):
    """Same behaviour everywhere, in the page size of each kernel; the 16K
    kernel's values are parameters so a test can make it differ."""
    def results(ps, valid_ret, order_verdict):
        return [
            result(FLAGS, Verdict.CONFORMS, exp=(-1, "EINVAL"), obs=(-1, "EINVAL")),
            result(VALID, Verdict.DIVERGES, exp=(0, None), obs=(valid_ret, None), step=3,
                   exp_digest=f"d{ps}", obs_digest=f"d{ps}"),
            result(ORDER, order_verdict, exp=(-1, "EINVAL"),
                   obs=(-1, "EFAULT" if order_verdict is Verdict.DIVERGES else "EINVAL"),
                   step=2 if order_verdict is Verdict.DIVERGES else None),
        ]
    return [column("debian-6.1", results(4096, 4 * 4096, Verdict.DIVERGES)),
            column("debian-6.12", results(4096, 4 * 4096, Verdict.DIVERGES)),
            column("debian-6.12-16k", results(16384, ret_16k, order_16k), page_size=16384)]


def matrix(columns):
    return MatrixReport(SPEC, CASES, columns, compare(columns))


def test_byte_counts_agree_in_pages_across_page_sizes():
    cmp = compare(three_kernels())
    assert cmp.differences == []
    assert cmp.scaled == [VALID]          # 16384 vs 65536 bytes: 4 pages each
    assert cmp.compared == ["debian-6.1", "debian-6.12", "debian-6.12-16k"]


def test_a_16k_kernel_that_does_not_scale_differs():
    # 16384 bytes on a 16K kernel is 1 page, not the 4 the others copied.
    cmp = compare(three_kernels(ret_16k=16384))
    [d] = cmp.differences
    assert d.case == VALID
    assert d.groups[0] == (["debian-6.1", "debian-6.12"],
                           "diverges (ret=4 pages, data as predicted) at step 3")
    assert d.groups[1] == (["debian-6.12-16k"],
                           "diverges (ret=1 page, data as predicted) at step 3")
    assert d.line().startswith(f"{VALID}: debian-6.1, debian-6.12: diverges (ret=4 pages")


def test_a_verdict_that_differs_between_kernels_is_listed():
    cmp = compare(three_kernels(order_16k=Verdict.CONFORMS))
    [d] = cmp.differences
    assert d.case == ORDER
    assert [names for names, _ in d.groups] == [["debian-6.1", "debian-6.12"], ["debian-6.12-16k"]]
    assert d.groups[1][1] == "conforms"


def test_behaviour_reads_digests_against_the_prediction():
    r = result(VALID, Verdict.DIVERGES, obs=(8192, None), exp_digest="aa", obs_digest="bb", step=3)
    assert behaviour(r, 4096) == "diverges (ret=2 pages, data bb) at step 3"
    r = result(FLAGS, Verdict.CONFORMS, exp=(-1, "EINVAL"), obs=(-1, "EINVAL"))
    assert behaviour(r, 16384) == "conforms"


def test_columns_without_verdicts_are_not_compared():
    cols = three_kernels()
    cols[0] = Column("debian-7", ColumnState.UNRESOLVED, error="unknown kernel 'debian-7'")
    cols[2].state = ColumnState.BROKE
    cmp = compare(cols)
    assert cmp.compared == ["debian-6.12"]
    assert cmp.excluded == {"debian-7": "unknown kernel", "debian-6.12-16k": "broke"}
    assert cmp.differences == []


def test_kernel_facts_that_differ():
    cols = three_kernels()
    cols[0].report.facts.platform_state = "faulty"
    cols[1].report.facts.extra["btf"] = {"state": "compared", "structs": {"s": ["x differs"]}}
    facts = compare(cols).facts
    assert facts[0] == "platform check: debian-6.1 faulty, debian-6.12 ok, debian-6.12-16k ok"
    assert any(f.startswith("BTF on debian-6.12: compared — s: x differs") for f in facts)


# ------------------------------------------------------------------ reports
def test_json_keeps_one_single_kernel_document_per_column():
    from generator.report.matrix import to_json
    from generator.report.table import to_json as single
    cols = three_kernels(ret_16k=16384)
    cols.append(Column("debian-7", ColumnState.UNRESOLVED, error="unknown kernel 'debian-7'"))
    doc = to_json(matrix(cols))
    assert doc["kernels"] == ["debian-6.1", "debian-6.12", "debian-6.12-16k", "debian-7"]
    first = doc["columns"][0]
    assert first["results"] == single("mte-v10", cols[0].results, cols[0].report.facts)
    assert doc["columns"][3] == {"kernel": "debian-7", "state": "unknown kernel",
                                 "error": "unknown kernel 'debian-7'", "seconds": 0.0,
                                 "results": None}
    [d] = doc["comparison"]["differences"]
    assert d["kernels"]["debian-6.12-16k"] == "diverges (ret=1 page, data as predicted) at step 3"
    json.dumps(doc)


def test_markdown_lists_differences_divergences_and_failed_kernels():
    from generator.report.matrix import to_markdown
    cols = three_kernels(order_16k=Verdict.CONFORMS)
    cols.append(Column("debian-7", ColumnState.UNRESOLVED,
                       error="unknown kernel 'debian-7'. Names that resolve:\n  debian-6.12 -> x"))
    md = to_markdown(matrix(cols))
    assert md.startswith("## kconform: mte-v10 on 4 kernel(s)")
    diff = md.split("### Where the kernels differ from each other")[1].split("###")[0]
    assert f"| {ORDER} | diverges (ret=-1 EFAULT) at step 2 | diverges (ret=-1 EFAULT) at step 2 | conforms |" in diff
    bad = md.split("### Cases that do not conform")[1].split("###")[0]
    assert f"| {VALID} | " in bad and f"| {FLAGS} |" not in bad
    assert "| ret=0 | diverges ret=16384 | diverges ret=16384 | diverges ret=65536 | — |" in bad
    assert "- debian-7: unknown kernel: unknown kernel 'debian-7'. Names that resolve:" in md
    assert "debian-6.12 -> x" in md
    assert "<details><summary>All cases</summary>" in md


def test_expected_column_shows_page_size_dependent_predictions():
    from generator.report.matrix import _rows
    cols = three_kernels()
    for c in cols:
        r = next(x for x in c.results if x.id == VALID)
        r.expected = Expect(c.page_size // 4, None)
    row = next(r for r in _rows(matrix(cols)) if r[0] == VALID)
    assert row[2] == "4K: ret=1024, 16K: ret=4096"


def test_terminal_table_renders_every_column(capsys):
    from rich.console import Console

    from generator.report.matrix import render_matrix
    cols = three_kernels(ret_16k=16384)
    cols.append(Column("debian-7", ColumnState.UNRESOLVED, error="unknown kernel 'debian-7'"))
    console = Console(width=250, force_terminal=False, color_system=None)
    render_matrix(matrix(cols), console=console)
    out = capsys.readouterr().out
    assert "debian-6.12-16k" in out and "16K pages" in out
    assert "kernels differ from each other on 1 case(s):" in out
    assert "debian-7: unknown kernel: unknown kernel 'debian-7'" in out


def test_junit_verdicts_and_baseline(tmp_path):
    from junitparser import JUnitXml

    from generator.report.baseline import parse
    from generator.report.ci import write_junit
    m = matrix(three_kernels())
    write_junit(tmp_path / "j.xml", m)
    xml = JUnitXml.fromfile(str(tmp_path / "j.xml"))
    suites = list(xml)
    assert [s.name for s in suites][2] == "mte-v10 on debian-6.12-16k (debian-6.12-16k-release, 16K pages)"
    assert [(s.tests, s.failures, s.errors) for s in suites] == [(3, 2, 0)] * 3
    failed = [c.name for c in suites[0] if c.result and c.result[0].type == "diverges"]
    assert failed == [VALID, ORDER]
    # The baseline accepts the two divergences on every kernel but one.
    text = "spec mte-v10\nkernels debian-6.1 debian-6.12 debian-6.12-16k\n" + "".join(
        f"{k} {c} diverges  # known\n" for k in ("debian-6.1", "debian-6.12")
        for c in (VALID, ORDER)) + f"debian-6.12-16k {VALID} diverges # known\n"
    write_junit(tmp_path / "b.xml", m, parse(text))
    suites = list(JUnitXml.fromfile(str(tmp_path / "b.xml")))
    assert [s.failures for s in suites] == [0, 0, 1]
    ok = next(c for c in suites[0] if c.name == VALID)
    assert "accepted by the baseline as diverges: known" in ok.system_out


# ------------------------------------------------------------------ run_matrix on replays
class ReplayTarget:
    """Test double for targets.QemuTarget: replays a captured console log
    through runner.qemu.watch and runner.run.outcome_from_lines.  `hang`
    blocks in real time after the log (for cancellation); `unknown` raises
    the runner's own UnknownKernelError from resolve()."""

    def __init__(self, label, log=None, *, hang=False, unknown=False, delay=0.0):
        self.label, self.log, self.hang, self.unknown, self.delay = label, log, hang, unknown, delay

    def resolve(self, log=None):
        if self.unknown:
            raise UnknownKernelError(f"unknown kernel '{self.label}'. Names that resolve:\n"
                                     "  debian-6.12 -> linux-image-6.12")

    def facts(self):
        return {"target": "replay", "kernel_name": self.label}

    def run(self, binaries, *, per_test_timeout, total_timeout, log_path, work_dir,
            on_event=None, cancel=None):
        time.sleep(self.delay)
        text = (DATA / self.log).read_text()
        if self.hang:      # the guest goes silent inside the test binary
            text = text[:text.index(" END hello_ktap")]
            text = text[:text.rindex("\n")]
        console = _SlowHang(text) if self.hang else ReplayConsole(text)
        markers = Markers.find_in(console._lines) or Markers("00000000")
        watched = watch(console, boot_timeout=180, step_timeout=per_test_timeout + HOST_GRACE,
                        total_timeout=total_timeout, cancel=cancel,
                        is_progress=lambda l: markers.parse(l) is not None)
        return outcome_from_lines(watched, markers, expected=[Path(b).name for b in binaries],
                                  per_test_timeout=per_test_timeout)


class _SlowHang(ReplayConsole):
    """A replayed console that then stays silent in real time, like a hung guest."""

    def __init__(self, text):
        super().__init__(text, then="hang")

    def readline(self, timeout):
        if self._pos >= len(self._lines):
            time.sleep(min(timeout, 0.05))
            self._now += min(timeout, 0.05)
            return None
        return super().readline(timeout)


@pytest.fixture
def prepared(tmp_path):
    return Prepared(SPEC, CASES, Path("hello_ktap"), None, tmp_path, tmp_path / "mte-v10")


def test_unknown_and_unbootable_kernels_are_columns(prepared):
    targets = [ReplayTarget("good", "debian-6.1.log"),
               ReplayTarget("debian-7", unknown=True),
               ReplayTarget("broken", "boot-failed.log")]
    events = []
    m = run_matrix(RunRequest(), targets, jobs=2, prepared=prepared,
                   on_event=lambda col, ev: events.append((col, ev)))
    states = {c.name: c.state for c in m.columns}
    assert states == {"good": ColumnState.COMPLETED, "debian-7": ColumnState.UNRESOLVED,
                      "broken": ColumnState.BROKE}
    bad = m.column("debian-7")
    assert bad.report is None and "Names that resolve:" in bad.error
    broken = m.column("broken")
    assert broken.report.outcome.status is RunStatus.BOOT_FAILED
    assert "the kernel never reached /init" in broken.error
    assert "Memory Limit: none" in broken.error     # the console tail
    assert m.column("good").release == "6.1.0-56-arm64"
    assert ("debian-7", "unknown kernel in 0.0 s") in events
    assert m.comparison.excluded == {"debian-7": "unknown kernel", "broken": "broke"}


def test_cancel_keeps_finished_columns(prepared):
    cancel = threading.Event()
    targets = [ReplayTarget("done", "debian-6.12-16k.log"),
               ReplayTarget("hung", "debian-6.1.log", hang=True),
               ReplayTarget("queued", "debian-6.1.log")]

    def on_event(col, ev):
        if col == "done" and isinstance(ev, str):
            cancel.set()        # as Ctrl-C would, once the first column finished

    t0 = time.monotonic()
    m = run_matrix(RunRequest(), targets, jobs=2, prepared=prepared, cancel=cancel,
                   on_event=on_event)
    assert time.monotonic() - t0 < 30
    assert m.interrupted
    assert [c.state for c in m.columns] == [ColumnState.COMPLETED, ColumnState.INTERRUPTED,
                                           ColumnState.NOT_RUN]
    assert m.column("done").page_size == 16384
    assert m.column("hung").report.outcome.status is RunStatus.INTERRUPTED
    assert "the run was interrupted" in m.column("hung").error


def test_ctrl_c_in_the_main_thread_keeps_finished_columns(prepared):
    main = threading.get_ident()
    targets = [ReplayTarget("done", "debian-6.1.log"),
               ReplayTarget("hung", "debian-6.1.log", hang=True)]

    hung_started = threading.Event()
    run_hung = targets[1].run

    def started(*a, **kw):
        hung_started.set()
        return run_hung(*a, **kw)
    targets[1].run = started

    def on_event(col, ev):
        if col == "done" and isinstance(ev, str):
            # the interrupt must find the other column running, not still
            # queued behind a busy machine (then it would be NOT_RUN)
            hung_started.wait(30)
            signal.pthread_kill(main, signal.SIGINT)

    # Ctrl-C as Python delivers it by default (KeyboardInterrupt in the main
    # thread), whatever handler an earlier test's code left installed
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        m = run_matrix(RunRequest(), targets, jobs=2, prepared=prepared, on_event=on_event)
    finally:
        signal.signal(signal.SIGINT, old)
    states = [(c.name, c.state, c.error) for c in m.columns]
    assert m.interrupted, (old, states)
    assert [c.state for c in m.columns] == [ColumnState.COMPLETED, ColumnState.INTERRUPTED]


def test_watch_stops_on_cancel():
    cancel = threading.Event()
    cancel.set()
    console = ReplayConsole("line\n" * 10)
    w = watch(console, boot_timeout=10, step_timeout=10, total_timeout=10,
              is_progress=lambda l: False, cancel=cancel)
    assert w.reason.value == "cancelled" and w.lines == [] and console.stopped


def test_same_name_twice_is_refused(prepared):
    with pytest.raises(KconformError, match="named twice"):
        run_matrix(RunRequest(), [ReplayTarget("a", "debian-6.1.log")] * 2, prepared=prepared)
