"""Spec mode: the seed's MTE structs, ioctls and capability checked on four
ABIs and against the installed arm64 headers (Linux 6.1, where
KVM_CAP_ARM_MTE is 205 and 195 is KVM_CAP_SET_GUEST_DEBUG2)."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from generator.abi.defines import encode_ioctl
from generator.abi.spec import FindingKind, check_spec, static_asserts
from generator.model import (Capability, Constant, IocDir, Ioctl, Member, Source, Spec,
                             StructDef)

SEED = "002_640e98e582cbc741.txt"
ARM64 = "/usr/aarch64-linux-gnu/include"
V10 = """struct kvm_arm_copy_mte_tags {
	__u64 guest_ipa;
	__u64 length;
	union {
		void __user *addr;
		__u64 padding;
	};
	__u64 flags;
	__u64 reserved[2];
};"""
V8 = V10.replace("\t__u64 reserved[2];\n", "")
BARE = V10.replace("\tunion {\n\t\tvoid __user *addr;\n\t\t__u64 padding;\n\t};\n",
                   "\tvoid __user *addr;\n")
HOLEY = "struct kvm_holey {\n\t__u32 a;\n\t__u64 b;\n};"

needs_headers = pytest.mark.skipif(not os.path.isfile(f"{ARM64}/linux/kvm.h"),
                                   reason="libc6-dev-arm64-cross not installed "
                                          "(scripts/setup.sh installs it)")
needs_cc = pytest.mark.skipif(not shutil.which("aarch64-linux-gnu-gcc"),
                              reason="gcc-aarch64-linux-gnu not installed")


def src(line: int) -> Source:
    return Source(SEED, line, "v10 5/6", "arch/arm64/include/uapi/asm/kvm.h")


def make_spec(text: str = V10, *, size: int | None = None, cap: int = 195,
              extra: list[StructDef] = (), name: str = "kvm_arm_copy_mte_tags") -> Spec:
    sd = StructDef(name, "struct", [], src(682), text)
    from generator.abi.spec import _Engines
    real = _Engines(Spec("t", "t", 1, False, SEED, [], structs=[sd]), None)
    real_size = real.engines["arm64"].sizeof(f"struct {name}")
    size = real_size if size is None else size
    number = encode_ioctl(IocDir.READ.bits, size, 0xAE, 0xB4)
    return Spec("mte", "MTE", 10, False, SEED, ["v10 5/6"], structs=[sd, *extra],
                capabilities=[Capability("KVM_CAP_ARM_MTE", cap, src(280))],
                constants=[Constant("KVM_ARM_TAGS_TO_GUEST", 0, "0", src(694)),
                           Constant("KVM_ARM_TAGS_FROM_GUEST", 1, "1", src(695))],
                ioctls=[Ioctl("KVM_ARM_MTE_COPY_TAGS", IocDir.READ, "KVMIO", 0xAE, 0xB4,
                              f"struct {name}", size, number, src(794))])


def messages(report, kind):
    return [f.message for f in report.of(kind)]


# ---------------------------------------------------------------- layouts
def test_v10_is_48_bytes_everywhere_and_the_union_is_named_as_the_fix():
    rep = check_spec(make_spec())
    per = rep.layouts["kvm_arm_copy_mte_tags"]
    assert {a: l.size for a, l in per.items()} == {"arm64": 48, "arm": 48, "x86_64": 48,
                                                   "i386": 48}
    [msg] = messages(rep, FindingKind.POINTER_FIXED)
    assert msg.startswith(
        "pointer `addr` shares a union with `__u64 padding`, so struct "
        "kvm_arm_copy_mte_tags is 48 bytes on every ABI and compat userspace needs no "
        "translation; without the union, arm would see the same 48 bytes but `addr` "
        "would be 4 bytes wide, i386 would see 44 bytes instead of 48 (`flags` at 20 "
        "instead of 24; `reserved` at 28 instead of 32)")
    assert not rep.of(FindingKind.COMPAT_LAYOUT)
    assert not rep.of(FindingKind.HOLE)
    assert not rep.of(FindingKind.POINTER_UNFIXED)
    assert not [f for f in rep.findings if f.kind.name.startswith("IOCTL")]


def test_v8_is_32_bytes():
    rep = check_spec(make_spec(V8))
    assert {l.size for l in rep.layouts["kvm_arm_copy_mte_tags"].values()} == {32}


def test_bare_pointer_changes_the_compat_layout():
    rep = check_spec(make_spec(BARE))
    assert messages(rep, FindingKind.POINTER_UNFIXED)
    compat = messages(rep, FindingKind.COMPAT_LAYOUT)
    assert any("x86_64 and its compat ABI i386: 48 bytes on x86_64 but 44 on i386; "
               "`addr` 8 bytes wide instead of 4; `flags` at 24 instead of 20" in m
               for m in compat), compat
    assert any("arm64 and its compat ABI arm: `addr` 8 bytes wide instead of 4" in m
               for m in compat), compat
    [io] = messages(rep, FindingKind.IOCTL_COMPAT)
    assert io.startswith("KVM_ARM_MTE_COPY_TAGS is 0x8030aeb4 on x86_64 but 0x802caeb4 "
                         "from i386 userspace (sizeof 48 vs 44)")


def test_implicit_padding_is_flagged_per_abi():
    hole = StructDef("kvm_holey", "struct", [], src(700), HOLEY)
    rep = check_spec(make_spec(extra=[hole]))
    [msg] = [m for m in messages(rep, FindingKind.HOLE) if "kvm_holey" in m]
    assert "4 bytes of implicit padding after `a` at offset 4 on arm64, arm, x86_64" in msg
    assert "i386" not in msg


def test_struct_rendered_from_members_lays_out_like_its_text():
    mem = lambda n, t, line, **kw: Member(n, t, src(line), **kw)
    union = StructDef("", "union", [mem("addr", "void *", 686, user_pointer=True),
                                    mem("padding", "__u64", 687)], src(685))
    sd = StructDef("kvm_arm_copy_mte_tags", "struct",
                   [mem("guest_ipa", "__u64", 683), mem("length", "__u64", 684),
                    Member(None, "union", src(685), nested=union), mem("flags", "__u64", 689),
                    mem("reserved", "__u64", 690, array=[2])], src(682), "")
    from_members = check_spec(Spec("m", "m", 10, False, SEED, [], structs=[sd]))
    from_text = check_spec(make_spec())
    for arch, lay in from_text.layouts["kvm_arm_copy_mte_tags"].items():
        other = from_members.layouts["kvm_arm_copy_mte_tags"][arch]
        assert list(other.flatten()) == list(lay.flatten())


def test_unresolvable_type_is_a_finding_with_position_not_a_crash():
    bad = StructDef("kvm_bad", "struct", [], src(900), "struct kvm_bad {\n\tkvm_thing_t t;\n};")
    rep = check_spec(make_spec(extra=[bad]))
    errs = messages(rep, FindingKind.LAYOUT_ERROR)
    assert errs and all(f"{SEED}:901: unknown type name kvm_thing_t" in m for m in errs)
    assert rep.layouts["kvm_arm_copy_mte_tags"]["arm64"].size == 48


# ---------------------------------------------------------------- ioctls
def test_ioctl_size_disagreeing_with_sizeof_is_reported():
    rep = check_spec(make_spec(size=32))         # the v8 size with the v10 struct
    sizes = messages(rep, FindingKind.IOCTL_SIZE)
    assert "KVM_ARM_MTE_COPY_TAGS: _IOC_SIZE(0x8020aeb4) is 32 but " \
           "sizeof(struct kvm_arm_copy_mte_tags) is 48 on arm64" in sizes
    assert "KVM_ARM_MTE_COPY_TAGS: the spec says sizeof(struct kvm_arm_copy_mte_tags) " \
           "is 32 but it is 48 on arm64" in sizes
    [num] = messages(rep, FindingKind.IOCTL_NUMBER)
    assert num.endswith("encodes to 0x8030aeb4")


# ---------------------------------------------------------------- headers
@needs_headers
@needs_cc
def test_capability_number_against_the_headers():
    rep = check_spec(make_spec(cap=195), ARM64)
    assert any(m.startswith("KVM_CAP_ARM_MTE is 195 in the patch but 205 in the headers")
               for m in messages(rep, FindingKind.VALUE_DIFFERS))
    assert any(m.startswith("the patch's number 195 for KVM_CAP_ARM_MTE is used by "
                            "KVM_CAP_SET_GUEST_DEBUG2 in the headers")
               for m in messages(rep, FindingKind.NUMBER_COLLISION))
    clean = check_spec(make_spec(cap=205), ARM64)
    assert not clean.of(FindingKind.VALUE_DIFFERS)
    assert not clean.of(FindingKind.NUMBER_COLLISION)
    assert clean.ok


@needs_headers
@needs_cc
def test_v8_ioctl_number_differs_from_the_headers():
    rep = check_spec(make_spec(V8, cap=205), ARM64)
    [msg] = messages(rep, FindingKind.VALUE_DIFFERS)
    assert msg.startswith("KVM_ARM_MTE_COPY_TAGS is 0x8020aeb4 in the patch but "
                          "0x8030aeb4 in the headers")
    assert any("KVM_S390_IRQ" in m for m in messages(rep, FindingKind.IOCTL_COLLISION))


@needs_headers
def test_spec_yaml_from_the_repository_when_present():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "specs", "mte-v10.yaml")
    if not os.path.isfile(path):
        pytest.skip("specs/mte-v10.yaml not generated in this checkout")
    from generator.model.specio import load_spec
    rep = check_spec(load_spec(path), ARM64)
    assert rep.layouts["kvm_arm_copy_mte_tags"]["arm64"].size == 48
    assert rep.of(FindingKind.POINTER_FIXED)


# ---------------------------------------------------------------- static asserts
def _compile(asserts: list[str], struct_text: str) -> subprocess.CompletedProcess:
    from generator import cparse
    prog = "\n".join([cparse.PRELUDE, "#define offsetof(t, m) __builtin_offsetof(t, m)",
                      "#define _IOC_SIZE(nr) (((nr) >> 16) & 0x3fff)",
                      f"#define KVM_ARM_MTE_COPY_TAGS {encode_ioctl(2, 48, 0xAE, 0xB4):#x}U",
                      struct_text, *asserts, ""])
    return subprocess.run(["aarch64-linux-gnu-gcc", "-x", "c", "-std=gnu11", "-fsyntax-only",
                           "-"], input=prog, text=True, capture_output=True)


@needs_cc
def test_static_asserts_compile_for_the_struct_they_describe_and_not_for_another():
    lines = static_asserts(make_spec())
    assert "_Static_assert(offsetof(struct kvm_arm_copy_mte_tags, padding) == 16, " \
           f"\"offsetof(struct kvm_arm_copy_mte_tags, padding) is 16 ({SEED}:682 on arm64)\");" \
        in lines
    assert any(ln.startswith("_Static_assert(_IOC_SIZE(KVM_ARM_MTE_COPY_TAGS) == "
                             "sizeof(struct kvm_arm_copy_mte_tags)") for ln in lines)
    ok = _compile(lines, V10)
    assert ok.returncode == 0, ok.stderr
    bad = _compile(lines, V8)
    assert bad.returncode != 0
    assert "sizeof(struct kvm_arm_copy_mte_tags) is 48" in bad.stderr
