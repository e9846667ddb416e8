"""Synthetic workers for formats that do not say where a test ran."""

from __future__ import annotations

import heapq
from collections.abc import Callable


class Lanes:
    """Synthetic workers for concurrent tasks: a start takes the lowest free lane.

    Formats that do not say which thread or process ran a test (libtest, JUnit suites, go's
    parallel tests) still show how many ran at once this way.
    """

    def __init__(self, name: Callable[[int], str]) -> None:
        self._name = name
        self._free: list[int] = []
        self._next = 1
        self.held: dict[str, int] = {}

    def take(self, holder: str) -> str:
        lane = self.held.get(holder)
        if lane is None:
            if self._free:
                lane = heapq.heappop(self._free)
            else:
                lane, self._next = self._next, self._next + 1
            self.held[holder] = lane
        return self._name(lane)

    def give(self, giver: str, taker: str) -> str | None:
        """Hand ``giver``'s lane to ``taker`` (a subtest runs in its parent's place)."""
        lane = self.held.pop(giver, None)
        if lane is None:
            return None
        self.held[taker] = lane
        return self._name(lane)

    def release(self, holder: str) -> None:
        lane = self.held.pop(holder, None)
        if lane is not None:
            heapq.heappush(self._free, lane)

    def name_of(self, holder: str) -> str | None:
        lane = self.held.get(holder)
        return None if lane is None else self._name(lane)

    @property
    def count(self) -> int:
        """Lanes ever used."""
        return self._next - 1
