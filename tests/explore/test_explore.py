"""Exploration against the reference alone (no boot): the domains derived
from the checks, the generators, classification, shrinking and replay
confirmation, saved files and the agent's step rows."""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fakes import FakeKernel, byte_count_on_success, partial_count  # noqa: E402

import reference.mte_v10 as mte_v10  # noqa: E402
from generator.cli import main  # noqa: E402
from generator.errors import InputError  # noqa: E402
from generator.explore import saved  # noqa: E402
from generator.explore.agent import sequence_text, step_row  # noqa: E402
from generator.explore.check import DivergenceClass, ExampleStatus, judge_sequence  # noqa: E402
from generator.explore.choose import Generator  # noqa: E402
from generator.explore.domain import (SLOT_BASES, Domain, ExploreError, valid_sequence)  # noqa: E402
from generator.explore.explore import Budget, Explorer, generate  # noqa: E402
from generator.explore.shrink import shrink  # noqa: E402
from generator.model.case import (AddMemslot, ArgPointer, CreateVcpu, CreateVm, DeleteMemslot,
                                  StepKind, Val, VmIoctl)  # noqa: E402
from generator.run.pipeline import load_named_spec  # noqa: E402
from reference.vmstate import Host  # noqa: E402

COPY = ("vm_ioctl", "KVM_ARM_MTE_COPY_TAGS")
PS = 4096


@pytest.fixture(scope="module")
def spec():
    return load_named_spec("mte-v10")


@pytest.fixture(scope="module")
def domain(spec):
    return Domain.of(spec)


def _copy(domain):
    return next(o for o in domain.ops if o.op.name == "KVM_ARM_MTE_COPY_TAGS")


def _predict_last(domain, steps, ps=PS):
    return mte_v10.predict(domain.case("t", steps), ps, Host())[-1]


# ---------------------------------------------------------------- domains
def test_domains_cover_both_sides_of_every_check(domain):
    od = _copy(domain)
    names = [f.name for f in od.fields]
    assert names == ["guest_ipa", "length", "flags", "reserved[0]", "reserved[1]"]
    assert od.bad_arg and od.has_buffer and od.addr_field == "guest_ipa"
    flags = od.field("flags")
    # both directions valid; every bit outside KVM_ARM_TAGS_FROM_GUEST breaks it
    assert flags.values[:2] == (Val(bytes=1), Val(bytes=0))
    bits = {v.bytes & ~1 for v in flags.values[2:]}
    assert bits == {1 << k for k in range(1, 64)}
    for r in ("reserved[0]", "reserved[1]"):
        assert od.field(r).values[0] == Val() and Val(bytes=1) in od.field(r).values
    length = od.field("length")
    assert Val(bytes=1 << 31) in length.values and Val(pages=0) in length.values
    assert any(v.bytes % PS for v in length.values[length.common:])      # unaligned
    ipa = od.field("guest_ipa")
    assert any(v.bytes for v in ipa.values[ipa.common:])                 # unaligned
    assert Val(pages=SLOT_BASES[2] + 7) in ipa.values


def test_first_values_satisfy_every_check(domain):
    od = _copy(domain)
    steps = [CreateVm(), *domain.prelude(), domain.call(od, {})]
    out = _predict_last(domain, steps)
    assert (out.check, out.ret, out.errno) == ("success", 0, None)


@pytest.mark.parametrize("field,check", [("reserved[0]", "reserved_0_nonzero"),
                                         ("reserved[1]", "reserved_1_nonzero"),
                                         ("flags", "flags_invalid_bits"),
                                         ("length", "length_unaligned"),
                                         ("guest_ipa", "guest_ipa_unaligned")])
def test_odd_values_break_their_check(domain, field, check):
    od = _copy(domain)
    f = od.field(field)
    breaking = [v for v in f.values[f.common:]
                if _predict_last(domain, [CreateVm(), *domain.prelude(),
                                          domain.call(od, {field: v})]).check == check]
    assert breaking, f"no value of {field} breaks {check}"


@pytest.mark.parametrize("ps", [4096, 16384])
def test_alignment_follows_the_page_size(domain, ps):
    od = _copy(domain)
    steps = [CreateVm(), *domain.prelude(), domain.call(od, {"length": Val(pages=1, bytes=16)})]
    assert _predict_last(domain, steps, ps).check == "length_unaligned"


# ---------------------------------------------------------------- generation
@pytest.mark.parametrize("gen", list(Generator))
def test_generation_is_seeded_and_valid(domain, gen):
    a = generate(domain, 25, 5, 6, gen)
    assert a == generate(domain, 25, 5, 6, gen)
    assert a != generate(domain, 25, 6, 6, gen)
    assert len(a) == 25
    assert all(valid_sequence(s) and len(s) <= 6 for s in a)
    kinds = {s.kind for seq in a for s in seq}
    assert {StepKind.VM_IOCTL, StepKind.ENABLE_CAP, StepKind.ADD_MEMSLOT} <= kinds


def test_preconditions():
    assert not valid_sequence([CreateVm(), DeleteMemslot(slot=0)])
    assert not valid_sequence([CreateVm(), AddMemslot(slot=0, pages=1),
                               AddMemslot(slot=0, pages=1)])
    assert valid_sequence([CreateVm(), AddMemslot(slot=0, pages=1), DeleteMemslot(slot=0),
                           AddMemslot(slot=0, pages=2)])
    assert not valid_sequence([CreateVm()] + [CreateVcpu()] * 4)
    assert not valid_sequence([CreateVcpu()])


def test_budget_is_checked():
    with pytest.raises(ExploreError, match="max-steps 9"):
        Budget(max_steps=9)
    with pytest.raises(ExploreError):
        Budget(examples=0)


# ---------------------------------------------------------------- judging
def test_conforming_kernel_gives_no_class(spec):
    k = FakeKernel(mte_v10)
    r = Explorer(spec, mte_v10, k, seed=3, budget=Budget(examples=100)).run()
    assert r.examples == 100 and r.findings == []
    assert r.statuses == {ExampleStatus.CONFORMS: 100}
    assert r.checked_steps == r.steps


def test_finds_and_shrinks_the_success_value(spec, domain):
    k = FakeKernel(mte_v10, {COPY: byte_count_on_success})
    r = Explorer(spec, mte_v10, k, seed=0, budget=Budget(examples=300)).run()
    keys = {f.cls.key for f in r.findings}
    assert keys == {"KVM_ARM_MTE_COPY_TAGS | success | 0 -> count=length"}
    f = r.findings[0]
    assert f.confirmed and str(f.decided_by) == "002_640e98e582cbc741.txt:763"
    kinds = [s.kind for s in f.minimal.steps]
    assert kinds == [StepKind.CREATE_VM, StepKind.ENABLE_CAP, StepKind.ADD_MEMSLOT,
                     StepKind.VM_IOCTL]
    assert f.shrink.steps > 0 and f.shrink.final_steps == 4
    # 1-minimal: no step can go
    for i in range(1, 4):
        shorter = replace(f.minimal, id=f"m{i}", steps=f.minimal.steps[:i] + f.minimal.steps[i + 1:])
        j = judge_sequence(spec, mte_v10, shorter, k.execute([shorter])[shorter.id], PS, Host())
        assert j.cls != f.cls
    assert "KVM_ARM_MTE_COPY_TAGS" in f.reproducer and "int main(void)" in f.reproducer
    assert f.minimal.id in f.reproducer


def test_partial_counts_are_their_own_classes(spec):
    k = FakeKernel(mte_v10, {COPY: lambda fn: byte_count_on_success(partial_count(fn))})
    found = set()
    for seed in range(3):
        r = Explorer(spec, mte_v10, k, seed=seed,
                     budget=Budget(examples=200, generator=Generator.RANDOM)).run()
        found |= {(f.cls.check, f.cls.observed) for f in r.confirmed}
    assert ("no_memslot", "partial count") in found
    assert ("num_tags_mismatch", "partial count") in found


class Flaky(FakeKernel):
    """Diverges only the first time it sees a sequence: replays conform."""

    def execute(self, cases):
        out = {}
        for c in cases:
            self.mutate = {} if c.id.endswith(".replay") else {COPY: byte_count_on_success}
            out.update(super().execute([c]))
        return out


def test_a_class_the_replay_does_not_confirm_is_not_reported(spec):
    r = Explorer(spec, mte_v10, Flaky(mte_v10), seed=0,
                 budget=Budget(examples=200, generator=Generator.RANDOM)).run()
    assert r.findings and r.confirmed == []
    assert all(f.confirmed is False for f in r.unconfirmed)


def test_shrink_keeps_the_class(spec, domain):
    k = FakeKernel(mte_v10, {COPY: byte_count_on_success})
    od = _copy(domain)
    steps = [CreateVm(), CreateVcpu(), AddMemslot(slot=2, guest_ipa=Val(pages=SLOT_BASES[2]),
                                                  pages=8),
             *domain.prelude(), domain.call(od, {"length": Val(pages=3)}, seed=9),
             DeleteMemslot(slot=0)]
    steps = [s for s in steps]
    # the prelude's enable after a vCPU fails: put the vCPU after it
    steps = [steps[0], steps[3], steps[1], steps[2], steps[4], steps[5], steps[6]]
    case = domain.case("long", steps)
    j = judge_sequence(spec, mte_v10, case, k.execute([case])["long"], PS, Host())
    assert j.status is ExampleStatus.DIVERGES

    def classify(cases):
        obs = k.execute(cases)
        return [judge_sequence(spec, mte_v10, c, obs[c.id], PS, Host()).cls for c in cases]
    small, stats = shrink(case, j.cls, j.result.step, domain, classify)
    assert len(small.steps) == 4 and stats.rounds >= 2
    last = small.steps[-1]
    assert isinstance(last, VmIoctl) and last.value("length") == Val(pages=1)
    assert last.buffer.seed == 0 and last.arg is ArgPointer.VALID


# ---------------------------------------------------------------- saved, rows
def test_saved_round_trip(tmp_path, domain):
    seqs = generate(domain, 30, 1, 8, Generator.RANDOM)
    doc = {"findings": [{"spec": "mte-v10", "class": {}, "key": "k",
                         "steps": [saved.encode_step(s) for s in seq]} for seq in seqs]}
    p = tmp_path / "s.json"
    saved.save(p, doc)
    back = saved.load(p)
    assert [f["steps"] for f in back] == seqs


def test_saved_bad_input_names_file_and_line(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"format": "kconform-explore/1",\n "findings": [{"spec": "mte-v10", "class": {},\n'
                 ' "steps": [{"kind": "create_vm", "colour": 1}]}]}\n')
    with pytest.raises(InputError, match=r"bad.json:3: finding 0: create_vm has no field"):
        saved.load(p)
    p.write_text("{nope")
    with pytest.raises(InputError, match="bad.json:1: not JSON"):
        saved.load(p)
    assert main(["explore", "--replay", str(p)]) == 2


def test_cli_rejects_a_bad_budget(capsys):
    assert main(["explore", "--max-steps", "20"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--max-steps 20" in err


def test_step_rows(spec, domain):
    od = _copy(domain)
    step = domain.call(od, {"guest_ipa": Val(pages=257), "length": Val(pages=2),
                            "flags": Val(bytes=0)}, seed=3)
    row = step_row(spec, step, 16384, {"KVM_CAP_ARM_MTE": 205}).split()
    assert row[0] == "S" and row[1] == "6"                # KC_VM_IOCTL
    nv = int(row[18], 16)
    # hexadecimal, trailing zeros left out (the agent reads them as 0)
    assert nv == 5 and row[19:] == [f"{257 * 16384:x}", f"{2 * 16384:x}"]
    assert row[13:18] == ["1", f"{2 * 16384 // 16:x}", f"{2 * 16384 // 16:x}", "1", "3"]
    en = step_row(spec, domain.prelude()[0], 4096, {"KVM_CAP_ARM_MTE": 205}).split()
    assert en[1] == "3" and en[3] == f"{205:x}" and len(en) == 4
    assert step_row(spec, CreateVm(), 4096, {}) == "S 1"
    text = sequence_text(spec, "e1", [CreateVm(), step], 4096, {"KVM_CAP_ARM_MTE": 205})
    assert text.splitlines()[0] == "X e1 2" and len(text.splitlines()) == 3


def test_agent_builds(spec, tmp_path):
    shutil = pytest.importorskip("shutil")
    if shutil.which("aarch64-linux-gnu-gcc") is None:
        pytest.skip("no arm64 cross compiler")
    from generator.explore.agent import build_agent
    binary = build_agent(spec, tmp_path)
    assert binary.exists() and binary.name == "agent_mte_v10"


def test_classes_ignore_the_numbers_of_one_sequence(spec, domain):
    k = FakeKernel(mte_v10, {COPY: byte_count_on_success})
    od = _copy(domain)
    keys = set()
    for pages in (1, 2, 5):
        c = domain.case(f"p{pages}", [CreateVm(), *domain.prelude(),
                                      domain.call(od, {"length": Val(pages=pages)})])
        keys.add(judge_sequence(spec, mte_v10, c, k.execute([c])[c.id], PS, Host()).cls)
    assert len(keys) == 1 and isinstance(next(iter(keys)), DivergenceClass)
    assert json.dumps(next(iter(keys)).key)


def test_a_spec_with_nothing_to_explore_is_one_line(capsys):
    assert main(["explore", "--spec", "mmio-guard-v2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nothing to explore" in err


def test_a_capability_no_operation_enables_is_a_set_up_step():
    """mte-v8 has no KVM_ENABLE_CAP operation: its copy is gated on
    KVM_CAP_ARM_MTE all the same, so a set-up step enables it (before any
    vCPU: the kernel refuses it after one, and the set-up model cannot say)."""
    import reference.mte_v8 as mte_v8
    from generator.model.case import EnableCap, StepRole
    spec = load_named_spec("mte-v8")
    d = Domain.of(spec)
    assert d.setup_caps == ["KVM_CAP_ARM_MTE"]
    assert EnableCap(StepRole.SETUP, cap="KVM_CAP_ARM_MTE") in d.prelude()
    assert not valid_sequence([CreateVm(), CreateVcpu(), EnableCap(StepRole.SETUP, cap="KVM_CAP_ARM_MTE")])
    seqs = generate(d, 60, 2, 8, Generator.RANDOM)
    checks = {o.check for s in seqs for o in mte_v8.predict(d.case("x", s), PS, Host())}
    assert "success" in checks and "no_memslot" in checks


def test_a_time_budget_stops_between_chunks(spec):
    k = FakeKernel(mte_v10)
    r = Explorer(spec, mte_v10, k, seed=1,
                 budget=Budget(seconds=0.2, generator=Generator.RANDOM)).run()
    assert r.examples >= 64 and r.examples % 64 == 0 and r.seconds >= 0.2
    r = Explorer(spec, mte_v10, k, seed=1,
                 budget=Budget(steps=300, generator=Generator.RANDOM)).run()
    assert 300 <= r.steps < 300 + 64 * 8


def test_shrink_simplifies_a_short_buffer(spec, domain):
    k = FakeKernel(mte_v10, {COPY: lambda fn: byte_count_on_success(partial_count(fn))})
    od = _copy(domain)
    odd = Val(pages=2, bytes=8 * 16, div=16)
    steps = [CreateVm(), *domain.prelude(),
             domain.call(od, {"length": Val(pages=4), "flags": Val(bytes=0)}, buffer_valid=odd)]
    case = domain.case("short", steps)
    j = judge_sequence(spec, mte_v10, case, k.execute([case])["short"], PS, Host())
    assert (j.cls.check, j.cls.observed) == ("num_tags_mismatch", "partial count")

    def classify(cases):
        obs = k.execute(cases)
        return [judge_sequence(spec, mte_v10, c, obs[c.id], PS, Host()).cls for c in cases]
    small, _ = shrink(case, j.cls, j.result.step, domain, classify)
    b = small.steps[-1].buffer
    # one mapped page still copies part-way; none would copy nothing (another class)
    assert b.valid == Val(pages=1, div=16) and b.valid != b.length


def test_junit_and_markdown(spec, tmp_path):
    from junitparser import JUnitXml

    from generator.explore.report import markdown, write_junit
    k = FakeKernel(mte_v10, {COPY: byte_count_on_success})
    r = Explorer(spec, mte_v10, k, seed=0, budget=Budget(examples=64)).run()
    write_junit(tmp_path / "j.xml", [r], "fake")
    cases = [c for s in JUnitXml.fromfile(str(tmp_path / "j.xml")) for c in s]
    failed = [c for c in cases if c.result]
    assert len(cases) == 2 and len(failed) == 1 and "count=length" in failed[0].name
    md = markdown([r], "fake")
    assert "| KVM_ARM_MTE_COPY_TAGS | success | 002_640e98e582cbc741.txt:763 |" in md


def test_the_reproducer_compiles_alone(spec, tmp_path):
    import shutil as sh
    if sh.which("aarch64-linux-gnu-gcc") is None:
        pytest.skip("no arm64 cross compiler")
    from generator.render.c import TEMPLATES
    from generator.runner.build import compile_one
    k = FakeKernel(mte_v10, {COPY: byte_count_on_success})
    r = Explorer(spec, mte_v10, k, seed=0, budget=Budget(examples=64)).run()
    src = tmp_path / "repro.c"
    src.write_text(r.findings[0].reproducer)
    built = compile_one(src, tmp_path / "bin", include_dirs=[TEMPLATES])
    assert built.binary.exists()
