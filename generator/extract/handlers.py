"""Handler extraction: the checks of each ioctl and capability handler, in
the order the code makes them, from the C the patch adds.

Phases:
  1. collect code units from the `.c` hunks: function definitions the patch
     adds, and `case NAME:` blocks it adds to a dispatcher named in the
     vocabulary (`kvm_arch_vm_ioctl`, `kvm_vm_ioctl_enable_cap`, ...)
     (units.py);
  2. parse each unit with pycparser (cparse's kernel prelude);
  3. walk each case's statements in order, following calls into patch
     functions (walker.py); the vocabulary's context checks of the
     dispatcher come first, unless the patch deletes them;
  4. functions the patch declares in a header but no case reaches become
     INTERNAL operations: their rules are extracted like any other, and
     marked not reachable from userspace with this input;
  5. a check the patch's own code makes always fail ends its path: the
     checks after it on that path are marked dead (not reachable);
  6. every predicate is looked up in the vocabulary; one that is not there
     is reported as unmapped, never guessed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pycparser import c_ast

from generator import cparse
from generator.ingest import LineKind, Patch
from generator.model import (ENTRY_POINT, Check, Finding, FindingKind, Operation, OpKind, Predicate, Reach,
                             Source, Success, element_id, errno_from_name)
from generator.extract.defaults import foreign_defaults, sibling_defaults
from generator.extract.slugs import classify, ident
from generator.extract.units import (UNSEEN, Deletion, Unit, UnitKind, collect_units, declared_functions, deletions,
                                     header_macros,
                    parse_unit)
from generator.model.vocab import ContextCheck, Vocabulary
from generator.extract.walker import HandlerWalker, Outcome, Result, State, canonical_condition


def _parsed_units(patches: list[Patch], seed: str, voc: Vocabulary,
                  findings: list[Finding]) -> list[Unit]:
    units: list[Unit] = []
    for p in patches:
        for u in collect_units(p, seed, voc):
            try:
                parse_unit(u, seed)
            except cparse.CParseError as e:
                findings.append(Finding(FindingKind.PARSE_ERROR,
                                        f"{u.kind.value} {u.name} in {u.path} does not parse: {e.message}; "
                                        "its checks are not in this spec",
                                        Source(seed, e.line, p.label, u.path)))
                continue
            if u.ast is not None:
                units.append(u)
    return units


def _deleted_context(ctx: ContextCheck, dels: list[Deletion]) -> Deletion | None:
    """The deleted line that removes a context check from its dispatcher."""
    want = re.sub(r'\s+', '', ctx.condition)
    for d in dels:
        if d.function != ctx.function:
            continue
        m = re.match(r'^\s*if\s*\((.*)\)\s*$', d.text)
        if m and re.sub(r'\s+', '', m.group(1)) == want:
            return d
    return None


def _context_checks(op: Operation, u: Unit, dels: list[Deletion], seed: str,
                    voc: Vocabulary, walker: HandlerWalker, state: State,
                    after: bool = False) -> None:
    """The vocabulary's checks of the code around a dispatcher; a user read
    among them (`copy_from_user(&val, reg->addr, ...)`) makes its target
    input for the patch's code, as in the walker.

    The rules are in mainline's order.  One the hunk shows is the walker's
    (read where the hunk has it); one listed before the first shown rule is
    above the hunk (made first), one listed after the last shown rule is
    below it (made after the patch's code, as an `after` rule is); one
    listed between two shown rules is not in the code the hunk shows (the
    patch's base lacks it): a note, no check."""
    findings = walker.findings
    rules = context_rules(u, voc)
    if rules and not after:
        findings += _head_apart(op, u, seed)
    shown = _shown_conditions(u)
    at = [k for k, c in enumerate(rules) if canonical_condition(c.condition) in shown]
    for k, ctx in enumerate(rules):
        if k in at:
            continue                 # the hunk shows it: the walker reads it there
        if at and at[0] < k < at[-1]:
            if not after:
                findings.append(Finding(
                    FindingKind.NOTE,
                    f"{op.name}: mainline's `if ({ctx.condition})` -> -{ctx.errno} "
                    f"({ctx.file}:{ctx.line}) lies between lines the hunk shows, which do not "
                    "make it: the patch's base lacks it, and it is not in this spec",
                    op.source))
            continue
        if (ctx.after or (bool(at) and k > at[-1])) != after:
            continue                 # before the patch's code, or (`after`) once it is walked
        gone = _deleted_context(ctx, dels)
        if gone is not None:
            findings.append(Finding(
                FindingKind.NOTE,
                f"{op.name}: the patch deletes mainline's `if ({ctx.condition})` -> "
                f"-{ctx.errno} from {ctx.function} (line {gone.line}), so that check does not "
                "apply before the capability's own checks",
                Source(seed, gone.line, u.patch.label, gone.path, gone.text.strip())))
            continue
        _add_context_check(op, ctx, voc, walker, state, "context")


def _head_apart(op: Operation, u: Unit, seed: str) -> list[Finding]:
    """The checks a patch adds at the top of the dispatcher `u` sits in
    (before its `switch`), in a hunk of their own: the operation is read
    from `u`'s hunk, with the vocabulary's mainline rules of that code in
    their place, so the patch's own lines there are not in this spec --
    said with their line, never silently."""
    head = re.compile(rf'^[A-Za-z_][\w\s\*]*\b{re.escape(u.dispatcher)}\s*\([^;]*$')
    mine = {no for no, _ in u.lines}
    for f in u.patch.files:
        if f.path != u.path:
            continue
        for h in f.hunks:
            side = h.new_side()
            start = next((i for i, l in enumerate(side) if head.match(l.text)), None)
            if start is None:
                continue
            for l in side[start + 1:]:
                if re.match(r'^\s*switch\s*\(', l.text) or l.seed_line in mine:
                    break
                if l.kind is LineKind.ADD and re.match(r'^\s*if\s*\(', l.text):
                    return [Finding(
                        FindingKind.NOTE,
                        f"{op.name}: the patch adds checks at the top of {u.dispatcher} "
                        f"(line {l.seed_line}: `{l.text.strip()}`) in a hunk apart from this "
                        "case's; they are not joined to it: this operation's checks before "
                        f"{u.dispatcher}'s switch are the vocabulary's mainline rules, and the "
                        "patch's own there are not in this spec",
                        Source(seed, l.seed_line, u.patch.label, f.path, l.text.strip()))]
    return []


def context_rules(u: Unit, voc: Vocabulary) -> list[ContextCheck]:
    """The vocabulary's mainline checks around unit `u`: its dispatcher's
    (they hold for every case of it), and, when `u` is a pre-existing case
    the hunk shows part of (a post-image), that case's own (`function case
    LABEL`); a case the patch adds whole has no mainline code of its own."""
    return [c for c in voc.context.get(u.dispatcher, [])
            if not c.case or (c.case == u.name and u.added is not None)]


def _shown_conditions(u: Unit) -> set[str]:
    """Every `if` condition of the unit's code, canonical."""
    out: set[str] = set()

    class V(c_ast.NodeVisitor):
        def visit_If(self, n):
            out.add(canonical_condition(cparse.to_c(n.cond)))
            self.generic_visit(n)
    if u.ast is not None:
        V().visit(u.ast)
    return out


def _mainline_rules(op: Operation, u: Unit, voc: Vocabulary, walker: HandlerWalker) -> None:
    """Give the walker the mainline rules of the code `u` sits in, so an
    `if` the hunk shows whose error is set above it (`r = -ENOEXEC;` not in
    the mail) takes the rule's errno."""
    walker.mainline = {canonical_condition(c.condition): c for c in context_rules(u, voc)}
    walker.add_mainline = lambda ctx, st: _add_context_check(op, ctx, voc, walker, st, "context")


def _add_context_check(op: Operation, ctx: ContextCheck, voc: Vocabulary, walker: HandlerWalker,
                       state: State, label: str) -> None:
    """One check of the code around the patch (the vocabulary's), its
    source the vocabulary line and `label` saying whose code it is."""
    preds = [Predicate(h, t.concept) for h in dict.fromkeys(re.findall(r'([A-Za-z_]\w*)\s*\(',
                                                                      ctx.condition))
             if (t := voc.lookup(h)) is not None]
    reach = next((voc.lookup(p.spelling).reach for p in preds
                  if voc.lookup(p.spelling).reach is not Reach.REACHABLE), Reach.REACHABLE)
    op.checks.append(Check(walker._unique(ctx.id or (f"{ident(ctx.reads[0])}_nonzero"
                                                     if ctx.reads else ident(ctx.condition))),
                           len(op.checks) + 1, ctx.condition, errno_from_name(ctx.errno),
                           classify(ctx.condition, preds, False, reach), list(ctx.reads), preds,
                           Source(ctx.file, ctx.line, label, ctx.where, ctx.meaning),
                           reach=reach, context=True))
    walker.ids.add(op.checks[-1].id)
    node = cparse.parse_expr(ctx.condition)
    if not (isinstance(node, c_ast.FuncCall) and node.args and node.args.exprs
            and cparse.to_c(node.args.exprs[0]).lstrip("&") in state.argvars | {"argp"}):
        walker._user_reads(node, state)


def _entry_point_checks(op: Operation, units: list[Unit], dels: list[Deletion], seed: str,
                        voc: Vocabulary, walker: HandlerWalker, state: State) -> None:
    """The checks of the generic code the operation's request passes through
    first (the vocabulary's `entry_points`), unless the patch shows that
    code itself; a check the patch deletes from it is a note instead."""
    ep = voc.entry_point(op.kind.ioctl or op.name, op.fd)
    if ep is None or any(u.name == ep.function and u.kind is UnitKind.FUNCTION for u in units):
        return
    for ctx in ep.checks:
        gone = _deleted_context(ctx, dels)
        if gone is not None:
            walker.findings.append(Finding(
                FindingKind.NOTE,
                f"{op.name}: the patch deletes mainline's `if ({ctx.condition})` -> "
                f"-{ctx.errno} from {ctx.function} (line {gone.line})",
                Source(seed, gone.line, "", gone.path, gone.text.strip())))
            continue
        _add_context_check(op, ctx, voc, walker, state, f"{ENTRY_POINT} {ep.ioctl}")


def _mark_shown_context(op: Operation, u: Unit, seed: str, findings: list[Finding]) -> None:
    """A post-image unit's checks on lines the hunk shows as context are the
    pre-existing code the patch's lines sit in (marked context, at their mail
    line); a check whose condition is code the mail does not show is no
    check, and a finding says so."""
    lines = {no for no, _ in u.lines}
    kept = []
    for c in op.checks:
        if UNSEEN in c.condition:
            findings.append(Finding(
                FindingKind.NOTE,
                f"{op.name}: a check at line {c.source.line} depends on code between the "
                "hunks that the mail does not show; it is not in this spec",
                Source(seed, c.source.line, u.patch.label, u.path, c.source.text)))
            continue
        if not c.context and c.source.seed == seed and c.source.line in lines \
                and c.source.line not in u.added:
            c.context = True
        kept.append(c)
    for k, c in enumerate(kept, 1):
        c.order = k
    op.checks[:] = kept


def _success(res: Result | None) -> Success | None:
    return Success(res.text, res.value, res.source) if res else None


def extract_operations(patches: list[Patch], seed: str, voc: Vocabulary,
                       arg_types: dict[str, str], user_fields: set[str] = frozenset()
                       ) -> tuple[list[Operation], list[Finding], dict[str, list[tuple[int, int]]]]:
    """Operations with ordered checks from every code unit the patches add,
    the findings made on the way, and each operation's body as seed line
    spans (for placing reviewer remarks)."""
    findings: list[Finding] = []
    units = _parsed_units(patches, seed, voc, findings)
    functions = {u.name: u for u in units if u.kind is UnitKind.FUNCTION}
    dels = [d for p in patches for d in deletions(p)]
    macros: dict[str, tuple[str, int]] = {}
    for p in patches:
        macros.update(header_macros(p))
    ops: list[Operation] = []
    reached: set[str] = set()
    for u, label, switch in _entry_units(units, voc):
        d = voc.dispatch[u.dispatcher or u.name]
        kind = d.kind
        name = label
        cap = ""
        select: dict[str, str] = {}
        if kind in (OpKind.ENABLE_CAP, OpKind.CHECK_EXTENSION):
            name, cap = f"{kind.ioctl}({label})", label
        elif d.ioctl:
            name = d.ioctl
        elif d.selects:
            select = {**dict(d.fixed), d.selects: label}
            name = f"{kind.ioctl}({'/'.join(select.values())})"
        first = u.lines[0]
        if switch is None:
            src = Source(seed, first[0], u.patch.label, u.path, f"case {label}:{first[1]}".strip())
        else:
            line = switch[1].coord.line if switch[1].coord else first[0]
            src = Source(seed, line, u.patch.label, u.path,
                         next((t.strip() for no, t in u.lines if no == line), ""))
        op = Operation(name, kind, d.function, d.fd, [], None, src,
                       arg_type=arg_types.get(label, "") or u.arg_type or d.arg, cap=cap,
                       select=select)
        walker = HandlerWalker(op, functions, seed, voc, findings)
        walker.user_fields = user_fields
        walker.macros = macros
        walker.only_case = (id(switch[0]), label) if switch is not None else None
        state = State({d.argvar} if d.argvar else set())
        _entry_point_checks(op, units, dels, seed, voc, walker, state)
        if switch is None:             # the patch adds the whole dispatcher: no context around it
            _context_checks(op, u, dels, seed, voc, walker, state)
            _mainline_rules(op, u, voc, walker)
        if switch is None and d.selects and d.argvar and u.default is not None:
            _not_a_case(op, u, d, seed, walker, state)
        res = walker.walk_unit(u, state)
        if u.added is not None:
            _mark_shown_context(op, u, seed, findings)
        if switch is None:
            _context_checks(op, u, dels, seed, voc, walker, state, after=True)
        called = _called(u, functions)
        reached.update(called)
        _finish(op, walker, [u] + [functions[f] for f in called], seed, voc,
                walker.break_result or res)
        if d.ioctl and not d.returns:
            # a function that does part of one request (kvm_vcpu_first_run_init for
            # KVM_RUN): its `return 0` hands back to the request's code, which goes
            # on; what the request itself returns is not in the patch
            op.success = None
        if op.success is None and d.returns:   # the hunk does not show the function's end
            op.success = Success(d.returns, _int_or_none(d.returns),
                                 Source(d.file, d.line, "context", d.function,
                                        f"returns {d.returns} once every check passes "
                                        "(mainline; the hunk does not show it)"))
        ops.append(op)
    ops += _internal_operations(patches, functions, reached, seed, voc, findings)
    ops = _one_per_name(ops, seed, findings)
    for op in ops:
        _mark_dead(op, seed, findings)
    # what the target's mainline answers where the patch adds no handler
    siblings, notes = sibling_defaults(ops, patches, voc, seed)
    foreign, more = foreign_defaults(ops, voc)
    ops += siblings + foreign
    findings += notes + more
    spans = {op.name: _spans(op, units, functions) for op in ops}
    return ops, findings, spans


def _int_or_none(text: str):
    try:
        return int(text, 0)
    except ValueError:
        return None


def _one_per_name(ops: list[Operation], seed: str, findings: list[Finding]) -> list[Operation]:
    """An operation the input defines twice (two `case` blocks of one ioctl)
    is the first one, and a finding naming both; when their checks differ,
    the finding lists what the second would have said."""
    first: dict[str, Operation] = {}
    out = []
    for op in ops:
        if op.name not in first:
            first[op.name] = op
            out.append(op)
            continue
        a = first[op.name]
        sig = lambda o: [(c.condition, c.errno, c.result) for c in o.checks]
        differ = sig(a) != sig(op)
        findings.append(Finding(
            FindingKind.DUPLICATE,
            f"{op.name} is defined twice (lines {a.source.line} and {op.source.line}); the "
            "spec uses the first" + (
                f"; the second's checks differ ({', '.join(c.id for c in op.checks)}) and are "
                "not in this spec" if differ else ", the second is identical"),
            op.source, related=a.source))
    return out


def _not_a_case(op: Operation, u: Unit, d, seed: str, walker: HandlerWalker,
                state: State) -> None:
    """The dispatcher's `default:` as the hunk shows it: a value of the
    selected field that no case names fails with the default's errno."""
    errno, line, text = u.default
    sel = f"{d.argvar}->{d.selects}"
    cond = " && ".join(f"{sel} != {l}" for l in u.labels)
    node = cparse.parse_expr(cond)
    _recoord(node, line)
    prev, walker.unit = walker.unit, u
    walker._add_checks(node, Outcome(errno), state, whole=True, cid_hint="not_a_case")
    walker.unit = prev
    op.checks[-1].source = Source(seed, line, u.patch.label, u.path, text)


@dataclass(frozen=True)
class _At:
    """The position of a condition built from hunk lines (pycparser's Coord shape)."""
    line: int
    file: str = ""
    column: int = 0


def _recoord(node, line: int) -> None:
    node.coord = _At(line)
    for _, child in node.children():
        _recoord(child, line)


def _entry_units(units: list[Unit], voc: Vocabulary):
    """(unit, case label, switch) for each operation the patch adds: a
    `case` block added to a dispatcher (switch None), and each case of the
    dispatching `switch` of a dispatcher the patch adds whole
    (switch = (the Switch node, its Case node))."""
    for u in units:
        if u.kind is UnitKind.CASE:
            yield u, u.name, None
        elif u.name in voc.dispatch:
            sw = next((it for it in u.ast.body.block_items or []
                       if isinstance(it, c_ast.Switch)), None)
            items = (sw.stmt.block_items or []) if sw is not None and \
                isinstance(sw.stmt, c_ast.Compound) else []
            for it in items:
                if isinstance(it, c_ast.Case) and isinstance(it.expr, c_ast.ID):
                    yield u, it.expr.name, (sw, it)


def _spans(op: Operation, units: list[Unit], functions: dict[str, Unit]) -> list[tuple[int, int]]:
    first = next((u for u in units if u.lines[0][0] == op.body_line), None)
    if first is None:
        return []
    body = [first] + [functions[f] for f in _called(first, functions)]
    return [(u.lines[0][0], u.lines[-1][0]) for u in body]


def _finish(op: Operation, walker: HandlerWalker, body_units: list[Unit], seed: str,
            voc: Vocabulary, res: Result | None) -> None:
    op.loop = walker.loop_text
    op.buffer = _code_buffer_rule(op, body_units, seed, voc)
    op.body = "\n\n".join("\n".join(t for _, t in bu.lines) for bu in body_units)
    op.body_line = body_units[0].lines[0][0]
    op.success = _success(res)


def _internal_operations(patches: list[Patch], functions: dict[str, Unit], reached: set[str],
                         seed: str, voc: Vocabulary, findings: list[Finding]) -> list[Operation]:
    """Functions a patch declares in a header for other code to call, that no
    user entry point in the input reaches."""
    declared: dict[str, int] = {}
    for p in patches:
        declared.update(declared_functions(p))
    ops: list[Operation] = []
    for name, u in functions.items():
        if name not in declared or name in reached:
            continue
        src = Source(seed, u.lines[0][0], u.patch.label, u.path, u.lines[0][1].strip())
        op = Operation(name, OpKind.INTERNAL, name, "none", [], None, src)
        walker = HandlerWalker(op, functions, seed, voc, findings)
        params = [p.name for p in (u.ast.decl.type.args.params if u.ast.decl.type.args else [])
                  if p.name and not _is_context_param(p)]
        res = walker.walk_unit(u, State(set(), params=set(params)))
        _finish(op, walker, [u] + [functions[f] for f in _called(u, functions)], seed, voc, res)
        for c in op.checks:
            c.reach = Reach.UNREACHABLE
        findings.append(Finding(
            FindingKind.UNREACHABLE,
            f"{name}: not reachable from userspace with this input: no ioctl/hypercall entry "
            f"point in the quoted patch calls it (declared at line {declared[name]}); its "
            f"{len(op.checks)} rule(s) are listed, none can be tested", src,
            about=element_id(op.name)))
        ops.append(op)
    return ops


def _is_context_param(p) -> bool:
    """`struct kvm *kvm`, `struct kvm_vcpu *vcpu`: the VM, not an input."""
    return bool(re.search(r'\bstruct\s+kvm(?:_vcpu)?\b', cparse.to_c(p.type)))


def _mark_dead(op: Operation, seed: str, findings: list[Finding]) -> None:
    """Checks after one that always fails on the same path are dead code."""
    for k, c in enumerate(op.checks):
        if c.value is False and c.reach is Reach.REACHABLE:
            c.reach = Reach.UNREACHABLE
            findings.append(Finding(
                FindingKind.DEAD_CODE,
                f"{op.name}: check {c.id} `{c.condition}` never fails: the patch's own code "
                f"fixes it ({_fixed(c)})", c.source, about=element_id(op.name, c.id)))
        if c.value is not True:
            continue
        later = [d for d in op.checks[k + 1:]
                 if d.reach is Reach.REACHABLE and (not c.when or d.when.startswith(c.when))]
        for d in later:
            d.reach = Reach.UNREACHABLE
        findings.append(Finding(
            FindingKind.DEAD_CODE,
            f"{op.name}: check {c.id} `{c.condition}` always fails ({_fixed(c)}), so every "
            f"call returns {('-' + c.errno.name) if c.errno else c.result} there"
            + (f"; the {len(later)} check(s) after it ({', '.join(d.id for d in later)}) "
               "are not reachable in this version" if later else ""),
            c.source, about=element_id(op.name, c.id)))
        if c.when:
            continue
        if op.success is not None:
            findings.append(Finding(
                FindingKind.DEAD_CODE,
                f"{op.name}: the success path (returns `{op.success.ret}`"
                + (f" = {op.success.ret_value}" if op.success.ret_value is not None else "")
                + ") is not reachable in this version", op.success.source,
                about=element_id(op.name, "success")))
        break


def _fixed(c: Check) -> str:
    fixed = ", ".join(f"{p.spelling}() returns {p.value}" for p in c.predicates
                      if p.value is not None)
    return fixed or f"an unconditional `{c.source.text}` at line {c.source.line}"


def _called(u: Unit, functions: dict[str, Unit]) -> list[str]:
    out: list[str] = []

    class V(c_ast.NodeVisitor):
        def visit_FuncCall(self, node):
            n = cparse.to_c(node.name)
            if n in functions and n not in out:
                out.append(n)
                self.visit(functions[n].ast)
            self.generic_visit(node)

    V().visit(u.ast)
    return out


def _code_buffer_rule(op: Operation, units: list[Unit], seed: str, voc: Vocabulary):
    """The user buffer as the code lays it out: a pointer local that the page
    loop advances by `PAGE_SIZE / UNIT` per page is one byte per UNIT bytes
    of guest memory.  api.rst, when the patch has it, overrides this."""
    from generator.model import BufferRule
    ptr_local = unit = None
    src = None
    direction = (None, None)
    for u in units:
        for no, t in u.lines:
            m = re.search(r'PAGE_SIZE\s*/\s*([A-Z_][A-Z0-9_]*)', t)
            if m and voc.constant_value(m.group(1)) and unit is None:
                unit = m.group(1)
                src = Source(seed, no, u.patch.label, u.path, t.strip())
            m = re.search(r'^\s*(\w+)\s*\+=\s*\w+\s*;', t)
            if m and m.group(1) in op.aliases:
                ptr_local = m.group(1)
            m = re.search(r'=\s*!\(\s*\w+->(\w+)\s*&\s*(\w+)\s*\)', t)
            if m:
                direction = (m.group(1), m.group(2))
    if not (ptr_local and unit and op.loop):
        return None
    length_field = next((f for l, f in op.aliases.items() if l in op.loop), "")
    to_kernel = ""
    if direction[1] and direction[1].endswith("FROM_GUEST"):
        to_kernel = direction[1][:-len("FROM_GUEST")] + "TO_GUEST"
    return BufferRule(pointer_field=op.aliases[ptr_local], length_field=length_field,
                      bytes_per_unit=voc.constant_value(unit), unit_name=unit,
                      element="one tag value per byte (from the code)",
                      direction_field=direction[0] or "", to_kernel=to_kernel,
                      from_kernel=direction[1] or "", source=src)
