"""Subcommands beyond `extract`: each registers its own arguments."""
from __future__ import annotations

import sys
from pathlib import Path

from . import paths


def register(sub) -> None:
    _add_generate(sub)
    _add_run(sub)
    _add_abi(sub)
    from .diff import add_diff_command; add_diff_command(sub)


# ------------------------------------------------------------------ generate
def _add_generate(sub) -> None:
    g = sub.add_parser("generate", help="write the C kselftests and the Python reference")
    g.add_argument("--spec", action="append", help="spec name (repeatable; default: every spec)")
    g.add_argument("-o", "--output", default=None,
                   help="directory for the C tests (default: .cache/generated)")
    g.add_argument("--check", action="store_true",
                   help="fail when the committed reference/ modules drift from the specs")
    g.add_argument("--cap-binding", choices=["header", "patch"], default="header",
                   help="capability numbers for functional cases: the headers' (default) or the patch's")
    g.set_defaults(func=cmd_generate)


def _spec_names(args) -> list[str]:
    index = paths.series_index()
    return [paths.resolve_spec_name(n) for n in args.spec] if args.spec else list(index)


def cmd_generate(args) -> int:
    from .cases import plan
    from .render_c import CapBinding, write_c
    from .render_ref import module_name, render_reference
    from .specio import load_spec
    binding = CapBinding(args.cap_binding)
    out = Path(args.output) if args.output else paths.cache_dir() / "generated"
    drift = 0
    for name in _spec_names(args):
        spec = load_spec(paths.spec_path(name))
        ref_text = render_reference(spec)
        ref_path = paths.REFERENCE / f"{module_name(spec)}.py"
        if args.check:
            if not ref_path.exists() or ref_path.read_text() != ref_text:
                drift += 1
                print(f"drift: {ref_path.relative_to(paths.ROOT)} differs from what "
                      f"specs/{name}.yaml generates; run `kconform generate`")
            else:
                print(f"ok: {ref_path.relative_to(paths.ROOT)}")
            continue
        ref_path.write_text(ref_text)
        cases = plan(spec)
        c_path = write_c(spec, cases, out / name, binding)
        print(f"{name}: {len(cases)} cases -> {c_path}, {ref_path.relative_to(paths.ROOT)}")
    return 1 if drift else 0


# ------------------------------------------------------------------ run
def _add_run(sub) -> None:
    r = sub.add_parser("run", help="build, boot and cross-check a spec's tests on a real kernel")
    r.add_argument("--spec", default="v10", help="spec to check against (v10, the default, or v8)")
    r.add_argument("--kernel", default="debian-6.12",
                   help="debian-6.12 (default), debian-6.1, debian-6.12-16k, or a path to an arm64 Image")
    r.add_argument("--results", help="write the JSON report here")
    r.add_argument("--strict", action="store_true", help="exit 1 when any case diverges")
    r.add_argument("--cap-binding", choices=["header", "patch"], default="header",
                   help="which number functional cases enable a capability by: the kernel "
                        "headers' number for the patch's capability name (default; the "
                        "cap.number case still checks the patch's own number), or the patch's number")
    r.add_argument("--per-test-timeout", type=float, default=300.0)
    r.add_argument("--timeout", type=float, default=1200.0, help="whole-run timeout (seconds)")
    r.add_argument("--work-dir", help="where generated sources, binaries and logs go")
    r.add_argument("--quiet", action="store_true", help="no progress display")
    r.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from rich.console import Console

    from .cli import EXIT_BROKEN, EXIT_DIVERGES, EXIT_OK
    from .pipeline import RunRequest, check_failed, run
    from .render_c import CapBinding
    from .report import render_table, summary_line, write_json
    from .runner.errors import RunnerError

    console = Console(stderr=False)
    if not console.is_terminal:
        console = Console(stderr=False, width=160)
    req = RunRequest(spec=args.spec, kernel=args.kernel,
                     per_test_timeout=args.per_test_timeout, total_timeout=args.timeout,
                     binding=CapBinding(args.cap_binding),
                     work_dir=Path(args.work_dir) if args.work_dir else None)
    status = None if args.quiet or not console.is_terminal else console.status("building")

    def on_event(ev):
        if status is not None:
            status.update(f"[bold]{ev.message}")
        elif not args.quiet:
            print(f"  {ev.kind.value}: {ev.message}", file=sys.stderr)

    try:
        if status is not None:
            status.start()
        report = run(req, on_event)
    except RunnerError as e:
        print(f"kconform: error: {e}", file=sys.stderr)
        return EXIT_BROKEN
    finally:
        if status is not None:
            status.stop()
    render_table(report.spec.name, report.results, report.facts, console=console)
    if args.results:
        write_json(Path(args.results), report.spec.name, report.results, report.facts)
        print(f"results: {args.results}")
    btf = report.facts.extra.get("btf")
    if btf and btf.get("state") == "compared":
        for name, diffs in btf["structs"].items():
            if diffs:
                for d in diffs:
                    print(f"abi: kernel BTF vs spec: {d.replace('in the engine', 'in the spec').replace('in kernel BTF', 'in the kernel')}")
            else:
                print(f"abi: {name} matches the kernel's BTF")
    if report.broke:
        print(f"the run broke: {report.broke}")
    t = report.timings
    print(f"timings: generate {t['generate']:.2f} s, compile {t['compile']:.2f} s, "
          f"boot {t['boot']:.1f} s, execute {t['execute']:.1f} s, total {t['total']:.1f} s")
    if check_failed(report):
        return EXIT_BROKEN
    if args.strict and report.diverges:
        return EXIT_DIVERGES
    return EXIT_OK


# ------------------------------------------------------------------ abi
def _add_abi(sub) -> None:
    try:
        from .abi.cli import add_abi_arguments, main_abi
    except ImportError:
        return
    a = sub.add_parser("abi", help="check uAPI struct layouts against real compilers and headers")
    add_abi_arguments(a)
    a.set_defaults(func=main_abi)
