"""Exits a patch adds to KVM_RUN: a guest event the run loop turns into an
exit reason for userspace (GuestRule of kind EXIT).

Phases (new side of the hunks, series order):
  1. every added `run->exit_reason = KVM_EXIT_<X>;` and the block it sits
     in; the `run-><field> = <expr>;` stores of that block are the run
     fields the exit fills;
  2. the guard: the `if (cond) {` opening that block; when the block is the
     body of a helper the patch defines, the `if` around the helper's call;
  3. the other side: what follows the guarded block in its function:
     `return -E<X>;` (KVM_RUN fails), or `break;` out of a switch whose
     function returns its result local to the guest (the local's
     initialiser: the guest's call returns it);
  4. the trigger: the vocabulary's guest.triggers entry of the function
     (how the guest reaches it: an abort without syndrome, an HVC with the
     function id of the `case` labels above the guard), the vCPU features
     it needs and what the function's locals hold;
  5. the capability: the condition's state set by a `case KVM_CAP_<X>:` the
     patch adds (`set_bit(F, ...)` / `<path> = true;`), or a vocabulary
     predicate of concept cap_enabled;
  6. the api.rst line that names the exit.
A function the vocabulary gives no trigger for is a finding (the rule is
kept; its cases are `untested`).
"""
from __future__ import annotations

import re
from typing import Optional

from generator.extract.guest import GuestVocabulary, _function, _hunks, _Line, _slug, _src
from generator.ingest import LineKind, Patch
from generator.model import (Finding, FindingKind, GuestRule, GuestRuleKind, Predicate,
                             RunField, Source)
from generator.model.vocab import Vocabulary

_EXIT = re.compile(r"(?:\w+->)*run->exit_reason\s*=\s*(KVM_EXIT_\w+)\s*;")
_FIELD = re.compile(r"(?:\w+->)*run->(\w+(?:\.\w+)+)\s*=\s*(.+?)\s*;")
_COMPOUND = re.compile(r"(?:\w+->)*run->(\w+(?:\.\w+)+)\s*(?:[|&^+\-*/%]|<<|>>)=")
_FUNC_DEF = re.compile(r"^(?:static\s+)?(?:inline\s+)?[\w\s\*]*?\b(\w+)\s*\([^;]*\)\s*\{?$")
_CASE = re.compile(r"\s*case\s+(\w+)\s*:")
_CALL_STMT = re.compile(r"\s*\w+\s*\(.*\)\s*;\s*$")


def _opener(lines: list[_Line], i: int) -> Optional[int]:
    """Line of the `{` that opens the innermost block holding line i."""
    bal = 0
    for j in range(i - 1, -1, -1):
        for ch in reversed(_code(lines[j].text)):
            bal += (ch == "}") - (ch == "{")
            if bal < 0:
                return j
    return None


def _closer(lines: list[_Line], k: int) -> int:
    """Line of the `}` that closes the block whose `{` is the last on line k."""
    text = _code(lines[k].text)
    depth = 0
    for j in range(k, len(lines)):
        chars = text[text.rfind("{"):] if j == k else _code(lines[j].text)
        for ch in chars:
            depth += (ch == "{") - (ch == "}")
            if depth == 0:
                return j
    return len(lines) - 1


def _code(text: str) -> str:
    return re.sub(r"/\*.*?\*/|//.*$", "", text)


def _is_comment(text: str) -> bool:
    t = text.strip()
    return not t or t.startswith(("/*", "*", "//"))


def _guard_text(lines: list[_Line], k: int) -> Optional[str]:
    """The condition of the `if (cond) {` on line k (an `else if` is not
    read: its condition alone is not the branch's)."""
    m = re.match(r"if\s*\((.*)\)\s*\{?$", lines[k].text.strip())
    return m.group(1).strip() if m else None


def _defined_function(lines: list[_Line], k: int) -> str:
    """The function whose body the block opened on line k is, or "": the
    signature starts in column 0 on line k or up to four lines above."""
    t = lines[k].text.strip()
    if t != "{" and not t.endswith(")") and not t.endswith(") {"):
        return ""
    for j in range(k, max(k - 5, -1), -1):
        if j < k and lines[j].text.strip().endswith((";", "{", "}")):
            return ""
        if lines[j].text[:1] not in (" ", "\t", "") and \
                not lines[j].text.startswith(("{", "}", "#")):
            sig = " ".join(x.text.strip() for x in lines[j:k + 1] if x.text.strip() != "{")
            m = _FUNC_DEF.match(sig)
            return m.group(1) if m else ""
    return ""


def _braceless_if(lines: list[_Line], call: int) -> Optional[int]:
    """Line of the `if (cond)` whose whole body is the statement on line
    `call` (`if (x)` then `return helper(vcpu);`, no braces), or None."""
    for j in range(call - 1, -1, -1):
        if _is_comment(lines[j].text):
            continue
        t = _code(lines[j].text).strip()
        return j if re.fullmatch(r"if\s*\(.*\)", t) else None
    return None


def _early_returns(lines: list[_Line], k: int, i: int) -> list[str]:
    """What must hold for the helper whose body opens on line k to reach
    line i: each `if (c)` at the body's top level before line i whose body
    returns is passed only when `c` is false (`!(c)`; `!x` gives `x`), with
    a local the body initialises once (`bool on = test_bit(...);`) shown as
    its initialiser."""
    inits: dict[str, str] = {}
    out: list[str] = []
    depth, j = 0, k + 1
    while j < i:
        t = _code(lines[j].text).strip()
        if depth == 0 and t:
            stmt, n = t, j
            while not stmt.endswith((";", "{", ")", "}")) and n + 1 < i:
                n += 1
                stmt += " " + _code(lines[n].text).strip()
            md = re.fullmatch(r"(?:const\s+)?[\w\s\*]+?\b(\w+)\s*=\s*(.+);", stmt)
            mi = re.fullmatch(r"if\s*\((.*)\)\s*(\{?)", stmt)
            if md and not stmt.startswith(("return", "if")):
                inits[md.group(1)] = md.group(2).strip()
            elif mi:
                last = _closer(lines, n) if mi.group(2) else min(n + 1, i - 1)
                body = " ".join(_code(x.text) for x in lines[n + 1:last + 1])
                if re.search(r"\breturn\b", body) and last < i:
                    c = mi.group(1).strip()
                    neg = c[1:].strip() if re.fullmatch(r"!\s*\w+", c) else f"!({c})"
                    for name, init in inits.items():
                        neg = re.sub(rf"\b{re.escape(name)}\b", init, neg)
                    out.append(neg)
                    j = last + 1
                    continue
        depth += t.count("{") - t.count("}")
        j += 1
    return out


def _fields(lines: list[_Line], k: int, end: int, seed: str,
            helpers: dict, findings: Optional[list] = None) -> list[RunField]:
    """The run fields the block opened on line k stores whenever it sets
    the exit; a store inside an `if` nested in the block is made only
    sometimes (`if (far_valid) run->x.gva = ...;`): a note at its line, not
    a field the exit always fills."""
    out = []
    varies: dict[str, tuple] = {}     # path -> (first line, condition) of a varying store
    depth, guard, braceless = 0, [], ""
    for j in range(k + 1, end):
        code = _code(lines[j].text)
        if not code.strip():
            continue
        mi = re.match(r"\s*(?:\}\s*else\s+)?if\s*\((.*)\)\s*\{?\s*$", code)
        if mi and "{" in code:
            guard.append(mi.group(1))
        m = _FIELD.search(lines[j].text)
        mc = _COMPOUND.search(lines[j].text)
        nested = depth > 0 or bool(braceless)
        if braceless:
            guard.append(braceless)
        braceless = mi.group(1) if mi and "{" not in code else ""
        if (m or mc) and not _EXIT.search(lines[j].text) and (nested or mc):
            path = (m or mc).group(1)
            varies[path] = varies.get(path) or (lines[j], guard[-1] if nested and guard else "")
        elif m and not _EXIT.search(lines[j].text):
            f = RunField(m.group(1), m.group(2), _src(seed, lines[j]))
            mc = re.fullmatch(r"(\w+)\s*\((.*)\)", f.expr)
            if mc and mc.group(1) in helpers:
                f.value, line = helpers[mc.group(1)]
                f.value_source = _src(seed, line)
            out.append(f)
        if nested and depth == 0 and guard:
            guard.pop()               # the one statement of a braceless `if`
        opened, closed = code.count("{"), code.count("}")
        depth = max(depth + opened - closed, 0)
        if closed > opened and guard:
            guard.pop()
    for path, (line, cond) in varies.items():
        out = [f for f in out if f.path != path]
        if findings is not None:
            findings.append(Finding(
                FindingKind.NOTE,
                f"run->{path} is changed under a condition inside the exit's block"
                f"{' (`' + cond + '`)' if cond else ''}: its value is not one the exit always "
                "gives, so it is not a run field the cases check", _src(seed, line)))
    return out


def _helpers(hunks) -> dict[str, tuple[str, _Line]]:
    """Functions the patch adds whose body is one `return <expr>;`: name ->
    (expr, its line); an arm64 definition wins over another arch's."""
    out: dict[str, tuple[str, _Line]] = {}
    for lines in hunks:
        for i, l in enumerate(lines[:-2]):
            m = _FUNC_DEF.match(l.text.strip())
            if not (m and l.added and l.text[:1] not in (" ", "\t")):
                continue
            body = [x for x in lines[i + 1:i + 4]]
            texts = [x.text.strip() for x in body]
            if texts[:1] == ["{"] and len(texts) >= 3 and texts[2] == "}":
                mr = re.match(r"return\s+(.+?)\s*;$", texts[1])
                if mr and (m.group(1) not in out or "arm64" in body[1].path):
                    out[m.group(1)] = (mr.group(1), body[1])
    return out


def _call_site(hunks, helper: str) -> Optional[tuple[list[_Line], int]]:
    for lines in hunks:
        for i, l in enumerate(lines):
            if l.added and re.search(rf"\b{re.escape(helper)}\s*\(", l.text) \
                    and l.text.strip().endswith(";") and l.text[:1] in (" ", "\t"):
                return lines, i        # (a line in column 0 is a prototype, no call)
    return None


def _otherwise(hunks, lines: list[_Line], end: int, function: str, trig: dict,
               seed: str) -> tuple[str, Optional[Source]]:
    """What the function does when the guard does not hold."""
    for j in range(end + 1, len(lines)):
        t = _code(lines[j].text).strip()
        if _is_comment(lines[j].text) or not t or _CALL_STMT.match(t) and "return" not in t:
            continue
        m = re.match(r"return\s+(-?\w+)\s*;", t)
        if m:
            return m.group(1), _src(seed, lines[j])
        if t == "break;" and trig.get("result"):
            return _initialiser(hunks, function, trig["result"], seed)
        return "", None
    return "", None


def _initialiser(hunks, function: str, var: str, seed: str) -> tuple[str, Optional[Source]]:
    """`<type> <var> = <value>;` declared in `function` (any hunk of it)."""
    for lines in hunks:
        for l in lines:
            if _function(l) != function:
                break
            t = l.text.strip()
            md = re.match(rf"[\w\s\*]+\b{re.escape(var)}\s*=\s*(-?\w+)\s*;", t)
            if md and not t.startswith(var):
                return md.group(1), _src(seed, l)
    return "", None


def _case_labels(lines: list[_Line], g: int) -> list[str]:
    """`case` labels the guard on line g sits under (through fallthrough)."""
    out = []
    for j in range(g - 1, -1, -1):
        t = lines[j].text.strip()
        m = _CASE.match(lines[j].text)
        if m:
            out.append(m.group(1))
        elif _is_comment(t) or t == "fallthrough;" or _CALL_STMT.match(t):
            continue
        else:
            break
    return out


def _cap_states(hunks) -> dict[str, tuple[str, _Line]]:
    """State a `case KVM_CAP_<X>:` the patch adds sets -> (capability, line)."""
    out: dict[str, tuple[str, _Line]] = {}
    for lines in hunks:
        cap = None
        for l in lines:
            m = _CASE.match(l.text)
            if m:
                cap = m.group(1) if m.group(1).startswith("KVM_CAP_") and l.added else None
                continue
            if cap is None:
                continue
            t = l.text.strip()
            if t == "break;" or t.startswith("return"):
                cap = None
                continue
            ms = re.match(r"(?:__)?set_bit\(\s*(\w+)\s*,", t)
            mt = re.match(r"([\w>.\-]+)\s*=\s*true\s*;", t)
            if ms:
                out.setdefault(f"test_bit({ms.group(1)})", (cap, l))
            elif mt:
                out.setdefault(_norm(mt.group(1)), (cap, l))
    return out


def _norm(path: str) -> str:
    return re.sub(r"^vcpu->", "", path)


def _capability(when: str, states: dict, voc: Vocabulary) -> tuple[str, Optional[_Line], list]:
    for m in re.finditer(r"test_bit\(\s*(\w+)", when):
        key = f"test_bit({m.group(1)})"
        if key in states:
            end = when.find(")", m.end()) + 1
            return states[key][0], states[key][1], [Predicate(when[m.start():end], "cap_enabled")]
    for m in re.finditer(r"[A-Za-z_]\w*(?:->\w+|\.\w+)+", when):
        if _norm(m.group(0)) in states:
            cap, line = states[_norm(m.group(0))]
            return cap, line, [Predicate(m.group(0), "cap_enabled")]
    for m in re.finditer(r"([A-Za-z_]\w*(?:->\w+(?:\.\w+)*)?)\s*(\()?", when):
        term = voc.lookup(m.group(1))
        if term is not None and term.concept == "cap_enabled":
            end = when.find(")", m.end()) + 1 if m.group(2) else m.end()
            return (dict(term.args).get("cap", ""), None,
                    [Predicate(when[m.start():end].strip(), term.concept)])
    return "", None, []


def _doc(patches: list[Patch], names: list[str], seed: str) -> tuple[str, Optional[Source]]:
    for p in patches:
        for f in p.files:
            if not f.new_path.startswith("Documentation/"):
                continue
            for h in f.hunks:
                for l in h.new_side():
                    t = l.text.strip()
                    if t.startswith(("#", "/*")) or not any(n in t for n in names):
                        continue
                    return t, Source(seed, l.seed_line, p.label, f.new_path, t)
    return "", None


def _unread(findings: Optional[list], reason: str, why: str, seed: str, l: _Line) -> None:
    if findings is not None:
        findings.append(Finding(FindingKind.PARSE_ERROR,
                                f"{reason} is set here but its condition cannot be read: {why}; "
                                "it is not in the spec's guest rules", _src(seed, l)))


def _doc_exits(patches: list[Patch], seed: str, known: set[str]) -> list[GuestRule]:
    """Exit reasons the patch's documentation states and its code does not
    set (the code is in another patch): a bullet about a constant that
    names the exit (`- ``<CONST>``: ... ``KVM_EXIT_<X>``.`) is a rule with
    the documentation's line and that constant as its condition, nothing
    else known (its cases are `untested`, saying so)."""
    out, seen = [], set(known)
    for p in patches:
        for f in p.files:
            if not f.new_path.startswith("Documentation/"):
                continue
            for h in f.hunks:
                side = h.new_side()
                for i, l in enumerate(side):
                    if l.kind is not LineKind.ADD:
                        continue
                    for m in re.finditer(r"\bKVM_EXIT_[A-Z0-9_]+\b", l.text):
                        reason = m.group(0)
                        if reason in seen:
                            continue
                        when, first = "", l
                        for j in range(i, max(i - 4, -1), -1):
                            mb = re.match(r"\s*[-*]\s+``(\w+)``\s*:", side[j].text)
                            if mb:
                                when, first = mb.group(1), side[j]
                                break
                            if not side[j].text.strip():
                                break
                        if not when:        # a mention, not a statement of the exit
                            continue
                        seen.add(reason)
                        text = " ".join(x.text.strip() for x in side[side.index(first):i + 1])
                        src = Source(seed, first.seed_line, p.label, f.new_path,
                                     first.text.strip())
                        rid = "exit." + _slug(reason.replace("KVM_EXIT_", ""))
                        rid += "." + _slug(re.sub(r"^KVM_", "", when))
                        out.append(GuestRule(
                            id=rid, kind=GuestRuleKind.EXIT, subject="", function="",
                            when=when, predicates=[], source=src, name=reason, value=reason,
                            doc=text, doc_source=src))
    return out


def extract_exits(patches: list[Patch], seed: str, voc: Vocabulary, gvoc: GuestVocabulary,
                  findings: Optional[list] = None) -> list[GuestRule]:
    """Every exit reason the series' code sets, as a guest rule."""
    hunks = _hunks(patches)
    states = _cap_states(hunks)
    helpers = _helpers(hunks)
    rules: list[GuestRule] = []
    for lines in hunks:
        for i, l in enumerate(lines):
            m = _EXIT.search(l.text)
            if not m or not l.added:
                continue
            reason, exit_line = m.group(1), l
            k = _opener(lines, i)
            if k is None:
                _unread(findings, reason, "no block the hunk shows holds it", seed, l)
                continue
            end = _closer(lines, k)
            fields = _fields(lines, k, end, seed, helpers, findings)
            glines, g = lines, k
            helper = _defined_function(lines, k)
            early = []
            if helper:
                site = _call_site(hunks, helper)
                if site is None:
                    if findings is not None:
                        findings.append(Finding(
                            FindingKind.NOTE,
                            f"{reason} is set in {helper}(), which no line the patch adds "
                            "calls: nothing in this patch reaches it, so it is not in the "
                            "spec's guest rules", _src(seed, l)))
                    continue
                early = _early_returns(lines, k, i)
                glines, call = site
                g = _braceless_if(glines, call)
                if g is not None:
                    end = call
                else:
                    g = _opener(glines, call)
                    if g is None:
                        _unread(findings, reason, f"no block the hunk shows holds the call of "
                                f"{helper}()", seed, glines[call])
                        continue
                    end = _closer(glines, g)
            when = _guard_text(glines, g)
            if when is None:
                _unread(findings, reason, f"the block it sits in opens with "
                        f"`{glines[g].text.strip()}`, not an `if` whose condition the hunk "
                        "shows", seed, l)
                continue
            when = " && ".join([when] + early)
            function = _function(glines[g])
            trig = gvoc.triggers.get(function) or {}
            otherwise, other_src = _otherwise(hunks, glines, end, function, trig, seed)
            cap, cap_line, preds = _capability(when, states, voc)
            event = next((f for f in fields if f.path.endswith(".type")), None)
            rid = "exit." + _slug(reason.replace("KVM_EXIT_", ""))
            if event is not None:
                rid += "." + _slug(re.sub(r"^KVM_\w*?EVENT_", "", event.expr))
            labels = _case_labels(glines, g) if trig.get("arg") == "case" else []
            arg = next((x for x in labels if x in gvoc.function_ids), labels[0] if labels else "")
            doc, doc_src = _doc(patches, [event.expr if event else reason], seed)
            rules.append(GuestRule(
                id=rid, kind=GuestRuleKind.EXIT, subject=trig.get("trigger", ""),
                function=function, when=when, predicates=preds, source=_src(seed, glines[g]),
                name=reason, value=reason, otherwise=otherwise,
                value_source=_src(seed, exit_line), otherwise_source=other_src,
                trigger=trig.get("trigger", ""), trigger_arg=arg, cap=cap,
                cap_source=_src(seed, cap_line) if cap_line else None, run_fields=fields,
                vcpu_features=list(trig.get("features") or ()), doc=doc, doc_source=doc_src))
            if not trig and findings is not None:
                findings.append(Finding(
                    FindingKind.NOTE,
                    f"{reason} is set in {function or 'a function'}, which the vocabulary's "
                    "guest.triggers does not list: no guest event is known to reach it, its "
                    "cases are untested", _src(seed, exit_line)))
    return rules + _doc_exits(patches, seed, {r.value for r in rules})


def run_field_meaning(spec, rule: GuestRule, f: RunField, gvoc: GuestVocabulary):
    """What a run field's value is in the reference's terms: ("arg", name)
    for a value of the guest's event (the vocabulary's guest.triggers
    `values` of the rule's function), ("const", n) for a constant of the
    spec; None when neither."""
    values = (gvoc.triggers.get(rule.function) or {}).get("values") or {}
    if f.expr in values:
        return ("arg", values[f.expr])
    bits = _masked(f.value or f.expr, values, (gvoc.events or {}).get(rule.trigger) or {},
                   gvoc.esr_bits or {})
    if bits is not None:
        return bits
    for c in spec.constants:
        if c.name == f.expr:
            return ("const", c.value)
    if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", f.expr):
        return ("const", int(f.expr, 0))
    return None


def _masked(expr: str, values: dict, event: dict, names: dict):
    """`<value> & (<BIT> | ...)` of a trigger value whose bits the event
    partly fixes: ("bits", expected, mask), mask covering the bits known
    after the and: every bit outside the mask (0) and the event's known
    bits inside it; None when the expression is not of that shape."""
    m = re.fullmatch(r"(.+?)\s*&\s*\(?\s*([\w\s|]+?)\s*\)?", expr.strip())
    if not m or m.group(1).strip() not in values:
        return None
    field = event.get(values[m.group(1).strip()])
    terms = [t.strip() for t in m.group(2).split("|")]
    if field is None or not all(t in names for t in terms):
        return None
    try:
        known = sum(int(names[k]) for k in field.get("known") or ())
    except KeyError:
        return None
    keep = sum(int(names[t]) for t in terms)
    full = (1 << 64) - 1
    mask = (full & ~keep) | (keep & known)
    return ("bits", int(field.get("value", 0)) & keep & known, mask)
