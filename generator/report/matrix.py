"""Report a matrix run: a rich table (case x kernel) for the terminal, JSON
for tools, markdown for a mailing-list reply or a CI summary.

JSON layout:
  spec (the primary spec), specs [names], binding, interrupted,
  kernels [names, in column order],
  columns [{kernel, state, error, seconds, results}] where `results` is the
    single-kernel document of generator.report.to_json (null when the
    kernel produced none),
  comparison {compared, excluded {kernel: state}, differences [{case,
    kernels {kernel: behaviour}}], scaled [case ids], facts [lines]},
  baseline (only with --baseline) {file, changes [lines]}.
"""
from __future__ import annotations


from pathlib import Path
from typing import Optional, Sequence

from generator.verdict.crosscheck import CaseResult, Expect
from generator.run.matrix import Column, ColumnState, MatrixReport, behaviour
from generator.model import Verdict
from generator.report.jsondoc import write_document
from generator.report.table import _STYLE, summary, summary_line, to_json as column_json


def _page(ps: Optional[int]) -> str:
    return f"{ps // 1024}K pages" if ps else "page size ?"


def column_title(c: Column) -> str:
    if c.report is None or c.release is None:
        return c.name
    return f"{c.name} ({c.release}, {_page(c.page_size)})"


def _brief(e: Optional[Expect]) -> str:
    if e is None:
        return "-"
    s = "ret>=0" if e.ret is None else f"ret={e.ret}"
    return s + (f" {e.errno}" if e.errno else "")


def _cell(r: Optional[CaseResult], markup: bool) -> str:
    if r is None:
        return "—"
    text = r.verdict.value
    if markup:
        text = f"[{_STYLE[r.verdict]}]{text}[/]"
    if r.verdict is Verdict.DIVERGES:
        text += f" {_brief(r.observed)}"
    return text


def _expected(m: MatrixReport, cells: list[Optional[CaseResult]]) -> str:
    """The model's prediction; where it depends on the page size (byte
    counts), one value per page size."""
    groups: dict[str, list[Column]] = {}
    for c, r in zip(m.columns, cells):
        if r is not None and r.expected is not None:
            groups.setdefault(_brief(r.expected), []).append(c)
    if len(groups) <= 1:
        return next(iter(groups), "-")
    sizes = [{c.page_size for c in cols} for cols in groups.values()]
    by_page = all(len(s) == 1 for s in sizes) and len({next(iter(s)) for s in sizes}) == len(sizes)
    return ", ".join(
        (f"{_page(cols[0].page_size).split()[0]}: " if by_page
         else f"{'/'.join(c.name for c in cols)}: ") + text
        for text, cols in groups.items())


def _rows(m: MatrixReport) -> list[tuple[str, str, str, list[Optional[CaseResult]]]]:
    """(case, patch line, expected, per-column result) in plan order."""
    by_col = [{r.id: r for r in c.results} for c in m.columns]
    rows = []
    for case_id, source, _ in m.row_keys():
        cells = [b.get(case_id) for b in by_col]
        first = next((r for r in cells if r is not None and r.expected is not None), None)
        line = str((first.decided_by or first.source) if first else source)
        rows.append((case_id, line, _expected(m, cells), cells))
    return rows


def problems(m: MatrixReport) -> list[str]:
    """One entry per column that did not complete: its state and why."""
    out = []
    for c in m.columns:
        if c.state is ColumnState.COMPLETED:
            continue
        why = c.error or ("Ctrl-C before it started" if c.state is ColumnState.NOT_RUN else "")
        out.append(f"{c.name}: {c.state.value}" + (f": {why}" if why else ""))
    return out


def column_summary(c: Column) -> str:
    if c.report is None:
        return f"{c.name}: {c.state.value}"
    f = c.report.facts
    from generator.report.table import checks_total
    return (f"{column_title(c)}: {summary_line(c.results, checks_total(f))}; "
            f"platform {f.platform_state}; "
            f"{c.state.value} in {c.seconds:.1f} s")


def comparison_lines(m: MatrixReport) -> list[str]:
    cmp = m.comparison
    if len(cmp.compared) < 2:
        return [f"kernels compared: {len(cmp.compared)} completed column(s), nothing to compare"]
    out = []
    if cmp.differences:
        out.append(f"kernels differ from each other on {len(cmp.differences)} case(s):")
        out += [f"  {d.line()}" for d in cmp.differences]
    else:
        out.append(f"kernels agree on every case ({', '.join(cmp.compared)})")
    if cmp.scaled:
        out.append(f"  {len(cmp.scaled)} case(s) return byte counts that scale with the page "
                   f"size and agree once read in pages: {', '.join(cmp.scaled)}")
    out += [f"  {f}" for f in cmp.facts]
    if cmp.excluded:
        out.append("  not compared: " + ", ".join(f"{n} ({s})" for n, s in cmp.excluded.items()))
    return out


# ------------------------------------------------------------------ terminal
def render_matrix(m: MatrixReport, console=None, width: int = 200) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=width)
    t = Table(title=f"{m.title} on {len(m.columns)} kernels", show_lines=False)
    t.add_column("case", overflow="fold", max_width=56)
    t.add_column("patch line", no_wrap=True)
    t.add_column("expected", no_wrap=True)
    for c in m.columns:
        head = c.name
        if c.release:
            head += f"\n{c.release}\n{_page(c.page_size)}"
        if c.state is not ColumnState.COMPLETED:
            head += f"\n[bold red]{c.state.value}[/]"
        t.add_column(head, overflow="fold")
    for case, line, expected, cells in _rows(m):
        t.add_row(case, line, expected, *[_cell(r, True) for r in cells])
    console.print(t)
    for line in comparison_lines(m):
        console.print(line, highlight=False, markup=False)
    for line in problems(m):
        console.print(f"[bold red]{line.splitlines()[0]}[/]", highlight=False)
        for more in line.splitlines()[1:]:
            console.print(more, highlight=False, markup=False)
    first = next((c.report.facts for c in m.columns if c.report is not None), None)
    if first is not None:
        from generator.report.table import binding_notes
        for line in binding_notes(first):
            console.print(line, highlight=False, markup=False)
    for c in m.columns:
        if c.report is not None:
            console.print(column_summary(c), highlight=False, markup=False)
    if m.interrupted:
        console.print(f"interrupted: kept {len(m.completed)} finished column(s) of "
                      f"{len(m.columns)}", highlight=False)


# ------------------------------------------------------------------ JSON
def to_json(m: MatrixReport, baseline: Optional[dict] = None) -> dict:
    cmp = m.comparison
    by_col = {c.name: {r.id: r for r in c.results} for c in m.columns}
    pages = {c.name: c.page_size for c in m.columns}
    doc = {
        "spec": m.spec.name,
        "specs": m.spec_names,
        "binding": next((c.report.facts.binding for c in m.columns if c.report), ""),
        "interrupted": m.interrupted,
        "kernels": [c.name for c in m.columns],
        "columns": [{
            "kernel": c.name, "state": c.state.value, "error": c.error,
            "seconds": round(c.seconds, 2),
            "results": column_json(m.spec.name, c.results, c.report.facts) if c.report else None,
        } for c in m.columns],
        "comparison": {
            "compared": cmp.compared, "excluded": cmp.excluded,
            "differences": [{"case": d.case, "kernels": {
                n: behaviour(by_col[n][d.case], pages[n]) if d.case in by_col[n] else None
                for n in cmp.compared}} for d in cmp.differences],
            "scaled": cmp.scaled, "facts": cmp.facts,
        },
    }
    if baseline is not None:
        doc["baseline"] = baseline
    return doc


def write_json(path: Path, m: MatrixReport, baseline: Optional[dict] = None) -> Path:
    return write_document(path, to_json(m, baseline))


# ------------------------------------------------------------------ markdown
def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(_md(h) for h in head) + " |",
           "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return out


def to_markdown(m: MatrixReport, changes: Optional[Sequence[str]] = None,
                baseline_file: Optional[str] = None) -> str:
    """A report to paste into a mailing-list reply or a CI summary: the
    kernels, where they differ from each other, the cases that do not
    conform, then the whole matrix."""
    names = [c.name for c in m.columns]
    out = [f"## kconform: {m.title} on {len(m.columns)} kernel(s)", ""]
    facts_rows = []
    for c in m.columns:
        if c.report is None:
            facts_rows.append([c.name, "-", "-", "-", c.state.value, "-", "-"])
            continue
        s = summary(c.results)
        facts_rows.append([c.name, c.release or "?", str(c.page_size or "?"),
                           c.report.facts.platform_state, c.state.value,
                           f"{s['conforms']} / {s['diverges']} / {s['skipped']} / {s['error']}",
                           str(s["untested"]), str(s["not_reachable"])])
    out += _md_table(["kernel", "release", "page size", "platform", "run",
                      "conform / diverge / skipped / error", "untested", "not reachable"],
                     facts_rows)
    emu = next((c.report.facts for c in m.columns if c.report), None)
    if emu is not None:
        from generator.report.table import binding_notes
        out += ["", f"Emulator: {emu.emulator_name} {emu.emulator_version}; "
                    f"capability binding: {emu.binding}."]
        out += [f"- {_md(line)}" for line in binding_notes(emu)]
    if changes is not None:
        out += ["", f"### Against the baseline{f' ({baseline_file})' if baseline_file else ''}", ""]
        out += [f"- {_md(c)}" for c in changes] or ["No verdict differs from the baseline."]
    out += ["", "### Where the kernels differ from each other", ""]
    cmp = m.comparison
    if len(cmp.compared) < 2:
        out.append(f"Fewer than two kernels completed ({', '.join(cmp.compared) or 'none'}); "
                   "nothing to compare.")
    elif not cmp.differences:
        out.append(f"They agree on every case ({', '.join(cmp.compared)}).")
    else:
        by_col = {c.name: {r.id: r for r in c.results} for c in m.columns}
        pages = {c.name: c.page_size for c in m.columns}
        rows = [[d.case] + [behaviour(by_col[n][d.case], pages[n]) if d.case in by_col[n] else "-"
                            for n in cmp.compared] for d in cmp.differences]
        out += _md_table(["case"] + cmp.compared, rows)
    if cmp.scaled:
        out += ["", f"Byte counts that scale with the page size and agree in pages: "
                    f"{', '.join('`' + s + '`' for s in cmp.scaled)}."]
    out += [f"- {_md(f)}" for f in cmp.facts]
    rows = _rows(m)
    bad = [r for r in rows if any(x is not None and x.verdict not in (
        Verdict.CONFORMS, Verdict.UNREACHABLE) for x in r[3])]
    out += ["", "### Cases that do not conform", ""]
    if bad:
        out += _md_table(["case", "patch line", "expected"] + names,
                         [[case, line, exp] + [_cell(x, False) for x in cells]
                          for case, line, exp, cells in bad])
        reasons = {}
        for _, _, _, cells in bad:
            for x in cells:
                if x is not None and x.verdict is not Verdict.CONFORMS and x.id not in reasons:
                    reasons[x.id] = x.reason
        out += ["", "Reasons (first kernel that shows each):", ""]
        out += [f"- `{k}`: {_md(v)}" for k, v in reasons.items()]
    else:
        out.append("Every case conforms on every kernel.")
    if m.listed:
        out += ["", "### Rules no call from userspace reaches", "",
                f"{len(m.listed)} rule(s), the same on every kernel (the spec decides it):", ""]
        out += _md_table(["rule", "patch line", "why"],
                         [[r.id, str(r.source), r.reason] for r in m.listed])
    probs = problems(m)
    if probs:
        out += ["", "### Kernels that did not complete", ""]
        for p in probs:
            head, *tail = p.splitlines()
            out.append(f"- {_md(head)}")
            if tail:
                out += ["", "```"] + [t.strip() for t in tail] + ["```", ""]
    if m.interrupted:
        out += ["", f"Interrupted: {len(m.completed)} of {len(m.columns)} column(s) finished."]
    out += ["", "<details><summary>All cases</summary>", ""]
    out += _md_table(["case", "patch line", "expected"] + names,
                     [[case, line, exp] + [_cell(x, False) for x in cells]
                      for case, line, exp, cells in rows])
    out += ["", "</details>", ""]
    return "\n".join(out)
