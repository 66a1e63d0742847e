"""Waits between attempts at something that failed (a portal call, a message to send)."""

from __future__ import annotations

import random


class Backoff:
    """Exponential waits, capped, with jitter: half the wait fixed, half drawn, so that
    the things failing together do not all come back at the same instant."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self._random = rng or random.Random()

    def delay(self, attempts: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(attempts - 1, 0))
        return float(ceiling / 2 + self._random.uniform(0, ceiling / 2))
