"""Levers on a hand-built FIXTURE spec (a VM ioctl with a reserved array, a
bounded count and a power-of-two size): each element of the reserved array
non-zero in its own case, a value just past the bound and one just inside
it, a size that is not a power of two; the reference module generated from
the spec predicts each case's errno from the check it violates."""
from __future__ import annotations

import types

import pytest

from generator.model import Errno
from generator.model.case import VmIoctl
from generator.plan import plan
from generator.render.reference import module_name, render_reference
from reference.vmstate import Host, predict
from tests.data.spec_fixtures import fixture_spec_levers as fixture_spec

def _module(spec) -> types.ModuleType:
    mod = types.ModuleType(f"reference.generated_{module_name(spec)}")
    exec(compile(render_reference(spec), mod.__name__, "exec"), mod.__dict__)
    return mod


def _call(case) -> VmIoctl:
    return next(s for s in case.steps if isinstance(s, VmIoctl))


@pytest.fixture(scope="module")
def cases():
    return {c.id: c for c in plan(fixture_spec())}


def test_each_reserved_element_gets_its_case(cases):
    ids = sorted(i for i in cases if i.startswith("fixture.pad_nonzero."))
    assert ids == ["fixture.pad_nonzero.pad_0", "fixture.pad_nonzero.pad_1",
                   "fixture.pad_nonzero.pad_2"]
    for k, i in enumerate(ids):
        vals = {p: v.bytes for p, v in _call(cases[i]).fields}
        assert vals[f"pad[{k}]"] == 1
        assert all(vals[f"pad[{j}]"] == 0 for j in range(3) if j != k)


@pytest.mark.parametrize("op, past, inside", [(">", 17, 16), (">=", 16, 15)])
def test_a_bound_gets_a_value_on_each_side(op, past, inside):
    cases = {c.id: c for c in plan(fixture_spec(op))}
    assert {p: v.bytes for p, v in _call(cases["fixture.nr_above"]).fields}["nr"] == past
    inner = cases["fixture.nr_above.inside"]
    assert {p: v.bytes for p, v in _call(inner).fields}["nr"] == inside
    assert inner.violates == []


def test_a_power_of_two_field_is_1_unless_violated(cases):
    assert {p: v.bytes for p, v in _call(cases["fixture.nr_above"]).fields}["size"] == 1
    assert {p: v.bytes for p, v in _call(cases["fixture.not_is_power_of_2"]).fields}["size"] == 3


def test_reference_predicts_each_case():
    spec = fixture_spec()
    mod = _module(spec)
    seen = set()
    for case in plan(spec):
        if not any(isinstance(s, VmIoctl) for s in case.steps):
            continue
        seen.add(case.id)
        out = predict(mod.OPERATIONS, mod.CAPABILITIES, case, 4096, Host())[-1]
        if case.violates:
            assert (out.errno, out.check) == (Errno.EINVAL, case.violates[0]), case.id
        else:
            assert (out.ret, out.errno) == (0, None), case.id
    assert {"fixture.pad_nonzero.pad_1", "fixture.nr_above", "fixture.nr_above.inside",
            "fixture.not_is_power_of_2", "fixture.valid"} <= seen
