"""Register ids a patch defines through function-like macros over the
ONE_REG id layout, and kernel-internal masks a check names."""
from __future__ import annotations

from pathlib import Path

from generator.extract import extract_spec
from generator.extract.consts import Macro, evaluate
from generator.extract.uapi import joined_lines, operand_names

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


def test_function_like_macros_and_bit_macros_evaluate():
    macros = {"REG": Macro(("r",), "(BASE | ((r) & 0xffff))")}
    assert evaluate("REG(3)", {"BASE": 0x60}, macros) == 0x63
    assert evaluate("GENMASK(3, 1)", {}) == 0b1110
    assert evaluate("BIT(4) | BIT_ULL(0)", {}) == 0x11
    assert evaluate("REG(1, 2)", {"BASE": 0}, macros) is None      # wrong arity
    assert evaluate("OTHER(1)", {}, macros) is None


def test_continued_defines_are_joined():
    lines = [(1, "#define A(r) (X | \\"), (2, "\t((r) & 0xff))"), (3, "#define B 1")]
    assert joined_lines(lines) == [(1, "#define A(r) (X | ((r) & 0xff))"), (3, "#define B 1")]


def test_operand_names_leave_out_call_arguments():
    assert operand_names("val & ~MASK && test_bit(FLAG, &x)") == {"MASK"}


def test_fw_bmap_register_id_and_mask_are_numbers():
    spec = extract_spec(CORPUS / "fw-bmap-v7-02.txt", "fw-bmap-v7-02")
    assert spec.constant("KVM_REG_ARM_STD_BMAP").value == 0x6030000000160000
    mask = spec.constant("KVM_ARM_SMCCC_STD_FEATURES")
    assert mask.value == 1 and mask.header == "include/kvm/arm_hypercalls.h"
    op = next(o for o in spec.operations if o.name.startswith("KVM_SET_ONE_REG"))
    assert op.aliases["val"] == "value"
    check = next(c for c in op.checks if c.id == "val_invalid_bits")
    assert check.condition == "val & (~KVM_ARM_SMCCC_STD_FEATURES)"


def test_mainline_id_macros_from_the_vocabulary():
    """A patch's `#define KVM_REG_ARM_FOO KVM_REG_ARM_FW_REG(4)` is a number:
    the vocabulary's macros over its ONE_REG id constants."""
    from generator.model.vocab import load_vocabulary
    voc = load_vocabulary()
    known = {n: t.value for n, t in voc.constants.items() if t.value is not None}
    macros = {k: Macro(*v) for k, v in voc.macros.items()}
    assert evaluate("KVM_REG_ARM_FW_REG(3)", known, macros) == \
        known["KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3"]
    # SYS_ID_AA64PFR1_EL1 = S3_0_C0_C4_1: the guest vocabulary's encoding of the same register
    from generator.render.c import one_reg_id
    assert evaluate("ARM64_SYS_REG(3, 0, 0, 4, 1)", known, macros) == one_reg_id(3, 0, 0, 4, 1)


def test_a_bad_macro_entry_names_its_line(tmp_path):
    import pytest
    from generator.errors import KconformError
    from generator.model.vocab import load_vocabulary
    bad = tmp_path / "v.yaml"
    bad.write_text("macros:\n  FOO:\n    params: r\n")
    with pytest.raises(KconformError, match=r"v.yaml:2: macros.FOO needs a 'body'"):
        load_vocabulary(bad)
