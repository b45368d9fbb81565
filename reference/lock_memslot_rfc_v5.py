# do not edit, generated from lock-memslot-rfc-v5 by kconform (render_ref)
# seed: 004_baa2838cf23bbaa8.txt
"""Reference model of lock-memslot-rfc-v5: KVM: arm64: Add lock/unlock memslot user API.

One function per operation of the spec; each evaluates the patch's checks
in the patch's order and returns the first failure, else applies the
operation's effect and returns its success value.  Runtime: reference.vmstate.
"""
from __future__ import annotations

from generator.model import Errno
from reference import vmstate
from reference.vmstate import Call, Result, VMState

SPEC = "lock-memslot-rfc-v5"

KVM_CAP_ARM_LOCK_USER_MEMORY_REGION = 207  # 004_baa2838cf23bbaa8.txt:388
KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK = 1  # 004_baa2838cf23bbaa8.txt:397
KVM_ARM_LOCK_MEM_READ = 1  # 004_baa2838cf23bbaa8.txt:398
KVM_ARM_LOCK_MEM_WRITE = 2  # 004_baa2838cf23bbaa8.txt:399
KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK = 2  # 004_baa2838cf23bbaa8.txt:400
KVM_ARM_UNLOCK_MEM_ALL = 1  # 004_baa2838cf23bbaa8.txt:401
KVMIO = 174  # specs/vocabulary.yaml
MTE_GRANULE_SIZE = 16  # specs/vocabulary.yaml

CAPABILITIES = {
    "KVM_CAP_ARM_LOCK_USER_MEMORY_REGION": 207,  # 004_baa2838cf23bbaa8.txt:388
}


# helpers the patch defines with a constant body: the model calls them as
# the patch's code does


def kvm_arm_lock_memslot_supported() -> int:
    """`kvm_arm_lock_memslot_supported()` returns 0 in the patch (called at 004_baa2838cf23bbaa8.txt:276)."""
    return 0


def enable_cap_kvm_cap_arm_lock_user_memory_region(vm: VMState, call: Call) -> Result:
    """KVM_ENABLE_CAP(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION) (enable_cap): kvm_vm_ioctl_enable_cap, 004_baa2838cf23bbaa8.txt:275"""
    arg = call.arg
    action = arg.flags
    action_flags = arg.args[1]
    slot = arg.args[0]
    # 1. cap_copy_faults: `copy_from_user(&cap, argp, sizeof(cap))` (vocabulary.yaml:295)
    if vm.user_read_faults(call, None):
        return vm.fail(Errno.EFAULT, "cap_copy_faults")
    # 2. not_kvm_arm_lock_memslot_supported: `!kvm_arm_lock_memslot_supported()` (004_baa2838cf23bbaa8.txt:276)
    if (not kvm_arm_lock_memslot_supported()):
        return vm.fail(Errno.EINVAL, "not_kvm_arm_lock_memslot_supported")
    # 3. args_2_nonzero: `cap->args[2]` -> EINVAL (004_baa2838cf23bbaa8.txt:239)
    #    not reachable: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    # 4. args_3_nonzero: `cap->args[3]` -> EINVAL (004_baa2838cf23bbaa8.txt:239)
    #    not reachable: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    # 5. flags_not_a_case: `(action != KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK) && (action != KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK)` -> EINVAL (004_baa2838cf23bbaa8.txt:246)
    #    not reachable: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    # 6. slot_at_least: `slot >= KVM_MEM_SLOTS_NUM` -> EINVAL (004_baa2838cf23bbaa8.txt:314)
    #    in the branch `action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK`
    #    not reachable: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    # 7. lock_mem_read_clear: `!(action_flags & KVM_ARM_LOCK_MEM_READ)` -> EINVAL (004_baa2838cf23bbaa8.txt:317)
    #    in the branch `action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK`
    #    not reachable: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    # 8. not_vcpus_lockable: `!kvm_lock_all_vcpus(kvm)` -> EBUSY (004_baa2838cf23bbaa8.txt:321)
    #    in the branch `action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK`
    #    not reachable: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    # 9. not_memslot_exists: `!memslot` -> EINVAL (004_baa2838cf23bbaa8.txt:328)
    #    in the branch `action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK`
    #    not reachable: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    # 10. lock_mem_write_set_and_mem_readonly_set_or_memslot_dirty_logging: `(action_flags & KVM_ARM_LOCK_MEM_WRITE) && ((memslot->flags & KVM_MEM_READONLY) || memslot->dirty_bitmap)` -> EPERM (004_baa2838cf23bbaa8.txt:332)
    #    in the branch `action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK`
    #    not reachable: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    # 11. unlock_mem_all_clear_and_slot_at_least: `(!unlock_all) && (slot >= KVM_MEM_SLOTS_NUM)` -> EINVAL (004_baa2838cf23bbaa8.txt:354)
    #    in the branch `action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK`
    #    not reachable: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    # 12. unlock_mem_all_set: `unlock_all` -> EINVAL (004_baa2838cf23bbaa8.txt:359)
    #    in the branch `action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK`
    #    not reachable: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    # 13. not_memslot_exists_2: `!memslot` -> EINVAL (004_baa2838cf23bbaa8.txt:365)
    #    in the branch `action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK`
    #    not reachable: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    # not reachable in this version: check 2 (not_kvm_arm_lock_memslot_supported) fails on every call
    return vm.fail(Errno.EINVAL, "success")  # 004_baa2838cf23bbaa8.txt:279


def check_extension_kvm_cap_arm_lock_user_memory_region(vm: VMState, call: Call) -> Result:
    """KVM_CHECK_EXTENSION(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION) (check_extension): kvm_vm_ioctl_check_extension, 004_baa2838cf23bbaa8.txt:295"""
    arg = call.arg
    return vm.ok(int(kvm_arm_lock_memslot_supported()))  # 004_baa2838cf23bbaa8.txt:297


OPERATIONS = {
    ("enable_cap", "KVM_CAP_ARM_LOCK_USER_MEMORY_REGION"): enable_cap_kvm_cap_arm_lock_user_memory_region,
    ("check_extension", "KVM_CAP_ARM_LOCK_USER_MEMORY_REGION"): check_extension_kvm_cap_arm_lock_user_memory_region,
}


def predict(case, page_size: int, host: vmstate.Host) -> list[vmstate.Outcome]:
    """Outcome of every step of a planned case on a kernel following the spec."""
    return vmstate.predict(OPERATIONS, CAPABILITIES, case, page_size, host)
