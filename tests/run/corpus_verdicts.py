"""The corpus on the real kernel: every corpus entry extracted, planned,
built and run on Debian 6.12 in one boot, and each ground-truth errno row
of tests/data/corpus/SOURCES.md followed from the mail to its verdict.

For a row the extractor finds (tests/extract/corpus_truth.py: TRUTH) the
cases that violate its check are looked up in the run; the row is
*exercised* when one of them got `conforms` or `diverges`, and it *agrees*
when those verdicts are the ones SOURCES.md implies for v6.12 (`EXPECT`
below, read side by side with its "posted vs v6.12" column; `conforms`
where it says the posted behaviour is what v6.12 does).  Rows with no
check in the mail keep TRUTH's reason.

`python3 -m tests.run.corpus_verdicts [--work-dir DIR]` prints the table
(one boot, a few minutes; plus one boot per host profile some case needs,
generator.run.hosts: two-pmus for pmu-set-pmu-v4-05 row 7, armv8.0 for nisv).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from tests.extract.corpus_truth import CORPUS, RUN, TRUTH, Found, Missing, ground_truth, score

#: SOURCES tables counted once for the corpus fraction (v7 for pvtime, v3 for NISV)
COUNTED = [n for n in TRUTH if n not in ("pvtime-v6-07", "nisv-v2-02")]


@dataclass(frozen=True)
class Expect:
    """The verdict(s) a row's cases must get on Debian 6.12, and why.
    `known` names a patch line whose divergence is expected in any case
    that passes through it (a set-up call the posted code lets succeed and
    v6.12 refuses): such a case agrees too."""
    verdict: str                  # "conforms" | "diverges" | "platform"
    why: str = ""
    known: str = ""


SAME = Expect("conforms", "SOURCES.md: v6.12 does what the posted code does")
# x86 code runs on the x86_64 target (generator.run.arches): SOURCES.md's
# "x86 host, v6.12" column.  v6.12 checks CAP_SYS_BOOT (EPERM, row 3) before
# args[0] (EINVAL, row 4): the case breaking both diverges at the posted
# args[0] line, the order difference SOURCES.md names.
X86_ORDER = Expect("conforms", "SOURCES.md: same as posted alone; posted checks args[0] "
                               "before CAP_SYS_BOOT, v6.12 EPERM first, so the pair case "
                               "diverges at the posted args[0] check",
                   known="x86-nx-huge-pages-v6-08.txt:252")

#: (table entry, row) -> what SOURCES.md implies when it is not plain "same"
EXPECT: dict[tuple[str, int], Expect] = {
    ("fw-bmap-v7-02", 8): Expect(
        "diverges", "posted refuses with EBUSY once the VM has run even when the value is "
                    "the current one; v6.12 only when it differs"),
    **{("x86-nx-huge-pages-v6-08", r): X86_ORDER for r in (3, 4)},
    ("x86-nx-huge-pages-v6-08", 9): Expect(
        "conforms", "SOURCES row 9: KVM_ENABLE_CAP of the capability on arm64 is EINVAL, "
                    "arm64's unknown-capability default, which the vocabulary declares and "
                    "the case beside the x86 operation predicts"),
}


#: entry -> the expectation of all its rows where it is not its table's
ENTRY_EXPECT: dict[str, Expect] = {
    "pvtime-v6-07": Expect(
        "conforms", "v6 lacks the memslot check v7 added after review: a case whose valid "
                    "SET of an IPA no memslot backs is refused by v6.12 diverges at v6's "
                    "success line", known="pvtime-v6-07.txt:131"),
}


def expected(entry: str, row: int) -> Expect:
    table = TRUTH[entry].table
    return EXPECT.get((entry, row)) or ENTRY_EXPECT.get(entry) or EXPECT.get((table, row), SAME)


@dataclass
class RowResult:
    row: int
    state: str                    # "agrees" | "disagrees" | "not run" | "missing" | "absent"
    verdicts: list = field(default_factory=list)   # (case id, verdict, reason)
    why: str = ""


@dataclass
class EntryResult:
    entry: str
    truth: int = 0
    absent: int = 0
    extracted: int = 0
    exercised: int = 0
    agreeing: int = 0
    platform: int = 0             # rows the platform cannot run, reported as such
    rows: list = field(default_factory=list)


def why_no_case(spec, gaps) -> dict[tuple[str, str], str]:
    """(operation, check) -> why no case exercises it: the plan's `untested`
    reason, or that the posted code itself never lets it fail."""
    from generator.model import Reach
    out = {(u.op, u.check): f"untested: {u.gap.value}: {u.detail}" for u in gaps}
    for op in spec.operations:
        for c in op.checks:
            if c.reach is Reach.UNREACHABLE:
                out.setdefault((op.name, c.id), f"not reachable in the posted code: `{c.condition}` "
                                                "can never fail there (its own helper fixes it)")
    return out


def judge(entry: str, spec, cases, results, truth, gaps=()) -> EntryResult:
    """Rows of `entry` against the cases planned for `spec`, their
    `results` (CaseResult by case id) and the plan's `gaps` (Untested)."""
    from generator.model.case import StepRole
    s = score(entry, spec, truth, set())
    out = EntryResult(entry, truth=s.truth, absent=s.absent, extracted=s.found)
    bad = {p.split(":")[0] for p in s.problems}          # "row N" of rows not found in order
    no_case = why_no_case(spec, gaps)
    by_check: dict[tuple[str, str], list] = {}
    for case in cases:
        op = next((st.op for st in reversed(case.steps) if st.role is StepRole.SUBJECT), "")
        r = results.get(case.id)
        for check in case.violates:
            by_check.setdefault((op, check), []).append((case.id, r))
        if not case.violates and case.clause.startswith("exit."):   # a guest exit's rule
            by_check.setdefault((RUN, case.clause), []).append((case.id, r))
    for x in TRUTH[entry].rows:
        if isinstance(x, Missing):
            out.rows.append(RowResult(x.row, "absent" if x.absent else "missing", why=x.reason))
            continue
        if f"row {x.row}" in bad:
            out.rows.append(RowResult(x.row, "missing", why="not extracted in order"))
            continue
        got = [(cid, r.verdict.value if r else "no result", r.reason if r else "")
               for cid, r in by_check.get((x.op, x.check), [])]
        run = [g for g in got if g[1] in ("conforms", "diverges")]
        want = expected(entry, x.row)
        if want.verdict == "platform":
            ok = bool(got) and not run and all(v == "skipped" for _, v, _ in got)
            out.rows.append(RowResult(x.row, "platform" if ok else "disagrees" if run
                                      else "not run", got, want.why))
            out.platform += ok
            continue
        if not run:
            why = no_case.get((x.op, x.check), "")
            out.rows.append(RowResult(x.row, "not run", got, why or (
                "no case" if not got else "no case got a verdict")))
            continue
        out.exercised += 1
        if want.verdict == "conforms":
            ok = all(v == "conforms" or (want.known and want.known in why)
                     for _, v, why in run)
        else:
            ok = any(v == "diverges" for _, v, _ in run)
        out.agreeing += ok
        out.rows.append(RowResult(x.row, "agrees" if ok else "disagrees", got, want.why))
    return out


def measure(work: Path, entries: Optional[list[str]] = None) -> list[EntryResult]:
    """Extract every entry, run them all in one boot of Debian 6.12, judge."""
    from generator.cli.series import extract_to
    from generator.run.pipeline import RunRequest, prepare, target_for
    entries = entries or list(TRUTH)
    files = []
    for name in entries:
        out = work / "specs" / f"{name}.yaml"
        extract_to(CORPUS / f"{name}.txt", name, out)
        files.append(str(out))
    from generator.run.pipeline import run_target
    req = RunRequest(spec=files[0], companions=tuple(files[1:]), work_dir=work / "run")
    prep = prepare(req)
    # cases that need a host profile (two PMUs, a host without RAS) run on a
    # host booted with it: the pipeline's own profile boots (generator.run.hosts)
    report = run_target(prep, target_for(req), req, out=prep.out)
    results = {r.id: r for r in report.results}
    truth = ground_truth()
    out = []
    for part in prep.parts:
        cases = part.cases + [c for cs in part.elsewhere.values() for c in cs]
        mine = {c.id: results.get(part.qualify(c.id)) for c in cases}
        out.append(judge(part.spec.name, part.spec, cases, mine, truth, part.gaps))
    if report.broke:
        print(f"the run broke: {report.broke}", file=sys.stderr)
    return out


def table(scores: list[EntryResult]) -> str:
    lines = ["| corpus entry | ground-truth errno checks | absent from the posted code | "
             "extracted in order | exercised on 6.12 | agreeing verdicts | "
             "skipped (platform) |",
             "|---|---|---|---|---|---|---|"]
    for s in scores:
        lines.append(f"| {s.entry} | {s.truth} | {s.absent} | {s.extracted} | {s.exercised} "
                     f"| {s.agreeing} | {s.platform} |")
    counted = [s for s in scores if s.entry in COUNTED]
    t = sum(s.truth for s in counted)
    lines.append(f"| **tables counted once** | {t} | {sum(s.absent for s in counted)} | "
                 f"{sum(s.extracted for s in counted)} | {sum(s.exercised for s in counted)} | "
                 f"{sum(s.agreeing for s in counted)} | {sum(s.platform for s in counted)} |")
    return "\n".join(lines)


def details(scores: list[EntryResult]) -> str:
    lines = []
    for s in scores:
        for r in s.rows:
            if r.state in ("agrees",):
                continue
            seen = "; ".join(f"{c} {v}" + (f" ({why[:160]})" if v not in ("conforms",) else "")
                             for c, v, why in r.verdicts[:3])
            lines.append(f"- {s.entry} row {r.row}: {r.state} -- {r.why}"
                         + (f" [{seen}]" if seen else ""))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m tests.run.corpus_verdicts")
    ap.add_argument("--work-dir")
    ap.add_argument("entries", nargs="*")
    args = ap.parse_args(argv)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="kc-corpus-"))
    scores = measure(work, args.entries or None)
    print(table(scores))
    print()
    print(details(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
