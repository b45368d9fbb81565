"""Outputs for CI systems: JUnit XML (junitparser) and KTAP passthrough.

* JUnit: one <testsuite> per kernel, one <testcase> per case (classname
  `<spec>.<clause>`): `diverges` is a failure, `error` an error, `skipped`
  and `not reachable` skipped.  With a baseline, a verdict the baseline
  accepts is not a failure (the reason goes to system-out), and a changed
  verdict is, so the CI view agrees with the exit status.
* KTAP: the raw KTAP every test binary printed in the guest, nested one
  document per kernel (`KTAP version 1`, `1..N`, four-space indentation
  per level), for kernel CI tooling that parses kselftest output.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from generator.run.matrix import Column, ColumnState, MatrixReport
from generator.report.matrix import column_title
from generator.model import Verdict

KSFT_SKIP = 4


def write_junit(path: Path, m: MatrixReport, baseline=None, strict: bool = False) -> Path:
    """JUnit XML for `m`; `baseline` (generator.baseline.Baseline) makes its
    accepted verdicts pass."""
    from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

    from generator.report.baseline import word

    xml = JUnitXml(name=f"kconform {m.title}")
    for col in m.columns:
        suite = TestSuite(f"{m.title} on {column_title(col)}")
        suite.add_property("kernel", col.name)
        suite.add_property("state", col.state.value)
        if col.report is not None:
            f = col.report.facts
            suite.add_property("release", f.kernel_release or "")
            suite.add_property("page_size", str(f.page_size or ""))
            suite.add_property("platform", f.platform_state)
        if col.report is None:
            case = TestCase("run", classname=f"{m.spec.name}.{col.name}")
            err = Error(f"{col.state.value}: {(col.error or '').splitlines()[0] if col.error else ''}")
            err.text = col.error or ""
            case.result = [err]
            suite.add_testcase(case)
        for r in col.results:
            # No per-case time: the cases share one boot and KTAP has none.
            case = TestCase(r.id, classname=f"{r.spec}.{r.clause}")
            accepted = None
            default = m.default_verdict(r.id)
            if baseline is not None and col.name in baseline.kernels:
                accepted = baseline.accepted(col.name, r.id, default)
            if r.verdict is Verdict.UNTESTED:     # never a pass; a failure under --strict
                if strict or (accepted is not None and r.verdict not in accepted):
                    fail = Failure(f"untested: {r.reason}", "untested")
                    fail.text = r.reason
                    case.result = [fail]
                else:
                    case.result = [Skipped(f"untested: {r.reason}")]
            elif r.verdict is Verdict.UNREACHABLE and (accepted is None or r.verdict in accepted):
                case.result = [Skipped(r.reason or r.verdict.value)]
            elif accepted is not None and r.verdict in accepted:
                if accepted != (default,):
                    entry = baseline.entries.get((col.name, r.id))
                    case.system_out = (f"accepted by the baseline as {word(accepted)}: "
                                       f"{entry.reason if entry else ''}\n{r.reason}")
            elif r.verdict is Verdict.DIVERGES:
                fail = Failure(r.reason.splitlines()[0] if r.reason else "diverges", "diverges")
                fail.text = r.reason
                case.result = [fail]
            elif r.verdict is Verdict.ERROR:
                err = Error((r.reason or "error").splitlines()[0], "error")
                err.text = r.reason
                case.result = [err]
            elif r.verdict in (Verdict.SKIPPED, Verdict.UNREACHABLE):
                case.result = [Skipped(r.reason or r.verdict.value)]
            elif accepted is not None:     # the default, but the baseline expected otherwise
                fail = Failure(f"baseline {word(accepted)}, now {word(r.verdict)}; update the "
                               "baseline", "baseline")
                case.result = [fail]
            suite.add_testcase(case)
        suite.update_statistics()
        suite.time = round(col.seconds, 3)      # the kernel's whole run
        xml.add_testsuite(suite)
    xml.update_statistics()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    xml.write(str(path), pretty=True)
    return path


# ------------------------------------------------------------------ KTAP
def _indent(lines, depth: int) -> list[str]:
    pad = "    " * depth
    return [pad + l if l else l for l in lines]


def _result_line(n: int, name: str, status: Optional[int], why: str = "") -> str:
    if status == 0:
        return f"ok {n} {name}"
    if status == KSFT_SKIP:
        return f"ok {n} {name} # SKIP" + (f" {why}" if why else "")
    detail = why or ("did not finish" if status is None else f"exit status {status}")
    return f"not ok {n} {name} # {detail}"


def _column_ktap(col: Column) -> tuple[list[str], bool]:
    o = col.report.outcome if col.report else None
    if o is None:
        return [], False
    runs = ([o.platform_test] if o.platform_test else []) + list(o.tests)
    body = ["KTAP version 1", f"# Subtest: {col.name}"]
    f = col.report.facts
    body.append(f"# kconform: kernel {f.kernel_release} page_size={f.page_size} "
                f"platform={f.platform_state}")
    body.append(f"1..{len(runs) + len(o.not_run)}")
    ok = col.state is ColumnState.COMPLETED
    n = 0
    for t in runs:
        n += 1
        body += _indent(t.lines, 1)
        why = "killed by the per-test timeout" if t.timed_out else ""
        body.append(_result_line(n, t.name, t.exit_status, why))
        ok = ok and t.exit_status in (0, KSFT_SKIP)
    for name in o.not_run:
        n += 1
        body.append(f"not ok {n} {name} # not run: {col.state.value}")
        ok = False
    return body, ok


def ktap(m: MatrixReport) -> str:
    """One KTAP document: a subtest per kernel, the binaries' raw KTAP below."""
    out = ["KTAP version 1", f"# kconform: {m.title} on {len(m.columns)} kernel(s)",
           f"1..{len(m.columns)}"]
    for i, col in enumerate(m.columns, 1):
        body, ok = _column_ktap(col)
        out += _indent(body, 1)
        if ok:
            out.append(f"ok {i} {col.name}")
        else:
            why = (col.error or col.state.value).splitlines()[0]
            out.append(f"not ok {i} {col.name} # {why}")
    return "\n".join(out) + "\n"


def write_ktap(path: Path, m: MatrixReport) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ktap(m))
    return path
