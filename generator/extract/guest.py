"""Guest-visible rules of a series: what the guest, or the VMM through a
vCPU, sees (GuestRule).

Phases (each reads the new side of the hunks, the series' patches in order,
so a later patch that changes a function wins):
  1. ID registers: a `case SYS_<REG>:` of an ID-register reader whose
     `val &= ~FEATURE(<F>)` masks a field and whose guarded
     `val |= FIELD_PREP(FEATURE(<F>), <V>)` exposes it again;
  2. visibility: a function returning REG_HIDDEN unless a condition holds,
     the sys_reg_desc macro that names it (`.visibility = fn`, with its
     `.access` handler) and the table entries the patch adds through it;
  3. exception entry: a guarded `new |= PSR_<X>_BIT;` in an exception
     entry function;
  4. trap control: a guarded `hcr_el2 |= HCR_<X>;`;
  5. tag initialisation: a guarded block calling a helper the vocabulary's
     `guest.tag_init` names.
Every rule carries the seed line of its condition and of its values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from generator.ingest import LineKind, Patch
from generator.model import GuestRule, GuestRuleKind, Predicate, Source
from generator.errors import SpecError
from generator.model.vocab import DEFAULT_PATH, Vocabulary, read_vocabulary_file


@dataclass
class _Line:
    text: str
    seed_line: int
    added: bool
    path: str
    patch: str
    section: str


def _hunks(patches: list[Patch]) -> list[list[_Line]]:
    """New side of every hunk, in series order."""
    out = []
    for p in patches:
        for f in p.files:
            for h in f.hunks:
                out.append([_Line(l.text, l.seed_line, l.kind is LineKind.ADD, f.new_path,
                                  p.label, h.section) for l in h.new_side()])
    return out


def _src(seed: str, l: _Line) -> Source:
    return Source(seed, l.seed_line, l.patch, l.path, l.text.strip().rstrip("\\").strip())


def _predicates(cond: str, voc: Vocabulary) -> list[Predicate]:
    out = []
    for m in re.finditer(r"([A-Za-z_]\w*(?:->\w+(?:\.\w+)*)?)\s*(\()?", cond):
        head = m.group(1)
        term = voc.lookup(head)
        if term is not None:
            end = cond.find(")", m.end()) + 1 if m.group(2) else m.end()
            out.append(Predicate(cond[m.start():end].strip(), term.concept))
    return out


def _guarded(lines: list[_Line], i: int) -> Optional[str]:
    """The condition of `if (cond)` on line i, joined over continuation lines."""
    text = lines[i].text.strip()
    m = re.match(r"if\s*\((.*)\)\s*\{?$", text)
    return m.group(1).strip() if m else None


def _statement(lines: list[_Line], i: int) -> tuple[str, int]:
    """The C statement starting on line i (joined until `;`) and its last line."""
    parts, j = [], i
    while j < len(lines):
        parts.append(lines[j].text.strip())
        if parts[-1].endswith(";") or parts[-1].endswith("{") or parts[-1].endswith("}"):
            break
        j += 1
    return " ".join(parts), j


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# ---------------------------------------------------------------- 1. ID fields
def _id_fields(hunks, seed, voc) -> list[GuestRule]:
    rules = []
    for lines in hunks:
        for i, l in enumerate(lines):
            m = re.match(r"\s*case\s+SYS_(\w+)\s*:", l.text)
            if not m:
                continue
            reg, block = m.group(1), []
            for j in range(i + 1, len(lines)):
                if re.match(r"\s*(case\s|default\s*:)", lines[j].text):
                    break
                block.append(j)
                if lines[j].text.strip() == "break;":
                    break
            if not any(lines[j].added for j in block):
                continue
            mask = cond = None
            for j in block:
                t = lines[j].text.strip()
                mm = re.match(r"val\s*&=\s*~\s*FEATURE\((\w+)\)\s*;", t)
                if mm:
                    mask = (mm.group(1), j)
                c = _guarded(lines, j)
                if c is not None:
                    stmt, _ = _statement(lines, j + 1)
                    ms = re.match(r"val\s*\|=\s*FIELD_PREP\(\s*FEATURE\((\w+)\)\s*,\s*(\w+)\s*\)\s*;",
                                  stmt)
                    if ms:
                        cond = (c, j, ms.group(1), ms.group(2), j + 1)
            if mask is None or cond is None or mask[0] != cond[2]:
                continue
            c, j, feature, value, vj = cond
            short = feature.split("_")[-1].lower()
            rules.append(GuestRule(
                id=f"{reg.lower()}.{short}", kind=GuestRuleKind.ID_FIELD, subject=reg,
                function=_function(lines[i]), when=c, predicates=_predicates(c, voc),
                source=_src(seed, lines[j]), name=feature, value=value, otherwise="0",
                value_source=_src(seed, lines[vj]),
                otherwise_source=_src(seed, lines[mask[1]])))
    return rules


def _function(l: _Line) -> str:
    m = re.search(r"(\w+)\s*\(", l.section)
    return m.group(1) if m else ""


# ---------------------------------------------------------------- 2. visibility
def _visibility(hunks, seed, voc) -> list[GuestRule]:
    latest: dict[str, tuple[list[_Line], int]] = {}
    for lines in hunks:
        for i, l in enumerate(lines):
            m = re.match(r"static\s+unsigned\s+int\s+(\w+)\s*\(", l.text)
            if m:
                latest[m.group(1)] = (lines, i)
    rules = []
    for fn, (lines, i) in latest.items():
        hidden = visible = None
        for j in range(i + 1, len(lines)):
            t = lines[j].text.strip()
            if t == "}":
                break
            c = _guarded(lines, j)
            if c is not None and j + 1 < len(lines):
                mr = re.match(r"return\s+(\w+)\s*;", lines[j + 1].text.strip())
                if mr:
                    visible = (c, j, mr.group(1), j + 1)
            mh = re.match(r"return\s+(REG_HIDDEN\w*)\s*;", t)
            if mh and (visible is None or j > visible[3]):
                hidden = (mh.group(1), j)
        if hidden is None:
            continue
        rule = GuestRule(id=fn, kind=GuestRuleKind.REG_VISIBILITY, subject="sys_reg_descs",
                         function=fn, when=visible[0] if visible else "0",
                         predicates=_predicates(visible[0], voc) if visible else [],
                         source=_src(seed, lines[visible[1] if visible else hidden[1]]),
                         value=visible[2] if visible else hidden[0], otherwise=hidden[0],
                         value_source=_src(seed, lines[visible[3]]) if visible else None,
                         otherwise_source=_src(seed, lines[hidden[1]]))
        _registers(hunks, seed, rule)
        if rule.registers:
            rules.append(rule)
    return rules


def _registers(hunks, seed, rule: GuestRule) -> None:
    """The macro whose `.visibility` is the rule's function, and the table
    entries the patch adds through it."""
    macros: dict[str, tuple[str, Optional[_Line]]] = {}
    for lines in hunks:
        for i, l in enumerate(lines):
            m = re.match(r"#define\s+(\w+)\(\w+\)\s*\{", l.text.strip())
            if not m:
                continue
            access, vis = ("", None), False
            for j in range(i, len(lines)):
                t = lines[j].text
                ma = re.search(r"\.access\s*=\s*(\w+)", t)
                if ma:
                    access = (ma.group(1), lines[j])
                if re.search(rf"\.visibility\s*=\s*{re.escape(rule.function)}\b", t):
                    vis = True
                if not t.rstrip().endswith("\\"):
                    break
            if vis:
                macros[m.group(1)] = access
    for macro, (access, aline) in macros.items():
        rule.access = rule.access or access
        if aline is not None and rule.access_source is None:
            rule.access_source = _src(seed, aline)
        for lines in hunks:
            for l in lines:
                m = re.match(rf"\s*{macro}\((\w+)\)\s*,", l.text)
                if m and l.added and m.group(1) not in rule.registers:
                    rule.registers.append(m.group(1))
                    rule.register_sources.append(_src(seed, l))


# ---------------------------------------------------------------- 3.-5. guarded effects
def _guarded_effects(hunks, seed, voc, tag_helpers) -> list[GuestRule]:
    rules = []
    for lines in hunks:
        for i, l in enumerate(lines):
            if not l.added:
                continue
            c = _guarded(lines, i)
            if c is None or i + 1 >= len(lines):
                continue
            stmt, _ = _statement(lines, i + 1)
            preds = _predicates(c, voc)
            mp = re.match(r"(\w+)\s*\|=\s*\(?(PSR_\w+_BIT)\)?\s*;", stmt)
            mh = re.match(r"[\w>.\-]*hcr_el2\s*\|=\s*(HCR_\w+)\s*;", stmt)
            if mp:
                rules.append(GuestRule(
                    id=f"exception.{_slug(mp.group(2).replace('PSR_', '').replace('_BIT', ''))}",
                    kind=GuestRuleKind.EXCEPTION_PSTATE, subject="PSTATE",
                    function=_function(l), when=c, predicates=preds, source=_src(seed, l),
                    name=mp.group(2), value="1", otherwise="0",
                    value_source=_src(seed, lines[i + 1])))
            elif mh:
                rules.append(GuestRule(
                    id=f"hcr.{_slug(mh.group(1).replace('HCR_', ''))}",
                    kind=GuestRuleKind.TRAP_CONTROL, subject="HCR_EL2",
                    function=_function(l), when=c, predicates=preds, source=_src(seed, l),
                    name=mh.group(1), value="1", otherwise="0",
                    value_source=_src(seed, lines[i + 1])))
            elif c.endswith("{") or lines[i].text.rstrip().endswith("{"):
                depth, j = 1, i + 1
                while j < len(lines) and depth > 0:
                    depth += lines[j].text.count("{") - lines[j].text.count("}")
                    for h in tag_helpers:
                        if re.search(rf"\b{h}\s*\(", lines[j].text):
                            rules.append(GuestRule(
                                id="tags.init", kind=GuestRuleKind.TAG_INIT,
                                subject="stage2", function=_function(l), when=c,
                                predicates=preds, source=_src(seed, l), name=h,
                                value="initialised", otherwise="untouched",
                                value_source=_src(seed, lines[j])))
                    j += 1
    return rules


# ---------------------------------------------------------------- entry
@dataclass(frozen=True)
class GuestVocabulary:
    """The `guest:` section of specs/vocabulary.yaml."""
    sysregs: dict
    fields: dict
    pstate: dict
    hcr: dict
    visibility: dict
    access: dict
    injected_exception: dict
    tag_init: tuple
    path: str
    lines: dict          # key -> line in the file
    triggers: dict = None        # run-loop function -> how the guest reaches it
    function_ids: dict = None    # SMCCC function id name -> number
    call_results: dict = None    # SMCCC/PSCI return name -> x0 value
    vcpu_features: dict = None   # KVM_ARM_VCPU_* -> feature bit
    exit_reasons: dict = None    # KVM_EXIT_* -> number
    events: dict = None          # trigger -> what its event leaves in a bit-field value
    esr_bits: dict = None        # ESR_ELx_* -> mask

    def encoding(self, name: str, error=KeyError) -> tuple:
        """[op0, op1, CRn, CRm, op2] of a system register; `error` (an
        exception class taking the message) names the valid ones."""
        try:
            return tuple(self.sysregs[name])
        except KeyError:
            raise error(f"register {name} has no encoding in the vocabulary's "
                        f"guest.sysregs; it has {', '.join(self.sysregs)}") from None


_NUMBER_TABLES = ("function_ids", "call_results", "vcpu_features", "exit_reasons", "esr_bits")
_TRIGGERS = ("nisv_abort", "hvc", "smc")


def _check_exit_sections(g: dict, path: Path, lines: dict) -> None:
    """The guest sections the exits read: a wrong shape is a one-line
    error at its line, not a traceback later."""
    def bad(key: str, what: str):
        raise SpecError(f"{path}:{lines.get(key, 0)}: guest.{key}: {what}")
    for key in _NUMBER_TABLES + ("triggers", "events"):
        if not isinstance(g.get(key) or {}, dict):
            bad(key, "must be a mapping")
    for key in _NUMBER_TABLES:
        for name, v in (g.get(key) or {}).items():
            if not isinstance(v, int) or isinstance(v, bool):
                bad(name, f"{v!r} is not a number (in guest.{key})")
    for fn, t in (g.get("triggers") or {}).items():
        if not isinstance(t, dict) or t.get("trigger") not in _TRIGGERS:
            bad(fn, f"needs `trigger:` one of {', '.join(_TRIGGERS)}")
        if not isinstance(t.get("values") or {}, dict) or \
                not isinstance(t.get("features") or [], list):
            bad(fn, "`values` is a mapping and `features` a list")


def load_guest_vocabulary(path: Path = DEFAULT_PATH) -> GuestVocabulary:
    text, data = read_vocabulary_file(Path(path))
    g = data.get("guest") or {}
    lines: dict[str, int] = {}
    in_guest = False
    for no, line in enumerate(text.split("\n"), 1):
        if line.startswith("guest:"):
            in_guest = True
        elif in_guest and line and not line.startswith((" ", "#")):
            in_guest = False
        if in_guest:
            m = re.match(r"\s+\"?([\w]+)\"?:", line)
            if m:
                lines.setdefault(m.group(1), no)
    _check_exit_sections(g, Path(path), lines)
    return GuestVocabulary(
        {k: tuple(v) for k, v in (g.get("sysregs") or {}).items()},
        dict(g.get("fields") or {}), dict(g.get("pstate") or {}), dict(g.get("hcr") or {}),
        {str(k): v for k, v in (g.get("visibility") or {}).items()},
        dict(g.get("access") or {}), dict(g.get("injected_exception") or {}),
        tuple(g.get("tag_init") or ()), Path(path).name, lines,
        dict(g.get("triggers") or {}), dict(g.get("function_ids") or {}),
        dict(g.get("call_results") or {}), dict(g.get("vcpu_features") or {}),
        dict(g.get("exit_reasons") or {}), dict(g.get("events") or {}),
        dict(g.get("esr_bits") or {}))


def extract_guest_rules(patches: list[Patch], seed: str, voc: Vocabulary,
                        gvoc: Optional[GuestVocabulary] = None) -> list[GuestRule]:
    """Every guest-visible rule of the series' patches."""
    gvoc = gvoc or load_guest_vocabulary(voc.path)
    hunks = _hunks(patches)
    rules = (_id_fields(hunks, seed, voc) + _visibility(hunks, seed, voc)
             + _guarded_effects(hunks, seed, voc, gvoc.tag_init))
    seen: set[str] = set()
    out = []
    for r in rules:
        if r.id not in seen:
            seen.add(r.id)
            out.append(r)
    return out
