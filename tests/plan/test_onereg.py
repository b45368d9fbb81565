"""ONE_REG operations (KVM_GET/SET_ONE_REG of a register a patch defines)
planned, rendered and predicted: fw-bmap v7 (KVM_REG_ARM_STD_BMAP)."""
from __future__ import annotations

import shutil
import subprocess
import types
from pathlib import Path

import pytest

from generator.extract import extract_spec
from generator.model import OpKind, Reach
from generator.model.case import ArgPointer, Gap, GetOneReg, RegList, SetOneReg, StepRole
from generator.plan import plan_all
from generator.plan.onereg import id_variants, holds
from generator.plan.ops import load_vocabulary
from generator.render.c import render_c
from generator.render.reference import render_reference
from reference.runtime import Host, fnv1a64

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
CROSS = shutil.which("aarch64-linux-gnu-gcc")
STD_BMAP = 0x6030000000160000


@pytest.fixture(scope="module")
def spec():
    return extract_spec(CORPUS / "fw-bmap-v7-02.txt", "fw-bmap-v7-02")


@pytest.fixture(scope="module")
def planned(spec):
    return plan_all(spec)


def _case(planned, cid):
    return next(c for c in planned.cases if c.id == cid)


def _subject(case):
    return [s for s in case.steps if s.role is StepRole.SUBJECT]


def test_every_check_is_planned_or_untested_with_a_reason(spec, planned):
    live = {(o.name, c.id) for o in spec.operations if o.kind in (OpKind.GET_ONE_REG,
                                                                  OpKind.SET_ONE_REG)
            for c in o.checks if c.reach is not Reach.UNREACHABLE}
    targeted = {(s.op, v) for c in planned.cases for s in _subject(c)[-1:] for v in c.violates}
    untested = {(u.op, u.check): u for u in planned.untested}
    assert live <= targeted | set(untested)
    assert not any(u.gap is Gap.NO_STEP_KIND for u in planned.untested)
    # the callee's own `reg_id != KVM_REG_ARM_STD_BMAP` is shadowed by the outer switch
    shadowed = untested[("KVM_SET_ONE_REG(KVM_REG_ARM_STD_BMAP)", "id_not_a_case_2")]
    assert "fails id_not_a_case" in shadowed.reason and shadowed.gap is Gap.NOT_TARGETED


def test_id_variants_fail_their_check_alone(planned):
    ids = {cid: _subject(_case(planned, f"set_one_reg.std_bmap.{cid}"))[0].reg_id
           for cid in ("id_not_arm64", "id_size_mismatch", "id_not_a_case", "valid")}
    assert ids["valid"] == STD_BMAP
    assert ids["id_not_arm64"] >> 56 != 0x60                      # not KVM_REG_ARM64
    assert (ids["id_size_mismatch"] >> 52) & 0xf != 3              # not a u64
    assert ids["id_not_a_case"] >> 16 == STD_BMAP >> 16            # same space and size
    assert ids["id_not_a_case"] != STD_BMAP


def test_pointer_levers_pick_the_struct_or_its_addr(planned):
    reg = _subject(_case(planned, "set_one_reg.std_bmap.reg_copy_faults"))[0]
    val = _subject(_case(planned, "set_one_reg.std_bmap.value_copy_faults"))[0]
    assert (reg.arg, reg.addr) == (ArgPointer.UNMAPPED, ArgPointer.VALID)
    assert (val.arg, val.addr) == (ArgPointer.VALID, ArgPointer.UNMAPPED)
    bits = _subject(_case(planned, "set_one_reg.std_bmap.val_invalid_bits"))[0]
    assert bits.value.bytes & ~1                                  # a bit outside the mask


def test_effect_cases(planned):
    then_get = _subject(_case(planned, "set_one_reg.std_bmap.then_get"))
    assert [type(s) for s in then_get] == [SetOneReg, GetOneReg]
    assert then_get[0].reg_id == then_get[1].reg_id == STD_BMAP
    listed = _subject(_case(planned, "get_one_reg.std_bmap.listed"))
    assert isinstance(listed[0], RegList) and listed[0].reg_ids == (STD_BMAP,)


def test_holds_is_none_for_a_predicate(spec):
    op = next(o for o in spec.operations if o.kind is OpKind.SET_ONE_REG)
    vocab = load_vocabulary()
    assert holds(spec, op, vocab, "!kvm_vcpu_initialized(vcpu)", {"id": 0}) is None
    assert holds(spec, op, vocab, "KVM_REG_SIZE(reg->id) != sizeof(val)", {"id": STD_BMAP}) is False
    sizes = [v for w, v in id_variants(spec, vocab, STD_BMAP) if w.startswith("size")]
    assert len(sizes) == 7 and all(
        holds(spec, op, vocab, "KVM_REG_SIZE(reg->id) != sizeof(val)", {"id": v}) for v in sizes)


@pytest.fixture(scope="module")
def model(spec):
    mod = types.ModuleType("fw_bmap_reference")
    exec(compile(render_reference(spec, strict=True), "fw_bmap_reference", "exec"), mod.__dict__)
    return mod


def _outcomes(model, planned, cid):
    return model.predict(_case(planned, cid), 4096, Host())


def test_reference_predicts_the_register_value(model, planned):
    get = _outcomes(model, planned, "get_one_reg.std_bmap.valid")[-1]
    assert (get.ret, get.errno, get.digest) == (0, None, fnv1a64((1).to_bytes(8, "little")))
    set_, get = _outcomes(model, planned, "set_one_reg.std_bmap.then_get")[-2:]
    assert set_.ret == 0 and get.digest == fnv1a64((0).to_bytes(8, "little"))
    assert _outcomes(model, planned, "get_one_reg.std_bmap.listed")[-1].ret == 1
    failed = _outcomes(model, planned, "get_one_reg.std_bmap.id_not_a_case")[-1]
    assert failed.errno.name == "ENOENT" and failed.digest == fnv1a64(bytes([0xA5] * 8))
    assert _outcomes(model, planned, "set_one_reg.std_bmap.vm_has_run")[-1].errno.name == "EBUSY"
    assert _outcomes(model, planned,
                     "set_one_reg.std_bmap.not_vcpu_initialised")[-1].errno.name == "ENOEXEC"


def test_c_steps(spec, planned, tmp_path):
    text = render_c(spec, planned.cases)
    assert f".reg = {STD_BMAP:#x}ULL" in text and ".oreg = { .direct = 1," in text
    assert ".addrp = KC_ARG_UNMAPPED" in text
    if CROSS is None:
        pytest.skip("aarch64-linux-gnu-gcc not installed")
    from generator.render.c import copy_runtime
    from generator.render.guest import write_guest_files
    (tmp_path / "t.c").write_text(text)
    copy_runtime(tmp_path)
    write_guest_files(tmp_path)
    r = subprocess.run([CROSS, "-static", "-O2", "-Wall", "-Werror", "-I", str(tmp_path), "-o",
                        str(tmp_path / "t"), str(tmp_path / "t.c")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_kselftest_export_leaves_a_spec_register_out_saying_why(planned):
    from generator.export.kselftest import Exported, classify
    out = classify(next(c for c in planned.cases if c.id == "set_one_reg.std_bmap.then_get"))
    # the first reason classify finds: the spec's register, or the initialised
    # vCPU that every ONE_REG subject runs on
    assert out.status is Exported.NO
    assert "register id the spec defines" in out.reason or "KVM_ARM_VCPU_INIT" in out.reason


def test_a_get_writes_the_registers_own_size():
    """A 32-bit register's GET writes 4 bytes to reg->addr; the rest of the
    step's u64 keeps its SENTINEL prefill (as kc_one_reg's buffer does)."""
    from generator.model.case import GetOneReg, Val
    from reference.vmstate import VMState, _call_for
    call = _call_for(GetOneReg(StepRole.SUBJECT, op="x", reg_id=0x6020000000160000), 4096)
    VMState(4096, Host()).put_user_value(call, 0x11223344)
    assert bytes(call.buffer.data) == bytes([0x44, 0x33, 0x22, 0x11]) + bytes([0xA5] * 4)


def test_after_a_run_the_value_already_held_is_still_refused_by_the_patch(model, planned):
    case = _case(planned, "set_one_reg.std_bmap.vm_has_run.same_value")
    assert _subject(case)[0].value.bytes == 1                     # the fresh-VM value
    assert _outcomes(model, planned, case.id)[-1].errno.name == "EBUSY"
