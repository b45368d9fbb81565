"""Semantic diff of two specs: what changed between two versions of a
series, in the terms a VMM author uses.

Phases:
  1. uAPI: structs matched by name, fields by their C path; sizes and
     offsets from the one layout engine, the ABI checker's, on arm64
     (generator.abi; a struct it cannot lay out is an error); constants, capabilities and ioctls matched by name -- an ioctl
     whose request number changed says whether its argument's size is why;
  2. behaviour: operations matched by name, checks by id; a check added,
     removed, moved, or failing with another errno; locking taken or
     dropped; the success value;
  3. render: one line per change, grouped by element, each naming where in
     each spec it comes from.

`kconform diff A B` takes spec names (mte-v8, v10) or YAML paths.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Optional

from generator.errors import KconformError
from generator.model import Check, Operation, Source, Spec, StructDef

ABI = "arm64"


class ChangeKind(enum.Enum):
    STRUCT_ADDED = "struct added"
    STRUCT_REMOVED = "struct removed"
    STRUCT_SIZE = "struct size"
    FIELD_ADDED = "field added"
    FIELD_REMOVED = "field removed"
    FIELD_TYPE = "field type"
    FIELD_OFFSET = "field offset"
    CONSTANT_ADDED = "constant added"
    CONSTANT_REMOVED = "constant removed"
    CONSTANT_VALUE = "constant value"
    CAPABILITY_ADDED = "capability added"
    CAPABILITY_REMOVED = "capability removed"
    CAPABILITY_NUMBER = "capability number"
    IOCTL_ADDED = "ioctl added"
    IOCTL_REMOVED = "ioctl removed"
    IOCTL_NUMBER = "ioctl number"
    OPERATION_ADDED = "operation added"
    OPERATION_REMOVED = "operation removed"
    CHECK_ADDED = "check added"
    CHECK_REMOVED = "check removed"
    CHECK_ERRNO = "check errno"
    CHECK_ORDER = "check order"
    CHECK_CONDITION = "check condition"
    CHECK_REACH = "check reach"
    LOCKING_ADDED = "locking added"
    LOCKING_REMOVED = "locking removed"
    SUCCESS = "success value"
    SUCCESS_DOC = "documented success"
    RETURN_CLAIM = "documented return"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    element: str                 # "struct kvm_arm_copy_mte_tags", "KVM_ARM_MTE_COPY_TAGS/no_memslot"
    before: str                  # "" when added
    after: str                   # "" when removed
    sources: tuple[Optional[Source], Optional[Source]]   # in spec A, in spec B
    why: str = ""                # the user's reading: "argument size 32 -> 48 bytes"


# ---------------------------------------------------------------- layout
@dataclass(frozen=True)
class FieldLayout:
    path: str
    ctype: str
    offset: int
    size: int


def layout(spec: Spec, sd: StructDef) -> tuple[int, dict[str, FieldLayout], str]:
    """(size, fields by path, engine name) of a struct on arm64, by the one
    layout engine (generator.abi); a struct it cannot lay out is a
    KconformError naming the spec and the struct."""
    from generator.abi.errors import AbiError
    from generator.abi.spec import arm64_layouts
    try:
        lay = arm64_layouts(spec.structs, spec.seed or spec.name)[f"{sd.kind} {sd.name}"]
    except AbiError as e:
        raise KconformError(f"{spec.name}: cannot lay out {sd.kind} {sd.name} on {ABI}: "
                            f"{e}") from None
    fields = {f.path: FieldLayout(f.path, f.member.type, f.offset, f.member.size)
              for f in lay.flatten()}
    return lay.size, fields, f"generator.abi ({ABI})"


# ---------------------------------------------------------------- diff
def diff_specs(a: Spec, b: Spec) -> list[Change]:
    out: list[Change] = []
    out += _structs(a, b)
    caps = {c.name for c in a.capabilities + b.capabilities}
    out += _named([c for c in a.constants if c.name not in caps],
                  [c for c in b.constants if c.name not in caps], "constant", lambda c: c.value,
                  ChangeKind.CONSTANT_ADDED, ChangeKind.CONSTANT_REMOVED, ChangeKind.CONSTANT_VALUE)
    out += _named(a.capabilities, b.capabilities, "capability", lambda c: c.number,
                  ChangeKind.CAPABILITY_ADDED, ChangeKind.CAPABILITY_REMOVED,
                  ChangeKind.CAPABILITY_NUMBER)
    out += _ioctls(a, b)
    out += _operations(a, b)
    return out


def _named(xs, ys, what: str, value, added, removed, changed) -> list[Change]:
    out: list[Change] = []
    bx, by = {x.name: x for x in xs}, {y.name: y for y in ys}
    for name, x in bx.items():
        if name not in by:
            out.append(Change(removed, f"{what} {name}", str(value(x)), "", (x.source, None)))
        elif value(x) != value(by[name]):
            out.append(Change(changed, f"{what} {name}", str(value(x)), str(value(by[name])),
                              (x.source, by[name].source)))
    for name, y in by.items():
        if name not in bx:
            out.append(Change(added, f"{what} {name}", "", str(value(y)), (None, y.source)))
    return out


def _structs(a: Spec, b: Spec) -> list[Change]:
    out: list[Change] = []
    sa, sb = {s.name: s for s in a.structs}, {s.name: s for s in b.structs}
    for name in list(sa) + [n for n in sb if n not in sa]:
        el = f"{(sa.get(name) or sb.get(name)).kind} {name}"
        if name not in sb:
            out.append(Change(ChangeKind.STRUCT_REMOVED, el, name, "", (sa[name].source, None)))
            continue
        if name not in sa:
            out.append(Change(ChangeKind.STRUCT_ADDED, el, "", name, (None, sb[name].source)))
            continue
        size_a, fa, eng = layout(a, sa[name])
        size_b, fb, _ = layout(b, sb[name])
        src = (sa[name].source, sb[name].source)
        for path, f in fa.items():
            if path not in fb:
                out.append(Change(ChangeKind.FIELD_REMOVED, f"{el}.{path}",
                                  f"{f.ctype} at offset {f.offset}", "", src))
            elif fb[path].ctype != f.ctype:
                out.append(Change(ChangeKind.FIELD_TYPE, f"{el}.{path}", f.ctype, fb[path].ctype, src))
            elif fb[path].offset != f.offset:
                out.append(Change(ChangeKind.FIELD_OFFSET, f"{el}.{path}", str(f.offset),
                                  str(fb[path].offset), src, why=f"offsets from {eng}"))
        for path, f in fb.items():
            if path not in fa:
                out.append(Change(ChangeKind.FIELD_ADDED, f"{el}.{path}", "",
                                  f"{f.ctype} at offset {f.offset} ({f.size} bytes)", src))
        if size_a != size_b:
            out.append(Change(ChangeKind.STRUCT_SIZE, el, f"{size_a} bytes", f"{size_b} bytes",
                              src, why=f"sizeof on {ABI}, from {eng}"))
    return out


def _ioctls(a: Spec, b: Spec) -> list[Change]:
    out = _named(a.ioctls, b.ioctls, "ioctl", lambda i: f"{i.number:#010x}",
                 ChangeKind.IOCTL_ADDED, ChangeKind.IOCTL_REMOVED, ChangeKind.IOCTL_NUMBER)
    ib = {i.name: i for i in b.ioctls}
    for k, c in enumerate(out):
        if c.kind is not ChangeKind.IOCTL_NUMBER:
            continue
        x = next(i for i in a.ioctls if f"ioctl {i.name}" == c.element)
        y = ib[x.name]
        why = []
        if x.size != y.size:
            why.append(f"because sizeof({y.arg_type or 'argument'}) changed {x.size} -> {y.size} "
                       "bytes (the size is bits 16-29 of the request)")
        if x.nr != y.nr:
            why.append(f"nr {x.nr:#x} -> {y.nr:#x}")
        if x.direction is not y.direction:
            why.append(f"direction {x.direction.value} -> {y.direction.value}")
        if x.type_value != y.type_value:
            why.append(f"type {x.type_value:#x} -> {y.type_value:#x}")
        out[k] = Change(c.kind, c.element, c.before, c.after, c.sources, "; ".join(why))
    return out


def _operations(a: Spec, b: Spec) -> list[Change]:
    out: list[Change] = []
    oa, ob = {o.name: o for o in a.operations}, {o.name: o for o in b.operations}
    for name, o in oa.items():
        if name not in ob:
            out.append(Change(ChangeKind.OPERATION_REMOVED, name, o.kind.value, "", (o.source, None)))
    for name, o in ob.items():
        if name not in oa:
            out.append(Change(ChangeKind.OPERATION_ADDED, name, "", o.kind.value, (None, o.source),
                              why=f"{len(o.checks)} check(s)"))
            continue
        out += _checks(oa[name], o)
        out += _locking(oa[name], o)
        sa, sb = oa[name].success, o.success
        if sa and sb and (sa.ret_value != sb.ret_value
                          or (sa.ret_value is None and sa.ret != sb.ret)):
            out.append(Change(ChangeKind.SUCCESS, name, _ret(sa), _ret(sb), (sa.source, sb.source),
                              why=_alternatives(sb)))
        if sa and sb and sa.doc and sb.doc and _words(sa.doc) != _words(sb.doc):
            out.append(Change(ChangeKind.SUCCESS_DOC, name, sa.doc, sb.doc,
                              (sa.doc_source, sb.doc_source)))
        out += _return_claims(a, b, name)
    return out


def _words(text: str) -> str:
    return " ".join(text.split())


def _alternatives(s) -> str:
    """A success the code returns in more than one way (`a | b`)."""
    alts = [x.strip() for x in s.ret.split(" | ")]
    return f"returns one of {len(alts)} values: " + "; ".join(alts) if len(alts) > 1 else ""


_RETURNS = re.compile(r'\breturn(?:s|ed)?\b', re.I)


def _return_claims(a: Spec, b: Spec, op: str) -> list[Change]:
    """Documentation sentences about what an operation returns that only
    one side states (e.g. the byte count of a partial copy)."""
    prefix = f"{op.lower()}."
    def of(s: Spec):
        return {_words(c.text): c for c in s.claims
                if c.id.startswith(prefix) and not c.id.endswith(".returns")
                and _RETURNS.search(c.text)}
    ca, cb = of(a), of(b)
    out = [Change(ChangeKind.RETURN_CLAIM, op, "", t, (None, c.source))
           for t, c in cb.items() if t not in ca]
    out += [Change(ChangeKind.RETURN_CLAIM, op, t, "", (c.source, None))
            for t, c in ca.items() if t not in cb]
    return out


def _ret(s) -> str:
    return s.ret if s.ret_value is None or s.ret == str(s.ret_value) else f"{s.ret} = {s.ret_value}"


def _errno(c: Check) -> str:
    return c.errno.name if c.errno else (f"returns {c.result}" if c.result else "no errno")


def _same_condition(a: str, b: str) -> bool:
    return re.sub(r'[\s()]+', '', a) == re.sub(r'[\s()]+', '', b)


def _checks(x: Operation, y: Operation) -> list[Change]:
    out: list[Change] = []
    ca, cb = {c.id: c for c in x.checks}, {c.id: c for c in y.checks}
    # a check whose id differs but whose condition is the same is the same
    # check (its id was derived from other context): matched under A's id
    for cid in [c for c in cb if c not in ca]:
        twin = next((k for k, c in ca.items() if k not in cb
                     and _same_condition(c.condition, cb[cid].condition)), None)
        if twin is not None:
            cb = {(twin if k == cid else k): v for k, v in cb.items()}
    for cid, c in ca.items():
        el = f"{x.name}/{cid}"
        if cid not in cb:
            out.append(Change(ChangeKind.CHECK_REMOVED, el, f"`{c.condition}` -> {_errno(c)}", "",
                              (c.source, None)))
            continue
        d = cb[cid]
        if c.errno != d.errno or c.result != d.result:
            out.append(Change(ChangeKind.CHECK_ERRNO, el, _errno(c), _errno(d), (c.source, d.source)))
        if c.condition != d.condition:
            out.append(Change(ChangeKind.CHECK_CONDITION, el, c.condition, d.condition,
                              (c.source, d.source)))
        if c.reach is not d.reach:
            out.append(Change(ChangeKind.CHECK_REACH, el, c.reach.value, d.reach.value,
                              (c.source, d.source)))
    for cid, d in cb.items():
        if cid not in ca:
            out.append(Change(ChangeKind.CHECK_ADDED, f"{y.name}/{cid}", "",
                              f"`{d.condition}` -> {_errno(d)}, check {d.order} of {len(y.checks)}",
                              (None, d.source)))
    common_a = [c.id for c in x.checks if c.id in cb]
    ids_b = {id(v): k for k, v in cb.items()}
    common_b = [ids_b[id(c)] for c in y.checks if ids_b[id(c)] in ca]
    for cid in common_a:
        before = [p for p in common_a[:common_a.index(cid)]]
        after = [p for p in common_b[:common_b.index(cid)]]
        if set(before) != set(after):
            now_after = sorted(set(before) - set(after))
            now_before = sorted(set(after) - set(before))
            why = "; ".join(filter(None, [
                f"now before {', '.join(now_after)}" if now_after else "",
                f"now after {', '.join(now_before)}" if now_before else ""]))
            out.append(Change(ChangeKind.CHECK_ORDER, f"{x.name}/{cid}",
                              str(ca[cid].order), str(cb[cid].order),
                              (ca[cid].source, cb[cid].source), why=why))
    return out


def _locking(x: Operation, y: Operation) -> list[Change]:
    out = [Change(ChangeKind.LOCKING_ADDED, x.name, "", lock, (x.source, y.source))
           for lock in y.locking if lock not in x.locking]
    out += [Change(ChangeKind.LOCKING_REMOVED, x.name, lock, "", (x.source, y.source))
            for lock in x.locking if lock not in y.locking]
    return out


# ---------------------------------------------------------------- render
def _meaning(spec: Spec, element: str) -> str:
    """What a check is about, in the vocabulary's words."""
    op, _, cid = element.rpartition("/")
    try:
        c = next(c for c in spec.operation(op).checks if c.id == cid)
    except (KeyError, StopIteration):
        return ""
    from generator.model.vocab import load_vocabulary
    voc = load_vocabulary()
    for p in c.predicates:
        term = voc.lookup(p.spelling)
        if term is not None and term.meaning:
            return term.meaning
    return ""


def _where(s: Optional[Source]) -> str:
    return f"{s.seed}:{s.line}" if s else "-"


def render_text(a: Spec, b: Spec, changes: list[Change]) -> str:
    def about(s: Spec) -> str:
        labels = [p.split(":")[0] for p in s.patches]
        return f"{s.seed} ({', '.join(labels) or 'no patch'})"
    lines = [f"{a.name} -> {b.name}: {len(changes)} change(s)",
             f"  {a.name}: {about(a)}", f"  {b.name}: {about(b)}"]
    if not changes:
        lines.append("no semantic change")
        return "\n".join(lines) + "\n"
    group = ""
    for c in changes:
        head = _head(c)
        if head != group:
            group = head
            lines.append("")
            lines.append(head)
        subject = c.element[len(head):].lstrip("/.") or ""
        text = _phrase(c, subject, b if c.after else a)
        lines.append(f"  {text}")
        lines.append(f"      [{_where(c.sources[0])} -> {_where(c.sources[1])}]")
    return "\n".join(lines) + "\n"


_CHECK_KINDS = frozenset({"check added", "check removed", "check errno", "check order",
                          "check condition", "check reach"})


def _head(c: Change) -> str:
    """The element a change is grouped under: a check's operation (whose
    name may hold a `/`, KVM_SET_DEVICE_ATTR(GROUP/ATTR)), a field's struct."""
    if c.kind.value in _CHECK_KINDS:
        return c.element.rpartition("/")[0]
    if c.element.startswith(("struct ", "union ")):
        return c.element.split(".")[0]
    return c.element


def _phrase(c: Change, subject: str, spec: Spec) -> str:
    k = c.kind
    what = f"{subject}: " if subject else ""
    if k in (ChangeKind.CHECK_ERRNO, ChangeKind.CHECK_ADDED, ChangeKind.CHECK_REMOVED,
             ChangeKind.CHECK_ORDER, ChangeKind.CHECK_CONDITION, ChangeKind.CHECK_REACH):
        meaning = _meaning(spec, c.element)
        what = f"check {subject}" + (f" ({meaning})" if meaning else "") + ": "
    if k is ChangeKind.FIELD_ADDED:
        return f"+ field {subject}: {c.after}"
    if k is ChangeKind.FIELD_REMOVED:
        return f"- field {subject}: {c.before}"
    if k is ChangeKind.STRUCT_SIZE:
        return f"size {c.before} -> {c.after} ({c.why})"
    if k is ChangeKind.IOCTL_NUMBER:
        return f"request number {c.before} -> {c.after}" + (f" {c.why}" if c.why else "")
    if k in (ChangeKind.CHECK_ADDED,):
        return f"+ {what}{c.after}"
    if k in (ChangeKind.CHECK_REMOVED,):
        return f"- {what}{c.before}"
    if k is ChangeKind.CHECK_ERRNO:
        return f"{what}errno {c.before} -> {c.after}"
    if k is ChangeKind.CHECK_ORDER:
        return f"{what}position {c.before} -> {c.after}" + (f" ({c.why})" if c.why else "")
    if k is ChangeKind.SUCCESS:
        return f"success value {c.before} -> {c.after}" + (f" ({c.why})" if c.why else "")
    if k is ChangeKind.SUCCESS_DOC:
        return f"documented success: {c.before!r} -> {c.after!r}"
    if k is ChangeKind.RETURN_CLAIM:
        return (f"+ documented return: {c.after}" if c.after
                else f"- documented return: {c.before}")
    if k is ChangeKind.LOCKING_ADDED:
        return f"locking added: takes {c.after}"
    if k is ChangeKind.LOCKING_REMOVED:
        return f"locking removed: no longer takes {c.before}"
    if k in (ChangeKind.OPERATION_ADDED, ChangeKind.STRUCT_ADDED, ChangeKind.CONSTANT_ADDED,
             ChangeKind.CAPABILITY_ADDED, ChangeKind.IOCTL_ADDED):
        return f"+ added: {c.after}" + (f" ({c.why})" if c.why else "")
    if k in (ChangeKind.OPERATION_REMOVED, ChangeKind.STRUCT_REMOVED, ChangeKind.CONSTANT_REMOVED,
             ChangeKind.CAPABILITY_REMOVED, ChangeKind.IOCTL_REMOVED):
        return f"- removed (was {c.before})"
    return f"{what}{k.value} {c.before} -> {c.after}" + (f" ({c.why})" if c.why else "")
