"""`kconform run` and `kconform baseline`: build, boot and cross-check."""
from __future__ import annotations

import dataclasses

import os
import sys
import threading
from pathlib import Path
from typing import Optional

from generator import paths
from generator.errors import EXIT_BASELINE, EXIT_BROKEN, EXIT_DIVERGES, EXIT_OK, EXIT_USAGE


def _add_run_options(r, *, ci: bool) -> None:
    """Options `run` and `baseline` share; `ci` adds the report outputs."""
    from generator.cli.series import add_vocabulary_option
    if ci:
        r.add_argument("series", nargs="*", metavar="SERIES",
                       help="a patch series to check: a mail, an mbox, a git format-patch "
                            "file or a directory of them (each one is extracted into the work "
                            "directory and checked; the first is the primary spec)")
        r.add_argument("--name", help="spec name for the one SERIES given (default: from its "
                       "subject and version)")
    add_vocabulary_option(r)
    r.add_argument("--spec", action="append", default=None, metavar="SPEC",
                   help="spec to check against (repeatable, the first is the primary): "
                        "default mte-v10 with lock-memslot-rfc-v5 and mmio-guard-v2 in the "
                        "same boot (or the baseline's specs); `--spec v8` alone runs only v8")
    r.add_argument("--kernel", action="append", metavar="K[,K...]",
                   help="kernels to boot, comma-separated and/or repeated: debian-6.12 "
                        "(default), debian-6.1, debian-6.12-16k, a Debian package name "
                        "(linux-image-...-arm64[-16k]-unsigned) or a path to an arm64 Image")
    r.add_argument("--matrix", action="store_true",
                   help="the default matrix: debian-6.1, debian-6.12 and debian-6.12-16k "
                        "(with --kernel: those too)")
    r.add_argument("--target", default="qemu", metavar="qemu|local|ssh://[user@]HOST[:PORT]",
                   help="where the tests run: QEMU booting each --kernel (default), this "
                        "machine (arm64 with /dev/kvm), or an arm64 machine over ssh")
    r.add_argument("--ssh-identity", metavar="FILE", help="private key for --target ssh://")
    r.add_argument("--ssh-option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra ssh -o option for --target ssh:// (repeatable)")
    r.add_argument("--jobs", type=int, default=None,
                   help="kernels run at once (default: the machine's cores)")
    r.add_argument("--cap-binding", choices=["header", "patch"], default=None,
                   help="which number functional cases enable a capability by: the kernel "
                        "headers' number for the patch's capability name (default; the "
                        "cap.number case still checks the patch's own number), or the patch's number")
    r.add_argument("--merged", nargs="?", const="", default=None, metavar="TREE",
                   help="explain each divergence by the code that merged: a kernel source tree, "
                        "or a kernel alias whose Debian source is fetched (default: the kernel's)")
    r.add_argument("--oracle", choices=["posted", "merged"], default="posted",
                   help="judge the cases against the series' model (posted, the default) or the "
                        "model of the tree's code (merged; reads the tree as --merged does)")
    r.add_argument("--per-test-timeout", type=float, default=300.0)
    r.add_argument("--timeout", type=float, default=1200.0, help="whole-run timeout per kernel (seconds)")
    r.add_argument("--work-dir", help="where everything made for the run goes: the specs "
                   "extracted from SERIES, generated sources, binaries, the model judged with "
                   "and logs (default: a new directory of this run under $KCONFORM_CACHE/runs, "
                   "the specs of SERIES under $KCONFORM_CACHE/series; never the checkout)")
    r.add_argument("--kernel-headers", metavar="DIR",
                   help="bind capability names with these uAPI headers (make headers_install "
                        "output) instead of the Debian kernel's linux-headers package")
    r.add_argument("--kernel-src", metavar="DIR",
                   help="bind capability names with this kernel source tree's include/uapi")
    r.add_argument("--quiet", action="store_true", help="no progress display")
    r.add_argument("--arch", action="append", default=None, metavar="A[,A...]",
                   help="architectures booted, comma-separated and/or repeated: arm64 (every "
                        "case that is not another architecture's code) and x86_64 (cases of "
                        "arch/x86 code, on the same kernel alias for amd64); default both; "
                        "--arch arm64 makes x86 code's cases platform skips")
    r.add_argument("--vcpus", type=int, default=None, metavar="N",
                   help="guest vCPUs (default 1: fastest measured on two host cores); the "
                        "tests run in one lane per vCPU; each count has its own saved guest")
    r.add_argument("--boot", action="store_true",
                   help="boot each kernel with the tests in its initramfs instead of "
                        "restoring its saved guest (the snapshot cache)")
    if ci:
        r.add_argument("--results", help="write the JSON report here")
        r.add_argument("--markdown", metavar="FILE",
                       help="write a markdown report (mailing-list reply, CI summary)")
        r.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
        r.add_argument("--ktap", metavar="FILE",
                       help="write the test binaries' raw KTAP here, one subtest per kernel")
        r.add_argument("--baseline", metavar="FILE",
                       help="CI mode: print only verdicts that differ from this baseline and "
                            f"exit {EXIT_BASELINE} if any does; its spec, binding and kernels "
                            "are the defaults")
        r.add_argument("--strict", action="store_true", help="exit 1 when any case diverges or any check is untested")
        r.add_argument("--kselftest", action="store_true",
                       help="also export each spec as a KVM selftest, build it in Debian's "
                            "linux-source-6.12 and run it in the same boot; exit 1 when a "
                            "case's KTAP result disagrees with kconform's verdict "
                            "(generator.cli.export)")


def register(sub) -> None:
    r = sub.add_parser("run", help="build, boot and cross-check a spec's tests on one or more kernels")
    _add_run_options(r, ci=True)
    r.set_defaults(func=cmd_run)
    b = sub.add_parser("baseline", help="record the current verdicts as the accepted baseline")
    _add_run_options(b, ci=False)
    b.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="baseline file to write (an existing one gives the default kernels "
                        "and keeps its reviewed reasons)")
    b.set_defaults(func=cmd_baseline)


def _plan(args, baseline=None, recording=False):
    """(RunRequest, targets) from the options, falling back on the baseline's
    specs, binding and kernels (`recording` a new baseline over an old one,
    --spec may name other specs).  Raises KconformError on bad usage."""
    from generator.errors import KconformError
    from generator.run.matrix import parse_kernels
    from generator.run.pipeline import RunRequest
    from generator.render.c import CapBinding
    from generator.runner.kernels import DEFAULT_KERNEL
    from generator.run.targets import QemuTarget, parse_target
    from generator.runner.qemu import AARCH64

    from generator.run.pipeline import DEFAULT_SPECS
    specs = [n if n.endswith((".yaml", ".yml")) else paths.resolve_spec_name(n)
             for n in (args.spec or (baseline.specs if baseline else DEFAULT_SPECS))]
    if len(set(specs)) != len(specs):
        raise KconformError(f"--spec names a spec twice ({', '.join(specs)}); give each once")
    if baseline is not None and args.spec and specs != baseline.specs and not recording:
        raise KconformError(f"--spec {' '.join(args.spec)} but the baseline {baseline.path} is "
                            f"for {' '.join(baseline.specs)}; drop --spec or use that "
                            "baseline's specs")
    binding = args.cap_binding or (baseline.binding if baseline and baseline.binding else "header")
    if baseline is not None and baseline.binding and binding != baseline.binding:
        raise KconformError(f"--cap-binding {binding} but the baseline {baseline.path} was "
                            f"recorded with {baseline.binding}")
    if args.jobs is not None and args.jobs < 1:
        raise KconformError(f"--jobs {args.jobs}: give 1 or more")
    target = parse_target(args.target, identity=args.ssh_identity, options=args.ssh_option)
    kernels = parse_kernels(args.kernel, matrix=args.matrix)
    if target is not None:
        if kernels:
            raise KconformError(f"--kernel/--matrix choose what QEMU boots; with --target "
                                f"{args.target} the tests run on that machine's own kernel")
        target.resolve()          # refuse a host or client that cannot work, before building
        targets = [target]
    else:
        kernels = kernels or (list(baseline.kernels) if baseline else [DEFAULT_KERNEL])
        config = AARCH64
        if args.vcpus is not None:
            if not 1 <= args.vcpus <= 8:
                raise KconformError(f"--vcpus {args.vcpus}: give 1 to 8")
            config = dataclasses.replace(AARCH64, smp=args.vcpus)
        targets = [QemuTarget(k, config, restore=not args.boot) for k in kernels]
    req = RunRequest(spec=specs[0], companions=tuple(specs[1:]), kernel=targets[0].label,
                     per_test_timeout=args.per_test_timeout, total_timeout=args.timeout,
                     binding=CapBinding(binding),
                     work_dir=Path(args.work_dir) if args.work_dir else None,
                     target=target, merged=_merged_tree(args, targets[0].label),
                     oracle=getattr(args, "oracle", "posted"),
                     kernel_headers=Path(args.kernel_headers) if args.kernel_headers else None,
                     kernel_src=Path(args.kernel_src) if args.kernel_src else None,
                     arches=parse_arches(getattr(args, "arch", None)))
    return req, targets


def parse_arches(values) -> Optional[tuple]:
    """--arch A[,A...] (repeatable) as architecture names, None when not
    given; a name that is no architecture kconform boots is a clear error."""
    if not values:
        return None
    from generator.run.arches import enabled
    names = tuple(n.strip() for v in values for n in v.split(",") if n.strip())
    return tuple(a.name for a in enabled(names))


class Signals:
    """SIGINT and SIGTERM while a run is on: the first stops the running
    kernels (their QEMUs are killed within a fraction of a second), and the
    run goes on to write every report with the results seen and to remove
    its temporary files; a second says so again; a third exits at once
    (status 3; QEMU dies with its parent).  Installed only in the main
    thread (signal handlers cannot be set elsewhere)."""

    def __init__(self):
        self.cancel = threading.Event()
        self.count = 0
        self.names: list[str] = []
        self._old: dict = {}

    def _handle(self, signum, frame) -> None:
        import signal as sig
        self.count += 1
        name = sig.Signals(signum).name
        self.names.append(name)
        self.cancel.set()
        if self.count >= 3:
            print(f"kconform: {name} a third time: exiting at once, reports not written",
                  file=sys.stderr, flush=True)
            os._exit(EXIT_BROKEN)
        print(f"kconform: {name}: stopping; every report is written with the results seen"
              + (" (once more to exit at once)" if self.count == 2 else ""),
              file=sys.stderr, flush=True)

    def __enter__(self):
        import signal as sig
        if threading.current_thread() is threading.main_thread():
            for s in (sig.SIGINT, sig.SIGTERM):
                self._old[s] = sig.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        import signal as sig
        for s, old in self._old.items():
            sig.signal(s, old)
        return False


def _merged_tree(args, kernel: str):
    """--merged TREE, or the booted kernel's alias for a bare --merged (and
    for --oracle merged without --merged)."""
    tree = getattr(args, "merged", None)
    if tree is None and getattr(args, "oracle", "posted") != "merged":
        return None
    from generator.errors import KconformError
    from generator.run.matrix import parse_kernels
    kernels = parse_kernels(getattr(args, "kernel", None),
                            matrix=getattr(args, "matrix", False)) or []
    if not tree and len(kernels) > 1:
        raise KconformError("--merged/--oracle merged on several kernels needs --merged TREE "
                            "(one source tree for all of them); run one kernel at a time to "
                            "read each kernel's own source")
    return tree or kernel


def _execute(args, req, targets, cancel=None):
    """Run the matrix with a progress display; returns the MatrixReport.
    Warnings (a rejected snapshot, a fallback on a boot) print even with
    --quiet."""
    from rich.console import Console
    from generator.runner.run import EventKind

    from generator.run.matrix import run_matrix

    console = Console(stderr=True)
    status = None if args.quiet or not console.is_terminal else console.status("building")
    latest: dict[str, str] = {}
    lock = threading.Lock()

    def on_event(column, ev):
        text = ev if isinstance(ev, str) else ev.message
        with lock:
            latest[column] = text
            if status is not None:
                status.update(" | ".join(f"[bold]{k}[/]: {v}" for k, v in latest.items()))
            elif not args.quiet or getattr(ev, "kind", None) is EventKind.WARNING:
                kind = "" if isinstance(ev, str) else f"{ev.kind.value}: "
                prefix = f"[{column}] " if len(targets) > 1 else ""
                print(f"  {prefix}{kind}{text}", file=sys.stderr)

    try:
        if status is not None:
            status.start()
        return run_matrix(req, targets, jobs=args.jobs, on_event=on_event, cancel=cancel)
    finally:
        if status is not None:
            status.stop()


def _out_console():
    from rich.console import Console
    console = Console(stderr=False)
    if not console.is_terminal:
        console = Console(stderr=False, width=200)
    return console


def _exit_status(m, *, strict: bool, changes) -> int:
    from generator.model import Verdict
    from generator.run.matrix import ColumnState
    if m.interrupted or any(c.state in (ColumnState.BROKE, ColumnState.FAILED,
                                        ColumnState.INTERRUPTED, ColumnState.NOT_RUN)
                            for c in m.columns):
        return EXIT_BROKEN
    if any(c.state is ColumnState.UNRESOLVED for c in m.columns):
        return EXIT_USAGE
    if changes is not None:
        return EXIT_BASELINE if changes else EXIT_OK
    if strict and any(r.verdict in (Verdict.DIVERGES, Verdict.UNTESTED)
                      for c in m.columns for r in c.results):
        return EXIT_DIVERGES
    return EXIT_OK


def _print_single(m, console) -> None:
    """One kernel: a table per spec, BTF notes and timings."""
    from generator.report.table import render_report
    col = m.columns[0]
    report = col.report
    render_report(report.spec.name, report.results, report.facts, console=console)
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
    for name, h in (report.facts.extra.get("hosts") or {}).items():
        print(_host_line(name, h))
    t = report.timings
    guest = report.facts.extra.get("guest")
    start = (f"restore {t['boot']:.1f} s" if guest == "restored"
             else f"boot {t['boot']:.1f} s" + (" (guest saved)" if guest == "booted, saved" else ""))
    print(f"timings: generate {t['generate']:.2f} s, compile {t['compile']:.2f} s, "
          f"{start}, execute {t['execute']:.1f} s, total {m.timings['wall']:.1f} s")


def _host_line(name: str, h: dict) -> str:
    """One line per extra host profile the run booted (generator.run.hosts)."""
    where = (f"-cpu {h['cpu']} -M {h['machine']}" + (f" -smp {h['smp']}" if h.get("smp") else "")
             + (" -dtb <transformed>" if h.get("dtb") else "")) if h.get("cpu") else "not QEMU"
    if h.get("untested"):
        return f"host {name} ({where}): {h['cases']} case(s) untested: {h['untested']}"
    boot = h.get("boot")
    how = "restore" if h.get("guest") == "restored" else "boot"
    has = "; ".join(([f"lacks {', '.join(h['lacks'])}"] if h.get("lacks") else [])
                    + ([f"adds {', '.join(h['adds'])}"] if h.get("adds") else []))
    return (f"host {name} ({where}; {has}): {h['cases']} case(s), "
            f"{h.get('status')}" + (f", {how} {boot:.1f} s" if boot is not None else ""))


REPORT_OPTIONS = (("results", "--results"), ("markdown", "--markdown"), ("junit", "--junit"),
                  ("ktap", "--ktap"))


def _inputs(args, req) -> dict[Path, str]:
    """Files the run reads, which no report may overwrite: resolved path ->
    what it is."""
    from generator.run.pipeline import spec_file
    out: dict[Path, str] = {}
    if getattr(args, "baseline", None):
        out[Path(args.baseline).resolve()] = "the --baseline file"
    index = paths.series_index()
    for name in req.specs:
        try:
            f = spec_file(name)
        except Exception:                      # named badly: load reports it
            continue
        out[f.resolve()] = f"the spec {f.name}"
        seed = (index.get(f.stem) or {}).get("seed")
        if seed:
            out[(paths.SEEDS / seed).resolve()] = f"the seed {seed}"
    out[(paths.SPECS / "vocabulary.yaml").resolve()] = "the vocabulary"
    return out


def check_outputs(pairs, inputs: dict[Path, str]) -> None:
    """Every report path can be written, names no input and no other report:
    checked before anything is built or booted.  `pairs` is (option, value)."""
    import tempfile

    from generator.errors import KconformError
    seen: dict[Path, str] = {}
    for option, value in pairs:
        if not value:
            continue
        p = Path(value)
        r = p.resolve()
        if r in inputs:
            raise KconformError(f"{option} {value} is {inputs[r]}, an input of this run; "
                                "give the report another path")
        if r in seen:
            raise KconformError(f"{option} {value} is also {seen[r]}; give each report its "
                                "own path")
        seen[r] = option
        if p.is_dir():
            raise KconformError(f"{option} {value} is a directory; give a file path")
        if p.exists() and not p.is_file():
            raise KconformError(f"{option} {value} is not a regular file; give a file path")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
            os.close(fd)
            os.unlink(tmp)
            if p.exists() and not os.access(p, os.W_OK):
                raise PermissionError(13, "Permission denied")
        except OSError as e:
            raise KconformError(f"{option} {value}: cannot write there ({e.strerror}); "
                                "give a writable path") from None


def _load_specs(req) -> None:
    """Every spec of the run loads and validates (a SpecError names the file
    and line) before anything is written, built or booted."""
    from generator.run.pipeline import load_named_spec
    for name in req.specs:
        load_named_spec(name)


def _check_work(args) -> None:
    """The cache (or --work-dir) can take this run's files."""
    from generator.runner.cachefs import check_writable
    if args.work_dir:
        check_writable(Path(args.work_dir), "--work-dir")
    else:
        check_writable(paths.cache_dir_path(), "the cache (KCONFORM_CACHE)")


def _write_reports(writers) -> list[str]:
    """Run every (label, path, write) even when one fails; print what was
    written; return the failures."""
    from generator.errors import KconformError
    failed = []
    for label, path, write in writers:
        try:
            write()
        except (OSError, KconformError) as e:
            failed.append(f"{label} {path}: {getattr(e, 'strerror', None) or e}")
            continue
        print(f"{label}: {path}")
    for f in failed:
        print(f"kconform: error: not written: {f}", file=sys.stderr)
    return failed


def cmd_run(args) -> int:
    from generator.report import baseline as bl

    base = bl.load(Path(args.baseline)) if args.baseline else None
    _extract_series(args)
    req, targets = _plan(args, base)
    _load_specs(req)
    check_outputs([(opt, getattr(args, dest)) for dest, opt in REPORT_OPTIONS],
                  _inputs(args, req))
    _check_work(args)
    if args.kselftest:
        from generator.cli.export import run_kselftest
        return run_kselftest(req, targets)
    with Signals() as signals:
        return _run_and_report(args, req, targets, base, signals)


def _run_and_report(args, req, targets, base, signals) -> int:
    from generator.report import baseline as bl
    from generator.report import ci
    from generator.report import matrix as matrix_report
    from generator.report.table import write_json

    from generator.errors import KconformError
    try:
        m = _execute(args, req, targets, cancel=signals.cancel)
    except KconformError as e:
        if not signals.count:
            raise
        # the signal reached the compilers too: that is the interruption,
        # not a build error of the spec
        print(f"kconform: interrupted ({', '.join(signals.names)}) before any kernel ran; "
              f"no report written ({e.__class__.__name__}: {str(e).splitlines()[0][:120]})",
              file=sys.stderr)
        return EXIT_BROKEN
    if signals.count:
        m.interrupted = True
    single = len(m.columns) == 1
    col = m.columns[0]
    found = bl.compare(base, m) if base is not None else []
    changes = [c.line() for c in found if c.fails] if base is not None else None
    notes = [c.line() for c in found if not c.fails]
    console = _out_console()
    for note in m.notes:
        print(f"note: {note}", file=sys.stderr)
    if single and col.report is None:
        print(f"kconform: error: {col.error or col.state.value}", file=sys.stderr)
    elif changes is not None:
        for line in changes:
            print(line)
        for line in notes:
            print(f"note: {line}")
        n = sum(len(c.results) for c in m.columns)
        print(f"baseline {args.baseline}: " + (
            f"{len(changes)} verdict(s) differ" if changes else
            f"all {n} verdicts on {len(m.columns)} kernel(s) match"))
    elif single:
        _print_single(m, console)
    else:
        matrix_report.render_matrix(m, console=console)
        print(f"timings: generate {m.timings['generate']:.2f} s, compile "
              f"{m.timings['compile']:.2f} s, {len(m.columns)} kernels in "
              f"{m.timings['wall']:.1f} s (jobs {args.jobs or os.cpu_count()})")
    extra = ({"file": args.baseline, "changes": changes, "notes": notes}
             if changes is not None else None)

    def results():
        if single and col.report is not None:
            write_json(Path(args.results), m.spec.name, col.results, col.report.facts,
                       {"baseline": extra} if extra is not None else None)
        else:                    # several kernels, or one that never ran: every column's state
            matrix_report.write_json(Path(args.results), m, extra)

    def markdown():
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(matrix_report.to_markdown(m, changes, args.baseline))

    writers = [(label, path, write) for label, path, write in (
        ("results", args.results, results),
        ("markdown", args.markdown, markdown),
        ("junit", args.junit, lambda: ci.write_junit(Path(args.junit), m, base, strict=args.strict)),
        ("ktap", args.ktap, lambda: ci.write_ktap(Path(args.ktap), m))) if path]
    failed = _write_reports(writers)
    status = _exit_status(m, strict=args.strict, changes=changes)
    return max(status, EXIT_BROKEN) if failed else status


def _extract_series(args) -> None:
    """`kconform run SERIES...`: extract each series into the work directory
    (`--work-dir`, else `<cache>/series`; never the checkout) and check those
    specs; the user's vocabulary files are set first."""
    from generator.cli.series import extract_to, spec_name, use_vocabularies
    from generator.errors import KconformError
    series = [Path(s) for s in getattr(args, "series", None) or []]
    files = use_vocabularies(args, series)
    for f in files:
        print(f"vocabulary: {f}")
    if not series:
        return
    if args.spec:
        raise KconformError("give either SERIES or --spec, not both")
    _check_work(args)                 # the specs go there: writable before any work
    if args.name and len(series) > 1:
        raise KconformError(f"--name names one spec, but {len(series)} series are given")
    root = (Path(args.work_dir) if args.work_dir else paths.cache_dir() / "series")
    args.spec = []
    for s in series:
        name = spec_name(s, args.name)
        out = root / "specs" / f"{name}.yaml"
        if str(out) in args.spec:
            raise KconformError(f"{s}: gives the spec name {name} a second time; pass --name")
        _, lines = extract_to(s, name, out)
        for line in lines:
            print(line)
        args.spec.append(str(out))


def cmd_baseline(args) -> int:
    from generator.report import baseline as bl
    from generator.report.matrix import column_summary, problems

    out = Path(args.output)
    previous = bl.load(out) if out.exists() else None
    _extract_series(args)
    req, targets = _plan(args, previous, recording=True)
    _load_specs(req)
    check_outputs([("-o", args.output)], _inputs(args, req))
    _check_work(args)
    with Signals() as signals:
        m = _execute(args, req, targets, cancel=signals.cancel)
    if signals.count:
        m.interrupted = True
    for c in m.columns:
        print(column_summary(c))
    for line in problems(m):
        print(line)
    status = _exit_status(m, strict=False, changes=None)
    if status != EXIT_OK:
        print(f"kconform: no baseline written: not every kernel completed", file=sys.stderr)
        return status
    kernels = " ".join(f"--kernel {c.name}" for c in m.columns)
    specs = " ".join(f"--spec {name}" for name in m.spec_names)
    text = bl.record(m, previous, command=f"kconform baseline {specs} {kernels} "
                                          f"--cap-binding {req.binding.value} -o {out.name}")
    from generator.runner.cachefs import atomic_write
    atomic_write(out, text)
    n = len(bl.parse(text, str(out)).entries)
    print(f"baseline: {out}: {n} accepted non-conforming verdict(s) on {len(m.columns)} "
          f"kernel(s); review the reasons before committing")
    return EXIT_OK
