"""Extraction follows the text: mutate a seed, and the spec -- and, for the
specs the generators take, the generated C and reference -- change with it."""
from pathlib import Path

import pytest

from generator.plan import plan
from generator.extract import extract_spec
from generator.model import Errno, FindingKind, Reach
from generator.render.c import render_c
from generator.render.reference import render_reference

ROOT = Path(__file__).resolve().parents[2]
V10 = "002_640e98e582cbc741.txt"
LOCK = "004_baa2838cf23bbaa8.txt"
ENABLE = "KVM_ENABLE_CAP(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION)"


def _seed(name: str) -> str:
    return (ROOT / "seeds" / name).read_text()


def _write(tmp_path, name: str, text: str) -> Path:
    f = tmp_path / name
    f.write_text(text)
    return f


def _mutated(tmp_path, name: str, *pairs) -> Path:
    text = _seed(name)
    for old, new in pairs:
        assert old in text, f"mutation anchor {old!r} not in {name}"
        text = text.replace(old, new)
    return _write(tmp_path, name, text)


def _generated(spec) -> tuple[str, str]:
    return render_c(spec, plan(spec)), render_reference(spec)


@pytest.fixture(scope="module")
def lock():
    return extract_spec(ROOT / "seeds" / LOCK, "lock-memslot-rfc-v5")


@pytest.fixture(scope="module")
def v10_generated():
    return _generated(extract_spec(ROOT / "seeds" / V10, "mte-v10"))


def _checks(spec, op=ENABLE):
    return spec.operation(op).checks


# ------------------------------------------------------------ 004 lock memslot
def test_lock_errno_change(tmp_path, lock):
    f = _mutated(tmp_path, LOCK, ("ret = -EPERM;", "ret = -EACCES;"))
    before = {c.id: c.errno for c in _checks(lock)}
    after = {c.id: c.errno for c in _checks(extract_spec(f, "m"))}
    key = "lock_mem_write_set_and_mem_readonly_set_or_memslot_dirty_logging"
    assert (before[key], after[key]) == (Errno.EPERM, Errno.EACCES)
    assert {k: v for k, v in before.items() if k != key} == \
        {k: v for k, v in after.items() if k != key}


def test_lock_busy_errno_change(tmp_path):
    f = _mutated(tmp_path, LOCK, ("ret = -EBUSY;", "ret = -EAGAIN;"))
    by = {c.id: c for c in _checks(extract_spec(f, "m"))}
    assert by["not_vcpus_lockable"].errno is Errno.EAGAIN


def test_lock_reorder_two_checks(tmp_path, lock):
    text = _seed(LOCK)
    a = ("> > > +       if (slot >= KVM_MEM_SLOTS_NUM)\n"
         "> > > +               return -EINVAL;\n")
    b = ("> > > +       if (!(flags & KVM_ARM_LOCK_MEM_READ))\n"
         "> > > +               return -EINVAL;\n")
    sep = "> > > +\n"
    assert a + sep + b in text
    f = _write(tmp_path, LOCK, text.replace(a + sep + b, b + sep + a))
    ids = [c.id for c in _checks(extract_spec(f, "m"))]
    old = [c.id for c in _checks(lock)]
    assert old.index("slot_at_least") < old.index("lock_mem_read_clear")
    assert ids.index("lock_mem_read_clear") < ids.index("slot_at_least")


def test_lock_constant_rename(tmp_path):
    text = _seed(LOCK)
    head, sep, tail = text.partition("diff --git a/arch/arm64/include/asm/kvm_mmu.h")
    f = _write(tmp_path, LOCK, head + sep + tail.replace("KVM_ARM_LOCK_MEM_READ",
                                                         "KVM_ARM_LOCK_MEM_RD"))
    spec = extract_spec(f, "m")
    assert "KVM_ARM_LOCK_MEM_RD" in {c.name for c in spec.constants}
    assert "KVM_ARM_LOCK_MEM_READ" not in {c.name for c in spec.constants}
    ids = [c.id for c in _checks(spec)]
    assert "lock_mem_rd_clear" in ids and "lock_mem_read_clear" not in ids


def test_lock_capability_number(tmp_path):
    f = _mutated(tmp_path, LOCK, ("#define KVM_CAP_ARM_LOCK_USER_MEMORY_REGION 207",
                                  "#define KVM_CAP_ARM_LOCK_USER_MEMORY_REGION 210"))
    assert extract_spec(f, "m").capability("KVM_CAP_ARM_LOCK_USER_MEMORY_REGION").number == 210


def test_lock_flag_value(tmp_path):
    f = _mutated(tmp_path, LOCK, ("KVM_ARM_LOCK_MEM_WRITE                       (1 << 1)",
                                  "KVM_ARM_LOCK_MEM_WRITE                       (1 << 2)"))
    assert extract_spec(f, "m").constant("KVM_ARM_LOCK_MEM_WRITE").value == 4


def test_lock_supported_helper_decides_what_is_reachable(tmp_path, lock):
    body = ("> > > +static int kvm_arm_lock_memslot_supported(void)\n"
            "> > > +{\n> > > +       return 0;\n")
    f = _mutated(tmp_path, LOCK, (body, body.replace("return 0;", "return 1;")))
    spec = extract_spec(f, "m")
    checks = _checks(spec)
    # checks[0]: the entry point's copy of struct kvm_enable_cap (kvm_vm_ioctl)
    assert checks[0].id == "cap_copy_faults"
    assert checks[1].value is False and checks[1].reach is Reach.UNREACHABLE
    assert all(c.reach is Reach.REACHABLE for c in checks[2:])
    assert spec.operation("KVM_CHECK_EXTENSION(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION)") \
        .success.ret_value == 1
    assert any("never fails" in x.message for x in spec.findings
               if x.kind is FindingKind.DEAD_CODE)
    assert all(c.reach is Reach.UNREACHABLE for c in _checks(lock)[2:])


def test_lock_restoring_the_flags_check_brings_back_the_context_check(tmp_path):
    f = _mutated(tmp_path, LOCK, ("> > > -       if (cap->flags)\n> > > -               return -EINVAL;\n"
                                  "> > > -\n",
                                  "> > >         if (cap->flags)\n> > >                 return -EINVAL;\n"
                                  "> > > \n"),
                 ("@@ -78,16 +78,43 @@", "@@ -78,16 +78,46 @@"))
    checks = _checks(extract_spec(f, "m"))
    assert checks[1].context and checks[1].id == "flags_nonzero"


# ------------------------------------------------------------ 004: spec, C and reference
CHECK1 = ("> > > +               if (!kvm_arm_lock_memslot_supported())\n"
          "> > > +                       return -EINVAL;")


@pytest.fixture(scope="module")
def lock_generated(lock):
    return _generated(lock)


def _lock_predictions(spec):
    import types

    from reference.vmstate import Host
    mod = types.ModuleType("reference.mutated_lock")
    exec(compile(render_reference(spec), mod.__name__, "exec"), mod.__dict__)
    return {c.id: mod.predict(c, 4096, Host())[-1] for c in plan(spec)}


def test_lock_errno_of_the_failing_check_changes_spec_c_and_reference(tmp_path, lock_generated):
    f = _mutated(tmp_path, LOCK, (CHECK1, CHECK1.replace("-EINVAL", "-ENODEV")))
    spec = extract_spec(f, "lock-memslot-rfc-v5")
    assert _checks(spec)[1].errno is Errno.ENODEV     # [0]: the entry point's copy
    c_text, ref = _generated(spec)
    assert "expect ENODEV" in c_text and "ENODEV" not in lock_generated[0]
    assert "Errno.ENODEV" in ref and "Errno.ENODEV" not in lock_generated[1]
    out = _lock_predictions(spec)
    enable = [o for k, o in out.items() if k.startswith("enable_cap.")
              and "cap_copy_faults" not in k]
    assert len(enable) == 3 and all(o.errno is Errno.ENODEV for o in enable)


def test_lock_capability_number_changes_c_and_reference(tmp_path, lock_generated):
    f = _mutated(tmp_path, LOCK, ("#define KVM_CAP_ARM_LOCK_USER_MEMORY_REGION 207",
                                  "#define KVM_CAP_ARM_LOCK_USER_MEMORY_REGION 210"))
    c_text, ref = _generated(extract_spec(f, "lock-memslot-rfc-v5"))
    assert "#define KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION_PATCH\t210" in c_text
    assert '"KVM_CAP_ARM_LOCK_USER_MEMORY_REGION": 210' in ref
    assert "210" not in lock_generated[1]


def test_lock_helper_returning_1_changes_the_plan_and_reports_untested(tmp_path, lock_generated):
    """With the helper returning 1 the eleven later checks come alive; the
    planner breaks `(action != LOCK) && (action != UNLOCK)` alone (an action
    neither names) but cannot yet derive a call that breaks `slot >=
    KVM_MEM_SLOTS_NUM` (slot is a local computed from args[0]): that check
    is `untested` with the reason and its line, and every other check is
    still planned or untested, none dropped."""
    from generator.model.case import Gap
    from generator.plan import plan_all
    body = ("> > > +static int kvm_arm_lock_memslot_supported(void)\n"
            "> > > +{\n> > > +       return 0;\n")
    f = _mutated(tmp_path, LOCK, (body, body.replace("return 0;", "return 1;")))
    spec = extract_spec(f, "lock-memslot-rfc-v5")
    p = plan_all(spec)
    gaps = {u.check: u for u in p.untested}
    u = gaps["slot_at_least"]
    assert u.gap is Gap.NO_LEVER and str(u.source) == "004_baa2838cf23bbaa8.txt:314"
    assert "cannot derive" in u.reason and "\n" not in u.reason
    planned = {v for c in p.cases for v in c.violates}
    assert {"args_2_nonzero", "args_3_nonzero"} <= planned
    live = [c.id for op in spec.operations for c in op.checks if c.reach.value == "reachable"]
    assert live and all(c in planned or c in gaps for c in live)   # none silently dropped


def test_generate_on_that_spec_lists_the_untested_check(tmp_path, monkeypatch, capsys):
    from generator import paths
    from generator.cli import main
    from generator.model.specio import dump_spec
    body = ("> > > +static int kvm_arm_lock_memslot_supported(void)\n"
            "> > > +{\n> > > +       return 0;\n")
    f = _mutated(tmp_path, LOCK, (body, body.replace("return 0;", "return 1;")))
    path = tmp_path / "lock.yaml"
    path.write_text(dump_spec(extract_spec(f, "lock-memslot-rfc-v5")))
    assert main(["generate", "--spec", str(path), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "untested: 004_baa2838cf23bbaa8.txt:314" in out and "slot_at_least" in out
    assert (tmp_path / "out" / "lock-memslot-rfc-v5" / "lock_memslot_rfc_v5.py").is_file()


def test_lock_helper_value_flows_into_the_reference(tmp_path, lock_generated):
    """The reference does not special-case the helper's name: the spec's
    recorded value is what the generated helper returns."""
    spec = extract_spec(ROOT / "seeds" / LOCK, "lock-memslot-rfc-v5")
    for c in _checks(spec):
        for p in c.predicates:
            if p.value is not None:
                p.value = 7
    ref = render_reference(spec)
    assert "    return 7\n" in ref and ref != lock_generated[1]


# ------------------------------------------------------------ v10: spec, C and reference
def test_v10_errno_changes_spec_c_and_reference(tmp_path, v10_generated):
    f = _mutated(tmp_path, V10, ("+\t\tif (is_error_noslot_pfn(pfn)) {\n+\t\t\tret = -EFAULT;",
                                 "+\t\tif (is_error_noslot_pfn(pfn)) {\n+\t\t\tret = -ENXIO;"))
    spec = extract_spec(f, "mte-v10")
    assert {c.id: c.errno for c in spec.operation("KVM_ARM_MTE_COPY_TAGS").checks}[
        "no_memslot"] is Errno.ENXIO
    c_text, ref = _generated(spec)
    assert "ENXIO" in ref and "ENXIO" not in v10_generated[1]
    assert "ENXIO" in c_text and "ENXIO" not in v10_generated[0]


def test_v10_reorder_changes_spec_c_and_reference(tmp_path, v10_generated):
    text = _seed(V10)
    a = "+\tif (copy_tags->reserved[0] || copy_tags->reserved[1])\n+\t\treturn -EINVAL;\n"
    b = "+\tif (copy_tags->flags & ~KVM_ARM_TAGS_FROM_GUEST)\n+\t\treturn -EINVAL;\n"
    f = _write(tmp_path, V10, text.replace(a + "+\n" + b, b + "+\n" + a))
    spec = extract_spec(f, "mte-v10")
    ids = [c.id for c in spec.operation("KVM_ARM_MTE_COPY_TAGS").checks]
    assert ids.index("flags_invalid_bits") < ids.index("reserved_0_nonzero")
    c_text, ref = _generated(spec)
    assert ref.index('"flags_invalid_bits"') < ref.index('"reserved_0_nonzero"')
    assert v10_generated[1].index('"reserved_0_nonzero"') < v10_generated[1].index(
        '"flags_invalid_bits"')
    assert c_text != v10_generated[0]


def test_v10_capability_number_changes_spec_and_c(tmp_path, v10_generated):
    f = _mutated(tmp_path, V10, ("#define KVM_CAP_ARM_MTE 195", "#define KVM_CAP_ARM_MTE 205"))
    spec = extract_spec(f, "mte-v10")
    assert spec.capability("KVM_CAP_ARM_MTE").number == 205
    c_text, ref = _generated(spec)
    assert "205" in c_text and c_text != v10_generated[0]
    assert ref != v10_generated[1]


def test_v10_field_rename_changes_spec_c_and_reference(tmp_path, v10_generated):
    text = _seed(V10).replace("__u64 guest_ipa;", "__u64 ipa;").replace(
        "copy_tags->guest_ipa", "copy_tags->ipa")
    spec = extract_spec(_write(tmp_path, V10, text), "mte-v10")
    assert spec.struct("kvm_arm_copy_mte_tags").members[0].name == "ipa"
    c_text, ref = _generated(spec)
    assert "__u64 ipa;" in c_text and "__u64 guest_ipa;" not in c_text
    assert "__u64 guest_ipa;" in v10_generated[0]
    assert "ipa_unaligned" in ref and "guest_ipa_unaligned" not in ref
