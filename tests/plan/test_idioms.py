"""Common kernel idioms in a synthetic series (tests/data/idioms/set-foo.patch,
a new VM ioctl written the way KVM/arm64 handlers are): every check is
extracted with its errno in code order, kernel constants such as SZ_64K are
known (include/linux/sizes.h), and each check the planner has a lever for
gets a case; the rest are `untested` with a reason, never dropped."""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.extract import extract_spec
from generator.model import Errno
from generator.plan import plan_all

FOO = Path(__file__).resolve().parents[1] / "data" / "idioms" / "set-foo.patch"


@pytest.fixture(scope="module")
def foo():
    spec = extract_spec(FOO, "set-foo")
    return spec, plan_all(spec)


def test_checks_in_code_order_with_their_errno(foo):
    spec, _ = foo
    op = spec.operation("KVM_ARM_SET_FOO")
    got = [(c.id, c.errno) for c in op.checks]
    assert got[:5] == [("user_read_faults", Errno.EFAULT), ("flags_invalid_bits", Errno.EINVAL),
                       ("bytes_nonzero", Errno.EINVAL), ("not_is_power_of_2", Errno.EINVAL),
                       ("not_is_aligned", Errno.EINVAL)]
    assert got[-1] == ("vm_has_run", Errno.EBUSY)


def test_kernel_sizes_are_known(foo):
    from generator.extract.stub import unmapped
    from generator.model.vocab import load_vocabulary
    spec, _ = foo
    names = [u.name for u in unmapped(spec, load_vocabulary())]
    assert not [n for n in names if n.startswith("SZ_")]


def test_an_alignment_to_a_kernel_size_gets_a_case(foo):
    _, plan = foo
    case = next(c for c in plan.cases if list(c.violates) == ["not_is_aligned"])
    assert case.id.endswith("not_is_aligned")


def test_every_check_is_planned_or_untested_with_a_reason(foo):
    spec, plan = foo
    op = spec.operation("KVM_ARM_SET_FOO")
    targeted = {v for c in plan.cases for v in c.violates}
    untested = {u.check: u for u in plan.untested}
    for c in op.checks:
        assert c.id in targeted or untested[c.id].detail


def test_macros_the_patch_defines_in_a_c_file_are_constants(foo):
    """`#define FOO_MODE GENMASK(7, 4)` above the handler in arm.c: a
    constant with its value and line, also when only a bit macro's
    argument names it (FIELD_GET(FOO_MODE, ...))."""
    spec, _ = foo
    mode, top = spec.constant("FOO_MODE"), spec.constant("FOO_MODE_MAX")
    assert (mode.value, top.value) == (0xF0, 3)
    assert mode.source.path == "arch/arm64/kvm/arm.c" and mode.source.line == 46


def test_a_bound_on_a_field_get_sets_the_bits_its_mask_selects(foo):
    """`FIELD_GET(FOO_MODE, foo->size) > FOO_MODE_MAX` with FOO_MODE =
    GENMASK(7, 4) and MAX 3: size gets 4 << 4, one past MAX in bits 7..4,
    and the reference predicts the check's ERANGE for it."""
    import types
    from generator.render.reference import render_reference
    from reference.vmstate import Host
    spec, plan = foo
    case = next(c for c in plan.cases
                if list(c.violates) == ["field_get_foo_mode_foo_size_above"])
    call = case.steps[-1]
    assert dict(call.fields)["size"].bytes == 4 << 4
    mod = types.ModuleType("set_foo_reference")
    exec(render_reference(spec), mod.__dict__)
    assert mod.predict(case, 4096, Host())[-1].errno is Errno.ERANGE
