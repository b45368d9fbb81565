"""The registry of concepts and levers.

A *concept* is the model's name for what a kernel predicate, helper or
constant means to userspace (the vocabulary maps kernel spellings onto
them).  Every concept is declared here once, with its kind and the family
it belongs to; the reference runtime (reference/) implements each one
under the same name, and loading a vocabulary rejects a concept or a lever
that is not declared here, naming the file, the line and the valid names.

A *lever* is how a generated case makes the failing side of a check true.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class ConceptKind(enum.Enum):
    PREDICATE = "predicate"      # a truth about VM state a check tests
    HELPER = "helper"            # a function that acts (copies, locks) or maps
    CONSTANT = "constant"        # a number: the running page size, an ioctl type


class Lever(enum.Enum):
    """How a case makes a check's failing side true (generator.plan)."""
    OMIT_CAP_ENABLE = "omit_cap_enable"          # do not enable the capability
    ADD_VCPU_FIRST = "add_vcpu_first"            # create a vCPU before the call
    BAD_ARG_POINTER = "bad_arg_pointer"          # the argument points at a PROT_NONE page
    BAD_BUFFER_POINTER = "bad_buffer_pointer"    # the user buffer is not mapped
    IPA_OUTSIDE_MEMSLOT = "ipa_outside_memslot"  # a guest address no memslot covers
    RESERVED_ELEMENT_NONZERO = "reserved_element_nonzero"  # element i of the array the
                                                 # check reads is 1, one case per element
    FIELD_OUT_OF_RANGE = "field_out_of_range"    # `x > MAX` / `x >= N`: x just past the
                                                 # bound, and a case just inside it
    NOT_POWER_OF_2 = "not_power_of_2"            # `!is_power_of_2(x)`: x = 3
    BAD_VALUE_POINTER = "bad_value_pointer"      # a pointer field of the argument (a device
                                                 # attribute's addr) points at an unmapped page
    REPEAT_VALID_CALL = "repeat_valid_call"      # the operation's own valid call, made
                                                 # first, sets the state the check refuses
    VM_HAS_RUN = "vm_has_run"                    # a vCPU enters the guest (KVM_RUN) once
                                                 # before the call
    DROP_CAPABILITY = "drop_capability"          # `capable(CAP_X)`: the test process drops
                                                 # CAP_X (effective set) before the call
    VCPU_NOT_INITIALISED = "vcpu_not_initialised"  # the vCPU the call is made on is
                                                 # created without KVM_ARM_VCPU_INIT
    VCPU_WITHOUT_FEATURE = "vcpu_without_feature"  # the vCPU is initialised without the
                                                 # feature the predicate names (the valid
                                                 # path initialises it with the feature)
    VCPU_NOT_FINALIZED = "vcpu_not_finalized"    # the vCPU is initialised with a feature
                                                 # that needs KVM_ARM_VCPU_FINALIZE (the
                                                 # predicate's args.feature, reported by
                                                 # args.cap) and is never finalized
    VCPU_IN_RUN = "vcpu_in_run"                  # a vCPU is inside KVM_RUN (a thread of
                                                 # the test) during the call
    INITIALISE_FEATURE_FIRST = "initialise_feature_first"  # the vCPU's feature is
                                                 # initialised (the vocabulary's `init`
                                                 # attribute, GROUP/ATTR) before the call
    SET_STATE_FIRST = "set_state_first"          # the VM state the predicate names is set
                                                 # first (the vocabulary's `set` attribute,
                                                 # GROUP/ATTR, with its `value`); AND-ed
                                                 # with more: each conjunct is made true
    OTHER_HOST_ENTRY = "other_host_entry"        # `vm value != entry`: the operation's valid
                                                 # call, made first, sets the VM's value to
                                                 # the host's first entry (PMU); the call
                                                 # names a second one (case.HOST_OTHER: a
                                                 # host profile with two, runner.dtb)
    ADD_MEMSLOT_FIRST = "add_memslot_first"      # a memslot is added before the call
                                                 # (`!memslots_empty` fails with one; a
                                                 # bare `memslots_empty` fails on a fresh
                                                 # VM: its valid call adds one)
    HOST_LACKS_FEATURE = "host_lacks_feature"    # the case runs on a host without the
                                                 # feature the predicate reads: the
                                                 # registry's profile (model.hostfeatures)
    NONE = "none"                                # no input makes it fail


@dataclass(frozen=True)
class Concept:
    name: str
    kind: ConceptKind
    family: str                  # "generic", "mte", "memslots", "mmio-guard", "vgic"
    meaning: str


def _c(kind: ConceptKind, family: str, **names: str) -> list[Concept]:
    return [Concept(n, kind, family, m) for n, m in names.items()]


P, H, K = ConceptKind.PREDICATE, ConceptKind.HELPER, ConceptKind.CONSTANT
CONCEPTS: dict[str, Concept] = {c.name: c for c in (
    _c(P, "generic",
       cap_enabled="the VM has the capability (args: cap) enabled",
       vcpus_created="at least one vCPU exists in the VM",
       vcpus_lockable="every vCPU can be locked (none is inside KVM_RUN)",
       user_read_faults="the user pointer argument cannot be read in full",
       user_write_faults="the user pointer argument cannot be written in full",
       host_memory_exhausted="the host cannot allocate (not driven from userspace)",
       bytes_nonzero="some byte of an array (a reserved field) is not zero",
       vm_has_run="a vCPU of the VM has entered the guest (KVM_RUN) at least once",
       vcpu_initialised="KVM_ARM_VCPU_INIT has succeeded on the vCPU",
       vcpu_finalized="every vCPU feature needing KVM_ARM_VCPU_FINALIZE (args: feature, the "
                      "capability reporting it: cap) has had it",
       vcpu_has_feature="the vCPU was initialised with the feature (args: feature)",
       feature_initialised="the vCPU feature (args: feature) has been initialised",
       vcpu_state_set="a piece of per-vCPU state (args: what) has been set by userspace",
       vm_state_set="a piece of VM-wide state (args: what) has been set by userspace (args "
                    "set: the GROUP/ATTR device attribute that sets it, value: the u64 "
                    "its addr points at)",
       caller_capable="the calling process has the POSIX capability (root has all)",
       vcpu_value="a per-vCPU value userspace sets (args: what; unset: its value until set)",
       hva_error="a host address is the error value (no memslot backs the frame)",
       host_has_feature="the host has the architecture feature (not driven from userspace)",
       vm_protected="the VM is a protected (pKVM) VM (no case creates one)",
       vm_ext_allowed="a protected VM's allow-list has the capability (all for a normal VM)",
       range_overlaps="the range the call inserts overlaps one already in the VM's table")
    + _c(P, "memslots",
         no_memslot="no memslot backs the guest frame of the loop cursor",
         memslot_visible="a user-visible memslot backs the guest frame",
         memslot_exists="the memslot the call names exists",
         memslot_at_gfn="a memslot covers the guest frame the call names",
         memslot_flags="the flags the memslot was created with",
         memslot_dirty_logging="the memslot has dirty logging enabled",
         memslots_empty="no user memslot exists in the VM (in any address space)")
    + _c(P, "mte", host_has_mte="the host CPU and kernel support MTE")
    + _c(P, "mmio-guard",
         mmio_guard_enrolled="the guest has enrolled in MMIO guard",
         mmio_guard_page_at="an MMIO guard page is registered at the address")
    + _c(P, "vgic",
         vgic_in_kernel="an in-kernel vGIC exists",
         vgic_model="the model of the in-kernel vGIC",
         vgic_cpu_base="the vGIC CPU interface base address")
    + _c(H, "generic",
         lock="serialise (no single-threaded effect)",
         unlock="end of serialisation",
         release="drop a page reference (no userspace effect)",
         zero_page="the kernel's page of zeros",
         is_aligned="IS_ALIGNED(x, a): x is a multiple of a",
         is_power_of_2="the value is a non-zero power of two",
         bit="BIT(n) = 1 << n",
         genmask="GENMASK(h, l): bits h..l set",
         field_get="FIELD_GET(mask, x): the field of x under mask",
         reg_size="bytes of a ONE_REG register, from its id",
         reg_count="how many registers KVM_GET_REG_LIST lists for the vCPU (the host's: at least one)",
         gfn_hva="the host address backing a guest frame, or the error value",
         value_of="the value of its argument (atomic_read: a counter's value)",
         host_pmu_type="the perf type number of a PMU of the host (read at run time: "
                       "the sysfs event source with a cpus file)",
         range_insert="insert [first, last] into a table of the VM: 0, or -EEXIST on overlap",
         host_pmu="the host PMU a search of the host's PMUs stands on: the one whose type "
                  "the call names (known by that type), else the first",
         vm_value="a VM-wide value userspace sets (args: what; unset: its value until set, "
                  "when the material gives one)")
    + _c(H, "memslots",
         gfn_of="guest frame number of a guest physical address",
         resolve_gfn="the page backing a guest frame",
         page_of="the page of a frame",
         memslots_of="the VM's memslots")
    + _c(H, "mte",
         copy_tags_in="set one tag per granule of a page from the user buffer",
         copy_tags_out="copy one tag per granule of a page to the user buffer")
    + _c(H, "mmio-guard",
         fault_address="the address of the guest's faulting access",
         inject_data_abort="inject a data abort into the guest",
         stage2_annotate="annotate a stage-2 entry",
         stage2_cache_pages="top up the stage-2 page cache",
         stage2_leaf="the stage-2 leaf entry of an address",
         stage2_unmap="unmap a stage-2 range")
    + _c(K, "generic",
         attr_group="a device-attribute group (or attribute) number of mainline's uAPI",
         device_type="a value of mainline's enum kvm_device_type (KVM_CREATE_DEVICE's type)",
         vcpu_feature="a KVM_ARM_VCPU_INIT feature: its bit number in features[]",
         invalid_gpa="the all-ones guest physical address KVM uses for `not set`",
         one_reg_id="a field of a KVM_{GET,SET}_ONE_REG register id, or an id, of mainline's uAPI",
         page_size="the running kernel's page size",
         page_mask="~(page size - 1) of the running kernel",
         page_shift="log2 of the running kernel's page size",
         kvmio="the ioctl type of every KVM ioctl",
         int_max="the largest int",
         enum_count="the number of values of a kernel enum (its NR_ member, which the "
                    "uAPI header hides from userspace behind __KERNEL__)",
         esr_iss_mask="the ISS field of an exception syndrome (ESR_ELx bits 24..0)",
         kernel_size="a size in bytes a kernel header fixes (include/linux/sizes.h: SZ_4K, ...)")
    + _c(K, "memslots",
         mem_readonly="the KVM_MEM_READONLY memslot flag",
         memslots_num="the number of memslots per address space")
    + _c(K, "mte", mte_granule="bytes covered by one MTE tag",
         mte_granules_per_page="MTE tags per page of the running kernel")
)}

KIND_OF_SECTION = {"predicates": (P,), "helpers": (H, P), "constants": (K,)}


def concept_names(kinds=tuple(ConceptKind)) -> list[str]:
    return sorted(n for n, c in CONCEPTS.items() if c.kind in kinds)


def lever_names() -> list[str]:
    return [lv.value for lv in Lever]
