"""Cross-check observed results against the reference model.

Phases:
  1. parse: KTAP results (name, status, reason, diagnostic lines) ->
     `Observations`, reading the runtime's `kconform:` diagnostic lines
     (page size, capability bindings, one line per step);
  2. predict: run each case through the reference module generated from
     the same spec (reference/<spec>.py), with the kernel's page size and
     the host facts;
  3. compare step by step; the first step that differs decides the
     verdict: a spec operation -> diverges, naming the patch line whose
     check (or success value) the model used; a setup step -> error.
"""
from __future__ import annotations

import enum
import importlib
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Iterable, Optional

from generator.model.case import Case, Gap, StepRole
from generator.errors import KconformError
from generator.model import Reach, Source, Spec, Verdict
from generator.verdict.platform import platform_verdict
from reference.vmstate import Host, Outcome, Unmodelled

_DIAG = re.compile(r"kconform:\s*(.*)$")
_KV = re.compile(r"(\w+)=(\S+)")


class ObsStatus(enum.Enum):
    OK = "ok"                  # every observation was made
    SKIP = "skip"
    HARNESS = "harness"        # "not ok": the test's own machinery failed


@dataclass
class StepObs:
    step: int
    kind: str
    ret: int
    errno: Optional[str]       # name, "E<n>" when unknown, None when ret >= 0
    digest: Optional[str]


@dataclass
class CaseObs:
    id: str
    status: ObsStatus
    reason: str = ""
    steps: list[StepObs] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # other kconform lines


@dataclass
class Observations:
    page_size: Optional[int] = None
    bindings: dict = field(default_factory=dict)      # cap -> (number, how)
    cases: dict = field(default_factory=dict)         # id -> CaseObs


@dataclass
class KtapLike:
    """The fields of a KTAP result the cross-check needs."""
    name: str
    status: str                # "pass", "fail", "skip", "error", ...
    reason: str = ""
    diagnostics: list[str] = field(default_factory=list)


def _errno_name(text: str) -> str:
    """The test prints names for the common errnos and `E<n>` for the rest:
    `E8` is ENOEXEC, as the model names it."""
    m = re.fullmatch(r"E(\d+)", text)
    if m:
        from generator.model import errno_from_number
        e = errno_from_number(int(m.group(1)))
        if e is not None:
            return e.name
    return text


def _fields(line: str) -> Optional[dict]:
    m = _DIAG.search(line)
    return dict(_KV.findall(m.group(1))) if m else None


def parse_observations(results: Iterable[KtapLike],
                       trailing: Iterable[str] = ()) -> Observations:
    obs = Observations()
    pending: dict[str, list[StepObs]] = {}
    notes: dict[str, list[str]] = {}
    results = list(results)
    lines = [d for r in results for d in r.diagnostics] + list(trailing)
    for line in lines:
        kv = _fields(line)
        if kv is None:
            continue
        if "page_size" in kv:
            obs.page_size = int(kv["page_size"])
        elif "binding" in line and "name" in kv:
            obs.bindings[kv["name"]] = (int(kv["number"]), kv.get("how", ""))
        elif "case" in kv and "step" in kv and "ret" in kv:
            errno = None if kv.get("errno", "-") == "-" else _errno_name(kv["errno"])
            digest = None if kv.get("digest", "-") == "-" else kv["digest"]
            pending.setdefault(kv["case"], []).append(
                StepObs(int(kv["step"]), kv.get("kind", ""), int(kv["ret"]),
                        errno, digest))
        elif "case" in kv:
            notes.setdefault(kv["case"], []).append(_DIAG.search(line).group(1))
    for r in results:
        status = {"skip": ObsStatus.SKIP, "pass": ObsStatus.OK,
                  "xfail": ObsStatus.OK}.get(r.status.lower(), ObsStatus.HARNESS)
        obs.cases[r.name] = CaseObs(r.name, status, r.reason,
                                    pending.get(r.name, []), notes.get(r.name, []))
    return obs


def from_ktap(doc) -> Observations:
    """Adapter for generator.runner.ktap.KtapDocument."""
    return parse_observations(
        [KtapLike(r.name, r.status.value, r.reason, list(r.diagnostics))
         for r in doc.results], doc.trailing)


# ---------------------------------------------------------------- verdicts
@dataclass
class Expect:
    ret: Optional[int]         # None: any value >= 0
    errno: Optional[str]
    digest: Optional[str] = None

    def __str__(self) -> str:
        s = "ret>=0" if self.ret is None else f"ret={self.ret}"
        if self.errno:
            s += f" errno={self.errno}"
        if self.digest:
            s += f" digest={self.digest}"
        return s


@dataclass
class CaseResult:
    id: str
    spec: str
    clause: str
    source: Source             # the patch line the case tests
    expected: Optional[Expect]
    observed: Optional[Expect]
    verdict: Verdict
    reason: str = ""
    step: Optional[int] = None  # the step that decided the verdict
    decided_by: Optional[Source] = None  # patch line behind the expectation
    merged: Optional[object] = None     # generator.verdict.merged.MergedNote, set after
                                        # cross-checking when a merged spec is given
    target: str = ""           # the architecture whose kernel ran it (runner.arch)
    host: str = ""             # the host profile the observation came from ("" the default)


class ReferenceMissing(KconformError):
    """A spec whose reference module was never generated."""


def reference_module(spec: Spec) -> ModuleType:
    name = f"reference.{spec.name.replace('-', '_')}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        raise ReferenceMissing(f"reference/{spec.name.replace('-', '_')}.py: no reference "
                               f"module for spec {spec.name}; run `kconform generate "
                               f"--spec {spec.name}`") from None


def _expect(o: Outcome) -> Expect:
    return Expect(o.ret, o.errno.name if o.errno else None, o.digest)


def _matches(e: Outcome, s: StepObs) -> bool:
    if e.ret is None:
        ok = s.ret >= 0
    else:
        ok = s.ret == e.ret and (e.errno.name if e.errno else None) == s.errno
    return ok and (e.digest is None or e.digest == s.digest)


def _why_guest(spec: Spec, out: Outcome) -> tuple[str, Optional[Source]]:
    """A guest rule's expectation: "<rule>:value" comes from the line that
    gives the value while its condition holds, ":otherwise" from the line
    that gives it when not."""
    rule_id, _, side = out.check.partition(":")
    try:
        r = spec.guest_rule(rule_id)
    except KeyError:
        return "", None
    if side.startswith("field:"):       # an exit's run field: the line that fills it
        f = next((f for f in r.run_fields if f.path == side[6:]), None)
        if f is not None:
            src = f.value_source or f.source
            return (f"{r.kind.value} {r.id}: `{r.when}` holds ({r.source}), so "
                    f"run->{f.path} = {f.expr} ({f.source}): `{src.text}` at {src}", src)
    src = (r.value_source if side == "value" else r.otherwise_source) or r.source
    holds = "holds" if side == "value" else "does not hold"
    return (f"{r.kind.value} {r.id}: `{r.when}` {holds} ({r.source}), so "
            f"`{src.text}` at {src}", src)


def _why(spec: Spec, op_name: str, out: Outcome) -> tuple[str, Optional[Source]]:
    """The patch line the model's expectation comes from."""
    if ":" in out.check:
        return _why_guest(spec, out)
    try:
        op = spec.operation(op_name)
    except KeyError:
        return "", None
    for c in op.checks:
        if c.id == out.check:
            ctx = (" [generic KVM code around the patch, not the patch]"
                   if getattr(c, "context", False) else "")
            what = out.errno.name if out.errno is not None else f"`return {c.result}`"
            return (f"{what} from {c.id} at {c.source} "
                    f"(`{c.condition}`){ctx}", c.source)
    if op.success is not None and out.check == "success":
        return f"success at {op.success.source}", op.success.source
    return "", None


def _hint(spec: Spec, op_name: str, s: StepObs, expected: str) -> str:
    """The first check of the patch that gives the errno that was observed."""
    try:
        op = spec.operation(op_name)
    except KeyError:
        return ""
    same = [c for c in sorted(op.checks, key=lambda c: c.order)
            if s.errno and c.errno is not None and c.errno.name == s.errno
            and c.id != expected and c.reach is not Reach.UNREACHABLE]
    if not same:
        return ""
    return f"; the patch gives {s.errno} for {same[0].id} ({same[0].source})"


def judge(spec: Spec, case: Case, expected: list[Outcome],
          obs: Optional[CaseObs], broke: Optional[str] = None) -> CaseResult:
    r = CaseResult(case.id, case.spec, case.clause, case.source, None, None,
                   Verdict.ERROR)
    subject = [i for i, s in enumerate(case.steps) if s.role is StepRole.SUBJECT]
    last = subject[-1] if subject else len(expected) - 1
    r.expected = _expect(expected[last])
    if obs is None:
        r.reason = (f"no result: the run broke ({broke})" if broke
                    else "no result line for this case in the output")
        return r
    if obs.status is ObsStatus.SKIP:
        r.verdict, r.reason = Verdict.SKIPPED, obs.reason or "skipped"
        return r
    if obs.status is ObsStatus.HARNESS:
        r.reason = "the test harness failed: " + ("; ".join(obs.notes)
                                                  or obs.reason or "not ok")
        return r
    steps = {s.step: s for s in obs.steps}
    for i, (step, exp) in enumerate(zip(case.steps, expected)):
        seen = steps.get(i)
        if seen is None:
            r.step, r.reason = i, f"step {i} ({step.kind.value}) was not observed"
            return r
        if _matches(exp, seen):
            continue
        r.step, r.expected = i, _expect(exp)
        r.observed = Expect(seen.ret, seen.errno, seen.digest)
        if step.role is StepRole.SETUP:
            r.reason = (f"setup step {i} ({step.kind.value}) failed: observed "
                        f"{r.observed}, the model needs {r.expected}")
            return r
        why, src = _why(spec, step.op, exp)
        r.verdict, r.decided_by = Verdict.DIVERGES, src
        r.reason = (f"step {i} {step.op or step.kind.value}: expected "
                    f"{r.expected}{' — ' + why if why else ''}; observed "
                    f"{r.observed}{_hint(spec, step.op, seen, exp.check)}")
        if exp.digest is not None and seen.digest == exp.digest:
            r.reason += "; the buffer read back matches the model"
        later = [j for j in range(i + 1, len(expected))
                 if j in steps and not _matches(expected[j], steps[j])]
        if later:
            r.reason += f" (later steps {', '.join(map(str, later))} differ too)"
        return r
    r.verdict = Verdict.CONFORMS
    s = steps.get(last)
    r.observed = Expect(s.ret, s.errno, s.digest) if s else None
    r.decided_by = _why(spec, case.steps[last].op, expected[last])[1]
    return r


def crosscheck(spec: Spec, cases: list[Case], obs: Observations,
               page_size: Optional[int] = None, host: Host = Host(),
               broke: Optional[str] = None,
               platform_fault: Optional[str] = None,
               module: Optional[ModuleType] = None,
               arch: str = "arm64") -> list[CaseResult]:
    """One CaseResult per case.  `page_size` defaults to the one the test
    printed; `platform_fault` (the platform sanity check's sentence) turns
    a divergence into an error, since the platform, not the kernel, may
    be at fault; a case whose operation is another architecture's code
    (an x86 capability run on the `arch` kernel) is `skipped` for the
    platform, never a divergence of the kernel."""
    module = module or reference_module(spec)
    ps = page_size or obs.page_size
    out = []
    for case in cases:
        o = obs.cases.get(case.id)
        if ps is None:
            r = CaseResult(case.id, case.spec, case.clause, case.source, None,
                           None, Verdict.ERROR, "the kernel's page size is unknown "
                           "(no `kconform: page_size=` line)" +
                           (f"; the run broke ({broke})" if broke else ""))
            out.append(r)
            continue
        try:
            predicted = module.predict(case, ps, host)
        except Unmodelled as e:           # no prediction: untested, never judged
            out.append(CaseResult(case.id, case.spec, case.clause, case.source, None, None,
                                  Verdict.UNTESTED, f"{Gap.NOT_EVALUABLE.value}: check "
                                  f"{e.check}: {e.reason}"))
            continue
        r = judge(spec, case, predicted, o, broke)
        platform_verdict(spec, case, r, target=arch)   # another arch's handler: not a verdict
        if r.verdict is Verdict.DIVERGES and platform_fault:
            r.verdict = Verdict.ERROR
            r.reason = f"platform fault ({platform_fault}); would diverge: {r.reason}"
        out.append(r)
    return out

