"""The corpus-verdict judge (tests/run/corpus_verdicts.py) on fake results:
a row agrees, disagrees, is not run or is a platform row exactly as the
rules say (no boot)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from generator.extract import extract_spec
from generator.model.spec import Verdict
from generator.plan import plan
from tests.extract.corpus_truth import CORPUS, ground_truth
from tests.run.corpus_verdicts import judge


@dataclass
class FakeResult:
    verdict: Verdict
    reason: str = ""


@pytest.fixture(scope="module")
def pvtime():
    spec = extract_spec(CORPUS / "pvtime-v7-07.txt", "pvtime-v7-07")
    return spec, plan(spec), ground_truth()


def test_all_conforming_rows_agree(pvtime):
    spec, cases, truth = pvtime
    s = judge("pvtime-v7-07", spec, cases, {c.id: FakeResult(Verdict.CONFORMS) for c in cases},
              truth)
    assert s.exercised == s.agreeing == 11


def test_a_divergence_where_v6_12_conforms_disagrees(pvtime):
    spec, cases, truth = pvtime
    results = {c.id: FakeResult(Verdict.CONFORMS) for c in cases}
    bad = next(c for c in cases if list(c.violates) == ["not_is_aligned"])
    results[bad.id] = FakeResult(Verdict.DIVERGES, "observed 0")
    s = judge("pvtime-v7-07", spec, cases, results, truth)
    assert [r.row for r in s.rows if r.state == "disagrees"] == [5]
    assert s.agreeing == 10


def test_untested_cases_are_not_exercised(pvtime):
    spec, cases, truth = pvtime
    s = judge("pvtime-v7-07", spec, cases,
              {c.id: FakeResult(Verdict.UNTESTED, "no model") for c in cases}, truth)
    assert s.exercised == 0
    assert all(r.state in ("not run", "missing") for r in s.rows)
    assert all(r.why for r in s.rows)


def test_the_known_v6_divergence_agrees():
    spec = extract_spec(CORPUS / "pvtime-v6-07.txt", "pvtime-v6-07")
    cases = plan(spec)
    results = {c.id: FakeResult(Verdict.DIVERGES, "success at pvtime-v6-07.txt:131")
               for c in cases}
    s = judge("pvtime-v6-07", spec, cases, results, ground_truth())
    assert s.exercised == s.agreeing == 10
    results = {c.id: FakeResult(Verdict.DIVERGES, "pvtime-v6-07.txt:198") for c in cases}
    assert judge("pvtime-v6-07", spec, cases, results, ground_truth()).agreeing == 0
