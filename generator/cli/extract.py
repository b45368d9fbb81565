"""`kconform extract`: seeds to spec files."""
from __future__ import annotations

import difflib
from pathlib import Path

from generator import paths
from generator.cli.series import add_vocabulary_option, spec_name, summary, use_vocabularies
from generator.errors import EXIT_OK


def register(sub) -> None:
    e = sub.add_parser("extract", help="extract specs from the seeds into specs/*.yaml")
    e.add_argument("seed", nargs="?", help="a series: a mail, an mbox, a git format-patch "
                   "file or a directory of them (default: every bundled seed)")
    e.add_argument("--name", help="spec name for a series given on the command line "
                   "(default: from its subject and version)")
    e.add_argument("--spec", action="append", help="extract only this bundled spec (repeatable)")
    e.add_argument("--check", action="store_true", help="fail when committed specs drift")
    e.add_argument("-o", "--output", help="directory to write specs to (default specs/ for "
                   "the bundled seeds, the current directory for a series you give)")
    add_vocabulary_option(e)
    e.set_defaults(func=cmd_extract)


def _extract_targets(args) -> list[tuple[str, Path]]:
    index = paths.series_index()
    if args.seed:
        return [(spec_name(Path(args.seed), args.name), Path(args.seed))]
    names = [paths.resolve_spec_name(n) for n in args.spec] if args.spec else list(index)
    return [(n, paths.SEEDS / index[n]["seed"]) for n in names]


def cmd_extract(args) -> int:
    from generator.extract import extract_spec
    from generator.model.specio import dump_spec
    drift = 0
    use_vocabularies(args, [Path(args.seed)] if args.seed else [])
    for name, seed in _extract_targets(args):
        spec = extract_spec(seed, name)
        text = dump_spec(spec)
        if args.output:
            out = Path(args.output) / f"{name}.yaml"
        elif args.seed:                  # a user's series: never into the checkout's specs/
            out = Path.cwd() / f"{name}.yaml"
        else:
            out = paths.spec_path(name)
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
        for line in summary(name, seed, out, spec):
            print(line)
    if drift:
        print(f"{drift} spec(s) drifted; run `kconform extract` and review the diff")
        return 1
    return EXIT_OK
