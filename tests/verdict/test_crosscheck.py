"""Cross-check: observations vs the reference, on synthetic and captured output."""
from __future__ import annotations

import copy
import os
import shutil
import subprocess
import types
from pathlib import Path

import pytest

from generator.plan import plan
from generator.verdict.crosscheck import (KtapLike, ObsStatus, crosscheck, from_ktap,
                                  parse_observations)
from generator.model import Verdict
from generator.render.c import RUNTIME, copy_runtime, render_c
from generator.render.reference import render_reference
from generator.report.table import RunFacts, render_table, summary, to_json
from generator.runner.ktap import parse_ktap
from generator.model.specio import load_spec
from reference.vmstate import Host

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec(ROOT / "specs" / "mte-v10.yaml")
CASES = plan(SPEC)


def fake_kernel_output(spec, cases, page_size=4096, host=Host(),
                       skip=(), drop=(), not_ok=()) -> list[str]:
    """FAKE for tests: the KTAP a kernel following `spec` exactly would print
    through kconform_runtime.h, computed with the reference generated from
    `spec` (which may be a mutated copy, to play a different kernel)."""
    mod = types.ModuleType("fake_reference")
    exec(render_reference(spec), mod.__dict__)
    lines = ["TAP version 13", f"1..{len(cases)}",
             f"# kconform: spec={spec.name} cases={len(cases)}",
             f"# kconform: page_size={page_size}"]
    for n, case in enumerate(cases, 1):
        if case.id in drop:
            continue
        if case.id in skip:
            lines.append(f"ok {n} {case.id} # SKIP {case.skip_reason}")
            continue
        for i, (st, out) in enumerate(zip(case.steps, mod.predict(case, page_size, host))):
            ret = 3 if out.ret is None else out.ret
            lines.append(f"# kconform: case={case.id} step={i} kind={st.kind.value} "
                         f"ret={ret} errno={out.errno.name if out.errno else '-'} "
                         f"digest={out.digest or '-'}")
        lines.append(f"{'not ok' if case.id in not_ok else 'ok'} {n} {case.id}")
    return lines


def _check(lines, spec=SPEC, **kw):
    return {r.id: r for r in crosscheck(spec, CASES, from_ktap(parse_ktap(lines)), **kw)}


def test_a_kernel_that_follows_the_spec_conforms():
    results = _check(fake_kernel_output(SPEC, CASES))
    assert {r.verdict for r in results.values()} == {Verdict.CONFORMS}
    assert results["copy_tags.no_memslot"].decided_by.line == 735


def test_conforms_on_16k_pages_too():
    results = _check(fake_kernel_output(SPEC, CASES, page_size=16384))
    assert {r.verdict for r in results.values()} == {Verdict.CONFORMS}


def test_wrong_page_size_is_caught():
    lines = fake_kernel_output(SPEC, CASES, page_size=16384)
    results = _check(lines, page_size=4096)
    assert results["copy_tags.valid.roundtrip_4pages"].verdict is Verdict.DIVERGES


def _mainline_like():
    """A mutated spec playing mainline: copy_from_user before kvm_has_mte,
    success returns a byte count."""
    spec = copy.deepcopy(SPEC)
    op = spec.operation("KVM_ARM_MTE_COPY_TAGS")
    for c in op.checks:
        c.order = {"not_cap_enabled": 2, "user_read_faults": 1}.get(c.id, c.order)
    op.success.ret_value = 4096
    return spec


def test_order_difference_diverges_naming_the_patch_line():
    results = _check(fake_kernel_output(_mainline_like(), CASES))
    r = results["copy_tags.pair.not_cap_enabled+user_read_faults"]
    assert r.verdict is Verdict.DIVERGES
    assert r.expected.errno == "EINVAL" and r.observed.errno == "EFAULT"
    assert "not_cap_enabled at 002_640e98e582cbc741.txt:776" in r.reason
    assert "user_read_faults (002_640e98e582cbc741.txt:779)" in r.reason
    assert r.decided_by.line == 776
    v = results["copy_tags.valid.length_zero"]
    assert v.verdict is Verdict.DIVERGES and v.observed.ret == 4096
    assert "success at 002_640e98e582cbc741.txt:763" in v.reason
    assert results["copy_tags.reserved_0_nonzero"].verdict is Verdict.CONFORMS


def test_digest_difference_diverges():
    lines = fake_kernel_output(SPEC, CASES)
    i = max(i for i, l in enumerate(lines)
            if "case=copy_tags.valid.roundtrip_4pages step=4" in l)
    lines[i] = lines[i].rsplit("digest=", 1)[0] + "digest=0000000000000000"
    r = _check(lines)["copy_tags.valid.roundtrip_4pages"]
    assert r.verdict is Verdict.DIVERGES and r.step == 4 and "digest" in r.reason
    r = _check(lines, platform_fault="tags do not round-trip")[
        "copy_tags.valid.roundtrip_4pages"]
    assert r.verdict is Verdict.ERROR and "platform fault" in r.reason


def test_skip_missing_harness_and_setup_failures():
    lines = fake_kernel_output(SPEC, CASES, skip={"enable_cap.valid"},
                               drop={"enable_cap.twice"},
                               not_ok={"cap.number"})
    i = next(i for i, l in enumerate(lines)
             if "case=copy_tags.no_memslot step=2 kind=add_memslot" in l)
    lines[i] = lines[i].replace("ret=0 errno=-", "ret=-1 errno=ENOMEM")
    results = _check(lines, broke="kernel panic")
    assert results["enable_cap.valid"].verdict is Verdict.SKIPPED
    assert "not_host_has_mte" in results["enable_cap.valid"].reason
    assert results["enable_cap.twice"].verdict is Verdict.ERROR
    assert "kernel panic" in results["enable_cap.twice"].reason
    assert results["cap.number"].verdict is Verdict.ERROR
    assert "harness" in results["cap.number"].reason
    r = results["copy_tags.no_memslot"]
    assert r.verdict is Verdict.ERROR and "setup step 2" in r.reason


def test_no_page_size_is_an_error():
    lines = [l for l in fake_kernel_output(SPEC, CASES) if "page_size" not in l]
    assert {r.verdict for r in _check(lines).values()} == {Verdict.ERROR}


def test_parse_plain_results():
    obs = parse_observations([KtapLike("a", "skip", "why"),
                              KtapLike("b", "fail", "", ["kconform: case=b harness failed"])])
    assert obs.cases["a"].status is ObsStatus.SKIP
    assert obs.cases["b"].status is ObsStatus.HARNESS


def test_captured_x86_kvm_run():
    """Real output of the generated test on an x86-64 KVM host: the runtime
    ran every step; no MTE ioctl there, so the copy cases diverge."""
    text = (ROOT / "tests" / "data" / "golden" / "captured_x86_kvm_mte_v10.txt").read_text()
    obs = from_ktap(parse_ktap(text.splitlines()))
    assert obs.page_size == 4096
    assert obs.bindings == {"KVM_CAP_ARM_MTE": (195, "patch")}
    results = {r.id: r for r in crosscheck(SPEC, CASES, obs)}
    # captured before the guest cases and the entry point's copy of KVM_ENABLE_CAP's
    # argument existed: the operations' other cases
    assert all(len(obs.cases[c.id].steps) == len(c.steps) for c in CASES
               if not c.id.startswith("guest.") and "cap_copy_faults" not in c.id)
    r = results["copy_tags.not_cap_enabled"]
    assert r.verdict is Verdict.DIVERGES and r.observed.errno == "ENOTTY"
    assert results["cap.number"].verdict is Verdict.DIVERGES


def test_report_json_and_table():
    results = crosscheck(SPEC, CASES, from_ktap(parse_ktap(
        fake_kernel_output(_mainline_like(), CASES))))
    facts = RunFacts("6.12.0-test", 4096, "qemu-system-aarch64", "10.0",
                     "ok", "tags round-trip", "patch")
    doc = to_json("mte-v10", results, facts)
    assert doc["kernel"] == {"release": "6.12.0-test", "page_size": 4096}
    assert doc["emulator"]["name"] == "qemu-system-aarch64"
    assert doc["summary"]["total"] == len(CASES) == len(doc["cases"])
    assert doc["summary"] == summary(results)
    case = next(c for c in doc["cases"] if c["id"] == "copy_tags.valid.length_zero")
    assert case["verdict"] == "diverges" and case["source"]["seed"].startswith("002")
    from rich.console import Console
    con = Console(record=True, width=200)
    render_table("mte-v10", results, facts, console=con)
    out = con.export_text()
    assert "copy_tags.valid.length_zero" in out and "diverge" in out


@pytest.mark.skipif(not (shutil.which("gcc") and os.access("/dev/kvm", os.R_OK | os.W_OK)),
                    reason="needs gcc and a usable /dev/kvm on this host")
def test_native_kvm_smoke(tmp_path):
    """Compile the generated test for this host and run it on its KVM: the
    runtime makes every observation (any architecture: no MTE needed)."""
    (tmp_path / "t.c").write_text(render_c(SPEC, CASES))
    copy_runtime(tmp_path)
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-I", str(tmp_path), "-o",
                    str(tmp_path / "t"), str(tmp_path / "t.c")], check=True)
    run = subprocess.run([str(tmp_path / "t")], capture_output=True, text=True,
                         timeout=120)
    doc = parse_ktap(run.stdout.splitlines())
    assert doc.complete
    obs = from_ktap(doc)
    ran = [c for c in CASES if obs.cases[c.id].status is ObsStatus.OK]
    assert all(len(obs.cases[c.id].steps) == len(c.steps) for c in ran)
    assert run.returncode in (0, 4)


def _captured(name):
    text = (ROOT / "tests" / "data" / "golden" / f"captured_debian612_16k_{name}.txt").read_text()
    return from_ktap(parse_ktap(text.splitlines()))


def test_real_mainline_16k_bound_by_name():
    """Captured from Debian's 6.12 16K-page kernel under QEMU 10 (platform
    check passed), test bound by name: mainline's known differences from
    the v10 patch come out as divergences naming the patch line."""
    obs = _captured("mte_v10_byname")
    assert obs.page_size == 16384
    assert obs.bindings["KVM_CAP_ARM_MTE"] == (205, "header")
    res = {r.id: r for r in crosscheck(SPEC, CASES, obs)}
    pair = res["copy_tags.pair.not_cap_enabled+user_read_faults"]
    assert pair.verdict is Verdict.DIVERGES and pair.observed.errno == "EFAULT"
    assert pair.decided_by.line == 776
    rt = res["copy_tags.valid.roundtrip_4pages"]      # returns bytes, not 0
    assert rt.verdict is Verdict.DIVERGES and rt.observed.ret == 4 * 16384
    assert "success at 002_640e98e582cbc741.txt:763" in rt.reason
    assert "later steps 4 differ" in rt.reason
    read = [s for s in obs.cases[rt.id].steps if s.kind == "vm_ioctl"]
    assert read[0].digest == read[1].digest           # the tags round-trip
    for ok in ("copy_tags.no_memslot", "copy_tags.reserved_1_nonzero",
               "copy_tags.length_unaligned", "enable_cap.vcpus_created"):
        assert res[ok].verdict is Verdict.CONFORMS, res[ok].reason


def test_real_mainline_16k_patch_number():
    """Bound to the patch's number, 195 is KVM_CAP_SET_GUEST_DEBUG2 in
    mainline: the probe and every enable diverge."""
    obs = _captured("mte_v10_patch")
    res = {r.id: r for r in crosscheck(SPEC, CASES, obs)}
    assert res["cap.number"].verdict is Verdict.DIVERGES
    assert res["enable_cap.valid"].verdict is Verdict.DIVERGES
    assert res["copy_tags.not_cap_enabled"].verdict is Verdict.CONFORMS


def test_real_mainline_16k_v8():
    spec = load_spec(ROOT / "specs" / "mte-v8.yaml")
    res = {r.id: r for r in crosscheck(spec, plan(spec), _captured("mte_v8"))}
    r = res["copy_tags.no_memslot"]          # v8's 32-byte struct: other number
    assert r.verdict is Verdict.DIVERGES and r.expected.errno == "ENOENT"
    assert "000_87786364e6aad26e.txt:78" in r.reason


def test_another_architectures_code_is_a_platform_skip_not_a_verdict():
    """The x86 NX-huge-pages capability on an arm64 kernel: whatever the
    kernel answers is not the patch's code, so a case that would diverge
    (or conform by accident) is `skipped` naming the architecture; the
    generic copy of the argument, before any handler, and the
    capability-number probe, about the shared uAPI headers, keep their
    verdicts; on an x86 kernel the same cases are judged.  The cases of
    arm64's default beside the x86 operation (generator/extract/defaults.py)
    are arm64 code: judged on arm64, a platform skip on x86."""
    from generator.extract import extract_spec
    x86 = extract_spec(ROOT / "tests" / "data" / "corpus" / "x86-nx-huge-pages-v6-08.txt", "x86")
    assert {op.arch for op in x86.operations if not op.default_for} == {"x86"}
    assert {op.arch for op in x86.operations if op.default_for} == {"arm64"}
    cases = plan(x86)
    arm64 = {c.id for c in cases if ".on_arm64." in c.id}
    assert arm64
    lines = fake_kernel_output(x86, cases)
    obs = from_ktap(parse_ktap(lines))
    mod = types.ModuleType("x86_reference")
    exec(render_reference(x86), mod.__dict__)
    on_arm = {r.id: r for r in crosscheck(x86, cases, obs, module=mod)}
    for r in on_arm.values():
        # the number probe, the generic copy of struct kvm_enable_cap (run by
        # every architecture's kernel before any handler) and arm64's default
        # beside the x86 operation are the kernel's verdicts
        if r.clause == "cap_number" or r.id in arm64 or r.id == "enable_cap.cap_copy_faults":
            assert r.verdict is Verdict.CONFORMS, r.id
        else:
            assert r.verdict is Verdict.SKIPPED, r.id
            assert "handled by arch/x86 code" in r.reason and "arm64 kernel" in r.reason
    on_x86 = {r.id: r for r in crosscheck(x86, cases, obs, module=mod, arch="x86")}
    assert {r.verdict for k, r in on_x86.items() if k not in arm64} == {Verdict.CONFORMS}
    # arm64's default on x86 is a platform skip, but for its generic copy
    copy = {k for k in arm64 if on_x86[k].clause == "cap_copy_faults"}
    assert copy and {on_x86[k].verdict for k in copy} == {Verdict.CONFORMS}
    assert {r.verdict for k, r in on_x86.items() if k in arm64 - copy} == {Verdict.SKIPPED}


def test_generic_and_own_architecture_code_is_judged():
    assert {op.arch for op in SPEC.operations} <= {"arm64", ""}
    results = _check(fake_kernel_output(SPEC, CASES))
    assert Verdict.SKIPPED not in {r.verdict for r in results.values()}
