"""The "a memslot exists" lever (tests/data/idioms/foo-memslots.patch, two
capabilities written the way KVM/arm64 enable_cap handlers are): a check
`!kvm_are_all_memslots_empty(kvm)` fails once the VM has a memslot, so its
case adds one before the call (add_memslot_first); a check
`kvm_memslots_empty(...)` fails on a fresh VM, so its case is the default
state and the valid call adds a memslot first.  The reference predicts the
check's errno for the violating case and 0 for the valid one."""
from __future__ import annotations

import types
from pathlib import Path

import pytest

from generator.extract import extract_spec
from generator.model import Errno
from generator.model.case import AddMemslot, StepRole
from generator.plan import plan_all
from generator.render.reference import render_reference
from reference.vmstate import Host

PATCH = Path(__file__).resolve().parents[1] / "data" / "idioms" / "foo-memslots.patch"
EARLY = "KVM_ENABLE_CAP(KVM_CAP_ARM_FOO_EARLY)"
LATE = "KVM_ENABLE_CAP(KVM_CAP_ARM_FOO_LATE)"


@pytest.fixture(scope="module")
def foo():
    spec = extract_spec(PATCH, "foo-memslots")
    mod = types.ModuleType("foo_memslots_reference")
    exec(render_reference(spec), mod.__dict__)
    return spec, plan_all(spec), mod


def _line(text: str) -> int:
    return next(i for i, l in enumerate(PATCH.read_text().splitlines(), 1) if l == text)


def _case(plan, op: str, violates: list):
    subject = [c for c in plan.cases if c.steps[-1].op == op and list(c.violates) == violates]
    assert subject, f"no case of {op} violating {violates}"
    return subject[0]


def _memslot_index(case):
    return next((i for i, s in enumerate(case.steps) if isinstance(s, AddMemslot)), None)


def test_the_predicates_are_extracted_with_errno_and_line(foo):
    spec, _, _ = foo
    early = spec.operation(EARLY).checks[-1]
    late = spec.operation(LATE).checks[-1]
    assert (early.condition, early.errno) == ("!kvm_are_all_memslots_empty(kvm)", Errno.EBUSY)
    assert early.source.line == _line("+\t\tif (!kvm_are_all_memslots_empty(kvm))")
    assert [p.concept for p in early.predicates] == ["memslots_empty"]
    assert (late.errno, late.source.line) == (
        Errno.ENOENT, _line("+\t\tif (kvm_memslots_empty(kvm_memslots(kvm)))"))
    assert [p.concept for p in late.predicates][0] == "memslots_empty"


def test_refused_once_a_memslot_exists_the_case_adds_one_first(foo):
    _, plan, mod = foo
    case = _case(plan, EARLY, ["not_memslots_empty"])
    subject = next(i for i, s in enumerate(case.steps) if s.role is StepRole.SUBJECT)
    at = _memslot_index(case)
    assert at is not None and at < subject
    assert mod.predict(case, 4096, Host())[-1].errno is Errno.EBUSY
    valid = _case(plan, EARLY, [])
    assert _memslot_index(valid) is None
    out = mod.predict(valid, 4096, Host())[-1]
    assert (out.ret, out.errno) == (0, None)


def test_refused_without_a_memslot_the_valid_call_adds_one_first(foo):
    _, plan, mod = foo
    case = _case(plan, LATE, ["memslots_empty"])
    assert _memslot_index(case) is None
    assert mod.predict(case, 4096, Host())[-1].errno is Errno.ENOENT
    valid = _case(plan, LATE, [])
    assert _memslot_index(valid) is not None
    out = mod.predict(valid, 4096, Host())[-1]
    assert (out.ret, out.errno) == (0, None)


def test_a_memslot_predicate_in_a_conjunct_is_untested_with_a_reason(foo):
    """`x && !kvm_are_all_memslots_empty(kvm)`: which side needs the memslot
    is the whole condition's; no case is planned from the predicate alone."""
    from dataclasses import replace
    from generator.model.vocab import load_vocabulary
    from generator.plan.ops import PlanError, derive_violation
    spec, _, _ = foo
    op = spec.operation(EARLY)
    check = replace(op.checks[-1], condition="cap->args[0] && !kvm_are_all_memslots_empty(kvm)",
                    reads=("args[0]",))
    with pytest.raises(PlanError, match="cannot derive how to violate"):
        derive_violation(spec, op, check, load_vocabulary())


def test_an_untranslatable_conjunct_stops_the_reference_only_when_reached(foo):
    """`cap->args[0] && !kvm_foo_size_ok(cap->args[0])` with kvm_foo_size_ok
    in no vocabulary: the valid call (args[0] = 0) never reaches it in C, so
    the reference predicts its 0; a call with args[0] set has no prediction."""
    from dataclasses import replace
    from reference.runtime import Unmodelled
    _, plan, mod = foo
    op = "KVM_ENABLE_CAP(KVM_CAP_ARM_FOO_SIZED)"
    valid = _case(plan, op, [])
    out = mod.predict(valid, 4096, Host())[-1]
    assert (out.ret, out.errno) == (0, None)
    sized = replace(valid, steps=valid.steps[:-1] + [
        replace(valid.steps[-1], args=(4096,) + tuple(valid.steps[-1].args[1:]))])
    with pytest.raises(Unmodelled, match="kvm_foo_size_ok"):
        mod.predict(sized, 4096, Host())


def test_a_deleted_memslot_leaves_the_vm_without_one(foo):
    """KVM_SET_USER_MEMORY_REGION with size 0 removes the slot from the VM's
    memslot tree: the check passes again."""
    from dataclasses import replace
    from generator.model.case import DeleteMemslot
    _, plan, mod = foo
    case = _case(plan, EARLY, ["not_memslots_empty"])
    at = _memslot_index(case)
    deleted = replace(case, steps=case.steps[:at + 1] + [DeleteMemslot(slot=case.steps[at].slot)]
                      + case.steps[at + 1:])
    out = mod.predict(deleted, 4096, Host())[-1]
    assert (out.ret, out.errno) == (0, None)


def test_no_memslot_cannot_be_made_for_a_call_whose_buffer_needs_one():
    """KVM_ARM_MTE_COPY_TAGS copies through a memslot: a check failing on a
    VM without one gets no case (its reason says why), not a case that
    silently has the memslot."""
    from dataclasses import replace
    from generator.model.specio import load_spec
    from generator.model.vocab import load_vocabulary
    from generator.plan.ops import PlanError, derive_violation
    spec = load_spec("specs/mte-v10.yaml")
    op = next(o for o in spec.operations if o.buffer is not None)
    check = replace(op.checks[-1], condition="kvm_are_all_memslots_empty(kvm)", reads=(),
                    value=None)
    with pytest.raises(PlanError, match="memslot backing its buffer"):
        derive_violation(spec, op, check, load_vocabulary())
