"""Guest-side conformance: extraction of spec.guest, planning, reference,
C rendering, the guest image, cross-checks on a captured real run, zram
swap set-up, and a real boot of a guest that never answers."""
from __future__ import annotations

import lzma
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.model.case import StepKind

from generator.plan import plan
from generator.verdict.crosscheck import crosscheck, from_ktap
from generator.extract import load_vocabulary, select_patches
from generator.extract.guest import extract_guest_rules, load_guest_vocabulary
from generator.render.guest import MAX_IMAGE, blob_header, build_image
from generator.plan.guest import plan_guest
from generator.ingest import load_series
from generator.model import GuestRuleKind, Verdict
from generator.render.c import mrs_insn, one_reg_id
from generator.render.reference import render_reference
from generator.runner.initramfs import Markers, build_initramfs, init_script
from generator.runner.ktap import parse_ktap
from generator.runner.swap import SWAP_LOG, module_closure, zram_swap
from generator.model.specio import load_spec
from reference.mte_v10 import predict
from reference.vmstate import Host, fnv1a64, pattern_byte

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "002_640e98e582cbc741.txt"
SPEC = load_spec(ROOT / "specs" / "mte-v10.yaml")
CROSS = shutil.which("aarch64-linux-gnu-gcc")


def _rules(text: str | None = None, tmp_path: Path | None = None):
    path = SEED
    if text is not None:
        path = tmp_path / SEED.name
        path.write_text(text)
    s = load_series(path)
    return {r.id: r for r in extract_guest_rules(select_patches(s), s.seed,
                                                 load_vocabulary())}


# ---------------------------------------------------------------- extraction
def test_rules_of_v10_point_at_their_lines():
    rules = _rules()
    lines = SEED.read_text().splitlines()
    assert set(rules) == {"id_aa64pfr1_el1.mte", "mte_visibility", "hcr.ata",
                          "exception.tco", "tags.init"}
    f = rules["id_aa64pfr1_el1.mte"]
    assert (f.kind, f.subject, f.name, f.value) == (
        GuestRuleKind.ID_FIELD, "ID_AA64PFR1_EL1", "ID_AA64PFR1_MTE", "ID_AA64PFR1_MTE")
    assert "kvm_has_mte" in lines[f.source.line - 1]
    assert "FIELD_PREP" in lines[f.value_source.line - 1]
    assert "val &= ~FEATURE(ID_AA64PFR1_MTE)" in lines[f.otherwise_source.line - 1]
    v = rules["mte_visibility"]
    assert v.registers == ["RGSR_EL1", "GCR_EL1", "TFSR_EL1", "TFSRE0_EL1"]
    assert v.source.patch == "v10 4/6" and v.otherwise == "REG_HIDDEN"
    assert all(f"MTE_REG({r})" in lines[s.line - 1]
               for r, s in zip(v.registers, v.register_sources))
    assert v.access == "undef_access"
    assert rules["exception.tco"].name == "PSR_TCO_BIT"
    assert rules["exception.tco"].function == "enter_exception64"
    assert rules["hcr.ata"].name == "HCR_ATA"


def test_spec_file_holds_the_extracted_rules():
    assert [r.id for r in SPEC.guest] == list(_rules())


def test_no_guest_rules_without_the_hunks():
    s = load_series(ROOT / "seeds" / "000_87786364e6aad26e.txt")   # v8: 2 patches
    assert extract_guest_rules(select_patches(s), s.seed, load_vocabulary()) == []
    assert plan_guest(load_spec(ROOT / "specs" / "mte-v8.yaml")) == []


def test_a_mutated_patch_changes_the_rules(tmp_path):
    text = SEED.read_text()
    # the visibility function no longer looks at the capability (3/6 alone)
    mutated = text.replace("+\tif (kvm_has_mte(vcpu->kvm))\n+\t\treturn 0;\n", "", 1)
    assert mutated != text
    v = _rules(mutated, tmp_path)["mte_visibility"]
    assert v.when == "0" and v.value == "REG_HIDDEN"
    # exposing a different field value reaches the reference model
    mutated = text.replace("\t\t\t\t\t  ID_AA64PFR1_MTE);", "\t\t\t\t\t  0x3);", 1)
    assert mutated != text
    assert _rules(mutated, tmp_path)["id_aa64pfr1_el1.mte"].value == "0x3"


# ---------------------------------------------------------------- planning and reference
def _cases():
    return {c.id: c for c in plan(SPEC) if c.id.startswith("guest.")}


def test_every_rule_has_cases_enabled_and_not():
    cases = _cases()
    for r in SPEC.guest:
        mine = [c for c in cases.values() if c.clause == r.id]
        assert mine, r.id
        assert all(c.source.seed == SPEC.seed for c in mine)
    assert cases["guest.id_aa64pfr1_el1.mte.mrs.enabled"].requires_cap == "KVM_CAP_ARM_MTE"
    assert not cases["guest.id_aa64pfr1_el1.mte.mrs.disabled"].requires_cap
    swap = cases["guest.tags.init.swap"]
    assert [s.kind for s in swap.steps].count(StepKind.PAGEOUT) == 1


def test_reference_follows_the_rules():
    cases = _cases()

    def last(cid, host=Host()):
        return predict(cases[cid], 4096, host)[-1]
    assert last("guest.id_aa64pfr1_el1.mte.get_one_reg.enabled").ret == 2
    assert last("guest.id_aa64pfr1_el1.mte.get_one_reg.disabled").ret == 0
    hidden = last("guest.mte_visibility.gcr_el1.one_reg.disabled")
    assert (hidden.ret, hidden.errno.name) == (-1, "ENOENT")
    assert last("guest.mte_visibility.reg_list.enabled").ret == 0b1111
    assert last("guest.exception.tco.enabled").ret == 1
    assert last("guest.exception.tco.disabled").ret == 0
    assert last("guest.hcr.ata.mrs.disabled").ret == 0
    # what the guest's stg sets is what the VMM's copy reads, and the swap
    # case expects the same tags back
    rd = last("guest.tags.init.guest_stg_vmm_reads")
    assert rd.digest == fnv1a64(bytes(pattern_byte(i, 5) for i in range(1024)))
    untouched = last("guest.tags.init.untouched_guest_ldg")
    assert untouched.digest == fnv1a64(bytes(1024))
    # without MTE on the host, the enabled path is not what the model expects
    assert last("guest.id_aa64pfr1_el1.mte.vcpu_after_cap", Host.of(mte=False)).ret == 0


def test_reference_module_is_what_the_spec_renders():
    assert (ROOT / "reference" / "mte_v10.py").read_text() == render_reference(SPEC)


# ---------------------------------------------------------------- C side
def test_encodings():
    assert mrs_insn(3, 0, 0, 0, 0) == 0xD5380000           # mrs x0, midr_el1
    assert mrs_insn(3, 0, 0, 4, 1) == 0xD5380420           # mrs x0, id_aa64pfr1_el1
    assert one_reg_id(3, 0, 0, 4, 1) == 0x603000000013C021


@pytest.mark.skipif(CROSS is None, reason="aarch64-linux-gnu-gcc not installed")
def test_guest_image_is_flat_and_fits(tmp_path):
    img = build_image(tmp_path)
    assert 0 < len(img) <= MAX_IMAGE
    assert build_image(tmp_path) == img                    # cached, same bytes
    assert f"kc_guest_image[{len(img)}]" in blob_header(img)
    nm = subprocess.run(["aarch64-linux-gnu-nm", str(tmp_path / "kconform_guest.elf")],
                        capture_output=True, text=True).stdout
    start = re.search(r"^([0-9a-f]+) T kg_start$", nm, re.M)
    assert start and int(start.group(1), 16) == 0x10000000  # KG_CODE_IPA


# ---------------------------------------------------------------- cross-check
def _captured():
    text = (ROOT / "tests" / "data" / "guest" / "debian612_qemu10_mte_v10.txt").read_text()
    return from_ktap(parse_ktap(text.splitlines()))


def test_captured_debian612_guest_verdicts():
    """Debian 6.12 under QEMU 10 (mte=on): ID_AA64PFR1_EL1.MTE reads 3
    (FEAT_MTE3) where v10 exposes ID_AA64PFR1_MTE = 2; the rest conforms."""
    cases = [c for c in plan(SPEC) if c.id.startswith("guest.")]
    res = {r.id: r for r in crosscheck(SPEC, cases, _captured())}
    field = res["guest.id_aa64pfr1_el1.mte.mrs.enabled"]
    assert field.verdict is Verdict.DIVERGES and field.observed.ret == 3
    assert field.decided_by.line == SPEC.guest_rule("id_aa64pfr1_el1.mte").value_source.line
    assert "FIELD_PREP" in field.reason
    for cid in ("guest.mte_visibility.gcr_el1.one_reg.disabled",
                "guest.mte_visibility.reg_list.enabled", "guest.exception.tco.enabled",
                "guest.exception.tco.disabled", "guest.hcr.ata.mrs.disabled",
                "guest.tags.init.untouched_guest_ldg",
                "guest.id_aa64pfr1_el1.mte.vcpu_before_cap"):
        assert res[cid].verdict is Verdict.CONFORMS, (cid, res[cid].reason)
    # the tag copy returns bytes, not 0; the tags themselves match
    swap = res["guest.tags.init.swap"]
    assert swap.verdict is Verdict.DIVERGES and "matches the model" in swap.reason


def test_a_guest_fault_is_an_error_with_its_syndrome():
    obs = _captured()
    c = obs.cases["guest.exception.tco.enabled"]
    c.status = type(c.status).HARNESS
    c.notes = ["case=guest.exception.tco.enabled harness failed at step 3: guest "
               "fault: ESR_EL1=0x96000010 (EC 0x25) FAR_EL1=0x0 ELR_EL1=0x10000120"]
    case = next(x for x in plan(SPEC) if x.id == c.id)
    r = crosscheck(SPEC, [case], obs)[0]
    assert r.verdict is Verdict.ERROR and "ESR_EL1=0x96000010" in r.reason


# ---------------------------------------------------------------- swap set-up
def _fake_module(tmp_path: Path, name: str, depends: str) -> None:
    """FAKE kernel module for tests: an xz file with a .modinfo string."""
    d = tmp_path / "kernel"
    d.mkdir(exist_ok=True)
    body = b"\x7fELF fake\0depends=" + depends.encode() + b"\0name=" + name.encode() + b"\0"
    (d / f"{name}.ko.xz").write_bytes(lzma.compress(body))


def test_module_closure_orders_dependencies(tmp_path):
    _fake_module(tmp_path, "zram", "lz4_compress,lz4hc_compress")
    _fake_module(tmp_path, "lz4_compress", "")
    _fake_module(tmp_path, "lz4hc_compress", "lz4_compress")
    names = [n for n, _ in module_closure(tmp_path, ["zram"])]
    assert names == ["lz4_compress", "lz4hc_compress", "zram"]
    setup = zram_swap(tmp_path)
    assert [f for f, _ in setup.files][-1] == "lib/modules/kconform/zram.ko"
    assert any("swapon /dev/zram0" in l for l in setup.lines)


def test_swap_that_cannot_be_set_up_says_why(tmp_path):
    _fake_module(tmp_path, "zram", "zsmalloc")
    setup = zram_swap(tmp_path)
    assert setup.files == () and "zsmalloc" in setup.lines[0] and SWAP_LOG in setup.lines[0]
    assert "modules directory" in zram_swap(None).summary


def test_initramfs_carries_modules_and_runs_setup_first(tmp_path):
    script = init_script([], Markers("abcd"), 5, setup=["echo set-up"])
    assert script.index("echo set-up") < script.index("run() {")
    bb = tmp_path / "busybox"
    bb.write_bytes(b"\x7fELF")
    img = build_initramfs([], bb, tmp_path / "i.gz", per_test_timeout=5,
                          extra_files=[("lib/modules/kconform/zram.ko", b"ko")],
                          setup=["echo set-up"])
    import gzip
    data = gzip.decompress(img.path.read_bytes())
    assert b"lib/modules/kconform/zram.ko" in data and b"lib/modules\0" in data


# ---------------------------------------------------------------- real boot
def _kernel():
    from generator.runner.kernels import resolve_kernel
    try:
        return resolve_kernel("debian-6.12")
    except Exception as e:                      # no archive, no cache
        pytest.skip(f"default kernel unavailable: {e}")


@pytest.mark.skipif(CROSS is None or shutil.which("qemu-system-aarch64") is None,
                    reason="needs the cross compiler and qemu-system-aarch64")
def test_boot_stuck_guest_times_out_and_the_next_case_runs(tmp_path):
    from generator.render.guest import write_guest_files
    from generator.render.c import RUNTIME, copy_runtime  # noqa: F401
    from generator.runner.build import compile_one
    from generator.runner.run import run_tests
    write_guest_files(tmp_path)
    copy_runtime(tmp_path)
    src = tmp_path / "stuck_guest.c"
    shutil.copyfile(ROOT / "tests" / "data" / "guest" / "stuck_guest.c", src)
    binary = compile_one(src, tmp_path / "bin", include_dirs=[tmp_path]).binary
    out = run_tests([binary], _kernel(), per_test_timeout=60, total_timeout=240,
                    log_path=tmp_path / "console.log", work_dir=tmp_path / "runner")
    test = next(t for t in out.tests if t.name == "stuck_guest")
    text = "\n".join(test.lines)
    assert re.search(r"case=stuck harness failed at step 2: guest timeout", text), text
    assert "not ok 1 stuck" in text and "ok 2 after" in text


@pytest.mark.skipif(CROSS is None or shutil.which("qemu-system-aarch64") is None,
                    reason="needs the cross compiler and qemu-system-aarch64")
def test_boot_without_mte_skips_the_enabled_guest_cases(tmp_path):
    import dataclasses

    from generator.run.pipeline import RunRequest, run
    from generator.runner.qemu import AARCH64
    _kernel()
    cfg = dataclasses.replace(AARCH64, machine="virt,virtualization=on,mte=off,gic-version=3")
    r = run(RunRequest(qemu_config=cfg, work_dir=tmp_path))
    guest = {x.id: x for x in r.results if x.id.startswith("guest.")}
    assert len(guest) == 24
    for x in guest.values():
        if x.id.endswith(".disabled"):
            assert x.verdict is Verdict.CONFORMS, (x.id, x.reason)
        else:
            assert x.verdict is Verdict.SKIPPED and "not_host_has_mte" in x.reason, x.id
