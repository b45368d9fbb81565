"""A run judges with the model of the spec it was given, not the committed
reference/ module (issue 11): a copy of specs/mte-v10.yaml whose
flags_invalid_bits check now says EBUSY is expected to give EBUSY, and a
kernel that still gives EINVAL (the console a kernel following the committed
spec prints, replayed) diverges; the console notes say the spec differs
from the committed reference.  Before, the same run reported `conforms`
with `expected EINVAL`."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator import paths
from generator.model import Verdict
from generator.run.matrix import ColumnState, run_matrix
from generator.run.pipeline import RunRequest, model_of, prepare
from generator.model.specio import load_spec

from tests.run.test_multispec import FollowingKernel

CASE = "copy_tags.flags_invalid_bits"


def _edited_copy(tmp_path: Path, errno: str) -> Path:
    """specs/mte-v10.yaml with flags_invalid_bits giving `errno`."""
    text = paths.spec_path("mte-v10").read_text()
    edited, n = re.subn(r"(- id: flags_invalid_bits\n(?:    .*\n)*?    errno: )EINVAL",
                        rf"\g<1>{errno}", text)
    assert n == 1, "the check is no longer in specs/mte-v10.yaml"
    path = tmp_path / "mte-v10.yaml"
    path.write_text(edited)
    return path


def _run(spec: str, work: Path):
    req = RunRequest(spec=spec, work_dir=work)
    prep = prepare(req)
    return prep, run_matrix(req, [FollowingKernel("debian-6.1")], prepared=prep)


@pytest.mark.parametrize("errno", ["EBUSY", "ENOSPC"])
def test_the_expectation_follows_an_edited_errno(tmp_path, errno):
    prep, m = _run(str(_edited_copy(tmp_path, errno)), tmp_path / "work")
    [col] = m.columns
    assert col.state is ColumnState.COMPLETED
    r = {r.id: r for r in col.results}[CASE]
    assert r.expected.errno == errno
    assert r.observed.errno == "EINVAL"
    assert r.verdict is Verdict.DIVERGES
    assert any("differs from the committed reference/mte_v10.py" in n for n in m.notes)
    build = col.report.facts.extra["build"]
    assert build["specs"]["mte-v10"]["file"] == str(tmp_path / "mte-v10.yaml")
    assert "differs" in build["specs"]["mte-v10"]["model"]
    # the model judged with is the one written into the run's own directory
    assert (tmp_path / "work" / "reference" / "mte_v10.py").read_text().count(errno) >= 1


def test_the_committed_spec_conforms_and_says_nothing(tmp_path):
    prep, m = _run("mte-v10", tmp_path / "work")
    [col] = m.columns
    r = {r.id: r for r in col.results}[CASE]
    assert r.expected.errno == "EINVAL" and r.verdict is Verdict.CONFORMS
    assert m.notes == []
    assert col.report.facts.extra["build"]["specs"]["mte-v10"]["model"] == "the committed reference"


def test_two_specs_of_one_name_get_two_models(tmp_path):
    a = load_spec(paths.spec_path("mte-v10"))
    b = load_spec(_edited_copy(tmp_path, "EBUSY"))
    ma, da, _ = model_of(a, tmp_path / "a")
    mb, db, note = model_of(b, tmp_path / "b")
    assert ma is not mb and da != db and note
