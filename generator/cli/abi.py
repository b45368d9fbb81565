"""`kconform abi`: the ABI checker's command (generator.abi.cli)."""
from __future__ import annotations


def register(sub) -> None:
    try:
        from generator.abi.cli import add_abi_arguments, main_abi
    except ImportError:
        return
    a = sub.add_parser("abi", help="check uAPI struct layouts against real compilers and headers")
    add_abi_arguments(a)
    a.set_defaults(func=main_abi)
