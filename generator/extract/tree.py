"""The merged spec: the same facts as a posted series', read from a kernel
source tree (the code the booted kernel was built from).

Phases:
  1. index the tree's KVM C files (arch/<arch>/kvm, virt/kvm): every
     top-level function definition with its file and line span;
  2. uAPI: each struct, constant, capability and ioctl the posted spec
     names is looked up in the tree's uAPI headers; the definitions found
     are the lines of a tree file handed to the posted extractor
     (generator.extract.uapi), so numbers and layouts come out the same way;
  3. handlers: for each operation of the posted spec, the `case` of its
     dispatcher (`kvm_arch_vm_ioctl`, `kvm_vm_ioctl_enable_cap`, the device
     attribute or ONE_REG switch) is found in the tree, together with the
     dispatcher's statements before its `switch` (its own entry checks) and
     the arch KVM functions the case calls, transitively; they are handed
     to the posted extractor's walker (generator.extract.handlers) as units
     of tree text with tree line numbers;
  4. positions: every element's Source names the tree file and line
     (`arch/arm64/kvm/arm.c:1899`, patch "mainline <version>");
  5. what the tree does not have (an operation no dispatcher has a case
     for, a capability no header defines) is a finding, not a guess.

A TreeFile is a `Patch` whose every line is "added": the tree's text read
by the same extractor a patch is read by.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import InputError
from generator.extract.units import _FUNC_START, _KEYWORDS, balanced_block
from generator.ingest import Patch
from generator.ingest.diff import FileDiff, Hunk, HunkLine, LineKind
from generator.ingest.mail import Message
from generator.model import Finding, FindingKind, Operation, OpKind, Source, Spec
from generator.model.vocab import Vocabulary, load_vocabulary

TREE_SEED = "<tree>"               # placeholder seed, replaced by the file in phase 4
UAPI_HEADERS = ("arch/{arch}/include/uapi/asm/kvm.h", "include/uapi/linux/kvm.h")
_CALL = re.compile(r'\b([A-Za-z_]\w*)\s*\(')
_CASE_LINE = re.compile(r'^\s*case\s+([A-Za-z_]\w*)\s*:(.*)$')
MAX_HELPERS = 24                   # functions followed from one case
HELPER_DEPTH = 2                   # calls followed: the case's callees and theirs


@dataclass
class TreeFile(Patch):
    """Lines of tree files, every one "added", read as a patch is read."""
    tree_label: str = ""

    @property
    def label(self) -> str:
        return self.tree_label


@dataclass(frozen=True)
class FunctionSpan:
    name: str
    path: str                      # relative to the tree root
    start: int                     # 1-based first line (the signature)
    end: int                       # 1-based closing brace


@dataclass
class TreeIndex:
    root: Path
    arch: str = "arm64"
    files: dict[str, list[str]] = field(default_factory=dict)
    functions: dict[str, list[FunctionSpan]] = field(default_factory=dict)

    def lines(self, path: str) -> list[str]:
        if path not in self.files:
            p = self.root / path
            self.files[path] = p.read_text(errors="replace").splitlines() if p.is_file() else []
        return self.files[path]

    def numbered(self, path: str, start: int, end: int) -> list[tuple[int, str]]:
        ls = self.lines(path)
        return [(n, ls[n - 1]) for n in range(start, min(end, len(ls)) + 1)]

    def function(self, name: str, prefer: str = "") -> FunctionSpan | None:
        spans = self.functions.get(name) or []
        for s in spans:
            if prefer and s.path == prefer:
                return s
        own = [s for s in spans if s.path.startswith(f"arch/{self.arch}/")]
        return (own or spans or [None])[0]


def index_tree(root: Path, arch: str = "arm64") -> TreeIndex:
    """Phase 1: the top-level functions of the tree's KVM C files."""
    root = Path(root)
    if not (root / "include" / "uapi" / "linux" / "kvm.h").is_file():
        raise InputError(str(root), 1, "is not a kernel source tree (no include/uapi/linux/kvm.h)",
                         "the top directory of a Linux source tree, or debian-6.12")
    idx = TreeIndex(root, arch)
    dirs = [f"arch/{arch}/kvm", "virt/kvm"]
    if arch != "x86":
        dirs.append("arch/x86/kvm")        # x86 series in the corpus: their own dispatcher
    for d in dirs:
        base = root / d
        if not base.is_dir():
            continue
        for f in sorted(base.rglob("*.c")):
            rel = str(f.relative_to(root))
            if "/hyp/" in rel:
                continue                   # the hypervisor's own code: no user entry
            numbered = list(enumerate(idx.lines(rel), 1))
            i = 0
            while i < len(numbered):
                no, text = numbered[i]
                m = _FUNC_START.match(text)
                if m and not text.startswith((" ", "\t", "#")) and m.group(1) not in _KEYWORDS \
                        and not text.rstrip().endswith(";"):
                    end = balanced_block(numbered, i)
                    if end > 0:
                        idx.functions.setdefault(m.group(1), []).append(
                            FunctionSpan(m.group(1), rel, no, numbered[end][0]))
                        i = end + 1
                        continue
                i += 1
    return idx


# ------------------------------------------------------------------ units
def _hunk(lines: list[tuple[int, str]], section: str,
          before: list[tuple[int, str]] = (), after: list[tuple[int, str]] = ()) -> Hunk:
    """Tree lines as a hunk: `lines` added, `before`/`after` as context."""
    h = Hunk(lines[0][0] if lines else 1, 0, lines[0][0] if lines else 1, len(lines),
             section, lines[0][0] if lines else 1)
    h.lines = ([HunkLine(LineKind.CTX, t, n, n) for n, t in before]
               + [HunkLine(LineKind.ADD, t, n, n) for n, t in lines]
               + [HunkLine(LineKind.CTX, t, n, n) for n, t in after])
    return h


def _tree_file(label: str, hunks_by_path: dict[str, list[Hunk]]) -> TreeFile:
    files = []
    for path, hunks in hunks_by_path.items():
        fd = FileDiff(path, path, hunks[0].seed_line if hunks else 1)
        fd.hunks = hunks
        files.append(fd)
    msg = Message(label, None, "", "", [], 1, TREE_SEED)
    return TreeFile(None, msg, files, [], [], tree_label=label)


def case_label(op: Operation, voc: Vocabulary) -> str:
    """The `case` label an operation's code sits under in its dispatcher."""
    if op.cap:
        return op.cap
    d = voc.dispatch.get(op.handler)
    if d is not None and d.selects and op.select.get(d.selects):
        return op.select[d.selects]
    return op.name


def _case_lines(idx: TreeIndex, span: FunctionSpan, label: str):
    """(context before, the case, context after) of `case label:` in a
    dispatcher.  The case is its label line, the dispatcher's statements
    before its first `switch` (its own entry checks, run before any case),
    then the case's body (past any labels it falls through from): the unit
    reader takes a case from its label on, so the entry statements follow
    the label; each line keeps its tree number.  The context is the rest of
    the switch (its other labels and its `default:`), as a hunk shows it."""
    body = idx.numbered(span.path, span.start, span.end)
    at = next((k for k, (_, t) in enumerate(body)
               if (m := _CASE_LINE.match(t)) and m.group(1) == label), None)
    if at is None:
        return None
    prologue: list[tuple[int, str]] = []
    opened = next((k for k, (_, t) in enumerate(body) if "{" in t), 0)
    switch_at = at
    for k in range(opened + 1, len(body)):
        n, t = body[k]
        if re.match(r'^\s*switch\s*\(', t):
            switch_at = k
            break
        prologue.append((n, t))
    k = at + 1
    while k < len(body) and _CASE_LINE.match(body[k][1]) and not _CASE_LINE.match(body[k][1]).group(2).strip():
        k += 1                        # case A: case B: ... (fall-through labels)
    rest = body[k:]
    first = (body[at][0], body[at][1])
    end = _case_end(rest, _CASE_LINE.match(first[1]).group(2))
    before = body[switch_at:at] if switch_at < at else []
    return before, [first] + prologue + rest[:end + 1], rest[end + 1:]


def _case_end(rest: list[tuple[int, str]], head: str) -> int:
    from generator.extract.units import _case_end as unit_case_end
    side = [(0, f"case __kconform__:{head}")] + rest
    return unit_case_end(side, 0) - 1


def _helpers(idx: TreeIndex, lines: list[tuple[int, str]], skip: set[str],
             prefer_dir: str) -> list[FunctionSpan]:
    """The arch KVM functions these lines call, and the ones those call
    (HELPER_DEPTH levels, MAX_HELPERS at most): the feature's own code, not
    the memory-management layers under it."""
    out: list[FunctionSpan] = []
    todo = [(lines, 1)]
    seen = set(skip)
    while todo and len(out) < MAX_HELPERS:
        cur, depth = todo.pop(0)
        if depth > HELPER_DEPTH:
            continue
        for _, t in cur:
            for name in _CALL.findall(re.sub(r'/\*.*?\*/|//.*$', '', t)):
                if name in seen or name in _KEYWORDS:
                    continue
                seen.add(name)
                s = idx.function(name)
                if s is None or not s.path.startswith(prefer_dir):
                    continue
                out.append(s)
                todo.append((idx.numbered(s.path, s.start, s.end), depth + 1))
    return out


# ------------------------------------------------------------------ uapi
def _uapi_lines(idx: TreeIndex, like: Spec) -> dict[str, list[list[tuple[int, str]]]]:
    """Definitions of the names the posted spec's uAPI uses, per header."""
    names = {c.name for c in like.constants} | {c.name for c in like.capabilities} | \
            {i.name for i in like.ioctls}
    structs = {s.name for s in like.structs}
    for i in like.ioctls:
        if i.arg_type.startswith(("struct ", "union ")):
            structs.add(i.arg_type.split()[-1])
    out: dict[str, list[list[tuple[int, str]]]] = {}
    for h in UAPI_HEADERS:
        path = h.format(arch=idx.arch)
        ls = idx.lines(path)
        blocks: list[list[tuple[int, str]]] = []
        k = 0
        while k < len(ls):
            t = ls[k]
            m = re.match(r'^\s*#\s*define\s+([A-Za-z_]\w*)\b', t)
            if m and m.group(1) in names:
                blocks.append([(k + 1, t)])
            m = re.match(r'^(struct|union)\s+([A-Za-z_]\w*)\s*\{', t)
            if m and m.group(2) in structs:
                j, depth = k, 0
                while j < len(ls):
                    depth += ls[j].count("{") - ls[j].count("}")
                    if depth <= 0 and "}" in ls[j]:
                        break
                    j += 1
                blocks.append([(n + 1, ls[n]) for n in range(k, j + 1)])
                k = j
            k += 1
        if blocks:
            out[path] = blocks
    return out


# ------------------------------------------------------------------ spec
def extract_tree_spec(root: Path, like: Spec, label: str, *, arch: str = "arm64",
                      voc: Vocabulary | None = None, index: TreeIndex | None = None) -> Spec:
    """The merged spec of `like`'s operations and uAPI, read from the tree."""
    from generator.extract import _derive_rules
    from generator.extract.handlers import extract_operations
    from generator.extract.uapi import extract_uapi
    voc = voc or load_vocabulary()
    idx = index or index_tree(root, arch)
    spec = Spec(name=f"{like.name}@merged", title=f"{like.title} (as merged, {label})",
                version=like.version, rfc=False, seed=TREE_SEED, patches=[label])

    # 2. uAPI
    uapi = _uapi_lines(idx, like)
    known: list = []
    for path, blocks in uapi.items():
        f = _tree_file(label, {path: [_hunk(b, "") for b in blocks]})
        u = extract_uapi(f, TREE_SEED, voc, known)
        spec.structs += u.structs
        spec.constants += u.constants
        spec.capabilities += u.capabilities
        spec.ioctls += u.ioctls
        spec.findings += u.findings
    have = {x.name for x in spec.constants + spec.capabilities + spec.ioctls + spec.structs}
    for x in like.capabilities + like.ioctls + like.structs:
        if x.name not in have:
            spec.findings.append(Finding(FindingKind.NOTE,
                                         f"{x.name}: not in the tree's uAPI headers ({label}): "
                                         "not merged, or renamed", x.source))

    # 3. handlers: one tree file per operation, so each case follows only its helpers
    arg_types = {i.name: i.arg_type for i in spec.ioctls}
    user_fields = {m.name for s in spec.structs for m in s.members}
    for op in like.operations:
        if op.kind is OpKind.INTERNAL:
            s = idx.function(op.name)
            spec.findings.append(Finding(
                FindingKind.NOTE, f"{op.name}: an internal function of the series; "
                + (f"the tree has one by that name at {s.path}:{s.start}, not reached "
                   "from a user entry point here" if s else f"not in the tree ({label})"),
                op.source))
            continue
        disp = idx.function(op.handler, prefer=op.source.path)
        d = voc.dispatch.get(op.handler)
        before: list[tuple[int, str]] = []
        after: list[tuple[int, str]] = []
        if disp is not None and d is not None and d.ioctl:
            # a function the vocabulary says implements one request: its body
            whole = idx.numbered(disp.path, disp.start, disp.end)
            opened = next((k for k, (_, t) in enumerate(whole) if "{" in t), 0)
            lines = whole[opened + 1:-1]
            before, after = whole[:opened + 1], whole[-1:]
        else:
            found = _case_lines(idx, disp, case_label(op, voc)) if disp else None
            lines = found[1] if found else None
            if found:
                before, after = found[0], found[2]
        section = f"{op.handler}("
        if lines is None:
            where = f"{disp.path}:{disp.start} {op.handler}" if disp else op.handler
            spec.findings.append(Finding(
                FindingKind.NOTE, f"{op.name}: no `case {case_label(op, voc)}:` in {where} "
                f"({label}): not merged, or handled elsewhere", op.source))
            continue
        arch_dir = "/".join(disp.path.split("/")[:3]) + "/"
        hunks: dict[str, list[Hunk]] = {disp.path: [_hunk(lines, section, before, after)]}
        for h in _helpers(idx, lines, {op.handler}, arch_dir):
            hunks.setdefault(h.path, []).append(_hunk(idx.numbered(h.path, h.start, h.end), ""))
        f = _tree_file(label, hunks)
        ops, findings, _ = extract_operations([f], TREE_SEED, _without(voc, lines), arg_types,
                                              user_fields)
        mine = [o for o in ops if o.name == op.name and o.kind is op.kind] or \
               [o for o in ops if o.kind is not OpKind.INTERNAL][:1]
        for o in mine:
            o.name = op.name             # device attrs: the same name as posted
            spec.operations.append(o)
        spec.findings += [x for x in findings if x.kind is not FindingKind.UNREACHABLE]
    # 3b. documentation: the tree's api.rst sections of the same names
    _documented(spec, idx, label, voc)
    _derive_rules(spec, voc)

    # 4. positions
    spec = _placed(spec, label)
    spec.seed = Path(root).name         # the tree; spec.patches names its version
    return spec


API_RST = "Documentation/virt/kvm/api.rst"


def _documented(spec: Spec, idx: TreeIndex, label: str, voc: Vocabulary) -> None:
    """api.rst as the tree has it: each operation's section (by the ioctl
    name, `N.M NAME` over dashes), read by the posted extractor's docs reader;
    its `:Returns:` becomes the success's doc, its sentences claims."""
    from generator.extract.docs import apply_sections, claims_of, doc_sections
    ls = idx.lines(API_RST)
    heads = [k for k in range(len(ls) - 1)
             if re.match(r'^\d+(?:\.\d+)+\s+[A-Z][A-Z0-9_]+\s*$', ls[k].strip())
             and set(ls[k + 1].strip()) == {"-"}]
    want = {o.name for o in spec.operations if "(" not in o.name}   # an ioctl's own section
    blocks = []
    for n, k in enumerate(heads):
        if ls[k].split()[-1] in want:
            end = heads[n + 1] if n + 1 < len(heads) else len(ls)
            blocks.append([(j + 1, ls[j]) for j in range(k, end)])
    if not blocks:
        return
    f = _tree_file(label, {API_RST: [_hunk(b, "") for b in blocks]})
    sections = doc_sections(f, TREE_SEED)
    spec.claims += claims_of(sections)
    consts = {c: t.value for c, t in voc.constants.items() if t.value is not None}
    consts.update({c.name: c.value for c in spec.constants})
    apply_sections(spec, sections, consts)


def _squeeze(text: str) -> str:
    return re.sub(r'\s+', '', text)


def _without(voc: Vocabulary, lines: list[tuple[int, str]]) -> Vocabulary:
    """The vocabulary without the context checks these tree lines make
    themselves (`if (cap->flags)` in the dispatcher's entry statements):
    those are read from the tree, at their tree line; the others (made by
    callers outside the lines read) stay context."""
    text = _squeeze("".join(t for _, t in lines))
    ctx = {k: [c for c in v if f"if({_squeeze(c.condition)})" not in text]
           for k, v in voc.context.items()}
    return dataclasses.replace(voc, context=ctx)


def _placed(obj, label: str):
    """Every Source with the placeholder seed names its tree file instead."""
    if isinstance(obj, Source):
        if obj.seed == TREE_SEED:
            return dataclasses.replace(obj, seed=obj.path or obj.seed, patch=label)
        return obj
    if isinstance(obj, list):
        return [_placed(x, label) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_placed(x, label) for x in obj)
    if isinstance(obj, dict):
        return {k: _placed(v, label) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            nv = _placed(v, label)
            if nv is not v:
                changes[f.name] = nv
        if not changes:
            return obj
        try:
            return dataclasses.replace(obj, **changes)
        except (TypeError, ValueError):
            for k, v in changes.items():
                object.__setattr__(obj, k, v)
            return obj
    return obj


# ------------------------------------------------------------------ trees
@dataclass(frozen=True)
class MergedTree:
    """A source tree to read merged specs from, and how its lines are named."""
    root: Path
    label: str                     # "linux 6.12.117 (linux-source-6.12 6.12.117-1~deb12u1)"


def tree_version(root: Path) -> str:
    """VERSION.PATCHLEVEL.SUBLEVEL from the tree's top Makefile ("" if none)."""
    mk = Path(root) / "Makefile"
    if not mk.is_file():
        return ""
    vals = dict(re.findall(r'^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d+)', mk.read_text(errors="replace"),
                           re.M))
    return ".".join(vals[k] for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL") if k in vals)


def resolve_tree(arg: str, log=None) -> MergedTree:
    """A tree directory, or a kernel alias (debian-6.12) whose Debian
    linux-source package is fetched and cached (generator.runner.source)."""
    from generator.runner.source import kvm_source, source_package_for
    p = Path(arg).expanduser()
    if p.is_dir():
        index_tree(p)                          # refuses a directory that is no tree
        ver = tree_version(p)
        return MergedTree(p.resolve(), f"linux {ver} ({p})" if ver else str(p))
    src = kvm_source(source_package_for(arg), log=log)
    ver = tree_version(src.root)
    return MergedTree(src.root, f"linux {ver} ({src.label})" if ver else src.label)
