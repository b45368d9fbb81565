"""The merged model (generator.verdict.merged) on the FIXTURE tree of
tests/data/fixture_tree_mte: its predictions, and how it explains a case
the posted model got wrong, on synthetic observations."""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.extract.tree import extract_tree_spec
from generator.model import Verdict
from generator.model.specio import load_spec
from generator.plan import plan
from generator.verdict.crosscheck import CaseObs, ObsStatus, StepObs, crosscheck, Observations
from generator.verdict.merged import MergedSays, explain_results, judge_merged, merged_model
from reference.vmstate import Host

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "fixture_tree_mte"
POSTED = load_spec(ROOT / "specs" / "mte-v10.yaml")
CASES = {c.id: c for c in plan(POSTED)}
HOST = Host.of(mte=True)


@pytest.fixture(scope="module")
def oracle():
    return merged_model(extract_tree_spec(FIXTURE, POSTED, "fixture"), root=FIXTURE)


def _obs_as(module, case):
    """What a kernel that follows `module` would print for `case`."""
    steps = [StepObs(i, s.kind.value, o.ret if o.ret is not None else 3,
                     o.errno.name if o.errno else None, o.digest)
             for i, (s, o) in enumerate(zip(case.steps, module.predict(case, 4096, HOST)))]
    return CaseObs(case.id, ObsStatus.OK, steps=steps)


def test_merged_model_returns_the_byte_count(oracle):
    out = oracle.module.predict(CASES["copy_tags.valid.roundtrip_4pages"], 4096, HOST)
    assert out[-1].ret == 4 * 4096
    pair = oracle.module.predict(CASES["copy_tags.pair.not_cap_enabled+user_read_faults"], 4096, HOST)
    assert pair[-1].check == "user_read_faults"


def test_left_out_is_listed(oracle):
    assert any("the code returns one of" in f.message for f in oracle.left_out)


def test_divergence_explained_by_the_tree_line(oracle):
    ids = ["copy_tags.pair.not_cap_enabled+user_read_faults", "copy_tags.valid.roundtrip_4pages",
           "cap.number", "copy_tags.valid.length_zero"]
    cases = [CASES[i] for i in ids]
    obs = Observations(page_size=4096, cases={c.id: _obs_as(oracle.module, c) for c in cases})
    results = crosscheck(POSTED, cases, obs, host=HOST)
    explain_results(results, cases, obs, oracle, 4096, HOST)
    by = {r.id: r for r in results}
    pair = by["copy_tags.pair.not_cap_enabled+user_read_faults"]
    assert pair.verdict is Verdict.DIVERGES
    assert pair.merged.says is MergedSays.FOLLOWS_OWN_CODE
    arm = (FIXTURE / "arch/arm64/kvm/arm.c").read_text().splitlines()
    line = next(i for i, t in enumerate(arm, 1) if "if (copy_from_user(&copy_tags" in t)
    assert (pair.merged.tree_line.seed, pair.merged.tree_line.line) == ("arch/arm64/kvm/arm.c", line)
    assert by["copy_tags.valid.roundtrip_4pages"].merged.tree_line.seed == "arch/arm64/kvm/guest.c"
    cap = by["cap.number"].merged
    assert cap is not None and "KVM_CAP_SET_GUEST_DEBUG2" in cap.sentence and "205" in cap.sentence
    assert by["copy_tags.valid.length_zero"].merged is None        # conforms: nothing to explain
    assert by["copy_tags.valid.length_zero"].verdict is Verdict.CONFORMS


def test_neither_when_the_kernel_follows_no_model(oracle):
    case = CASES["copy_tags.pair.not_cap_enabled+user_read_faults"]
    o = _obs_as(oracle.module, case)
    o.steps[-1].errno = "EBUSY"                 # what neither model says
    obs = Observations(page_size=4096, cases={case.id: o})
    results = crosscheck(POSTED, [case], obs, host=HOST)
    explain_results(results, [case], obs, oracle, 4096, HOST)
    assert results[0].merged.says is MergedSays.NEITHER


def test_merged_oracle_conforms_on_its_own_kernel(oracle):
    cases = list(CASES.values())
    obs = Observations(page_size=4096, cases={c.id: _obs_as(oracle.module, c) for c in cases})
    out = judge_merged([], cases, obs, oracle, 4096, HOST)
    verdicts = {r.verdict for r in out}
    assert Verdict.DIVERGES not in verdicts
    skipped = [r for r in out if r.verdict is Verdict.SKIPPED]
    assert skipped and all(r.reason.startswith("untested by the merged oracle") for r in skipped)
    assert all(r.id.startswith(("guest.", "cap.number")) for r in skipped)
