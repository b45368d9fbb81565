"""Shared pytest fixtures: the bundled seeds and a private cache directory."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SEEDS = ROOT / "seeds"


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture
def seed_text():
    def read(name: str) -> str:
        return next(SEEDS.glob(f"{name}*")).read_text()
    return read
