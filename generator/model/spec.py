"""The spec model: one set of typed objects that every stage imports.

Extraction builds a `Spec`; `specio` writes it to YAML under specs/ and reads
it back; the C and reference generators, the ABI checker, the cross-check and
the diff all take a `Spec`.  Every element carries a `Source` naming the seed
file, the patch and the line it came from.
"""
from __future__ import annotations

import enum
import errno as _errno
from dataclasses import dataclass, field
from typing import Optional

from generator.errors import KconformError


# ---------------------------------------------------------------- positions
@dataclass(frozen=True)
class Source:
    """Where a spec element came from: seed file, line (1-based), patch."""
    seed: str
    line: int
    patch: str = ""          # e.g. "v10 5/6"; "" for a cover letter
    path: str = ""           # file in the diff, e.g. "arch/arm64/kvm/arm.c"
    text: str = ""           # the (repaired) source line, for humans

    def __str__(self) -> str:
        return f"{self.seed}:{self.line}"

    def describe(self) -> str:
        where = f"{self.seed}:{self.line}"
        if self.patch:
            where += f" [{self.patch}]"
        if self.path:
            where += f" {self.path}"
        return where


class MissingElement(KconformError, KeyError):
    """A spec element named by another that the spec lacks (an edited or
    damaged spec): a KeyError for lookups that expect it, and a one-line
    error when nothing does."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "missing spec element"


# ---------------------------------------------------------------- enums
_ERRNO_NAMES = ("EPERM", "ENOENT", "EINTR", "EIO", "ENXIO", "E2BIG", "EBADF",
                "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "EBUSY", "EEXIST",
                "ENODEV", "EINVAL", "ENOSPC", "ERANGE", "ENOTTY", "ENOSYS",
                "EOPNOTSUPP", "EOVERFLOW",
                # further asm-generic errnos a handler may return (arm64 and the
                # x86-64 host agree on these numbers); kc_errno_name knows them too
                "ESRCH", "ENOEXEC", "ECHILD", "EXDEV", "ENOTDIR", "EISDIR", "ENFILE", "EMFILE",
                "EFBIG", "ESPIPE", "EROFS", "EMLINK", "EPIPE", "EDOM", "EDEADLK", "ENAMETOOLONG",
                "ENOLCK", "ENOTEMPTY", "ELOOP", "ENOMSG", "EIDRM", "ENODATA", "ETIME", "EPROTO",
                "EBADMSG", "ENOBUFS", "ETIMEDOUT", "EALREADY", "EINPROGRESS", "ECANCELED")

# Every other errno the kernel's asm-generic table has (the host's errno
# module: arm64 and x86-64 share the asm-generic numbers), the common names
# first so an alias (EWOULDBLOCK, EDEADLOCK, ENOTSUP) reads as its kernel
# name; then the kernel-internal ones a handler may leak to userspace
# (include/linux/errno.h).
_KERNEL_ONLY = {"ERESTARTSYS": 512, "ERESTARTNOINTR": 513, "ERESTARTNOHAND": 514,
                "ENOIOCTLCMD": 515, "ERESTART_RESTARTBLOCK": 516, "EPROBE_DEFER": 517,
                "EOPENSTALE": 518, "ENOPARAM": 519, "EBADHANDLE": 521, "ENOTSYNC": 522,
                "EBADCOOKIE": 523, "ENOTSUPP": 524, "ETOOSMALL": 525, "ESERVERFAULT": 526,
                "EBADTYPE": 527, "EJUKEBOX": 528, "EIOCBQUEUED": 529, "ERECALLCONFLICT": 530}
_ALIASES = ("EWOULDBLOCK", "EDEADLOCK", "ENOTSUP")
_ALL_ERRNOS = {n: getattr(_errno, n) for n in _ERRNO_NAMES}
_ALL_ERRNOS.update({n: v for v, n in sorted(_errno.errorcode.items())
                    if n not in _ALIASES and v not in _ALL_ERRNOS.values()})
_ALL_ERRNOS.update({n: getattr(_errno, n) for n in _ALIASES if hasattr(_errno, n)})
_ALL_ERRNOS.update(_KERNEL_ONLY)

# arm64 uses the asm-generic numbers, which for these names equal the host's.
Errno = enum.Enum("Errno", _ALL_ERRNOS)
Errno.__doc__ = "Error numbers a kernel handler may return (negated)."


def errno_from_name(name: str) -> "Errno":
    try:
        return Errno[str(name).lstrip("-")]
    except KeyError:
        raise ValueError(f"{name!r} is not a known errno (an E... name of the kernel's "
                         f"errno.h, e.g. {', '.join(_ERRNO_NAMES[:6])})") from None


def errno_from_number(num: int) -> Optional["Errno"]:
    for e in Errno:
        if e.value == num:
            return e
    return None


class IocDir(enum.Enum):
    NONE = "_IO"
    WRITE = "_IOW"
    READ = "_IOR"
    READWRITE = "_IOWR"

    @property
    def bits(self) -> int:
        # asm-generic/ioctl.h, used by arm64: _IOC_WRITE=1, _IOC_READ=2
        return {"_IO": 0, "_IOW": 1, "_IOR": 2, "_IOWR": 3}[self.value]


class OpKind(enum.Enum):
    IOCTL = "ioctl"                    # a VM or vCPU ioctl handler
    ENABLE_CAP = "enable_cap"          # a case of kvm_vm_ioctl_enable_cap
    CHECK_EXTENSION = "check_extension"  # a case of kvm_vm_ioctl_check_extension
    INTERNAL = "internal"              # a helper with no user entry point
    SET_DEVICE_ATTR = "set_device_attr"  # KVM_SET_DEVICE_ATTR of a group/attribute
    GET_DEVICE_ATTR = "get_device_attr"  # KVM_GET_DEVICE_ATTR
    HAS_DEVICE_ATTR = "has_device_attr"  # KVM_HAS_DEVICE_ATTR
    SET_ONE_REG = "set_one_reg"          # KVM_SET_ONE_REG of a (pseudo-)register
    GET_ONE_REG = "get_one_reg"          # KVM_GET_ONE_REG
    CREATE_DEVICE = "create_device"      # KVM_CREATE_DEVICE of a device type

    @property
    def ioctl(self) -> str:
        """The user ioctl an operation of this kind is reached through."""
        return _KIND_IOCTL.get(self, "")


_KIND_IOCTL = {OpKind.ENABLE_CAP: "KVM_ENABLE_CAP", OpKind.CHECK_EXTENSION: "KVM_CHECK_EXTENSION",
               OpKind.SET_DEVICE_ATTR: "KVM_SET_DEVICE_ATTR",
               OpKind.GET_DEVICE_ATTR: "KVM_GET_DEVICE_ATTR",
               OpKind.HAS_DEVICE_ATTR: "KVM_HAS_DEVICE_ATTR",
               OpKind.SET_ONE_REG: "KVM_SET_ONE_REG", OpKind.GET_ONE_REG: "KVM_GET_ONE_REG",
               OpKind.CREATE_DEVICE: "KVM_CREATE_DEVICE"}


class CheckKind(enum.Enum):
    ARGUMENT = "argument"      # a field of the user argument
    ALIGNMENT = "alignment"    # a field must be a multiple of a unit
    STATE = "state"            # VM state: capability enabled, vCPUs, ...
    USER_MEMORY = "user_memory"  # a user pointer that must be accessible
    PER_PAGE = "per_page"      # evaluated on each iteration of a page loop
    HOST = "host"              # host feature, not controllable from userspace


class Reach(enum.Enum):
    """Whether userspace can drive a rule with the supplied material."""
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"   # no user interface in this input
    HOST_ONLY = "host_only"       # only the host's features decide it


class FindingKind(enum.Enum):
    REPAIR = "repair"                 # damage in the dump that was repaired
    UNMAPPED_PREDICATE = "unmapped"   # kernel predicate absent from vocabulary
    DOC_CODE_MISMATCH = "doc_code_mismatch"
    REVIEW_SAYS_WRONG = "review_says_wrong"
    MISSING_PATCH = "missing_patch"
    PARSE_ERROR = "parse_error"
    NOTE = "note"
    UNREACHABLE = "unreachable"       # rules no user entry point in the input reaches
    DEAD_CODE = "dead_code"           # checks the patch's own code makes unreachable
    DOC_TYPO = "doc_typo"             # a misspelling in the patch's documentation
    CONFLICT_MARKER = "conflict_marker"  # a merge-conflict marker left in the patch
    DUPLICATE = "duplicate"           # a patch or an operation given twice, read once
    DAMAGE = "damage"                 # a damaged line that loses a fact (an operation,
                                      # a constant, a hunk)


class Verdict(enum.Enum):
    CONFORMS = "conforms"
    DIVERGES = "diverges"
    SKIPPED = "skipped"
    ERROR = "error"
    UNREACHABLE = "not reachable"
    UNTESTED = "untested"       # a check no case exercises, with the reason; never a pass


# ---------------------------------------------------------------- uAPI
@dataclass
class Member:
    name: Optional[str]          # None for an anonymous struct/union member
    ctype: str                   # C spelling of the type, e.g. "__u64", "void *"
    source: Source
    array: list[int] = field(default_factory=list)
    nested: Optional["StructDef"] = None   # anonymous aggregate
    user_pointer: bool = False   # declared with __user


@dataclass
class StructDef:
    name: str                    # "" for anonymous
    kind: str                    # "struct" or "union"
    members: list[Member]
    source: Source
    text: str = ""               # the declaration as repaired C text
    header: str = ""             # the uapi header it was added to


@dataclass
class Constant:
    name: str
    value: int
    expr: str
    source: Source
    header: str = ""
    enum: str = ""               # the uAPI enum it is an enumerator of ("" for a #define)


@dataclass
class Capability:
    name: str
    number: int
    source: Source


@dataclass
class Ioctl:
    name: str
    direction: IocDir
    type_expr: str               # "KVMIO"
    type_value: int              # 0xAE
    nr: int
    arg_type: str                # "struct kvm_arm_copy_mte_tags" or ""
    size: int                    # sizeof(arg_type) on arm64 (LP64)
    number: int                  # the encoded request number on arm64
    source: Source


# ---------------------------------------------------------------- behaviour
@dataclass
class Predicate:
    """A kernel predicate seen in a condition and what it means to the model."""
    spelling: str                # as written, e.g. "kvm_has_mte(kvm)"
    concept: Optional[str]       # vocabulary concept id, None if unmapped
    value: Optional[int] = None  # fixed by the patch's own definition (a helper
                                 # whose body is `return 0;`), else None


ENTRY_POINT = "entry point"      # the label (Source.patch) of an entry point's checks


@dataclass
class Check:
    id: str                      # stable slug, e.g. "reserved_nonzero"
    order: int                   # 1-based position in its handler
    condition: str               # C text of the condition that fails
    errno: Optional[Errno]       # None when the failing side returns no errno
                                 # (a bool helper's `return false`)
    kind: CheckKind
    reads: list[str]             # input fields read, e.g. ["flags"]
    predicates: list[Predicate]
    source: Source
    in_loop: bool = False
    reach: Reach = Reach.REACHABLE
    context: bool = False        # from code around the patch (vocabulary), not the patch
    result: str = ""             # what the function returns when the condition
                                 # holds, if not -errno: "false", or "true" for
                                 # an early success (an exception to the rule)
    effect: str = ""             # what the condition's side does besides
                                 # returning, e.g. "kvm_inject_dabt(...)"
    when: str = ""               # C condition of the branch the check sits in
                                 # (a switch case), "" on the common path
    value: Optional[bool] = None  # fixed by the patch's code: True means the
                                  # check always fails, False that it never does

    @property
    def entry_point(self) -> bool:
        """Whether the check is the generic entry code's (the vocabulary's
        `entry_points`, in virt/kvm), made before any architecture's or
        capability's handler is chosen."""
        return self.context and self.source.patch.startswith(ENTRY_POINT + " ")


@dataclass
class AlignmentRule:
    field: str                   # input field
    unit: str                    # "PAGE_SIZE": follows the running kernel
    check: str                   # id of the check that enforces it
    errno: Optional[Errno]       # None when the check fails without one
    source: Source


class PreKind(enum.Enum):
    CAP_ENABLED = "cap_enabled"          # operation needs a capability enabled
    NO_VCPUS = "no_vcpus"                # must happen before any vCPU exists
    FLAGS_ZERO = "flags_zero"            # flags outside a mask must be zero
    HOST_FEATURE = "host_feature"        # the host must support a feature
    FIELD_ZERO = "field_zero"            # a reserved field must be zero


@dataclass
class Precondition:
    kind: PreKind
    subject: str                 # operation name
    detail: str                  # capability name, field name, mask ...
    errno: Optional[Errno]       # None when the check fails without one
    check: str                   # id of the check that enforces it ("" if none)
    source: Source


@dataclass
class Success:
    """What a call that passes every check does."""
    ret: str                     # C expression of the return value ("0", "ret")
    ret_value: Optional[int]     # the value when it is a constant
    source: Source
    doc: str = ""                # what the documentation says it returns
    doc_source: Optional[Source] = None
    partial: str = ""            # C expression returned, when non-zero, instead of a page
                                 # loop check's failure (the bytes done before the fault)


@dataclass
class Operation:
    name: str                    # "KVM_ARM_MTE_COPY_TAGS", "KVM_CAP_ARM_MTE"
    kind: OpKind
    handler: str                 # C function that implements it
    fd: str                      # "vm", "vcpu", "system"
    checks: list[Check]
    success: Optional[Success]
    source: Source
    arg_type: str = ""           # struct type of the argument
    aliases: dict[str, str] = field(default_factory=dict)  # local -> field
    body: str = ""               # repaired C text of the handler(s)
    body_line: int = 0           # seed line of body's first line
    loop: Optional[str] = None   # C text of the page loop header, if any
    locking: list[str] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)   # state a success changes
    buffer: Optional["BufferRule"] = None
    cap: str = ""                # capability an ENABLE_CAP/CHECK_EXTENSION case is for
    select: dict[str, str] = field(default_factory=dict)   # argument field -> the constant
                                 # the dispatcher's case selects ({"group": ..., "attr": ...}
                                 # for a device attribute, {"id": ...} for a ONE_REG register)
    default_for: str = ""        # the patch's operation this one stands beside: the target
                                 # architecture's mainline default for a request the patch
                                 # does not handle there (generator.extract.defaults)

    @property
    def capability(self) -> str:
        """The capability a KVM_ENABLE_CAP / KVM_CHECK_EXTENSION operation is
        about (stored by extraction from the `case` label); "" for others."""
        return self.cap if self.kind in (OpKind.ENABLE_CAP, OpKind.CHECK_EXTENSION) else ""

    @property
    def arch(self) -> str:
        """The architecture whose code implements the operation ("x86" for
        arch/x86/...), "" for generic code (virt/kvm, include)."""
        parts = self.source.path.split("/")
        return parts[1] if len(parts) > 2 and parts[0] == "arch" else ""

    def entry_checks_only(self, ids) -> bool:
        """Whether the checks `ids` (a case's violated ones) are all the
        generic entry code's (Check.entry_point), which answers before any
        architecture's or capability's handler is chosen."""
        entry = {c.id for c in self.checks if c.entry_point}
        return bool(ids) and set(ids) <= entry


@dataclass
class BufferRule:
    """The user buffer an operation reads or writes, per the patch."""
    pointer_field: str           # "addr"
    length_field: str            # "length"
    bytes_per_unit: int          # 16: one tag byte per 16-byte granule
    unit_name: str               # "MTE granule"
    element: str                 # "one tag value per byte"
    direction_field: str         # "flags"
    to_kernel: str               # value name meaning user->kernel
    from_kernel: str
    source: Source


@dataclass
class Claim:
    """An informal claim from prose (cover letter, commit message, api.rst)."""
    id: str
    text: str
    testable: bool
    source: Source
    case: str = ""               # id of the case that tests it, if any
                                 # ("spec:case" when the case is another spec's)
    offset: int = 0              # character offset of the sentence in its line
    basis: str = ""              # why it is (not) testable from userspace


@dataclass
class Finding:
    kind: FindingKind
    message: str
    source: Source
    related: Optional[Source] = None   # the other side: the code a doc line contradicts,
                                       # the quoted line a review remark is about
    about: str = ""              # the element it is about: element_id(...)


def element_id(op: str, check: str = "") -> str:
    """A reference to an operation (`op:NAME`), one of its checks
    (`check:NAME/ID`) or its success path (`check:NAME/success`), for
    findings and report rows to point at instead of matching text."""
    return f"check:{op}/{check}" if check else f"op:{op}"


@dataclass
class Note:
    """A reviewer's remark attached to a spec element; never changes it."""
    author: str
    text: str
    about: str                   # id of the element it discusses
    source: Source


class GuestRuleKind(enum.Enum):
    """What a guest-visible rule of a patch says (generator.extract.guest)."""
    ID_FIELD = "id_field"              # an ID register field KVM exposes
    REG_VISIBILITY = "reg_visibility"  # system registers hidden unless ...
    EXCEPTION_PSTATE = "exception_pstate"  # a PSTATE bit set on an injected exception
    TRAP_CONTROL = "trap_control"      # an HCR_EL2 bit that stops guest accesses trapping
    TAG_INIT = "tag_init"              # guest pages get initialised tag storage
    EXIT = "exit"                      # a guest event KVM_RUN returns to userspace as an
                                       # exit reason (or fails with an errno)


@dataclass
class RunField:
    """A `kvm_run` field the patch fills on an exit: `run-><path> = <expr>;`."""
    path: str                    # "arm_nisv.fault_ipa", "system_event.type"
    expr: str                    # C right-hand side, e.g. "fault_ipa"
    source: Source
    value: str = ""              # expr with a helper the patch defines inlined
    value_source: Optional[Source] = None   # the helper's `return` line


@dataclass
class GuestRule:
    """A rule of the patch about what the guest (or the VMM through a vCPU)
    sees: `value` when `when` holds, `otherwise` when not."""
    id: str                      # "id_aa64pfr1_el1.mte", "mte_visibility"
    kind: GuestRuleKind
    subject: str                 # register, "PSTATE", "HCR_EL2", "stage2"
    function: str                # C function the rule sits in
    when: str                    # C condition, e.g. "kvm_has_mte(vcpu->kvm)"
    predicates: list[Predicate]
    source: Source               # the line of the condition
    name: str = ""               # "ID_AA64PFR1_MTE", "PSR_TCO_BIT", "HCR_ATA"
    value: str = ""              # C value while `when` holds
    otherwise: str = ""          # C value while it does not
    value_source: Optional[Source] = None
    otherwise_source: Optional[Source] = None
    registers: list[str] = field(default_factory=list)   # REG_VISIBILITY
    register_sources: list[Source] = field(default_factory=list)
    access: str = ""             # a trapped access's handler, e.g. "undef_access"
    access_source: Optional[Source] = None
    # EXIT: `value` is the exit reason, `otherwise` what happens when `when`
    # does not hold ("-ENOSYS": KVM_RUN fails; a constant: the guest's
    # call returns it); the guest event that reaches it and its argument
    # (a function id), the capability whose enabling makes `when` true,
    # the run fields set, the vCPU features the path needs, the api.rst line
    trigger: str = ""            # vocabulary guest.triggers kind: "nisv_abort", "hvc"
    trigger_arg: str = ""        # e.g. "PSCI_1_0_FN64_SYSTEM_SUSPEND"
    cap: str = ""
    cap_source: Optional[Source] = None
    run_fields: list[RunField] = field(default_factory=list)
    vcpu_features: list[str] = field(default_factory=list)
    doc: str = ""
    doc_source: Optional[Source] = None


@dataclass
class Spec:
    name: str                    # "mte-v10"
    title: str                   # series title
    version: int
    rfc: bool
    seed: str                    # seed file name
    patches: list[str]           # "v10 5/6: KVM: arm64: ioctl to ..."
    structs: list[StructDef] = field(default_factory=list)
    constants: list[Constant] = field(default_factory=list)
    capabilities: list[Capability] = field(default_factory=list)
    ioctls: list[Ioctl] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    alignment: list[AlignmentRule] = field(default_factory=list)
    preconditions: list[Precondition] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    guest: list[GuestRule] = field(default_factory=list)
    # structs the patch changes without showing their whole definition (a
    # hunk inside `struct kvm_vcpu_events {`): the members its new side
    # shows, in order.  They give an operation's argument fields; the C test
    # takes the struct itself from the uAPI header, so they are never
    # rendered or laid out as the spec's own structs.
    partial_structs: list[StructDef] = field(default_factory=list)

    # lookups -----------------------------------------------------------
    def struct(self, name: str) -> StructDef:
        for s in self.structs:
            if s.name == name or f"{s.kind} {s.name}" == name:
                return s
        raise MissingElement(f"spec {self.name} has no struct {name!r}; it has "
                       f"{', '.join(s.name for s in self.structs) or 'none'}")

    def operation(self, name: str) -> Operation:
        for o in self.operations:
            if o.name == name:
                return o
        raise MissingElement(f"spec {self.name} has no operation {name!r}; it has "
                       f"{', '.join(o.name for o in self.operations) or 'none'}")

    def constant(self, name: str) -> Constant:
        for c in self.constants:
            if c.name == name:
                return c
        raise MissingElement(f"spec {self.name} has no constant {name!r}")

    def capability(self, name: str) -> Capability:
        for c in self.capabilities:
            if c.name == name:
                return c
        raise MissingElement(f"spec {self.name} has no capability {name!r}")

    def guest_rule(self, rule_id: str) -> GuestRule:
        for r in self.guest:
            if r.id == rule_id:
                return r
        raise MissingElement(f"spec {self.name} has no guest rule {rule_id!r}; it has "
                       f"{', '.join(r.id for r in self.guest) or 'none'}")

    def struct_fields(self, arg_type: str) -> list[str]:
        """Scalar field paths of an argument struct (`flags`, `reserved[1]`);
        a union contributes its first member (the others share its storage);
        [] for no argument or a struct the spec does not define."""
        if not arg_type:
            return []
        try:
            sd = self.struct(arg_type)
        except KeyError:
            sd = next((s for s in self.partial_structs
                       if arg_type in (s.name, f"{s.kind} {s.name}")), None)
            if sd is None:
                return []
        out: list[str] = []

        def walk(members, prefix=""):
            for m in members:
                if m.nested is not None:          # a named one: `} exception;`
                    inner = f"{prefix}{m.name}." if m.name else prefix
                    walk(m.nested.members[:1] if m.nested.kind == "union"
                         else m.nested.members, inner)
                elif m.array:
                    out.extend(f"{prefix}{m.name}[{i}]" for i in range(m.array[0]))
                else:
                    out.append(f"{prefix}{m.name}")
        walk(sd.members)
        return out

    def ioctl(self, name: str) -> Ioctl:
        for i in self.ioctls:
            if i.name == name:
                return i
        raise MissingElement(f"spec {self.name} has no ioctl {name!r}")
