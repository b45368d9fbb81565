"""`kconform diff`: what changed between two versions, in the user's terms."""
import copy
from pathlib import Path

import pytest

from generator.cli import main
from generator.diff.semantic import ChangeKind, diff_specs, layout, render_text
from generator.extract import extract_spec
from generator.model import Errno
from generator.model.specio import load_spec, write_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def v8():
    return load_spec(ROOT / "specs" / "mte-v8.yaml")


@pytest.fixture(scope="module")
def v10():
    return load_spec(ROOT / "specs" / "mte-v10.yaml")


@pytest.fixture(scope="module")
def changes(v8, v10):
    return diff_specs(v8, v10)


def _one(changes, kind, element):
    found = [c for c in changes if c.kind is kind and c.element == element]
    assert len(found) == 1, f"{kind} {element}: {found}"
    return found[0]


def test_struct_growth(changes):
    f = _one(changes, ChangeKind.FIELD_ADDED, "struct kvm_arm_copy_mte_tags.reserved")
    assert f.after.startswith("__u64[2] at offset 32")
    s = _one(changes, ChangeKind.STRUCT_SIZE, "struct kvm_arm_copy_mte_tags")
    assert (s.before, s.after) == ("32 bytes", "48 bytes")
    assert s.sources[0].seed.startswith("000_") and s.sources[1].seed.startswith("002_")


def test_ioctl_number_changes_because_the_size_did(changes):
    c = _one(changes, ChangeKind.IOCTL_NUMBER, "ioctl KVM_ARM_MTE_COPY_TAGS")
    assert (c.before, c.after) == ("0x8020aeb4", "0x8030aeb4")
    assert "32 -> 48" in c.why


def test_errno_for_ipa_without_memslot(changes):
    c = _one(changes, ChangeKind.CHECK_ERRNO, "KVM_ARM_MTE_COPY_TAGS/no_memslot")
    assert (c.before, c.after) == ("ENOENT", "EFAULT")
    assert (c.sources[0].line, c.sources[1].line) == (78, 735)


def test_checks_locking_and_capability(changes):
    added = {c.element for c in changes if c.kind is ChangeKind.CHECK_ADDED}
    assert added == {"KVM_ARM_MTE_COPY_TAGS/reserved_0_nonzero",
                     "KVM_ARM_MTE_COPY_TAGS/reserved_1_nonzero"}
    lock = _one(changes, ChangeKind.LOCKING_ADDED, "KVM_ARM_MTE_COPY_TAGS")
    assert lock.after == "&kvm->slots_lock"
    cap = _one(changes, ChangeKind.CAPABILITY_ADDED, "capability KVM_CAP_ARM_MTE")
    assert cap.after == "195"
    assert not [c for c in changes if c.kind is ChangeKind.CHECK_ORDER]


def test_text_is_in_user_terms(v8, v10, changes):
    text = render_text(v8, v10, changes)
    assert "request number 0x8020aeb4 -> 0x8030aeb4 because sizeof(struct " \
           "kvm_arm_copy_mte_tags) changed 32 -> 48 bytes" in text
    assert "check no_memslot (no memslot backs the guest frame being accessed): " \
           "errno ENOENT -> EFAULT" in text
    assert "locking added: takes &kvm->slots_lock" in text
    assert "+ field reserved: __u64[2] at offset 32 (16 bytes)" in text


def test_identical_specs_have_no_changes(v10):
    assert diff_specs(v10, copy.deepcopy(v10)) == []


def test_a_moved_check_and_a_changed_errno(v10):
    b = copy.deepcopy(v10)
    op = b.operation("KVM_ARM_MTE_COPY_TAGS")
    op.checks[2], op.checks[4] = op.checks[4], op.checks[2]
    for k, c in enumerate(op.checks, 1):
        c.order = k
    op.checks[0].errno = Errno.EPERM
    ch = diff_specs(v10, b)
    moved = {c.element for c in ch if c.kind is ChangeKind.CHECK_ORDER}
    assert "KVM_ARM_MTE_COPY_TAGS/flags_invalid_bits" in moved
    e = _one(ch, ChangeKind.CHECK_ERRNO, "KVM_ARM_MTE_COPY_TAGS/not_cap_enabled")
    assert (e.before, e.after) == ("EINVAL", "EPERM")


def test_offsets_follow_the_abi_engine(v10):
    size, fields, engine = layout(v10, v10.struct("kvm_arm_copy_mte_tags"))
    assert size == 48 and fields["addr"].offset == 16 and fields["reserved"].offset == 32
    assert "generator.abi" in engine


def test_capability_number_change(tmp_path):
    seed = (ROOT / "seeds" / "004_baa2838cf23bbaa8.txt").read_text()
    f = tmp_path / "004.txt"
    f.write_text(seed.replace("REGION 207", "REGION 208"))
    a = load_spec(ROOT / "specs" / "lock-memslot-rfc-v5.yaml")
    b = extract_spec(f, "lock-memslot-rfc-v5")
    c = _one(diff_specs(a, b), ChangeKind.CAPABILITY_NUMBER,
             "capability KVM_CAP_ARM_LOCK_USER_MEMORY_REGION")
    assert (c.before, c.after) == ("207", "208")


def test_cli_by_name_and_by_path(tmp_path, capsys, v10):
    assert main(["diff", "v8", "v10"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mte-v8 -> mte-v10:") and "0x8030aeb4" in out
    p = tmp_path / "copy.yaml"
    write_spec(v10, p)
    assert main(["diff", "--exit-code", "mte-v10", str(p)]) == 0
    assert "no semantic change" in capsys.readouterr().out
    assert main(["diff", "--exit-code", "v8", str(p)]) == 1


def test_cli_unknown_spec_is_one_line(capsys):
    assert main(["diff", "v8", "no-such-spec"]) == 2
    err = capsys.readouterr().err
    assert "no-such-spec" in err and "options are" in err and "Traceback" not in err
