"""`kconform extract`: seeds to spec files."""
from __future__ import annotations

import difflib
from pathlib import Path

from generator import paths
from generator.errors import EXIT_OK, KconformError
from generator.model import FindingKind


def register(sub) -> None:
    e = sub.add_parser("extract", help="extract specs from the seeds into specs/*.yaml")
    e.add_argument("seed", nargs="?", help="a seed file (default: every bundled seed)")
    e.add_argument("--name", help="spec name for a seed given on the command line")
    e.add_argument("--spec", action="append", help="extract only this bundled spec (repeatable)")
    e.add_argument("--check", action="store_true", help="fail when committed specs drift")
    e.add_argument("-o", "--output", help="directory to write specs to (default specs/)")
    e.add_argument("--allow-partial", action="store_true",
                   help="write a spec even when damaged lines of its seed lose facts "
                        "(each is printed as `damage:`)")
    e.add_argument("--force", action="store_true",
                   help="overwrite a spec even when the new one loses elements of it")
    e.set_defaults(func=cmd_extract)


def _lossy(spec) -> list:
    """Findings whose damage loses a fact: a unit that does not parse, lines
    no hunk holds, a damaged `#define`."""
    from generator.model import FindingKind
    return [f for f in spec.findings if f.kind in (FindingKind.PARSE_ERROR, FindingKind.DAMAGE)]


def _would_lose(out: Path, spec) -> list[str]:
    """What replacing the spec at `out` with `spec` removes (elements of the
    old spec the new one lacks); [] when `out` is absent or unreadable."""
    from generator.diff.semantic import diff_specs
    from generator.errors import SpecError
    from generator.model.specio import load_spec
    if not out.is_file():
        return []
    try:
        old = load_spec(out)
    except SpecError:
        return []
    lost = [f"{c.kind.value}: {c.element}" for c in diff_specs(old, spec)
            if c.kind.value.endswith("removed")]
    old_guest, new_guest = {r.id for r in old.guest}, {r.id for r in spec.guest}
    lost += [f"guest rule removed: {g}" for g in sorted(old_guest - new_guest)]
    return lost


def _extract_targets(args) -> list[tuple[str, Path]]:
    index = paths.series_index()
    if args.seed:
        if not args.name:
            raise KconformError("a seed given on the command line needs --name NAME for its spec")
        return [(args.name, Path(args.seed))]
    names = [paths.resolve_spec_name(n) for n in args.spec] if args.spec else list(index)
    return [(n, paths.SEEDS / index[n]["seed"]) for n in names]


def cmd_extract(args) -> int:
    from generator.extract import extract_spec
    from generator.model.specio import dump_spec
    from generator.errors import EXIT_USAGE
    from generator.runner.cachefs import atomic_write
    drift = 0
    refused = 0
    for name, seed in _extract_targets(args):
        spec = extract_spec(seed, name)
        text = dump_spec(spec)
        lossy = _lossy(spec)
        for f in lossy:
            where = f"{f.source.seed}:{f.source.line}: "
            print(f"damage: {'' if f.message.startswith(where) else where}{f.message}")
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
        if lossy and not args.allow_partial:
            refused += 1
            print(f"{name}: not written: {len(lossy)} damaged line(s) of {seed.name} lose "
                  "facts (above); repair the seed, or pass --allow-partial to write what "
                  "was read")
            continue
        lost = _would_lose(out, spec)
        if lost and not args.force:
            refused += 1
            print(f"{name}: not written: {out} would lose {len(lost)} element(s):")
            for line in lost[:40]:
                print(f"  {line}")
            if len(lost) > 40:
                print(f"  ... ({len(lost) - 40} more)")
            print("  pass --force to replace it anyway")
            continue
        atomic_write(out, text)
        n_checks = sum(len(o.checks) for o in spec.operations)
        unmapped = [f for f in spec.findings if f.kind is FindingKind.UNMAPPED_PREDICATE]
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
    return EXIT_USAGE if refused else EXIT_OK
