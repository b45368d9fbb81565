"""A ready-to-paste vocabulary stub for what a spec leaves unmapped.

Extraction never guesses what a kernel predicate, constant or macro means
to userspace: an unmapped one is a finding, and its check is `untested`.
This module lists them from the spec's own structure (every `Predicate`
without a concept; every upper-case name in a reachable check that is
neither a spec constant nor in the vocabulary), each with its spelling and
patch line, as a YAML stub the user fills in (a concept and a lever from
generator/model/concepts.py) and saves as `kconform-vocabulary.yaml` next
to the series, or passes with `--vocabulary FILE`.
"""
from __future__ import annotations

from dataclasses import dataclass

from pycparser import c_ast

from generator.cparse import parse_expr, to_c
from generator.model import Reach, Source, Spec
from generator.model.concepts import KIND_OF_SECTION, concept_names, lever_names
from generator.model.vocab import Vocabulary

CHOOSE = "CHOOSE"       # not a concept: loading the stub unedited names the valid ones


@dataclass(frozen=True)
class Unmapped:
    name: str            # the vocabulary key: a function or member path, or a macro
    section: str         # "predicates", "helpers" or "constants"
    source: Source       # the patch line of the first check that uses it
    condition: str       # that check's C condition


def _names(cond: str, keyed: frozenset = frozenset()) -> tuple[list[str], list[str]]:
    """(function-like macros called, other upper-case identifiers) of a C
    condition; the first argument of a call the vocabulary keys with it
    (`keyed`: `cpus_have_final_cap(ARM64_HAS_RAS_EXTN)`) is that key's, not
    a name of its own."""
    try:
        node = parse_expr(cond)
    except Exception:        # a condition pycparser rejects names nothing here
        return [], []
    calls: list[str] = []
    upper: list[str] = []

    class V(c_ast.NodeVisitor):
        def visit_FuncCall(self, n):
            if isinstance(n.name, c_ast.ID) and n.name.name.isupper():
                calls.append(n.name.name)
            args = n.args.exprs if n.args is not None else []
            if args and f"{to_c(n.name)}({to_c(args[0])})" in keyed:
                args = args[1:]
            for a in args:
                self.visit(a)

        def visit_ID(self, n):
            if n.name.isupper():
                upper.append(n.name)

        def visit_StructRef(self, n):
            self.visit(n.name)
    V().visit(node)
    return calls, upper


def unmapped(spec: Spec, voc: Vocabulary) -> list[Unmapped]:
    """Every name a check of `spec` uses that the vocabulary does not map,
    once, at its first use."""
    known = set(voc.predicates) | set(voc.helpers) | set(voc.constants)
    known |= {c.name for c in spec.constants} | {c.name for c in spec.capabilities}
    known |= {i.name for i in spec.ioctls}
    keyed = frozenset(k for k in known if "(" in k)
    out: dict[str, Unmapped] = {}
    for op in spec.operations:
        for c in op.checks:
            macros, upper = _names(c.condition, keyed)
            for p in c.predicates:
                head = p.spelling.split("(")[0].strip()
                if p.concept is None and p.value is None and head not in known:
                    # a function-like macro (ARM_SMCCC_FUNC_NUM(x)) computes: a helper
                    section = ("helpers" if head in macros
                               else "constants" if head.isupper() else "predicates")
                    out.setdefault(head, Unmapped(head, section, c.source, c.condition))
            for name in upper:
                if name not in known and not name.startswith("E"):
                    out.setdefault(name, Unmapped(name, "constants", c.source, c.condition))
    return list(out.values())


def stub(items: list[Unmapped]) -> str:
    """The YAML text to paste: one entry per unmapped name, grouped by
    section, with the valid concepts and levers named in comments."""
    if not items:
        return ""
    lines = ["# kconform-vocabulary.yaml: save next to the series (or pass --vocabulary FILE),",
             f"# replace each {CHOOSE} with a concept and pick a lever, then run again"]
    for section in ("predicates", "helpers", "constants"):
        mine = [u for u in items if u.section == section]
        if not mine:
            continue
        kinds = KIND_OF_SECTION[section]
        lines.append(f"{section}:")
        lines.append(f"  # concepts: {', '.join(concept_names(kinds))}")
        if section != "constants":
            lines.append(f"  # levers: {', '.join(lever_names())}")
        for u in mine:
            lines.append(f"  {u.name}:    # {u.source}: `{u.condition}`")
            lines.append(f"    concept: {CHOOSE}")
            lines.append('    meaning: ""')
            if section != "constants":
                lines.append(f"    reach: reachable    # or {', '.join(r.value for r in Reach if r is not Reach.REACHABLE)}")
                lines.append("    lever: none")
            else:
                lines.append("    value: 0    # its value in the kernel")
    return "\n".join(lines) + "\n"
