# do not edit, generated from mte-v8 by kconform (render_ref)
# seed: 000_87786364e6aad26e.txt
"""Reference model of mte-v8: KVM: arm64: ioctl to fetch/store tags in a guest.

One function per operation of the spec; each evaluates the patch's checks
in the patch's order and returns the first failure, else applies the
operation's effect and returns its success value.  Runtime: reference.vmstate.
"""
from __future__ import annotations

from generator.model import Errno
from reference import vmstate
from reference.vmstate import Call, Result, VMState

SPEC = "mte-v8"

KVM_ARM_TAGS_TO_GUEST = 0  # 000_87786364e6aad26e.txt:42
KVM_ARM_TAGS_FROM_GUEST = 1  # 000_87786364e6aad26e.txt:43
KVMIO = 174  # specs/vocabulary.yaml
MTE_GRANULE_SIZE = 16  # specs/vocabulary.yaml

CAPABILITIES = {
}


def vm_ioctl_kvm_arm_mte_copy_tags(vm: VMState, call: Call) -> Result:
    """KVM_ARM_MTE_COPY_TAGS (ioctl): kvm_arch_vm_ioctl, 000_87786364e6aad26e.txt:110"""
    arg = call.arg
    guest_ipa = arg.guest_ipa
    length = arg.length
    it = vm.cursor(guest_ipa)
    # 1. not_cap_enabled: `!kvm_has_mte(kvm)` (000_87786364e6aad26e.txt:113)
    if (not vm.cap_enabled(call, None, cap='KVM_CAP_ARM_MTE')):
        return vm.fail(Errno.EINVAL, "not_cap_enabled")
    # 2. user_read_faults: `copy_from_user(&copy_tags, argp, sizeof(copy_tags))` (000_87786364e6aad26e.txt:116)
    if vm.user_read_faults(call, None):
        return vm.fail(Errno.EFAULT, "user_read_faults")
    # 3. flags_invalid_bits: `copy_tags->flags & (~KVM_ARM_TAGS_FROM_GUEST)` (000_87786364e6aad26e.txt:65)
    if (arg.flags & (~KVM_ARM_TAGS_FROM_GUEST)):
        return vm.fail(Errno.EINVAL, "flags_invalid_bits")
    # 4. length_unaligned: `length & (~PAGE_MASK)` (000_87786364e6aad26e.txt:68)
    if (length & (~vm.page_mask)):
        return vm.fail(Errno.EINVAL, "length_unaligned")
    # 5. guest_ipa_unaligned: `guest_ipa & (~PAGE_MASK)` (000_87786364e6aad26e.txt:68)
    if (guest_ipa & (~vm.page_mask)):
        return vm.fail(Errno.EINVAL, "guest_ipa_unaligned")
    to_kernel = (arg.flags & 1) == 0
    # while (length > 0)
    while (length > 0):
        # 6. no_memslot: `is_error_noslot_pfn(pfn)` (000_87786364e6aad26e.txt:78)
        if vm.no_memslot(call, it):
            return vm.fail(Errno.ENOENT, "no_memslot")
        if to_kernel:
            num_tags = vm.copy_tags_in(call, it)
        else:
            num_tags = vm.copy_tags_out(call, it)
        # 7. num_tags_mismatch: `num_tags != (PAGE_SIZE / MTE_GRANULE_SIZE)` (000_87786364e6aad26e.txt:92)
        if (num_tags != (vm.page_size // MTE_GRANULE_SIZE)):
            return vm.fail(Errno.EFAULT, "num_tags_mismatch")
        vm.advance(it, num_tags)
        length -= vm.page_size
    return vm.ok(0)  # 000_87786364e6aad26e.txt:100


OPERATIONS = {
    ("vm_ioctl", "KVM_ARM_MTE_COPY_TAGS"): vm_ioctl_kvm_arm_mte_copy_tags,
}


def predict(case, page_size: int, host: vmstate.Host) -> list[vmstate.Outcome]:
    """Outcome of every step of a planned case on a kernel following the spec."""
    return vmstate.predict(OPERATIONS, CAPABILITIES, case, page_size, host)
