# do not edit, generated from mte-v10 by kconform (render_ref)
# seed: 002_640e98e582cbc741.txt
"""Reference model of mte-v10: MTE support for KVM guest.

One function per operation of the spec; each evaluates the patch's checks
in the patch's order and returns the first failure, else applies the
operation's effect and returns its success value.  Runtime: reference.vmstate.
"""
from __future__ import annotations

from generator.model import Errno
from reference import vmstate
from reference.vmstate import Call, Result, VMState

SPEC = "mte-v10"

KVM_CAP_ARM_MTE = 195  # 002_640e98e582cbc741.txt:280
KVM_ARM_TAGS_TO_GUEST = 0  # 002_640e98e582cbc741.txt:693
KVM_ARM_TAGS_FROM_GUEST = 1  # 002_640e98e582cbc741.txt:694
KVMIO = 174  # specs/vocabulary.yaml
MTE_GRANULE_SIZE = 16  # specs/vocabulary.yaml

ID_AA64PFR1_MTE = 2  # vocabulary.yaml:168

# what a register's visibility means to the vCPU ioctls (vocabulary.yaml: guest.visibility)
VISIBILITY = {
    "0": {"get_one_reg": "ok", "meaning": "the register is listed and can be read and written", "reg_list": "present", "set_one_reg": "ok"},
    "REG_HIDDEN": {"get_one_reg": "ENOENT", "meaning": "the register does not exist for userspace", "reg_list": "absent", "set_one_reg": "ENOENT"},
}

CAPABILITIES = {
    "KVM_CAP_ARM_MTE": 195,  # 002_640e98e582cbc741.txt:280
}


def enable_cap_kvm_cap_arm_mte(vm: VMState, call: Call) -> Result:
    """KVM_ENABLE_CAP(KVM_CAP_ARM_MTE) (enable_cap): kvm_vm_ioctl_enable_cap, 002_640e98e582cbc741.txt:606"""
    arg = call.arg
    # 1. cap_copy_faults: `copy_from_user(&cap, argp, sizeof(cap))` (vocabulary.yaml:295)
    if vm.user_read_faults(call, None):
        return vm.fail(Errno.EFAULT, "cap_copy_faults")
    # 2. flags_nonzero: `cap->flags` (vocabulary.yaml:127)
    if arg.flags:
        return vm.fail(Errno.EINVAL, "flags_nonzero")
    # 3. not_host_has_mte: `!system_supports_mte()` (002_640e98e582cbc741.txt:607)
    if (not vm.host_has_mte(call, None)):
        return vm.fail(Errno.EINVAL, "not_host_has_mte")
    # 4. vcpus_created: `kvm->created_vcpus` (002_640e98e582cbc741.txt:607)
    if vm.vcpus_created(call, None):
        return vm.fail(Errno.EINVAL, "vcpus_created")
    vm.enable_cap('KVM_CAP_ARM_MTE')
    return vm.ok(0)  # 002_640e98e582cbc741.txt:611


def check_extension_kvm_cap_arm_mte(vm: VMState, call: Call) -> Result:
    """KVM_CHECK_EXTENSION(KVM_CAP_ARM_MTE) (check_extension): kvm_vm_ioctl_check_extension, 002_640e98e582cbc741.txt:619"""
    arg = call.arg
    return vm.ok(int(vm.host_has_mte(call, None)))  # 002_640e98e582cbc741.txt:621


def vm_ioctl_kvm_arm_mte_copy_tags(vm: VMState, call: Call) -> Result:
    """KVM_ARM_MTE_COPY_TAGS (ioctl): kvm_arch_vm_ioctl, 002_640e98e582cbc741.txt:773"""
    arg = call.arg
    guest_ipa = arg.guest_ipa
    length = arg.length
    it = vm.cursor(guest_ipa)
    # 1. not_cap_enabled: `!kvm_has_mte(kvm)` (002_640e98e582cbc741.txt:776)
    if (not vm.cap_enabled(call, None, cap='KVM_CAP_ARM_MTE')):
        return vm.fail(Errno.EINVAL, "not_cap_enabled")
    # 2. user_read_faults: `copy_from_user(&copy_tags, argp, sizeof(copy_tags))` (002_640e98e582cbc741.txt:779)
    if vm.user_read_faults(call, None):
        return vm.fail(Errno.EFAULT, "user_read_faults")
    # 3. reserved_0_nonzero: `copy_tags->reserved[0]` (002_640e98e582cbc741.txt:717)
    if arg.reserved[0]:
        return vm.fail(Errno.EINVAL, "reserved_0_nonzero")
    # 4. reserved_1_nonzero: `copy_tags->reserved[1]` (002_640e98e582cbc741.txt:717)
    if arg.reserved[1]:
        return vm.fail(Errno.EINVAL, "reserved_1_nonzero")
    # 5. flags_invalid_bits: `copy_tags->flags & (~KVM_ARM_TAGS_FROM_GUEST)` (002_640e98e582cbc741.txt:720)
    if (arg.flags & (~KVM_ARM_TAGS_FROM_GUEST)):
        return vm.fail(Errno.EINVAL, "flags_invalid_bits")
    # 6. length_unaligned: `length & (~PAGE_MASK)` (002_640e98e582cbc741.txt:723)
    if (length & (~vm.page_mask)):
        return vm.fail(Errno.EINVAL, "length_unaligned")
    # 7. guest_ipa_unaligned: `guest_ipa & (~PAGE_MASK)` (002_640e98e582cbc741.txt:723)
    if (guest_ipa & (~vm.page_mask)):
        return vm.fail(Errno.EINVAL, "guest_ipa_unaligned")
    to_kernel = (arg.flags & 1) == 0
    # while (length > 0)
    while (length > 0):
        # 8. no_memslot: `is_error_noslot_pfn(pfn)` (002_640e98e582cbc741.txt:735)
        if vm.no_memslot(call, it):
            return vm.fail(Errno.EFAULT, "no_memslot")
        if to_kernel:
            num_tags = vm.copy_tags_in(call, it)
        else:
            num_tags = vm.copy_tags_out(call, it)
        # 9. num_tags_mismatch: `num_tags != (PAGE_SIZE / MTE_GRANULE_SIZE)` (002_640e98e582cbc741.txt:751)
        if (num_tags != (vm.page_size // MTE_GRANULE_SIZE)):
            return vm.fail(Errno.EFAULT, "num_tags_mismatch")
        vm.advance(it, num_tags)
        length -= vm.page_size
    return vm.ok(0)  # 002_640e98e582cbc741.txt:763


def guest_id_aa64pfr1_el1_mte(vm: VMState, call: Call) -> Result:
    """ID_AA64PFR1_EL1 ID_AA64PFR1_MTE (id_field): read_id_reg, 002_640e98e582cbc741.txt:266"""
    # id_field in read_id_reg: `kvm_has_mte(vcpu->kvm)` (002_640e98e582cbc741.txt:266)
    if vm.cap_enabled(call, None, cap='KVM_CAP_ARM_MTE'):
        return vm.rule(ID_AA64PFR1_MTE, "id_aa64pfr1_el1.mte:value")  # 002_640e98e582cbc741.txt:267
    return vm.rule(0, "id_aa64pfr1_el1.mte:otherwise")  # 002_640e98e582cbc741.txt:265


def guest_mte_visibility(vm: VMState, call: Call) -> Result:
    """sys_reg_descs mte_visibility (reg_visibility): mte_visibility, 002_640e98e582cbc741.txt:633"""
    # reg_visibility in mte_visibility: `kvm_has_mte(vcpu->kvm)` (002_640e98e582cbc741.txt:633)
    # registers: RGSR_EL1, GCR_EL1, TFSR_EL1, TFSRE0_EL1 (002_640e98e582cbc741.txt:553, 002_640e98e582cbc741.txt:554, 002_640e98e582cbc741.txt:564, 002_640e98e582cbc741.txt:565)
    if vm.cap_enabled(call, None, cap='KVM_CAP_ARM_MTE'):
        return vm.visibility(call, VISIBILITY['0'], "mte_visibility:value")  # 002_640e98e582cbc741.txt:634
    return vm.visibility(call, VISIBILITY['REG_HIDDEN'], "mte_visibility:otherwise")  # 002_640e98e582cbc741.txt:636


def guest_hcr_ata(vm: VMState, call: Call) -> Result:
    """HCR_EL2 HCR_ATA (trap_control): vcpu_reset_hcr, 002_640e98e582cbc741.txt:191"""
    # trap_control in vcpu_reset_hcr: `kvm_has_mte(vcpu->kvm)` (002_640e98e582cbc741.txt:191)
    # HCR_ATA untraps mte_registers, tag_access (vocabulary.yaml:179); trapped, `.access = undef_access` (002_640e98e582cbc741.txt:538) injects UNDEF
    if vm.cap_enabled(call, None, cap='KVM_CAP_ARM_MTE'):
        return vm.rule(1, "hcr.ata:value")  # 002_640e98e582cbc741.txt:192
    return vm.rule(0, "hcr.ata:otherwise")  # 002_640e98e582cbc741.txt:538


def guest_exception_tco(vm: VMState, call: Call) -> Result:
    """PSTATE PSR_TCO_BIT (exception_pstate): enter_exception64, 002_640e98e582cbc741.txt:226"""
    # exception_pstate in enter_exception64: `kvm_has_mte(vcpu->kvm)` (002_640e98e582cbc741.txt:226)
    if vm.cap_enabled(call, None, cap='KVM_CAP_ARM_MTE'):
        return vm.rule(1, "exception.tco:value")  # 002_640e98e582cbc741.txt:227
    return vm.rule(0, "exception.tco:otherwise")  # 002_640e98e582cbc741.txt:226


def guest_tags_init(vm: VMState, call: Call) -> Result:
    """stage2 mte_clear_page_tags (tag_init): user_mem_abort, 002_640e98e582cbc741.txt:240"""
    # tag_init in user_mem_abort: `fault_status != FSC_PERM && kvm_has_mte(kvm) && pfn_valid(pfn)` (002_640e98e582cbc741.txt:240)
    if vm.cap_enabled(call, None, cap='KVM_CAP_ARM_MTE'):
        return vm.guest_tags(call, "tags.init:value")  # 002_640e98e582cbc741.txt:251
    return vm.no_guest_tags(call, "tags.init:otherwise")  # 002_640e98e582cbc741.txt:240


OPERATIONS = {
    ("enable_cap", "KVM_CAP_ARM_MTE"): enable_cap_kvm_cap_arm_mte,
    ("check_extension", "KVM_CAP_ARM_MTE"): check_extension_kvm_cap_arm_mte,
    ("vm_ioctl", "KVM_ARM_MTE_COPY_TAGS"): vm_ioctl_kvm_arm_mte_copy_tags,
    ("guest_rule", "id_aa64pfr1_el1.mte"): guest_id_aa64pfr1_el1_mte,
    ("guest_rule", "mte_visibility"): guest_mte_visibility,
    ("guest_rule", "hcr.ata"): guest_hcr_ata,
    ("guest_rule", "exception.tco"): guest_exception_tco,
    ("guest_rule", "tags.init"): guest_tags_init,
}


def predict(case, page_size: int, host: vmstate.Host) -> list[vmstate.Outcome]:
    """Outcome of every step of a planned case on a kernel following the spec."""
    return vmstate.predict(OPERATIONS, CAPABILITIES, case, page_size, host)
