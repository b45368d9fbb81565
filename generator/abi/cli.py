"""`kconform abi`: the ABI checker from the command line.

Without specs it checks a header tree (every struct of linux/kvm.h and
asm/kvm.h laid out by the engine and by the arch's compiler); with specs it
checks each spec's uAPI on the four ABIs and against the headers.  The CLI
module wires `add_abi_arguments` and `main_abi` to its subcommand.

Exit status: 0 all good, 1 mismatches or error findings, 2 bad input.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from generator.abi.abis import ABIS, get_abi
from generator.abi.errors import AbiError
from generator.abi.headers import DEFAULT_HEADERS, HeaderReport, Status, check_headers
from generator.abi.spec import AbiReport, Severity, check_spec


def add_abi_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="*", default=[],
                        help="spec YAML files (none: check the header tree only)")
    parser.add_argument("--headers", default=None,
                        help="uAPI include tree (default: the arch's cross include dir)")
    parser.add_argument("--arch", default="arm64", choices=list(ABIS),
                        help="ABI for the header-tree check (default arm64)")
    parser.add_argument("--results", default=None,
                        help="write the report as JSON to this path")


def default_tree(arch: str) -> str:
    """The arch's include dir; for 32-bit arm, whose uAPI has no KVM since
    Linux 5.7, the arm64 tree (what compat userspace would be built against)."""
    abi = get_abi(arch)
    if not os.path.isfile(os.path.join(abi.include_dir, "linux", "kvm.h")) and abi.compat_of:
        return get_abi(abi.compat_of).include_dir
    return abi.include_dir


def _console():
    from rich.console import Console
    return Console(highlight=False, soft_wrap=True)


def _print_headers(report: HeaderReport, console) -> None:
    from rich.table import Table
    bad = [r for r in report.results if r.status is not Status.MATCHED]
    if bad:
        table = Table(title=f"{report.arch}: structs not matched")
        for col in ("struct", "where", "status", "detail"):
            table.add_column(col)
        for r in bad:
            detail = "; ".join(map(str, r.mismatches)) or r.reason
            table.add_row(r.name, f"{os.path.basename(r.file)}:{r.line}",
                          r.status.value, detail)
        console.print(table)
    for e in report.errors:
        console.print(f"[red]error[/red]: {e}")
    console.print(report.summary())


def _print_spec(report: AbiReport, console) -> None:
    from rich.table import Table
    table = Table(title=f"spec {report.spec}: layouts")
    table.add_column("struct")
    for abi in ABIS:
        table.add_column(abi, justify="right")
    for name, per in report.layouts.items():
        table.add_row(name, *(f"{per[a].size}/{per[a].align}" if a in per else "-"
                              for a in ABIS))
    console.print(table)
    colour = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
    for f in report.findings:
        c = colour[f.severity]
        where = f"{f.source}: " if f.source else ""
        console.print(f"{where}[{c}]{f.severity.value}[/{c}]: {f.message}")
    errors = sum(f.severity is Severity.ERROR for f in report.findings)
    console.print(f"spec {report.spec}: {len(report.layouts)} structs on {len(ABIS)} ABIs, "
                  f"{errors} error finding{'s' * (errors != 1)}")


def _load_specs(paths: list[str]):
    if not paths:
        return []
    try:
        from generator.model.specio import load_spec
    except ImportError:
        raise AbiError(paths[0], 0, "cannot load spec files: generator.model.specio is "
                       "not available", "generator/specio.py providing load_spec") from None
    return [load_spec(p) for p in paths]


def main_abi(args: argparse.Namespace) -> int:
    console = _console()
    out: dict = {"arch": args.arch}
    status = 0
    try:
        specs = _load_specs(list(args.specs or []))
        if not specs:
            tree = args.headers or default_tree(args.arch)
            report = check_headers(tree, args.arch, DEFAULT_HEADERS)
            _print_headers(report, console)
            out["headers"] = report.to_json()
            status = 0 if report.ok else 1
        else:
            tree = args.headers or default_tree("arm64")
            out["specs"] = []
            for spec in specs:
                rep = check_spec(spec, tree)
                _print_spec(rep, console)
                out["specs"].append(rep.to_json())
                status = max(status, 0 if rep.ok else 1)
    except AbiError as e:
        console.print(f"[red]error[/red]: {e}")
        out["error"] = str(e)
        status = 2
    if args.results:
        with open(args.results, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
    return status


def main(argv: list[str] | None = None) -> int:
    """`python -m generator.abi.cli` (the project CLI has `kconform abi`)."""
    parser = argparse.ArgumentParser(prog="kconform abi", description=__doc__.split("\n")[0])
    add_abi_arguments(parser)
    return main_abi(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
