"""`kconform diff`: what changed between two specs, in the user's terms;
with `--merged`, between a series as posted and the code that merged."""
from __future__ import annotations

from pathlib import Path

from generator.diff.semantic import diff_specs, render_text
from generator.errors import KconformError
from generator.model import Spec

DEFAULT_TREE = "debian-6.12"


def load_named(arg: str) -> Spec:
    """A spec by registered name (`mte-v10`, `v10`) or by YAML path."""
    from generator import paths
    from generator.model.specio import load_spec
    p = Path(arg)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise KconformError(f"{arg}: no such spec file (expected a spec YAML written by "
                                "`kconform extract`, or a registered spec name)")
        return load_spec(p)
    return load_spec(paths.spec_path(paths.resolve_spec_name(arg)))


def load_series_or_spec(arg: str) -> Spec:
    """A spec (name or YAML), or a series given as mail files (extracted now)."""
    p = Path(arg)
    if p.exists() and p.suffix not in (".yaml", ".yml"):
        from generator.extract import extract_spec
        return extract_spec(p, p.stem)
    return load_named(arg)


def merged_spec(posted: Spec, tree_arg: str, log=None) -> Spec:
    from generator.extract.tree import extract_tree_spec, resolve_tree
    tree = resolve_tree(tree_arg, log=log)
    return extract_tree_spec(tree.root, posted, tree.label)


def cmd_diff(args) -> int:
    if args.merged is not None:
        if args.spec_b:
            raise KconformError("diff --merged takes one series or spec (the posted side); "
                                f"got a second one, {args.spec_b}")
        a = load_series_or_spec(args.spec_a)
        b = merged_spec(a, args.merged)
    else:
        if not args.spec_b:
            raise KconformError("diff needs two specs (A B), or one with --merged [TREE]")
        a, b = load_named(args.spec_a), load_named(args.spec_b)
    changes = diff_specs(a, b)
    print(render_text(a, b, changes), end="")
    return 1 if args.exit_code and changes else 0


def register(sub) -> None:
    d = sub.add_parser("diff", help="what changed between two specs, in the user's terms")
    d.add_argument("spec_a", help="the earlier spec: a name (mte-v8, v8) or a YAML path; "
                                  "with --merged also a series' mail file")
    d.add_argument("spec_b", nargs="?", help="the later spec: a name (mte-v10, v10) or a YAML path")
    d.add_argument("--merged", nargs="?", const=DEFAULT_TREE, metavar="TREE",
                   help="compare with the code that merged: a kernel source tree directory, "
                        f"or a kernel alias whose Debian source is fetched (default {DEFAULT_TREE})")
    d.add_argument("--exit-code", action="store_true",
                   help="exit 1 when the specs differ (like `git diff --exit-code`)")
    d.set_defaults(func=cmd_diff)
