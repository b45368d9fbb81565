"""Inputs a handler reads besides kvm_device_attr's own fields: the struct
its addr points at (smccc-filter v3 09: `copy_from_user(&filter, uaddr,
...)`), locals derived from them (`end = start + filter.nr_functions - 1`,
u32), a bound a vocabulary constant gives (NR_SMCCC_FILTER_ACTIONS) and a
kernel helper's error on the success path (mtree_insert_range's EEXIST);
planned from the real mail and predicted by the reference generated from
it."""
from __future__ import annotations

import shutil
import types
from pathlib import Path

import pytest

from generator.extract import extract_spec
from generator.model import Errno, Operation, OpKind
from generator.model.case import CreateVm, DeviceAttr, Val
from generator.plan import plan
from generator.plan.ops import attr_value_fields
from generator.plan.values import derived_locals, solve, value_struct
from generator.render.c import write_c
from generator.render.reference import module_name, render_reference
from reference.vmstate import Host, predict

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
CROSS = shutil.which("aarch64-linux-gnu-gcc")


@pytest.fixture(scope="module")
def spec():
    return extract_spec(CORPUS / "smccc-filter-v3-09.txt", "smccc-filter-v3-09")


@pytest.fixture(scope="module")
def cases(spec):
    return {c.id: c for c in plan(spec)}


@pytest.fixture(scope="module")
def mod(spec):
    m = types.ModuleType(f"reference.generated_{module_name(spec)}")
    exec(compile(render_reference(spec), m.__name__, "exec"), m.__dict__)
    return m


def _values(case) -> dict:
    step = case.steps[-1]
    assert isinstance(step, DeviceAttr)
    return {p: v.bytes for p, v in step.fields}


def _last(mod, case):
    return predict(mod.OPERATIONS, mod.CAPABILITIES, case, 4096, Host())[-1]


def test_the_value_pointer_points_at_the_struct_the_handler_copies(spec, cases):
    set_op = next(o for o in spec.operations if o.kind is OpKind.SET_DEVICE_ATTR)
    assert value_struct(spec, set_op) == ("filter", "struct kvm_smccc_filter")
    assert attr_value_fields(spec, set_op) == (["base", "nr_functions", "action"]
                                               + [f"pad[{i}]" for i in range(15)])
    has_op = next(o for o in spec.operations if o.kind is OpKind.HAS_DEVICE_ATTR)
    assert attr_value_fields(spec, has_op) == []
    assert cases["has_attr.smccc.valid"].steps[-1].fields == ()


def test_each_reserved_byte_of_the_struct_gets_its_case(cases, mod):
    for i in range(15):
        c = cases[f"set_attr.smccc.bytes_nonzero.pad_{i}"]
        vals = _values(c)
        assert vals[f"pad[{i}]"] == 1
        assert all(vals[f"pad[{j}]"] == 0 for j in range(15) if j != i)
        out = _last(mod, c)
        assert (out.errno, out.check) == (Errno.EINVAL, "bytes_nonzero")


def test_a_range_below_its_start_closest_and_wrapping(cases, mod):
    """`end = start + nr - 1` (u32) below start: nr 0 past a start of 1,
    and a count that wraps end around 2**32; the valid call has a range
    of one function."""
    valid = _values(cases["set_attr.smccc.valid"])
    assert (valid["base"], valid["nr_functions"]) == (1, 1)
    near = _values(cases["set_attr.smccc.end_below"])
    assert (near["base"], near["nr_functions"]) == (1, 0)
    wraps = _values(cases["set_attr.smccc.end_below.wraps"])
    assert wraps["base"] + wraps["nr_functions"] - 1 >= 1 << 32
    for cid in ("set_attr.smccc.end_below", "set_attr.smccc.end_below.wraps"):
        out = _last(mod, cases[cid])
        assert (out.errno, out.check) == (Errno.EINVAL, "end_below"), cid
    assert _last(mod, cases["set_attr.smccc.valid"]).errno is None


def test_a_bound_from_a_vocabulary_constant_gets_both_sides(cases, mod):
    assert _values(cases["set_attr.smccc.filter_action_at_least"])["action"] == 3
    inside = cases["set_attr.smccc.filter_action_at_least.inside"]
    assert _values(inside)["action"] == 2 and inside.violates == []
    assert _last(mod, cases["set_attr.smccc.filter_action_at_least"]).check == \
        "filter_action_at_least"
    assert (_last(mod, inside).ret, _last(mod, inside).errno) == (0, None)


def test_the_helpers_overlap_error_comes_from_the_valid_call_made_first(cases, mod):
    """`r = mtree_insert_range(...); if (r) goto out;` (the vocabulary's
    helper error EEXIST, lever repeat_valid_call): the valid call made
    first inserts the range, so the same call again is EEXIST, which the
    ioctl reports as -1; the helper's ENOMEM stays the host's."""
    c = cases["set_attr.smccc.range_overlaps"]
    calls = [s for s in c.steps if isinstance(s, DeviceAttr)]
    assert len(calls) == 2 and calls[0].fields == calls[1].fields
    assert calls[0].note == "the valid call first"
    out = predict(mod.OPERATIONS, mod.CAPABILITIES, c, 4096, Host())
    assert [(o.ret, o.errno) for o in out[-2:]] == [(0, None), (-1, Errno.EEXIST)]
    assert out[-1].check == "range_overlaps"
    # one valid call alone inserts and succeeds (the helper is read by each
    # check of its result and by the success value, for the same call)
    assert _last(mod, cases["set_attr.smccc.valid"]).errno is None


def _op(body: str) -> Operation:
    from generator.model import Source
    src = Source("fixture.txt", 1, "v1 1/1", "arch/arm64/kvm/arm.c")
    return Operation("KVM_FIXTURE", OpKind.IOCTL, "h", "vm", [], None, src,
                     aliases={"lo": "first"}, body=body)


def test_derived_locals_keep_their_type_and_skip_calls_and_reassignments():
    op = _op("u8 lo, hi;\nint r;\ns64 d;\nhi = lo + arg.count;\nr = helper(hi);\n"
             "d = lo - 1;\nd = 0;\n")
    assert {n: (d.expr, d.bits, d.signed) for n, d in derived_locals(op).items()} == \
        {"hi": ("lo + arg.count", 8, False)}


def test_solve_finds_a_passing_and_a_failing_assignment_that_wraps(spec):
    op = _op("u8 lo, hi;\nhi = lo + arg.count;\n")
    got = solve(spec, op, ["first", "count"], "hi < lo", lambda n: None)
    passing = dict(got.passing)
    assert (passing["first"] + passing["count"]) & 0xff >= passing["first"]
    # `lo + count` only fails past 0xff: the closest failing values wrap
    # already, so they are the only ones
    assert len(got.failing) == 1
    v = dict(got.failing[0])
    assert (v["first"] + v["count"]) & 0xff < v["first"] and v["first"] + v["count"] > 0xff
    # a condition reading no derived local is not solved here
    assert solve(spec, op, ["first", "count"], "arg.count > 3", lambda n: None) is None


@pytest.mark.skipif(CROSS is None, reason="aarch64-linux-gnu-gcc not installed")
def test_the_struct_value_compiles_and_fills_the_copy(tmp_path, spec, cases):
    from generator.runner.build import cross_compile
    path = write_c(spec, list(cases.values()), tmp_path)
    text = path.read_text()
    assert "kc_fill_kvm_set_device_attr_kvm_arm_vm_smccc_ctrl" in text
    assert "arg->pad[14] = v[17];" in text and ".vstruct = 1" in text
    built = cross_compile([path], tmp_path / "bin")
    assert built.binaries and built.binaries[0].binary.exists()
