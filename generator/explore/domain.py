"""What exploration may call, and with which arguments, derived from the spec.

Phases:
  1. rules: the spec's operations (a KVM_ENABLE_CAP, a KVM_CHECK_EXTENSION,
     an ioctl taking a struct) plus the set-up operations a sequence needs
     (create a vCPU, add or delete a memslot, enable a capability a check
     tests that no operation of the spec enables), each with its precondition
     on the state the sequence has built (`SeqState`);
  2. argument domains, one per field, read from the operation's checks
     (generator.plan.ops.derive_violation): the value that satisfies every
     check first, then both sides of each condition -- a truthy field at 0
     and non-zero (each reserved element on its own), every bit outside a
     mask, page-aligned and unaligned addresses and lengths (in pages of
     the running kernel, so 4K and 16K alike), inside, across and past the
     end of a memslot, lengths past the INT_MAX and 4 GiB bounds, the user
     buffer mapped in full, short or not at all, the argument pointer valid
     or unmapped;
  3. Hypothesis strategies: `draw_sequence` draws a sequence rule by rule,
     each rule among those whose precondition holds, so every sequence is
     one the reference can predict; `simpler` lists the one-change
     simplifications the shrinker tries (each field back to its valid
     value, fewer pages, a full buffer, a valid pointer).

Domains hold `Val`s (pages * PAGE_SIZE + bytes): a sequence is resolved
with the page size the agent reports, exactly as a planned case is.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Optional

from pycparser import c_ast

from generator.cparse import parse_expr
from generator.errors import KconformError
from generator.model import Operation, OpKind, Reach, Spec
from generator.model.case import (SLOT_BASE_PAGES, SLOT_PAGES, AddMemslot, ArgPointer, Buffer,
                                  Case, CheckExtension, CreateVcpu, CreateVm, DeleteMemslot,
                                  EnableCap, Fill, Step, StepRole, Val, VmIoctl)
from generator.model.concepts import Lever
from generator.plan.ops import How, derive_violation, load_vocabulary, op_cap
from generator.render.c import op_defs

# memslots a sequence may create: id -> base page (slot 1 starts where a
# full slot 0 ends, so a copy may run from one into the other; slot 2
# leaves a gap); every slot has 1..SLOT_PAGES pages
SLOT_BASES = {0: SLOT_BASE_PAGES, 1: SLOT_BASE_PAGES + SLOT_PAGES,
              2: SLOT_BASE_PAGES + 2 * SLOT_PAGES + 4}
OUTSIDE = SLOT_BASE_PAGES + 4 * SLOT_PAGES       # no slot ever covers it
MAX_VCPUS = 3
MAX_STEPS = 8                                    # KC_MAX_STEPS of the runtime
BUFFER_CAP_PAGES = SLOT_PAGES + 4                # a buffer never maps more
INT_MAX_BOUND = 1 << 31                          # lengths past the return value's range
U32_BOUND = 1 << 32


def _huge(n: Val) -> bool:
    """A length whose buffer would not fit the guest: it maps BUFFER_CAP_PAGES."""
    return n.bytes >= (1 << 20) or n.pages > BUFFER_CAP_PAGES


class ExploreError(KconformError):
    """A spec exploration cannot drive, or a bad budget; says which."""


class RuleKind(enum.Enum):
    ENABLE_CAP = "enable_cap"        # a capability no spec operation enables
    CREATE_VCPU = "create_vcpu"
    ADD_MEMSLOT = "add_memslot"
    DELETE_MEMSLOT = "delete_memslot"
    OPERATION = "operation"          # one of the spec's operations


@dataclass
class SeqState:
    """What a sequence has built so far (the rules' preconditions)."""
    vcpus: int = 0
    slots: dict = field(default_factory=dict)    # slot -> pages

    def apply(self, step: Step) -> bool:
        """Take `step`; False when its precondition does not hold."""
        if isinstance(step, EnableCap) and step.role is StepRole.SETUP:
            if self.vcpus:                  # the kernel refuses it then; the set-up model does not
                return False
        elif isinstance(step, CreateVcpu):
            if self.vcpus >= MAX_VCPUS:
                return False
            self.vcpus += 1
        elif isinstance(step, AddMemslot):
            if step.slot in self.slots or step.slot not in SLOT_BASES:
                return False
            self.slots[step.slot] = step.pages
        elif isinstance(step, DeleteMemslot):
            if step.slot not in self.slots:
                return False
            del self.slots[step.slot]
        return True


def gating_caps(spec: Spec) -> list[str]:
    """Capabilities the operations' checks test (vocabulary concept
    cap_enabled), in order."""
    vocab = load_vocabulary()
    out = []
    for op in spec.operations:
        for c in op.checks:
            for p in c.predicates:
                e = vocab.lookup(p.spelling.split("(")[0].strip())
                cap = dict(e.args).get("cap") if e is not None and e.concept == "cap_enabled" else None
                if cap and cap not in out:
                    out.append(cap)
    return out


def valid_sequence(steps: list[Step]) -> bool:
    """Whether every step's precondition holds where it stands."""
    if not steps or not isinstance(steps[0], CreateVm) or len(steps) > MAX_STEPS:
        return False
    st = SeqState()
    return all(st.apply(s) for s in steps[1:])


# ---------------------------------------------------------------- domains
@dataclass(frozen=True)
class FieldDomain:
    """The values one field takes: `values[0]` satisfies every check."""
    name: str
    values: tuple                     # of Val
    why: tuple = ()                   # what each value is (same order)
    common: int = 1                   # values[:common] satisfy the field's own checks


@dataclass
class OpDomain:
    """One spec operation with the domains of its arguments."""
    op: Operation
    fields: list[FieldDomain] = field(default_factory=list)
    cap: str = ""
    length_field: str = ""
    addr_field: str = ""
    direction_field: str = ""
    to_kernel: Optional[int] = None
    from_kernel: Optional[int] = None
    bytes_per_unit: int = 1
    has_buffer: bool = False
    bad_arg: bool = False             # a check reads the argument (copy_from_user)

    def field(self, name: str) -> FieldDomain:
        return next(f for f in self.fields if f.name == name)


def _mask_constant(spec: Spec, condition: str) -> Optional[int]:
    node = parse_expr(condition)
    if (isinstance(node, c_ast.BinaryOp) and node.op == "&"
            and isinstance(node.right, c_ast.UnaryOp) and node.right.op == "~"
            and isinstance(node.right.expr, c_ast.ID)):
        try:
            return spec.constant(node.right.expr.name).value
        except KeyError:
            return None
    return None


def _dedupe(pairs: list[tuple[Val, str]]) -> tuple[tuple, tuple]:
    seen: dict = {}
    for v, why in pairs:
        seen.setdefault(v, why)
    return tuple(seen), tuple(seen.values())


def op_domain(spec: Spec, op: Operation) -> OpDomain:
    vocab = load_vocabulary()
    d = OpDomain(op)
    checks = sorted(op.checks, key=lambda c: c.order)
    violations = []
    for c in checks:
        if c.reach is not Reach.REACHABLE or c.value is not None:
            continue
        try:
            v = derive_violation(spec, op, c, vocab)
        except KconformError:
            v = None
        if v is not None:
            violations.append(v)
    if op.kind in (OpKind.ENABLE_CAP, OpKind.CHECK_EXTENSION):
        d.cap = op_cap(op)
    if op.kind is OpKind.ENABLE_CAP:
        flags = [(Val(), "0 (valid)")] + [(Val(bytes=1 << k), f"bit {k}") for k in range(32)]
        d.fields.append(FieldDomain("flags", *_dedupe(flags)))
        for i in range(4):
            d.fields.append(FieldDomain(f"args[{i}]", (Val(), Val(bytes=1), Val(bytes=1 << 63)),
                                        ("0", "1", "bit 63")))
        return d
    if op.kind is not OpKind.IOCTL:
        return d
    defs = {o.name: o for o in op_defs(spec)}
    names = defs[op.name].fields if op.name in defs else []
    b = op.buffer
    if b is not None:
        d.has_buffer = True
        d.length_field, d.direction_field = b.length_field, b.direction_field
        d.bytes_per_unit = b.bytes_per_unit
        d.to_kernel = spec.constant(b.to_kernel).value
        d.from_kernel = spec.constant(b.from_kernel).value
    aligned = [v.field for v in violations if v.how is How.MISALIGN]
    addr = [f for f in aligned if f != d.length_field]
    d.addr_field = addr[0] if addr else ""
    d.bad_arg = any(v.how is How.LEVER and v.lever is Lever.BAD_ARG_POINTER for v in violations)
    by_field: dict[str, list] = {}
    for v in violations:
        if v.how is not How.LEVER:
            by_field.setdefault(v.field, []).append(v)
    for name in names:
        pairs: list[tuple[Val, str]] = []
        vs = by_field.get(name, [])
        if name == d.direction_field and b is not None:
            pairs += [(Val(bytes=d.from_kernel), "from the guest"),
                      (Val(bytes=d.to_kernel), "to the guest")]
        else:
            pairs.append((Val(), "0"))
        unaligned = next((v.value for v in vs if v.how is How.MISALIGN), None)
        if name == d.length_field:
            pairs = [(Val(pages=1), "1 page")]
            pairs += [(Val(pages=n), f"{n} pages") for n in (0, 2, 3, 4, 6, 8, 9, 10)]
            pairs += [(Val(bytes=INT_MAX_BOUND), "2^31 (past INT_MAX)"),
                      (Val(bytes=INT_MAX_BOUND - (1 << 16)), "2^31 - 64K (below INT_MAX)"),
                      (Val(bytes=U32_BOUND), "2^32")]
        elif name == d.addr_field:
            pairs = [(Val(pages=SLOT_BASES[0]), "slot 0 start")]
            for s, base in SLOT_BASES.items():
                pairs += [(Val(pages=base + k), f"slot {s} start + {k} pages")
                          for k in (0, 1, 2, 4, 6, 7, 8)]
            pairs += [(Val(pages=OUTSIDE), "no memslot"), (Val(pages=SLOT_BASES[0] - 1),
                                                           "the page before slot 0"),
                      (Val(pages=1 << 24), "beyond any memslot")]
        common = len(pairs)
        if name == d.length_field:
            common -= 3                       # the bounds are the odd ones
        if unaligned is not None:
            base = pairs[0][0]
            pairs += [(base.plus(u), f"unaligned by {u:#x}") for u in (unaligned, 1, 0x800)]
        for v in vs:
            if v.how is How.TRUTHY:
                pairs += [(Val(bytes=1), "1"), (Val(bytes=1 << 63), "bit 63")]
            elif v.how is How.BIT_OUTSIDE_MASK:
                allowed = _mask_constant(spec, v.check.condition)
                bits = [k for k in range(64) if allowed is None or not (allowed >> k) & 1]
                pairs += [(Val(bytes=pairs[0][0].bytes | (1 << k)), f"bit {k}") for k in bits]
        d.fields.append(FieldDomain(name, *_dedupe(pairs),
                                    common=len(_dedupe(pairs[:common])[0])))
    return d


@dataclass
class Domain:
    """Everything exploration may do on one spec."""
    spec: Spec
    ops: list[OpDomain]
    skipped: list[str] = field(default_factory=list)   # what is not explored, and why
    setup_caps: list[str] = field(default_factory=list)  # enabled by a set-up step

    @classmethod
    def of(cls, spec: Spec) -> "Domain":
        ops, skipped = [], []
        for op in spec.operations:
            if op.kind in (OpKind.ENABLE_CAP, OpKind.CHECK_EXTENSION, OpKind.IOCTL) \
                    and op.fd != "vm":
                skipped.append(f"{op.name}: a {op.fd} ioctl; explored calls are made on "
                               "the VM fd only")
            elif op.kind in (OpKind.ENABLE_CAP, OpKind.CHECK_EXTENSION, OpKind.IOCTL):
                ops.append(op_domain(spec, op))
            else:
                skipped.append(f"{op.name}: a {op.kind.value} no user call reaches")
        if spec.guest:
            skipped.append(f"{len(spec.guest)} guest rule(s): they need a running vCPU, "
                           "which exploration does not start (the planned cases check them)")
        if not ops:
            raise ExploreError(f"spec {spec.name} has no operation a user call reaches; "
                               "nothing to explore")
        enabled = {od.cap for od in ops if od.op.kind is OpKind.ENABLE_CAP}
        return cls(spec, ops, skipped, [c for c in gating_caps(spec) if c not in enabled])

    def op(self, name: str) -> OpDomain:
        return next(o for o in self.ops if o.op.name == name)

    # -- building steps
    def call(self, od: OpDomain, values: dict, *, arg: ArgPointer = ArgPointer.VALID,
             buffer_valid: Optional[Val] = None, seed: int = 0) -> Step:
        """The step calling `od` with `values` (field -> Val)."""
        op = od.op
        if op.kind is OpKind.ENABLE_CAP:
            return EnableCap(StepRole.SUBJECT, op=op.name, cap=od.cap,
                             flags=values.get("flags", Val()).bytes,
                             args=tuple(values.get(f"args[{i}]", Val()).bytes for i in range(4)))
        if op.kind is OpKind.CHECK_EXTENSION:
            return CheckExtension(StepRole.SUBJECT, op=op.name, cap=od.cap)
        values = {f.name: values.get(f.name, f.values[0]) for f in od.fields}
        buf = None
        if od.has_buffer:
            n = values[od.length_field]
            length = Val(n.pages, n.bytes, od.bytes_per_unit)
            if _huge(n):
                length = Val(pages=BUFFER_CAP_PAGES, div=od.bytes_per_unit)
            to_kernel = self.to_kernel(od, values)
            valid = length if buffer_valid is None else buffer_valid
            buf = Buffer(length=length, valid=valid,
                         fill=Fill.PATTERN if to_kernel else Fill.SENTINEL,
                         seed=seed if to_kernel else 0)
        fields = tuple((f.name, values[f.name]) for f in od.fields)
        return VmIoctl(StepRole.SUBJECT, op=op.name, fields=fields, arg=arg, buffer=buf)

    @staticmethod
    def to_kernel(od: OpDomain, values: dict) -> bool:
        bit = od.from_kernel or od.to_kernel or 0
        d = values.get(od.direction_field, Val()).bytes
        return bool(d & bit) == bool((od.to_kernel or 0) & bit)

    def case(self, case_id: str, steps: list[Step]) -> Case:
        src = self.spec.operations[0].source
        return Case(id=case_id, spec=self.spec.name, clause="explore", source=src,
                    description="a sequence drawn by kconform explore", steps=list(steps))

    # -- drawing (Hypothesis, or a seeded random.Random: generator.explore.choose)
    def draw_sequence(self, ch, max_steps: int) -> list[Step]:
        """A sequence of at most `max_steps` steps (CREATE_VM first), drawn
        rule by rule by the chooser `ch`, each rule among those whose
        precondition holds on the state the sequence has built."""
        steps: list[Step] = [CreateVm()]
        state = SeqState()
        for step in self.prelude():
            if len(steps) < max_steps - 1 and ch.weighted(((True, 3), (False, 1)), "prelude"):
                state.apply(step)
                steps.append(step)
        n = ch.integer(1, max(1, max_steps - len(steps)), "steps")
        for _ in range(n):
            rules = [(RuleKind.OPERATION, 6)]
            if self.setup_caps and not state.vcpus:
                rules.append((RuleKind.ENABLE_CAP, 1))
            if state.vcpus < MAX_VCPUS:
                rules.append((RuleKind.CREATE_VCPU, 1))
            if len(state.slots) < len(SLOT_BASES):
                rules.append((RuleKind.ADD_MEMSLOT, 3))
            if state.slots:
                rules.append((RuleKind.DELETE_MEMSLOT, 1))
            rule = ch.weighted(rules, "rule")
            if rule is RuleKind.ENABLE_CAP:
                step: Step = EnableCap(StepRole.SETUP, cap=ch.choice(self.setup_caps, "cap"))
            elif rule is RuleKind.CREATE_VCPU:
                step = CreateVcpu()
            elif rule is RuleKind.ADD_MEMSLOT:
                slot = ch.choice([s for s in SLOT_BASES if s not in state.slots], "slot")
                pages = ch.choice((SLOT_PAGES, *range(1, SLOT_PAGES)), "pages")
                step = AddMemslot(slot=slot, guest_ipa=Val(pages=SLOT_BASES[slot]), pages=pages)
            elif rule is RuleKind.DELETE_MEMSLOT:
                step = DeleteMemslot(slot=ch.choice(sorted(state.slots), "slot"))
            else:
                step = self.draw_call(ch)
            state.apply(step)
            steps.append(step)
        return steps

    def prelude(self) -> list[Step]:
        """The set-up most calls need, each drawn or not at a sequence's
        start: every capability enabled with valid arguments, then a full
        memslot 0 when an operation copies through memory."""
        out: list[Step] = [self.call(od, {}) for od in self.ops if od.op.kind is OpKind.ENABLE_CAP]
        out += [EnableCap(StepRole.SETUP, cap=c) for c in self.setup_caps]
        if any(od.has_buffer for od in self.ops):
            out.append(AddMemslot(slot=0, guest_ipa=Val(pages=SLOT_BASES[0]), pages=SLOT_PAGES))
        return out

    def draw_call(self, ch) -> Step:
        weights = {OpKind.IOCTL: 4, OpKind.ENABLE_CAP: 2, OpKind.CHECK_EXTENSION: 1}
        od = ch.weighted([(o, weights[o.op.kind]) for o in self.ops], "operation")
        rarity = 2 * max(1, len(od.fields))
        values = {}
        for f in od.fields:
            odd = f.common < len(f.values) and ch.odd(rarity, f.name)
            values[f.name] = ch.choice(f.values[f.common:] if odd else f.values[:f.common],
                                       f.name)
        arg = ArgPointer.VALID
        if od.bad_arg and ch.odd(rarity, "argp"):
            arg = ArgPointer.UNMAPPED
        valid, seed = None, 0
        if od.has_buffer:
            n = values.get(od.length_field, Val())
            pages = BUFFER_CAP_PAGES if _huge(n) else n.pages
            choice = ch.weighted((("full", 6), ("short", 2), ("none", 1)), "buffer")
            if choice == "short" and pages > 0:
                k = ch.integer(0, pages - 1, "mapped pages")
                extra = ch.choice((0, 1, 8), "mapped bytes")
                valid = Val(pages=k, bytes=extra * od.bytes_per_unit, div=od.bytes_per_unit)
            elif choice == "none":
                valid = Val()
            seed = ch.integer(0, 15, "seed")
        return self.call(od, values, arg=arg, buffer_valid=valid, seed=seed)

    # -- shrinking
    def simpler(self, step: Step) -> list[Step]:
        """One-change simplifications of a step, simplest first."""
        out: list[Step] = []
        if isinstance(step, AddMemslot) and step.pages != SLOT_PAGES:
            out.append(replace(step, pages=SLOT_PAGES))
        if isinstance(step, (AddMemslot, DeleteMemslot)) and step.slot != 0:
            out.append(replace(step, slot=0, **({"guest_ipa": Val(pages=SLOT_BASES[0])}
                                                if isinstance(step, AddMemslot) else {})))
        if isinstance(step, EnableCap):
            if step.flags:
                out.append(replace(step, flags=0))
            if any(step.args):
                out.append(replace(step, args=(0, 0, 0, 0)))
        if isinstance(step, VmIoctl):
            od = self.op(step.op)
            values = dict(step.fields)
            valid = step.buffer.valid if step.buffer else None
            full = step.buffer is not None and step.buffer.valid == step.buffer.length
            seed = step.buffer.seed if step.buffer else 0
            keep = dict(arg=step.arg, buffer_valid=None if full else valid, seed=seed)
            if step.arg is not ArgPointer.VALID:
                out.append(self.call(od, values, **{**keep, "arg": ArgPointer.VALID}))
            if not full and step.buffer is not None:
                out.append(self.call(od, values, **{**keep, "buffer_valid": None}))
                v = step.buffer.valid
                if v.bytes:
                    out.append(self.call(od, values, **{**keep, "buffer_valid": replace(v, bytes=0)}))
                if v.pages:
                    out.append(self.call(od, values, **{**keep,
                                                        "buffer_valid": replace(v, pages=v.pages - 1)}))
            if seed:
                out.append(self.call(od, values, **{**keep, "seed": 0}))
            for f in od.fields:
                cur = values.get(f.name, f.values[0])
                idx = f.values.index(cur) if cur in f.values else len(f.values)
                for simpler_value in f.values[:idx][:3]:
                    out.append(self.call(od, {**values, f.name: simpler_value}, **keep))
        return out


def step_weight(step: Step, domain: Domain) -> int:
    """How far a step is from the simplest: the shrinker's tie-break."""
    w = 1
    if isinstance(step, VmIoctl):
        od = domain.op(step.op)
        for f in od.fields:
            v = step.value(f.name)
            w += f.values.index(v) if v in f.values else len(f.values)
        w += step.arg is not ArgPointer.VALID
        b = step.buffer
        if b is not None:
            w += (b.seed != 0)
            if b.valid != b.length:         # short: the fewer pages and bytes the simpler
                w += 1 + b.valid.pages + (b.valid.bytes != 0)
    elif isinstance(step, EnableCap):
        w += bool(step.flags) + any(step.args)
    elif isinstance(step, (AddMemslot, DeleteMemslot)):
        w += step.slot + (getattr(step, "pages", SLOT_PAGES) != SLOT_PAGES)
    return w


__all__ = ["Domain", "OpDomain", "FieldDomain", "SeqState", "valid_sequence", "ExploreError",
           "SLOT_BASES", "OUTSIDE", "MAX_STEPS", "step_weight"]
