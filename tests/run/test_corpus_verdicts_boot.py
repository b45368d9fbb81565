"""Every corpus entry on Debian 6.12 in one boot, each ground-truth errno
row followed from the mail to its verdict (tests/run/corpus_verdicts.py):
no verdict may contradict SOURCES.md, and the rows exercised per entry are
floors (raise them when coverage grows, never lower them).  Marked `boot`."""
from __future__ import annotations

import pytest

from tests.run.corpus_verdicts import COUNTED, measure

pytestmark = pytest.mark.boot

# rows exercised on 6.12 per entry, as measured
EXERCISED = {
    "nisv-v3-01": 3,
    "nisv-v3-02": 5,
    "nisv-v2-02": 5,
    "pvtime-v7-07": 11,
    "pvtime-v6-07": 10,
    "system-suspend-v6-07": 2,
    "pmu-set-pmu-v4-05": 8,
    "fw-bmap-v7-02": 9,
    "sve-finalize-pull-22": 10,
    "smccc-filter-v3-09": 11,
    "x86-nx-huge-pages-v6-08": 6,
}


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    return {s.entry: s for s in measure(tmp_path_factory.mktemp("corpus-verdicts"))}


def test_every_entry_ran(scores):
    assert set(scores) == set(EXERCISED)


def test_no_verdict_contradicts_the_ground_truth(scores):
    bad = [(s.entry, r.row, r.why, r.verdicts[:3]) for s in scores.values() for r in s.rows
           if r.state == "disagrees"]
    assert bad == []


@pytest.mark.parametrize("entry", sorted(EXERCISED))
def test_rows_exercised_per_entry(scores, entry):
    s = scores[entry]
    assert s.exercised >= EXERCISED[entry]
    assert s.agreeing == s.exercised


def test_every_row_not_exercised_says_why(scores):
    for s in scores.values():
        for r in s.rows:
            if r.state != "agrees":
                assert r.why, (s.entry, r.row)


def test_counted_tables(scores):
    assert sum(scores[n].truth for n in COUNTED) == 71
    # the x86 contrast case runs on the x86_64 target: every row of x86 code
    # it has a case for is judged there, none is a platform skip
    assert scores["x86-nx-huge-pages-v6-08"].platform == 0


def test_the_x86_entry_ran_on_the_x86_target(scores):
    verdicts = [v for r in scores["x86-nx-huge-pages-v6-08"].rows for _, v, _ in r.verdicts]
    assert verdicts and "skipped" not in verdicts
