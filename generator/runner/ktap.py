"""Parse KTAP (and the kselftest TAP 13 dialect) from a console capture.

Handles ``KTAP version 1`` / ``TAP version 13`` headers, the ``1..N`` plan,
``ok N name``, ``not ok N name``, the directives ``# SKIP``, ``# TODO``,
``# XFAIL`` and kselftest's ``# error``, ``Bail out!``, diagnostic lines and
nested subtests (indented blocks, attached to the result that follows them).

Every line that is not a result/plan/version line - ``# ...`` diagnostics as
well as bare text such as a KVM selftest's assertion banner - is attached to
the next result (``diagnostics``); what precedes the plan is the document's
``preamble`` and what follows the last result its ``trailing``.  Kernel console lines (``[   12.345678] ...``) are
not test output: they are set aside in ``kernel_lines``, and a test line that
a kernel message cut in two is joined back.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import Iterable, Optional


class KtapStatus(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    XFAIL = "xfail"
    ERROR = "error"


@dataclasses.dataclass
class KtapResult:
    number: Optional[int]
    name: str
    status: KtapStatus
    directive: Optional[str]            # SKIP / TODO / XFAIL / ERROR
    reason: str                         # text after the directive
    diagnostics: list[str]              # lines before this result
    subtests: list["KtapResult"]
    line: str                           # the raw result line

    @property
    def ok(self) -> bool:
        return self.status in (KtapStatus.PASS, KtapStatus.SKIP,
                               KtapStatus.XFAIL)


@dataclasses.dataclass
class KtapDocument:
    version: Optional[str] = None       # "KTAP version 1", "TAP version 13"
    plan: Optional[int] = None
    results: list[KtapResult] = dataclasses.field(default_factory=list)
    preamble: list[str] = dataclasses.field(default_factory=list)
    trailing: list[str] = dataclasses.field(default_factory=list)
    bail_out: Optional[str] = None
    kernel_lines: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)

    def counts(self) -> dict[KtapStatus, int]:
        counts = {s: 0 for s in KtapStatus}
        for r in self.results:
            counts[r.status] += 1
        return counts

    def by_name(self, name: str) -> Optional[KtapResult]:
        return next((r for r in self.results if r.name == name), None)

    @property
    def complete(self) -> bool:
        """A plan was printed and every planned result arrived."""
        return (self.plan is not None and len(self.results) == self.plan
                and self.bail_out is None)


_KERNEL = re.compile(r"\[\s*\d+\.\d{3,}\]")
_VERSION = re.compile(r"^(K?TAP version \d+)\s*$")
_PLAN = re.compile(r"^1\.\.(\d+)\b")
_RESULT = re.compile(r"^(ok|not ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$")
_DIRECTIVE = re.compile(r"^(SKIP|TODO|XFAIL|ERROR)\b:?\s*(.*)$", re.I)
_BAIL = re.compile(r"^Bail out!\s*(.*)$")


def split_kernel_noise(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """Separate test output from kernel console lines.

    A kernel message that landed in the middle of a test line is cut off;
    the test line's remainder (next non-kernel line) is joined back on.
    """
    test: list[str] = []
    kernel: list[str] = []
    fragment: Optional[str] = None
    for raw in lines:
        line = raw.replace("\r", "").rstrip("\n")
        m = _KERNEL.search(line)
        if m:
            kernel.append(line[m.start():])
            head = line[:m.start()]
            if head.strip():
                fragment = (fragment or "") + head
            continue
        if fragment is not None:
            line, fragment = fragment + line, None
        test.append(line)
    if fragment is not None:
        test.append(fragment)
    return test, kernel


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _result(line: str, diagnostics: list[str],
            subtests: list[KtapResult]) -> Optional[KtapResult]:
    m = _RESULT.match(line.strip())
    if not m:
        return None
    verdict, number, rest = m.groups()
    name, _, comment = rest.partition("#")
    directive, reason = None, ""
    d = _DIRECTIVE.match(comment.strip())
    if d:
        directive, reason = d.group(1).upper(), d.group(2).strip()
    elif comment.strip():
        reason = comment.strip()
    if directive == "SKIP":
        status = KtapStatus.SKIP
    elif directive in ("XFAIL", "TODO") and verdict == "not ok":
        status = KtapStatus.XFAIL
    elif directive == "XFAIL":
        status = KtapStatus.XFAIL
    elif directive == "ERROR" and verdict == "not ok":
        status = KtapStatus.ERROR
    else:
        status = KtapStatus.PASS if verdict == "ok" else KtapStatus.FAIL
    return KtapResult(int(number) if number else None, name.strip(), status,
                      directive, reason, diagnostics, subtests, line.strip())


def _diag(line: str) -> str:
    text = line.strip()
    return text[1:].strip() if text.startswith("#") else text


def _parse_level(lines: list[str], pos: int, indent: int, doc: KtapDocument
                 ) -> tuple[list[KtapResult], list[str], int]:
    """Parse results at ``indent`` from ``pos``; return results, the lines
    that belong to the enclosing level (a nested block's header before its
    plan, and its trailing lines) and the position after this level."""
    results: list[KtapResult] = []
    pending: list[str] = []
    header: list[str] = []
    subtests: list[KtapResult] = []
    top = indent == 0
    while pos < len(lines):
        line = lines[pos]
        if not line.strip():
            pos += 1
            continue
        ind = _indent(line)
        if ind < indent:
            break
        text = line.strip()
        if ind > indent and (_VERSION.match(text) or _RESULT.match(text)
                             or _PLAN.match(text)):
            sub, outer, pos = _parse_level(lines, pos, ind, doc)
            subtests.extend(sub)
            pending.extend(outer)
            continue
        pos += 1
        if _VERSION.match(text):
            if top and doc.version is None:
                doc.version = text
            elif not top:
                continue
            else:
                pending.append(text)
            continue
        plan = _PLAN.match(text)
        if plan:
            if top and doc.plan is None:
                doc.plan = int(plan.group(1))
                if not results:
                    doc.preamble, pending = pending, []
            elif not top and not results:
                header, pending = header + pending, []
            continue
        bail = _BAIL.match(text)
        if bail:
            doc.bail_out = bail.group(1) or "(no reason)"
            continue
        res = _result(text, pending, subtests)
        if res is not None:
            results.append(res)
            pending, subtests = [], []
            continue
        pending.append(_diag(text))
    if subtests:
        doc.problems.append(f"{len(subtests)} subtest result(s) without a "
                            "parent result line")
    return results, (header + pending if not top else pending), pos


def parse_ktap(lines: Iterable[str]) -> KtapDocument:
    """Parse one test program's output (console noise tolerated)."""
    doc = KtapDocument()
    test_lines, doc.kernel_lines = split_kernel_noise(lines)
    doc.results, doc.trailing, _ = _parse_level(test_lines, 0, 0, doc)
    if doc.version is None and doc.results:
        doc.problems.append("no 'KTAP version 1' / 'TAP version 13' header")
    if doc.plan is None:
        if doc.results or doc.version:
            doc.problems.append("no plan line '1..N'")
    elif len(doc.results) != doc.plan:
        doc.problems.append(f"plan announced {doc.plan} result(s), "
                            f"{len(doc.results)} arrived")
    numbers = [r.number for r in doc.results if r.number is not None]
    if numbers != list(range(1, len(numbers) + 1)):
        doc.problems.append(f"result numbers out of sequence: {numbers}")
    if doc.bail_out is not None:
        doc.problems.append(f"bailed out: {doc.bail_out}")
    return doc
