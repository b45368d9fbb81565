"""The reviewed vocabulary (specs/vocabulary.yaml) as typed objects."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from generator.errors import SpecError
from generator.model import OpKind, Reach
from generator.model.concepts import CONCEPTS, KIND_OF_SECTION, concept_names, lever_names
from generator.paths import SAFE_LOADER

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "specs" / "vocabulary.yaml"


@dataclass(frozen=True)
class Term:
    key: str
    concept: str
    meaning: str
    reach: Reach = Reach.REACHABLE
    lever: str = "none"
    args: tuple[tuple[str, str], ...] = ()
    effect: str = ""
    value: int | None = None
    failure: bool = False        # calling it signals a failure (injects an abort)
    params: tuple[str, ...] = ()  # the concept's names for the call's arguments, by
                                  # position ("" skips one): memchr_inv -> (data, value)
    file: str = ""               # the vocabulary file that defines it
    errors: tuple["HelperError", ...] = ()   # a helper's errors, when a patch passes
                                             # its result on (`r = h(...); if (r) goto out;`)


@dataclass(frozen=True)
class HelperError:
    """One error a kernel helper returns, and what it means to the model:
    the predicate concept that makes it, whether userspace can reach it and
    the lever that does."""
    errno: str
    concept: str
    meaning: str
    reach: Reach = Reach.REACHABLE
    lever: str = "none"


@dataclass(frozen=True)
class ContextCheck:
    function: str
    condition: str
    errno: str
    reads: tuple[str, ...]
    meaning: str
    where: str
    line: int
    file: str = "vocabulary.yaml"
    id: str = ""                 # the check's id when the condition names no field
    after: bool = False          # mainline makes it after the patch's code (`after: true`:
                                 # the GET's copy of the value to reg->addr)
    case: str = ""               # only in this case of `function`'s switch (a key
                                 # `function case LABEL`): that case's own mainline code
    returns: str = ""            # an entry point's default that is a value, not an errno
                                 # (KVM_CHECK_EXTENSION of a capability no case knows: 0)


@dataclass(frozen=True)
class EntryPoint:
    """The generic code a user request passes through before any
    architecture or patch code (virt/kvm/kvm_main.c): its checks apply to
    every operation reached through `ioctl` on `fd`, first, unless the
    patch shows `function` itself.  `default` is what the request returns
    for a selector no handler knows (an unknown capability), when declared."""
    ioctl: str
    fd: str
    function: str
    where: str
    checks: tuple[ContextCheck, ...]
    line: int
    file: str = "vocabulary.yaml"
    default: ContextCheck | None = None


@dataclass(frozen=True)
class Dispatch:
    """A function whose `switch` sends a user request to the case a patch
    adds: what kind of operation such a case is, on which fd, the argument
    its cases read (`argvar`, of C type `arg`), the argument field its
    `switch` selects on (`selects`: the case label is that field's value),
    and fields the path to it has already fixed (`fixed`: the PMU's
    attribute switch sits under group KVM_ARM_VCPU_PMU_V3_CTRL)."""
    function: str
    kind: OpKind
    fd: str = "vm"
    arg: str = ""
    argvar: str = ""
    selects: str = ""
    fixed: tuple[tuple[str, str], ...] = ()
    line: int = 0
    ioctl: str = ""              # the function implements this one request (no switch):
                                 # the lines a patch adds to it are that request's code
    returns: str = ""            # what it returns once every check passes, when the
                                 # patch's hunks do not show its end (mainline's `return 0;`)
    file: str = ""               # the vocabulary file that declares it
    reads_back: str = ""         # the ioctl that reads back what a call of it set
                                 # (KVM_GET_VCPU_EVENTS), on the same fd and struct
    read_fields: tuple[tuple[str, str], ...] = ()   # (field, "as_set" or the value it
                                 # always reads back), the fields a follow-up step reads
    read_meaning: str = ""       # why those fields read back so (where mainline says it)


@dataclass(frozen=True)
class KnownCase:
    """A case of a mainline dispatcher, known by a statement only it makes
    (`anchor`): a hunk that shows the anchor and adds lines around it, but
    not the case label, changes this case."""
    label: str
    anchor: str
    arg: str = ""                # the C type of its argument
    where: str = ""


@dataclass
class Vocabulary:
    path: Path
    predicates: dict[str, Term] = field(default_factory=dict)
    helpers: dict[str, Term] = field(default_factory=dict)
    constants: dict[str, Term] = field(default_factory=dict)
    context: dict[str, list[ContextCheck]] = field(default_factory=dict)
    dispatch: dict[str, Dispatch] = field(default_factory=dict)
    entry_points: dict[tuple[str, str], EntryPoint] = field(default_factory=dict)
    cases: dict[str, list[KnownCase]] = field(default_factory=dict)   # dispatcher -> its
                                                                      # known mainline cases
    prose: dict = field(default_factory=dict)      # the `prose` lexicon, raw
    macros: dict = field(default_factory=dict)     # function-like uAPI macros: name ->
                                                   # (params, body) over the constants
    defaults: dict[str, ContextCheck] = field(default_factory=dict)   # dispatcher -> what
                                                   # it answers for a selector no case knows

    def lookup(self, key: str) -> Term | None:
        return self.predicates.get(key) or self.helpers.get(key)

    def entry_point(self, ioctl: str, fd: str) -> EntryPoint | None:
        """The generic entry code of `ioctl` on an `fd` file descriptor."""
        return self.entry_points.get((ioctl, fd))

    def constant_value(self, name: str) -> int | None:
        t = self.constants.get(name)
        return t.value if t else None


def _line_of(text: str, key: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(f"{key}:") or line.strip().startswith(f"- condition: \"{key}"):
            return i
    return 0


def _context_line(text: str, function: str, condition: str) -> int:
    """The line of a context rule: its condition under its function's key
    (the same condition may be listed under several functions)."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.strip() == f"{function}:"), 0)
    for i in range(start, len(lines)):
        if lines[i].strip().startswith(f'- condition: "{condition}'):
            return i + 1
    return _line_of(text, condition)


def _context_key(key: str) -> tuple[str, str]:
    """A `context:` key: a function (its rules hold around every case the
    patch touches in it), or `function case LABEL` (the mainline code of
    that one case of its switch)."""
    m = re.fullmatch(r'\s*([A-Za-z_]\w*)\s+case\s+([A-Za-z_]\w*)\s*', key)
    return (m.group(1), m.group(2)) if m else (key, "")


def read_vocabulary_file(path: Path) -> tuple[str, dict]:
    """Text and data of one vocabulary file; bad YAML is a SpecError with its line."""
    try:
        text = Path(path).read_text()
        data = yaml.load(text, Loader=SAFE_LOADER) or {}
    except OSError as e:
        raise SpecError(f"{path}: cannot read vocabulary: {e.strerror}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise SpecError(f"{path}:{line}: vocabulary is not valid YAML") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}:1: a vocabulary is a mapping of sections "
                        "(predicates, helpers, constants, context, dispatch, entry_points, cases, "
                        "prose, include)")
    return text, data


# the user's own vocabulary files (`--vocabulary FILE`, or a vocabulary.yaml
# found next to the series or in the current directory), merged over the
# bundled one by every stage that loads it; set once per command
USER_FILE_NAMES = ("vocabulary.yaml", "kconform-vocabulary.yaml")
_USER: tuple[Path, ...] = ()


def set_user_vocabularies(paths) -> tuple[Path, ...]:
    """Use these user vocabulary files (in order) over the bundled one from
    now on; each is checked when it is loaded."""
    global _USER
    _USER = tuple(dict.fromkeys(Path(p).resolve() for p in paths))
    return _USER


def user_vocabularies() -> tuple[Path, ...]:
    return _USER


def find_user_vocabularies(series: list[Path], cwd: Path | None = None) -> list[Path]:
    """`vocabulary.yaml` / `kconform-vocabulary.yaml` next to each series (in
    its directory, or inside a series directory) and in the current
    directory; never the bundled file itself."""
    dirs = [Path(p) if Path(p).is_dir() else Path(p).parent for p in series]
    dirs.append(Path(cwd) if cwd is not None else Path.cwd())
    found: list[Path] = []
    for d in dirs:
        for name in USER_FILE_NAMES:
            f = (d / name).resolve()
            if f.is_file() and f != DEFAULT_PATH.resolve() and f not in found:
                found.append(f)
    return found


def load_vocabulary(path: Path = DEFAULT_PATH, extra=None) -> Vocabulary:
    """The vocabulary file and the files its `include:` list names (relative
    to it), then the user's files (`extra`; by default the ones set with
    `set_user_vocabularies` when `path` is the bundled file), merged in
    order with the same checks; a key defined twice is an error naming both
    files."""
    voc = Vocabulary(Path(path))
    origin: dict[tuple[str, str], str] = {}
    _load_into(voc, Path(path), origin, [])
    if extra is None:
        extra = _USER if Path(path).resolve() == DEFAULT_PATH.resolve() else ()
    for f in extra:
        if not Path(f).is_file():
            raise SpecError(f"{f}: no such vocabulary file (given with --vocabulary)")
        _load_into(voc, Path(f), origin, [], full_name=True)
    _add_host_features(voc, origin)
    return voc


HOST_CONCEPTS = ("host_has_feature", "host_has_mte")


def _add_host_features(voc: Vocabulary, origin: dict) -> None:
    """The registry's host-feature predicates (specs/host-features.yaml) as
    predicates of lever host_lacks_feature: a spelling the vocabulary lacks
    is added (concept host_has_feature, its feature as the argument); one
    it has must be a host-only host-feature predicate, and gets the lever."""
    from dataclasses import replace
    from generator.model.hostfeatures import registry
    reg = registry()
    for feature in reg.features.values():
        for key in feature.predicates:
            term = voc.predicates.get(key)
            if term is None:
                voc.predicates[key] = Term(
                    key, "host_has_feature", f"the host has {feature.name}: {feature.meaning}",
                    Reach.HOST_ONLY, "host_lacks_feature", (("feature", feature.name),),
                    file=reg.path.name)
                continue
            where = origin.get(("predicates", key), term.file)
            if term.concept not in HOST_CONCEPTS or term.reach is not Reach.HOST_ONLY:
                raise SpecError(f"{where}: predicates.{key} reads host feature {feature.name} "
                                f"({reg.path.name}:{feature.line}), so it must be a host_only "
                                f"predicate of concept {' or '.join(HOST_CONCEPTS)}; it is "
                                f"{term.reach.value} {term.concept}")
            args = dict(term.args)
            if term.concept == "host_has_feature":
                args["feature"] = feature.name
            voc.predicates[key] = replace(term, lever="host_lacks_feature",
                                          args=tuple(sorted(args.items())))


def _load_into(voc: Vocabulary, path: Path, origin: dict[tuple[str, str], str],
               stack: list[Path], full_name: bool = False) -> None:
    if path.resolve() in stack:
        raise SpecError(f"{path}: included twice ({' -> '.join(str(p) for p in stack)})")
    text, data = read_vocabulary_file(path)

    def term(key: str, d: dict, section: str) -> Term:
        if not isinstance(d, dict) or "concept" not in d:
            raise SpecError(f"{path}:{_line_of(text, key)}: {section}.{key} needs a 'concept'")
        try:
            reach = Reach(d.get("reach", "reachable"))
        except ValueError:
            raise SpecError(f"{path}:{_line_of(text, key)}: {section}.{key}: reach must be one of "
                            f"{', '.join(r.value for r in Reach)}") from None
        where = f"{path}:{_line_of(text, key)}: {section}.{key}"
        concept = CONCEPTS.get(d["concept"])
        if concept is None or concept.kind not in KIND_OF_SECTION[section]:
            raise SpecError(f"{where}: concept {d['concept']!r} is not a "
                            f"{'/'.join(k.value for k in KIND_OF_SECTION[section])} concept of "
                            f"generator/model/concepts.py; valid ones are "
                            f"{', '.join(concept_names(KIND_OF_SECTION[section]))}")
        lever = d.get("lever", "none")
        if lever not in lever_names():
            raise SpecError(f"{where}: lever {lever!r} is not one of {', '.join(lever_names())}")
        return Term(key, d["concept"], d.get("meaning", ""), reach,
                    lever,
                    tuple(sorted((str(k), str(v)) for k, v in (d.get("args") or {}).items())),
                    d.get("effect", ""), d.get("value"), bool(d.get("failure", False)),
                    tuple(str(x or "") for x in (d.get("params") or ())), path.name,
                    tuple(helper_error(e, where) for e in (d.get("errors") or ())))

    def helper_error(e, where: str) -> HelperError:
        from generator.model import errno_from_name
        if not isinstance(e, dict) or not e.get("errno") or not e.get("concept"):
            raise SpecError(f"{where}: each of its errors needs an errno and a concept")
        try:
            errno_from_name(e["errno"])
        except ValueError:
            raise SpecError(f"{where}: errno {e['errno']!r} is not an errno the kernel "
                            "has") from None
        c = CONCEPTS.get(e["concept"])
        if c is None or c.kind not in KIND_OF_SECTION["predicates"]:
            raise SpecError(f"{where}: error {e['errno']}: concept {e['concept']!r} is not a "
                            "predicate concept of generator/model/concepts.py; valid ones are "
                            f"{', '.join(concept_names(KIND_OF_SECTION['predicates']))}")
        lever = e.get("lever", "none")
        if lever not in lever_names():
            raise SpecError(f"{where}: error {e['errno']}: lever {lever!r} is not one of "
                            f"{', '.join(lever_names())}")
        try:
            reach = Reach(e.get("reach", "reachable"))
        except ValueError:
            raise SpecError(f"{where}: error {e['errno']}: reach must be one of "
                            f"{', '.join(r.value for r in Reach)}") from None
        return HelperError(e["errno"], e["concept"], e.get("meaning", ""), reach, lever)

    for sect, target in (("predicates", voc.predicates), ("helpers", voc.helpers),
                         ("constants", voc.constants)):
        for k, d in (data.get(sect) or {}).items():
            where = f"{path if full_name else path.name}:{_line_of(text, k)}"
            if (sect, k) in origin:
                raise SpecError(f"{where}: {sect}.{k} is already defined at {origin[(sect, k)]}")
            origin[(sect, k)] = where
            target[k] = term(k, d, sect)
    for key, rules in (data.get("context") or {}).items():
        fn, case = _context_key(str(key))
        voc.context.setdefault(fn, []).extend(
            ContextCheck(fn, r["condition"], r["errno"], tuple(r.get("reads", [])),
                         r.get("meaning", ""), r.get("where", ""),
                         _context_line(text, key, r["condition"]), path.name, r.get("id", ""),
                         bool(r.get("after", False)), case)
            for r in rules)
    for fn, d in (data.get("dispatch") or {}).items():
        try:
            voc.dispatch[fn] = Dispatch(fn, OpKind(d["kind"]), d.get("fd", "vm"), d.get("arg", ""),
                                        d.get("argvar", ""), d.get("selects", ""),
                                        tuple(sorted((str(k), str(v))
                                                     for k, v in (d.get("fixed") or {}).items())),
                                        _line_of(text, fn), d.get("ioctl", ""),
                                        str(d.get("returns", "")), path.name,
                                        str((d.get("reads_back") or {}).get("ioctl", "")),
                                        tuple((str(k), str(v)) for k, v in
                                              ((d.get("reads_back") or {}).get("fields")
                                               or {}).items()),
                                        str((d.get("reads_back") or {}).get("meaning", "")))
        except (KeyError, ValueError, TypeError, AttributeError):
            raise SpecError(f"{path}:{_line_of(text, fn)}: dispatch.{fn} needs a kind, one of "
                            f"{', '.join(k.value for k in OpKind)}") from None
    for fn, cases in (data.get("cases") or {}).items():
        for label, c in (cases or {}).items():
            if not isinstance(c, dict) or not isinstance(c.get("anchor"), str):
                raise SpecError(f"{path}:{_line_of(text, label)}: cases.{fn}.{label} needs an "
                                "anchor (a statement only that case makes)")
            voc.cases.setdefault(fn, []).append(KnownCase(str(label), c["anchor"],
                                                          c.get("arg", ""), c.get("where", "")))
    for ep in _entry_points(path, text, data.get("entry_points")):
        key = (ep.ioctl, ep.fd)
        if key in voc.entry_points:
            raise SpecError(f"{path}:{ep.line}: entry_points: {ep.ioctl} on a {ep.fd} fd is "
                            f"already declared at {voc.entry_points[key].file}:"
                            f"{voc.entry_points[key].line}")
        voc.entry_points[key] = ep
    for k, d in (data.get("macros") or {}).items():
        where = f"{path if full_name else path.name}:{_line_of(text, k)}"
        if not isinstance(d, dict) or not isinstance(d.get("body"), str) \
                or not isinstance(d.get("params", []), list):
            raise SpecError(f"{where}: macros.{k} needs a 'body' (C text) and 'params' (a list)")
        if ("macros", k) in origin:
            raise SpecError(f"{where}: macros.{k} is already defined at {origin[('macros', k)]}")
        origin[("macros", k)] = where
        voc.macros[k] = (tuple(str(x) for x in d.get("params", [])), d["body"])
    lines = text.splitlines()
    top = next((i for i, l in enumerate(lines) if l.rstrip() == "defaults:"), 0)
    for fn, d in (data.get("defaults") or {}).items():
        # its key under `defaults:` (the same function is a dispatch key too)
        at = next((i + 1 for i in range(top, len(lines))
                   if lines[i].strip().startswith(f"{fn}:")), _line_of(text, fn))
        if fn in voc.defaults:
            raise SpecError(f"{path}:{at}: defaults.{fn} is already declared in "
                            f"{voc.defaults[fn].file}:{voc.defaults[fn].line}")
        if not isinstance(d, dict) or not d.get("errno"):
            raise SpecError(f"{path}:{at}: defaults.{fn} needs an errno (what {fn} returns "
                            "for a selector none of its cases knows)")
        try:
            from generator.model import errno_from_name
            errno_from_name(d["errno"])
        except ValueError:
            raise SpecError(f"{path}:{at}: defaults.{fn}: errno {d['errno']!r} is not an "
                            "errno the kernel has") from None
        voc.defaults[fn] = ContextCheck(fn, "", str(d["errno"]), (), d.get("meaning", ""),
                                        d.get("where", ""), at, path.name)
    for k, v in (data.get("prose") or {}).items():
        voc.prose.setdefault(k, v if not isinstance(v, dict) else {})
        if isinstance(v, dict):
            voc.prose[k].update(v)
        elif isinstance(v, list) and voc.prose[k] is not v:
            voc.prose[k] = list(voc.prose[k]) + [x for x in v if x not in voc.prose[k]]
    for inc in data.get("include") or []:
        _load_into(voc, path.parent / inc, origin, stack + [path.resolve()])


_FDS = ("vm", "vcpu", "system", "device")


def _entry_points(path: Path, text: str, data) -> list[EntryPoint]:
    """The `entry_points:` list, each entry checked: an ioctl name, an fd
    kind, the mainline function, and checks whose condition is C and whose
    errno the kernel has."""
    from generator import cparse
    from generator.model import errno_from_name
    if data is None:
        return []
    if not isinstance(data, list):
        raise SpecError(f"{path}:{_line_of(text, 'entry_points')}: entry_points is a list of "
                        "{ioctl, fd, function, where, checks, default}")
    lines = text.splitlines()
    starts = [i + 1 for i, l in enumerate(lines) if re.match(r'^\s*-\s*ioctl\s*:', l)]
    out = []
    for k, d in enumerate(data):
        line = starts[k] if k < len(starts) else _line_of(text, "entry_points")
        where = f"{path}:{line}: entry_points[{k}]"
        if not isinstance(d, dict) or not all(isinstance(d.get(f), str) and d.get(f)
                                              for f in ("ioctl", "fd", "function")):
            raise SpecError(f"{where}: an entry point needs an ioctl, an fd and a function")
        if d["fd"] not in _FDS:
            raise SpecError(f"{where}: fd {d['fd']!r} is not one of {', '.join(_FDS)}")

        def rule(r, n: int, what: str) -> ContextCheck:
            key = r.get("condition") if isinstance(r, dict) and r.get("condition") else \
                f"{what}:"
            at = next((i + 1 for i in range(line - 1, len(lines)) if key in lines[i]), line)
            value = what == "default" and isinstance(r, dict) and not r.get("errno") \
                and isinstance(r.get("returns"), int)      # a default that is a value
            if not value and (not isinstance(r, dict) or not r.get("errno") or
                              (what == "checks" and not r.get("condition"))):
                raise SpecError(f"{path}:{at}: entry_points[{k}].{what}: needs "
                                + ("a condition and an errno" if what == "checks" else
                                   "an errno (or `returns:` a number)"))
            try:
                if not value:
                    errno_from_name(r["errno"])
            except ValueError:
                raise SpecError(f"{path}:{at}: entry_points[{k}].{what}: errno {r['errno']!r} "
                                "is not an errno the kernel has") from None
            if r.get("condition"):
                try:
                    cparse.parse_expr(r["condition"])
                except cparse.CParseError:
                    raise SpecError(f"{path}:{at}: entry_points[{k}].{what}: condition "
                                    f"{r['condition']!r} is not a C expression") from None
            return ContextCheck(d["function"], r.get("condition", ""), r.get("errno", ""),
                                tuple(r.get("reads", [])), r.get("meaning", ""),
                                r.get("where", d.get("where", "")), at, path.name,
                                r.get("id", ""), returns=str(r["returns"]) if value else "")
        checks = d.get("checks") or []
        if not isinstance(checks, list):
            raise SpecError(f"{where}: checks is a list")
        default = d.get("default")
        out.append(EntryPoint(d["ioctl"], d["fd"], d["function"], d.get("where", ""),
                              tuple(rule(r, n, "checks") for n, r in enumerate(checks)),
                              line, path.name,
                              rule(default, 0, "default") if default is not None else None))
    return out
