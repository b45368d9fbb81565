"""FIXTURE specs, hand-built from model classes.

These mirror what extraction is specified to produce for mte-v10 and mte-v8
(seed line numbers are the real ones) so that case planning, rendering, the
reference and the cross-check can be tested before extraction lands and
independently of it.  They are test fixtures, never shipped results.
"""
from __future__ import annotations

import copy

from generator.model import (BufferRule, Capability, Check, CheckKind, Claim,
                             Constant, Errno, Ioctl, IocDir, Member, Operation,
                             OpKind, PreKind, Precondition, Predicate, Reach,
                             Source, Spec, StructDef, Success)

V10 = "002_640e98e582cbc741.txt"
V8 = "000_87786364e6aad26e.txt"
VOCAB = "specs/vocabulary.yaml"


def _src(seed: str, line: int, patch: str, path: str = "arch/arm64/kvm/arm.c"):
    return Source(seed=seed, line=line, patch=patch, path=path)


def _struct(seed: str, line: int, patch: str, reserved: bool) -> StructDef:
    s = lambda n: _src(seed, line + n, patch, "arch/arm64/include/uapi/asm/kvm.h")
    union = StructDef(name="", kind="union", source=s(3), members=[
        Member("addr", "void *", s(4), user_pointer=True),
        Member("padding", "__u64", s(5))])
    members = [Member("guest_ipa", "__u64", s(1)),
               Member("length", "__u64", s(2)),
               Member(None, "union", s(3), nested=union),
               Member("flags", "__u64", s(7))]
    if reserved:
        members.append(Member("reserved", "__u64", s(8), array=[2]))
    return StructDef(name="kvm_arm_copy_mte_tags", kind="struct",
                     members=members, source=s(0),
                     header="arch/arm64/include/uapi/asm/kvm.h")


def _copy_tags_checks(seed: str, patch: str, lines: dict[str, int],
                      reserved: bool, noslot_errno: Errno) -> list[Check]:
    P = Predicate
    rows = [
        ("not_cap_enabled", "!kvm_has_mte(kvm)", Errno.EINVAL, CheckKind.STATE,
         [], [P("kvm_has_mte(kvm)", "cap_enabled")], False),
        ("user_read_faults", "copy_from_user(&copy_tags, argp, sizeof(copy_tags))",
         Errno.EFAULT, CheckKind.USER_MEMORY, [],
         [P("copy_from_user(&copy_tags, argp, sizeof(copy_tags))", "user_read_faults")],
         False),
    ]
    if reserved:
        rows += [
            ("reserved_0_nonzero", "copy_tags->reserved[0]", Errno.EINVAL,
             CheckKind.ARGUMENT, ["reserved"], [], False),
            ("reserved_1_nonzero", "copy_tags->reserved[1]", Errno.EINVAL,
             CheckKind.ARGUMENT, ["reserved"], [], False)]
    rows += [
        ("flags_invalid_bits", "copy_tags->flags & ~KVM_ARM_TAGS_FROM_GUEST",
         Errno.EINVAL, CheckKind.ARGUMENT, ["flags"], [], False),
        ("length_unaligned", "length & ~PAGE_MASK", Errno.EINVAL,
         CheckKind.ALIGNMENT, ["length"], [], False),
        ("guest_ipa_unaligned", "guest_ipa & ~PAGE_MASK", Errno.EINVAL,
         CheckKind.ALIGNMENT, ["guest_ipa"], [], False),
        ("no_memslot", "is_error_noslot_pfn(pfn)", noslot_errno,
         CheckKind.PER_PAGE, ["guest_ipa"],
         [P("is_error_noslot_pfn(pfn)", "no_memslot")], True),
        ("num_tags_mismatch", "num_tags != PAGE_SIZE / MTE_GRANULE_SIZE",
         Errno.EFAULT, CheckKind.PER_PAGE, ["addr"], [], True),
    ]
    return [Check(id=i, order=n, condition=c, errno=e, kind=k, reads=r,
                  predicates=p, source=_src(seed, lines[i], patch), in_loop=loop)
            for n, (i, c, e, k, r, p, loop) in enumerate(rows, 1)]


def _copy_tags_op(seed, patch, lines, reserved, noslot_errno, ret, ret_line):
    return Operation(
        name="KVM_ARM_MTE_COPY_TAGS", kind=OpKind.IOCTL,
        handler="kvm_vm_ioctl_mte_copy_tags", fd="vm",
        checks=_copy_tags_checks(seed, patch, lines, reserved, noslot_errno),
        success=Success(ret=ret, ret_value=0, source=_src(seed, ret_line, patch),
                        doc="0 on success, < 0 on error"),
        source=_src(seed, lines["handler"], patch),
        arg_type="struct kvm_arm_copy_mte_tags",
        aliases={"guest_ipa": "guest_ipa", "length": "length", "tags": "addr"},
        loop="while (length > 0)",
        buffer=BufferRule(pointer_field="addr", length_field="length",
                          bytes_per_unit=16, unit_name="MTE granule",
                          element="one tag value per byte",
                          direction_field="flags",
                          to_kernel="KVM_ARM_TAGS_TO_GUEST",
                          from_kernel="KVM_ARM_TAGS_FROM_GUEST",
                          source=_src(seed, lines["doc_buffer"], patch,
                                      "Documentation/virt/kvm/api.rst")))


def fixture_spec_mte_v10() -> Spec:
    """FIXTURE: mte-v10 as extraction will give it (seed 002, v10 4/6-6/6)."""
    p4, p5, p6 = "v10 4/6", "v10 5/6", "v10 6/6"
    lines = {"not_cap_enabled": 776, "user_read_faults": 779,
             "reserved_0_nonzero": 717, "reserved_1_nonzero": 717,
             "flags_invalid_bits": 720, "length_unaligned": 723,
             "guest_ipa_unaligned": 723, "no_memslot": 735,
             "num_tags_mismatch": 751, "handler": 707, "doc_buffer": 865}
    hdr = "arch/arm64/include/uapi/asm/kvm.h"
    spec = Spec(name="mte-v10", title="MTE support for KVM guest", version=10,
                rfc=False, seed=V10, patches=[
                    "v10 4/6: arm64: kvm: Expose KVM_ARM_CAP_MTE",
                    "v10 5/6: KVM: arm64: ioctl to fetch/store tags in a guest",
                    "v10 6/6: KVM: arm64: Document MTE capability and ioctl"])
    spec.structs = [_struct(V10, 682, p5, reserved=True)]
    spec.constants = [
        Constant("KVM_ARM_TAGS_TO_GUEST", 0, "0", _src(V10, 693, p5, hdr), hdr),
        Constant("KVM_ARM_TAGS_FROM_GUEST", 1, "1", _src(V10, 694, p5, hdr), hdr)]
    spec.capabilities = [Capability("KVM_CAP_ARM_MTE", 195,
                                    _src(V10, 280, "v10 1/6", "include/uapi/linux/kvm.h"))]
    spec.ioctls = [Ioctl("KVM_ARM_MTE_COPY_TAGS", IocDir.READ, "KVMIO", 0xAE,
                         0xb4, "struct kvm_arm_copy_mte_tags", 48, 0x8030AEB4,
                         _src(V10, 794, p5, "include/uapi/linux/kvm.h"))]
    copy_op = _copy_tags_op(V10, p5, lines, True, Errno.EFAULT, "ret", 763)
    enable = Operation(
        name="KVM_ENABLE_CAP(KVM_CAP_ARM_MTE)", kind=OpKind.ENABLE_CAP,
        handler="kvm_vm_ioctl_enable_cap", fd="vm",
        checks=[
            # kvm_vm_ioctl's copy of the argument (the vocabulary's entry point)
            Check("cap_copy_faults", 1, "copy_from_user(&cap, argp, sizeof(cap))", Errno.EFAULT,
                  CheckKind.USER_MEMORY, [], [Predicate("copy_from_user", "user_read_faults")],
                  Source(VOCAB, 222), context=True),
            Check("flags_nonzero", 2, "cap->flags", Errno.EINVAL,
                  CheckKind.ARGUMENT, ["flags"], [], Source(VOCAB, 127)),
            Check("not_host_has_mte", 3, "!system_supports_mte()", Errno.EINVAL,
                  CheckKind.HOST, [],
                  [Predicate("system_supports_mte()", "host_has_mte")],
                  _src(V10, 607, p4), reach=Reach.HOST_ONLY),
            Check("vcpus_created", 4, "kvm->created_vcpus", Errno.EINVAL,
                  CheckKind.STATE, [],
                  [Predicate("kvm->created_vcpus", "vcpus_created")],
                  _src(V10, 607, p4))],
        success=Success(ret="0", ret_value=0, source=_src(V10, 609, p4)),
        source=_src(V10, 606, p4), arg_type="struct kvm_enable_cap", cap="KVM_CAP_ARM_MTE")
    check_ext = Operation(
        name="KVM_CHECK_EXTENSION(KVM_CAP_ARM_MTE)", kind=OpKind.CHECK_EXTENSION,
        handler="kvm_vm_ioctl_check_extension", fd="vm", checks=[],
        success=Success(ret="system_supports_mte()", ret_value=None,
                        source=_src(V10, 620, p4)),
        source=_src(V10, 619, p4), cap="KVM_CAP_ARM_MTE")
    spec.operations = [copy_op, enable, check_ext]
    spec.preconditions = [
        Precondition(PreKind.CAP_ENABLED, "KVM_ARM_MTE_COPY_TAGS",
                     "KVM_CAP_ARM_MTE", Errno.EINVAL, "not_cap_enabled",
                     _src(V10, 776, p5)),
        Precondition(PreKind.NO_VCPUS, "KVM_CAP_ARM_MTE", "", Errno.EINVAL,
                     "vcpus_created", _src(V10, 607, p4)),
        Precondition(PreKind.HOST_FEATURE, "KVM_CAP_ARM_MTE", "host_has_mte",
                     Errno.EINVAL, "not_host_has_mte", _src(V10, 607, p4))]
    spec.claims = [
        Claim("returns_zero", "Returns: 0 on success, < 0 on error", True,
              _src(V10, 843, p6, "Documentation/virt/kvm/api.rst")),
        Claim("buffer_size", "buffer is length/16 bytes, one tag per byte", True,
              _src(V10, 865, p6, "Documentation/virt/kvm/api.rst"))]
    return spec


def fixture_spec_mte_v8() -> Spec:
    """FIXTURE: mte-v8 as extraction will give it (seed 000, RFC v8 5/5 only)."""
    p5 = "v8 5/5"
    lines = {"not_cap_enabled": 113, "user_read_faults": 116,
             "flags_invalid_bits": 65, "length_unaligned": 68,
             "guest_ipa_unaligned": 68, "no_memslot": 78,
             "num_tags_mismatch": 92, "handler": 56, "doc_buffer": 96}
    hdr = "arch/arm64/include/uapi/asm/kvm.h"
    spec = Spec(name="mte-v8", title="MTE support for KVM guest", version=8,
                rfc=True, seed=V8,
                patches=["v8 5/5: KVM: arm64: ioctl to fetch/store tags in a guest"])
    spec.structs = [_struct(V8, 32, p5, reserved=False)]
    spec.constants = [
        Constant("KVM_ARM_TAGS_TO_GUEST", 0, "0", _src(V8, 42, p5, hdr), hdr),
        Constant("KVM_ARM_TAGS_FROM_GUEST", 1, "1", _src(V8, 43, p5, hdr), hdr)]
    spec.ioctls = [Ioctl("KVM_ARM_MTE_COPY_TAGS", IocDir.READ, "KVMIO", 0xAE,
                         0xb4, "struct kvm_arm_copy_mte_tags", 32, 0x8020AEB4,
                         _src(V8, 131, p5, "include/uapi/linux/kvm.h"))]
    spec.operations = [_copy_tags_op(V8, p5, lines, False, Errno.ENOENT, "0", 100)]
    return spec


def with_changes(spec: Spec, **changes) -> Spec:
    """A deep copy of a fixture spec (tests mutate copies, never the original)."""
    out = copy.deepcopy(spec)
    for k, v in changes.items():
        setattr(out, k, v)
    return out


LEVER_SEED = "fixture.txt"


def _lsrc(line: int) -> Source:
    return Source(LEVER_SEED, line, "v1 1/1", "arch/arm64/kvm/arm.c")


def fixture_spec_levers(bound_op: str = ">", pad: int = 3) -> Spec:
    """FIXTURE: a VM ioctl with a reserved array, a bounded count and a
    power-of-two size (tests/plan/test_levers.py, tests/render)."""
    members = [Member("base", "__u32", _lsrc(2)), Member("nr", "__u32", _lsrc(3)),
               Member("size", "__u32", _lsrc(4)), Member("pad", "__u8", _lsrc(5), array=[pad])]
    st = StructDef("kvm_fixture", "struct", members, _lsrc(1))
    P = Predicate
    checks = [
        Check("pad_nonzero", 1, "memchr_inv(fx.pad, 0, sizeof(fx.pad))", Errno.EINVAL,
              CheckKind.ARGUMENT, ["pad"], [P("memchr_inv", "bytes_nonzero")], _lsrc(10)),
        Check("nr_above", 2, f"fx.nr {bound_op} 16", Errno.EINVAL, CheckKind.ARGUMENT,
              ["nr"], [], _lsrc(12)),
        Check("not_is_power_of_2", 3, "!is_power_of_2(fx.size)", Errno.EINVAL,
              CheckKind.ARGUMENT, ["size"], [P("is_power_of_2", "is_power_of_2")], _lsrc(14)),
    ]
    op = Operation("KVM_FIXTURE", OpKind.IOCTL, "kvm_vm_ioctl_fixture", "vm", checks,
                   Success("0", 0, _lsrc(16)), _lsrc(9), arg_type="struct kvm_fixture")
    size = (12 + pad + 3) // 4 * 4          # three __u32 and __u8 pad[], 4-aligned
    io = Ioctl("KVM_FIXTURE", IocDir.WRITE, "KVMIO", 0xAE, 0xff, "struct kvm_fixture", size,
               (1 << 30) | (size << 16) | (0xAE << 8) | 0xff, _lsrc(20))
    return Spec("fixture", "FIXTURE", 1, False, LEVER_SEED, [], structs=[st], ioctls=[io],
                operations=[op])


def fixture_spec_counter_offset() -> Spec:
    """FIXTURE: KVM_ARM_SET_COUNTER_OFFSET as mainline v6.4+ has it (a VM
    ioctl that locks every vCPU: `if (offset->reserved) return -EINVAL;
    ... if (lock_all_vcpus(kvm)) ... else ret = -EBUSY;`), so the
    vcpus_lockable lever runs on the real kernel (tests/run/test_levers_boot.py)."""
    src = lambda n: Source("counter-offset.txt", n, "fixture", "arch/arm64/kvm/arch_timer.c")
    st = StructDef("kvm_arm_counter_offset", "struct",
                   [Member("counter_offset", "__u64", src(2)), Member("reserved", "__u64", src(3))],
                   src(1), header="arch/arm64/include/uapi/asm/kvm.h")
    checks = [
        Check("reserved_nonzero", 1, "offset->reserved", Errno.EINVAL, CheckKind.ARGUMENT,
              ["reserved"], [], src(10)),
        Check("not_vcpus_lockable", 2, "!lock_all_vcpus(kvm)", Errno.EBUSY, CheckKind.STATE,
              [], [Predicate("lock_all_vcpus", "vcpus_lockable")], src(13)),
    ]
    op = Operation("KVM_ARM_SET_COUNTER_OFFSET", OpKind.IOCTL, "kvm_vm_ioctl_set_counter_offset",
                   "vm", checks, Success("0", 0, src(20)), src(8),
                   arg_type="struct kvm_arm_counter_offset")
    io = Ioctl("KVM_ARM_SET_COUNTER_OFFSET", IocDir.WRITE, "KVMIO", 0xAE, 0xb5,
               "struct kvm_arm_counter_offset", 16,
               (1 << 30) | (16 << 16) | (0xAE << 8) | 0xb5, src(30))
    return Spec("counter-offset", "FIXTURE: KVM_ARM_SET_COUNTER_OFFSET", 1, False,
                "counter-offset.txt", [], structs=[st], ioctls=[io], operations=[op])
