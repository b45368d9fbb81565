"""What the target architecture's mainline code answers for an entry point
the patch does not handle there, as operations of their own.

The vocabulary declares, per entry point (an ioctl on an fd kind), the
`default` mainline answers for a selector no handler knows (specs/
vocabulary.yaml `entry_points`), and per dispatcher what its switch answers
for a value none of its cases names (`defaults`, specs/vocabulary/
kvm-arm.yaml).  Three requests reach such a default:

* a sibling of a device-attribute family the patch adds: a patch that adds
  KVM_SET_DEVICE_ATTR and KVM_HAS_DEVICE_ATTR of a group on a VM fd but no
  KVM_GET_DEVICE_ATTR leaves GET of that group to mainline, which on arm64
  has no GET case at all on a VM fd (EINVAL); on a vCPU fd, the sibling's
  dispatcher (kvm_arm_vcpu_arch_get_attr, or kvm_arm_pmu_v3_get_attr for an
  attribute of the PMU group) answers ENXIO after its context checks --
  unless the patch's hunks sit in that dispatcher or name the request;
* an operation whose handler is another architecture's code (a patch to
  arch/x86/kvm/x86.c): on the target, the same request of the same
  selector meets the target's default (arm64's kvm_vm_ioctl_enable_cap
  refuses a capability it has no case for with EINVAL; its
  KVM_CHECK_EXTENSION reports 0, a default that is a value);
* KVM_CREATE_DEVICE of a device type the patch adds to the uAPI without
  registering its ops (ENODEV; device_type_operations).

Each becomes an operation whose checks are the entry point's own (the
generic copy of the argument) followed by one check that always fails with
the default's errno; every check's position is the vocabulary line, marked
as mainline's, never a mail line.  `Operation.default_for` names the
patch's operation it stands beside.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from generator.ingest import Patch
from generator.ingest.series import added_lines
from generator.extract.slugs import classify, ident
from generator.model import (Check, CheckKind, Finding, FindingKind, Operation, OpKind, Predicate,
                             Reach, Source, Success, errno_from_name)
from generator.model.vocab import ContextCheck, EntryPoint, Vocabulary

DEFAULT_ID = "mainline_default"
DEFAULT_LABEL = "mainline default"
ATTR_KINDS = (OpKind.SET_DEVICE_ATTR, OpKind.GET_DEVICE_ATTR, OpKind.HAS_DEVICE_ATTR)
_SAME_CODE = {"arm64", "arm"}         # 32-bit arm KVM shared the arm64 code until v5.7


def arch_of(where: str) -> str:
    """The architecture directory a vocabulary `where` names ("arm64" for
    "arch/arm64/kvm/arm.c ..."), "" for generic code."""
    m = re.match(r'\s*arch/(\w+)/', where or "")
    return m.group(1) if m else ""


def _foreign(op: Operation, target: str) -> bool:
    same = _SAME_CODE if target in _SAME_CODE else {target}
    return bool(op.arch) and op.arch not in same


def _mentions(patches: list[Patch], word: str) -> bool:
    """Whether a line the patches add to C code names `word`."""
    pat = re.compile(rf'\b{re.escape(word)}\b')
    return any(pat.search(l.text) for p in patches for f in p.files
               if f.path.endswith((".c", ".h")) for h in f.hunks for l in h.added())


def _context(ctx: ContextCheck, label: str) -> Source:
    return Source(ctx.file, ctx.line, label, ctx.where, ctx.meaning)


@dataclass(frozen=True)
class _Default:
    """Mainline's code a request meets: its function, the checks it makes
    first (and whose they are), and its default."""
    function: str
    before: tuple
    label: str
    default: ContextCheck


def _of_entry(ep: EntryPoint) -> _Default:
    return _Default(ep.function, ep.checks, f"entry point {ep.ioctl}", ep.default)


def _default_op(voc: Vocabulary, name: str, kind: OpKind, fd: str, ep,
                beside: Operation, **extra) -> Operation:
    """An operation of the target's mainline code: the checks it makes first
    (the entry point's, or the dispatcher's context), then its default,
    which fails on every call."""
    ep = _of_entry(ep) if isinstance(ep, EntryPoint) else ep
    d = ep.default
    checks = []
    for ctx in ep.before:           # as handlers._add_context_check reads them
        preds = [Predicate(h, t.concept) for h in dict.fromkeys(
                 re.findall(r'([A-Za-z_]\w*)\s*\(', ctx.condition)) if (t := voc.lookup(h))]
        reach = next((voc.lookup(p.spelling).reach for p in preds
                      if voc.lookup(p.spelling).reach is not Reach.REACHABLE), Reach.REACHABLE)
        checks.append(Check(ctx.id or ident(ctx.condition), len(checks) + 1, ctx.condition,
                            errno_from_name(ctx.errno), classify(ctx.condition, preds, False,
                                                                 reach),
                            list(ctx.reads), preds, _context(ctx, ep.label),
                            reach=reach, context=True))
    success = None
    if d.returns:                   # a value (KVM_CHECK_EXTENSION: 0), not a failure
        success = Success(d.returns, int(d.returns, 0), _context(d, DEFAULT_LABEL))
    else:
        checks.append(Check(DEFAULT_ID, len(checks) + 1, "1", errno_from_name(d.errno),
                            CheckKind.ARGUMENT, [], [], _context(d, DEFAULT_LABEL),
                            context=True, value=True))
    return Operation(name, kind, ep.function, fd, checks, success,
                     _context(d, DEFAULT_LABEL), arg_type=beside.arg_type,
                     default_for=beside.name, **extra)


def sibling_defaults(ops: list[Operation], patches: list[Patch], voc: Vocabulary,
                     seed: str) -> tuple[list[Operation], list[Finding]]:
    """For each device-attribute family (fd and selector) the patch adds,
    each of SET/GET/HAS it does not add whose entry point on that fd has a
    declared default: that default as an operation.  A patch whose added
    lines name the missing request itself handles it somewhere the
    extractor did not read: no default is assumed for it."""
    families: dict[tuple, list[Operation]] = {}
    touched = _touched(patches)
    for op in ops:
        if op.kind in ATTR_KINDS and op.select:
            families.setdefault((op.fd, tuple(sorted(op.select.items()))), []).append(op)
    names = {o.name for o in ops}
    out: list[Operation] = []
    findings: list[Finding] = []
    for (fd, select), members in families.items():
        have = {o.kind for o in members}
        for kind in ATTR_KINDS:
            if kind in have:
                continue
            ep = _sibling_default(voc, kind, fd, dict(select), touched)
            if ep is None or _mentions(patches, kind.ioctl):
                continue
            name = f"{kind.ioctl}({'/'.join(dict(members[0].select).values())})"
            if name in names:
                continue
            op = _default_op(voc, name, kind, fd, ep, members[0], select=dict(members[0].select))
            names.add(name)
            out.append(op)
            findings.append(Finding(
                FindingKind.NOTE,
                f"{name}: the patch adds {', '.join(sorted(o.kind.ioctl for o in members))} "
                f"of {', '.join(v for _, v in select)} on a {fd} fd but no {kind.ioctl}; "
                f"mainline answers it with -{ep.default.errno} ({ep.default.where})",
                op.source))
    return out, findings


def _touched(patches: list[Patch]) -> set[str]:
    """Functions a hunk of the patches sits in (its `@@` section)."""
    out = set()
    for p in patches:
        for f in p.files:
            for h in f.hunks:
                m = re.search(r'\b([A-Za-z_]\w*)\s*\(', h.section or "")
                if m:
                    out.add(m.group(1))
    return out


def _sibling_default(voc: Vocabulary, kind: OpKind, fd: str, select: dict,
                     touched: set[str]):
    """What mainline answers for request `kind` of a selector (`select`) no
    case of it knows: the default the vocabulary declares for the
    dispatcher that selects on the same field under the same fixed fields
    (kvm_arm_pmu_v3_get_attr for an attribute of the PMU group), after that
    dispatcher's context checks; else the entry point's on `fd`.  None when
    neither is declared, or the patch changes that dispatcher."""
    for d in voc.dispatch.values():
        fixed = dict(d.fixed)
        if d.kind is not kind or d.fd != fd or d.selects not in select \
                or set(select) != set(fixed) | {d.selects} \
                or any(select.get(k) != v for k, v in fixed.items()):
            continue
        dflt = voc.defaults.get(d.function)
        if dflt is None or d.function in touched:
            return None
        # the checks of the dispatchers on the way (the one selecting the fixed
        # group: its copy of the attribute), then this one's, each once
        outer = [o.function for o in voc.dispatch.values() if o.kind is kind and o.fd == fd
                 and o.selects in fixed and not o.fixed]
        before: dict[str, ContextCheck] = {}
        for fn in outer + [d.function]:
            for c in voc.context.get(fn, []):
                if not c.after:
                    before.setdefault(re.sub(r'\s+', '', c.condition), c)
        return _Default(d.function, tuple(before.values()), "context", dflt)
    ep = voc.entry_point(kind.ioctl, fd)
    return _of_entry(ep) if ep is not None and ep.default is not None else None


def foreign_defaults(ops: list[Operation], voc: Vocabulary) -> tuple[list[Operation],
                                                                     list[Finding]]:
    """For each operation another architecture's code handles, the target's
    answer to the same request (the entry point's default, when declared;
    the target is the architecture of the default's mainline code)."""
    out: list[Operation] = []
    findings: list[Finding] = []
    names = {o.name for o in ops}
    for op in ops:
        if op.kind is OpKind.INTERNAL or op.default_for or not op.kind.ioctl:
            continue
        ep = voc.entry_point(op.kind.ioctl, op.fd)
        if ep is None or ep.default is None:
            continue
        target = arch_of(ep.default.where)
        if not target or not _foreign(op, target):
            continue
        name = f"{op.name} on {target}"
        if name in names:
            continue
        new = _default_op(voc, name, op.kind, op.fd, ep, op, cap=op.cap, select=dict(op.select))
        names.add(name)
        out.append(new)
        answer = f"-{ep.default.errno}" if ep.default.errno else ep.default.returns
        findings.append(Finding(
            FindingKind.NOTE,
            f"{op.name} is handled by arch/{op.arch} code; on {target} the same request meets "
            f"mainline's default, {answer} ({ep.default.where}): {name}",
            new.source))
    return out, findings



DEVICE_TYPE_ENUM = "kvm_device_type"
_REGISTER = re.compile(r'\bkvm_register_device_ops\s*\(\s*[^,]+,\s*([A-Za-z_]\w*)\s*\)')


def device_type_operations(constants, patches: list[Patch], voc: Vocabulary,
                           seed: str) -> tuple[list[Operation], list[Finding]]:
    """A value the patch adds to enum kvm_device_type is a KVM_CREATE_DEVICE
    of that type.  The request's entry point (the vocabulary's) copies the
    struct first; then, when the series registers the type's device ops
    (`kvm_register_device_ops(&ops, TYPE)` on a line it adds), the call
    succeeds (0; the device's fd in cd.fd), else mainline's default answers
    (no ops for the type: ENODEV), its position the vocabulary line."""
    ep = voc.entry_point(OpKind.CREATE_DEVICE.ioctl, "vm")
    if ep is None:
        return [], []
    registered: dict[str, Source] = {}
    for p, f, l in added_lines(patches, ".c"):
        if (m := _REGISTER.search(l.text)):
            registered.setdefault(m.group(1), Source(seed, l.seed_line, p.label, f.path,
                                                     l.text.strip()))
    out: list[Operation] = []
    findings: list[Finding] = []
    for c in constants:
        if not _in_enum(c, DEVICE_TYPE_ENUM):
            continue
        name = f"{ep.ioctl}({c.name})"
        reg = registered.get(c.name)
        if reg is None and ep.default is None:
            continue
        beside = Operation(name, OpKind.CREATE_DEVICE, ep.function, "vm", [], None, c.source,
                           arg_type="struct kvm_create_device")
        op = _default_op(voc, name, OpKind.CREATE_DEVICE, "vm", ep, beside,
                         select={"type": c.name})
        op.default_for, op.source = "", c.source
        if reg is not None:          # the series registers its ops: the call succeeds
            op.checks = [k for k in op.checks if k.id != DEFAULT_ID]
            op.success = Success("0", 0, reg)
        else:
            findings.append(Finding(
                FindingKind.NOTE,
                f"{c.name}: the patch adds the device type but registers no device ops for it "
                f"(no kvm_register_device_ops(..., {c.name}) on a line it adds): "
                f"{ep.ioctl} of it fails with -{ep.default.errno} ({ep.default.where})",
                c.source))
        out.append(op)
    return out, findings


def _in_enum(c, enum: str) -> bool:
    """Whether constant `c` is an enumerator uapi.enum_additions read in `enum`."""
    return c.enum == enum
