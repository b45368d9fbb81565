"""btf_probe.c and its Python side.

The probe is built twice: statically with aarch64-linux-gnu-gcc (what the
runner copies into the guest) and natively, to run it here on BTF that gcc
emits with -gbtf for tests/data/abi/layout_cases.h and on this machine's own
/sys/kernel/btf/vmlinux.  tests/data/abi/btf_probe_mte_v10.txt was made by
running the probe on the BTF aarch64-linux-gnu-gcc -gbtf emitted for the v10
struct (its header line renamed to the kernel's path), inside KTAP lines.
"""
from __future__ import annotations

import io
import os
import platform
import shutil
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from generator.abi.abis import get_abi
from generator.abi.btf import (EXIT_ERROR, EXIT_MISSING, EXIT_OK, build_probe,
                               compare_btf, compare_spec_btf, parse_probe_output,
                               probe_command)
from generator.abi.dwarf import probe_source
from generator.abi.errors import BtfError
from generator.abi.headers import aggregate_names
from generator.abi.layout import Layouter, TypeEnv
from generator.abi.unit import parse_unit, preprocess_fragment, preprocess_headers

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "abi")
V10 = """struct kvm_arm_copy_mte_tags {
	__u64 guest_ipa; __u64 length;
	union { void __user *addr; __u64 padding; };
	__u64 flags; __u64 reserved[2];
};"""


def layout_of(text: str, name: str, arch: str = "arm64"):
    unit = parse_unit(preprocess_fragment(text, "spec.h"), "spec.h")
    return Layouter(TypeEnv([unit]), get_abi(arch)).layout(name)


@pytest.fixture(scope="module")
def native_probe(tmp_path_factory):
    if not shutil.which("gcc"):
        pytest.skip("gcc not installed")
    return build_probe(str(tmp_path_factory.mktemp("btf") / "btf_probe"), cc="gcc",
                       static=False)


@pytest.mark.skipif(not shutil.which("aarch64-linux-gnu-gcc"),
                    reason="gcc-aarch64-linux-gnu not installed (scripts/setup.sh)")
def test_probe_cross_compiles_static_for_the_arm64_guest(tmp_path):
    out = build_probe(str(tmp_path / "btf_probe"))
    with open(out, "rb") as f:
        elf = ELFFile(io.BytesIO(f.read()))
    assert elf["e_machine"] == "EM_AARCH64"
    assert not any(seg["p_type"] == "PT_INTERP" for seg in elf.iter_segments())


def test_probe_reads_gcc_btf_and_agrees_with_the_engine(native_probe, tmp_path):
    """Every aggregate of layout_cases.h: engine (x86-64) == BTF via the probe."""
    abi = get_abi("x86_64")
    unit = parse_unit(preprocess_headers(["layout_cases.h"], DATA, abi), DATA)
    env = TypeEnv([unit])
    engine = Layouter(env, abi)
    names = [(ct, node, u) for ct, node, u in aggregate_names(env) if node.name]
    src = tmp_path / "cases.c"
    src.write_text(probe_source(unit.raw, [ct for ct, _, _ in names]))
    obj, btf = tmp_path / "cases.o", tmp_path / "cases.btf"
    subprocess.run(["gcc", "-gbtf", "-c", str(src), "-o", str(obj)], check=True)
    subprocess.run(["objcopy", f"--dump-section=.BTF={btf}", str(obj)], check=True)
    proc = subprocess.run(probe_command(native_probe, [ct for ct, _, _ in names], str(btf)),
                          text=True, capture_output=True)
    assert proc.returncode == EXIT_OK, proc.stdout
    result = parse_probe_output(proc.stdout.splitlines())
    assert len(result.structs) == len(names) > 40
    for ctype, node, u in names:
        lay = engine.layout_node(node, u, node.name)
        assert compare_btf(lay, result.structs[node.name]) == [], ctype


@pytest.mark.skipif(platform.machine() != "x86_64" or
                    not os.path.exists("/sys/kernel/btf/vmlinux"),
                    reason="needs an x86-64 host kernel with BTF")
def test_probe_on_this_kernel_agrees_with_the_engine_on_a_packed_uapi_struct(native_probe):
    # struct epoll_event is __attribute__((packed)) on x86-64 only (EPOLL_PACKED).
    abi = get_abi("x86_64")
    unit = parse_unit(preprocess_headers(["linux/eventpoll.h"], "/usr/include", abi), "eventpoll")
    lay = Layouter(TypeEnv([unit]), abi).layout("struct epoll_event")
    assert lay.size == 12
    proc = subprocess.run([native_probe, "epoll_event"], text=True, capture_output=True)
    result = parse_probe_output(proc.stdout.splitlines())
    assert compare_btf(lay, result.structs["epoll_event"]) == []


def test_probe_reports_unreadable_btf_and_missing_structs(native_probe, tmp_path):
    bogus = tmp_path / "bogus"
    bogus.write_bytes(b"\0" * 64)
    proc = subprocess.run([native_probe, "-f", str(bogus), "x"], text=True, capture_output=True)
    assert proc.returncode == EXIT_ERROR
    assert "is not raw BTF (magic 0, expected 0xeb9f)" in proc.stdout


def test_captured_output_parses_and_matches_the_v10_spec():
    with open(os.path.join(DATA, "btf_probe_mte_v10.txt")) as f:
        result = parse_probe_output(f, "btf_probe_mte_v10.txt")
    assert result.source == "/sys/kernel/btf/vmlinux"
    assert result.missing == ["kvm_arm_missing_thing"]
    st = result.structs["kvm_arm_copy_mte_tags"]
    assert (st.size, [m.path for m in st.members]) == \
        (48, ["guest_ipa", "length", "addr", "padding", "flags", "reserved"])
    v10 = layout_of(V10, "struct kvm_arm_copy_mte_tags")
    assert compare_btf(v10, st) == []
    got = compare_spec_btf({"kvm_arm_copy_mte_tags": v10, "kvm_arm_missing_thing": v10},
                           result)
    assert got["kvm_arm_copy_mte_tags"] == []
    assert [m.what for m in got["kvm_arm_missing_thing"]] == ["struct"]


def test_a_kernel_with_the_v8_struct_is_reported_against_the_v10_spec():
    with open(os.path.join(DATA, "btf_probe_mte_v10.txt")) as f:
        st = parse_probe_output(f).structs["kvm_arm_copy_mte_tags"]
    v8 = layout_of(V10.replace(" __u64 reserved[2];", ""), "struct kvm_arm_copy_mte_tags")
    found = {(m.member, m.what, m.engine, m.truth) for m in compare_btf(v8, st)}
    assert found == {("", "size", 32, 48), ("reserved", "member", "absent", "present")}


def test_garbled_probe_line_names_the_line():
    with pytest.raises(BtfError, match=r"console:2: btf_probe line does not parse"):
        parse_probe_output(["# btf: x types=1", "# btf-member: nosuch a bit_offset=0"],
                           "console")
    assert EXIT_MISSING == 2


@pytest.mark.boot
@pytest.mark.skipif(not (shutil.which("qemu-system-aarch64") and
                         shutil.which("aarch64-linux-gnu-gcc")),
                    reason="needs qemu-system-aarch64 and gcc-aarch64-linux-gnu "
                           "(scripts/setup.sh)")
def test_booted_kernel_btf_against_the_v10_spec(tmp_path):
    """Debian's arm64 kernel carries the merged MTE uAPI, where `addr` lost
    its union with `padding`: the same offsets on arm64, one member fewer."""
    from generator.runner.kernels import DEFAULT_KERNEL, resolve_kernel
    from generator.runner.run import RunStatus, run_tests
    probe = build_probe(str(tmp_path / "btf_probe"),
                        structs=["struct kvm_arm_copy_mte_tags"])
    lines: list[str] = []
    outcome = run_tests([probe], resolve_kernel(DEFAULT_KERNEL), per_test_timeout=60,
                        total_timeout=300, log_path=tmp_path / "console.log",
                        on_line=lines.append)
    assert outcome.status is RunStatus.COMPLETED, outcome.broke
    result = parse_probe_output(lines, "console.log")
    assert not result.errors and not result.skipped, (result.errors, result.skipped)
    kernel = result.structs["kvm_arm_copy_mte_tags"]
    found = {(m.member, m.what) for m in
             compare_btf(layout_of(V10, "struct kvm_arm_copy_mte_tags"), kernel)}
    assert found == {("padding", "member")}
