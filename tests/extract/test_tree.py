"""Tree extraction (generator.extract.tree) on a FIXTURE tree written for
these tests (tests/data/fixture_tree_mte: the shape of mainline's MTE code
in a few lines, not kernel code), and on copies of it mutated so that a
test fails when extraction stops following the code."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.errors import InputError
from generator.extract.tree import extract_tree_spec, index_tree, resolve_tree, tree_version
from generator.model import Errno
from generator.model.specio import load_spec

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "fixture_tree_mte"
POSTED = load_spec(ROOT / "specs" / "mte-v10.yaml")
LABEL = "fixture 6.12.999"


def _line(path: str, text: str, root: Path = FIXTURE) -> int:
    lines = (root / path).read_text().splitlines()
    return next(i for i, t in enumerate(lines, 1) if text in t)


@pytest.fixture(scope="module")
def merged():
    return extract_tree_spec(FIXTURE, POSTED, LABEL)


def test_index_finds_functions_with_their_lines():
    idx = index_tree(FIXTURE)
    s = idx.function("kvm_vm_ioctl_mte_copy_tags")
    assert (s.path, s.start) == ("arch/arm64/kvm/guest.c",
                                 _line("arch/arm64/kvm/guest.c", "int kvm_vm_ioctl_mte_copy_tags("))
    assert idx.function("kvm_arch_vm_ioctl").path == "arch/arm64/kvm/arm.c"


def test_uapi_numbers_from_the_tree_headers(merged):
    cap = next(c for c in merged.capabilities if c.name == "KVM_CAP_ARM_MTE")
    assert cap.number == 205
    assert (cap.source.seed, cap.source.line) == (
        "include/uapi/linux/kvm.h", _line("include/uapi/linux/kvm.h", "KVM_CAP_ARM_MTE 205"))
    ioctl = next(i for i in merged.ioctls if i.name == "KVM_ARM_MTE_COPY_TAGS")
    assert (ioctl.size, ioctl.number) == (48, 0x8030aeb4)   # the union went, the size stayed
    st = next(s for s in merged.structs if s.name == "kvm_arm_copy_mte_tags")
    assert [m.name for m in st.members] == ["guest_ipa", "length", "addr", "flags", "reserved"]


def test_checks_in_the_tree_order_with_tree_lines(merged):
    op = merged.operation("KVM_ARM_MTE_COPY_TAGS")
    ids = [c.id for c in op.checks]
    assert ids[:2] == ["user_read_faults", "not_cap_enabled"]
    first = op.checks[0]
    assert first.errno is Errno.EFAULT
    assert (first.source.seed, first.source.line) == (
        "arch/arm64/kvm/arm.c", _line("arch/arm64/kvm/arm.c", "if (copy_from_user(&copy_tags"))
    assert first.source.patch == LABEL
    second = op.checks[1]
    assert (second.source.seed, second.source.line) == (
        "arch/arm64/kvm/guest.c", _line("arch/arm64/kvm/guest.c", "if (!kvm_has_mte(kvm))"))
    assert {"no_memslot", "num_tags_mismatch"} <= set(ids)
    assert op.success.ret == "copy_tags->length - length | ret"
    assert op.success.doc.startswith("number of bytes copied")
    assert op.success.doc_source.seed == "Documentation/virt/kvm/api.rst"


def test_enable_cap_reads_the_dispatcher_entry_checks_and_the_guard(merged):
    op = merged.operation("KVM_ENABLE_CAP(KVM_CAP_ARM_MTE)")
    by_id = {c.id: c for c in op.checks}
    # `if (cap->flags)` is the tree's own line, not the vocabulary's context
    assert by_id["flags_nonzero"].source.seed == "arch/arm64/kvm/arm.c"
    # `r = -EINVAL; if (ok && !b) { r = 0; }`: one check per disjunct of the negation
    assert by_id["not_host_has_mte"].condition == "!system_supports_mte()"
    assert by_id["vcpus_created"].condition == "kvm->created_vcpus"
    assert op.success.ret_value == 0


def test_reordered_tree_is_read_as_reordered(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURE, tree)
    arm = tree / "arch/arm64/kvm/arm.c"
    # mutation: the posted order (capability first, then the copy)
    arm.write_text(arm.read_text().replace(
        "\t\tstruct kvm_arm_copy_mte_tags copy_tags;\n",
        "\t\tstruct kvm_arm_copy_mte_tags copy_tags;\n\n\t\tif (!kvm_has_mte(kvm))\n"
        "\t\t\treturn -EINVAL;\n"))
    guest = tree / "arch/arm64/kvm/guest.c"
    guest.write_text(guest.read_text().replace("\tif (!kvm_has_mte(kvm))\n\t\treturn -EINVAL;\n", ""))
    spec = extract_tree_spec(tree, POSTED, LABEL)
    ids = [c.id for c in spec.operation("KVM_ARM_MTE_COPY_TAGS").checks]
    assert ids[:2] == ["not_cap_enabled", "user_read_faults"]


def test_an_operation_the_tree_lacks_is_a_finding(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURE, tree)
    arm = tree / "arch/arm64/kvm/arm.c"
    arm.write_text(arm.read_text().replace("case KVM_ARM_MTE_COPY_TAGS:", "case KVM_OTHER:"))
    spec = extract_tree_spec(tree, POSTED, LABEL)
    assert "KVM_ARM_MTE_COPY_TAGS" not in {o.name for o in spec.operations}
    assert any("no `case KVM_ARM_MTE_COPY_TAGS:`" in f.message for f in spec.findings)


def test_not_a_tree_is_one_line_error(tmp_path):
    with pytest.raises(InputError) as e:
        resolve_tree(str(tmp_path))
    assert "include/uapi/linux/kvm.h" in str(e.value)


def test_version_from_the_makefile():
    assert tree_version(FIXTURE) == "6.12.999"
    assert "6.12.999" in resolve_tree(str(FIXTURE)).label


def test_cli_extract_tree_writes_a_spec_that_loads(tmp_path, capsys):
    from generator.cli import main
    out = tmp_path / "merged.yaml"
    assert main(["extract", "--tree", str(FIXTURE), "--like", "mte-v10", "-o", str(out)]) == 0
    spec = load_spec(out)
    op = spec.operation("KVM_ARM_MTE_COPY_TAGS")
    assert op.checks[0].id == "user_read_faults"
    assert op.checks[0].source.seed == "arch/arm64/kvm/arm.c"
    assert main(["extract", "--tree", str(FIXTURE)]) == 2          # no --like: usage
    assert "--like" in capsys.readouterr().err
