"""Isolated runs without booting (issue 11): each run prepared without a
--work-dir gets its own directory under the cache; the digests of what it
built are recorded; a binary that changes after the build stops the run; a
test binary reporting another binding than the run asked for breaks the run
instead of reporting its verdicts."""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.model import Verdict
from generator.render.c import CapBinding
from generator.run.matrix import ColumnState, run_matrix
from generator.run.pipeline import RunRequest, prepare
from generator.runner.errors import RunnerError

from tests.run.test_multispec import FollowingKernel


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KCONFORM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_each_run_its_own_directory(cache):
    a = prepare(RunRequest(spec="mte-v10"))
    b = prepare(RunRequest(spec="mte-v10", binding=CapBinding.PATCH))
    assert a.work != b.work and a.work.parent == b.work.parent == cache / "runs"
    assert a.digests["kconform_mte_v10"] != b.digests["kconform_mte_v10"]
    assert all(len(d) == 64 for d in a.digests.values())


def test_a_binary_changed_after_the_build_stops_the_run(tmp_path):
    req = RunRequest(spec="mte-v10", work_dir=tmp_path / "w")
    prep = prepare(req)
    prep.binary.write_bytes(b"another run's binary")
    m = run_matrix(req, [FollowingKernel("debian-6.1")], prepared=prep)
    [col] = m.columns
    assert col.state is ColumnState.FAILED
    assert "changed after this run built it" in col.error


class OtherBinding(FollowingKernel):
    """Test double: a console whose binary bound the capability by its
    header number although the run asked for the patch's."""

    def run(self, binaries, **kw):
        out = super().run(binaries, **kw)
        test = next(t for t in out.tests if t.name == "kconform_mte_v10")
        test.ktap.trailing.append("# kconform: binding name=KVM_CAP_ARM_MTE number=205 how=header")
        return out


def test_a_binary_reporting_another_binding_breaks_the_run(tmp_path):
    req = RunRequest(spec="mte-v10", binding=CapBinding.PATCH, work_dir=tmp_path / "w")
    prep = prepare(req)
    fake = OtherBinding("debian-6.1")
    m = run_matrix(req, [fake], prepared=prep)
    [col] = m.columns
    assert col.report.facts.bindings["KVM_CAP_ARM_MTE"]["how"] == "header"
    assert col.state is ColumnState.BROKE
    assert "but the run asked for patch" in col.report.inconsistent
    assert not [r for r in col.results if r.verdict in (Verdict.CONFORMS, Verdict.DIVERGES)]
