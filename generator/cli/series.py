"""What `extract` and `run` share for a user's series: the spec name from
the series (ingest.series_name, `--name` overrides), the user's vocabulary
files (`--vocabulary FILE`, or a vocabulary.yaml / kconform-vocabulary.yaml
next to the series or in the current directory) and the extract summary
with a ready-to-paste vocabulary stub for what is unmapped."""
from __future__ import annotations

from pathlib import Path

from generator import paths
from generator.errors import KconformError


def add_vocabulary_option(p) -> None:
    p.add_argument("--vocabulary", action="append", default=[], metavar="FILE",
                   help="your own vocabulary, merged over specs/vocabulary.yaml (repeatable; "
                        "a vocabulary.yaml or kconform-vocabulary.yaml next to the series or "
                        "in the current directory is used too)")


def use_vocabularies(args, series: list[Path]) -> list[Path]:
    """Set the user's vocabulary files for this command; returns them."""
    from generator.model.vocab import find_user_vocabularies, set_user_vocabularies
    from generator.plan.ops import load_vocabulary
    given = [Path(v) for v in getattr(args, "vocabulary", []) or []]
    for v in given:
        if not v.is_file():
            raise KconformError(f"--vocabulary {v}: no such file")
    files = list(set_user_vocabularies(given + find_user_vocabularies(series)))
    load_vocabulary()              # checked now: a bad entry stops before any work
    return files


def spec_name(series_path: Path, name: str | None) -> str:
    """`--name`, else the name the series' subject and version give."""
    if name:
        return name
    from generator.ingest import load_series
    from generator.ingest.series import series_name
    return series_name(load_series(Path(series_path)))


def shown(p: Path) -> str:
    return str(p.relative_to(paths.ROOT)) if p.is_relative_to(paths.ROOT) else str(p)


def summary(name: str, seed: Path, out: Path, spec) -> list[str]:
    """The lines `extract` prints for one spec: counts, then every unmapped
    name with its line, then the vocabulary stub to fill in."""
    from generator.extract.stub import stub, unmapped
    from generator.plan.ops import load_vocabulary
    n_checks = sum(len(o.checks) for o in spec.operations)
    missing = unmapped(spec, load_vocabulary())
    lines = [f"{name}: {seed.name} -> {shown(out)}: "
             f"{len(spec.structs)} struct(s), {len(spec.ioctls)} ioctl(s), "
             f"{len(spec.capabilities)} capability(ies), {len(spec.operations)} operation(s), "
             f"{n_checks} check(s), {len(spec.findings)} finding(s)"
             + (f", {len(missing)} unmapped name(s)" if missing else "")]
    lines += [f"  unmapped: {u.source}: {u.name} (in `{u.condition}`)" for u in missing]
    from generator.plan import plan_all
    from generator.render.c import fit_runtime
    planned = plan_all(spec)
    _, dropped = fit_runtime(spec, planned.cases)
    lines += [f"  untested: {u.source}: {u.op} {u.check}: {u.reason}"
              for u in planned.untested + dropped]
    text = stub(missing)
    if text:
        lines += ["  vocabulary stub:"] + ["    " + ln for ln in text.splitlines()]
    return lines


def extract_to(seed: Path, name: str, out: Path) -> tuple[object, list[str]]:
    """Extract `seed` into the spec file `out`; (spec, summary lines)."""
    from generator.extract import extract_spec
    from generator.model.specio import dump_spec
    spec = extract_spec(Path(seed), name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump_spec(spec))
    return spec, summary(name, Path(seed), out, spec)
