"""Extraction cannot quietly drop or keep a fact (issue 11): a damaged line
that removes an operation, a constant or a hunk is recovered with a repair
finding or reported as damage; damage that loses facts makes `extract`
exit 2 and write nothing unless --allow-partial; a new spec that loses
elements of the one on disk is not written without --force; duplicated
patches are read once, with a finding."""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from generator.extract import extract_spec
from generator.model import FindingKind

ROOT = Path(__file__).resolve().parents[2]
V10 = ROOT / "seeds" / "002_640e98e582cbc741.txt"
OP = "KVM_ARM_MTE_COPY_TAGS"


@pytest.fixture(scope="module")
def clean():
    return extract_spec(V10, "mte-v10")


def _facts(spec) -> dict:
    return {"ops": sorted(o.name for o in spec.operations),
            "checks": sorted(f"{o.name}/{c.id}" for o in spec.operations for c in o.checks),
            "constants": sorted(c.name for c in spec.constants),
            "caps": sorted(c.name for c in spec.capabilities),
            "ioctls": sorted(i.name for i in spec.ioctls),
            "structs": sorted(s.name for s in spec.structs)}


def _damaged(tmp_path, old: str, new: str) -> Path:
    text = V10.read_text()
    assert text.count(old) >= 1, old
    path = tmp_path / V10.name
    path.write_text(text.replace(old, new, 1))
    return path


def _kinds(spec) -> set:
    return {f.kind for f in spec.findings}


@pytest.mark.parametrize("old,new", [
    ("diff --git a/arch/arm64/kvm/arm.c b/arch/arm64/kvm/arm.c\nindex 46bf",
     "di#f --git a/arch/arm64/kvm/arm.c b/arch/arm64/kvm/arm.c\nindex 46bf"),
    ("diff --git a/include/uapi/linux/kvm.h", "dif --git a/include/uapi/linux/kvm.h"),
    ("@@ -1297,6 +1297,65 @@", "#@ -1297,6 +1297,65 @@"),
])
def test_a_damaged_header_is_repaired_with_a_finding(tmp_path, clean, old, new):
    spec = extract_spec(_damaged(tmp_path, old, new), "mte-v10")
    assert _facts(spec) == _facts(clean)
    repairs = [f.message for f in spec.findings if f.kind is FindingKind.REPAIR]
    assert any("diff-header" in m or "hunk-header" in m for m in repairs), repairs


@pytest.mark.parametrize("old,new,kind", [
    ("@@ -1297,6 +1297,65 @@", "garbage line", FindingKind.PARSE_ERROR),
    ("+#define KVM_CAP_ARM_MTE 195", "+#defin KVM_CAP_ARM_MTE 195", FindingKind.DAMAGE),
    ("+#define KVM_CAP_ARM_MTE 195", "+#define KVM_C#P_ARM_MTE 195", FindingKind.DAMAGE),
    ("+#define KVM_CAP_ARM_MTE 195", "+#define KVM_CAP_ARM_MTE 1#5", FindingKind.DAMAGE),
    ("+\tcase KVM_ARM_MTE_COPY_TAGS: {", "+\tcas# KVM_ARM_MTE_COPY_TAGS: {", FindingKind.DAMAGE),
    ("+\tcase KVM_ARM_MTE_COPY_TAGS: {", "+\tcase KVM_ARM_MTE_COPY_TAGX: {", FindingKind.NOTE),
    ("+\t\treturn -EINVAL;\n+\n+\tif (length", "+\t\treturn -EINVAM;\n+\n+\tif (length",
     FindingKind.DAMAGE),
])
def test_damage_that_loses_a_fact_is_a_finding(tmp_path, clean, old, new, kind):
    spec = extract_spec(_damaged(tmp_path, old, new), "mte-v10")
    assert _facts(spec) != _facts(clean)          # something is lost...
    assert kind in _kinds(spec)                   # ...and said


def test_extract_refuses_damage_unless_allow_partial(tmp_path, capsys):
    seed = _damaged(tmp_path, "+#define KVM_CAP_ARM_MTE 195", "+#defin KVM_CAP_ARM_MTE 195")
    out = tmp_path / "out"
    assert main(["extract", str(seed), "--name", "mte-v10", "-o", str(out)]) == 2
    said = capsys.readouterr().out
    assert "damage: 002_640e98e582cbc741.txt:280:" in said and "not written" in said
    assert not (out / "mte-v10.yaml").exists()
    assert main(["extract", str(seed), "--name", "mte-v10", "-o", str(out),
                 "--allow-partial"]) == 0
    assert (out / "mte-v10.yaml").exists()


def test_a_worse_spec_does_not_replace_a_good_one(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    good = (ROOT / "specs" / "mte-v10.yaml").read_text()
    (out / "mte-v10.yaml").write_text(good)
    truncated = tmp_path / V10.name
    truncated.write_text("\n".join(V10.read_text().split("\n")[:600]) + "\n")
    code = main(["extract", str(truncated), "--name", "mte-v10", "-o", str(out),
                 "--allow-partial"])
    said = capsys.readouterr().out
    assert code == 2
    assert "would lose" in said and "operation removed: KVM_ARM_MTE_COPY_TAGS" in said
    assert (out / "mte-v10.yaml").read_text() == good
    assert main(["extract", str(truncated), "--name", "mte-v10", "-o", str(out),
                 "--allow-partial", "--force"]) == 0
    assert (out / "mte-v10.yaml").read_text() != good


def test_a_duplicated_patch_is_one_operation_and_a_finding(tmp_path, clean):
    lines = V10.read_text().split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("* [PATCH v10 5/6]"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("^ permalink"))
    dup = lines[:end + 1] + lines[start:end + 1] + lines[end + 1:]
    seed = tmp_path / V10.name
    seed.write_text("\n".join(dup))
    spec = extract_spec(seed, "mte-v10")
    assert [o.name for o in spec.operations].count(OP) == 1
    assert _facts(spec) == _facts(clean)
    dups = [f for f in spec.findings if f.kind is FindingKind.DUPLICATE]
    assert len(dups) == 1 and "word for word" in dups[0].message
