"""Exponential back-off between reconnects of a failing camera."""

from __future__ import annotations


class Backoff:
    def __init__(self, maximum: float, initial: float = 1.0) -> None:
        self.initial = min(initial, maximum)
        self.maximum = maximum
        self.current = self.initial

    def next(self) -> float:
        """The wait before the next attempt; each call doubles it, up to the maximum."""
        wait = self.current
        self.current = min(self.current * 2, self.maximum)
        return wait

    def reset(self) -> None:
        self.current = self.initial
