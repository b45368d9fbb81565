"""Extraction: a series (ingested seed) into a `Spec`.

Phases (each stops the pipeline with a clear error only when nothing of the
seed can be used; otherwise problems become findings in the spec):
  1. ingest the seed (generator.ingest); a seed with no patch at all is
     read as prose: its design claims are the spec (prose.py);
  2. uAPI: structs, constants, capabilities, ioctls (uapi.py);
  3. handlers: ordered checks per operation (handlers.py);
  4. documentation: api.rst sections, claims, success and buffer facts (docs.py);
  5. derived rules: alignment rules and preconditions from the checks;
  6. consistency: documentation against code, conflict markers, typos
     (consistency.py);
  7. the thread: reviewer remarks become notes on the elements they discuss,
     and the ones that say something is wrong become findings (notes.py);
  8. repairs and unrepairable damage found while ingesting become findings;
  9. so does how the series was assembled: duplicates, other versions or
     threads left out, files that could not be read.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from pycparser import c_ast

from generator import cparse, paths
from generator.errors import InputError
from generator.ingest import LineKind, Patch, Series, SeriesFindingKind, load_series
from generator.ingest.series import added_lines
from generator.model import (AlignmentRule, CheckKind, Finding, FindingKind, Precondition,
                             PreKind, Reach, Source, Spec, StructDef)
from generator.extract import consistency
from generator.extract.docs import apply_sections, claims_of, doc_sections
from generator.extract.exits import extract_exits
from generator.extract.guest import extract_guest_rules, load_guest_vocabulary
from generator.extract.defaults import device_type_operations
from generator.extract.handlers import extract_operations
from generator.extract.notes import ElementIndex, notes_and_findings
from generator.extract.prose import ProseLexicon, classify, is_prose, prose_text, sentences
from generator.extract.consts import Macro
from generator.extract.uapi import extract_uapi, header_constants, operand_names
from generator.model.vocab import Vocabulary, load_vocabulary


def select_patches(series: Series, quoted: bool = False) -> list[Patch]:
    """The patches a spec is built from: the series' own patches, or, when a
    seed only quotes a patch in a reply, the deepest quote of each patch."""
    own = [p for p in series.patches if p.quoted_depth == 0]
    if own and not quoted:
        return own
    best: dict[str, Patch] = {}
    for p in series.patches:
        key = p.label or p.message.subject
        if key not in best or _size(p) > _size(best[key]):
            best[key] = p
    return list(best.values())


def _drop_repeated(patches: list[Patch], seed: str) -> tuple[list[Patch], list[Finding]]:
    """Patches whose diff repeats an earlier one's word for word are read
    once; each repeat is a finding naming both."""
    seen: dict[tuple, Patch] = {}
    kept, findings = [], []
    for p in patches:
        key = tuple((f.path, tuple((h.new_start, tuple((l.kind, l.text) for l in h.lines))
                                   for h in f.hunks)) for f in p.files)
        first = seen.get(key) if key else None
        if first is None:
            if key:
                seen[key] = p
            kept.append(p)
            continue
        findings.append(Finding(
            FindingKind.DUPLICATE,
            f"patch {p.label or p.message.subject!r} at line {p.message.start} repeats the "
            f"diff of {first.label or first.message.subject!r} at line {first.message.start} "
            "word for word; it is read once",
            Source(seed, p.message.start, p.label, "", ""),
            related=Source(seed, first.message.start, first.label, "", "")))
    return kept, findings


def _size(p: Patch) -> int:
    return sum(len(h.lines) for f in p.files for h in f.hunks)


def _registered(name: str) -> dict:
    try:
        return paths.series_index().get(name) or {}
    except OSError:
        return {}


def extract_spec(seed_path: Path, name: str, voc: Vocabulary | None = None) -> Spec:
    voc = voc or load_vocabulary()
    series = load_series(seed_path)
    seed = series.seed
    patches = select_patches(series)
    if not patches:
        return _prose_spec(series, seed_path, name, voc)
    patches, repeated = _drop_repeated(patches, seed)
    subj = next((p.subject for p in patches if p.subject), None)
    cover = series.cover
    title = cover.patch.title if cover and cover.patch else (subj.title if subj else "")
    spec = Spec(name=name, title=title, version=subj.version if subj else 1,
                rfc=bool(subj and subj.rfc), seed=seed,
                patches=[f"{p.label}: {p.subject.title}" if p.subject else p.message.subject
                         for p in patches])
    _check_series_complete(series, patches, spec)
    spec.findings += repeated
    # a patch the ingest read twice (same index) was dropped there: say so here too
    spec.findings += [Finding(FindingKind.DUPLICATE, f.message, Source(f.seed, f.line, "", "", ""))
                      for f in series.findings if f.kind is SeriesFindingKind.DUPLICATE]

    # 2. uAPI
    known_structs: list[StructDef] = []
    partial: list[StructDef] = []
    for p in patches:
        u = extract_uapi(p, seed, voc, known_structs)
        spec.structs += u.structs
        partial += [s for s in u.partial or [] if s.members
                    and s.name not in {x.name for x in partial}]
        spec.constants += u.constants
        spec.capabilities += u.capabilities
        spec.ioctls += u.ioctls
        spec.findings += u.findings

    # 3. handlers
    arg_types = {i.name: i.arg_type for i in spec.ioctls}
    user_fields = {m.name for st in spec.structs for m in st.members if m.user_pointer and m.name}
    ops, findings, spans = extract_operations(patches, seed, voc, arg_types, user_fields)
    spec.operations = ops
    # 3a'. a device type the uAPI adds: KVM_CREATE_DEVICE of it (generator.extract.defaults)
    devices, notes = device_type_operations(spec.constants, patches, voc, seed)
    spec.operations += devices
    findings += notes
    # a struct the hunks show in part gives the fields of an operation that takes it
    spec.partial_structs = [s for s in partial if any(
        o.arg_type in (s.name, f"{s.kind} {s.name}") for o in ops)]
    spec.findings += findings
    # 3a. kernel-internal constants the checks name, from the patch's headers
    known = {c: t.value for c, t in voc.constants.items() if t.value is not None}
    known.update({c.name: c.value for c in spec.constants})
    named = {n for o in ops for c in o.checks for n in operand_names(c.condition)}
    spec.constants += header_constants(patches, seed, named, known,
                                       {k: Macro(*v) for k, v in voc.macros.items()})

    # 3b. guest-visible rules (ID registers, register visibility, exception entry)
    spec.guest = extract_guest_rules(patches, seed, voc)
    # 3c. exits the patch adds to KVM_RUN (a guest event -> exit reason / errno)
    spec.guest += extract_exits(patches, seed, voc, load_guest_vocabulary(voc.path),
                                spec.findings)

    # 4. documentation
    consts = {c: t.value for c, t in voc.constants.items() if t.value is not None}
    consts.update({c.name: c.value for c in spec.constants})
    all_sections = []
    for p in patches:
        sections = doc_sections(p, seed)
        all_sections += sections
        spec.claims += claims_of(sections)
        apply_sections(spec, sections, consts)

    # 5. derived rules
    _derive_rules(spec, voc)

    # 6. consistency
    corpus = series.text
    spec.findings += consistency.check(patches, spec, all_sections, corpus)

    # 7. the thread
    notes, wrong = notes_and_findings(series, patches, ElementIndex(spec, all_sections, spans))
    spec.notes = notes
    spec.findings += wrong

    # 8. repairs and damage
    for p in patches:
        for r in p.repairs:
            spec.findings.append(Finding(FindingKind.REPAIR, r.describe(),
                                         Source(seed, r.line, p.label, "", r.after.strip()[:120])))
        for e in p.problems:
            spec.findings.append(Finding(FindingKind.PARSE_ERROR, str(e),
                                         Source(seed, e.line, p.label, "", "")))
    # 9. how the series was assembled (missing patches are step 1's)
    for f in series.findings:
        if f.kind in (SeriesFindingKind.MISSING, SeriesFindingKind.DUPLICATE):
            continue                  # missing: step 1's; duplicates: step 1 too
        kind = {SeriesFindingKind.UNREADABLE: FindingKind.PARSE_ERROR,
                SeriesFindingKind.DUPLICATE: FindingKind.DUPLICATE}.get(f.kind, FindingKind.NOTE)
        spec.findings.append(Finding(kind, f"{f.kind.value}: {f.message}",
                                     Source(f.seed, f.line, "", "", "")))
    spec.findings += _truncation(patches, corpus, seed)
    spec.findings += _lost_cases(patches, spec, seed)
    spec.findings += _unreached_cases(patches, spec, seed, voc)
    _point_into_files(spec, series)
    return spec


def _point_into_files(spec: Spec, series: Series) -> None:
    """A series of several files (a directory): every position the stages
    made with the series' name and a patch label names the file that patch
    is in, so `seed:line` is a line of that file.  A patch's own file wins
    over a reply quoting the same label."""
    if len(series.threads) < 2:
        return
    file_of: dict[str, str] = {}
    for p in series.own + series.patches:
        if p.label:
            file_of.setdefault(p.label, p.seed)

    seen: set[int] = set()

    def fixed(v):
        if isinstance(v, Source):
            if v.seed == series.seed and v.patch in file_of:
                return dataclasses.replace(v, seed=file_of[v.patch])
            return v
        if isinstance(v, tuple):
            return tuple(fixed(x) for x in v)
        if id(v) in seen:
            return v
        seen.add(id(v))
        if isinstance(v, list):
            v[:] = [fixed(x) for x in v]
        elif isinstance(v, dict):
            for k in v:
                v[k] = fixed(v[k])
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            for f in dataclasses.fields(v):
                setattr(v, f.name, fixed(getattr(v, f.name)))
        return v

    fixed(spec)


_CASE_LABEL = re.compile(r'^\s*case\s+[A-Za-z_]\w*\s*:')
_CASE_LIKE = re.compile(r'^\s*\S{2,6}\s+[A-Z][A-Z0-9_]*\S*\s*:\s*\{?\s*$')


def _lost_cases(patches: list[Patch], spec: Spec, seed: str) -> list[Finding]:
    """A `case` label too damaged to read (`cas# KVM_X: {`), and an ioctl the
    uAPI defines that no handler case of the patch implements: the
    operation is not in this spec, and says so."""
    out = []
    for p, f, l in added_lines(patches, ".c"):
        if _CASE_LIKE.match(l.text) and not _CASE_LABEL.match(l.text):
            out.append(Finding(
                FindingKind.DAMAGE,
                f"`{l.text.strip()}` in {f.path} looks like a damaged `case` label; "
                "the operation it starts is not in this spec",
                Source(seed, l.seed_line, p.label, f.path, l.text.strip())))
    handled = {o.name for o in spec.operations}
    for i in spec.ioctls:
        if i.name not in handled:
            out.append(Finding(
                FindingKind.NOTE,
                f"{i.name} is defined ({i.source}) but no `case {i.name}:` of the patch's code "
                "handles it (a damaged case label, or the handler is in a patch not here); "
                "it has no operation in this spec", i.source))
    return out


_DEF_START = re.compile(r'^(?:static\s+|inline\s+|__always_inline\s+)*[A-Za-z_][\w\s\*]*?'
                        r'\b([A-Za-z_]\w*)\s*\([^;]*$')


def _unreached_cases(patches: list[Patch], spec: Spec, seed: str,
                     voc: Vocabulary) -> list[Finding]:
    """A `case NAME:` the patch adds for a uAPI constant it defines (a new
    device attribute, register or group), in a function the vocabulary
    lists as no dispatcher, when no operation or guest rule of the spec
    uses NAME: the request that case serves is not in the spec and none of
    its checks are extracted.  Said once per function, at the case's line,
    instead of a spec that is silently without it."""
    defined = {c.name: c for c in spec.constants if "uapi" in c.header}
    used: set[str] = set()
    walked = set(voc.dispatch)      # functions an operation's walk goes through
    for o in spec.operations:
        used |= set(re.findall(r"\w+", o.body or ""))
        walked |= {m.group(1) for t in (o.body or "").splitlines()
                   if not t[:1].isspace() and (m := _DEF_START.match(t))}
    for r in spec.guest:
        used |= set(re.findall(r"\w+", " ".join((r.name, r.value, r.when, r.trigger_arg))))
    out, seen = [], set()
    for p in patches:
        for f in p.files:
            if not f.path.endswith(".c"):
                continue
            for h in f.hunks:
                fn = (re.search(r"(\w+)\s*\(", h.section) or [None, ""])[1]
                side = h.new_side()
                for i, l in enumerate(side):
                    m = _DEF_START.match(l.text)
                    if m and not l.text[:1].isspace():
                        fn = m.group(1)
                    mc = re.match(r"\s*case\s+([A-Za-z_]\w*)\s*:", l.text)
                    if not (mc and l.kind is LineKind.ADD) or mc.group(1) not in defined:
                        continue
                    name = mc.group(1)
                    if name in used or fn in walked or (name, fn) in seen:
                        continue
                    body = []
                    for x in side[i + 1:]:
                        if re.match(r"\s*(case\b|default\s*:|})", x.text):
                            break
                        body.append(x.text)
                    if set(re.findall(r"(\w+)\s*\(", " ".join(body))) & walked:
                        continue        # the case hands the request to an operation's code
                    seen.add((name, fn))
                    c = defined[name]
                    out.append(Finding(
                        FindingKind.NOTE,
                        f"`case {name}:` in {fn or 'a function'}() handles {name}, which the "
                        f"patch defines ({c.source.seed}:{c.source.line}), but "
                        f"{fn or 'that function'}() is no dispatcher the vocabulary lists "
                        "(`dispatch:`): the request this case serves has no operation in this "
                        "spec and none of its checks are extracted",
                        Source(seed, l.seed_line, p.label, f.path, l.text.strip())))
    return out


_DIFFSTAT = re.compile(r'^\s*(\d+) files? changed(?:,|$)')
_STAT_FILE = re.compile(r'^\s*(\S+)\s+\|\s+(\d+) [+-]*\s*$')


def _diffstat_counts(p: Patch, seed: str) -> list[Finding]:
    """Each file of the diffstat (` path | N +++--`) against the lines its
    diff changes: fewer changed lines than the diffstat counts means hunks
    were lost (a deleted `@@` header and its lines, a cut mail)."""
    out = []
    for line in p.message.lines:
        m = _STAT_FILE.match(line.text)
        if not m:
            continue
        name, want = m.group(1), int(m.group(2))
        tail = name[3:] if name.startswith("...") else name
        f = next((f for f in p.files if f.path == name or f.path.endswith(tail)), None)
        if f is None:
            continue          # a file missing from the diff is the file count's finding
        have = sum(1 for h in f.hunks for l in h.lines if l.kind is not LineKind.CTX)
        if have < want:
            out.append(Finding(FindingKind.DAMAGE,
                               f"patch {p.label or p.message.subject!r}: its diffstat counts "
                               f"{want} changed line(s) in {f.path}, its diff has {have}: "
                               "hunks were lost (a damaged `@@` header?); what they changed is "
                               "not in this spec", Source(seed, line.no, p.label, f.path,
                                                          line.text.strip())))
    return out


_QUOTED_DIFF = re.compile(r'^(?:>\s?)+(?:[+\- ]|@@|diff --git)')


def _truncation(patches: list[Patch], text: str, seed: str) -> list[Finding]:
    """A dump cut short: a patch of the series whose diff is not followed by
    git's `-- ` signature, or a thread whose last line is a quoted diff line.
    What followed is lost, so each is damage."""
    out = []
    for p in patches:
        if p.quoted_depth:
            continue
        stat = next((int(m.group(1)) for l in p.message.lines
                     if (m := _DIFFSTAT.match(l.text))), None)
        if stat is not None and stat > len(p.files):
            out.append(Finding(FindingKind.DAMAGE,
                               f"patch {p.label or p.message.subject!r}: its diffstat lists "
                               f"{stat} file(s), its diff has {len(p.files)}: the mail looks "
                               "truncated or damaged; the missing files are not in this spec",
                               Source(seed, p.message.lines[-1].no if p.message.lines else 0,
                                      p.label, "", "")))
        out += _diffstat_counts(p, seed)
        lines = [l for f in p.files for h in f.hunks for l in h.lines]
        if not lines:
            continue
        last = max(l.seed_line for l in lines)
        if not any(l.text.rstrip() == "--" for l in p.message.lines if l.no > last):
            out.append(Finding(FindingKind.DAMAGE,
                               f"patch {p.label or p.message.subject!r}: no `-- ` signature "
                               f"after its diff (last diff line {last}): the mail looks "
                               "truncated; whatever followed is not in this spec",
                               Source(seed, last, p.label, "", "")))
    rows = [l for l in text.split("\n") if l.strip()]
    if rows and _QUOTED_DIFF.match(rows[-1]):
        n = text.rstrip("\n").count("\n") + 1
        out.append(Finding(FindingKind.DAMAGE,
                           f"the dump ends inside a quoted diff (line {n}): it looks "
                           "truncated; whatever followed is not in this spec",
                           Source(seed, n, "", "", rows[-1].strip()[:120])))
    return out


def _prose_spec(series: Series, seed_path: Path, name: str, voc: Vocabulary) -> Spec:
    """A seed with no patch: a cover letter (or prose with no headers at all)."""
    lines = [l for m in series.covers + series.replies for l in m.lines]
    if not lines or not is_prose(lines):
        raise InputError(str(seed_path), lines[0].no if lines else 1,
                         "is not a mail, a thread dump or a patch: no [PATCH] subject, no "
                         "`diff --git` and no prose",
                         "a mail-archive dump of a patch, a review thread or a cover letter")
    entry = _registered(name)
    lex = ProseLexicon.from_data(voc.prose)
    claims = []
    for m in series.covers:
        claims += classify(sentences(prose_text(m.lines)), lex, series.seed,
                           entry.get("successor", ""))
    if not claims:
        raise InputError(str(seed_path), lines[0].no,
                         "contains no patch and no design claim about KVM",
                         "a mail with a [PATCH] subject and a `diff --git` section, a reply "
                         "quoting one, or a cover letter describing a KVM series")
    cover = series.covers[0]
    title = cover.patch.title if cover.patch else cover.subject
    if not title:
        title = sentences(prose_text(cover.lines))[0].text
    meta = " ".join(s.text for s in sentences(prose_text(cover.lines)))
    spec = Spec(name=name, title=title, version=cover.patch.version if cover.patch else 1,
                rfc=bool(cover.patch and cover.patch.rfc) or bool(re.search(r'\bRFC\b', meta)),
                seed=series.seed, patches=[], claims=claims)
    spec.findings.append(Finding(
        FindingKind.NOTE,
        f"{series.seed} has no patch, only prose: {len(claims)} design claim(s), "
        f"{sum(c.testable for c in claims)} testable from userspace, "
        f"{sum(bool(c.case) for c in claims)} predicted by a case"
        + (f" of {entry['successor']}" if entry.get("successor") else ""),
        Source(series.seed, cover.start, "", "", "")))
    return spec


def _check_series_complete(series: Series, patches: list[Patch], spec: Spec) -> None:
    subjects = [p.subject for p in patches if p.subject and not p.subject.reply]
    if not subjects:
        return
    total = max(s.total for s in subjects)
    have = {s.index for s in subjects}
    for k in range(1, total + 1):
        if k not in have:
            first = patches[0].message.start
            spec.findings.append(Finding(
                FindingKind.MISSING_PATCH,
                f"patch {k}/{total} of v{spec.version} is not in the seed; "
                "whatever it adds is not in this spec",
                Source(series.seed, first, "", "", "")))


def _derive_rules(spec: Spec, voc: Vocabulary) -> None:
    for op in spec.operations:
        for c in op.checks:
            concepts = {p.concept for p in c.predicates}
            if c.kind is CheckKind.ALIGNMENT:
                unit = "PAGE_SIZE" if "PAGE_MASK" in c.condition else c.condition
                for f in c.reads:
                    spec.alignment.append(AlignmentRule(f, unit, c.id, c.errno, c.source))
            if "cap_enabled" in concepts and c.condition.startswith("!"):
                cap = _cap_of(spec, c, voc)
                spec.preconditions.append(Precondition(PreKind.CAP_ENABLED, op.name, cap,
                                                       c.errno, c.id, c.source))
            if "vcpus_created" in concepts:
                spec.preconditions.append(Precondition(PreKind.NO_VCPUS, op.name, "vCPUs",
                                                       c.errno, c.id, c.source))
            if c.kind is CheckKind.HOST:
                host = [p.spelling for p in c.predicates
                        if (t := voc.lookup(p.spelling)) is not None and t.reach is Reach.HOST_ONLY]
                host += [f"{p.spelling}() = {p.value}" for p in c.predicates if p.value is not None]
                spec.preconditions.append(Precondition(PreKind.HOST_FEATURE, op.name,
                                                       ", ".join(host),
                                                       c.errno, c.id, c.source))
            shape = _zero_shape(c.condition)
            if shape == "outside_mask":
                spec.preconditions.append(Precondition(PreKind.FLAGS_ZERO, op.name,
                                                       c.condition, c.errno, c.id, c.source))
            elif shape == "nonzero" and c.reads and not any(p.concept for p in c.predicates):
                kind = PreKind.FLAGS_ZERO if c.reads[0] == "flags" else PreKind.FIELD_ZERO
                spec.preconditions.append(Precondition(kind, op.name, c.reads[0],
                                                       c.errno, c.id, c.source))


def _zero_shape(condition: str) -> str:
    """What a failing condition says must be zero, read from its C: "outside_mask"
    for `x & ~MASK` (bits outside a mask set), "nonzero" for a bare member
    of the argument (`a->b`, `a.r[1]`), "" otherwise."""
    try:
        node = cparse.parse_expr(condition)
    except cparse.CParseError:
        return ""
    if isinstance(node, c_ast.BinaryOp) and node.op == "&" and \
            isinstance(node.right, c_ast.UnaryOp) and node.right.op == "~" and \
            "PAGE_MASK" not in cparse.to_c(node.right):
        return "outside_mask"
    if isinstance(node, (c_ast.StructRef, c_ast.ArrayRef)):   # a member, not a local
        return "nonzero"
    return ""


def _cap_of(spec: Spec, check, voc: Vocabulary) -> str:
    """The capability a cap_enabled predicate names (vocabulary args)."""
    for p in check.predicates:
        term = voc.lookup(p.spelling)
        if term and dict(term.args).get("cap"):
            cap = dict(term.args)["cap"]
            if not any(c.name == cap for c in spec.capabilities):
                spec.findings.append(Finding(
                    FindingKind.NOTE,
                    f"{p.spelling} means {cap} enabled, but this seed does not define {cap}'s "
                    "number (the patch that adds it is not here); tests bind it by name to the "
                    "kernel's uAPI headers", check.source))
            return cap
    return ""


__all__ = ["extract_spec", "load_vocabulary", "Vocabulary", "select_patches"]
