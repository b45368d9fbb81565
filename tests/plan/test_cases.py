"""Case planning: every case violates what it says, in the order it says."""
from __future__ import annotations

import pytest

from generator.model.case import ArgPointer, StepKind, StepRole

from generator.plan import plan

from generator.plan.ops import How, Lever, PlanError, derive_violation, load_vocabulary
from generator.model import Check, CheckKind, Errno, Reach
from generator.model.specio import load_spec
from tests.data.spec_fixtures import (fixture_spec_mte_v10,
                                           fixture_spec_mte_v8, with_changes)
from reference.vmstate import Host

import reference.mte_v10 as ref_v10
import reference.mte_v8 as ref_v8

SPECS = {"mte-v10": ("specs/mte-v10.yaml", ref_v10),
         "mte-v8": ("specs/mte-v8.yaml", ref_v8)}


@pytest.fixture(scope="module", params=sorted(SPECS))
def spec_cases(request):
    path, module = SPECS[request.param]
    spec = load_spec(path)
    return spec, plan(spec), module


def test_required_cases_present():
    ids = {c.id for c in plan(load_spec("specs/mte-v10.yaml"))}
    for need in ("copy_tags.not_cap_enabled", "copy_tags.user_read_faults",
                 "copy_tags.reserved_0_nonzero", "copy_tags.reserved_1_nonzero",
                 "copy_tags.flags_invalid_bits", "copy_tags.length_unaligned",
                 "copy_tags.guest_ipa_unaligned", "copy_tags.no_memslot",
                 "copy_tags.num_tags_mismatch",
                 "copy_tags.pair.not_cap_enabled+user_read_faults",
                 "copy_tags.pair.user_read_faults+reserved_0_nonzero",
                 "copy_tags.pair.flags_invalid_bits+no_memslot",
                 "copy_tags.valid.roundtrip_4pages", "copy_tags.valid.length_zero",
                 "copy_tags.valid.never_written",
                 "copy_tags.partial.to_guest_past_slot_end",
                 "enable_cap.vcpus_created", "enable_cap.flags_nonzero",
                 "check_extension.reports_mte", "cap.number"):
        assert need in ids, need


def test_counts_are_stable():
    # 42 from the operations (3 of them KVM_ENABLE_CAP's copy of its argument, alone
    # and against two later checks), 24 from the guest rules (generator.plan.guest)
    assert len(plan(load_spec("specs/mte-v10.yaml"))) == 66
    assert len(plan(load_spec("specs/mte-v8.yaml"))) == 27


def test_v8_orders_noslot_against_buffer_fault():
    ids = {c.id for c in plan(load_spec("specs/mte-v8.yaml"))}
    # ENOENT vs EFAULT: only v8 gives the two loop checks different errnos
    assert "copy_tags.pair.no_memslot+num_tags_mismatch" in ids
    assert "copy_tags.pair.no_memslot+num_tags_mismatch" not in {
        c.id for c in plan(load_spec("specs/mte-v10.yaml"))}


def test_single_violations_hit_their_own_check(spec_cases):
    spec, cases, module = spec_cases
    checks = {c.id for op in spec.operations for c in op.checks}
    singles = [c for c in cases if c.clause in checks and len(c.violates) == 1]
    assert singles
    for case in singles:
        outcome = module.predict(case, 4096, Host.of(mte=True))[-1]
        assert outcome.check == case.clause, case.id


def test_pairs_are_won_by_the_earlier_check(spec_cases):
    spec, cases, module = spec_cases
    pairs = [c for c in cases if len(c.violates) == 2]
    assert pairs
    for case in pairs:
        first, second = case.violates
        for ps in (4096, 16384, 65536):
            assert module.predict(case, ps, Host())[-1].check == first, case.id


def test_pairs_differ_in_errno(spec_cases):
    spec, cases, _ = spec_cases
    errno = {c.id: c.errno for op in spec.operations for c in op.checks}
    for case in cases:
        if len(case.violates) == 2:
            a, b = case.violates
            assert errno[a] is not errno[b], case.id


def test_sizes_are_in_pages_never_byte_pages(spec_cases):
    _, cases, _ = spec_cases
    for case in cases:
        for step in case.steps:
            for v in step.sizes():
                assert abs(v.bytes) < 1024, (case.id, v)


def test_violations_derived_from_conditions():
    spec = load_spec("specs/mte-v10.yaml")
    op = spec.operation("KVM_ARM_MTE_COPY_TAGS")
    vocab = load_vocabulary()
    got = {c.id: derive_violation(spec, op, c, vocab) for c in op.checks}
    assert got["flags_invalid_bits"].how is How.BIT_OUTSIDE_MASK
    assert got["flags_invalid_bits"].value == 2
    assert got["length_unaligned"].how is How.MISALIGN
    assert got["length_unaligned"].value == 16
    assert got["reserved_1_nonzero"].field == "reserved[1]"
    assert got["not_cap_enabled"].lever is Lever.OMIT_CAP_ENABLE
    assert got["user_read_faults"].lever is Lever.BAD_ARG_POINTER
    assert got["no_memslot"].lever is Lever.IPA_OUTSIDE_MEMSLOT
    assert got["num_tags_mismatch"].lever is Lever.BAD_BUFFER_POINTER


def test_mask_follows_the_constant():
    spec = fixture_spec_mte_v10()
    for c in spec.constants:
        if c.name == "KVM_ARM_TAGS_FROM_GUEST":
            c.value = 3            # a wider mask: lowest bit outside it is 4
    op = spec.operation("KVM_ARM_MTE_COPY_TAGS")
    check = next(c for c in op.checks if c.id == "flags_invalid_bits")
    assert derive_violation(spec, op, check, load_vocabulary()).value == 4


def test_host_only_check_gives_no_case_but_a_skip_reason():
    cases = plan(load_spec("specs/mte-v10.yaml"))
    assert not any("not_host_has_mte" in c.id for c in cases)
    gated = [c for c in cases if c.requires_cap]
    assert gated and all("not_host_has_mte" in c.skip_reason for c in gated)
    probes = [c for c in cases if c.id in ("cap.number", "check_extension.reports_mte")]
    assert probes and not any(c.requires_cap for c in probes)


def test_underivable_condition_is_untested_with_its_line_and_the_rest_planned():
    from generator.model.case import Gap
    from generator.plan import plan_all
    spec = fixture_spec_mte_v10()
    before = {c.id for c in plan(spec)}
    op = spec.operation("KVM_ARM_MTE_COPY_TAGS")
    op.checks.append(Check("weird", 10, "frobnicate(x) > 3", Errno.EINVAL,
                           CheckKind.ARGUMENT, [], [], op.source))
    op.checks.append(Check("odd", 11, "some_helper(kvm)", Errno.EINVAL,
                           CheckKind.STATE, [], [], op.source))
    p = plan_all(spec)
    gaps = {u.check: u for u in p.untested}
    assert gaps["weird"].gap is Gap.NO_LEVER and str(gaps["weird"].source) == str(op.source)
    assert gaps["odd"].gap is Gap.UNMAPPED
    assert f"unmapped name some_helper at line {op.source.line}" in gaps["odd"].reason
    assert {c.id for c in p.cases} >= before - {c for c in before if "weird" in c or "odd" in c}


def test_host_only_and_lever_none_checks_are_untested_not_silent():
    from generator.model.case import Gap
    from generator.plan import plan_all
    p = plan_all(load_spec("specs/mte-v10.yaml"))
    gaps = {u.check: u for u in p.untested}
    assert gaps["not_host_has_mte"].gap is Gap.HOST_ONLY


def test_step_shapes():
    cases = {c.id: c for c in plan(load_spec("specs/mte-v10.yaml"))}
    c = cases["copy_tags.not_cap_enabled"]
    assert StepKind.ENABLE_CAP not in [s.kind for s in c.steps]
    c = cases["copy_tags.user_read_faults"]
    assert c.steps[-1].arg is ArgPointer.UNMAPPED
    c = cases["enable_cap.vcpus_created"]
    kinds = [s.kind for s in c.steps]
    assert kinds.index(StepKind.CREATE_VCPU) < kinds.index(StepKind.ENABLE_CAP)
    c = cases["cap.number"]
    assert c.steps[-1].cap_number == 195 and c.steps[-1].role is StepRole.SUBJECT


def test_v8_enables_the_cap_as_setup():
    cases = plan(load_spec("specs/mte-v8.yaml"))
    c = next(c for c in cases if c.id == "copy_tags.no_memslot")
    en = next(s for s in c.steps if s.kind is StepKind.ENABLE_CAP)
    assert en.role is StepRole.SETUP and en.cap == "KVM_CAP_ARM_MTE"


def test_fixture_and_extracted_specs_plan_alike():
    for fx, path in ((fixture_spec_mte_v10(), "specs/mte-v10.yaml"),
                     (fixture_spec_mte_v8(), "specs/mte-v8.yaml")):
        # the fixtures model the operations only; guest cases need spec.guest
        assert {c.id for c in plan(fx)} == {c.id for c in plan(load_spec(path))
                                            if not c.id.startswith("guest.")}


def test_with_changes_copies():
    a = fixture_spec_mte_v10()
    b = with_changes(a, name="other")
    assert a.name == "mte-v10" and b.name == "other"
    assert Reach.HOST_ONLY in {c.reach for op in a.operations for c in op.checks}


def test_a_capability_that_answers_a_value_is_not_read_as_absent_on_0():
    """KVM_CHECK_EXTENSION returning a size or bitmap (not yes/no): the gate
    before a case skips only when the probe fails, never on an answer of 0."""
    import copy
    from generator.render.c import render_c
    spec = copy.deepcopy(load_spec("specs/mte-v10.yaml"))
    probe = next(o for o in spec.operations if o.kind.value == "check_extension")
    gated = [c for c in plan(spec) if c.requires_cap]
    assert gated and not any(c.requires_value for c in gated)      # system_supports_mte(): yes/no
    probe.success.ret, probe.success.ret_value = "kvm->arch.mte_tag_bits", None
    gated = [c for c in plan(spec) if c.requires_cap]
    assert gated and all(c.requires_value for c in gated)
    text = render_c(spec, plan(spec))
    assert ".requires = 2, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE," in text
    probe.success.ret = "kvm->arch.mte_tag_bits != 0"                # a comparison: yes/no
    assert not any(c.requires_value for c in plan(spec))
