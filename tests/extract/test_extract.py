"""Extraction follows the text: facts come from the seed, and a change in
the seed changes the spec."""
from pathlib import Path

import pytest

from generator.cli import main
from generator.errors import InputError
from generator.extract import extract_spec
from generator.model import CheckKind, Errno, IocDir, OpKind, Reach

V10 = "002_640e98e582cbc741.txt"
V8 = "000_87786364e6aad26e.txt"


@pytest.fixture(scope="module")
def v10():
    return extract_spec(Path(__file__).resolve().parents[2] / "seeds" / V10, "mte-v10")


@pytest.fixture(scope="module")
def v8():
    return extract_spec(Path(__file__).resolve().parents[2] / "seeds" / V8, "mte-v8")


def test_struct_layout_and_ioctl_numbers(v10, v8):
    s = v10.struct("kvm_arm_copy_mte_tags")
    assert [m.name for m in s.members] == ["guest_ipa", "length", None, "flags", "reserved"]
    union = s.members[2].nested
    assert union.kind == "union" and [m.name for m in union.members] == ["addr", "padding"]
    assert union.members[0].user_pointer and union.members[0].ctype == "void *"
    io10, io8 = v10.ioctl("KVM_ARM_MTE_COPY_TAGS"), v8.ioctl("KVM_ARM_MTE_COPY_TAGS")
    assert (io10.direction, io10.nr, io10.type_value, io10.size) == (IocDir.READ, 0xB4, 0xAE, 48)
    assert io10.number == 0x8030AEB4 and io8.number == 0x8020AEB4
    assert v10.capability("KVM_CAP_ARM_MTE").number == 195
    assert io10.source.seed == V10 and io10.source.line == 794


def test_copy_tags_checks_in_order(v10):
    op = v10.operation("KVM_ARM_MTE_COPY_TAGS")
    assert [(c.id, c.errno) for c in op.checks] == [
        ("not_cap_enabled", Errno.EINVAL), ("user_read_faults", Errno.EFAULT),
        ("reserved_0_nonzero", Errno.EINVAL), ("reserved_1_nonzero", Errno.EINVAL),
        ("flags_invalid_bits", Errno.EINVAL), ("length_unaligned", Errno.EINVAL),
        ("guest_ipa_unaligned", Errno.EINVAL), ("no_memslot", Errno.EFAULT),
        ("num_tags_mismatch", Errno.EFAULT)]
    by = {c.id: c for c in op.checks}
    assert by["length_unaligned"].reads == ["length"], "local alias followed to the field"
    assert by["length_unaligned"].kind is CheckKind.ALIGNMENT
    assert by["no_memslot"].in_loop and by["no_memslot"].kind is CheckKind.PER_PAGE
    assert op.aliases["tags"] == "addr"
    assert op.success.ret_value == 0 and op.success.doc.startswith("0 on success")
    assert op.buffer.bytes_per_unit == 16 and op.buffer.pointer_field == "addr"
    assert op.locking == ["&kvm->slots_lock"]
    assert by["not_cap_enabled"].source.line == 776


def test_v8_differs_where_the_text_differs(v8):
    op = v8.operation("KVM_ARM_MTE_COPY_TAGS")
    assert "reserved_0_nonzero" not in [c.id for c in op.checks]
    assert {c.id: c.errno for c in op.checks}["no_memslot"] is Errno.ENOENT
    assert op.locking == []
    assert any(f.kind.value == "missing_patch" for f in v8.findings)


def test_enable_cap_and_check_extension(v10):
    en = v10.operation("KVM_ENABLE_CAP(KVM_CAP_ARM_MTE)")
    assert en.kind is OpKind.ENABLE_CAP
    assert [c.id for c in en.checks] == ["cap_copy_faults", "flags_nonzero", "not_host_has_mte",
                                         "vcpus_created"]
    # the generic copy of kvm_vm_ioctl (the vocabulary's entry point), then the arch's flags
    assert en.checks[0].source.patch == "entry point KVM_ENABLE_CAP"
    assert en.checks[0].source.seed == "vocabulary.yaml"
    assert en.checks[0].context and en.checks[1].context and en.checks[2].reach is Reach.HOST_ONLY
    assert en.effects == ["kvm->arch.mte_enabled = true"]
    ce = v10.operation("KVM_CHECK_EXTENSION(KVM_CAP_ARM_MTE)")
    assert ce.success.ret == "system_supports_mte()"


def test_preconditions_and_alignment(v10):
    kinds = {(p.kind.value, p.subject) for p in v10.preconditions}
    assert ("cap_enabled", "KVM_ARM_MTE_COPY_TAGS") in kinds
    assert ("no_vcpus", "KVM_ENABLE_CAP(KVM_CAP_ARM_MTE)") in kinds
    assert {(a.field, a.unit) for a in v10.alignment} == {("length", "PAGE_SIZE"), ("guest_ipa", "PAGE_SIZE")}


# ------------------------------------------------------------ mutations
def _mutate(tmp_path, seed, old, new, count=1):
    text = (Path(__file__).resolve().parents[2] / "seeds" / seed).read_text()
    assert text.count(old) >= count, f"mutation anchor {old!r} not in {seed}"
    f = tmp_path / seed
    f.write_text(text.replace(old, new))
    return f


def test_mutation_errno(tmp_path):
    f = _mutate(tmp_path, V10, "+\t\tif (is_error_noslot_pfn(pfn)) {\n+\t\t\tret = -EFAULT;",
                "+\t\tif (is_error_noslot_pfn(pfn)) {\n+\t\t\tret = -ENXIO;")
    op = extract_spec(f, "m").operation("KVM_ARM_MTE_COPY_TAGS")
    assert {c.id: c.errno for c in op.checks}["no_memslot"] is Errno.ENXIO


def test_mutation_reorder(tmp_path):
    text = (Path(__file__).resolve().parents[2] / "seeds" / V10).read_text()
    a = "+\tif (copy_tags->reserved[0] || copy_tags->reserved[1])\n+\t\treturn -EINVAL;\n"
    b = "+\tif (copy_tags->flags & ~KVM_ARM_TAGS_FROM_GUEST)\n+\t\treturn -EINVAL;\n"
    assert a in text and b in text
    text = text.replace(a + "+\n" + b, b + "+\n" + a)
    f = tmp_path / V10
    f.write_text(text)
    ids = [c.id for c in extract_spec(f, "m").operation("KVM_ARM_MTE_COPY_TAGS").checks]
    assert ids.index("flags_invalid_bits") < ids.index("reserved_0_nonzero")


def test_mutation_capability_number(tmp_path):
    f = _mutate(tmp_path, V10, "#define KVM_CAP_ARM_MTE 195", "#define KVM_CAP_ARM_MTE 205")
    assert extract_spec(f, "m").capability("KVM_CAP_ARM_MTE").number == 205


def test_mutation_field_rename(tmp_path):
    text = (Path(__file__).resolve().parents[2] / "seeds" / V10).read_text()
    f = tmp_path / V10
    f.write_text(text.replace("__u64 guest_ipa;", "__u64 ipa;")
                 .replace("copy_tags->guest_ipa", "copy_tags->ipa"))
    spec = extract_spec(f, "m")
    assert spec.struct("kvm_arm_copy_mte_tags").members[0].name == "ipa"
    by = {c.id: c for c in spec.operation("KVM_ARM_MTE_COPY_TAGS").checks}
    assert "guest_ipa_unaligned" not in by, "check ids follow the field's name"
    assert by["ipa_unaligned"].reads == ["ipa"]


def test_unmapped_predicate_is_reported_not_guessed(tmp_path):
    f = _mutate(tmp_path, V10, "if (!kvm_has_mte(kvm))\n", "if (!kvm_has_frobnicator(kvm))\n")
    spec = extract_spec(f, "m")
    un = [x for x in spec.findings if x.kind.value == "unmapped"]
    assert un and "kvm_has_frobnicator" in un[0].message and un[0].source.line == 776
    c = spec.operation("KVM_ARM_MTE_COPY_TAGS").checks[0]
    assert c.predicates[0].concept is None


def test_not_a_patch(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("Dear diary,\nnothing to see here.\n")
    with pytest.raises(InputError, match="notes.txt:1: contains no patch"):
        extract_spec(f, "x")


def test_cli_extract_check_passes_on_committed_specs(capsys):
    assert main(["extract", "--check"]) == 0
    assert "drift" not in capsys.readouterr().out


def test_cli_extract_check_detects_drift(tmp_path, capsys):
    out = tmp_path / "specs"
    out.mkdir()
    (out / "mte-v8.yaml").write_text("name: stale\n")
    assert main(["extract", "--spec", "v8", "--check", "-o", str(out)]) == 1
    assert "drift" in capsys.readouterr().out


def test_cli_bad_input_is_one_line_not_a_traceback(tmp_path, capsys):
    f = tmp_path / "empty.txt"
    f.write_text("   \n")
    assert main(["extract", str(f), "--name", "x", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kconform: error:") and "empty.txt" in err and "Traceback" not in err
