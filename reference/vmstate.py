"""The reference runtime: the VM state userspace sees.

The generated modules (reference/mte_v10.py, ...) hold one function per
spec operation; those functions evaluate the spec's checks in order through
the concept methods of `VMState` (one per concept of
generator/model/concepts.py, from the generic core below and the families:
reference.families, reference.mte), then apply the operation's effect.
`predict` runs a planned case's steps through a fresh `VMState` and returns
one `Outcome` per step: the syscall's return value, its errno and the
digest of the user buffer, computed exactly as the C runtime
(templates/kconform_runtime.h) does.  What a step does to the model is the
step kind's own (generator.model.case: `ref_setup`, `ref_key`,
`ref_values`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

from generator.model import Errno, errno_from_number
from generator.model.case import (GUEST_ANSWERED, ArgPointer, Case, HostValue, StepKind,
                                  StepRole)
from reference import mte
from reference.families import MemslotConcepts, MmioGuardConcepts, VgicConcepts
from reference.mte import GRANULE, MteConcepts  # noqa: F401  (re-exported)
from reference.runtime import (Arg, Call, Cursor, Host, Outcome, Result, Unmodelled,  # noqa: F401
                               UserBuffer, fnv1a64, initial_bytes, pattern_byte)

# the host values that name host PMUs, the first one first (case.HOST_VALUES)
HOST_PMUS = ("pmu_type", "pmu_type_other")

# capability -> the host feature it needs, from every family
CAP_FEATURES: dict[str, str] = {**mte.CAP_FEATURES}


class CoreConcepts:
    """The generic concepts: capabilities, vCPUs, user pointers."""

    def cap_enabled(self, call: Call, it: Optional[Cursor], cap: str) -> bool:
        return cap in self.caps_enabled

    def vcpus_created(self, call: Call, it: Optional[Cursor]) -> bool:
        return self.vcpus > 0

    def vcpus_lockable(self, call: Call, it: Optional[Cursor]) -> bool:
        return not self.vcpus_in_run      # a VCPU_IN_RUN step holds one

    def user_read_faults(self, call: Call, it: Optional[Cursor], ptr: str = "") -> bool:
        return not call.readable(ptr)

    def user_write_faults(self, call: Call, it: Optional[Cursor], ptr: str = "") -> bool:
        return not call.readable(ptr)

    def host_memory_exhausted(self, call: Call, it: Optional[Cursor]) -> bool:
        return False

    def bytes_nonzero(self, call: Call, it: Optional[Cursor], data=(),
                      value: int = 0) -> bool:
        """memchr_inv(data, 0, n) / memcmp(data, zero_page, n): an element
        of the array (or the scalar field itself) differs from value."""
        if isinstance(data, int):
            return data != value
        return any(b != value for b in data)

    def vm_has_run(self, call: Call, it: Optional[Cursor]) -> bool:
        return self.vcpus_ran > 0

    def vcpu_initialised(self, call: Call, it: Optional[Cursor]) -> bool:
        """The vCPU the call is made on (the last one created) is past
        KVM_ARM_VCPU_INIT: another vCPU that ran first does not make it so."""
        return self.last_vcpu_initialised

    def vcpu_finalized(self, call: Call, it: Optional[Cursor], feature: str = "",
                       cap: str = "") -> bool:
        """Every feature of the vCPU that needs KVM_ARM_VCPU_FINALIZE
        (`feature`, reported by `cap`) has had it: no step finalizes one, so
        a vCPU initialised with the feature is not finalized
        (VCPU_NOT_FINALIZED), and one without it has nothing to finalize."""
        return not feature or feature not in self.vcpu_features

    def vcpu_has_feature(self, call: Call, it: Optional[Cursor], feature: str = "") -> bool:
        return feature in self.vcpu_features

    def feature_initialised(self, call: Call, it: Optional[Cursor], feature: str = "",
                            init: str = "") -> bool:
        """Whether the feature of the last vCPU created (the one a vCPU-fd
        call is made on) was initialised (`init`: the attribute that does it)."""
        return feature in self.features_initialised

    def vcpu_state_set(self, call: Call, it: Optional[Cursor], what: str = "") -> bool:
        return what in self.vcpu_state

    def vm_state_set(self, call: Call, it: Optional[Cursor], what: str = "", set: str = "",
                     value: str = "") -> bool:
        """Whether a set-up step set the VM state (`set`: the attribute that does)."""
        return what in self.vm_state

    def vm_value(self, call: Call, it: Optional[Cursor], what: str = "",
                 unset: Optional[str] = None):
        """A VM-wide value: what a call set, else `unset`; with no `unset`
        the material does not say what it is before userspace sets it (the
        VM's default PMU is the one of the physical CPU that ran the vCPU's
        init), and a call that reads it has no prediction."""
        if what in self.vm_values:
            return self.vm_values[what]
        if unset is None:
            raise Unmodelled(what, f"the VM's {what} before userspace sets it: the "
                             "host decides it, the model does not know it")
        return int(unset, 0)

    def set_vm_value(self, what: str, value) -> None:
        """The effect of a call that sets a VM-wide value (vm_value)."""
        self.vm_values[what] = value

    def vcpu_value(self, call: Call, it: Optional[Cursor], what: str = "", unset: str = "0") -> int:
        return self.vcpu_values.get(what, int(unset, 0))

    # ONE_REG registers a spec defines (generator.plan.onereg) ------------
    def set_one_reg(self, reg_id: int, value: int) -> None:
        """KVM_SET_ONE_REG succeeded: the register holds the value."""
        self.one_regs[int(reg_id)] = int(value)

    def one_reg(self, reg_id: int, default: Optional[int], what: str = "") -> int:
        """The register's value: what was set, else its value on a fresh VM."""
        if int(reg_id) in self.one_regs:
            return self.one_regs[int(reg_id)]
        if default is None:
            raise Unmodelled("success", f"the value of `{what}` on a fresh VM: the "
                             "patch's code assigns it nothing the model can read")
        return default

    def put_user_value(self, call: Call, value: int) -> None:
        """KVM_GET_ONE_REG's copy of the value to reg->addr: KVM_REG_SIZE(id)
        bytes, little endian (the step's buffer holds one u64: a wider
        register's first 8 bytes)."""
        if call.buffer is None:
            return
        size = self.reg_size(call, None, reg_id=call.arg.id)
        data = (int(value) & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        for i, b in enumerate(data[:8]):
            call.buffer.write(i, b)

    @staticmethod
    def reg_count(call: Call, it: Optional[Cursor]) -> int:
        """How many registers the vCPU lists: the host's number, which the
        model does not know.  A step that sizes its list (n None) passes
        exactly that number; otherwise the model knows only that there is
        at least one (every vCPU has its core registers), so it predicts
        E2BIG for n = 0 alone."""
        n = getattr(call.arg, "n", None)
        return n if getattr(call.arg, "sized", False) else 1

    @staticmethod
    def listed(call: Call, ids: tuple) -> int:
        """KVM_GET_REG_LIST: bit k set when the step's register k is in `ids`."""
        return sum(1 << k for k, x in enumerate(call.arg.ids) if x in ids)

    def set_vcpu_value(self, what: str, value: int) -> None:
        """The effect of a call that sets a per-vCPU value (vcpu_value)."""
        self.vcpu_values[what] = int(value)

    @staticmethod
    def hva_error(call: Call, it: Optional[Cursor], hva: int = 0) -> bool:
        return hva < 0

    def caller_capable(self, call: Call, it: Optional[Cursor], cap: str = "") -> bool:
        """The tests run as root in the guest: every capability, less the
        ones a DROP_CAPABILITY step dropped (any of them when the check's
        capability is not named)."""
        return cap not in self.caps_dropped if cap else not self.caps_dropped

    def host_has_feature(self, call: Call, it: Optional[Cursor], feature: str = "") -> bool:
        return self.host.has(feature) if feature else True

    def vm_protected(self, call: Call, it: Optional[Cursor]) -> bool:
        return False                  # every case's VM is created with type 0

    def vm_ext_allowed(self, call: Call, it: Optional[Cursor]) -> bool:
        return True                   # no allow-list for a normal VM

    def range_overlaps(self, call: Call, it: Optional[Cursor], first: int = 0,
                       last: int = 0) -> bool:
        """[first, last] overlaps a range the VM's table holds (self.ranges:
        the ranges earlier calls of the case inserted; the kernel's own
        reserved ranges are not in the material and not modelled)."""
        return any(a <= last and first <= b for a, b, by in self.ranges if by is not call)

    def range_insert(self, call: Call, it: Optional[Cursor], first: int = 0,
                     last: int = 0) -> int:
        """mtree_insert_range()'s result: -EEXIST on overlap, else 0 (the host
        never runs out of memory in the model: host_memory_exhausted)."""
        if self.range_overlaps(call, it, first, last):
            return -Errno.EEXIST.value
        # inserted: the model evaluates the helper once per check that
        # reads its result and once more for the success value, all for the
        # same call, which does not overlap itself
        if not any(by is call for *_, by in self.ranges):
            self.ranges.append((first, last, call))
        return 0

    def value_of(self, call: Call, it: Optional[Cursor], value=0):
        return value

    @staticmethod
    def zero_page(call: Call, it: Optional[Cursor]) -> bytes:
        return bytes(4096)

    @staticmethod
    def is_aligned(call: Call, it: Optional[Cursor], x: int = 0, a: int = 1) -> bool:
        return x % a == 0

    @staticmethod
    def is_power_of_2(call: Call, it: Optional[Cursor], x: int = 0) -> bool:
        return x > 0 and x & (x - 1) == 0

    @staticmethod
    def bit(call: Call, it: Optional[Cursor], n: int = 0) -> int:
        return 1 << n

    @staticmethod
    def genmask(call: Call, it: Optional[Cursor], h: int = 0, l: int = 0) -> int:
        return ((1 << (h + 1)) - 1) & ~((1 << l) - 1)

    @staticmethod
    def field_get(call: Call, it: Optional[Cursor], mask: int = 0, x: int = 0) -> int:
        return (x & mask) >> ((mask & -mask).bit_length() - 1) if mask else 0

    @staticmethod
    def reg_size(call: Call, it: Optional[Cursor], reg_id: int = 0) -> int:
        """KVM_REG_SIZE(id): 1 << ((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT)."""
        return 1 << ((reg_id >> 52) & 0xf)

    @staticmethod
    def host_pmu_type(call: Call, it: Optional[Cursor]) -> int:
        """The type of the host PMU a search of the host's PMUs stands on:
        equal only to the value a case reads from the host at run time
        (generator.model.case.HostValue).  The search stops at the entry
        whose type the call names when the call names one of the host's
        PMUs (a value of HOST_PMUS), else it passes every entry, the first
        standing for them all."""
        named = [v for v in vars(call.arg).values()
                 if isinstance(v, HostValue) and v.name in HOST_PMUS]
        return named[0] if named else HostValue(HOST_PMUS[0])

    def host_pmu(self, call: Call, it: Optional[Cursor]) -> int:
        """The host PMU the search stands on, known by its type."""
        return self.host_pmu_type(call, it)

    def lock(self, call: Call, it: Optional[Cursor]) -> int:
        return 0

    def unlock(self, call: Call, it: Optional[Cursor]) -> int:
        return 0

    def release(self, call: Call, it: Optional[Cursor]) -> int:
        return 0


# ---------------------------------------------------------------- the VM
@dataclass
class VMState(CoreConcepts, MemslotConcepts, MteConcepts, MmioGuardConcepts,
              VgicConcepts):
    page_size: int
    host: Host
    caps_enabled: set = field(default_factory=set)
    vcpus: int = 0
    memslots: dict = field(default_factory=dict)   # slot -> (base_gfn, pages)
    tags: dict = field(default_factory=dict)       # gfn -> bytearray
    vcpus_ran: int = 0                             # vCPUs that entered KVM_RUN
    vcpus_initialised: int = 0                     # vCPUs past KVM_ARM_VCPU_INIT
    last_vcpu_initialised: bool = False            # ... the last one created among them
    vcpu_features: set = field(default_factory=set)        # KVM_ARM_VCPU_INIT features
    features_initialised: set = field(default_factory=set)  # e.g. the PMU after its INIT
    vcpu_state: set = field(default_factory=set)   # per-vCPU state userspace has set
    vm_state: set = field(default_factory=set)     # VM-wide state userspace has set
    vm_values: dict = field(default_factory=dict)  # VM-wide values userspace has set
    vcpu_values: dict = field(default_factory=dict)  # per-vCPU values userspace has set
    caps_dropped: set = field(default_factory=set)   # POSIX capabilities the process dropped
    ranges: list = field(default_factory=list)     # (first, last, call) of a VM table's entries
    vcpus_in_run: int = 0                            # vCPUs inside KVM_RUN (a thread)
    last_event: dict = field(default_factory=dict)   # the guest's last GUEST_EXIT event
    one_regs: dict = field(default_factory=dict)   # ONE_REG id -> value userspace has set

    @property
    def page_mask(self) -> int:
        return ~(self.page_size - 1)

    @property
    def page_shift(self) -> int:
        return self.page_size.bit_length() - 1

    # results ------------------------------------------------------------
    @staticmethod
    def fail(errno: Errno, check: str) -> Result:
        return Result(-1, errno, check)

    @staticmethod
    def ok(value: int) -> Result:
        """The success path's return value; a negative one is an -errno
        (a helper's error the handler returns), which the ioctl reports
        as -1 and errno."""
        if int(value) < 0 and errno_from_number(-int(value)) is not None:
            return Result(-1, errno_from_number(-int(value)), "success")
        return Result(int(value), None, "success")

    @staticmethod
    def unmodelled(check: str, reason: str) -> Result:
        """A check the reference cannot evaluate: no prediction past it."""
        raise Unmodelled(check, reason)

    @staticmethod
    def returns(value: int, check: str) -> Result:
        """A check whose failing side returns a value, not -errno."""
        return Result(int(value), None, check)

    def cursor(self, guest_ipa: int) -> Cursor:
        return Cursor(gfn=guest_ipa // self.page_size)

    @staticmethod
    def advance(it: Cursor, copied: int) -> None:
        it.gfn += 1
        it.offset += copied

    # effects --------------------------------------------------------------
    def enable_cap(self, cap: str) -> None:
        self.caps_enabled.add(cap)

    # guest rules (spec.guest): what a vCPU's ioctls or the guest see --------
    @staticmethod
    def rule(value: int, where: str) -> Result:
        """A value a guest rule gives; `where` is "<rule>:value|otherwise"."""
        return Result(int(value), None, where)

    @staticmethod
    def visibility(call: Call, meaning: dict, where: str) -> Result:
        """A register's visibility through the ioctl the step makes:
        KVM_GET/SET_ONE_REG succeed or fail with the vocabulary's errno;
        KVM_GET_REG_LIST lists every register of the step or none."""
        path = call.arg.path
        if path == "reg_list":
            listed = meaning["reg_list"] == "present"
            return Result((1 << call.arg.nregs) - 1 if listed else 0, None, where)
        said = meaning[path]
        if said == "ok":
            return Result(0, None, where)
        return Result(-1, Errno[said], where)

    # exits (GuestRuleKind.EXIT): what KVM_RUN returns for a guest event ----
    def exit_taken(self, call: Call, reason: int, fields: dict, where: str) -> Result:
        """KVM_RUN returns 0 with exit_reason `reason` (a GUEST_EXIT step);
        a RUN_FIELD step then reads `fields[member]`: ("arg", name) a value
        of the guest's event (its ipa, x0...), ("const", n) a number,
        ("bits", n, mask) the bits of mask the step reads, n."""
        if call.arg.path == StepKind.GUEST_EXIT.value:
            self.last_event = dict(vars(call.arg))
            self.vcpus_ran = max(self.vcpus_ran, 1)
            return Result(int(reason), None, where)
        if call.arg.field not in fields:
            raise Unmodelled(where, f"the exit fills no run field {call.arg.field or 'x0'} "
                             "the reference knows")
        kind, value = fields[call.arg.field][:2]
        rule = where.partition(":")[0]
        return Result(int(self.last_event[value] if kind == "arg" else value), None,
                      f"{rule}:field:{call.arg.field}")

    def run_fails(self, call: Call, errno: Errno, where: str) -> Result:
        """KVM_RUN fails with `errno`: there is no exit to read."""
        if call.arg.path == StepKind.GUEST_EXIT.value:
            self.vcpus_ran = max(self.vcpus_ran, 1)
            return Result(-1, errno, where)
        raise Unmodelled(where, f"KVM_RUN failed with {errno.name}: no exit to read")

    def guest_answers(self, call: Call, x0: int, where: str) -> Result:
        """No exit: the guest's call returns `x0` to the guest, which answers."""
        if call.arg.path == StepKind.GUEST_EXIT.value:
            self.vcpus_ran = max(self.vcpus_ran, 1)
            return Result(GUEST_ANSWERED, None, where)
        if call.arg.field:
            raise Unmodelled(where, f"no exit: run field {call.arg.field} is not filled")
        return Result(int(x0), None, where)

    # set-up steps (generator.model.case: Step.ref_setup) -----------------
    @staticmethod
    def setup_ok() -> Outcome:
        return Outcome(0, None, None, "setup")

    @staticmethod
    def setup_fd() -> Outcome:
        """A step that returns a file descriptor (any value >= 0)."""
        return Outcome(None, None, None, "setup")

    def setup_vcpu(self, init: bool = False, features: tuple = ()) -> Outcome:
        """KVM_CREATE_VCPU, and with `init` KVM_ARM_VCPU_INIT with the
        features `features` ((name, bit number), ...; a host that cannot
        offer one skips the case before any prediction is compared).  A
        feature is known by its name and by its number (a predicate may
        name it either way: `vcpu_has_feature(vcpu, KVM_ARM_VCPU_SVE)`)."""
        self.features_initialised = set()     # per vCPU: the new one has none
        self.vcpus += 1
        self.last_vcpu_initialised = init
        if init:
            self.vcpus_initialised += 1
            for name, bit in features:
                self.vcpu_features |= {name, bit}
        return self.setup_fd()

    def setup_run(self) -> Outcome:
        """A vCPU entered the guest (KVM_RUN) and ran one command; what the
        command reports (>= 0) is not modelled."""
        self.vcpus_ran += 1
        return self.setup_fd()

    def setup_vcpu_in_run(self) -> Outcome:
        """The started vCPU stays inside KVM_RUN: it has run, and holds its lock."""
        self.vcpus_in_run += 1
        self.vcpus_ran += 1
        return self.setup_ok()

    def setup_feature_init(self, feature: str) -> Outcome:
        """A feature of the last vCPU created initialised (its init attribute)."""
        self.features_initialised.add(feature)
        return self.setup_ok()

    def setup_vm_state(self, what: str) -> Outcome:
        """A piece of VM state set by its device attribute (vm_state_set)."""
        self.vm_state.add(what)
        return self.setup_ok()

    def setup_drop_capability(self, cap: str) -> Outcome:
        self.caps_dropped.add(cap)
        return self.setup_ok()

    def setup_memslot(self, slot: int, base_gfn: int, pages: int) -> Outcome:
        self.memslots[slot] = (base_gfn, pages)
        self._forget_tags(base_gfn, pages)     # fresh anonymous memory
        return self.setup_ok()

    def setup_delete_memslot(self, slot: int) -> Outcome:
        """Deleting a memslot drops its memory (and the tags it held)."""
        base_gfn, pages = self.memslots.pop(slot)
        self._forget_tags(base_gfn, pages)
        return self.setup_ok()

    def _forget_tags(self, base_gfn: int, pages: int) -> None:
        for gfn in range(base_gfn, base_gfn + pages):
            self.tags.pop(gfn, None)

    def setup_enable_cap(self, cap: str) -> Outcome:
        """KVM_ENABLE_CAP of a capability no spec operation models: it fails
        only when the host lacks the feature the capability's family says
        it needs (CAP_FEATURES)."""
        feature = CAP_FEATURES.get(cap)
        if feature is not None and not self.host.has(feature):
            return Outcome(-1, Errno.EINVAL, None, "setup")
        self.enable_cap(cap)
        return self.setup_ok()


    @staticmethod
    def read_back(field: str, set_value: int, fixed: Optional[int]) -> Outcome:
        """A follow-up GET of one field a call set (ReadBack): the value the
        vocabulary says it always reads back, else the value written."""
        return Outcome(int(set_value if fixed is None else fixed), None, None, "read_back",
                       field)


# ---------------------------------------------------------------- predict
Operations = Mapping[tuple, Callable[[VMState, Call], Result]]


def _call_for(step, page_size: int) -> Call:
    """The call a subject step makes, as the generated function reads it."""
    buf = None
    sizes = step.ref_buffer(page_size)
    if sizes is not None:
        buf = UserBuffer(initial_bytes(step.buffer, sizes[0]), sizes[1])
    readable = getattr(step, "arg", ArgPointer.VALID) is ArgPointer.VALID
    pointers = step.ref_pointers() if hasattr(step, "ref_pointers") else {}
    return Call(Arg(step.ref_values(page_size)), readable, buf, pointers)


def predict(ops: Operations, capabilities: Mapping[str, int], case: Case,
            page_size: int, host: Host) -> list[Outcome]:
    """The outcome of every step of `case` on a kernel that follows the spec."""
    vm = VMState(page_size, host)
    by_number = {n: name for name, n in capabilities.items()}
    out: list[Outcome] = []
    for step in case.steps:
        if step.role is StepRole.SETUP:
            if step.kind is StepKind.CREATE_VM:
                vm = VMState(page_size, host)
            out.append(step.ref_setup(vm))
            continue
        own = step.ref_predict(vm)
        if own is not None:
            out.append(own)
            continue
        key = step.ref_key(by_number)
        # a function keyed by the step's operation wins over one keyed by its
        # capability (the target's default beside another arch's operation)
        fn = ops.get((key[0], step.op)) if step.op and key[1] != step.op else None
        key = (key[0], step.op) if fn is not None else key
        fn = fn or ops.get(key)
        if fn is None:
            # a number the spec does not define: the kernel knows no such cap
            out.append(Outcome(0, None, None, "unknown", key[1]))
            continue
        call = _call_for(step, page_size)
        r = fn(vm, call)
        digest = call.buffer.digest() if call.buffer is not None else None
        out.append(Outcome(r.ret, r.errno, digest, r.check, key[1]))
    return out
