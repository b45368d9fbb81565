"""Handler extraction: the checks of each ioctl and capability handler, in
the order the code makes them, from the C the patch adds.

Phases:
  1. collect code units from the `.c` hunks: function definitions the patch
     adds, and `case NAME:` blocks it adds to a dispatcher named in the
     vocabulary (`kvm_arch_vm_ioctl`, `kvm_vm_ioctl_enable_cap`, ...);
  2. parse each unit with pycparser (cparse's kernel prelude);
  3. walk the statements in order: `if (cond) return -E;` and
     `if (cond) { ret = -E; goto out; }` are checks; calls into functions the
     patch defines are followed; locals that alias fields of the user
     argument (`size_t length = copy_tags->length;`) are followed back to
     the field; loops mark the checks inside them as per-iteration;
  4. every predicate is looked up in the vocabulary; one that is not there
     is reported as unmapped, never guessed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from pycparser import c_ast

from .. import cparse
from ..ingest import LineKind, Patch
from ..model import (Check, CheckKind, Finding, FindingKind, Operation, OpKind,
                     Predicate, Reach, Source, Success, errno_from_name)
from .vocab import Vocabulary

_FUNC_START = re.compile(
    r'^\s*(?:static\s+|inline\s+|__always_inline\s+|extern\s+)*(?:const\s+)?'
    r'(?:unsigned\s+|signed\s+|struct\s+|enum\s+)?[A-Za-z_]\w*[\s\*]+\**([A-Za-z_]\w*)\s*\(')
_CASE = re.compile(r'^\s*case\s+([A-Za-z_]\w*)\s*:(.*)$')
_KEYWORDS = {"if", "while", "for", "switch", "return", "sizeof", "do", "else"}


@dataclass
class Unit:
    kind: str                      # "function" or "case"
    name: str                      # function name or case label
    dispatcher: str                # enclosing function for a case
    lines: list[tuple[int, str]]   # (seed line, text)
    path: str
    patch: Patch
    ast: c_ast.FuncDef | None = None


def _balanced_block(lines: list[tuple[int, str]], i: int) -> int:
    """Index of the line closing the first `{` at or after line i."""
    depth, opened = 0, False
    for j in range(i, len(lines)):
        t = _strip_comments(lines[j][1])
        depth += t.count("{") - t.count("}")
        opened = opened or "{" in t
        if opened and depth <= 0:
            return j
        if not opened and t.rstrip().endswith(";"):
            return -1              # a prototype, not a definition
    return -1


def _strip_comments(t: str) -> str:
    return re.sub(r'/\*.*?\*/|//.*$', '', t)


def collect_units(patch: Patch, seed: str, voc: Vocabulary) -> list[Unit]:
    units: list[Unit] = []
    for f in patch.files:
        if not f.path.endswith(".c"):
            continue
        for h in f.hunks:
            side = [(l.seed_line, l.text) for l in h.new_side()]
            added = {l.seed_line for l in h.added()}
            m = re.search(r'([A-Za-z_]\w*)\s*\(', h.section)
            dispatcher = m.group(1) if m else ""
            i = 0
            while i < len(side):
                no, text = side[i]
                fm = _FUNC_START.match(text)
                if no in added and fm and fm.group(1) not in _KEYWORDS and not text.rstrip().endswith(";"):
                    end = _balanced_block(side, i)
                    if end > 0:
                        units.append(Unit("function", fm.group(1), "", side[i:end + 1], f.path, patch))
                        dispatcher = ""     # later cases are past this function
                        i = end + 1
                        continue
                cm = _CASE.match(text)
                if no in added and cm and dispatcher in voc.dispatch:
                    end = _case_end(side, i)
                    body = [(no, cm.group(2))] + side[i + 1:end + 1]
                    units.append(Unit("case", cm.group(1), dispatcher, body, f.path, patch))
                    i = end + 1
                    continue
                i += 1
    return units


def _case_end(side: list[tuple[int, str]], i: int) -> int:
    """Last line of the case block starting at line i."""
    first = _CASE.match(side[i][1]).group(2)
    if "{" in first:
        depth = 0
        for j in range(i, len(side)):
            t = _strip_comments(side[j][1] if j > i else first)
            depth += t.count("{") - t.count("}")
            if depth <= 0:
                return j
        return len(side) - 1
    depth = 0
    for j in range(i + 1, len(side)):
        t = _strip_comments(side[j][1]).strip()
        if depth == 0 and (re.match(r'^(case\s+\w+|default)\s*:', t)):
            return j - 1
        depth += t.count("{") - t.count("}")
        if depth < 0:
            return j - 1
        if depth == 0 and t == "break;":
            return j
    return len(side) - 1


def parse_unit(u: Unit, seed: str) -> None:
    if u.kind == "function":
        text, first = cparse.join_lines(u.lines, seed)
    else:
        text, first = cparse.join_lines(u.lines, seed)
        text = f"int __kconform_case(void) {{\n#line {first} \"{seed}\"\n{text}\n}}"
    parsed = cparse.parse(text, seed, first if u.kind == "function" else first - 1)
    funcs = [e for e in parsed.ast.ext if isinstance(e, c_ast.FuncDef)]
    u.ast = funcs[-1] if funcs else None


# ------------------------------------------------------------------ walking
def _errno_of(node) -> str | None:
    if isinstance(node, c_ast.UnaryOp) and node.op == "-" and isinstance(node.expr, c_ast.ID) \
            and re.match(r'^E[A-Z0-9]+$', node.expr.name):
        return node.expr.name
    return None


def _disjuncts(node) -> list:
    if isinstance(node, c_ast.BinaryOp) and node.op == "||":
        return _disjuncts(node.left) + _disjuncts(node.right)
    return [node]


@dataclass
class _State:
    argvars: set[str]
    locals: dict[str, list] = field(default_factory=dict)   # name -> init/assigned exprs
    in_loop: bool = False


class HandlerWalker:
    """Walks one operation's code, following calls into patch functions."""

    def __init__(self, op: Operation, functions: dict[str, Unit], seed: str,
                 voc: Vocabulary, findings: list[Finding]):
        self.op = op
        self.functions = functions
        self.seed = seed
        self.voc = voc
        self.findings = findings
        self.ids: set[str] = set()
        self.loop_text: str | None = None
        self.success_ret: tuple[str, Source] | None = None
        self.ret_inits: dict[str, str] = {}
        self.unit: Unit | None = None
        self.depth = 0

    # sources -----------------------------------------------------------
    def src(self, node) -> Source:
        line = node.coord.line if node is not None and node.coord else 0
        text = ""
        for no, t in (self.unit.lines if self.unit else []):
            if no == line:
                text = t.strip()
        return Source(self.seed, line, self.unit.patch.label if self.unit else "",
                      self.unit.path if self.unit else "", text)

    # entry ---------------------------------------------------------------
    def walk_unit(self, unit: Unit, state: _State) -> None:
        prev, self.unit = self.unit, unit
        self.depth += 1
        if self.depth > 8:
            raise RecursionError("call depth")
        self.stmts(unit.ast.body.block_items or [], state)
        self.depth -= 1
        self.unit = prev

    def stmts(self, items, st: _State) -> None:
        for s in items:
            self.stmt(s, st)

    def stmt(self, s, st: _State) -> None:
        if isinstance(s, c_ast.Decl):
            if s.init is not None:
                st.locals.setdefault(s.name, []).append(s.init)
                if isinstance(s.init, c_ast.Constant):
                    self.ret_inits[s.name] = s.init.value
            tn = cparse.to_c(s.type) if s.type is not None else ""
            if self.op.arg_type and self.op.arg_type.split()[-1] in tn:
                st.argvars.add(s.name)
        elif isinstance(s, c_ast.Assignment):
            name = cparse.to_c(s.lvalue)
            st.locals.setdefault(name, []).append(s.rvalue)
            if isinstance(s.lvalue, c_ast.StructRef) and self._root(s.lvalue) == "kvm":
                self.op.effects.append(f"{name} = {cparse.to_c(s.rvalue)}")
        elif isinstance(s, c_ast.If):
            errno = self._failure(s.iftrue)
            if errno:
                self._add_checks(s.cond, errno, st)
                if s.iffalse is not None:
                    self.stmt(s.iffalse, st)
            else:
                self.stmt(s.iftrue, st)
                if s.iffalse is not None:
                    self.stmt(s.iffalse, st)
        elif isinstance(s, (c_ast.While, c_ast.For, c_ast.DoWhile)):
            if self.loop_text is None:
                self.loop_text = self._loop_header(s)
            inner = _State(st.argvars, st.locals, True)
            self.stmt(s.stmt, inner)
        elif isinstance(s, c_ast.Compound):
            self.stmts(s.block_items or [], st)
        elif isinstance(s, c_ast.Label):
            self.stmt(s.stmt, st)
        elif isinstance(s, c_ast.Return):
            self._return(s, st)
        elif isinstance(s, c_ast.FuncCall):
            name = cparse.to_c(s.name)
            if name in ("mutex_lock", "spin_lock", "srcu_read_lock", "down_read", "down_write"):
                self.op.locking.append(cparse.to_c(s.args.exprs[0]) if s.args else name)
        elif isinstance(s, c_ast.Break) and not st.in_loop and self.op.kind is not OpKind.IOCTL:
            if self.success_ret is None and "r" in st.locals:
                self.success_ret = (cparse.to_c(st.locals["r"][-1]), self.src(s))

    def _loop_header(self, s) -> str:
        if isinstance(s, c_ast.While):
            return f"while ({cparse.to_c(s.cond)})"
        if isinstance(s, c_ast.DoWhile):
            return f"do ... while ({cparse.to_c(s.cond)})"
        return (f"for ({cparse.to_c(s.init) if s.init else ''}; {cparse.to_c(s.cond) if s.cond else ''}; "
                f"{cparse.to_c(s.next) if s.next else ''})")

    def _return(self, s: c_ast.Return, st: _State) -> None:
        e = s.expr
        if e is None:
            return
        if _errno_of(e):
            return
        if isinstance(e, c_ast.FuncCall) and cparse.to_c(e.name) in self.functions:
            callee = self.functions[cparse.to_c(e.name)]
            params = [p.name for p in (callee.ast.decl.type.args.params
                                       if callee.ast.decl.type.args else [])]
            args = e.args.exprs if e.args else []
            inner = _State(set(), {}, st.in_loop)
            for pname, a in zip(params, args):
                base = a.expr if isinstance(a, c_ast.UnaryOp) and a.op == "&" else a
                if isinstance(base, c_ast.ID) and base.name in st.argvars:
                    inner.argvars.add(pname)
                elif isinstance(base, c_ast.ID):
                    inner.locals[pname] = st.locals.get(base.name, [base])
            self.walk_unit(callee, inner)
            return
        if not st.in_loop:
            self.success_ret = (cparse.to_c(e), self.src(s))

    def _failure(self, node) -> str | None:
        """The errno a branch fails with, if it is a failure branch."""
        if isinstance(node, c_ast.Return):
            return _errno_of(node.expr)
        if isinstance(node, c_ast.Compound):
            items = node.block_items or []
            for k, it in enumerate(items):
                if isinstance(it, c_ast.Return):
                    return _errno_of(it.expr)
                if isinstance(it, c_ast.Assignment) and it.op == "=" and _errno_of(it.rvalue):
                    rest = items[k + 1:]
                    if any(isinstance(r, (c_ast.Goto, c_ast.Break, c_ast.Return)) for r in rest):
                        return _errno_of(it.rvalue)
        return None

    # checks --------------------------------------------------------------
    def _root(self, node) -> str:
        while isinstance(node, (c_ast.StructRef, c_ast.ArrayRef)):
            node = node.name
        return node.name if isinstance(node, c_ast.ID) else ""

    def _field(self, node, st: _State) -> str | None:
        """Field path of the user argument that `node` names, if any."""
        parts: list[str] = []
        cur = node
        while isinstance(cur, (c_ast.StructRef, c_ast.ArrayRef)):
            if isinstance(cur, c_ast.ArrayRef):
                parts.append(f"[{cparse.to_c(cur.subscript)}]")
                cur = cur.name
            else:
                parts.append("." + cur.field.name)
                cur = cur.name
        if isinstance(cur, c_ast.ID) and cur.name in st.argvars and parts:
            return "".join(reversed(parts)).lstrip(".")
        return None

    def _scan(self, node, st: _State, reads: list[str], direct: list[str],
              derived: list[str], aliases: dict[str, str], seen: set[str], via_local: bool) -> None:
        if node is None:
            return
        if isinstance(node, (c_ast.StructRef, c_ast.ArrayRef)):
            f = self._field(node, st)
            if f:
                if f not in reads:
                    reads.append(f)
                return
            path = cparse.to_c(node)
            if self._root(node) in ("kvm", "vcpu"):
                (derived if via_local else direct).append(path)
                return
        if isinstance(node, c_ast.FuncCall):
            (derived if via_local else direct).append(cparse.to_c(node.name))
            for a in (node.args.exprs if node.args else []):
                self._scan(a, st, reads, direct, derived, aliases, seen, via_local)
            return
        if isinstance(node, c_ast.ID):
            if node.name in st.locals and node.name not in seen:
                seen.add(node.name)
                for init in st.locals[node.name]:
                    f = self._field(init, st)
                    if f:
                        aliases[node.name] = f
                    self._scan(init, st, reads, direct, derived, aliases, seen, True)
            return
        for _, child in node.children():
            self._scan(child, st, reads, direct, derived, aliases, seen, via_local)

    def _add_checks(self, cond, errno: str, st: _State) -> None:
        for d in _disjuncts(cond):
            reads: list[str] = []
            direct: list[str] = []
            derived: list[str] = []
            aliases: dict[str, str] = {}
            self._scan(d, st, reads, direct, derived, aliases, set(), False)
            self.op.aliases.update(aliases)
            preds: list[Predicate] = []
            reach = Reach.REACHABLE
            for spelling in direct + derived:
                term = self.voc.predicates.get(spelling) if spelling in direct else self.voc.lookup(spelling)
                if spelling in direct and term is None:
                    term = self.voc.helpers.get(spelling)
                if term is None and spelling in ("copy_from_user", "copy_to_user"):
                    term = self.voc.lookup(spelling)
                if term is None:
                    if _is_noise(spelling):
                        continue
                    self.findings.append(Finding(
                        FindingKind.UNMAPPED_PREDICATE,
                        f"{spelling} (in `{cparse.to_c(d)}`) is not in the vocabulary "
                        f"{self.voc.path.name}; its meaning to userspace is unknown", self.src(d)))
                    preds.append(Predicate(spelling, None))
                    continue
                if term.lever == "none" and term.reach is Reach.REACHABLE and spelling in derived \
                        and not term.effect:
                    continue      # plumbing such as gpa_to_gfn
                preds.append(Predicate(spelling, term.concept))
                if term.reach is not Reach.REACHABLE and spelling in direct:
                    reach = term.reach
            text = cparse.to_c(d)
            kind = _classify(text, preds, st.in_loop, reach)
            cid = self._unique(_slug(d, reads, preds, aliases, text))
            self.op.checks.append(Check(cid, len(self.op.checks) + 1, text,
                                        errno_from_name(errno), kind,
                                        [aliases.get(r, r) for r in reads], preds,
                                        self.src(d), st.in_loop, reach))

    def _unique(self, cid: str) -> str:
        base, k = cid, 2
        while cid in self.ids:
            cid = f"{base}_{k}"
            k += 1
        self.ids.add(cid)
        return cid


def _is_noise(spelling: str) -> bool:
    return spelling in ("sizeof",)


def _classify(text: str, preds: list[Predicate], in_loop: bool, reach: Reach) -> CheckKind:
    if in_loop:
        return CheckKind.PER_PAGE
    if reach is Reach.HOST_ONLY:
        return CheckKind.HOST
    if "PAGE_MASK" in text or "PAGE_SIZE - 1" in text:
        return CheckKind.ALIGNMENT
    concepts = {p.concept for p in preds}
    if concepts & {"user_read_faults", "user_write_faults"}:
        return CheckKind.USER_MEMORY
    if concepts & {"cap_enabled", "vcpus_created", "memslot_visible"}:
        return CheckKind.STATE
    return CheckKind.ARGUMENT


def _ident(text: str) -> str:
    return re.sub(r'[^a-z0-9]+', '_', text.lower()).strip("_")


def _slug(node, reads: list[str], preds: list[Predicate], aliases: dict[str, str], text: str) -> str:
    neg = isinstance(node, c_ast.UnaryOp) and node.op == "!"
    inner = node.expr if neg else node
    direct = [p for p in preds if p.concept]
    if isinstance(inner, c_ast.BinaryOp) and inner.op == "&":
        rhs = cparse.to_c(inner.right)
        lhs = cparse.to_c(inner.left)
        field_name = _ident(reads[0].split("[")[0]) if reads else _ident(lhs)
        if "PAGE_MASK" in rhs:
            return f"{field_name}_unaligned"
        return f"{field_name}_invalid_bits"
    if isinstance(inner, c_ast.BinaryOp) and inner.op in ("!=", "==", "<", ">", "<=", ">="):
        lhs = cparse.to_c(inner.left)
        word = {"!=": "mismatch", "==": "equal", "<": "below", ">": "above",
                "<=": "at_most", ">=": "at_least"}[inner.op]
        return f"{_ident(lhs)}_{word}"
    if isinstance(inner, c_ast.FuncCall) and direct and direct[0].spelling == cparse.to_c(inner.name):
        concept = direct[0].concept
        return f"not_{concept}" if neg else concept
    if isinstance(inner, (c_ast.FuncCall, c_ast.StructRef, c_ast.ID)) and direct and not reads:
        concept = direct[0].concept
        return f"not_{concept}" if neg else concept
    if reads and isinstance(inner, (c_ast.StructRef, c_ast.ArrayRef, c_ast.ID)):
        return ("not_" if neg else "") + f"{_ident(reads[0])}_" + ("zero" if neg else "nonzero")
    return ("not_" if neg else "") + _ident(text)[:40]


def extract_operations(patches: list[Patch], seed: str, voc: Vocabulary,
                       arg_types: dict[str, str]) -> tuple[list[Operation], list[Finding]]:
    """Operations with ordered checks from every code unit the patches add."""
    findings: list[Finding] = []
    units: list[Unit] = []
    for p in patches:
        for u in collect_units(p, seed, voc):
            try:
                parse_unit(u, seed)
            except cparse.CParseError as e:
                findings.append(Finding(FindingKind.PARSE_ERROR, e.message,
                                        Source(seed, e.line, p.label, u.path)))
                continue
            if u.ast is not None:
                units.append(u)
    functions = {u.name: u for u in units if u.kind == "function"}
    ops: list[Operation] = []
    for u in units:
        if u.kind != "case":
            continue
        kind, fd = voc.dispatch[u.dispatcher]
        name = u.name
        cap = ""
        if kind is OpKind.ENABLE_CAP:
            name, cap = f"KVM_ENABLE_CAP({u.name})", u.name
        elif kind is OpKind.CHECK_EXTENSION:
            name, cap = f"KVM_CHECK_EXTENSION({u.name})", u.name
        first = u.lines[0]
        src = Source(seed, first[0], u.patch.label, u.path, f"case {u.name}:{first[1]}".strip())
        op = Operation(name, kind, u.dispatcher, fd, [], None, src,
                       arg_type=arg_types.get(u.name, ""), cap=cap)
        walker = HandlerWalker(op, functions, seed, voc, findings)
        argvars = {"cap"} if kind is OpKind.ENABLE_CAP else set()
        for ctx in voc.context.get(u.dispatcher, []):
            op.checks.append(Check(f"{_ident(ctx.reads[0])}_nonzero"
                                   if ctx.reads else _ident(ctx.condition),
                                   len(op.checks) + 1, ctx.condition, errno_from_name(ctx.errno),
                                   CheckKind.ARGUMENT, list(ctx.reads), [],
                                   Source(voc.path.name, ctx.line, "context", ctx.where, ctx.meaning),
                                   context=True))
            walker.ids.add(op.checks[-1].id)
        body_units = [u]
        walker.walk_unit(u, _State(argvars))
        for fname in _called(u, functions):
            body_units.append(functions[fname])
        op.loop = walker.loop_text
        op.buffer = _code_buffer_rule(op, body_units, seed, voc)
        op.body = "\n\n".join("\n".join(t for _, t in bu.lines) for bu in body_units)
        op.body_line = u.lines[0][0]
        if walker.success_ret:
            ret, rsrc = walker.success_ret
            value = _const_value(ret, walker.ret_inits)
            op.success = Success(ret, value, rsrc)
        ops.append(op)
    return ops, findings


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


def _const_value(ret: str, inits: dict[str, str]) -> int | None:
    for cand in (ret, inits.get(ret, "")):
        try:
            return int(cand, 0)
        except (TypeError, ValueError):
            continue
    return None


def _code_buffer_rule(op: Operation, units: list[Unit], seed: str, voc: Vocabulary):
    """The user buffer as the code lays it out: a pointer local that the page
    loop advances by `PAGE_SIZE / UNIT` per page is one byte per UNIT bytes
    of guest memory.  api.rst, when the patch has it, overrides this."""
    from ..model import BufferRule
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
