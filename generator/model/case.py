"""The case IR: what a planned test case is, independent of who built it.

The planner (generator.plan) builds `Case`s; the C renderer, the reference
runtime, the cross-check and the pipeline read them.  A case is a list of
`Step`s; sizes are `Val`s (pages * PAGE_SIZE + bytes, optionally divided)
resolved with the running kernel's page size on both sides.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field, replace
from typing import ClassVar, Optional

from generator.model.spec import Source


SLOT = 0                 # memslot used by every case
SLOT_BASE_PAGES = 256    # guest IPA of the slot, in pages
SLOT_PAGES = 8           # size of the slot, in pages
OUTSIDE_PAGES = SLOT_BASE_PAGES + 4 * SLOT_PAGES   # an IPA no slot covers
SENTINEL = 0xA5          # prefill of buffers the kernel may write
# an IPA no memslot backs, inside the guest runtime's Device-mapped second
# GiB (KG_MMIO_BASE, templates/guest/kconform_guest_abi.h: KG_UNBACKED_IPA)
GUEST_UNBACKED_IPA = 0x40001100
# what a GUEST_EXIT step reports when the guest's call returned to the guest
# and the guest answered its command (KC_GUEST_ANSWERED in kconform_vcpu.h)
GUEST_ANSWERED = 1000
ONE_REG_BYTES = 8        # the value a ONE_REG step's reg.addr points at: one u64


# ---------------------------------------------------------------- values
# values only the host under test knows, read by the C runtime at run time
# (templates/kconform_types.h kc_host_value): name -> C constant
HOST_VALUES = {"pmu_type": "KC_HOST_PMU_TYPE",   # perf type of the host's (first) arm PMU
               "pmu_type_other": "KC_HOST_PMU_TYPE_OTHER"}  # ... of a second one
# a host value's counterpart naming another entry of the same host list
# (the second host PMU): what a case that needs two entries sends
HOST_OTHER = {"pmu_type": "pmu_type_other"}
# a host value only a host profile gives (pmu_type_other: a feature the
# profile adds, specs/host-features.yaml host_values) makes the planner run
# the case sending it on that profile (Case.host); elsewhere the C runtime
# skips it, naming the profile


class HostValue(int):
    """A value the host gives at run time (Val.host), in the reference: it
    equals only the same host value, never a number a case chose (an
    unused id is one no host gives)."""

    def __new__(cls, name: str):
        obj = super().__new__(cls, 0)
        obj.name = name
        return obj

    def __eq__(self, other):
        return isinstance(other, HostValue) and other.name == self.name

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = int.__hash__

    def __repr__(self):
        return f"<host {self.name}>"


@dataclass(frozen=True)
class Val:
    """pages * PAGE_SIZE + bytes, divided by div (1 unless a buffer size);
    or, with `host`, a value the host gives at run time (HOST_VALUES)."""
    pages: int = 0
    bytes: int = 0
    div: int = 1
    host: str = ""

    def resolve(self, page_size: int) -> int:
        if self.host:
            return HostValue(self.host)
        return (self.pages * page_size + self.bytes) // self.div

    def plus(self, nbytes: int) -> "Val":
        return replace(self, bytes=self.bytes + nbytes)

    def __str__(self) -> str:
        if self.host:
            return f"<host {self.host}>"
        parts = [f"{self.pages}p"] if self.pages else []
        if self.bytes or not parts:
            parts.append(hex(self.bytes) if self.bytes > 9 else str(self.bytes))
        s = "+".join(parts)
        return f"({s})/{self.div}" if self.div != 1 else s


# ---------------------------------------------------------------- steps
class StepKind(enum.Enum):
    """What a step does.  Each kind is declared once, by the `Step` subclass
    that names it as its KIND: that class holds the kind's fields, its C
    initialiser (`c_init`) and its effect in the reference (`ref_setup` as
    a set-up step; `ref_key`/`ref_values` as the subject of a case).  The C
    enum (templates/kconform_steps.h) is generated from this one."""
    CREATE_VM = "create_vm"
    CHECK_EXTENSION = "check_extension"
    ENABLE_CAP = "enable_cap"
    CREATE_VCPU = "create_vcpu"
    ADD_MEMSLOT = "add_memslot"
    VM_IOCTL = "vm_ioctl"            # a spec ioctl taking a struct argument
    VCPU_START = "vcpu_start"        # a vCPU running the guest runtime
    GET_ONE_REG = "get_one_reg"      # KVM_GET_ONE_REG of a system register
    SET_ONE_REG = "set_one_reg"      # KVM_SET_ONE_REG of the value it holds
    REG_LIST = "reg_list"            # which registers KVM_GET_REG_LIST lists
    GUEST = "guest"                  # one command run by the guest
    PAGEOUT = "pageout"              # MADV_PAGEOUT of a memslot's mapping
    DEVICE_ATTR = "device_attr"      # KVM_{SET,GET,HAS}_DEVICE_ATTR on the VM or a vCPU
    DELETE_MEMSLOT = "delete_memslot"  # KVM_SET_USER_MEMORY_REGION of size 0
    DROP_CAPABILITY = "drop_capability"  # the process drops a POSIX capability
    VCPU_IN_RUN = "vcpu_in_run"      # the started vCPU stays inside KVM_RUN (a thread)
    READ_BACK = "read_back"          # a GET ioctl reading back one field a call set
    GUEST_EXIT = "guest_exit"        # the guest makes an event; what KVM_RUN returns
    RUN_FIELD = "run_field"          # a kvm_run field of the last exit (or the guest's x0)
    CREATE_DEVICE = "create_device"  # KVM_CREATE_DEVICE of a device type on the VM

    @property
    def c_name(self) -> str:
        return f"KC_{self.name}"

    @property
    def step_class(self) -> type["Step"]:
        return STEP_CLASSES[self]


class StepRole(enum.Enum):
    SETUP = "setup"                  # not defined by the spec under test
    SUBJECT = "subject"              # an operation of the spec


class ArgPointer(enum.Enum):
    VALID = "valid"
    UNMAPPED = "unmapped"            # points at a PROT_NONE page

    @property
    def c_name(self) -> str:
        return f"KC_ARG_{self.name}"


class Fill(enum.Enum):
    SENTINEL = "sentinel"            # every byte SENTINEL: kernel writes it
    PATTERN = "pattern"              # a distinct tag per granule, by seed

    @property
    def c_name(self) -> str:
        return f"KC_FILL_{self.name}"


class GuestOp(enum.Enum):
    """A command the guest runtime runs (enum kg_op of kconform_guest_abi.h)."""
    MRS = "mrs"                      # read a system register
    STG = "stg"                      # set a tag per granule over a range
    LDG = "ldg"                      # read the tags of a range
    SPIN = "spin"                    # stay in the guest until the VMM changes the command
    LDP = "ldp"                      # a load pair from an IPA (no ISV syndrome describes it)
    HVC = "hvc"                      # an HVC with x0..x2; the result is x0
    SMC = "smc"                      # an SMC with x0..x2; the result is x0

    @property
    def c_name(self) -> str:
        return f"KC_GOP_{self.name}"


class Report(enum.Enum):
    """What a guest step reports as its `ret`."""
    FIELD = "field"                  # (value >> shift) & mask(width); -1 on fault
    ACCESS = "access"                # 1 read completed, 0 UNDEF, -1 other fault
    TCO = "tco"                      # PSTATE.TCO on exception entry; -1 none
    TAGS = "tags"                    # granules read; digest of the tags
    COUNT = "count"                  # the command's result as is

    @property
    def c_name(self) -> str:
        return f"KC_REPORT_{self.name}"


class AttrRequest(enum.Enum):
    """Which device-attribute ioctl a DEVICE_ATTR step makes."""
    SET = "set"
    GET = "get"
    HAS = "has"

    @property
    def c_name(self) -> str:
        return f"KVM_{self.name}_DEVICE_ATTR"


# C enums generated from the Python ones: (C enum, Python enum, first value)
C_ENUMS = (("kc_step_kind", StepKind, 1), ("kc_argp", ArgPointer, 0),
           ("kc_fill", Fill, 0), ("kc_guest_op", GuestOp, 1), ("kc_report", Report, 0))


@dataclass(frozen=True)
class Buffer:
    length: Val                      # bytes the operation may touch
    valid: Val                       # bytes mapped before a guard page
    fill: Fill = Fill.SENTINEL
    seed: int = 0


STEP_CLASSES: dict[StepKind, type["Step"]] = {}


@dataclass(frozen=True)
class Step:
    """One call a case makes.  Subclasses declare KIND and their fields; the
    attributes below are what a kind without such a field answers, so code
    that walks every step of a case may ask any step for them."""
    KIND: ClassVar[StepKind]
    GUEST_RULE: ClassVar[bool] = False   # observes a guest rule (spec.guest)

    role: StepRole = StepRole.SETUP
    op: str = ""                     # spec operation (or guest rule) name
    note: str = ""

    cap = ""
    cap_number = None
    reg = ""
    regs = ()
    buffer = None

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        kind = cls.__dict__.get("KIND")
        if kind is not None:
            if kind in STEP_CLASSES:
                raise TypeError(f"step kind {kind.value} declared twice: "
                                f"{STEP_CLASSES[kind].__name__} and {cls.__name__}")
            STEP_CLASSES[kind] = cls

    @property
    def kind(self) -> StepKind:
        return self.KIND

    def sizes(self) -> list[Val]:
        """Every size the step holds (fields, addresses, buffer, guest args)."""
        out: list[Val] = []

        def walk(x):
            if isinstance(x, Val):
                out.append(x)
            elif isinstance(x, Buffer):
                out.extend((x.length, x.valid))
            elif isinstance(x, tuple):
                for y in x:
                    walk(y)
        for f in dataclasses.fields(self):
            walk(getattr(self, f.name))
        return out

    # -- C: the step's designated initialiser (generator.render.c joins the lines)
    def c_init(self, r) -> list[str]:
        """`r` is the renderer (cap_macro, sysreg_macro, mrs_macro, val_init, ops)."""
        return [f".kind = {self.KIND.c_name}"]

    # -- reference (reference.vmstate): as a set-up step ...
    def ref_setup(self, vm):
        raise ValueError(f"{self.KIND.value} is not a setup step")

    # ... and as the subject of a case: which function of the generated
    # module models it, and the argument values that function reads
    def ref_key(self, by_number: dict) -> tuple[str, str]:
        return ("guest_rule" if self.GUEST_RULE else self.KIND.value, self.cap or self.op)

    def ref_values(self, page_size: int) -> dict:
        return {}

    def ref_buffer(self, page_size: int):
        """(initial bytes length, mapped bytes) of the user buffer, or None."""
        return None

    def ref_predict(self, vm):
        """A subject step the reference predicts by itself (no function of
        the generated module models it): its Outcome, or None."""
        return None


@dataclass(frozen=True)
class CreateVm(Step):
    KIND = StepKind.CREATE_VM

    def ref_setup(self, vm):
        return vm.setup_fd()


@dataclass(frozen=True)
class CheckExtension(Step):
    KIND = StepKind.CHECK_EXTENSION
    cap: str = ""
    cap_number: Optional[int] = None  # probe this number, not the bound one

    def c_init(self, r) -> list[str]:
        line = f".kind = {self.KIND.c_name}"
        if self.cap:
            line += f", .cap = {r.cap_macro(self.cap, self.cap_number is not None)}"
        return [line]

    def ref_key(self, by_number: dict) -> tuple[str, str]:
        name = self.cap if self.cap_number is None else by_number.get(self.cap_number, "")
        return (self.KIND.value, name)


@dataclass(frozen=True)
class EnableCap(Step):
    KIND = StepKind.ENABLE_CAP
    cap: str = ""
    flags: int = 0                   # KVM_ENABLE_CAP flags
    args: tuple = (0, 0, 0, 0)       # ... args[]
    arg: ArgPointer = ArgPointer.VALID   # where the struct kvm_enable_cap pointer points

    def c_init(self, r) -> list[str]:
        m = [f".kind = {self.KIND.c_name}"]
        if self.cap:
            m.append(f".cap = {r.cap_macro(self.cap)}")
        if self.flags:
            m.append(f".flags = {self.flags:#x}")
        if any(self.args):
            m.append(".args = { " + ", ".join(f"{a:#x}" for a in self.args) + " }")
        if self.arg is not ArgPointer.VALID:
            m.append(f".argp = {self.arg.c_name}")
        return [", ".join(m)]

    def ref_setup(self, vm):
        return vm.setup_enable_cap(self.cap)

    def ref_values(self, page_size: int) -> dict:
        return {"flags": self.flags, **{f"args[{i}]": a for i, a in enumerate(self.args)}}


@dataclass(frozen=True)
class CreateVcpu(Step):
    """KVM_CREATE_VCPU; with `init`, then KVM_ARM_PREFERRED_TARGET and
    KVM_ARM_VCPU_INIT with the feature bits `features` ((name, bit), ...).
    A host that refuses the init with a feature cannot run the case: it
    is skipped naming the feature (the C runtime), never a divergence."""
    KIND = StepKind.CREATE_VCPU
    init: bool = False
    features: tuple = ()             # ((KVM_ARM_VCPU_* name, bit number), ...)

    @property
    def feature_mask(self) -> int:
        mask = 0
        for _, bit in self.features:
            mask |= 1 << bit
        return mask

    def c_init(self, r) -> list[str]:
        if not self.init:
            return [f".kind = {self.KIND.c_name}"]
        names = " ".join(n for n, _ in self.features)
        return [f".kind = {self.KIND.c_name}, .vcpu_init = 1",
                f'.features = {self.feature_mask:#x}ULL, .feature_names = "{names}"']

    def ref_setup(self, vm):
        return vm.setup_vcpu(self.init, self.features)


@dataclass(frozen=True)
class AddMemslot(Step):
    KIND = StepKind.ADD_MEMSLOT
    slot: int = SLOT
    guest_ipa: Val = Val()
    pages: int = 0

    def c_init(self, r) -> list[str]:
        return [f".kind = {self.KIND.c_name}, .slot = {self.slot}",
                f".guest_ipa = {r.val_init(self.guest_ipa)}, .pages = {self.pages}"]

    def ref_setup(self, vm):
        return vm.setup_memslot(self.slot, self.guest_ipa.resolve(vm.page_size)
                                // vm.page_size, self.pages)


@dataclass(frozen=True)
class VmIoctl(Step):
    KIND = StepKind.VM_IOCTL
    fields: tuple = ()               # ((field path, Val), ...)
    arg: ArgPointer = ArgPointer.VALID
    buffer: Optional[Buffer] = None
    on_vcpu: bool = False            # issued on the last vCPU created, not the VM

    def value(self, path: str) -> Val:
        return dict(self.fields).get(path, Val())

    def c_init(self, r) -> list[str]:
        d = r.ops[self.op]
        lines = [f".kind = {self.KIND.c_name}, .op = {d.index}"]
        if self.on_vcpu:
            lines[0] += ", .on_vcpu = 1"
        for i, f in enumerate(d.fields):
            if self.value(f) != Val():
                lines.append(f".v[{i}] = {r.val_init(self.value(f))},\t/* {f} */")
        if self.arg is not ArgPointer.VALID:
            lines.append(f".argp = {self.arg.c_name},")
        if self.buffer is not None:
            b = self.buffer
            lines += [".buf = { .present = 1,",
                      f"  .length = {r.val_init(b.length)},",
                      f"  .valid = {r.val_init(b.valid)},",
                      f"  .fill = {b.fill.c_name}, .seed = {b.seed} }},"]
        return lines

    def ref_values(self, page_size: int) -> dict:
        return {p: v.resolve(page_size) for p, v in self.fields}

    def ref_buffer(self, page_size: int):
        if self.buffer is None:
            return None
        return (self.buffer.length.resolve(page_size), self.buffer.valid.resolve(page_size))


@dataclass(frozen=True)
class DeviceAttr(Step):
    """KVM_SET/GET/HAS_DEVICE_ATTR with a struct kvm_device_attr whose addr
    points at one u64 holding `value` (or at an unmapped page: `addr`), on
    the VM fd or on the last vCPU created."""
    KIND = StepKind.DEVICE_ATTR
    request: AttrRequest = AttrRequest.HAS
    on_vcpu: bool = False
    group: int = 0
    attr: int = 0
    value: Val = Val()
    arg: ArgPointer = ArgPointer.VALID
    addr: ArgPointer = ArgPointer.VALID
    fields: tuple = ()               # ((path, Val), ...): addr points at the struct the
                                     # handler copies (its fill is ops[op]), not a u64
    initialises: str = ""            # as a set-up step: the vCPU feature it initialises
    sets_state: str = ""             # ... or the VM state it sets (vm_state_set's `what`)

    def c_init(self, r) -> list[str]:
        vstruct = ", .vstruct = 1" if self.fields else ""
        lines = [f".kind = {self.KIND.c_name}",
                 f".dattr = {{ .req = {self.request.c_name}, .on_vcpu = {int(self.on_vcpu)},",
                 f"  .group = {self.group:#x}, .attr = {self.attr:#x},",
                 f"  .value = {r.val_init(self.value)}, .addrp = {self.addr.c_name}{vstruct} }},"]
        if self.fields:
            d = r.ops[self.op]
            lines.append(f".op = {d.index},")
            values = dict(self.fields)
            for i, f in enumerate(d.fields):
                if values.get(f, Val()) != Val():
                    lines.append(f".v[{i}] = {r.val_init(values[f])},\t/* {f} */")
        if self.arg is not ArgPointer.VALID:
            lines.append(f".argp = {self.arg.c_name},")
        return lines

    def ref_setup(self, vm):
        if self.sets_state:
            return vm.setup_vm_state(self.sets_state)
        if not self.initialises:
            raise ValueError("a device attribute is a set-up step only to initialise a "
                             "vCPU feature or to set VM state")
        return vm.setup_feature_init(self.initialises)

    def ref_values(self, page_size: int) -> dict:
        out = {"flags": 0, "group": self.group, "attr": self.attr}
        if self.fields:
            out.update((p, v.resolve(page_size)) for p, v in self.fields)
        else:
            out["value"] = self.value.resolve(page_size)
        return out

    def ref_pointers(self) -> dict:
        """Which user pointers of the call can be dereferenced."""
        return {"addr": self.addr is ArgPointer.VALID}


@dataclass(frozen=True)
class VcpuStart(Step):
    """A vCPU initialised (KVM_ARM_VCPU_INIT, with the feature bits
    `features`) and loaded with the guest runtime."""
    KIND = StepKind.VCPU_START
    features: tuple = ()             # ((KVM_ARM_VCPU_* name, bit number), ...)

    def c_init(self, r) -> list[str]:
        if not self.features:
            return [f".kind = {self.KIND.c_name}"]
        mask = sum(1 << bit for _, bit in self.features)
        names = " ".join(n for n, _ in self.features)
        return [f".kind = {self.KIND.c_name}",
                f'.features = {mask:#x}ULL, .feature_names = "{names}"']

    def ref_setup(self, vm):
        return vm.setup_vcpu(True, self.features)


@dataclass(frozen=True)
class GuestExit(Step):
    """The guest runtime makes one event (`guest_op` with `gargs`: an LDP
    from an IPA, an HVC/SMC with x0..x2) and the vCPU runs once: ret is
    KVM_RUN's exit_reason, -1 with its errno when KVM_RUN fails, or
    GUEST_ANSWERED when the call returned to the guest (its x0: RUN_FIELD
    with no field)."""
    KIND = StepKind.GUEST_EXIT
    GUEST_RULE = True
    guest_op: GuestOp = GuestOp.LDP
    gargs: tuple = ()                # ints: (ipa,) or (x0, x1, x2)

    def c_init(self, r) -> list[str]:
        args = ", ".join(f"{{ .bytes = {a:#x} }}" for a in self.gargs)
        return [f".kind = {self.KIND.c_name}, .gop = {self.guest_op.c_name}",
                ".gargs = { " + args + " },"]

    def ref_values(self, page_size: int) -> dict:
        return {"path": self.KIND.value, "guest_op": self.guest_op.value,
                **dict(zip(("x0", "x1", "x2") if self.guest_op is not GuestOp.LDP
                           else ("ipa",), self.gargs))}


@dataclass(frozen=True)
class RunFieldRead(Step):
    """A field of `struct kvm_run` as the last GUEST_EXIT left it (a C
    member path, read with offsetof/sizeof of the headers the test is
    built with), or with no field the x0 the guest's call returned."""
    KIND = StepKind.RUN_FIELD
    GUEST_RULE = True
    field: str = ""                  # "arm_nisv.fault_ipa"; "" for the guest's x0
    mask: int = 0                    # report value & mask (0: the whole value)

    def c_init(self, r) -> list[str]:
        if not self.field:
            return [f".kind = {self.KIND.c_name}"]
        mask = f", .mask = {self.mask:#x}ULL" if self.mask else ""
        return [f".kind = {self.KIND.c_name}",
                f".rfield = {{ .off = offsetof(struct kvm_run, {self.field}),",
                f"  .size = sizeof(((struct kvm_run *)0)->{self.field}){mask} }},"]

    def ref_values(self, page_size: int) -> dict:
        return {"path": self.KIND.value, "field": self.field, "mask": self.mask}


def _guest_values(step: "Step", page_size: int) -> dict:
    values = {"path": step.KIND.value, "guest_op": getattr(step, "guest_op", None),
              "report": getattr(step, "report", None), "nregs": len(step.regs)}
    values = {k: (v.value if isinstance(v, enum.Enum) else v if v is not None else "")
              for k, v in values.items()}
    for name, v in zip(("ipa", "bytes", "seed"), getattr(step, "gargs", ())):
        values[name] = v.resolve(page_size)
    return values


def _one_reg_value_init(step, r) -> list[str]:
    """The C of a ONE_REG step a spec operation is the subject of: the
    register id, the u64 at reg.addr, which pointers are unmapped."""
    lines = [f".kind = {step.KIND.c_name}, .reg = {step.reg_id:#x}ULL",
             f".oreg = {{ .direct = 1, .value = {r.val_init(step.value)}, "
             f".addrp = {step.addr.c_name} }},"]
    if step.arg is not ArgPointer.VALID:
        lines.append(f".argp = {step.arg.c_name},")
    return lines


class _OneReg:
    """What KVM_GET_ONE_REG and KVM_SET_ONE_REG steps share.  A step names
    either a system register of the guest vocabulary (`reg`: a guest
    rule's observation on the vCPU the guest runtime runs), or, as the
    subject of a spec operation, the register id the patch defines
    (`reg_id`), the u64 its struct kvm_one_reg's addr points at (`value`)
    and which of the two pointers is unmapped; it then acts on the last
    vCPU created."""

    @property
    def direct(self) -> bool:
        return not self.reg

    def ref_key(self, by_number: dict) -> tuple[str, str]:
        return ("guest_rule", self.op) if self.reg else (self.KIND.value, self.op)

    def ref_values(self, page_size: int) -> dict:
        if self.reg:
            return _guest_values(self, page_size)
        return {"id": self.reg_id, "value": self.value.resolve(page_size)}

    def ref_pointers(self) -> dict:
        return {"addr": self.addr is ArgPointer.VALID}


@dataclass(frozen=True)
class GetOneReg(_OneReg, Step):
    """KVM_GET_ONE_REG.  As a spec operation's subject the step reports
    the call's return and, as its digest, the 8 bytes at reg.addr after it
    (prefilled with SENTINEL: a failed call leaves them)."""
    KIND = StepKind.GET_ONE_REG
    GUEST_RULE = True
    reg: str = ""                    # system register name (guest vocabulary)
    shift: int = 0                   # field of the value reported ...
    width: int = 0                   # ... (width 0: the whole register)
    reg_id: int = 0                  # a spec operation's register id
    value: Val = Val()
    arg: ArgPointer = ArgPointer.VALID
    addr: ArgPointer = ArgPointer.VALID

    def c_init(self, r) -> list[str]:
        if self.direct:
            return _one_reg_value_init(self, r)
        line = f".kind = {self.KIND.c_name}, .reg = {r.sysreg_macro(self.reg)}"
        if self.width:
            line += f", .shift = {self.shift}, .width = {self.width}"
        return [line]

    @property
    def buffer(self) -> Optional[Buffer]:
        if self.reg:
            return None
        mapped = Val(bytes=ONE_REG_BYTES if self.addr is ArgPointer.VALID else 0)
        return Buffer(length=Val(bytes=ONE_REG_BYTES), valid=mapped)

    def ref_buffer(self, page_size: int):
        b = self.buffer
        return None if b is None else (b.length.resolve(page_size), b.valid.resolve(page_size))


@dataclass(frozen=True)
class SetOneReg(_OneReg, Step):
    """KVM_SET_ONE_REG: of a guest register, the value it holds written
    back; of a spec operation's register, `value`."""
    KIND = StepKind.SET_ONE_REG
    GUEST_RULE = True
    reg: str = ""
    reg_id: int = 0
    value: Val = Val()
    arg: ArgPointer = ArgPointer.VALID
    addr: ArgPointer = ArgPointer.VALID

    def c_init(self, r) -> list[str]:
        if self.direct:
            return _one_reg_value_init(self, r)
        return [f".kind = {self.KIND.c_name}, .reg = {r.sysreg_macro(self.reg)}"]


@dataclass(frozen=True)
class RegList(Step):
    """KVM_GET_REG_LIST; ret is a mask, bit i set when register i of the
    step is listed.  Registers are guest-vocabulary names (`regs`, a guest
    rule's observation on the guest runtime's vCPU), or, on the last vCPU
    created, ids a spec defines (`reg_ids`, keyed by the GET that reads
    them) or none (the request as a spec operation's subject, `arg` its
    pointer): the list is sized by a first call (n = 0, E2BIG) and read by
    a second, unless `n` is given (one call with it); a failing call's
    errno is the step's (the n an E2BIG writes back is the host's count,
    not compared).""" 
    KIND = StepKind.REG_LIST
    GUEST_RULE = True
    regs: tuple = ()                 # register names looked for
    reg_ids: tuple = ()              # ... or register ids
    arg: ArgPointer = ArgPointer.VALID
    n: Optional[int] = None          # struct kvm_reg_list's n for one call (None: sized)

    @property
    def direct(self) -> bool:
        return not self.regs

    def c_init(self, r) -> list[str]:
        if self.direct:
            n = "" if self.n is None else f", .n_set = 1, .value = {{ .bytes = {self.n:#x} }}"
            lines = [f".kind = {self.KIND.c_name}, .oreg = {{ .direct = 1{n} }}"]
            if self.reg_ids:
                lines.append(".regs = { " + ", ".join(f"{x:#x}ULL" for x in self.reg_ids)
                             + " },")
            if self.arg is not ArgPointer.VALID:
                lines.append(f".argp = {self.arg.c_name},")
            return lines
        return [f".kind = {self.KIND.c_name}",
                ".regs = { " + ", ".join(r.sysreg_macro(x) for x in self.regs) + " }"]

    def ref_key(self, by_number: dict) -> tuple[str, str]:
        return (self.KIND.value, self.op) if self.direct else ("guest_rule", self.op)

    def ref_values(self, page_size: int) -> dict:
        if self.direct:
            return {"ids": self.reg_ids, "n": self.n or 0, "sized": self.n is None}
        return _guest_values(self, page_size)


@dataclass(frozen=True)
class Guest(Step):
    KIND = StepKind.GUEST
    GUEST_RULE = True
    reg: str = ""                    # MRS: the register
    guest_op: GuestOp = GuestOp.MRS
    gargs: tuple = ()                # STG/LDG: Val arguments (ipa, bytes, seed)
    report: Report = Report.COUNT
    shift: int = 0
    width: int = 0

    def c_init(self, r) -> list[str]:
        args = ([f"{{ .bytes = {r.mrs_macro(self.reg)} }}"] if self.guest_op is GuestOp.MRS
                else [r.val_init(v) for v in self.gargs])
        last = f".report = {self.report.c_name}"
        if self.width:
            last += f", .shift = {self.shift}, .width = {self.width}"
        return [f".kind = {self.KIND.c_name}, .gop = {self.guest_op.c_name}",
                ".gargs = { " + ", ".join(args) + " },", last]

    def ref_setup(self, vm):
        # as a set-up step a guest command only makes the vCPU enter the
        # guest (KVM_RUN): what it reports is not the case's subject
        return vm.setup_run()

    def ref_values(self, page_size: int) -> dict:
        return _guest_values(self, page_size)


@dataclass(frozen=True)
class Pageout(Step):
    KIND = StepKind.PAGEOUT
    slot: int = SLOT

    def c_init(self, r) -> list[str]:
        return [f".kind = {self.KIND.c_name}, .slot = {self.slot}"]

    def ref_setup(self, vm):
        # swapping a page out and back changes nothing userspace or the
        # guest can see: its tags come back with it
        return vm.setup_ok()


@dataclass(frozen=True)
class DeleteMemslot(Step):
    """Delete a memslot an earlier ADD_MEMSLOT created (size 0); its memory
    is unmapped, so a slot added again at the same place starts untagged."""
    KIND = StepKind.DELETE_MEMSLOT
    slot: int = SLOT

    def c_init(self, r) -> list[str]:
        return [f".kind = {self.KIND.c_name}, .slot = {self.slot}"]

    def ref_setup(self, vm):
        return vm.setup_delete_memslot(self.slot)


@dataclass(frozen=True)
class DropCapability(Step):
    """The test process drops a POSIX capability (CAP_SYS_BOOT, ...) from
    its effective set until the case ends (the runtime raises it again at
    teardown: it stays permitted), so a `capable()` check fails."""
    KIND = StepKind.DROP_CAPABILITY
    posix_cap: str = ""              # the <linux/capability.h> name

    def c_init(self, r) -> list[str]:
        return [f".kind = {self.KIND.c_name}, .cap = {self.posix_cap or 'CAP_CHOWN'}"]

    def ref_setup(self, vm):
        return vm.setup_drop_capability(self.posix_cap)


@dataclass(frozen=True)
class VcpuInRun(Step):
    """The vCPU VCPU_START started enters KVM_RUN on a thread of its own and
    stays in the guest (guest command SPIN) until the case ends, holding
    its vCPU mutex: an ioctl that must lock every vCPU cannot."""
    KIND = StepKind.VCPU_IN_RUN

    def ref_setup(self, vm):
        return vm.setup_vcpu_in_run()


@dataclass(frozen=True)
class ReadBack(Step):
    """A follow-up read of what a subject call set: the GET ioctl `request`
    (the uAPI header's) on the same fd, into the operation's struct
    (prefilled with SENTINEL bytes), reporting field `field` as its ret.
    The reference predicts `fixed` when the vocabulary says the field
    always reads back that value, else `set_value`, what the call wrote."""
    KIND = StepKind.READ_BACK
    request: str = ""
    field: str = ""
    on_vcpu: bool = False
    set_value: int = 0
    fixed: Optional[int] = None

    def c_init(self, r) -> list[str]:
        d = r.ops[self.op]
        return [f".kind = {self.KIND.c_name}, .op = {d.index}, .on_vcpu = {int(self.on_vcpu)}",
                f".rb_request = {self.request}, .rb_field = {d.fields.index(self.field)}"
                f",\t/* {self.field} */"]

    def ref_predict(self, vm):
        return vm.read_back(self.field, self.set_value, self.fixed)


@dataclass(frozen=True)
class CreateDevice(Step):
    """KVM_CREATE_DEVICE on the VM fd of device type `dev_type` with
    `flags` (KVM_CREATE_DEVICE_TEST: probe the type without creating a
    device); `arg` unmapped points the struct kvm_create_device pointer at
    the page after it.  A device the call creates is closed at once."""
    KIND = StepKind.CREATE_DEVICE
    dev_type: int = 0
    flags: int = 0
    arg: ArgPointer = ArgPointer.VALID

    def c_init(self, r) -> list[str]:
        line = f".kind = {self.KIND.c_name}, .dtype = {self.dev_type:#x}"
        if self.flags:
            line += f", .flags = {self.flags:#x}"
        if self.arg is not ArgPointer.VALID:
            line += f", .argp = {self.arg.c_name}"
        return [line]

    def ref_values(self, page_size: int) -> dict:
        return {"type": self.dev_type, "flags": self.flags}


# steps that observe a guest rule (spec.guest) rather than an operation
GUEST_STEPS = tuple(k for k, c in STEP_CLASSES.items() if c.GUEST_RULE)


def check_step_kinds() -> None:
    """Every StepKind has its class (run on import: a kind without one is
    a programming error, caught before any spec is read)."""
    missing = [k.value for k in StepKind if k not in STEP_CLASSES]
    if missing:
        raise TypeError(f"step kind(s) with no Step class: {', '.join(missing)}")


check_step_kinds()


@dataclass
class Case:
    id: str
    spec: str
    clause: str                      # check id or semantic clause
    source: Source                   # the patch line the case tests
    description: str
    steps: list[Step]
    violates: list[str] = field(default_factory=list)
    requires_cap: str = ""           # skip unless the host reports it
    requires_value: bool = False     # the capability answers a value: 0 is not "absent"
    skip_reason: str = ""            # why, naming the host-only check
    host: str = ""                   # the host profile it runs on (specs/host-features.yaml;
                                     # "" the default host, which has every feature)

    def host_values(self) -> set[str]:
        """The host values (HOST_VALUES) its steps send."""
        def vals(v):
            if isinstance(v, Val):
                yield v
            elif isinstance(v, tuple):            # fields: ((path, Val), ...)
                for x in v:
                    yield from vals(x)
        return {x.host for step in self.steps for v in vars(step).values()
                for x in vals(v) if x.host}


# ---------------------------------------------------------------- untested
class Gap(enum.Enum):
    """Why a check of the spec gets no case (or a case gets no verdict):
    each is reported as a row with the verdict `untested`, never a pass."""
    UNMAPPED = "unmapped name"                    # a predicate/constant not in the vocabulary
    NO_LEVER = "no lever for a condition of this shape"
    HOST_ONLY = "only the host decides it"
    NOT_EVALUABLE = "an expression the reference cannot evaluate"
    RUNTIME_LIMIT = "the runtime cannot hold it"
    NOT_OBSERVABLE = "its failure is not observable alone"   # no errno
    FIXED = "the patch's own code fixes its outcome"
    NOT_TARGETED = "no case targets it"
    NO_STEP_KIND = "no step kind issues its entry point yet"
    TARGET_ARCH = "the target architecture lacks a facility it needs"


@dataclass(frozen=True)
class Untested:
    """One check (or case) that no case exercises, with the reason.
    `check` is the check's id in operation `op`; `case` the case id a
    dropped case had ("" when no case was planned for it)."""
    spec: str
    op: str
    check: str
    source: Source
    gap: Gap
    detail: str
    case: str = ""

    @property
    def reason(self) -> str:
        if self.detail.startswith(self.gap.value):     # "unmapped name X at line N: ..."
            return self.detail
        return f"{self.gap.value}: {self.detail}" if self.detail else self.gap.value


@dataclass
class Plan:
    """The planner's result: the cases, and every check that got none."""
    cases: list[Case]
    untested: list[Untested] = field(default_factory=list)
