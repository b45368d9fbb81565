"""Baselines without booting: the file format and its errors (file:line),
recording (reviewed reasons kept), and comparing a matrix run with it."""
from pathlib import Path

import pytest

from generator.report.baseline import Baseline, compare, load, parse, record
from generator.errors import InputError, KconformError
from generator.run.matrix import Column, ColumnState
from generator.model import Verdict

from tests.run.test_matrix import FLAGS, ORDER, VALID, matrix, three_kernels

ROOT = Path(__file__).parents[2]

HEAD = "spec mte-v10\nbinding header\nkernels debian-6.1 debian-6.12 debian-6.12-16k\n"


def accepted_all() -> str:
    """A baseline that accepts what three_kernels() does."""
    return HEAD + "".join(f"{k} {c} diverges  # known: {c}\n"
                          for k in ("debian-6.1", "debian-6.12", "debian-6.12-16k")
                          for c in (VALID, ORDER))


def test_parse_reads_entries_and_reasons():
    b = parse("# comment\n\n" + accepted_all(), "b.baseline")
    assert (b.spec, b.binding, b.kernels) == ("mte-v10", "header",
                                              ["debian-6.1", "debian-6.12", "debian-6.12-16k"])
    e = b.entries[("debian-6.12", VALID)]
    assert e.verdicts == (Verdict.DIVERGES,) and e.reason == f"known: {VALID}" and e.line == 8
    assert b.accepted("debian-6.12", FLAGS) == (Verdict.CONFORMS,)
    assert parse(HEAD + "debian-6.1 x not-reachable\n").entries[("debian-6.1", "x")].verdicts \
        == (Verdict.UNREACHABLE,)


@pytest.mark.parametrize("text, line, message", [
    (HEAD + "debian-6.1 x divergent  # typo\n", 4, "unknown verdict 'divergent'"),
    (HEAD + "debian-6.2 x diverges\n", 4, "kernel 'debian-6.2' is not in the `kernels` line"),
    (HEAD + "debian-6.1 x conforms\n", 4, "a `conforms` line says nothing"),
    (HEAD + "debian-6.1 x diverges|skiped\n", 4, "unknown verdict 'skiped'"),
    (HEAD + "debian-6.1 x diverges\ndebian-6.1 x skipped\n", 5, "listed twice (first at line 4)"),
    (HEAD + "debian-6.1 x\n", 4, "cannot read 'debian-6.1 x'"),
    ("debian-6.1 x diverges\n", 1, "an entry before the `spec` and `kernels` lines"),
    ("spec mte-v10\n", 0, "no `spec` or no `kernels` line"),
])
def test_parse_errors_name_file_and_line(text, line, message):
    with pytest.raises(InputError) as e:
        parse(text, "b.baseline")
    assert e.value.line == line and message in str(e.value)
    assert str(e.value).startswith(f"b.baseline:{line}: " if line else "b.baseline: ")


def test_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(KconformError, match="kconform baseline -o FILE"):
        load(tmp_path / "none.baseline")


def test_matching_run_has_no_changes():
    assert compare(parse(accepted_all()), matrix(three_kernels())) == []


def test_each_changed_verdict_is_one_line():
    m = matrix(three_kernels(order_16k=Verdict.CONFORMS))
    text = accepted_all().replace(f"debian-6.1 {VALID} diverges", f"debian-6.1 {VALID} skipped")
    changes = compare(parse(text, "b.baseline"), m)
    lines = [c.line() for c in changes]
    assert all(c.fails for c in changes)
    assert lines == [
        f"debian-6.1 {VALID}: baseline skipped, now diverges — observed ret=16384, the patch "
        f"says ret=0 at step 3 (baseline line 4: known: {VALID})",
        f"debian-6.12-16k {ORDER}: baseline diverges, now conforms (baseline line 9: known: {ORDER})",
    ]
    assert all("\n" not in l for l in lines)


def test_a_new_divergence_is_a_change():
    text = accepted_all().replace(f"debian-6.12 {ORDER} diverges  # known: {ORDER}\n", "")
    [c] = compare(parse(text), matrix(three_kernels()))
    assert c.line().startswith(f"debian-6.12 {ORDER}: baseline conforms, now diverges — "
                               "observed ret=-1 EFAULT, the patch says ret=-1 EINVAL")


def test_kernels_without_verdicts_and_unknown_to_the_baseline():
    cols = three_kernels()
    cols[1] = Column("debian-6.12", ColumnState.BROKE,
                     error="the kernel never reached /init: QEMU exited\n    tail")
    cols.append(Column("debian-7", ColumnState.UNRESOLVED, error="unknown kernel 'debian-7'"))
    lines = [c.line() for c in compare(parse(accepted_all()), matrix(cols))]
    assert lines == [
        "debian-6.12: broke, so no verdict to compare with the baseline: the kernel never "
        "reached /init: QEMU exited",
        "debian-7: not in the baseline (it lists debian-6.1, debian-6.12, debian-6.12-16k); "
        "record it with `kconform baseline`",
    ]


def test_stale_line_is_a_note_not_a_failure():
    text = accepted_all() + "debian-6.1 copy_tags.gone diverges  # old\n"
    [c] = compare(parse(text), matrix(three_kernels()))
    assert not c.fails and "has no such case now" in c.line()


def test_other_spec_is_refused():
    with pytest.raises(KconformError, match="baseline is for spec mte-v8"):
        compare(parse(accepted_all().replace("mte-v10", "mte-v8")), matrix(three_kernels()))


def test_record_round_trips_and_keeps_reviewed_reasons():
    m = matrix(three_kernels())
    fresh = parse(record(m))
    assert compare(fresh, m) == []
    assert fresh.entries[("debian-6.12-16k", VALID)].reason == \
        "observed ret=65536, the patch says ret=0 at step 3"
    reviewed = parse(accepted_all())
    again = parse(record(m, reviewed))
    assert again.entries[("debian-6.12-16k", VALID)].reason == f"known: {VALID}"
    # A verdict that changed gets the observation again, not the old reason.
    m2 = matrix(three_kernels(order_16k=Verdict.CONFORMS))
    assert ("debian-6.12-16k", ORDER) not in parse(record(m2, reviewed)).entries


def test_record_refuses_incomplete_runs():
    cols = three_kernels()
    cols[0].state = ColumnState.BROKE
    with pytest.raises(KconformError, match="did not complete: debian-6.1 broke"):
        record(matrix(cols))


def test_committed_baseline_loads_and_every_entry_has_a_reviewed_reason():
    b = load(ROOT / "baselines" / "mte-v10.baseline")
    assert b.spec == "mte-v10" and b.kernels == ["debian-6.1", "debian-6.12", "debian-6.12-16k"]
    assert b.entries
    for e in b.entries.values():
        assert e.reason and not e.reason.startswith("observed "), e


def test_a_case_known_to_vary_accepts_each_listed_verdict():
    """`diverges|skipped`: either passes, anything else is a change, and
    re-recording keeps the reviewed line whichever of them it got."""
    text = accepted_all().replace(f"debian-6.12-16k {ORDER} diverges  # known: {ORDER}",
                                  f"debian-6.12-16k {ORDER} diverges|skipped  # flaky: why")
    b = parse(text)
    assert b.accepted("debian-6.12-16k", ORDER) == (Verdict.DIVERGES, Verdict.SKIPPED)
    assert compare(b, matrix(three_kernels())) == []
    [c] = compare(b, matrix(three_kernels(order_16k=Verdict.CONFORMS)))
    assert c.line().startswith(f"debian-6.12-16k {ORDER}: baseline diverges|skipped, now conforms")
    kept = parse(record(matrix(three_kernels()), b)).entries[("debian-6.12-16k", ORDER)]
    assert kept.verdicts == (Verdict.DIVERGES, Verdict.SKIPPED) and kept.reason == "flaky: why"
    # conforms can be one of them, and then a conforming run keeps the line
    b2 = parse(text.replace("diverges|skipped", "conforms|diverges"))
    m = matrix(three_kernels(order_16k=Verdict.CONFORMS))
    assert compare(b2, m) == []
    assert ("debian-6.12-16k", ORDER) in parse(record(m, b2)).entries
