"""Reading a failing condition: which fields of the user argument it
reads (following locals back to the field they alias), which kernel
predicates it names (looked up in the vocabulary; unmapped ones become
findings), and the check it makes -- its id, kind, reach and, when the
patch's own helpers fix it, its value.

`ConditionReader` is mixed into the walker; it needs the walker's `op`,
`voc`, `functions`, `findings`, `ids`, `src`, `render` and `patch_constant`.
"""
from __future__ import annotations

import errno as _errno_module

from pycparser import c_ast

from generator import cparse
from generator.model import Check, CheckKind, Errno, Finding, FindingKind, Predicate, Reach, errno_from_name
from generator.extract.slugs import classify, disjuncts, ident, slug

from generator.extract.state import Outcome, State


class ConditionReader:
    def _field(self, node, st: State) -> str | None:
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

    def _scan(self, node, st: State, reads: list[str], direct: list[str],
              derived: list[str], aliases: dict[str, str], seen: set[str], via_local: bool) -> None:
        if node is None:
            return
        if isinstance(node, c_ast.UnaryOp) and node.op == "&" \
                and root(node.expr) in ("kvm", "vcpu") and not self._field(node.expr, st):
            return            # the address of VM state is passed, not tested
        if isinstance(node, (c_ast.StructRef, c_ast.ArrayRef)):
            f = self._field(node, st)
            if f:
                if f not in reads:
                    reads.append(f)
                return
            path = cparse.to_c(node)
            if root(node) in ("kvm", "vcpu") or self.voc.lookup(path):
                (derived if via_local else direct).append(path)
                return
        if isinstance(node, c_ast.FuncCall):
            head = cparse.to_c(node.name)
            args = node.args.exprs if node.args else []
            keyed = f"{head}({cparse.to_c(args[0])})" if args else ""
            if keyed and self.voc.lookup(keyed):
                (derived if via_local else direct).append(keyed)
                return
            (derived if via_local else direct).append(head)
            for a in args:
                self._scan(a, st, reads, direct, derived, aliases, seen, via_local)
            return
        if isinstance(node, c_ast.ID):
            shown = st.renames.get(node.name, node.name)
            if node.name in ("kvm", "vcpu") and node.name not in st.argvars:
                return        # the VM or vCPU itself (`struct kvm *kvm = vcpu->kvm;`)
            if node.name in st.params:
                if shown not in reads:
                    reads.append(shown)
                return
            if node.name in st.locals and node.name not in seen:
                seen.add(node.name)
                for init in st.locals[node.name]:
                    f = self._field(init, st)
                    if f:
                        aliases[shown] = f
                    self._scan(init, st, reads, direct, derived, aliases, seen, True)
            return
        for _, child in node.children():
            self._scan(child, st, reads, direct, derived, aliases, seen, via_local)

    def _predicates(self, d, st: State, direct: list[str], derived: list[str]
                    ) -> tuple[list[Predicate], Reach]:
        preds: list[Predicate] = []
        reach = Reach.REACHABLE
        for spelling in direct + derived:
            if spelling in self.functions or spelling in self.macros:
                value = self.patch_constant(spelling)
                if value is not None and not self._placeholder(spelling, value, d):
                    preds.append(Predicate(spelling, None, value))
                    continue
            term = self.voc.predicates.get(spelling) if spelling in direct else self.voc.lookup(spelling)
            if spelling in direct and term is None:
                term = self.voc.helpers.get(spelling)
            if term is None:
                if spelling in ("sizeof",) or spelling in self.functions:
                    continue
                self.findings.append(Finding(
                    FindingKind.UNMAPPED_PREDICATE,
                    f"{spelling} (in `{self.render(d, st)}`) is not in the vocabulary "
                    f"{self.voc.path.name}; its meaning to userspace is unknown", self.src(d)))
                preds.append(Predicate(spelling, None))
                continue
            if spelling in derived and spelling in self.voc.helpers and not term.effect:
                continue      # plumbing such as gpa_to_gfn
            if any(p.spelling == spelling for p in preds):
                continue
            preds.append(Predicate(spelling, term.concept))
            if term.reach is not Reach.REACHABLE and spelling in direct:
                reach = term.reach
        return preds, reach

    def _placeholder(self, spelling: str, value: int, node) -> bool:
        """A predicate the patch defines as a constant (`#define
        kvm_arm_vcpu_is_finalized(vcpu) true`) that the vocabulary knows as
        mainline's, with a lever: the patch's definition is a placeholder for
        what later code of the series makes of it (its commit message says
        so), and the check is read with the vocabulary's concept; a note
        records the placeholder and its line."""
        term = self.voc.predicates.get(spelling)
        if term is None or term.reach is not Reach.REACHABLE or term.lever == "none":
            return False
        line = self.macros[spelling][1] if spelling in self.macros and \
            spelling not in self.functions else self.functions[spelling].lines[0][0]
        self.findings.append(Finding(
            FindingKind.NOTE,
            f"{self.op.name}: the patch defines {spelling} as the constant {value} (line {line}), "
            f"a placeholder for mainline's predicate: the check is read with the vocabulary's "
            f"concept {term.concept} (lever {term.lever}), not folded to that constant",
            self.src(node)))
        return True

    def _add_checks(self, cond, out: Outcome, st: State, whole: bool = False,
                    cid_hint: str = "") -> None:
        for d in ([cond] if whole else disjuncts(cond)):
            d = self._inlined(d, st)
            reads: list[str] = []
            direct: list[str] = []
            derived: list[str] = []
            aliases: dict[str, str] = {}
            self._scan(d, st, reads, direct, derived, aliases, set(), False)
            self.op.aliases.update(aliases)
            preds, reach = self._predicates(d, st, direct, derived)
            text = self.render(d, st)
            kind = classify(text, preds, st.per_page, reach)
            field_reads = [aliases.get(r, r) for r in reads]
            if not field_reads and preds and all(p.value is not None for p in preds):
                kind = CheckKind.HOST    # the kernel's own code decides, not the caller
            if cid_hint:
                base = ident(field_reads[0]) if field_reads else ident(text)[:24]
                cid = f"{base}_{cid_hint}"
            else:
                shown = {st.renames.get(k, k): v for k, v in st.locals.items()}
                cid = slug(cparse.parse_expr(text) if st.renames else d, reads, preds,
                           aliases, text, shown)
            cid = self._unique(cid)
            result = out.result
            try:
                errno: Errno | None = errno_from_name(out.errno) if out.errno else None
            except ValueError:
                if out.errno in _KERNEL_INTERNAL or hasattr(_errno_module, out.errno):
                    # an errno the model lacks, or a kernel-internal one (ENOTSUPP,
                    # include/linux/errno.h): kept as the check's result text
                    errno, result = None, out.result or f"-{out.errno}"
                else:
                    self.findings.append(Finding(
                        FindingKind.DAMAGE,
                        f"{self.op.name}: `-{out.errno}` is no errno the kernel has (a damaged "
                        f"line?); the check `{text}` is left out", self.src(d)))
                    self.ids.discard(cid)
                    continue
            self.op.checks.append(Check(
                cid, len(self.op.checks) + 1, text, errno, kind, field_reads, preds,
                self.src(d), st.per_page, reach, result=result, effect=out.effect,
                when=st.when, value=_fold(d, preds)))

    def _unique(self, cid: str) -> str:
        base, k = cid, 2
        while cid in self.ids:
            cid = f"{base}_{k}"
            k += 1
        self.ids.add(cid)
        return cid


# include/linux/errno.h: errnos the kernel uses inside, never in the uAPI's errno.h
_KERNEL_INTERNAL = frozenset((
    "ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND", "ENOIOCTLCMD",
    "ERESTART_RESTARTBLOCK", "EPROBE_DEFER", "EOPENSTALE", "ENOPARAM", "EBADHANDLE",
    "ENOTSYNC", "EBADCOOKIE", "ENOTSUPP", "ETOOSMALL", "ESERVERFAULT", "EBADTYPE",
    "EJUKEBOX", "EIOCBQUEUED", "ERECALLCONFLICT", "ENOGRACE"))


def root(node) -> str:
    while isinstance(node, (c_ast.StructRef, c_ast.ArrayRef)):
        node = node.name
    return node.name if isinstance(node, c_ast.ID) else ""


def _fold(node, preds: list[Predicate]) -> bool | None:
    """The condition's value when the patch's own helpers fix it."""
    fixed = {p.spelling: p.value for p in preds if p.value is not None}
    if not fixed:
        return None

    def ev(n):
        if isinstance(n, c_ast.FuncCall):
            return fixed.get(cparse.to_c(n.name))
        if isinstance(n, c_ast.Constant):
            return int(n.value.rstrip("uUlL"), 0)
        if isinstance(n, c_ast.UnaryOp) and n.op == "!":
            v = ev(n.expr)
            return None if v is None else int(not v)
        if isinstance(n, c_ast.BinaryOp) and n.op in ("&&", "||"):
            a, b = ev(n.left), ev(n.right)
            if n.op == "&&":
                if a == 0 or b == 0:
                    return 0
                return None if a is None or b is None else 1
            if a or b:
                return 1
            return None if a is None or b is None else 0
        return None
    v = ev(node)
    return None if v is None else bool(v)
