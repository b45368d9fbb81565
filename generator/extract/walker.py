"""Walk one operation's C, in order, and record its checks.

What counts as a check (a condition whose true side leaves early):
  * `if (cond) return -E;` and `if (cond) { ret = -E; goto out; }`: fails
    with E (a condition `a || b` is one check per disjunct);
  * in a bool function, `if (cond) return false;`, and `ret = -E; goto out;`
    when `out:` returns `ret == 0`: fails with `result: false` (errno None
    when none was computed); `ret = 0; goto out;` or `return true;` is an
    early success, `result: true`;
  * `if (cond) helper(...);` where the vocabulary marks the helper as a
    failure signal (`kvm_inject_dabt`): the check's `effect`;
  * the `default:` of a `switch` on an argument that returns -E: the
    argument matches none of the cases.

An unconditional `return -E;` on the path (not under any `if`, loop or
goto, before any other return of a function walked in tail position) is a
check that always fails (condition `1`, `value` True): the handler
returns -E on every call, and every check after it is dead code.

Calls into functions the patch defines are followed, with their parameters
bound to the caller's arguments (a parameter bound to a caller local is
shown under the caller's name, so `flags` in a callee reads
`action_flags`); checks inside a `case` carry the case as `when`.  A
patch function whose body is `return CONSTANT;` gives its predicate a
fixed value, and conditions over such values are folded into `value`.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from pycparser import c_ast

from generator import cparse
from generator.model import (Check, CheckKind, Finding, FindingKind, Operation, OpKind, Predicate, Reach, Source,
                             errno_from_name, errno_from_number)
from generator.extract.conditions import ConditionReader, root
from generator.extract.state import Outcome, Result, State  # noqa: F401
from generator.extract.units import Unit, UnitKind, returns_bool
from generator.model.vocab import Vocabulary

_LOCKS = ("mutex_lock", "spin_lock", "srcu_read_lock", "down_read", "down_write",
          "read_lock", "write_lock")


def errno_of(node) -> str | None:
    if isinstance(node, c_ast.UnaryOp) and node.op == "-" and isinstance(node.expr, c_ast.ID) \
            and re.match(r'^E[A-Z0-9]+$', node.expr.name):
        return node.expr.name
    return None


@dataclass
class _Frame:
    unit: Unit
    is_bool: bool
    label_returns: dict[str, c_ast.Node]
    returns: list[Result] = field(default_factory=list)
    tail: bool = True          # what it returns is what the operation returns
    escaped: bool = False      # a goto was seen: later code may be skipped
    ret_var: str = ""            # `return ret;` at the end of the body: the local returned


class _Rename(c_ast.NodeVisitor):
    def __init__(self, renames: dict[str, str]):
        self.renames = renames

    def visit_ID(self, node):
        node.name = self.renames.get(node.name, node.name)

    def visit_StructRef(self, node):
        self.visit(node.name)          # a member name is not a variable


class _Inline(c_ast.NodeVisitor):
    """Replace locals by the single call that set them."""

    def __init__(self, calls: dict[str, c_ast.Node]):
        self.calls = calls

    def generic_visit(self, node):
        for name, child in node.children():
            if isinstance(child, c_ast.ID) and child.name in self.calls:
                _set_child(node, name, copy.deepcopy(self.calls[child.name]))
            else:
                self.visit(child)


def _is_macro_name(node) -> bool:
    """An upper-case identifier: a constant a local is set to on the path
    walked (`fw_reg_features = KVM_ARM_SMCCC_STD_FEATURES;`)."""
    return isinstance(node, c_ast.ID) and re.fullmatch(r"[A-Z][A-Z0-9_]*", node.name) is not None


def inline_constants(node, st) -> c_ast.Node:
    """`node` with each local the path walked set once to a constant
    (`fw_reg_features = KVM_ARM_SMCCC_STD_FEATURES;` in the register's
    case) replaced by that constant: the check then reads it."""
    consts = {n: v[0] for n, v in st.locals.items()
              if len(v) == 1 and _is_macro_name(v[0]) and n not in st.argvars}
    if not consts:
        return node
    if isinstance(node, c_ast.ID) and node.name in consts:
        return copy.deepcopy(consts[node.name])
    node = copy.deepcopy(node)
    _Inline(consts).visit(node)
    return node


def _set_child(node, name: str, value) -> None:
    """Set a pycparser child given its `children()` name (`expr`, `exprs[1]`)."""
    if "[" in name:
        attr, idx = name[:-1].split("[")
        getattr(node, attr)[int(idx)] = value
    else:
        setattr(node, name, value)


def _label_returns(body: c_ast.Compound) -> dict[str, c_ast.Node]:
    """label -> the expression of the first `return` after it."""
    out: dict[str, c_ast.Node] = {}
    items = body.block_items or []
    for k, it in enumerate(items):
        if isinstance(it, c_ast.Label):
            rest = [it.stmt] + items[k + 1:]
            for r in rest:
                if isinstance(r, c_ast.Return):
                    out[it.name] = r.expr
                    break
    return out


def _names(node) -> set[str]:
    """Every identifier an expression (or declaration) mentions."""
    out: set[str] = set()

    class _V(c_ast.NodeVisitor):
        def visit_ID(self, n):
            out.add(n.name)

    if isinstance(node, c_ast.Node):
        _V().visit(node)
    return out


def canonical_condition(text: str) -> str:
    """A condition as one spelling (pycparser's, without blanks), so the
    vocabulary's rule and the code it describes compare equal."""
    try:
        text = cparse.to_c(cparse.parse_expr(text))
    except cparse.CParseError:
        pass
    return re.sub(r'\s+', '', text)


class HandlerWalker(ConditionReader):
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
        self.frames: list[_Frame] = []
        self.break_result: Result | None = None
        self.call_results: dict[int, Result | None] = {}
        self.unit: Unit | None = None
        self._tail_call = False            # the next walk_unit is a `return f(...)`
        self.only_case: tuple[int, str] | None = None   # (switch, label): walk one case only
        self.user_fields: set[str] = set()
        self.macros: dict[str, tuple[str, int]] = {}      # header macros of the patch
        # the vocabulary's mainline checks of the pre-existing code the walked
        # unit sits in (canonical condition -> rule), and how one is recorded
        self.mainline: dict[str, object] = {}
        self.add_mainline = None

    # sources -----------------------------------------------------------
    def src(self, node) -> Source:
        line = node.coord.line if node is not None and node.coord else 0
        text = ""
        for no, t in (self.unit.lines if self.unit else []):
            if no == line:
                text = t.strip()
        return Source(self.seed, line, self.unit.patch.label if self.unit else "",
                      self.unit.path if self.unit else "", text)

    @staticmethod
    def _inlined(node, st: State):
        return inline_constants(node, st)

    def render(self, node, st: State) -> str:
        if not st.renames:
            return cparse.to_c(node)
        node = copy.deepcopy(node)
        _Rename(st.renames).visit(node)
        return cparse.to_c(node)

    # entry ---------------------------------------------------------------
    def walk_unit(self, unit: Unit, state: State) -> Result | None:
        if len(self.frames) >= 8 or any(f.unit is unit for f in self.frames):
            return None                   # recursion: the callee is already on the path
        prev, self.unit = self.unit, unit
        tail = not self.frames or self._tail_call
        self._tail_call = False
        self.frames.append(_Frame(unit, returns_bool(unit) if unit.kind is UnitKind.FUNCTION else False,
                                  _label_returns(unit.ast.body), tail=tail,
                                  ret_var=_ret_var(unit.ast.body)))
        self.stmts(unit.ast.body.block_items or [], state)
        frame = self.frames.pop()
        self.unit = prev
        return _combine(frame.returns)

    def stmts(self, items, st: State) -> None:
        items = list(items)
        for k, s in enumerate(items):
            nxt = items[k + 1] if k + 1 < len(items) else None
            if isinstance(s, c_ast.Switch) and isinstance(nxt, c_ast.Return) and errno_of(nxt.expr):
                self._switch(s, st, fallthrough=nxt)   # `switch (...) { case X: return 0; } return -E;`
                continue
            self.stmt(s, st)

    def stmt(self, s, st: State) -> None:
        if isinstance(s, c_ast.Decl):
            if s.init is not None:
                self._follow_call(s.init, st)
                st.locals.setdefault(s.name, []).append(s.init)
                if errno_of(s.init):
                    st.errvar = s.name
                if self._is_user_ptr(s.init, st):
                    st.userptrs.add(s.name)
            tn = cparse.to_c(s.type) if s.type is not None else ""
            if self.op.arg_type and self.op.arg_type.split()[-1] in tn:
                st.argvars.add(s.name)
        elif isinstance(s, c_ast.Assignment):
            self._follow_call(s.rvalue, st)
            self._lock_in(s.rvalue)
            name = cparse.to_c(s.lvalue)
            st.locals.setdefault(name, []).append(s.rvalue)
            if errno_of(s.rvalue):
                st.errvar = name
            if isinstance(s.lvalue, c_ast.ID):
                st.lastvar = name
            if self._is_user_ptr(s.rvalue, st):
                st.userptrs.add(name)
            if isinstance(s.lvalue, c_ast.StructRef) and root(s.lvalue) in ("kvm", "vcpu"):
                self.op.effects.append(f"{name} = {cparse.to_c(s.rvalue)}")
            else:
                self._effect_of(s.rvalue, st, "")
        elif isinstance(s, c_ast.If):
            out = self._failure(s.iftrue, st, s.cond)
            late = None if out else self._late_failure(s, st)
            if out:
                self._add_checks(s.cond, out, st)
                self._user_reads(s.cond, st)
                if s.iffalse is not None:
                    self.stmt(s.iffalse, st)
            elif late:
                cond, out = late
                self._add_checks(cond, out, st)
                self._user_reads(s.cond, st)
                if cond is not s.cond:        # `if (ok) { ...; r = 0; }`: the success side
                    self.stmt(s.iftrue, st.derive(guard=_and(st.guard,
                                                             self._shown_cond(s.cond, st))))
            elif self._result_chain(s, st):
                pass
            else:
                if not self._helper_errors(s, st) and not self._mainline_errno(s, st):
                    self._unreadable(s, st)
                self._user_reads(s.cond, st)
                cond = self._shown_cond(s.cond, st)
                self.stmt(s.iftrue, st.derive(guard=_and(st.guard, cond)))
                if s.iffalse is not None:
                    neg = (self._shown_cond(s.cond.expr, st)
                           if isinstance(s.cond, c_ast.UnaryOp) and s.cond.op == "!" else f"!({cond})")
                    self.stmt(s.iffalse, st.derive(guard=_and(st.guard, neg)))
                    self._merge_sides(s, st)
        elif isinstance(s, c_ast.Switch):
            self._switch(s, st)
        elif isinstance(s, (c_ast.While, c_ast.For, c_ast.DoWhile)):
            if not self._walks_caller_data(s, st):
                # `list_for_each_entry(...)`, `kvm_for_each_vcpu(...)`: a search
                # over kernel objects, its checks made once per call
                self.stmt(s.stmt, st.derive(in_loop=True, kernel_walk=True))
                return
            if self.loop_text is None:
                self.loop_text = self._loop_header(s)
            self.stmt(s.stmt, st.derive(in_loop=True, kernel_walk=False))
        elif isinstance(s, c_ast.Compound):
            self.stmts(s.block_items or [], st)
        elif isinstance(s, c_ast.Label):
            self.stmt(s.stmt, st)
        elif isinstance(s, c_ast.Return):
            self._return(s, st)
        elif isinstance(s, c_ast.Goto):
            self.frames[-1].escaped = True
        elif isinstance(s, c_ast.FuncCall):
            if not self._lock_in(s):
                self._follow_call(s, st)
                self._effect_of(s, st, "")
                self._user_reads(s, st)
        elif isinstance(s, c_ast.Break) and not st.in_loop and self.op.kind is not OpKind.IOCTL:
            var = st.errvar or st.lastvar
            if self.break_result is None and var in st.locals and len(self.frames) == 1:
                expr = st.locals[var][-1]
                res = self.call_results.get(id(expr))
                self.break_result = Result(cparse.to_c(expr),
                                           res.value if res else self.value(expr, st), self.src(s))

    def _lock_in(self, node) -> bool:
        if isinstance(node, c_ast.FuncCall) and cparse.to_c(node.name) in _LOCKS:
            lock = cparse.to_c(node.args.exprs[0]) if node.args else cparse.to_c(node.name)
            if lock not in self.op.locking:
                self.op.locking.append(lock)
            return True
        return False

    def _effect_of(self, node, st: State, guard: str) -> None:
        """Record a call to a vocabulary helper that acts (`effect:`)."""
        if not isinstance(node, c_ast.FuncCall):
            return
        term = self.voc.helpers.get(cparse.to_c(node.name))
        if term is None or not term.effect or term.failure:
            return
        text = self.render(node, st)
        where = _and(_and(st.when, st.guard), guard)
        self.op.effects.append(f"if ({where}): {text}" if where else text)

    def _shown_cond(self, cond, st: State) -> str:
        """An expression for humans: a local set once from a call shows the call
        (`ret == 0` with `ret = kvm_pgtable_stage2_annotate(...)`)."""
        calls = {n: v[0] for n, v in st.locals.items()
                 if len(v) == 1 and isinstance(v[0], c_ast.FuncCall)}
        if not calls:
            return self.render(cond, st)
        node = copy.deepcopy(cond)
        _Inline(calls).visit(node)
        if isinstance(node, c_ast.ID) and node.name in calls:
            node = copy.deepcopy(calls[node.name])
        return self.render(node, st)

    def _walks_caller_data(self, s, st: State) -> bool:
        """The loop's header reads what the caller passed: the argument, a
        user pointer, or a local set (at any remove) from one of those."""
        given = set(st.argvars) | set(st.userptrs) | set(st.params)
        seen: set[str] = set()

        def derived(name: str, depth: int = 0) -> bool:
            if name in given:
                return True
            if name in seen or depth > 6:
                return False
            seen.add(name)
            return any(derived(n, depth + 1) for e in st.locals.get(name, [])
                       for n in _names(e))

        parts = [s.cond] + ([s.init, s.next] if isinstance(s, c_ast.For) else [])
        return any(derived(n) for p in parts if p is not None for n in _names(p))

    def _loop_header(self, s) -> str:
        if isinstance(s, c_ast.While):
            return f"while ({cparse.to_c(s.cond)})"
        if isinstance(s, c_ast.DoWhile):
            return f"do ... while ({cparse.to_c(s.cond)})"
        return (f"for ({cparse.to_c(s.init) if s.init else ''}; {cparse.to_c(s.cond) if s.cond else ''}; "
                f"{cparse.to_c(s.next) if s.next else ''})")

    # calls ---------------------------------------------------------------
    def _follow_call(self, node, st: State) -> Result | None:
        """Walk a call into a patch function (its checks come in call order)."""
        if not (isinstance(node, c_ast.FuncCall) and cparse.to_c(node.name) in self.functions):
            return None
        callee = self.functions[cparse.to_c(node.name)]
        params = [p.name for p in (callee.ast.decl.type.args.params
                                   if callee.ast.decl.type.args else []) if p.name]
        args = node.args.exprs if node.args else []
        inner = State(set(st.argvars), dict(st.locals), st.in_loop, set(), dict(st.renames), st.when)
        inner.userptrs = set(st.userptrs)
        inner.kernel_walk = st.kernel_walk
        for pname, a in zip(params, args):
            base = a.expr if isinstance(a, c_ast.UnaryOp) and a.op == "&" else a
            inner.locals.pop(pname, None)
            inner.userptrs.discard(pname)
            if self._is_user_ptr(a, st):
                inner.userptrs.add(pname)
            if isinstance(base, c_ast.ID) and (base.name in st.argvars or base.name in st.params):
                if base.name in st.argvars:
                    inner.argvars.add(pname)
                if base.name in st.params:
                    inner.params.add(pname)
                    if pname != base.name:
                        inner.renames[pname] = st.renames.get(base.name, base.name)
            elif isinstance(base, c_ast.ID):
                inner.argvars.discard(pname)
                inner.locals[pname] = st.locals.get(base.name, [base])
                if pname != base.name and base.name in st.locals:
                    inner.renames[pname] = st.renames.get(base.name, base.name)
            else:
                inner.argvars.discard(pname)
                inner.locals[pname] = [a]
        res = self.walk_unit(callee, inner)
        self.call_results[id(node)] = res
        return res

    def _return(self, s: c_ast.Return, st: State) -> None:
        e = s.expr
        if e is not None and errno_of(e) and self._unconditional(st):
            try:
                errno_from_name(errno_of(e))
            except ValueError:
                self.findings.append(Finding(
                    FindingKind.DAMAGE, f"{self.op.name}: `return -{errno_of(e)};` returns no "
                    "errno the kernel has (a damaged line?); left out", self.src(s)))
                return
            self.op.checks.append(Check(
                self._unique("unconditional_return"), len(self.op.checks) + 1, "1",
                errno_from_name(errno_of(e)), CheckKind.STATE, [], [], self.src(s),
                st.per_page, when=st.when, value=True))
            return
        if e is None or errno_of(e):
            return
        if isinstance(e, c_ast.FuncCall) and cparse.to_c(e.name) not in self.functions:
            v = self.patch_constant(cparse.to_c(e.name))
            num = errno_from_number(-v) if v is not None and v < 0 else None
            if num is not None:     # `return stub(...);` with a stub macro that is `(-EINVAL)`
                self._add_checks(e, Outcome(num.name), st, whole=True)
                return
        if isinstance(e, c_ast.FuncCall) and cparse.to_c(e.name) in self.functions:
            self._tail_call = (not st.in_loop and not st.guard
                               and all(f.tail and not f.escaped for f in self.frames))
            res = self._follow_call(e, st)
            self._tail_call = False
            if res is not None and not st.in_loop:
                self.frames[-1].returns.append(res)
            return
        if not st.in_loop:
            self.frames[-1].returns.append(Result(self._shown_cond(e, st), self.value(e, st),
                                                  self.src(s)))

    def _unconditional(self, st: State) -> bool:
        """Whether a `return` here is reached on every call of the operation
        (on the `when` branch of a switch, if any)."""
        return (not st.in_loop and not st.guard
                and all(f.tail and not f.escaped and not f.returns for f in self.frames)
                and not any(c.value is True and c.when == st.when for c in self.op.checks))

    # values --------------------------------------------------------------
    def value(self, node, st: State, depth: int = 0) -> int | None:
        """The integer a C expression has on the path walked, when fixed."""
        if depth > 6 or node is None:
            return None
        if isinstance(node, c_ast.Constant):
            try:
                return int(node.value.rstrip("uUlL"), 0)
            except ValueError:
                return None
        if errno_of(node):
            try:
                return -errno_from_name(errno_of(node)).value
            except ValueError:
                return None
        if isinstance(node, c_ast.ID):
            if node.name in ("true", "false"):
                return int(node.name == "true")
            if node.name in st.locals and st.locals[node.name]:
                last = st.locals[node.name][-1]
                res = self.call_results.get(id(last))
                if res is not None:
                    return res.value
                return self.value(last, st, depth + 1)
            return None
        if isinstance(node, c_ast.FuncCall):
            res = self.call_results.get(id(node))
            if res is not None:
                return res.value
            return self.patch_constant(cparse.to_c(node.name))
        if isinstance(node, c_ast.UnaryOp) and node.op == "!":
            v = self.value(node.expr, st, depth + 1)
            return None if v is None else int(not v)
        if isinstance(node, c_ast.BinaryOp) and node.op in ("==", "!="):
            a, b = self.value(node.left, st, depth + 1), self.value(node.right, st, depth + 1)
            if a is None or b is None:
                return None
            return int((a == b) == (node.op == "=="))
        return None

    def patch_constant(self, name: str) -> int | None:
        """The value of a patch function whose whole body is `return CONST;`,
        or of a macro the patch defines in a header as a constant
        (`#define kvm_arm_vcpu_is_finalized(vcpu) true`, `... (-EINVAL)`)."""
        if name in self.macros and name not in self.functions:
            body = self.macros[name][0].strip()
            while body.startswith("(") and body.endswith(")"):
                body = body[1:-1].strip()
            if body in ("true", "false"):
                return int(body == "true")
            m = re.fullmatch(r'-\s*(E[A-Z0-9]+)', body)
            if m:
                try:
                    return -errno_from_name(m.group(1)).value
                except ValueError:
                    return None
            try:
                return int(body.rstrip("uUlL"), 0)
            except ValueError:
                return None
        u = self.functions.get(name)
        if u is None or u.ast is None:
            return None
        items = u.ast.body.block_items or []
        if len(items) == 1 and isinstance(items[0], c_ast.Return):
            e = items[0].expr
            if isinstance(e, c_ast.Constant):
                return int(e.value.rstrip("uUlL"), 0)
            if isinstance(e, c_ast.ID) and e.name in ("true", "false"):
                return int(e.name == "true")
        return None

    # failures ------------------------------------------------------------
    def _failure(self, node, st: State, cond) -> Outcome | None:
        """What the true side of an `if` does, if it leaves early."""
        frame = self.frames[-1]
        if isinstance(node, c_ast.Return):
            return self._returned(node.expr, frame)
        leave = node
        if isinstance(node, c_ast.Compound) and len(node.block_items or []) == 1:
            leave = node.block_items[0]
        if isinstance(leave, (c_ast.Goto, c_ast.Break)) and not (isinstance(leave, c_ast.Break)
                                                                 and st.in_loop):
            return self._pending(leave, st, frame)
        if isinstance(node, c_ast.FuncCall):
            return self._signal(node, st, cond, frame)
        if isinstance(node, c_ast.Compound):
            items = node.block_items or []
            if len(items) == 1 and isinstance(items[0], c_ast.FuncCall):
                return self._signal(items[0], st, cond, frame)
            for k, it in enumerate(items):
                if isinstance(it, c_ast.Return):
                    return self._returned(it.expr, frame)
                if isinstance(it, c_ast.Assignment) and it.op == "=":
                    rest = items[k + 1:]
                    leave = next((r for r in rest if isinstance(r, (c_ast.Goto, c_ast.Break,
                                                                    c_ast.Return))), None)
                    if leave is None:
                        continue
                    var = cparse.to_c(it.lvalue)
                    final = frame.label_returns.get(leave.name) if isinstance(leave, c_ast.Goto) else None
                    e = errno_of(it.rvalue)
                    if e:
                        return Outcome(e, _bool_result(final, var, -1) if frame.is_bool else "")
                    if frame.is_bool and isinstance(it.rvalue, c_ast.Constant) and final is not None:
                        res = _bool_result(final, var, int(it.rvalue.value, 0))
                        if res:
                            return Outcome(None, res)
        return None

    def _helper_errors(self, s: c_ast.If, st: State) -> bool:
        """`r = helper(...); if (r) goto out;` (out returns r), `if (r) return
        r;`: the call's result is passed on.  When the vocabulary lists the
        helper's errors, each is a check (`helper(...) == -E`, in the listed
        order, with the error's concept and reach) at the `if`; otherwise the
        caller reports the value as unreadable."""
        cond = s.cond
        var = cond.name if isinstance(cond, c_ast.ID) else (
            cond.left.name if isinstance(cond, c_ast.BinaryOp) and cond.op in ("!=", "<")
            and isinstance(cond.left, c_ast.ID) and cparse.to_c(cond.right) == "0" else None)
        vals = st.locals.get(var) or [] if var else []
        call = vals[-1] if vals else None
        if not isinstance(call, c_ast.FuncCall):
            return False
        head = cparse.to_c(call.name)
        term = self.voc.helpers.get(head) or self.voc.predicates.get(head)
        if term is None or not term.errors:
            return False
        body = s.iftrue.block_items or [] if isinstance(s.iftrue, c_ast.Compound) else [s.iftrue]
        leave = body[-1] if body else None
        if isinstance(leave, c_ast.Goto):
            leave = self.frames[-1].label_returns.get(leave.name)
        elif isinstance(leave, c_ast.Return):
            leave = leave.expr
        if not (isinstance(leave, c_ast.ID) and leave.name == var):
            return False
        shown = self.render(call, st)
        for e in term.errors:
            text = f"{shown} == -{e.errno}"
            preds = [Predicate(head, e.concept)]
            self.op.checks.append(Check(
                self._unique(e.concept), len(self.op.checks) + 1, text,
                errno_from_name(e.errno),
                CheckKind.HOST if e.reach is Reach.HOST_ONLY else CheckKind.STATE, [], preds,
                self.src(s.cond), st.in_loop, e.reach, when=st.when))
        return True

    def _mainline_errno(self, s: c_ast.If, st: State) -> bool:
        """`if (cond) break;` (or a `goto`/`return` of a value the hunk does
        not set) in pre-existing code whose error is set above the hunk, in
        lines the mail does not show: when the vocabulary's mainline context
        of that code lists `cond`, the check is that rule (its errno, its
        position the vocabulary line), and a note says so."""
        if not self.mainline or self.add_mainline is None or len(self.frames) != 1 \
                or self.unit is None or self.unit.added is None:
            return False
        body = s.iftrue.block_items or [] if isinstance(s.iftrue, c_ast.Compound) else [s.iftrue]
        if not body or not isinstance(body[-1], (c_ast.Break, c_ast.Goto, c_ast.Return)):
            return False
        shown = self.render(s.cond, st)
        ctx = self.mainline.get(canonical_condition(shown))
        if ctx is None:
            return False
        self.add_mainline(ctx, st)
        leave = "break" if isinstance(body[-1], c_ast.Break) else cparse.to_c(body[-1]).strip()
        self.findings.append(Finding(
            FindingKind.NOTE,
            f"{self.op.name}: `if ({shown})` leaves with `{leave}`, its error set before the "
            f"hunk in code the mail does not show: -{ctx.errno} from the vocabulary's mainline "
            f"context of {ctx.function}" + (f" case {ctx.case}" if ctx.case else "")
            + f" ({ctx.file}:{ctx.line})", self.src(s.cond)))
        return True

    def _unreadable(self, s: c_ast.If, st: State) -> None:
        """An `if` whose true side leaves the function with a value the
        walker cannot read (`if (r) return r;`, `{ ret = helper(); goto
        out; }`) is a finding with its line: its check is not in the spec."""
        body = s.iftrue.block_items or [] if isinstance(s.iftrue, c_ast.Compound) else [s.iftrue]
        leave = body[-1] if body else None
        frame = self.frames[-1]
        what = why = None
        if isinstance(leave, c_ast.Return) and leave.expr is not None:
            if self.value(leave.expr, st) is None and not (
                    isinstance(leave.expr, c_ast.FuncCall)
                    and cparse.to_c(leave.expr.name) in self.functions):
                what = f"return {cparse.to_c(leave.expr)}"
        elif isinstance(leave, c_ast.Goto):
            final = frame.label_returns.get(leave.name)
            if isinstance(final, c_ast.ID) and self.value(final, st) is None:
                what = f"goto {leave.name} (returning {final.name}, not a constant here)"
        elif isinstance(leave, c_ast.Break) and not st.in_loop and not (
                frame.ret_var or st.errvar) and self.unit is not None \
                and self.unit.added is not None:
            what = "break"
            why = ("the error it returns is set before the hunk, in code the mail does not "
                   "show; no check is recorded for it")
        if what is None:
            return
        self.findings.append(Finding(
            FindingKind.NOTE,
            f"{self.op.name}: `if ({self.render(s.cond, st)})` leaves with `{what}`: " + (
                why or "the value it returns is not a constant the extractor can read (a "
                "helper's error passed on); no check is recorded for it"), self.src(s.cond)))

    def _pending(self, leave, st: State, frame: _Frame) -> Outcome | None:
        """`r = -EINVAL; if (x) goto out;` / `... if (x) break;`: the errno
        assigned before the check is what leaving returns."""
        var = ""
        if isinstance(leave, c_ast.Goto):
            final = frame.label_returns.get(leave.name)
            var = final.name if isinstance(final, c_ast.ID) else ""
        else:
            var = frame.ret_var or st.errvar
        vals = st.locals.get(var) or []
        e = errno_of(vals[-1]) if vals else None
        if e:
            return Outcome(e, _bool_result(frame.label_returns.get(getattr(leave, "name", "")),
                                           var, -1) if frame.is_bool else "")
        return None

    def _late_failure(self, s: c_ast.If, st: State):
        """Two shapes whose errno is in a local the function returns later:
        `if (cond) ret = -E;` (the check is `cond`), and
        `r = -E; ... if (cond) { ...; r = 0; }` with no else (the check is
        `!cond`: the call fails unless cond holds).  Returns the failing
        condition and its outcome."""
        frame = self.frames[-1]
        body = s.iftrue.block_items or [] if isinstance(s.iftrue, c_ast.Compound) else [s.iftrue]
        var = frame.ret_var or st.errvar
        search = st.in_loop and isinstance(body[-1], c_ast.Break) and not self._leaves(body[:-1]) \
            if body else False         # a loop looking for a match: `{ ...; r = 0; break; }`
        if not var or s.iffalse is not None or not body or (self._leaves(body) and not search):
            return None
        sets = [it for it in body if isinstance(it, c_ast.Assignment) and it.op == "="
                and cparse.to_c(it.lvalue) == var]
        if not sets:
            return None
        last = sets[-1]
        e = errno_of(last.rvalue)
        if e and len(body) == 1:
            return s.cond, Outcome(e)
        pending = st.locals.get(var) or []
        before = errno_of(pending[-1]) if pending else None
        if before and isinstance(last.rvalue, c_ast.Constant) and last.rvalue.value == "0":
            return _negate(s.cond), Outcome(before)
        return None

    def _merge_sides(self, s: c_ast.If, st: State) -> None:
        """`if (c) r = a; else r = b;` (neither side leaves): after it, r
        holds `c ? a : b`, the value a later `break;` or `return r;` hands
        back (KVM_CHECK_EXTENSION's `if (kvm) r = <state>; else r =
        <default>;`), not the last side walked."""
        def last_set(body):
            items = body.block_items or [] if isinstance(body, c_ast.Compound) else [body]
            if self._leaves(items):
                return None
            sets = [it for it in items if isinstance(it, c_ast.Assignment) and it.op == "="
                    and isinstance(it.lvalue, c_ast.ID)]
            return sets[-1] if sets else None
        a, b = last_set(s.iftrue), last_set(s.iffalse)
        if a is None or b is None or a.lvalue.name != b.lvalue.name \
                or errno_of(a.rvalue) or errno_of(b.rvalue):
            return
        var = a.lvalue.name
        st.locals.setdefault(var, []).append(
            c_ast.TernaryOp(s.cond, a.rvalue, b.rvalue, s.coord))
        st.lastvar = var

    def _result_chain(self, s: c_ast.If, st: State) -> bool:
        """`if (a) { r = -E1; } else if (b) { r = -E2; } else { r = 0; ... }`:
        no branch leaves, each sets the local the code returns (by `break`
        or `return r;` after the chain).  The leading branches that set it
        to an errno are checks, in order (`a` fails with E1, then `b` with
        E2); what follows them (the `else`, or branches setting another
        value) is the success path, walked as any code.  An `else` that does
        not set the local (or no `else`) leaves the value it had before the
        chain, which must then be no errno (`r = 0;` above it) -- or, with
        no `else` and no such value, every branch must set an errno and the
        local must be the one the function is known to return; a chain
        inside the branch of an `if`
        that is no check (a guard) is not read so.  Returns whether `s` was
        read so."""
        branches, node = [], s
        while isinstance(node, c_ast.If):
            branches.append((node.cond, node.iftrue))
            node = node.iffalse
        final = node

        def sets(body) -> dict[str, c_ast.Node] | None:
            items = body.block_items or [] if isinstance(body, c_ast.Compound) else [body]
            if not items or self._leaves(items):
                return None
            return {it.lvalue.name: it.rvalue for it in items
                    if isinstance(it, c_ast.Assignment) and it.op == "="
                    and isinstance(it.lvalue, c_ast.ID)}

        assigned = [sets(b) for _, b in branches]
        rest_sets = sets(final) if final is not None else {}
        if any(a is None for a in assigned) or rest_sets is None:
            return False
        common = set.intersection(*(set(a) for a in assigned))
        var = next((v for v in sorted(common) if errno_of(assigned[0][v])), None)
        if var is None:
            return False
        errs = [errno_of(a[var]) for a in assigned]
        pending = st.locals.get(var) or []
        if var in rest_sets:
            errs.append(errno_of(rest_sets[var]))
        elif pending and not errno_of(pending[-1]):
            pass     # `r = 0; if (a) r = -E1; else if (b) r = -E2; [else <no r>]`
        elif final is not None or len(branches) < 2 or var not in (
                self.frames[-1].ret_var, st.errvar):
            return False
        n = next((k for k, e in enumerate(errs) if not e), len(errs))
        if n == 0 or st.guard or (final is None and n < len(branches)):
            return False
        # an errno branch after a success branch is no check made in order:
        # the rest of the chain is walked as any `if` (its errors unread)
        for (cond, _), e in zip(branches[:n], errs):
            self._add_checks(cond, Outcome(e), st)
            self._user_reads(cond, st)
        rest = branches[n:]
        if rest:
            first = rest[0]
            tail = c_ast.If(first[0], first[1], None, first[0].coord)
            cur = tail
            for cond, body in rest[1:]:
                cur.iffalse = c_ast.If(cond, body, None, cond.coord)
                cur = cur.iffalse
            cur.iffalse = final
            self.stmt(tail, st)
        elif final is not None:
            self.stmt(final, st)
        st.errvar = var
        return True

    @staticmethod
    def _leaves(items) -> bool:
        return any(isinstance(it, (c_ast.Return, c_ast.Goto, c_ast.Break)) for it in items)

    # user memory ------------------------------------------------------------
    _READS = ("get_user", "__get_user", "copy_from_user", "__copy_from_user")

    def _is_user_ptr(self, node, st: State, depth: int = 0) -> bool:
        """A pointer into user memory: `argp`, a field of the argument that
        holds an address (`attr->addr`), or a local or parameter set from one."""
        if node is None or depth > 6:
            return False
        while isinstance(node, (c_ast.Cast, c_ast.UnaryOp)) and not (
                isinstance(node, c_ast.UnaryOp) and node.op in ("&", "*", "!", "-", "~")):
            node = node.expr
        if isinstance(node, c_ast.Cast):
            return self._is_user_ptr(node.expr, st, depth + 1)
        if isinstance(node, c_ast.ID):
            if node.name in st.userptrs:
                return True
            return any(self._is_user_ptr(v, st, depth + 1) for v in st.locals.get(node.name, [])
                       if v is not node)
        if isinstance(node, c_ast.StructRef):
            f = self._field(node, st)
            return bool(f) and f.split(".")[-1] in self.voc_user_pointer_fields()
        return False

    def _via_field(self, node, st: State, depth: int = 0) -> bool:
        """The user pointer comes from a field of the argument (`attr->addr`),
        not from the ioctl's own argument pointer."""
        while isinstance(node, c_ast.Cast):
            node = node.expr
        if isinstance(node, c_ast.StructRef):
            return bool(self._field(node, st))
        if isinstance(node, c_ast.ID) and depth < 6:
            return any(self._via_field(v, st, depth + 1) for v in st.locals.get(node.name, [])
                       if v is not node)
        return False

    def voc_user_pointer_fields(self) -> set[str]:
        """Argument fields that carry a user address (`addr` of a device
        attribute or a ONE_REG, and the spec struct's `__user` members)."""
        return {"addr"} | self.user_fields

    def _user_reads(self, node, st: State) -> None:
        """`get_user(v, p)`, `copy_from_user(&v, p, n)` with p a user
        pointer: v now holds user input (a struct read whole, or a scalar)."""
        class V(c_ast.NodeVisitor):
            def __init__(self, outer):
                self.outer = outer

            def visit_FuncCall(self, call):
                if cparse.to_c(call.name) in HandlerWalker._READS and call.args \
                        and len(call.args.exprs) >= 2 \
                        and self.outer._is_user_ptr(call.args.exprs[1], st):
                    dst = call.args.exprs[0]
                    if isinstance(dst, c_ast.UnaryOp) and dst.op == "&":
                        dst = dst.expr
                    if isinstance(dst, c_ast.ID):
                        st.argvars.add(dst.name)
                        st.params.add(dst.name)
                        st.locals.pop(dst.name, None)
                        one_value = "get_user" in cparse.to_c(call.name) or \
                            self.outer.op.kind in (OpKind.SET_ONE_REG, OpKind.GET_ONE_REG)
                        if one_value and self.outer._via_field(call.args.exprs[1], st):
                            # one value read through a pointer field (attr->addr, a
                            # register's reg->addr, whatever its size): the value a
                            # device attribute or a register is set to
                            self.outer.op.aliases[dst.name] = "value"
                self.generic_visit(call)
        V(self).visit(node)

    def _returned(self, expr, frame: _Frame) -> Outcome | None:
        e = errno_of(expr)
        if e:
            return Outcome(e)
        if frame.is_bool and isinstance(expr, (c_ast.ID, c_ast.Constant)):
            v = cparse.to_c(expr)
            if v in ("false", "0"):
                return Outcome(None, "false")
            if v in ("true", "1"):
                return Outcome(None, "true")
        return None

    def _signal(self, call, st: State, cond, frame: _Frame) -> Outcome | None:
        """`if (!ret) kvm_inject_dabt(...)`: a failure signalled by a helper."""
        term = self.voc.helpers.get(cparse.to_c(call.name))
        if term is None or not term.failure:
            return None
        result = ""
        items = frame.unit.ast.body.block_items or []
        last = items[-1] if items else None
        if isinstance(last, c_ast.Return) and isinstance(last.expr, c_ast.ID):
            var = last.expr.name
            if isinstance(cond, c_ast.UnaryOp) and cond.op == "!" and cparse.to_c(cond.expr) == var:
                result = "false"
            elif cparse.to_c(cond) == var:
                result = "true"
        return Outcome(None, result, self.render(call, st))

    def _switch(self, s: c_ast.Switch, st: State, fallthrough=None) -> None:
        items = s.stmt.block_items if isinstance(s.stmt, c_ast.Compound) else [s.stmt]
        sel = self.render(s.cond, st)
        branches: list[tuple[list[str], list]] = []
        labels: list[str] = []
        default = None
        for it in items or []:
            if isinstance(it, c_ast.Case):
                labels.append(cparse.to_c(it.expr))
                if it.stmts:
                    branches.append((labels, it.stmts))
                    labels = []
            elif isinstance(it, c_ast.Default):
                default = it.stmts
        if labels:
            branches.append((labels, []))      # labels that fall out of the switch
        if default is None and fallthrough is not None:
            default = [fallthrough]
        if self.only_case is not None and self.only_case[0] == id(s):
            for ls, body in branches:       # the dispatcher the patch adds: this operation's case
                if self.only_case[1] in ls:
                    self.stmts(body, st)
            return
        handled = [l for ls, _ in branches for l in ls]
        if default:
            out = self._failure(c_ast.Compound(default), st, None)
            if out and handled:
                text = " && ".join(f"{sel} != {l}" for l in handled)
                node = cparse.parse_expr(text)
                _recoord(node, s.coord)
                self._add_checks(node, out, st, whole=True, cid_hint="not_a_case")
        for ls, body in branches:
            when = " || ".join(f"{sel} == {l}" for l in ls)
            if len(ls) > 1:
                when = f"({when})"
            inner = st.derive(when=" && ".join(x for x in (st.when, when) if x))
            self.stmts(body, inner)

_NEGATED = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def _negate(cond):
    """The condition that fails when `cond` is what lets the call succeed."""
    if isinstance(cond, c_ast.UnaryOp) and cond.op == "!":
        return cond.expr
    if isinstance(cond, c_ast.BinaryOp) and cond.op in ("&&", "||"):
        # De Morgan: `!(a && !b)` is `!a || b`, one disjunct per check
        return c_ast.BinaryOp("||" if cond.op == "&&" else "&&", _negate(cond.left),
                              _negate(cond.right), cond.coord)
    if isinstance(cond, c_ast.BinaryOp) and cond.op in _NEGATED:
        return c_ast.BinaryOp(_NEGATED[cond.op], cond.left, cond.right, cond.coord)
    return c_ast.UnaryOp("!", cond, cond.coord)


def _ret_var(body: c_ast.Compound) -> str:
    """The local a function returns at its end (`return ret;`), if any."""
    items = body.block_items or []
    if items and isinstance(items[-1], c_ast.Return) and isinstance(items[-1].expr, c_ast.ID):
        return items[-1].expr.name
    return ""


def _and(a: str, b: str) -> str:
    return " && ".join(x for x in (a, b) if x)


def _recoord(node, coord) -> None:
    """Give a synthesized condition the position of the code it stands for."""
    node.coord = coord
    for _, child in node.children():
        _recoord(child, coord)


def _bool_result(final, var: str, value: int) -> str:
    """`return ret == 0;` with ret = value: "true"/"false"; "" if unknown."""
    if isinstance(final, c_ast.BinaryOp) and final.op in ("==", "!=") \
            and cparse.to_c(final.left) == var and isinstance(final.right, c_ast.Constant):
        eq = value == int(final.right.value, 0)
        return "true" if eq == (final.op == "==") else "false"
    return ""


def _combine(returns: list[Result]) -> Result | None:
    if not returns:
        return None
    values = {r.value for r in returns}
    first = returns[0]
    if len(returns) == 1 or (len(values) == 1 and None not in values):
        return first
    texts = []
    for r in returns:
        if r.text not in texts:
            texts.append(r.text)
    return Result(" | ".join(texts), None, first.source)
