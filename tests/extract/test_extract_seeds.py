"""The three seeds beyond MTE v8/v10: a prose cover letter, a review of the
MMIO guard patch, and a nested review of the lock/unlock memslot RFC."""
from pathlib import Path

import pytest

from generator.plan import plan
from generator.extract import extract_spec
from generator.model import CheckKind, Errno, FindingKind, OpKind, Reach
from generator.model.specio import load_spec

ROOT = Path(__file__).resolve().parents[2]
RFC1, MMIO, LOCK = "001_20eb00735069180b.txt", "003_2f257d4ea7dae093.txt", "004_baa2838cf23bbaa8.txt"


@pytest.fixture(scope="module")
def rfc1():
    return extract_spec(ROOT / "seeds" / RFC1, "mte-rfc-v1")


@pytest.fixture(scope="module")
def mmio():
    return extract_spec(ROOT / "seeds" / MMIO, "mmio-guard-v2")


@pytest.fixture(scope="module")
def lock():
    return extract_spec(ROOT / "seeds" / LOCK, "lock-memslot-rfc-v5")


def _findings(spec, kind):
    return [f for f in spec.findings if f.kind is kind]


# ------------------------------------------------------------ 001: prose
def test_cover_letter_claims_with_positions(rfc1):
    text = (ROOT / "seeds" / RFC1).read_text()
    assert rfc1.rfc and not rfc1.operations and not rfc1.patches
    for c in rfc1.claims:
        assert c.source.line == 1 and text[c.offset:c.offset + len(c.text)] == c.text
    upgrade = next(c for c in rfc1.claims if "transparently upgrades" in c.text)
    raz = next(c for c in rfc1.claims if "RAZ/WI" in c.text)
    must = next(c for c in rfc1.claims if "*must* support MTE" in c.text)
    stage1 = next(c for c in rfc1.claims if "stage 1 tables" in c.text)
    assert upgrade.testable and raz.testable and must.testable and not stage1.testable
    assert raz.case == "" and "no model" in raz.basis


def test_meta_sentences_are_not_claims(rfc1):
    texts = " ".join(c.text for c in rfc1.claims)
    assert "Posting as an RFC" not in texts and "Comments on the approach" not in texts
    assert "Steven Price (2)" not in texts and "files changed" not in texts
    alt = next(c for c in rfc1.claims if c.text.startswith("An alternative approach"))
    assert not alt.testable and "alternative" in alt.basis


def test_testable_claims_map_to_cases_the_later_model_plans(rfc1):
    planned = {c.id for c in plan(load_spec(ROOT / "specs" / "mte-v10.yaml"))}
    mapped = [c for c in rfc1.claims if c.case]
    assert len(mapped) == 2
    for c in mapped:
        spec, _, case = c.case.partition(":")
        assert spec == "mte-v10" and case in planned, c.case


# ------------------------------------------------------------ 003: MMIO guard
def test_mmio_guard_rules_are_internal_and_unreachable(mmio):
    assert {o.name for o in mmio.operations} == {
        "kvm_install_ioguard_page", "kvm_remove_ioguard_page", "kvm_check_ioguard_page"}
    for op in mmio.operations:
        assert op.kind is OpKind.INTERNAL
        assert op.checks and all(c.reach is Reach.UNREACHABLE for c in op.checks)
    un = _findings(mmio, FindingKind.UNREACHABLE)
    assert len(un) == 3 and all("not reachable from userspace with this input" in f.message
                                for f in un)


def test_install_ioguard_page_rules_in_order(mmio):
    op = mmio.operation("kvm_install_ioguard_page")
    got = [(c.id, c.errno, c.result) for c in op.checks]
    assert got == [
        ("not_mmio_guard_enrolled", None, "false"),
        ("ipa_unaligned", None, "false"),
        ("memslot_at_gfn", Errno.EINVAL, "false"),
        ("vgic_in_kernel_and_vgic_model_is_dev_type_arm_vgic_v2_and_ipa_is_vgic_cpu_base",
         None, "true"),
        ("host_memory_exhausted", Errno.ENOMEM, "false")]
    by = {c.id: c for c in op.checks}
    assert by["not_mmio_guard_enrolled"].condition.startswith("!test_bit(KVM_ARCH_FLAG_MMIO_GUARD")
    assert by["ipa_unaligned"].kind is CheckKind.ALIGNMENT and by["ipa_unaligned"].reads == ["ipa"]
    assert by["memslot_at_gfn"].predicates[0].spelling == "gfn_to_memslot"
    assert op.success.ret.startswith("kvm_pgtable_stage2_annotate(") and op.success.ret.endswith(" == 0")
    assert "&kvm->slots_arch_lock" in op.locking
    assert not _findings(mmio, FindingKind.UNMAPPED_PREDICATE)


def test_unguarded_access_injects_a_data_abort(mmio):
    op = mmio.operation("kvm_check_ioguard_page")
    first, second = op.checks
    assert first.result == "true", "not enrolled: every access is allowed"
    assert second.effect.startswith("kvm_inject_dabt(") and second.result == "false"
    rm = mmio.operation("kvm_remove_ioguard_page")
    assert any("kvm_pgtable_stage2_unmap" in e for e in rm.effects)


def test_mmio_review_notes(mmio):
    about = {n.text.splitlines()[0]: n.about for n in mmio.notes}
    assert about["one day"] == "line:arch/arm64/kvm/mmu.c:1175"
    assert about["I guess the callers need this to return a boolean? Just seems odd that"] \
        == "operation:kvm_install_ioguard_page"
    assert about["How about"] == "operation:kvm_remove_ioguard_page"
    assert about["Besides the nits"] == "patch:v2 4/16"
    assert all(n.author == "Andrew Jones" for n in mmio.notes)
    (typo,) = _findings(mmio, FindingKind.REVIEW_SAYS_WRONG)
    assert "`once day` should read `one day`" in typo.message
    assert (typo.source.line, typo.related.line) == (60, 58)


# ------------------------------------------------------------ 004: lock memslot
def test_lock_memslot_uapi(lock):
    assert lock.rfc and lock.version == 5
    assert lock.capability("KVM_CAP_ARM_LOCK_USER_MEMORY_REGION").number == 207
    vals = {c.name: c.value for c in lock.constants}
    assert vals == {"KVM_CAP_ARM_LOCK_USER_MEMORY_REGION": 207,
                    "KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK": 1, "KVM_ARM_LOCK_MEM_READ": 1,
                    "KVM_ARM_LOCK_MEM_WRITE": 2, "KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK": 2,
                    "KVM_ARM_UNLOCK_MEM_ALL": 1}
    assert lock.constant("KVM_ARM_LOCK_MEM_WRITE").expr == "(1 << 1)"


def test_lock_memslot_checks_errnos_and_order(lock):
    op = lock.operation("KVM_ENABLE_CAP(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION)")
    got = [(c.id, c.errno.name) for c in op.checks]
    assert got == [
        ("cap_copy_faults", "EFAULT"),          # kvm_vm_ioctl's copy (the entry point's)
        ("not_kvm_arm_lock_memslot_supported", "EINVAL"),
        ("args_2_nonzero", "EINVAL"), ("args_3_nonzero", "EINVAL"),
        ("flags_not_a_case", "EINVAL"),
        ("slot_at_least", "EINVAL"), ("lock_mem_read_clear", "EINVAL"),
        ("not_vcpus_lockable", "EBUSY"), ("not_memslot_exists", "EINVAL"),
        ("lock_mem_write_set_and_mem_readonly_set_or_memslot_dirty_logging", "EPERM"),
        ("unlock_mem_all_clear_and_slot_at_least", "EINVAL"),
        ("unlock_mem_all_set", "EINVAL"), ("not_memslot_exists_2", "EINVAL")]
    by = {c.id: c for c in op.checks}
    assert by["lock_mem_read_clear"].reads == ["args[1]"]
    assert by["lock_mem_read_clear"].condition == "!(action_flags & KVM_ARM_LOCK_MEM_READ)"
    assert by["slot_at_least"].when == "action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK"
    assert by["unlock_mem_all_set"].when.endswith("_FLAGS_UNLOCK")
    assert op.aliases["action"] == "flags" and op.aliases["slot"] == "args[0]"
    assert op.locking == ["&kvm->lock", "&kvm->slots_lock"]


def test_this_rfc_always_fails_and_says_so(lock):
    op = lock.operation("KVM_ENABLE_CAP(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION)")
    first = op.checks[1]          # after the entry point's copy of the argument
    assert op.checks[0].id == "cap_copy_faults" and op.checks[0].reach is Reach.REACHABLE
    assert first.value is True and first.reach is Reach.REACHABLE
    assert first.predicates[0].value == 0
    assert all(c.reach is Reach.UNREACHABLE for c in op.checks[2:])
    assert [c.id for c in op.checks if c.context] == ["cap_copy_faults"], \
        "the patch deletes the flags check"
    assert op.success.ret_value == -22, "past every check the RFC still returns -EINVAL"
    ce = lock.operation("KVM_CHECK_EXTENSION(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION)")
    assert ce.success.ret_value == 0
    dead = _findings(lock, FindingKind.DEAD_CODE)
    assert any("always fails" in f.message and f.source.line == 276 for f in dead)
    deleted = [f for f in lock.findings if "deletes mainline" in f.message]
    assert deleted and deleted[0].source.line == 261


def test_lock_memslot_doc_code_and_review_findings(lock):
    mism = _findings(lock, FindingKind.DOC_CODE_MISMATCH)
    names = [f for f in mism if "KVM_ARM_LOCK_MEMORY_READ" in f.message]
    assert names and names[0].source.line == 84 and names[0].related.line == 398
    assert any("Returns: 0 on success" in f.message and "-22" in f.message for f in mism)
    (marker,) = _findings(lock, FindingKind.CONFLICT_MARKER)
    assert marker.source.line == 146
    assert not any(">>>>>>>" in c.text for c in lock.claims)
    wrong = _findings(lock, FindingKind.REVIEW_SAYS_WRONG)
    nit = next(f for f in wrong if "flag names don't match" in f.message)
    assert "Alexandru Elisei agrees at line 91" in nit.message and nit.related.line == 86
    assert any("unnecessary line" in f.message and f.related.line == 146 for f in wrong)
    assert any("permisions" in f.message for f in _findings(lock, FindingKind.DOC_TYPO))


def test_lock_memslot_notes_attach_to_doc_and_claims(lock):
    nit = next(n for n in lock.notes if n.text.startswith("Nit: Those flag names"))
    assert nit.about == "doc:KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK:Parameters"
    assert nit.author == "Reiji Watanabe" and nit.source.line == 88
    both = next(n for n in lock.notes if "'both mappings'" in n.text)
    claim = next(c for c in lock.claims if c.id == both.about.split(":", 1)[1])
    assert "apply to both mappings" in claim.text
    assert len({(n.author, n.text) for n in lock.notes}) == len(lock.notes)


def test_notes_never_change_the_spec(tmp_path):
    """Dropping every reviewer line leaves the extracted rules as they were."""
    lines = (ROOT / "seeds" / MMIO).read_text().splitlines()
    quoted_or_header = [l for i, l in enumerate(lines)
                        if l.startswith(">") or i < 5 or l.startswith("On Mon")]
    f = tmp_path / MMIO
    f.write_text("\n".join(quoted_or_header) + "\n")
    bare = extract_spec(f, "mmio-guard-v2")
    full = extract_spec(ROOT / "seeds" / MMIO, "mmio-guard-v2")
    assert not bare.notes and full.notes
    assert [(o.name, [(c.id, c.condition, c.errno, c.result) for c in o.checks])
            for o in bare.operations] == \
        [(o.name, [(c.id, c.condition, c.errno, c.result) for c in o.checks])
         for o in full.operations]


def test_v10_fieldmust_typo_and_review(tmp_path):
    v10 = load_spec(ROOT / "specs" / "mte-v10.yaml")
    (typo,) = _findings(v10, FindingKind.DOC_TYPO)
    assert "`fieldmust`" in typo.message and "`field must`" in typo.message
    assert typo.source.line == 860
    assert v10.notes and all(n.author for n in v10.notes)
