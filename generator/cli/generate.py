"""`kconform generate`: a spec's C test and reference module."""
from __future__ import annotations

from pathlib import Path

from generator import paths


def register(sub) -> None:
    g = sub.add_parser("generate", help="write the C kselftests and the Python reference")
    g.add_argument("--spec", action="append", help="spec name (repeatable; default: every spec)")
    g.add_argument("-o", "--output", default=None,
                   help="directory for the C tests (default: .cache/generated)")
    g.add_argument("--check", action="store_true",
                   help="fail when the committed reference/ modules drift from the specs")
    g.add_argument("--cap-binding", choices=["header", "patch"], default="header",
                   help="capability numbers for functional cases: the headers' (default) or the patch's")
    g.add_argument("--force", action="store_true",
                   help="remove a generated reference module whose spec now has nothing to run")
    from generator.cli.series import add_vocabulary_option
    add_vocabulary_option(g)
    g.set_defaults(func=cmd_generate)


def _spec_names(args) -> list[str]:
    index = paths.series_index()
    if not args.spec:
        return list(index)
    return [n if _is_spec_file(n) else paths.resolve_spec_name(n) for n in args.spec]


def _is_spec_file(name: str) -> bool:
    """A `--spec` naming a spec file (`path/x.yaml`) rather than a bundled spec."""
    p = Path(name)
    return p.suffix in (".yaml", ".yml") and p.is_file()


GENERATED_BANNER = "# do not edit, generated from "


def cmd_generate(args) -> int:
    """Every spec: its C test and reference module, or "nothing to run" with
    the reason when it has no operation userspace can call (then a stale
    generated reference module is kept and named, exit 2, unless --force
    removes it; `--check` counts one as drift)."""
    from generator.plan import nothing_to_run, plan_all
    from generator.render.c import CapBinding, fit_runtime, write_c
    from generator.render.reference import module_name, render_reference
    from generator.model.specio import load_spec
    from generator.cli.series import use_vocabularies
    use_vocabularies(args, [Path(n) for n in (args.spec or []) if _is_spec_file(n)])
    binding = CapBinding(args.cap_binding)
    out = Path(args.output) if args.output else paths.cache_dir() / "generated"
    drift = refused = 0
    for name in _spec_names(args):
        user_file = _is_spec_file(name)
        spec = load_spec(Path(name) if user_file else paths.spec_path(name))
        planned = plan_all(spec)
        cases, dropped = fit_runtime(spec, planned.cases)
        if user_file:          # a user's spec: its reference goes with its C test
            ref_path = out / spec.name / f"{module_name(spec)}.py"
            name = spec.name
        else:
            ref_path = paths.REFERENCE / f"{module_name(spec)}.py"
        shown = ref_path.relative_to(paths.ROOT) if ref_path.is_relative_to(paths.ROOT) else ref_path
        why = nothing_to_run(spec, planned.cases)
        stale = (why and ref_path.exists()
                 and ref_path.read_text().startswith(GENERATED_BANNER))
        if why:
            if args.check and stale:
                drift += 1
                print(f"drift: {shown} exists, but specs/{name}.yaml has nothing to run "
                      f"({why}); run `kconform generate` to remove it")
            elif stale and not args.force:
                refused += 1
                print(f"{name}: nothing to run: {why}; {shown} exists and was generated "
                      f"from an earlier specs/{name}.yaml: not removed (the spec may have lost "
                      "its operations by a damaged extraction); pass --force to remove it")
            else:
                if stale:
                    ref_path.unlink()
                    print(f"{name}: removed {shown} (--force)")
                print(f"{name}: nothing to run: {why}")
            continue
        ref_text = render_reference(spec)
        if args.check:
            if not ref_path.exists() or ref_path.read_text() != ref_text:
                drift += 1
                print(f"drift: {shown} differs from what "
                      f"specs/{name}.yaml generates; run `kconform generate`")
            else:
                print(f"ok: {shown}")
            continue
        from generator.run.hosts import split_by_host
        cases, hosted = split_by_host(cases)     # another host's cases: `kconform run` boots it
        c_path = write_c(spec, cases, out / name, binding)
        ref_path.write_text(ref_text)
        print(f"{name}: {len(cases)} cases -> {c_path}, {shown}")
        for host, group in hosted.items():
            print(f"  {len(group)} case(s) need host profile {host} (specs/host-features.yaml): "
                  f"not in {c_path.name}; `kconform run` boots that host for them")
        for u in planned.untested + dropped:
            print(f"  untested: {u.source}: {u.op} {u.check}: {u.reason}")
    from generator.render.c import STEPS_HEADER, steps_header
    shown = STEPS_HEADER.relative_to(paths.ROOT)
    if STEPS_HEADER.read_text() != steps_header():
        if args.check:
            drift += 1
            print(f"drift: {shown} differs from generator/model/case.py; run `kconform generate`")
        else:
            STEPS_HEADER.write_text(steps_header())
            print(f"{shown}: rewritten from generator/model/case.py")
    elif args.check:
        print(f"ok: {shown}")
    if refused:
        return 2
    return 1 if drift else 0
