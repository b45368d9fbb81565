"""Code units of a patch: the function definitions it adds, the `case`
blocks it adds to a dispatcher, and the lines it deletes from functions.

A unit keeps each line's seed position, so a check found in it points back
at the mail.  Quoted replies may have lost indentation or carry remarks
between lines; units are built from the new side of each hunk, in order.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from pycparser import c_ast

from generator import cparse
from generator.ingest import LineKind, Patch
from generator.model.vocab import Vocabulary

_FUNC_START = re.compile(
    r'^\s*(?:static\s+|inline\s+|__always_inline\s+|extern\s+)*(?:const\s+)?'
    r'(?:unsigned\s+|signed\s+|struct\s+|enum\s+)?[A-Za-z_]\w*[\s\*]+\**([A-Za-z_]\w*)\s*\(')
_CASE = re.compile(r'^\s*case\s+([A-Za-z_]\w*)\s*:(.*)$')
_KEYWORDS = {"if", "while", "for", "switch", "return", "sizeof", "do", "else"}


class UnitKind(enum.Enum):
    FUNCTION = "function"          # a function definition the patch adds
    CASE = "case"                  # a `case NAME:` block added to a dispatcher


@dataclass
class Unit:
    kind: UnitKind
    name: str                      # function name or case label
    dispatcher: str                # enclosing function for a case
    lines: list[tuple[int, str]]   # (seed line, text)
    path: str
    patch: Patch
    ast: c_ast.FuncDef | None = None
    labels: list[str] = field(default_factory=list)   # every case label of its switch the hunk shows
    default: tuple[str, int, str] | None = None       # the switch's `default:` errno, line, text
    added: frozenset[int] | None = None   # a post-image unit: the seed lines the patch adds
                                          # (the others are hunk context, pre-existing code)
    fallback: list[tuple[int, str]] | None = None     # the added lines alone, read when
                                                      # the post-image does not parse
    arg_type: str = ""             # the argument's C type, when the vocabulary knows it


def balanced_block(lines: list[tuple[int, str]], i: int) -> int:
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
    """Functions the patch adds, cases it adds to a dispatcher, and the
    lines it adds to a function the vocabulary says implements one request
    (`ioctl:`): those lines, in order, are one unit named after the request
    (KVM_SET_VCPU_EVENTS gains a field in __kvm_arm_vcpu_set_events)."""
    units: list[Unit] = []
    grown: dict[tuple[str, str], list[tuple[int, str]]] = {}
    shown: dict[tuple[str, str], dict[int, list[tuple[int, str]]]] = {}
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
                    end = balanced_block(side, i)
                    if end > 0:
                        units.append(Unit(UnitKind.FUNCTION, fm.group(1), "", side[i:end + 1], f.path, patch))
                        dispatcher = ""     # later cases are past this function
                        i = end + 1
                        continue
                if no not in added and fm and fm.group(1) not in _KEYWORDS \
                        and not text.startswith((" ", "\t")) and not text.rstrip().endswith(";"):
                    dispatcher = fm.group(1)    # the hunk shows the next function's start
                cm = _CASE.match(text)
                d = voc.dispatch.get(dispatcher)
                if d is not None and d.ioctl:
                    frags = shown.setdefault((f.path, dispatcher), {})
                    if no not in added and text.rstrip() == "}" and not text.startswith((" ", "\t")):
                        dispatcher = ""         # the function's closing brace
                        i += 1
                        continue
                    frags.setdefault(id(h), []).append((no, text))
                    if no in added:
                        grown.setdefault((f.path, dispatcher), []).append((no, text))
                    i += 1
                    continue
                if no in added and cm and dispatcher in voc.dispatch:
                    end = _case_end(side, i)
                    body = [(no, cm.group(2))] + side[i + 1:end + 1]
                    labels, default = _switch_around(side, i, end)
                    units.append(Unit(UnitKind.CASE, cm.group(1), dispatcher, body, f.path, patch,
                                      labels=labels, default=default))
                    i = end + 1
                    continue
                i += 1
        for h in f.hunks:
            units += _known_case_units(h, f.path, patch, voc)
    for (path, fn), lines in grown.items():
        if path.startswith("arch/arm/") and any(p.startswith("arch/arm64/") and g == fn
                                                for p, g in grown):
            continue       # 32-bit arm KVM (removed in v5.7) beside its arm64 twin
        image = post_image(list(shown.get((path, fn), {}).values()))
        units.append(Unit(UnitKind.CASE, voc.dispatch[fn].ioctl, fn, image or lines, path, patch,
                          added=frozenset(no for no, _ in lines), fallback=lines))
    return units


def _known_case_units(h, path: str, patch: Patch, voc: Vocabulary) -> list[Unit]:
    """Lines a hunk adds inside a case of a dispatcher whose label it does
    not show: the hunk's lines before its first case label, when they show
    the statement the vocabulary knows that case by (`cases:` of the
    dispatcher), are that case's post-image."""
    m = re.search(r'([A-Za-z_]\w*)\s*\(', h.section)
    d = voc.dispatch.get(m.group(1)) if m else None
    cases = voc.cases.get(d.function, []) if d is not None else []
    if not cases:
        return []
    added = {l.seed_line for l in h.added()}
    frag: list[tuple[int, str]] = []
    for l in h.new_side():
        t = _strip_comments(l.text).strip()
        if _CASE.match(l.text) or _DEFAULT.match(l.text) or _is_function_start(l.text) or \
                (t == "}" and not l.text.startswith((" ", "\t"))):
            break
        frag.append((l.seed_line, l.text))
    mine = [(no, t) for no, t in frag if no in added]
    if not mine:
        return []
    flat = re.sub(r'\s+', '', "".join(t for _, t in frag))
    for kc in cases:
        if re.sub(r'\s+', '', kc.anchor) in flat:
            return [Unit(UnitKind.CASE, kc.label, d.function, post_image([frag]) or mine, path,
                         patch, added=frozenset(added), fallback=mine, arg_type=kc.arg)]
    return []


UNSEEN = "__kconform_unseen"     # stands for code between two hunks the mail does not show


def post_image(fragments: list[list[tuple[int, str]]]) -> list[tuple[int, str]]:
    """A function body as it looks after the patch, from what its hunks
    show (each fragment: the new side of one hunk inside the function,
    context and added lines, in order).  Code the mail does not show (before
    the first hunk, between two hunks) is one `__kconform_unseen();`
    statement; a fragment that starts inside blocks opened in unseen code
    (found from its indentation: `} else if` continuing an `if` the hunk
    does not show) gets unseen heads for them (`if (__kconform_unseen()) {`),
    and lines at its start that are the bodies of unseen statements are
    dropped.  Blocks never span a gap: what the gap closed and reopened is
    not known.  The result is the body's statements, without the function's
    own braces."""
    out: list[tuple[int, str]] = []
    for frag in fragments:
        frag = list(frag)
        at_body = False
        if frag and _strip_comments(frag[0][1]).strip() == "{" and not frag[0][1].startswith((" ", "\t")):
            frag, at_body = frag[1:], True         # the function's opening brace: its body
        code = [(no, t) for no, t in frag if _is_code(t)]
        if not code:
            continue
        depth = 1 if at_body else _start_depth(code)
        first_no = code[0][0]
        if out or not at_body:
            out.append((first_no, f"\t{UNSEEN}();"))
        # drop leading lines deeper than their braces: bodies of unseen statements
        rel = 0
        kept: list[tuple[int, str]] = []
        leading = True
        for no, t in frag:
            st = _strip_comments(t).strip()
            if leading and _is_code(t):
                closers = len(st) - len(st.lstrip("}"))
                if _indent(t) > depth + rel - closers and not st.startswith("}"):
                    continue
                leading = False
            kept.append((no, t))
            if _is_code(t):
                rel += st.count("{") - st.count("}")
        # unseen heads of the blocks the fragment starts in
        first = next((_strip_comments(t).strip() for _, t in kept if _is_code(t)), "")
        opens = max(depth - 1, 0)
        heads = [f"if ({UNSEEN}()) {{"] * opens
        if first.startswith("else"):
            heads.append(f"if ({UNSEEN}()) {UNSEEN}();")
        out += [(first_no, "\t" + h) for h in heads]
        out += kept
        # close what is still open at the fragment's end (down to the body)
        open_now = opens + rel
        if open_now > 0:
            last = kept[-1][0] if kept else first_no
            if _unbraced_head(_strip_comments(kept[-1][1]).strip() if kept else ""):
                out.append((last, f"\t{UNSEEN}();"))
            out += [(last, "\t}")] * open_now
        elif kept and _unbraced_head(_strip_comments(kept[-1][1]).strip()):
            out.append((kept[-1][0], f"\t{UNSEEN}();"))
    return out


def _is_code(t: str) -> bool:
    st = _strip_comments(t).strip()
    return bool(st) and not st.startswith(("#", "*", "/*")) and not re.match(r'^\w+\s*:$', st)


def _indent(t: str) -> int:
    """Nesting level from kernel indentation (a tab, or 8 spaces, a level)."""
    lead = t[:len(t) - len(t.lstrip(" \t"))]
    return lead.count("\t") + lead.count(" ") // 8


def _start_depth(code: list[tuple[int, str]]) -> int:
    """The brace depth a mid-body fragment starts at (the function body is
    1): the least of each line's indentation less the braces the fragment
    opened before it (an unbraced body or a continuation is deeper)."""
    rel, best = 0, None
    for _, t in code:
        st = _strip_comments(t).strip()
        closers = len(st) - len(st.lstrip("}"))
        at = _indent(t) - rel + closers
        best = at if best is None else min(best, at)
        rel += st.count("{") - st.count("}")
    return max(best or 1, 1)


_DEFAULT = re.compile(r'^\s*default\s*:\s*(.*)$')
_ERR_LEAVE = re.compile(r'^\s*(?:return\s+|[A-Za-z_]\w*\s*=\s*)-\s*(E[A-Z0-9]+)\s*;')


def _switch_around(side: list[tuple[int, str]], i: int, end: int
                   ) -> tuple[list[str], tuple[str, int, str] | None]:
    """The case labels of the switch a case block sits in, as far as the
    hunk shows it (within the same function), and what its `default:`
    returns: the errno a value no case names gets."""
    lo = i
    while lo > 0 and not _is_function_start(side[lo - 1][1]):
        lo -= 1
    hi = end + 1
    while hi < len(side) and not _is_function_start(side[hi][1]):
        hi += 1
    labels = [m.group(1) for _, t in side[lo:hi] if (m := _CASE.match(t))]
    for j in range(end + 1, hi):
        if _DEFAULT.match(side[j][1]):
            for no, t in [(side[j][0], _DEFAULT.match(side[j][1]).group(1))] + side[j + 1:j + 3]:
                m = _ERR_LEAVE.match(t)
                if m:
                    return labels, (m.group(1), no, t.strip())
            break
    return labels, None


def _is_function_start(text: str) -> bool:
    fm = _FUNC_START.match(text)
    return bool(fm) and fm.group(1) not in _KEYWORDS and not text.startswith((" ", "\t")) \
        and not text.rstrip().endswith(";")


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
    prev = ""
    for j in range(i + 1, len(side)):
        t = _strip_comments(side[j][1]).strip()
        if depth == 0 and (re.match(r'^(case\s+\w+|default)\s*:', t)):
            return j - 1
        depth += t.count("{") - t.count("}")
        if depth < 0:
            return j - 1
        if depth == 0 and t == "break;" and not _unbraced_head(prev):
            return j
        if t:
            prev = t
    return len(side) - 1


def _unbraced_head(line: str) -> bool:
    """`if (x)` / `else` with no brace: the next statement is its body
    (`r = -EINVAL; if (cap->args[0]) break;` does not end the case)."""
    return bool(re.match(r'^(?:\}\s*)?(?:else\b|if\s*\(|else\s+if\s*\()', line)) \
        and not line.endswith((";", "{"))


def parse_unit(u: Unit, seed: str) -> None:
    if u.fallback is not None and u.lines is not u.fallback:
        try:
            _parse_unit(u, seed)
            return
        except cparse.CParseError:
            u.lines = u.fallback             # the hunks' context does not parse: the added
    _parse_unit(u, seed)                     # lines alone


def _parse_unit(u: Unit, seed: str) -> None:
    if u.kind is UnitKind.FUNCTION:
        text, first = cparse.join_lines(u.lines, seed)
    else:
        text, first = cparse.join_lines(_balanced_conditionals(u.lines), seed)
        text = f"int __kconform_case(void) {{\n#line {first} \"{seed}\"\n{text}\n}}"
    parsed = cparse.parse(text, seed, first if u.kind is UnitKind.FUNCTION else first - 1)
    funcs = [e for e in parsed.ast.ext if isinstance(e, c_ast.FuncDef)]
    u.ast = funcs[-1] if funcs else None




_PP_OPEN = re.compile(r"^\s*#\s*if(?:n?def)?\b")
_PP_MID = re.compile(r"^\s*#\s*(?:else|elif)\b")
_PP_CLOSE = re.compile(r"^\s*#\s*endif\b")


def _balanced_conditionals(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A case block cut out of a dispatcher with its `#ifdef CONFIG_...`
    lines: the `#if` that opens before the next case (`return 1;` then
    `#ifdef CONFIG_KVM_MMIO` then the next label) and an `#endif` or
    `#else` closing a conditional opened above the block are blanked (the
    line numbers stay), so the block preprocesses; balanced ones are kept."""
    out = list(lines)
    opened: list[int] = []
    for k, (_, t) in enumerate(out):
        if _PP_OPEN.match(t):
            opened.append(k)
        elif _PP_MID.match(t) and not opened:
            out[k] = (out[k][0], "")
        elif _PP_CLOSE.match(t):
            if opened:
                opened.pop()
            else:
                out[k] = (out[k][0], "")
    for k in opened:
        out[k] = (out[k][0], "")
    return out


@dataclass(frozen=True)
class Deletion:
    """A line the patch removes from an existing function."""
    function: str
    line: int                      # seed line
    text: str
    path: str


def deletions(patch: Patch) -> list[Deletion]:
    """Deleted lines with the function they were in (from the hunk's section
    header, then from any function start the hunk shows)."""
    out: list[Deletion] = []
    for f in patch.files:
        if not f.path.endswith(".c"):
            continue
        for h in f.hunks:
            m = re.search(r'([A-Za-z_]\w*)\s*\(', h.section)
            current = m.group(1) if m else ""
            for l in h.lines:
                fm = _FUNC_START.match(l.text)
                if fm and fm.group(1) not in _KEYWORDS and not l.text.rstrip().endswith(";") \
                        and not l.text.startswith((" ", "\t")):
                    current = fm.group(1)
                if l.kind is LineKind.DEL:
                    out.append(Deletion(current, l.seed_line, l.text, f.path))
    return out


def declared_functions(patch: Patch) -> dict[str, int]:
    """Functions the patch declares in a header it changes: name -> seed
    line.  Such a function is an interface for other code, not a private
    helper."""
    out: dict[str, int] = {}
    for f in patch.files:
        if not f.path.endswith(".h"):
            continue
        for h in f.hunks:
            for l in h.added():
                fm = _FUNC_START.match(l.text)
                if fm and l.text.rstrip().endswith(";") and fm.group(1) not in _KEYWORDS:
                    out.setdefault(fm.group(1), l.seed_line)
    return out


def returns_bool(u: Unit) -> bool:
    t = u.ast.decl.type.type if u.ast is not None else None
    while isinstance(t, c_ast.PtrDecl):
        return False
    inner = getattr(t, "type", None)
    return isinstance(inner, c_ast.IdentifierType) and inner.names in (["bool"], ["_Bool"])



_DEFINE = re.compile(r'^\s*#\s*define\s+([A-Za-z_]\w*)(\([^)]*\))?\s+(.+?)\s*$')


def header_macros(patch: Patch) -> dict[str, tuple[str, int]]:
    """Macros the patch adds to a header, uAPI or not: name -> (body, seed
    line).  `#define kvm_arm_vcpu_is_finalized(vcpu) true` is a stub whose
    value the handler's checks fold."""
    out: dict[str, tuple[str, int]] = {}
    for f in patch.files:
        if not f.path.endswith(".h"):
            continue
        for h in f.hunks:
            for l in h.added():
                m = _DEFINE.match(_strip_comments(l.text))
                if m and not m.group(3).endswith("\\"):
                    out.setdefault(m.group(1), (m.group(3), l.seed_line))
    return out
