"""`kconform diff`: what changed between two specs, in the user's terms."""
from __future__ import annotations

from pathlib import Path

from generator.diff.semantic import diff_specs, render_text
from generator.errors import KconformError
from generator.model import Spec


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


def cmd_diff(args) -> int:
    a, b = load_named(args.spec_a), load_named(args.spec_b)
    changes = diff_specs(a, b)
    print(render_text(a, b, changes), end="")
    return 1 if args.exit_code and changes else 0


def register(sub) -> None:
    d = sub.add_parser("diff", help="what changed between two specs, in the user's terms")
    d.add_argument("spec_a", help="the earlier spec: a name (mte-v8, v8) or a YAML path")
    d.add_argument("spec_b", help="the later spec: a name (mte-v10, v10) or a YAML path")
    d.add_argument("--exit-code", action="store_true",
                   help="exit 1 when the specs differ (like `git diff --exit-code`)")
    d.set_defaults(func=cmd_diff)
