"""Results of `kconform explore`: the JSON document and the console table."""
from __future__ import annotations

from typing import Optional

from generator.explore.check import ExampleStatus
from generator.explore.explore import ExploreResult, Finding
from generator.explore.saved import encode_step


def describe_step(step) -> str:
    k = step.kind.value
    if k == "add_memslot":
        return f"add_memslot(slot={step.slot}, at={step.guest_ipa}, pages={step.pages})"
    if k == "delete_memslot":
        return f"delete_memslot(slot={step.slot})"
    if k == "enable_cap":
        extra = f", flags={step.flags:#x}" if step.flags else ""
        extra += f", args={list(step.args)}" if any(step.args) else ""
        return f"enable_cap({step.cap}{extra})"
    if k == "check_extension":
        return f"check_extension({step.cap})"
    if k == "vm_ioctl":
        args = ", ".join(f"{p}={v}" for p, v in step.fields if str(v) != "0")
        if step.arg.value != "valid":
            args += f", argp={step.arg.value}"
        b = step.buffer
        if b is not None and b.valid != b.length:
            args += f", buffer mapped={b.valid} of {b.length}"
        return f"{step.op}({args})"
    return k


def finding_doc(f: Finding) -> dict:
    c = f.minimal or f.shortest
    return {
        "spec": f.cls.spec, "class": {"op": f.cls.op, "check": f.cls.check,
                                      "expected": f.cls.expected, "observed": f.cls.observed},
        "key": f.cls.key,
        "decided_by": str(f.decided_by) if f.decided_by else None,
        "confirmed": f.confirmed, "replay": f.replay_reason,
        "occurrences": f.occurrences, "first_example": f.example,
        "reason": f.reason,
        "sequence": [describe_step(s) for s in c.steps],
        "steps": [encode_step(s) for s in c.steps],
        "shrink": None if f.shrink is None else {
            "from_steps": f.shrink.start_steps, "to_steps": f.shrink.final_steps,
            "rounds": f.shrink.rounds, "candidates": f.shrink.candidates,
            "steps_executed": f.shrink.steps, "seconds": round(f.shrink.seconds, 3),
            "changes": f.shrink.history},
        "reproducer": f.reproducer,
    }


def result_doc(r: ExploreResult) -> dict:
    return {
        "spec": r.spec, "seed": r.seed, "page_size": r.page_size, "host_mte": r.host_mte,
        "examples": r.examples, "steps": r.steps, "checked_steps": r.checked_steps,
        "seconds": round(r.seconds, 3), "generate_seconds": round(r.generate_seconds, 3),
        "execute_seconds": round(r.execute_seconds, 3),
        "steps_per_second": round(r.checked_steps / r.seconds, 1) if r.seconds else None,
        "statuses": {s.value: r.statuses.get(s, 0) for s in ExampleStatus},
        "classes": [finding_doc(f) for f in r.confirmed],
        "unconfirmed": [finding_doc(f) for f in r.unconfirmed],
        "errors": [{"sequence": i, "reason": why} for i, why in r.errors],
        "setup_failures": [{"sequence": i, "reason": why} for i, why in r.setup_failures],
        "not_explored": r.skipped,
        "broke": r.broke,
    }


def print_result(r: ExploreResult, kernel: str, console=None) -> None:
    from rich.console import Console
    from rich.table import Table
    console = console or Console()
    t = Table(title=f"explore {r.spec} on {kernel} (seed {r.seed}, page size {r.page_size}): "
                    f"{r.examples} sequences, {r.checked_steps} steps checked in {r.seconds:.1f} s")
    for col in ("class", "patch line", "expected", "observed", "minimal sequence", "seen",
                "replay"):
        t.add_column(col)
    for f in r.findings:
        c = f.minimal or f.shortest
        t.add_row(f"{f.cls.op}\n{f.cls.check}", str(f.decided_by or ""), f.cls.expected,
                  f.cls.observed, "\n".join(describe_step(s) for s in c.steps[1:]),
                  str(f.occurrences),
                  "confirmed" if f.confirmed else f"NOT confirmed{': ' + f.replay_reason if f.replay_reason else ''}")
    console.print(t)
    counts = ", ".join(f"{r.statuses.get(s, 0)} {s.value}" for s in ExampleStatus)
    console.print(f"{r.spec}: {len(r.confirmed)} confirmed class(es), {len(r.unconfirmed)} "
                  f"not confirmed; sequences: {counts}")
    for why in r.skipped:
        console.print(f"  not explored: {why}")
    for i, why in r.errors[:3]:
        console.print(f"  error in {i}: {why}")
    for i, why in r.setup_failures[:3]:
        console.print(f"  set-up failed in {i}: {why}")
    if r.broke:
        console.print(f"[bold red]the run broke: {r.broke}[/]")


def replay_doc(rows: list[dict]) -> dict:
    return {"replayed": rows, "confirmed": sum(1 for r in rows if r["confirmed"])}


def print_replay(rows: list[dict], console=None, kernel: Optional[str] = None) -> None:
    from rich.console import Console
    from rich.table import Table
    console = console or Console()
    t = Table(title=f"replay on {kernel}")
    for col in ("spec", "class", "saved", "now", "verdict"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["spec"], r["key"], r["saved_observed"], r["observed"] or "",
                  "still diverges" if r["confirmed"] else r["verdict"])
    console.print(t)


def write_junit(path, results: list, kernel: str, broke: Optional[str] = None) -> None:
    """JUnit XML: one suite per spec; a confirmed class is a failing case
    (its minimal sequence and C reproducer in system-out), a class the
    replay did not confirm is skipped, the sequences that conformed are one
    passing case, a broken run an error."""
    from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite
    xml = JUnitXml(name=f"kconform explore on {kernel}")
    for r in results:
        suite = TestSuite(f"explore {r.spec} on {kernel} (seed {r.seed})")
        suite.add_property("page_size", str(r.page_size))
        ok = TestCase(f"{r.examples} sequences", classname=f"{r.spec}.explore")
        ok.system_out = ", ".join(f"{r.statuses.get(s, 0)} {s.value}" for s in ExampleStatus)
        suite.add_testcase(ok)
        for f in r.findings:
            c = TestCase(f.cls.key, classname=f"{r.spec}.{f.cls.check}")
            seq = "\n".join(describe_step(s) for s in (f.minimal or f.shortest).steps)
            if f.confirmed:
                fail = Failure(f"expected {f.cls.expected}, observed {f.cls.observed} "
                               f"({f.decided_by})")
                fail.text = f.reason
                c.result = [fail]
            else:
                c.result = [Skipped(f"not confirmed by the replay: {f.replay_reason}")]
            c.system_out = seq + "\n\n" + f.reproducer
            suite.add_testcase(c)
        if r.broke:
            c = TestCase("run", classname=f"{r.spec}.explore")
            c.result = [Error(r.broke.splitlines()[0])]
            suite.add_testcase(c)
        xml.add_testsuite(suite)
    if broke and not any(r.broke for r in results):
        suite = TestSuite(f"explore on {kernel}")
        c = TestCase("run", classname="explore")
        c.result = [Error(broke.splitlines()[0])]
        suite.add_testcase(c)
        xml.add_testsuite(suite)
    xml.write(str(path), pretty=True)


def markdown(results: list, kernel: str) -> str:
    """A markdown summary (a mailing-list reply, a CI summary)."""
    out = []
    for r in results:
        out += [f"### explore {r.spec} on {kernel} (seed {r.seed}, page size {r.page_size})", "",
                f"{r.examples} sequences, {r.checked_steps} steps checked in {r.seconds:.1f} s; "
                + ", ".join(f"{r.statuses.get(s, 0)} {s.value}" for s in ExampleStatus), "",
                "| operation | check | patch line | expected | observed | minimal sequence | replay |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for f in r.findings:
            seq = "<br>".join(f"`{describe_step(s)}`" for s in (f.minimal or f.shortest).steps[1:])
            out.append(f"| {f.cls.op} | {f.cls.check} | {f.decided_by or ''} | {f.cls.expected} "
                       f"| {f.cls.observed} | {seq} | "
                       f"{'confirmed' if f.confirmed else 'not confirmed'} |")
        if r.broke:
            out += ["", f"The run broke: {r.broke.splitlines()[0]}"]
        out.append("")
    return "\n".join(out)
