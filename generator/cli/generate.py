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
    g.set_defaults(func=cmd_generate)


def _spec_names(args) -> list[str]:
    index = paths.series_index()
    return [paths.resolve_spec_name(n) for n in args.spec] if args.spec else list(index)


GENERATED_BANNER = "# do not edit, generated from "


def cmd_generate(args) -> int:
    """Every spec: its C test and reference module, or "nothing to run" with
    the reason when it has no operation userspace can call (then a stale
    generated reference module is kept and named, exit 2, unless --force
    removes it; `--check` counts one as drift)."""
    from generator.plan import nothing_to_run, plan
    from generator.render.c import CapBinding, write_c
    from generator.render.reference import module_name, render_reference
    from generator.model.specio import load_spec
    binding = CapBinding(args.cap_binding)
    out = Path(args.output) if args.output else paths.cache_dir() / "generated"
    drift = refused = 0
    for name in _spec_names(args):
        spec = load_spec(paths.spec_path(name))
        cases = plan(spec)
        ref_path = paths.REFERENCE / f"{module_name(spec)}.py"
        shown = ref_path.relative_to(paths.ROOT) if ref_path.is_relative_to(paths.ROOT) else ref_path
        why = nothing_to_run(spec, cases)
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
        ref_path.write_text(ref_text)
        c_path = write_c(spec, cases, out / name, binding)
        print(f"{name}: {len(cases)} cases -> {c_path}, {shown}")
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
