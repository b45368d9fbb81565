"""The second target architecture without booting: per-architecture data
(runner.arch, runner.qemu, runner.kernels), the KVM modules /init loads,
and which target each case runs on (run.arches)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from generator.errors import KconformError
from generator.model import Verdict
from generator.model.case import CreateVcpu, Gap, StepKind, StepRole, VcpuStart
from generator.runner.arch import ARM64, X86, combine, for_kernel_dir, kvm_setup, target_arch
from generator.runner.initramfs import GuestTest, Markers, init_script
from generator.runner.kernels import DebianArchive, flavours, newest
from generator.runner.qemu import AARCH64, CONFIGS, X86_64, qemu_command
from generator.run import arches

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


def test_x86_64_boots_q35_with_svm_on_tcg():
    cmd = qemu_command(X86_64, Path("vmlinuz"), Path("initrd.gz"))
    assert cmd[0] == "qemu-system-x86_64"
    assert cmd[cmd.index("-M") + 1] == "q35" and cmd[cmd.index("-cpu") + 1] == "EPYC,+svm"
    assert cmd[cmd.index("-accel") + 1] == "tcg"
    assert cmd[cmd.index("-append") + 1].startswith("console=ttyS0 ")
    assert CONFIGS == {"arm64": AARCH64, "x86_64": X86_64}
    with pytest.raises(dataclasses.FrozenInstanceError):
        X86_64.cpu = "max"


def test_architectures_by_any_of_their_names():
    assert target_arch("x86") is X86 and target_arch("amd64") is X86
    assert target_arch("x86_64") is X86 and target_arch("arm64") is ARM64
    assert for_kernel_dir("x86") is X86 and for_kernel_dir("arm") is ARM64
    assert for_kernel_dir("riscv") is None
    with pytest.raises(KconformError, match="'riscv' is not an architecture.*arm64, x86_64"):
        target_arch("riscv")
    assert X86.cc == "gcc" and X86.debian == "amd64" and not X86.platform_check
    assert ARM64.qemu is AARCH64 and ARM64.platform_check


def test_arch_option_keeps_arm64():
    assert arches.enabled(None) == (ARM64, X86)
    assert arches.enabled(["arm64"]) == (ARM64,)
    with pytest.raises(KconformError, match="arm64 runs every case"):
        arches.enabled(["x86_64"])
    from generator.cli.run import parse_arches
    assert parse_arches(["arm64,x86"]) == ("arm64", "x86_64")
    assert parse_arches(None) is None


def test_amd64_kernels_and_their_private_apt_view(tmp_path):
    names = ["linux-image-6.12.117+deb12-amd64-unsigned", "linux-image-6.12.95+deb12-amd64-unsigned",
             "linux-image-6.12.117+deb12-arm64-unsigned", "linux-image-6.12.117+deb12-rt-amd64-unsigned"]
    f612 = next(f for f in flavours("amd64") if f.alias == "debian-6.12")
    assert newest(names, f612.pattern) == "linux-image-6.12.117+deb12-amd64-unsigned"
    a = DebianArchive(tmp_path, arch="amd64")
    opts = a._apt_opts()
    assert "-oAPT::Architecture=amd64" in opts and a.apt_dir == tmp_path / "apt-amd64"
    assert DebianArchive(tmp_path).apt_dir == tmp_path / "apt"      # arm64's cache as it was


def _module(path: Path, depends: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF fake\0depends=" + depends.encode() + b"\0name=x\0")


def test_kvm_modules_load_dependencies_first_before_any_test(tmp_path):
    mods = tmp_path / "kernel"
    _module(mods / "arch/x86/kvm/kvm-amd.ko", "kvm,ccp")
    _module(mods / "arch/x86/kvm/kvm.ko", "irqbypass")
    _module(mods / "drivers/crypto/ccp/ccp.ko", "")
    _module(mods / "virt/lib/irqbypass.ko", "")
    setup = kvm_setup(X86, tmp_path)
    order = [Path(n).stem for n, _ in setup.files]
    assert order == ["irqbypass", "kvm", "ccp", "kvm_amd"]
    assert all(l.startswith("insmod /lib/modules/kconform/") for l in setup.early)
    assert kvm_setup(ARM64, tmp_path) == type(setup)()        # built into Debian's arm64
    both = combine(setup, type(setup)(lines=("swapon x",)))
    m = Markers("ab12")
    text = init_script([GuestTest("t1", Path("t1"))], m, 30, both.lines, both.early)
    # the modules are in before the first test starts; the swap runs beside it
    assert text.index("kvm_amd.ko") < text.index("run t1 /tests/t1")
    assert text.index("kvm_amd.ko") < text.index("swapon x")


def test_a_missing_module_is_a_note_not_a_crash(tmp_path):
    _module(tmp_path / "kvm-amd.ko", "kvm")
    setup = kvm_setup(X86, tmp_path)
    assert setup.files == () and "kvm" in setup.summary and "not in" in setup.summary


@pytest.fixture(scope="module")
def x86_spec(tmp_path_factory):
    from generator.cli.series import extract_to
    from generator.model.specio import load_spec
    out = tmp_path_factory.mktemp("x86") / "x86.yaml"
    extract_to(CORPUS / "x86-nx-huge-pages-v6-08.txt", "x86-nx-huge-pages-v6-08", out)
    return load_spec(out)


def test_x86_code_runs_on_the_x86_target(x86_spec):
    from generator.plan import plan_all
    cases = plan_all(x86_spec).cases
    routed, gaps = arches.route(x86_spec, cases, arches.enabled(None))
    # arm64's default beside the x86 operation (extract/defaults.py) is arm64 code
    arm = [c for c in cases if ".on_arm64." in c.id]
    assert arm and set(routed) == {"x86_64", "arm64"} and not gaps
    assert routed["arm64"] == arm and len(routed["x86_64"]) == len(cases) - len(arm)
    # the cap.number probe asks the kernel that has the capability
    assert any(c.clause == "cap_number" for c in routed["x86_64"])
    only_arm, gaps = arches.route(x86_spec, cases, arches.enabled(["arm64"]))
    assert set(only_arm) == {"arm64"} and not gaps


def test_an_arm64_only_facility_on_x86_is_untested(x86_spec):
    from generator.plan import plan_all
    case = next(c for c in plan_all(x86_spec).cases if c.violates == ["vcpus_created"])
    feat = dataclasses.replace(case, steps=[
        CreateVcpu(init=True, features=(("KVM_ARM_VCPU_PMU_V3", 3),)) if s.kind is
        StepKind.CREATE_VCPU else s for s in case.steps])
    guest = dataclasses.replace(case, id="with.guest", steps=[VcpuStart()] + case.steps)
    routed, gaps = arches.route(x86_spec, [feat, guest], arches.enabled(None))
    assert routed == {}
    assert [g.gap for g in gaps] == [Gap.TARGET_ARCH, Gap.TARGET_ARCH]
    assert "KVM_ARM_VCPU_PMU_V3" in gaps[0].reason and "arm64 guest" in gaps[1].reason
    assert gaps[0].check == "vcpus_created" and gaps[0].case == case.id


def test_a_target_that_cannot_run_makes_platform_skips(x86_spec, monkeypatch, tmp_path):
    from generator.plan import plan_all
    from generator.run.pipeline import Prepared, SpecPart
    from generator.run.targets import LocalTarget, QemuTarget
    cases = plan_all(x86_spec).cases[:2]
    part = SpecPart(x86_spec, cases, None, prefix="x86:")
    other = Prepared(x86_spec, cases, None, None, tmp_path, tmp_path, parts=[part])
    prep = Prepared(x86_spec, [], None, None, tmp_path, tmp_path)
    prep.others = {"x86_64": other}

    def never(*a, **k):
        raise AssertionError("nothing may run")
    monkeypatch.setattr("shutil.which", lambda name: None)
    done = arches.run_elsewhere(prep, QemuTarget("debian-6.12"), None, never, out=tmp_path)
    [entry] = done
    assert entry["facts"]["state"] == "not run"
    assert all(r.verdict is Verdict.SKIPPED and r.target == "x86_64" for r in entry["results"])
    assert [r.id for r in entry["results"]] == [f"x86:{c.id}" for c in cases]
    assert "qemu-system-x86_64 is not installed" in entry["results"][0].reason
    assert entry["results"][0].reason.startswith("platform: x86 code")
    assert "an arm64 machine" in arches.target_of(LocalTarget(), X86)
    other.cannot_run = "no gcc to build its tests"
    [entry] = arches.run_elsewhere(prep, QemuTarget("debian-6.12"), None, never, out=tmp_path)
    assert all("cannot run here: no gcc" in r.reason for r in entry["results"])


MAILS_WITH_HEADER_STRUCTS = ("nisv-v3-02", "x86-nx-huge-pages-v6-08", "pvtime-v7-07",
                             "smccc-filter-v3-09")


@pytest.mark.skipif(__import__("shutil").which("gcc") is None, reason="no host gcc")
@pytest.mark.parametrize("mail", MAILS_WITH_HEADER_STRUCTS)
def test_the_test_binary_builds_for_x86_64(mail, tmp_path):
    """Every case's C compiles with the x86_64 compiler: the arm64 guest,
    KVM_ARM_VCPU_INIT and arm64's own <asm/kvm.h> structs (nisv's
    kvm_vcpu_events.exception.serror_pending) are guarded."""
    import subprocess
    from generator.cli.series import extract_to
    from generator.model.specio import load_spec
    from generator.plan import plan_all
    from generator.render.c import CapBinding, fit_runtime, write_c
    out = tmp_path / f"{mail}.yaml"
    extract_to(CORPUS / f"{mail}.txt", mail, out)
    spec = load_spec(out)
    cases, _ = fit_runtime(spec, plan_all(spec).cases)
    c = write_c(spec, cases, tmp_path / "c", CapBinding.HEADER)
    proc = subprocess.run([X86.cc, "-fsyntax-only", "-Wall", f"-I{c.parent}", str(c)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr[-2000:]


def test_a_boot_that_never_reaches_init_makes_platform_skips(x86_spec, tmp_path, monkeypatch):
    """The x86_64 kernel ran but never reached /init (a fake run_target,
    named as such): its cases are platform skips quoting why, not errors."""
    from types import SimpleNamespace
    from generator.plan import plan_all
    from generator.report.table import RunFacts
    from generator.run.pipeline import Prepared, SpecPart
    from generator.run.targets import QemuTarget
    from generator.runner.run import RunStatus
    cases = plan_all(x86_spec).cases[:3]
    other = Prepared(x86_spec, cases, None, None, tmp_path, tmp_path,
                     parts=[SpecPart(x86_spec, cases, None)])
    prep = Prepared(x86_spec, [], None, None, tmp_path, tmp_path)
    prep.others = {"x86_64": other}
    seen = []

    def fake_run_target(p, target, req, *, out, on_event=None, cancel=None):
        seen.append((p, target.config, target.restore))
        outcome = SimpleNamespace(status=RunStatus.BOOT_FAILED, log_path=None)
        return SimpleNamespace(outcome=outcome, results=[], timings={"total": 3.0},
                               broke="the kernel never reached /init: QEMU exited (status 1)",
                               facts=RunFacts(emulator_name="qemu-system-x86_64"))
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/" + name)
    [entry] = arches.run_elsewhere(prep, QemuTarget("debian-6.12"), None, fake_run_target,
                                   out=tmp_path)
    assert seen == [(other, X86_64, False)]        # the amd64 kernel, booted (no snapshot)
    assert [r.verdict for r in entry["results"]] == [Verdict.SKIPPED] * 3
    assert "never reached /init (the kernel never reached /init: QEMU exited" in \
        entry["results"][0].reason
    assert entry["facts"]["state"] == "boot failed" and entry["facts"]["arch"] == "x86_64"


def test_the_table_names_each_case_s_target():
    import io
    from rich.console import Console
    from generator.model import Source
    from generator.report.table import RunFacts, render_table
    from generator.verdict.crosscheck import CaseResult
    src = Source(seed="m.txt", line=3)
    rows = [CaseResult("a.one", "s", "c", src, None, None, Verdict.CONFORMS, target="arm64"),
            CaseResult("a.two", "s", "c", src, None, None, Verdict.CONFORMS, target="x86_64")]
    facts = RunFacts(kernel_release="6.12.117+deb12-arm64",
                     extra={"targets": {"arm64": {}, "x86_64": {
                         "kernel_release": "6.12.117+deb12-amd64",
                         "emulator": "qemu-system-x86_64 10.0.2"}}})
    buf = io.StringIO()
    render_table("s", rows, facts, console=Console(file=buf, width=200), footer=False)
    text = buf.getvalue()
    title = " ".join(text.split("┏")[0].split())           # rich wraps a long title
    assert title.endswith("; x86_64 cases on 6.12.117+deb12-amd64 (qemu-system-x86_64 10.0.2)")
    assert "target" in text and "x86_64" in text.split("a.two")[1].splitlines()[0]


def test_snapshots_are_keyed_by_architecture():
    from generator.runner.snapshot import SnapshotKey
    kw = dict(kernel="k 1", qemu="QEMU emulator version 10.0.2", initramfs="ab",
              disk_bytes=1, agent="7")
    arm, x86 = SnapshotKey.of(AARCH64, **kw), SnapshotKey.of(X86_64, **kw)
    assert "arch" not in arm.as_dict()               # arm64's saved guests keep their digest
    assert x86.as_dict()["arch"] == "x86_64" and x86.digest != arm.digest
    same_but_arch = dataclasses.replace(arm, arch="x86_64")
    assert same_but_arch.digest != arm.digest
