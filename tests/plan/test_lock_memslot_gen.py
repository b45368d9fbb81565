"""The lock-memslot RFC v5 (seed 004) through the generators: its first
check always fails (the patch's own helper returns 0), so every
KVM_ENABLE_CAP of the capability is planned to fail there, in each branch
of the handler; the dead checks give no case; KVM_CHECK_EXTENSION reports
0; the capability, absent from <linux/kvm.h>, is bound to the patch's
number.  The MMIO guard and the RFC v1 cover letter have nothing to run."""
from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from generator import paths
from generator.model.case import StepKind
from generator.plan import nothing_to_run, plan
from generator.plan.ops import PlanError, always_failing
from generator.errors import KconformError
from generator.model import Check, CheckKind, Errno, Reach
from generator.render.c import CapBinding, render_c, write_c
from generator.render.reference import RenderError, render_reference
from generator.model.specio import load_spec
from reference.vmstate import Host

import reference.lock_memslot_rfc_v5 as ref_lock

ENABLE = "KVM_ENABLE_CAP(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION)"
FATAL = "not_kvm_arm_lock_memslot_supported"
CROSS = shutil.which("aarch64-linux-gnu-gcc")


@pytest.fixture
def spec():
    return load_spec(paths.spec_path("lock-memslot-rfc-v5"))


def _module(spec):
    import types
    mod = types.ModuleType("reference.generated_lock")
    exec(compile(render_reference(spec), mod.__name__, "exec"), mod.__dict__)
    return mod


def test_every_enable_cap_is_planned_to_fail_at_the_first_check(spec):
    cases = {c.id: c for c in plan(spec)}
    assert sorted(cases) == sorted([
        f"enable_cap.{FATAL}.lock", f"enable_cap.{FATAL}.unlock", f"enable_cap.{FATAL}.other",
        # kvm_vm_ioctl's copy of the argument comes before the RFC's first check
        "enable_cap.cap_copy_faults",
        "check_extension.reports_lock_user_memory_region", "cap.number"])
    call = {k.rsplit(".", 1)[1]: c.steps[-1] for k, c in cases.items()
            if k.startswith("enable_cap.") and "copy" not in k}
    # LOCK with the read permission its own branch requires; UNLOCK; a value neither takes
    assert (call["lock"].flags, call["lock"].args) == (1, (0, 1, 0, 0))
    assert (call["unlock"].flags, call["unlock"].args) == (2, (0, 0, 0, 0))
    assert call["other"].flags not in (1, 2)
    for c in cases.values():
        out = ref_lock.predict(c, 4096, Host())[-1]
        if c.id == "enable_cap.cap_copy_faults":
            assert (out.ret, out.errno) == (-1, Errno.EFAULT), c.id
        elif c.id.startswith("enable_cap."):
            assert (out.ret, out.errno, out.check) == (-1, Errno.EINVAL, FATAL), c.id
            assert "expect EINVAL" in c.description and "returns 0" in c.description
        else:
            assert (out.ret, out.errno) == (0, None), c.id


def test_no_case_for_dead_checks_or_the_dead_success_path(spec):
    ids = " ".join(c.id for c in plan(spec))
    for c in spec.operation(ENABLE).checks[2:]:
        assert c.reach is Reach.UNREACHABLE and c.id not in ids
    assert "enable_cap.valid" not in ids and "twice" not in ids


def test_cases_are_not_gated_on_the_capability_probe(spec):
    """The spec's own KVM_CHECK_EXTENSION returns 0: a kernel that does not
    report the capability is the kernel the patch describes, so the probe's
    0 is no reason to skip (the check_extension case judges that 0)."""
    assert all(not c.requires_cap and not c.skip_reason for c in plan(spec))


def test_the_same_enable_cap_is_gated_when_the_spec_reports_the_capability(spec):
    probe = spec.operation("KVM_CHECK_EXTENSION(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION)")
    probe.success.ret_value = 1
    cases = [c for c in plan(spec) if c.id.startswith("enable_cap.")]
    # the generic copy of struct kvm_enable_cap fails before any capability's
    # handler: that case runs whether or not the capability is reported
    copy = [c for c in cases if c.violates == ["cap_copy_faults"]]
    gated = [c for c in cases if c not in copy]
    assert copy and not copy[0].requires_cap and not copy[0].skip_reason
    assert gated and all(c.requires_cap == "KVM_CAP_ARM_LOCK_USER_MEMORY_REGION" for c in gated)


def test_reference_evaluates_the_patch_helper_it_does_not_special_case_it(spec):
    text = render_reference(spec)
    assert "def kvm_arm_lock_memslot_supported() -> int:\n" in text
    assert "if (not kvm_arm_lock_memslot_supported()):" in text
    assert "return vm.ok(int(kvm_arm_lock_memslot_supported()))" in text
    # the dead checks are comments with their errno, branch and line, never code
    assert "# 10. lock_mem_write_set_and_mem_readonly_set_or_memslot_dirty_logging" in text
    assert "-> EPERM (004_baa2838cf23bbaa8.txt:332)" in text
    assert "#    in the branch `action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK`" in text
    assert "Errno.EPERM" not in text and "Errno.EBUSY" not in text
    # the helper's value, changed in the spec, changes what the model predicts
    for op in spec.operations:
        for c in op.checks:
            for p in c.predicates:
                p.value = 1 if p.value is not None else None
    case = next(c for c in plan(load_spec(paths.spec_path("lock-memslot-rfc-v5")))
                if c.id == f"enable_cap.{FATAL}.unlock")
    out = _module(spec).predict(case, 4096, Host())[-1]
    # past check 1, the RFC's own code still ends in `ret = -EINVAL` (success = -22)
    assert (out.errno, out.check) == (Errno.EINVAL, "success")


def test_a_reachable_check_inside_a_branch_is_violated_inside_it(spec):
    """`when`: the case enters the branch (flags = LOCK, with the read bit
    the branch requires) and then violates the check; the model tests the
    branch condition too."""
    op = spec.operation(ENABLE)
    op.checks[1].value, op.checks[1].reach = False, Reach.UNREACHABLE
    lock = "action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK"
    op.checks.append(Check("args_2_in_lock", 20, "cap->args[2]", Errno.E2BIG,
                           CheckKind.ARGUMENT, ["args[2]"], [], op.checks[5].source,
                           when=lock))
    case = next(c for c in plan(spec) if c.id == "enable_cap.args_2_in_lock")
    step = case.steps[-1]
    assert (step.flags, step.args) == (1, (0, 1, 1, 0))
    text = render_reference(spec)
    assert f"if (action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK) and arg.args[2]:" in text
    mod = _module(spec)
    assert mod.predict(case, 4096, Host())[-1].errno is Errno.E2BIG
    unlock = copy.deepcopy(case)
    unlock.steps[-1] = type(step)(**{**step.__dict__, "flags": 2})
    assert mod.predict(unlock, 4096, Host())[-1].check == "success"


def test_a_branch_the_planner_cannot_read_names_the_line(spec):
    op = spec.operation(ENABLE)
    op.checks[1].value, op.checks[1].reach = False, Reach.UNREACHABLE
    op.checks.append(Check("odd", 20, "cap->args[2]", Errno.EINVAL, CheckKind.ARGUMENT,
                           ["args[2]"], [], op.checks[5].source, when="action > 3"))
    for c in op.checks[:-1]:
        c.reach = Reach.UNREACHABLE
    from generator.plan import plan_all
    p = plan_all(spec)
    [u] = [u for u in p.untested if u.check == "odd"]
    assert str(u.source) == "004_baa2838cf23bbaa8.txt:314" and "cannot derive the branch" in u.reason
    assert not any("odd" in c.id for c in p.cases)
    assert issubclass(PlanError, KconformError) and issubclass(RenderError, KconformError)


def test_c_binds_by_name_and_falls_back_on_the_patch_number(spec, tmp_path):
    text = render_c(spec, plan(spec), CapBinding.HEADER)
    assert "#ifdef KVM_CAP_ARM_LOCK_USER_MEMORY_REGION\n" in text
    assert "#define KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION\t207\n" in text
    assert '"patch(not-in-header)"' in text
    assert re.findall(r'\.id = "([^"]+)"', text) == [c.id for c in plan(spec)]
    assert ".flags = 0x1, .args = { 0x0, 0x1, 0x0, 0x0 }" in text
    if CROSS is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    src = write_c(spec, plan(spec), tmp_path, CapBinding.HEADER)
    subprocess.run([CROSS, "-static", "-O2", "-Wall", "-Werror", f"-I{tmp_path}", "-o",
                    str(tmp_path / "t"), str(src)], check=True)
    # the toolchain's <linux/kvm.h> has no such name: the fallback is what is compiled
    out = subprocess.run([CROSS, "-E", "-dM", f"-I{tmp_path}", str(src)],
                         capture_output=True, text=True, check=True).stdout
    assert "#define KVM_CAP_ARM_LOCK_USER_MEMORY_REGION " not in out


@pytest.mark.parametrize("name,why", [
    ("mmio-guard-v2", "internal functions no ioctl in the supplied material reaches"),
    ("mte-rfc-v1", "the seed is prose only")])
def test_specs_without_an_entry_point_have_nothing_to_run(name, why):
    spec = load_spec(paths.spec_path(name))
    assert plan(spec) == [] and why in nothing_to_run(spec)
    assert not (paths.REFERENCE / f"{name.replace('-', '_')}.py").exists()
    with pytest.raises(RenderError, match="nothing to model"):
        render_reference(spec)


def test_generate_says_nothing_to_run_and_check_passes(capsys, tmp_path):
    from generator.cli import main
    assert main(["generate", "--check"]) == 0
    out = capsys.readouterr().out
    assert "mmio-guard-v2: nothing to run: its 3 operation(s)" in out
    assert "mte-rfc-v1: nothing to run: the seed is prose only" in out
    assert "ok: reference/lock_memslot_rfc_v5.py" in out


def test_stale_module_of_a_spec_with_nothing_to_run_is_drift(capsys, monkeypatch, tmp_path):
    from generator.cli import main
    ref = tmp_path / "reference"
    ref.mkdir()
    stale = ref / "mmio_guard_v2.py"
    stale.write_text("# do not edit, generated from mmio-guard-v2 by kconform (render_ref)\n")
    monkeypatch.setattr(paths, "REFERENCE", ref)
    assert main(["generate", "--check", "--spec", "mmio-guard-v2"]) == 1
    assert "drift: " in capsys.readouterr().out and stale.exists()
    # never removed silently (issue 11): named, exit 2; --force removes it
    assert main(["generate", "--spec", "mmio-guard-v2", "-o", str(tmp_path / "c")]) == 2
    assert "not removed" in capsys.readouterr().out and stale.exists()
    assert main(["generate", "--spec", "mmio-guard-v2", "-o", str(tmp_path / "c"),
                 "--force"]) == 0
    assert not stale.exists()


def test_a_check_that_fails_without_an_errno(spec):
    """`errno: null`: the failing side returns a value, not -errno (a bool
    helper's `return false`); the model returns it, the plan says so, and a
    check with neither is refused naming its line."""
    first = spec.operation(ENABLE).checks[1]
    first.errno, first.result = None, "false"
    cases = [c for c in plan(spec) if c.id.startswith("enable_cap.")
             and c.id != "enable_cap.cap_copy_faults"]
    assert cases and all("expect `return false`" in c.description for c in cases)
    out = _module(spec).predict(cases[0], 4096, Host())[-1]
    assert (out.ret, out.errno, out.check) == (0, None, FATAL)
    assert f'return vm.returns(0, "{FATAL}")' in render_reference(spec)
    first.result = ""          # neither: the model cannot say what the call returns
    text = render_reference(spec)
    assert f'vm.unmodelled("{FATAL}", ' in text and "004_baa2838cf23bbaa8.txt:276" in text
    from reference.runtime import Unmodelled
    with pytest.raises(Unmodelled, match="no errno"):
        _module(spec).predict(cases[0], 4096, Host())
