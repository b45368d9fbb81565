"""Report cross-check results: a rich table for the terminal, JSON for tools.

JSON layout (one document per run on one kernel):
  kernel {release, page_size}, emulator {name, version},
  platform {state, sentence}, spec (the primary spec), specs [names, the
  primary first], binding, bindings {capability: {number, how, spec}},
  nothing_to_run {spec: reason} (specs with no test of their own),
  cases [{id, spec, clause, source {seed, line, patch}, expected {ret,
  errno, digest}, observed {...}, verdict, reason, decided_by}],
  summary {conforms, diverges, skipped, error, not_reachable, untested, total},
  summary_by_spec {spec: the same counts, and checks, checks_exercised,
  checks_untested, checks_not_reachable: the spec's checks extracted, how
  many a case exercised, how many are `untested`, how many `not reachable`}.

A companion spec's case ids are `<spec>:<case>`; the terminal report has
one table per spec and shows them without the prefix.
"""
from __future__ import annotations


from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from generator.verdict.crosscheck import CaseResult, Expect
from generator.model import Source, Verdict
from generator.report.jsondoc import write_document

_STYLE = {Verdict.CONFORMS: "green", Verdict.DIVERGES: "bold red",
          Verdict.SKIPPED: "yellow", Verdict.ERROR: "magenta",
          Verdict.UNREACHABLE: "dim", Verdict.UNTESTED: "bold yellow"}


@dataclass
class RunFacts:
    """What the report says about the platform the results came from."""
    kernel_release: Optional[str] = None
    page_size: Optional[int] = None
    emulator_name: str = ""
    emulator_version: str = ""
    platform_state: str = "unchecked"
    platform_sentence: str = ""
    binding: str = ""
    extra: dict = field(default_factory=dict)
    specs: list = field(default_factory=list)     # [{name, seed, cases, not_reachable,
                                                  #   nothing_to_run}], primary first
    bindings: dict = field(default_factory=dict)  # capability -> {number, how, spec}

    def spec_names(self, fallback: str = "") -> list[str]:
        return [s["name"] for s in self.specs] or ([fallback] if fallback else [])

    @classmethod
    def from_outcome(cls, outcome, binding: str = "") -> "RunFacts":
        """From generator.runner.run.RunOutcome."""
        p = outcome.platform
        return cls(outcome.kernel_release, outcome.page_size,
                   outcome.emulator_name, outcome.emulator_version,
                   p.state.value, p.sentence, binding,
                   {"status": outcome.status.value, "broke": outcome.broke})


def _source(s: Optional[Source]) -> Optional[dict]:
    if s is None:
        return None
    return {"seed": s.seed, "line": s.line, "patch": s.patch}


def _expect(e: Optional[Expect]) -> Optional[dict]:
    if e is None:
        return None
    return {"ret": e.ret, "errno": e.errno, "digest": e.digest}


_KEYS = {Verdict.CONFORMS: "conforms", Verdict.DIVERGES: "diverges",
         Verdict.SKIPPED: "skipped", Verdict.ERROR: "error",
         Verdict.UNREACHABLE: "not_reachable", Verdict.UNTESTED: "untested"}


def summary(results: list[CaseResult]) -> dict:
    counts = {k: 0 for k in _KEYS.values()}
    for r in results:
        counts[_KEYS[r.verdict]] += 1
    counts["total"] = len(results)
    return counts


def by_spec(results: list[CaseResult], order: list[str] = ()) -> dict[str, list[CaseResult]]:
    """Results grouped by spec, in `order` then first appearance."""
    out: dict[str, list[CaseResult]] = {name: [] for name in order}
    for r in results:
        out.setdefault(r.spec, []).append(r)
    return out


def display_id(r: CaseResult) -> str:
    """A case id without its `<spec>:` qualifier, for a table of that spec."""
    prefix = f"{r.spec}:"
    return r.id[len(prefix):] if r.id.startswith(prefix) else r.id


def to_json(spec: str, results: list[CaseResult], facts: RunFacts) -> dict:
    names = facts.spec_names(spec)
    return {
        "kernel": {"release": facts.kernel_release, "page_size": facts.page_size},
        "emulator": {"name": facts.emulator_name, "version": facts.emulator_version},
        "platform": {"state": facts.platform_state,
                     "sentence": facts.platform_sentence},
        "spec": spec,
        "specs": names,
        "binding": facts.binding,
        "bindings": facts.bindings,
        "nothing_to_run": {s["name"]: s["nothing_to_run"] for s in facts.specs
                           if s.get("nothing_to_run")},
        "run": facts.extra,
        "cases": [{
            "id": r.id, "spec": r.spec, "clause": r.clause,
            "source": _source(r.source),
            "expected": _expect(r.expected), "observed": _expect(r.observed),
            "verdict": r.verdict.value, "reason": r.reason,
            "decided_by": _source(r.decided_by), "step": r.step,
            **({"target": r.target} if r.target else {}),
            "host": r.host or "default",
            **({"merged": r.merged.as_json()} if r.merged is not None else {}),
        } for r in results],
        "summary": summary(results),
        "summary_by_spec": {name: {**summary(rs), **_checks_of(facts, name)}
                            for name, rs in by_spec(results, names).items()},
    }


def _checks_of(facts: RunFacts, name: str) -> dict:
    s = next((s for s in facts.specs if s.get("name") == name), {})
    return {k: s[k] for k in ("checks", "checks_exercised", "checks_untested",
                              "checks_not_reachable") if k in s}


def write_json(path: Path, spec: str, results: list[CaseResult],
               facts: RunFacts, extra: Optional[dict] = None) -> Path:
    """The single-kernel JSON report; `extra` adds top-level keys (the
    baseline comparison)."""
    doc = to_json(spec, results, facts)
    doc.update(extra or {})
    return write_document(path, doc)


def summary_line(results: list[CaseResult], checks: Optional[dict] = None) -> str:
    """`N cases: ... conform, ...; U untested; R rule(s) not reachable`, and
    with `checks` (a spec's entry of RunFacts.specs) the spec's checks:
    extracted, exercised, untested."""
    c = summary(results)
    run = c["total"] - c["not_reachable"] - c["untested"]
    text = (f"{run} cases: {c['conforms']} conform, {c['diverges']} "
            f"diverge, {c['skipped']} skipped, {c['error']} error")
    if c["untested"]:
        text += f"; {c['untested']} untested"
    if c["not_reachable"]:
        text += f"; {c['not_reachable']} rule(s) not reachable"
    if checks and "checks" in checks:
        text += (f"; checks: {checks['checks']} extracted, {checks['checks_exercised']} "
                 f"exercised, {checks['checks_untested']} untested")
    return text


def checks_total(facts: RunFacts) -> Optional[dict]:
    """The check counts of every spec of a run, summed."""
    per = [s for s in facts.specs if "checks" in s]
    if not per:
        return None
    return {k: sum(s[k] for s in per) for k in
            ("checks", "checks_exercised", "checks_untested", "checks_not_reachable")}


def binding_notes(facts: RunFacts) -> list[str]:
    """Capabilities a run bound other than the way it asked (by name, but
    the header lacks the name)."""
    out = []
    u = facts.extra.get("uapi") or {}
    if u.get("source"):
        out.append(f"uapi: names bound with {u.get('description')} ({u['source']})"
                   + (f"; {u['note']}" if u.get("note") else ""))
    elif u.get("note"):
        out.append(f"uapi: {u['note']}")
    for spec, found in (u.get("renumbered") or {}).items():
        out += [f"{spec}: {r['text']}" for r in found]
    for name, b in facts.bindings.items():
        how = str(b.get("how", ""))
        if facts.binding == "header" and how.startswith("patch"):
            out.append(f"binding: {name} is not in <linux/kvm.h>; {b.get('spec', '')} "
                       f"uses the patch's number {b.get('number')} for it")
    return out


def render_report(primary: str, results: list[CaseResult], facts: RunFacts,
                  console=None, width: int = 160) -> None:
    """One table per spec (a spec with nothing to run says why and lists its
    rules), the platform sentence, a summary line per spec and overall."""
    from rich.console import Console
    console = console or Console(width=width)
    names = facts.spec_names(primary)
    groups = by_spec(results, names)
    notes = {s["name"]: s.get("nothing_to_run") for s in facts.specs}
    if len(groups) <= 1:
        render_table(primary, results, facts, console=console, width=width,
                     nothing=notes.get(primary) or "")
        for line in binding_notes(facts):
            console.print(line, highlight=False, markup=False)
        return
    for name, rows in groups.items():
        render_table(name, rows, facts, console=console, width=width, footer=False,
                     nothing=notes.get(name) or "")
    if facts.platform_sentence:
        console.print(f"platform: {facts.platform_sentence}")
    for line in binding_notes(facts):
        console.print(line, highlight=False, markup=False)
    per = {s["name"]: s for s in facts.specs}
    for name, rows in groups.items():
        console.print(f"{name}: {summary_line(rows, per.get(name))}", highlight=False)
    console.print(f"all {len(groups)} specs: {summary_line(results, checks_total(facts))}",
                  highlight=False)


def render_table(spec: str, results: list[CaseResult], facts: RunFacts,
                 console=None, width: int = 160, footer: bool = True,
                 nothing: str = "") -> None:
    """Print the results as a rich table followed by a summary line (with
    `footer`)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=width)
    title = (f"{spec} on {facts.kernel_release or 'unknown kernel'} "
             f"(page size {facts.page_size or '?'}; "
             f"{facts.emulator_name} {facts.emulator_version}; "
             f"platform {facts.platform_state})")
    if nothing:
        title = f"{spec}: nothing to run ({nothing})"
    title += _other_targets(facts)
    mixed = len({r.target for r in results if r.target}) > 1 or any(
        r.target and r.target != "arm64" for r in results)
    mine = next((s for s in facts.specs if s.get("name") == spec and "checks" in s), None)
    caption = (f"checks: {mine['checks']} extracted, {mine['checks_exercised']} exercised, "
               f"{mine['checks_untested']} untested, {mine['checks_not_reachable']} not reachable"
               if mine else None)
    t = Table(title=title, caption=caption, show_lines=False)
    t.add_column("case", overflow="fold", max_width=56)
    if mixed:
        t.add_column("target", no_wrap=True)
    t.add_column("patch line", no_wrap=True)
    t.add_column("expected", overflow="fold", max_width=22)
    t.add_column("observed", overflow="fold", max_width=22)
    t.add_column("verdict", no_wrap=True)
    t.add_column("reason", overflow="fold", ratio=1)
    for r in results:
        # Digests only matter where they differ; the JSON keeps them all.
        show_digest = bool(r.expected and r.observed and r.expected.digest != r.observed.digest)
        t.add_row(display_id(r) + (f" @{r.host}" if r.host else ""),
                  *([r.target or "-"] if mixed else []),
                  str(r.decided_by or r.source),
                  _brief(r.expected, show_digest), _brief(r.observed, show_digest),
                  f"[{_STYLE[r.verdict]}]{r.verdict.value}[/]",
                  _short_reason(r))   # a conforming row with a reason says why (cap.number)
    console.print(t)
    if not footer:
        return
    if facts.platform_sentence:
        console.print(f"platform: {facts.platform_sentence}")
    console.print(summary_line(results, next((s for s in facts.specs
                                              if s.get("name") == spec), None)))


def _other_targets(facts: RunFacts) -> str:
    """What the run's other architectures booted (run.arches), for a title."""
    out = ""
    for arch, f in (facts.extra.get("targets") or {}).items():
        if arch == "arm64" or not isinstance(f, dict):
            continue
        if f.get("state") == "not run":
            out += f"; {arch}: not run ({f.get('why', '')})"
        else:
            out += f"; {arch} cases on {f.get('kernel_release') or '?'} ({f.get('emulator', '')})"
    return out


def _brief(e: Optional[Expect], digest: bool) -> str:
    if e is None:
        return "-"
    s = "ret>=0" if e.ret is None else f"ret={e.ret}"
    if e.errno:
        s += f" {e.errno}"
    if digest and e.digest:
        s += f" digest={e.digest}"
    return s


def _short_reason(r: CaseResult) -> str:
    """The reason without the expected/observed values the row already shows."""
    text = r.reason or ""
    if r.verdict is not Verdict.DIVERGES:
        return text
    head, _, rest = text.partition(" — ")
    step = head.split(":")[0] if head.startswith("step ") else ""
    why = (rest or text).split("; observed ")[0]
    if r.merged is not None:
        why += f" | merged: {r.merged.sentence}"
    return f"{step}: {why}" if step else why
