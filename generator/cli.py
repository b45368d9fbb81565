"""`kconform`: the command-line entry point.

`main(argv)` takes its argument list so tests call it directly; expected
failures (`KconformError`) print one line naming the input and position and
return a non-zero status instead of a traceback.
"""
from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from . import paths
from .errors import KconformError

EXIT_OK = 0
EXIT_DIVERGES = 1      # --strict and something diverges
EXIT_USAGE = 2         # bad input or usage
EXIT_BROKEN = 3        # the run itself broke (panic, QEMU died, build failed)


def _extract_targets(args) -> list[tuple[str, Path]]:
    index = paths.series_index()
    if args.seed:
        if not args.name:
            raise KconformError("a seed given on the command line needs --name NAME for its spec")
        return [(args.name, Path(args.seed))]
    names = [paths.resolve_spec_name(n) for n in args.spec] if args.spec else list(index)
    return [(n, paths.SEEDS / index[n]["seed"]) for n in names]


def cmd_extract(args) -> int:
    from .extract import extract_spec
    from .specio import dump_spec
    drift = 0
    for name, seed in _extract_targets(args):
        spec = extract_spec(seed, name)
        text = dump_spec(spec)
        out = Path(args.output) / f"{name}.yaml" if args.output else paths.spec_path(name)
        if args.check:
            old = out.read_text() if out.exists() else ""
            if old != text:
                drift += 1
                diff = difflib.unified_diff(old.splitlines(), text.splitlines(),
                                            str(out), f"{name} (extracted now)", lineterm="", n=1)
                print(f"drift: {out} differs from what {seed.name} extracts to:")
                for i, line in enumerate(diff):
                    if i >= 40:
                        print("  ...")
                        break
                    print("  " + line)
            else:
                print(f"ok: {out.relative_to(paths.ROOT) if out.is_relative_to(paths.ROOT) else out}")
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        n_checks = sum(len(o.checks) for o in spec.operations)
        unmapped = [f for f in spec.findings if f.kind.value == "unmapped"]
        print(f"{name}: {seed.name} -> {out.relative_to(paths.ROOT) if out.is_relative_to(paths.ROOT) else out}: "
              f"{len(spec.structs)} struct(s), {len(spec.ioctls)} ioctl(s), "
              f"{len(spec.capabilities)} capability(ies), {len(spec.operations)} operation(s), "
              f"{n_checks} check(s), {len(spec.findings)} finding(s)"
              + (f", {len(unmapped)} unmapped predicate(s)" if unmapped else ""))
        for f in unmapped:
            print(f"  unmapped: {f.source}: {f.message}")
    if drift:
        print(f"{drift} spec(s) drifted; run `kconform extract` and review the diff")
        return 1
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kconform", description=(
        "Kernel-patch conformance: extract specs from a patch series, generate "
        "kselftests and a reference model, run them on a real arm64 kernel under "
        "QEMU, and cross-check every result."))
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("extract", help="extract specs from the seeds into specs/*.yaml")
    e.add_argument("seed", nargs="?", help="a seed file (default: every bundled seed)")
    e.add_argument("--name", help="spec name for a seed given on the command line")
    e.add_argument("--spec", action="append", help="extract only this bundled spec (repeatable)")
    e.add_argument("--check", action="store_true", help="fail when committed specs drift")
    e.add_argument("-o", "--output", help="directory to write specs to (default specs/)")
    e.set_defaults(func=cmd_extract)

    _add_optional_commands(sub)
    return p


def _add_optional_commands(sub) -> None:
    """Subcommands whose modules register themselves (generate, run, abi, diff)."""
    from . import commands
    commands.register(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KconformError as e:
        print(f"kconform: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kconform: interrupted", file=sys.stderr)
        return EXIT_BROKEN


if __name__ == "__main__":
    sys.exit(main())
