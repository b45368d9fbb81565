"""`kconform`: the command-line entry point.

One module per subcommand, each with `register(sub)` adding its parser:
  extract   generator.cli.extract   seed -> specs/<name>.yaml
  generate  generator.cli.generate  spec -> C test + reference module
  run       generator.cli.run       build, boot, cross-check (also `baseline`)
  abi       generator.cli.abi       uAPI layouts against compilers and BTF
  diff      generator.cli.diff      what changed between two specs
  export    generator.cli.export    a self-judging KVM selftest for the kernel tree

`main(argv)` takes its argument list so tests call it directly; expected
failures (`KconformError`) print one line naming the input and position and
return a non-zero status instead of a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys

from generator.errors import EXIT_BROKEN, EXIT_USAGE, KconformError


from generator.cli import abi, diff, export, extract, generate, run  # noqa: E402

SUBCOMMANDS = (extract, generate, run, abi, diff, export)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kconform", description=(
        "Kernel-patch conformance: extract specs from a patch series, generate "
        "kselftests and a reference model, run them on a real arm64 kernel under "
        "QEMU, and cross-check every result."))
    sub = p.add_subparsers(dest="command", required=True)

    for module in SUBCOMMANDS:
        module.register(sub)
    return p


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
    except Exception as e:           # a bug: one line, never exit 1 (verdicts); debug: re-raise
        if os.environ.get("KCONFORM_DEBUG"):
            raise
        where = ""
        tb = e.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        print(f"kconform: internal error: {type(e).__name__}: {e}{where} (a bug in kconform; "
              "KCONFORM_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_BROKEN


if __name__ == "__main__":
    sys.exit(main())
