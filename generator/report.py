"""Report cross-check results: a rich table for the terminal, JSON for tools.

JSON layout (one document per spec run):
  kernel {release, page_size}, emulator {name, version},
  platform {state, sentence}, spec, binding,
  cases [{id, spec, clause, source {seed, line, patch}, expected {ret,
  errno, digest}, observed {...}, verdict, reason, decided_by}],
  summary {conforms, diverges, skipped, error, total}.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from generator.crosscheck import CaseResult, Expect
from generator.model import Source, Verdict

_STYLE = {Verdict.CONFORMS: "green", Verdict.DIVERGES: "bold red",
          Verdict.SKIPPED: "yellow", Verdict.ERROR: "magenta",
          Verdict.UNREACHABLE: "dim"}


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


def summary(results: list[CaseResult]) -> dict:
    counts = {v.name.lower(): 0 for v in
              (Verdict.CONFORMS, Verdict.DIVERGES, Verdict.SKIPPED, Verdict.ERROR)}
    for r in results:
        key = r.verdict.name.lower()
        counts[key] = counts.get(key, 0) + 1
    counts["total"] = len(results)
    return counts


def to_json(spec: str, results: list[CaseResult], facts: RunFacts) -> dict:
    return {
        "kernel": {"release": facts.kernel_release, "page_size": facts.page_size},
        "emulator": {"name": facts.emulator_name, "version": facts.emulator_version},
        "platform": {"state": facts.platform_state,
                     "sentence": facts.platform_sentence},
        "spec": spec,
        "binding": facts.binding,
        "run": facts.extra,
        "cases": [{
            "id": r.id, "spec": r.spec, "clause": r.clause,
            "source": _source(r.source),
            "expected": _expect(r.expected), "observed": _expect(r.observed),
            "verdict": r.verdict.value, "reason": r.reason,
            "decided_by": _source(r.decided_by), "step": r.step,
        } for r in results],
        "summary": summary(results),
    }


def write_json(path: Path, spec: str, results: list[CaseResult],
               facts: RunFacts) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(spec, results, facts), indent=2) + "\n")
    return path


def summary_line(results: list[CaseResult]) -> str:
    c = summary(results)
    return (f"{c['total']} cases: {c['conforms']} conform, {c['diverges']} "
            f"diverge, {c['skipped']} skipped, {c['error']} error")


def render_table(spec: str, results: list[CaseResult], facts: RunFacts,
                 console=None, width: int = 160) -> None:
    """Print the results as a rich table followed by a summary line."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=width)
    title = (f"{spec} on {facts.kernel_release or 'unknown kernel'} "
             f"(page size {facts.page_size or '?'}; "
             f"{facts.emulator_name} {facts.emulator_version}; "
             f"platform {facts.platform_state})")
    t = Table(title=title, show_lines=False)
    t.add_column("case", no_wrap=True)
    t.add_column("patch line", no_wrap=True)
    t.add_column("expected", overflow="fold", max_width=22)
    t.add_column("observed", overflow="fold", max_width=22)
    t.add_column("verdict", no_wrap=True)
    t.add_column("reason", overflow="fold", ratio=1)
    for r in results:
        # Digests only matter where they differ; the JSON keeps them all.
        show_digest = bool(r.expected and r.observed and r.expected.digest != r.observed.digest)
        t.add_row(r.id, str(r.decided_by or r.source),
                  _brief(r.expected, show_digest), _brief(r.observed, show_digest),
                  f"[{_STYLE[r.verdict]}]{r.verdict.value}[/]",
                  _short_reason(r) if r.verdict is not Verdict.CONFORMS else "")
    console.print(t)
    if facts.platform_sentence:
        console.print(f"platform: {facts.platform_sentence}")
    console.print(summary_line(results))


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
    return f"{step}: {why}" if step else why
