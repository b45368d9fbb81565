"""`diff --merged` on the corpus's merged series against Debian's
linux-source-6.12 (tests/data/corpus/SOURCES.md lists what changed between
posting and v6.12).  Needs the Debian source in the cache (fetched by
`kconform diff ... --merged` or `run --merged` once); skipped without it."""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.diff.semantic import ChangeKind, diff_specs
from generator.extract import extract_spec
from generator.extract.tree import extract_tree_spec
from generator.paths import cache_dir

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"
TREES = sorted((cache_dir(create=False) / "kvm-source").glob("linux-source-6.12_*"))
pytestmark = pytest.mark.skipif(not TREES, reason="Debian's linux-source-6.12 is not in the "
                                "cache (run `kconform diff mte-v10 --merged` once)")


def _diff(name: str):
    posted = extract_spec(CORPUS / f"{name}.txt", name)
    return diff_specs(posted, extract_tree_spec(TREES[-1], posted, "6.12"))


@pytest.mark.parametrize("name,cap,before,after", [
    ("nisv-v3-01", "KVM_CAP_ARM_NISV_TO_USER", "176", "177"),
    ("nisv-v3-02", "KVM_CAP_ARM_INJECT_EXT_DABT", "177", "178"),
    ("x86-nx-huge-pages-v6-08", "KVM_CAP_VM_DISABLE_NX_HUGE_PAGES", "215", "220")])
def test_renumbered_capabilities(name, cap, before, after):
    c = next(c for c in _diff(name) if c.kind is ChangeKind.CAPABILITY_NUMBER)
    assert (c.element, c.before, c.after) == (f"capability {cap}", before, after)
    assert c.sources[1].seed == "include/uapi/linux/kvm.h"


def test_x86_eperm_before_args():
    moved = {c.element.rpartition("/")[2] for c in _diff("x86-nx-huge-pages-v6-08")
             if c.kind is ChangeKind.CHECK_ORDER}
    assert moved == {"args_0_nonzero", "not_caller_capable"}


@pytest.mark.parametrize("name,condition", [
    ("nisv-v3-01", "kvm_vm_is_protected(kvm)"),
    ("system-suspend-v6-07", "kvm_vm_is_protected(kvm)"),
    ("sve-finalize-pull-22", "!vcpu_has_sve(vcpu)"),
    ("pvtime-v7-07", "!kvm_arm_pvtime_supported()"),
    ("pvtime-v6-07", "kvm_is_error_hva(")])
def test_checks_added_after_posting(name, condition):
    added = [c for c in _diff(name) if c.kind is ChangeKind.CHECK_ADDED]
    assert any(condition in c.after for c in added), [c.after for c in added]


def test_fw_bmap_ebusy_only_when_the_value_changes():
    added = [c.after for c in _diff("fw-bmap-v7-02") if c.kind is ChangeKind.CHECK_ADDED]
    assert any("kvm_vm_has_ran_once(kvm) && (val != (*fw_reg_bmap))" in a for a in added)
