"""Header-tree mode: every aggregate of a uAPI header, laid out by the engine
and by the ABI's real compiler, compared member by member.

Phases (each keeps going after a failure, so one bad declaration costs one
struct, never the report):
  1. preprocess the headers with the ABI's compiler and the tree's include
     path (`unit.preprocess_headers`); a missing header is a report error;
  2. parse (`unit.parse_unit`); a declaration pycparser rejects is skipped;
  3. lay out every tagged aggregate (and typedef'd untagged one); a type the
     engine cannot resolve is skipped with the engine's message;
  4. compile one probe with all of them (`dwarf`); a declaration the compiler
     rejects is blanked and skipped with the compiler's message, and the
     probe is compiled again;
  5. read DWARF and compare (`compare`).
"""
from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

from generator.abi.abis import Abi, get_abi
from generator.abi.compare import Mismatch, compare_layouts
from generator.abi.dwarf import PROBE_FILE, CompileFailed, compile_probe, probe_source, read_layouts
from generator.abi.errors import AbiError, HeaderError
from generator.abi.layout import Layouter, StructLayout, TypeEnv
from generator.abi.unit import Unit, parse_unit, preprocess_headers

DEFAULT_HEADERS = ("linux/kvm.h", "asm/kvm.h")


class Status(enum.Enum):
    MATCHED = "matched"
    MISMATCHED = "mismatched"
    SKIPPED = "skipped"


@dataclass
class StructResult:
    name: str                 # "struct kvm_regs" or a typedef name
    file: str
    line: int
    status: Status
    layout: StructLayout | None = None        # the engine's
    compiler_size: int | None = None
    mismatches: list[Mismatch] = field(default_factory=list)
    reason: str = ""          # why it was skipped

    def to_json(self) -> dict:
        return {"name": self.name, "file": self.file, "line": self.line,
                "status": self.status.value,
                "size": self.layout.size if self.layout else None,
                "align": self.layout.align if self.layout else None,
                "compiler_size": self.compiler_size,
                "mismatches": [m.to_json() for m in self.mismatches],
                "reason": self.reason}


@dataclass
class HeaderReport:
    arch: str
    compiler: str
    tree: str
    headers: list[str]
    results: list[StructResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)     # whole-header problems
    elapsed: float = 0.0

    def count(self, status: Status) -> int:
        return sum(r.status is status for r in self.results)

    @property
    def checked(self) -> int:
        return self.count(Status.MATCHED) + self.count(Status.MISMATCHED)

    @property
    def ok(self) -> bool:
        return not self.errors and self.count(Status.MISMATCHED) == 0

    def summary(self) -> str:
        return (f"{self.checked} structs checked, {self.count(Status.MATCHED)} matched "
                f"{self.compiler}, {self.count(Status.MISMATCHED)} mismatched, "
                f"{self.count(Status.SKIPPED)} skipped ({self.arch}, "
                f"{self.elapsed:.1f} s)")

    def to_json(self) -> dict:
        return {"mode": "headers", "arch": self.arch, "compiler": self.compiler,
                "tree": self.tree, "headers": self.headers,
                "checked": self.checked, "matched": self.count(Status.MATCHED),
                "mismatched": self.count(Status.MISMATCHED),
                "skipped": self.count(Status.SKIPPED), "errors": self.errors,
                "elapsed": round(self.elapsed, 3),
                "structs": [r.to_json() for r in self.results]}


def check_headers(tree: str, arch: str = "arm64",
                  headers: tuple[str, ...] | list[str] = DEFAULT_HEADERS) -> HeaderReport:
    """Check every aggregate of `headers` (resolved in `tree`) on `arch`."""
    t0 = time.monotonic()
    abi = get_abi(arch)
    report = HeaderReport(arch, abi.compiler, tree, list(headers))
    present = []
    for h in headers:
        try:
            preprocess_headers([h], tree, abi)
            present.append(h)
        except AbiError as e:
            report.errors.append(str(e))
    if present:
        try:
            unit = parse_unit(preprocess_headers(present, tree, abi), tree)
        except AbiError as e:
            report.errors.append(str(e))
        else:
            report.results = verify_unit(unit, abi)
    report.elapsed = time.monotonic() - t0
    return report


def aggregate_names(env: TypeEnv) -> list[tuple[str, object, Unit]]:
    """(C type to declare an object with, node, unit) for every aggregate."""
    out = []
    for name, node, unit in env.aggregates:
        if node.name:
            kind = "union" if type(node).__name__ == "Union" else "struct"
            out.append((f"{kind} {name}", node, unit))
        else:
            out.append((name, node, unit))
    return out


def verify_unit(unit: Unit, abi: Abi, only: set[str] | None = None) -> list[StructResult]:
    """Phases 3-5 for one parsed unit; `only` limits it to some C types."""
    env = TypeEnv([unit])
    engine = Layouter(env, abi)
    results: dict[str, StructResult] = {}
    for skip in unit.skipped:
        for n in skip.names or (f"<declaration at line {skip.line}>",):
            results[f"struct {n}" if skip.names else n] = StructResult(
                f"struct {n}" if skip.names else n, skip.file, skip.line,
                Status.SKIPPED, reason=f"{skip.file}:{skip.line}: {skip.reason}")
    probe: list[str] = []
    for ctype, node, nunit in aggregate_names(env):
        if only is not None and ctype not in only:
            continue
        c = node.coord
        res = StructResult(ctype, c.file, c.line, Status.SKIPPED)
        results[ctype] = res
        try:
            res.layout = engine.layout_node(node, nunit, ctype.rpartition(" ")[2])
            probe.append(ctype)
        except AbiError as e:
            res.reason = str(e)
    truth = _compile_until_clean(unit, abi, probe, results)
    for i, ctype in enumerate(probe):
        res = results[ctype]
        if i not in truth:
            continue
        res.compiler_size = truth[i].size
        res.mismatches = compare_layouts(res.layout, truth[i], ctype, abi.compiler)
        res.status = Status.MISMATCHED if res.mismatches else Status.MATCHED
    return sorted(results.values(), key=lambda r: (r.file, r.line, r.name))


def _compile_until_clean(unit: Unit, abi: Abi, probe: list[str],
                         results: dict[str, StructResult], rounds: int = 60):
    """Compile the probe; blank what the compiler rejects and try again."""
    raw, dropped = unit.raw, set()
    shift = unit.shift                # unit.san.text = prelude + raw
    for _ in range(rounds):
        live = [ct if i not in dropped else None for i, ct in enumerate(probe)]
        src = probe_source(raw, live)
        try:
            layouts = read_layouts(compile_probe(src, abi), abi.name)
            return {i: lay for i, lay in layouts.items() if i not in dropped}
        except CompileFailed as e:
            if not e.errors:
                raise
            progress = False
            for d in e.errors:
                if d.file.endswith(PROBE_FILE) or d.file == PROBE_FILE:
                    idx = d.line - 1
                    if 0 <= idx < len(probe) and idx not in dropped:
                        dropped.add(idx)
                        _skip(results, probe[idx], f"{abi.compiler}: {d.message}")
                        progress = True
                    continue
                off = unit.san.lines.line_offset(d.file, d.line)
                span = unit.san.statement_at(off) if off >= 0 else None
                if span is None:
                    continue
                start, end = span[0] - shift, span[1] - shift
                if raw[start:end].strip():
                    raw = raw[:start] + "".join(c if c == "\n" else " "
                                                for c in raw[start:end]) + raw[end:]
                    progress = True
                    for i, ct in enumerate(probe):
                        res = results[ct]
                        if res.file == d.file and _inside(unit, res, span) and i not in dropped:
                            dropped.add(i)
                            _skip(results, ct, f"does not compile for {abi.name}: "
                                  f"{d.file}:{d.line}: {d.message}")
            if not progress:
                raise
    raise HeaderError(unit.origin, 0, f"the probe still fails after {rounds} rounds")


def _inside(unit: Unit, res: StructResult, span: tuple[int, int]) -> bool:
    off = unit.san.lines.line_offset(res.file, res.line)
    return span[0] <= off < span[1]


def _skip(results: dict[str, StructResult], ctype: str, reason: str) -> None:
    res = results[ctype]
    res.status, res.reason = Status.SKIPPED, reason
