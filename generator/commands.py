"""Subcommands beyond `extract`: each registers its own arguments."""
from __future__ import annotations


def register(sub) -> None:
    pass
