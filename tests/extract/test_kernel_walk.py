"""A loop over kernel objects is not a page loop (issue 12): a search
such as `list_for_each_entry(entry, &arm_pmus, entry) { if (match) ... }`
reads nothing the caller passed, so its checks are made once per call
(ordinary checks, never `per_page`) and the operation has no page loop;
a loop whose header reads the argument (MTE's `while (length > 0)`) still
is one."""
from __future__ import annotations

from pathlib import Path

from generator.extract import extract_spec
from generator.model import CheckKind

ROOT = Path(__file__).resolve().parents[2]
PMU = ROOT / "tests" / "data" / "corpus" / "pmu-set-pmu-v4-05.txt"
V10 = ROOT / "seeds" / "002_640e98e582cbc741.txt"


def test_a_search_over_a_kernel_list_makes_ordinary_checks():
    op = extract_spec(PMU, "pmu").operations[0]
    assert op.loop is None
    inside = [c for c in op.checks if c.id in ("arm_pmu_pmu_type_mismatch", "vm_has_run")]
    assert len(inside) == 2
    assert all(not c.in_loop and c.kind is not CheckKind.PER_PAGE for c in inside)


def test_a_loop_over_the_callers_buffer_stays_a_page_loop():
    op = extract_spec(V10, "mte-v10").operation("KVM_ARM_MTE_COPY_TAGS")
    assert op.loop and "length" in op.loop
    assert any(c.in_loop and c.kind is CheckKind.PER_PAGE for c in op.checks)

