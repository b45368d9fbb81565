"""Hand-written runtime of the reference model: the VM state userspace sees.

The generated modules (reference/mte_v10.py, ...) hold one function per
spec operation; those functions evaluate the spec's checks in order through
the concept methods below (one per vocabulary concept), then apply the
operation's effect.  `predict` runs a planned case's steps through a fresh
`VMState` and returns one `Outcome` per step: the syscall's return value,
its errno and the digest of the user buffer, computed exactly as the C
runtime (templates/kconform_runtime.h) does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

from generator.cases import (GUEST_STEPS, ArgPointer, Buffer, Case, Fill,
                             SENTINEL, Step, StepKind, StepRole)
from generator.model import Errno

GRANULE = 16                 # bytes covered by one MTE tag
TAG_MASK = 0xF               # a tag is 4 bits; the low nibble of a byte
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


# ---------------------------------------------------------------- digests
def fnv1a64(data: bytes) -> str:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def pattern_byte(i: int, seed: int) -> int:
    """Tag for granule i of a PATTERN fill (kc_pattern in the C runtime).
    7 is odd, so 16 neighbouring granules get 16 different tags; i >> 4
    shifts every block of 16 so that blocks differ too."""
    return (i * 7 + (i >> 4) + seed * 5) & TAG_MASK


def initial_bytes(buf: Buffer, length: int) -> bytearray:
    if buf.fill is Fill.PATTERN:
        return bytearray(pattern_byte(i, buf.seed) for i in range(length))
    return bytearray([SENTINEL]) * length


# ---------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Host:
    """Facts about the host the model cannot learn from userspace."""
    mte: bool = True


class UserBuffer:
    """A user buffer: `valid` bytes mapped, then a guard page."""

    def __init__(self, data: bytearray, valid: int):
        self.data, self.valid = data, min(valid, len(data))

    def read(self, off: int) -> Optional[int]:
        return self.data[off] if 0 <= off < self.valid else None

    def write(self, off: int, value: int) -> bool:
        if not 0 <= off < self.valid:
            return False
        self.data[off] = value
        return True

    def digest(self) -> str:
        return fnv1a64(bytes(self.data[:self.valid]))


class Arg:
    """The argument struct as the kernel reads it: `arg.flags`,
    `arg.reserved[1]`; array fields are lists."""

    def __init__(self, values: Mapping[str, int]):
        for path, v in values.items():
            if "[" in path:
                name, idx = path[:-1].split("[")
                arr = self.__dict__.setdefault(name, [])
                arr.extend([0] * (int(idx) + 1 - len(arr)))
                arr[int(idx)] = v
            else:
                setattr(self, path, v)

    def __getattr__(self, name: str):
        raise AttributeError(f"the argument has no field {name!r}; it has "
                             f"{', '.join(sorted(self.__dict__)) or 'none'}")


@dataclass
class Call:
    """One invocation of an operation: its argument and user memory."""
    arg: Arg
    arg_readable: bool = True
    buffer: Optional[UserBuffer] = None


@dataclass
class Cursor:
    """Position of a page loop: the guest frame and the buffer offset."""
    gfn: int = 0
    offset: int = 0


@dataclass(frozen=True)
class Result:
    ret: int                    # the handler's value (>= 0) on success
    errno: Optional[Errno] = None
    check: str = ""             # id of the check that failed


@dataclass(frozen=True)
class Outcome:
    """What one step should show: ret None means any value >= 0 (an fd)."""
    ret: Optional[int]
    errno: Optional[Errno]
    digest: Optional[str]
    check: str = ""             # failing check id, "success" or "setup"
    op: str = ""


# ---------------------------------------------------------------- the VM
@dataclass
class VMState:
    page_size: int
    host: Host
    caps_enabled: set = field(default_factory=set)
    vcpus: int = 0
    memslots: dict = field(default_factory=dict)   # slot -> (base_gfn, pages)
    tags: dict = field(default_factory=dict)       # gfn -> bytearray

    @property
    def page_mask(self) -> int:
        return ~(self.page_size - 1)

    # results ------------------------------------------------------------
    @staticmethod
    def fail(errno: Errno, check: str) -> Result:
        return Result(-1, errno, check)

    @staticmethod
    def ok(value: int) -> Result:
        return Result(int(value), None, "success")

    @staticmethod
    def returns(value: int, check: str) -> Result:
        """A check whose failing side returns a value, not -errno."""
        return Result(int(value), None, check)

    def cursor(self, guest_ipa: int) -> Cursor:
        return Cursor(gfn=guest_ipa // self.page_size)

    # concepts (one per vocabulary concept) -------------------------------
    def cap_enabled(self, call: Call, it: Optional[Cursor], cap: str) -> bool:
        return self.host.mte and cap in self.caps_enabled

    def host_has_mte(self, call: Call, it: Optional[Cursor]) -> bool:
        return self.host.mte

    def vcpus_created(self, call: Call, it: Optional[Cursor]) -> bool:
        return self.vcpus > 0

    def user_read_faults(self, call: Call, it: Optional[Cursor]) -> bool:
        return not call.arg_readable

    def user_write_faults(self, call: Call, it: Optional[Cursor]) -> bool:
        return not call.arg_readable

    def no_memslot(self, call: Call, it: Cursor) -> bool:
        return not any(b <= it.gfn < b + n for b, n in self.memslots.values())

    def memslot_visible(self, call: Call, it: Cursor) -> bool:
        return not self.no_memslot(call, it)

    def _page_tags(self, gfn: int) -> bytearray:
        return self.tags.setdefault(gfn, bytearray(self.page_size // GRANULE))

    def copy_tags_in(self, call: Call, it: Cursor) -> int:
        """User buffer -> guest tags for one page; tags copied until a fault."""
        page = self._page_tags(it.gfn)
        for i in range(len(page)):
            b = call.buffer.read(it.offset + i)
            if b is None:
                return i
            page[i] = b & TAG_MASK
        return len(page)

    def copy_tags_out(self, call: Call, it: Cursor) -> int:
        """Guest tags of one page -> user buffer, one per byte."""
        page = self._page_tags(it.gfn)
        for i, tag in enumerate(page):
            if not call.buffer.write(it.offset + i, tag):
                return i
        return len(page)

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

    def _granules(self, call: Call):
        """(gfn, index in the page) of every granule a guest command covers."""
        per_page = self.page_size // GRANULE
        first = call.arg.ipa // GRANULE
        for g in range(first, first + call.arg.bytes // GRANULE):
            yield g // per_page, g % per_page

    def guest_tags(self, call: Call, where: str) -> Result:
        """The guest's stg sets tag pattern(seed) over its range; its ldg
        reads the range's tags, one per byte, into the step's digest."""
        if call.arg.guest_op == "stg":
            n = 0
            for i, (gfn, k) in enumerate(self._granules(call)):
                self._page_tags(gfn)[k] = pattern_byte(i, call.arg.seed)
                n += 1
            return Result(n, None, where)
        tags = bytearray(self._page_tags(gfn)[k] for gfn, k in self._granules(call))
        call.buffer = UserBuffer(tags, len(tags))
        return Result(len(tags), None, where)

    def no_guest_tags(self, call: Call, where: str) -> Result:
        """Without tag storage the guest's stg changes nothing, ldg reads 0."""
        n = call.arg.bytes // GRANULE
        if call.arg.guest_op == "ldg":
            call.buffer = UserBuffer(bytearray(n), n)
        return Result(n, None, where)


# ---------------------------------------------------------------- predict
Operations = Mapping[tuple, Callable[[VMState, Call], Result]]


def _guest_call(step: Step, page_size: int) -> Call:
    values = {"path": step.kind.value, "guest_op": step.guest_op,
              "report": step.report, "nregs": len(step.regs)}
    for name, v in zip(("ipa", "bytes", "seed"), step.gargs):
        values[name] = v.resolve(page_size)
    return Call(Arg(values))


def _call_for(step: Step, page_size: int) -> Call:
    if step.kind in GUEST_STEPS:
        return _guest_call(step, page_size)
    values = {p: v.resolve(page_size) for p, v in step.fields}
    if step.kind is StepKind.ENABLE_CAP:
        values = {"flags": step.flags,
                  **{f"args[{i}]": a for i, a in enumerate(step.args)}}
    buf = None
    if step.buffer is not None:
        n = step.buffer.length.resolve(page_size)
        buf = UserBuffer(initial_bytes(step.buffer, n),
                         step.buffer.valid.resolve(page_size))
    return Call(Arg(values), step.arg is ArgPointer.VALID, buf)


def _setup(vm: VMState, step: Step) -> Outcome:
    if step.kind in (StepKind.CREATE_VM, StepKind.CREATE_VCPU, StepKind.VCPU_START):
        vm.vcpus += step.kind is not StepKind.CREATE_VM
        return Outcome(None, None, None, "setup")
    if step.kind is StepKind.PAGEOUT:
        # swapping a page out and back changes nothing userspace or the
        # guest can see: its tags come back with it
        return Outcome(0, None, None, "setup")
    if step.kind is StepKind.ADD_MEMSLOT:
        vm.memslots[step.slot] = (step.guest_ipa.resolve(vm.page_size)
                                  // vm.page_size, step.pages)
        return Outcome(0, None, None, "setup")
    if step.kind is StepKind.ENABLE_CAP and vm.host.mte:
        vm.enable_cap(step.cap)
        return Outcome(0, None, None, "setup")
    if step.kind is StepKind.ENABLE_CAP:
        return Outcome(-1, Errno.EINVAL, None, "setup")
    raise ValueError(f"{step.kind.value} is not a setup step")


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
            out.append(_setup(vm, step))
            continue
        name = step.cap or step.op        # cap operations are keyed by cap
        if step.cap_number is not None:
            name = by_number.get(step.cap_number, "")
        kind = "guest_rule" if step.kind in GUEST_STEPS else step.kind.value
        fn = ops.get((kind, name))
        if fn is None:
            # a number the spec does not define: the kernel knows no such cap
            out.append(Outcome(0, None, None, "unknown", name))
            continue
        call = _call_for(step, page_size)
        r = fn(vm, call)
        digest = call.buffer.digest() if call.buffer is not None else None
        out.append(Outcome(r.ret, r.errno, digest, r.check, name))
    return out
