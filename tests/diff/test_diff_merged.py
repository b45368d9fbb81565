"""`kconform diff SPEC --merged TREE`: posted against the code that merged,
on the FIXTURE tree of tests/data/fixture_tree_mte (not kernel code)."""
from __future__ import annotations

from pathlib import Path

from generator.cli import main
from generator.diff.semantic import ChangeKind, diff_specs
from generator.extract.tree import extract_tree_spec
from generator.model.specio import load_spec

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "fixture_tree_mte"
POSTED = load_spec(ROOT / "specs" / "mte-v10.yaml")


def _changes():
    return diff_specs(POSTED, extract_tree_spec(FIXTURE, POSTED, "fixture"))


def test_capability_renumbered_with_both_lines():
    c = next(c for c in _changes() if c.kind is ChangeKind.CAPABILITY_NUMBER)
    assert (c.before, c.after) == ("195", "205")
    assert c.sources[0].seed == POSTED.seed
    assert (c.sources[1].seed, c.sources[1].line) == ("include/uapi/linux/kvm.h", 4)


def test_copy_from_user_moved_first():
    moved = {c.element: c for c in _changes() if c.kind is ChangeKind.CHECK_ORDER}
    c = moved["KVM_ARM_MTE_COPY_TAGS/user_read_faults"]
    assert (c.before, c.after) == ("2", "1")
    assert c.sources[1].seed == "arch/arm64/kvm/arm.c"


def test_success_value_and_partial_copy_documented():
    ch = _changes()
    s = next(c for c in ch if c.kind is ChangeKind.SUCCESS)
    assert "copy_tags->length - length" in s.after and s.sources[1].seed == "arch/arm64/kvm/guest.c"
    doc = next(c for c in ch if c.kind is ChangeKind.SUCCESS_DOC)
    assert doc.after.startswith("number of bytes copied")
    partial = [c for c in ch if c.kind is ChangeKind.RETURN_CLAIM]
    assert any("copied before an error" in c.after for c in partial)


def test_same_condition_other_id_is_the_same_check():
    import copy
    b = copy.deepcopy(POSTED)
    op = b.operation("KVM_ARM_MTE_COPY_TAGS")
    op.checks[0].id = "renamed_elsewhere"      # the id another context derives
    ch = diff_specs(POSTED, b)
    assert not any(c.kind in (ChangeKind.CHECK_ADDED, ChangeKind.CHECK_REMOVED) for c in ch)
    op.checks[0].condition = "something_else"
    ch = diff_specs(POSTED, b)
    assert {c.kind for c in ch} >= {ChangeKind.CHECK_ADDED, ChangeKind.CHECK_REMOVED}


def test_cli_prints_patch_and_tree_lines(capsys):
    assert main(["diff", "mte-v10", "--merged", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert "capability number 195 -> 205" in out
    assert "[002_640e98e582cbc741.txt:280 -> include/uapi/linux/kvm.h:4]" in out
    assert "position 2 -> 1 (now before not_cap_enabled)" in out


def test_cli_bad_tree_is_one_line(tmp_path, capsys):
    assert main(["diff", "mte-v10", "--merged", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "include/uapi/linux/kvm.h" in err[0]


def test_cli_two_specs_and_merged_is_usage(capsys):
    assert main(["diff", "mte-v8", "mte-v10", "--merged", str(FIXTURE)]) == 2
