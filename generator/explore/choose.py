"""Choosers: where a drawn sequence's choices come from.

`HypothesisChooser` draws every choice from Hypothesis (`st.data()`), so
Hypothesis's generation heuristics (boundary values, repeated blocks,
small examples first) shape the sequences; `RandomChooser` draws them
from a `random.Random` seeded by the run's seed.  Both are deterministic
for a seed; `kconform explore --generator` picks one (bench/bench.py
measures both: the cost per sequence and the classes each finds).
"""
from __future__ import annotations

import enum
import random
from typing import Sequence


class Generator(enum.Enum):
    HYPOTHESIS = "hypothesis"
    RANDOM = "random"


class HypothesisChooser:
    def __init__(self, data):
        self.data = data

    def integer(self, lo: int, hi: int, label: str) -> int:
        from hypothesis import strategies as st
        return self.data.draw(st.integers(lo, hi), label=label)

    def choice(self, items: Sequence, label: str):
        from hypothesis import strategies as st
        return self.data.draw(st.sampled_from(list(items)), label=label)

    def weighted(self, items: Sequence[tuple], label: str):
        """items: (value, weight); each value `weight` times in the urn."""
        return self.choice([v for v, w in items for _ in range(w)], label)

    def odd(self, rarity: int, label: str) -> bool:
        """True about one draw in `rarity` (the middle value: Hypothesis
        favours the ends of a range)."""
        return self.integer(0, rarity - 1, label) == rarity // 2


class RandomChooser:
    def __init__(self, rnd: random.Random):
        self.rnd = rnd

    def integer(self, lo: int, hi: int, label: str) -> int:
        return self.rnd.randint(lo, hi)

    def choice(self, items: Sequence, label: str):
        return self.rnd.choice(list(items))

    def weighted(self, items: Sequence[tuple], label: str):
        values, weights = zip(*items)
        return self.rnd.choices(values, weights)[0]

    def odd(self, rarity: int, label: str) -> bool:
        return self.rnd.randrange(rarity) == 0
