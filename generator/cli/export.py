"""`kconform export kselftest`: a self-judging KVM selftest per spec.

    kconform export kselftest SPEC|SERIES... -o DIR [--tree DIR]
                              [--no-build] [--boot] [--kernel K]

SPEC is a spec name (or suffix, e.g. `v10`) or a specs/*.yaml file;
SERIES is a mail file of a series (extracted on the fly, its reference
model rendered in memory).  DIR gets, per spec, `<name>.c` and
`<name>.Makefile.patch`; the test is built in Debian's linux-source-6.12
(fetched once into the cache) or in `--tree`, where the C file and the
Makefile line are installed.  `--boot` boots the kernel once with the
exported binaries and kconform's own tests and fails (exit 1) when a
case's KTAP result does not match kconform's verdict.
"""
from __future__ import annotations

import sys
import types
from pathlib import Path

from generator.errors import EXIT_DIVERGES, EXIT_OK, KconformError


def register(sub) -> None:
    e = sub.add_parser("export", help="export planned cases for the kernel tree")
    kinds = e.add_subparsers(dest="kind", required=True)
    k = kinds.add_parser("kselftest", help="a KVM selftest (tools/testing/selftests/kvm) per spec")
    k.add_argument("spec", nargs="+", metavar="SPEC|SERIES",
                   help="spec name, specs/*.yaml file, or a series' mail file")
    k.add_argument("-o", "--output", required=True, help="directory for the C files and patches")
    k.add_argument("--tree", help="your kernel tree (default: Debian's linux-source-6.12, cached)")
    k.add_argument("--no-build", action="store_true", help="write the files only")
    k.add_argument("--boot", action="store_true",
                   help="boot --kernel with the exported binaries and kconform's own tests; "
                        "exit 1 when a case's KTAP result disagrees with kconform's verdict")
    k.add_argument("--kernel", default="debian-6.12", help="kernel for --boot (default debian-6.12)")
    k.set_defaults(func=cmd_export)


def load(arg: str):
    """(spec, from_series): a spec by name or file, or a series' mail file
    extracted now."""
    from generator.model.specio import load_spec
    from generator.run.pipeline import load_named_spec
    p = Path(arg)
    if p.is_file() and p.suffix not in (".yaml", ".yml"):
        from generator.extract import extract_spec
        name = "".join(ch if ch.isalnum() else "-" for ch in p.stem.lower()).strip("-")
        try:
            return extract_spec(p, name), True
        except ValueError as e:          # a model value the extraction cannot hold
            raise KconformError(f"{p}: cannot be extracted: {e}") from None
    if p.is_file():
        return load_spec(p), False
    return load_named_spec(arg), False


def _memory_reference(spec):
    """The reference module of a spec with none under reference/ (a series
    given on the command line): rendered and loaded in memory."""
    from generator.render.reference import render_reference
    module = types.ModuleType(f"reference.{spec.name.replace('-', '_')}")
    exec(compile(render_reference(spec), f"<reference of {spec.name}>", "exec"),
         module.__dict__)
    return module


def tree_of(args):
    from generator.runner.source import resolve_source, user_tree
    log = (lambda m: print(m, file=sys.stderr))
    return user_tree(Path(args.tree), log) if args.tree else resolve_source(log=log)


def cmd_export(args) -> int:
    from generator.export.kselftest import render
    from generator.export.tree import build, makefile_patch
    from generator.plan import nothing_to_run, plan
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    files, refs, modules = [], [], {}
    for arg in args.spec:
        spec, from_series = load(arg)
        cases = plan(spec)
        why = nothing_to_run(spec, cases)
        if why:
            print(f"{spec.name}: nothing to export: {why}")
            continue
        module = _memory_reference(spec) if from_series else None
        ref = arg
        if from_series:                  # the run of --boot loads it by file
            from generator.model.specio import dump_spec
            ref = str(out / f"{spec.name}.yaml")
            Path(ref).write_text(dump_spec(spec))
            modules[spec.name] = module
        refs.append(ref)
        f = render(spec, cases, module=module)
        (out / f"{f.name}.c").write_text(f.text)
        files.append(f)
        print(f"{spec.name}: {len(f.exported)} case(s) -> {out / (f.name + '.c')}"
              + (f"; {len(f.not_exported)} not exported ({f.not_exported[0].reason})"
                 if f.not_exported else ""))
    if not files:
        raise KconformError("nothing to export from " + ", ".join(args.spec))
    if args.no_build and not args.tree:
        return EXIT_OK
    tree = tree_of(args)
    for f in files:
        p = makefile_patch(tree, f.name)
        (out / f"{f.name}.Makefile.patch").write_text(p.diff)
        print(f"{f.name}: {p.path}: +{p.line} -> {out / (f.name + '.Makefile.patch')}")
    if args.no_build:
        return EXIT_OK
    if args.boot:
        return _boot(args, files, tree, refs, modules)
    for b in build(files, tree, log=lambda m: print(m, file=sys.stderr)):
        print(f"{b.name}: built {b.binary}" + (" (cached)" if b.cached else
                                                f" in {b.seconds:.1f} s"))
    return EXIT_OK


def run_kselftest(req, targets) -> int:
    """`kconform run --kselftest`: the run's specs, exported and checked on
    each QEMU kernel of the run (exit 1 on a disagreement, 3 when a run
    broke)."""
    if req.target is not None:
        raise KconformError("--kselftest boots the exported tests under QEMU; drop --target")
    tree = tree_of(types.SimpleNamespace(tree=None))
    status = EXIT_OK
    for t in targets:
        rc = _boot_report(req.specs, t.label, tree, {}, req.work_dir)
        status = max(status, rc)
    return status


def _boot(args, files, tree, refs, modules) -> int:
    return _boot_report(refs, args.kernel, tree, modules, None)


def _boot_report(refs, kernel, tree, modules, work_dir) -> int:
    from generator.errors import EXIT_BROKEN
    from generator.export.check import check
    report = check(list(refs), kernel, tree, modules=modules, work_dir=work_dir,
                   log=lambda m: print(m, file=sys.stderr))
    print(f"on {report.kernel} (page size {report.page_size}):")
    for s in report.specs:
        from generator.runner.ktap import KtapStatus
        print(f"  {s.spec}: {len(s.cases)} cases exported ({s.not_exported} not), "
              f"ok {s.count(KtapStatus.PASS)}, not ok {s.count(KtapStatus.FAIL)}, "
              f"skip {s.count(KtapStatus.SKIP)}; agree with kconform {s.agreeing}/"
              f"{len(s.cases)}")
        for c in s.cases:
            if c.agreement.value != "agree":
                print(f"    {c.id}: kconform {c.verdict.value}, KTAP "
                      f"{c.status.value if c.status else 'none'} ({c.detail})")
    if report.broke:
        print(f"  the run broke: {report.broke}")
        return EXIT_BROKEN
    return EXIT_OK if report.agree else EXIT_DIVERGES

