"""Events held back until their time is known, then let out in time order.

go test -json places a test's result by its ``Elapsed`` and its lane by what ran beside it,
which is known only once its package ended; text before the input's first time takes that
time, known only once it comes. So an importer adds each event with a way to tell its time
later, in a *group* (a package) while the group is open. Events leave in (time, input order)
as soon as nothing still held can come before them: only the oldest open group holds the
rest back, so memory stays bounded by the longest package, not the whole input.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator

from recorder.events import AnyEvent

Made = AnyEvent | list[AnyEvent] | None
When = Callable[[], float | None]  # None: "the input's first time", not known yet
Make = Callable[[float], Made]


class Holdback:
    """Events by time, held while their time may still change or come earlier."""

    def __init__(self) -> None:
        self._ready: list[tuple[float, int, Make]] = []  # a heap
        self._early: list[tuple[int, Make]] = []  # waiting for the first time
        self._groups: dict[str, tuple[float, list[tuple[When, int, Make]]]] = {}
        self._order = 0
        self._limit = math.inf  # the earliest time an open group may still place an event at
        self.first: float | None = None

    def add(self, when: When, make: Make, group: str | None = None) -> None:
        """An event at ``when()``; in an open ``group`` its time is read when it closes."""
        self._order += 1
        held = self._groups.get(group) if group is not None else None
        if held is not None:
            held[1].append((when, self._order, make))
        else:
            self._place(when(), self._order, make)

    def open(self, group: str, since: float | None) -> None:
        """Hold the group's events until ``close``; none of them comes before ``since``."""
        if group not in self._groups:
            start = since if since is not None else self.first
            since = start if start is not None else -math.inf
            self._groups[group] = (since, [])
            self._limit = min(self._limit, since)

    def is_open(self, group: str) -> bool:
        return group in self._groups

    def close(self, group: str) -> None:
        """The group's times are known now: its events join the others."""
        _, items = self._groups.pop(group, (0.0, []))
        self._limit = min((since for since, _ in self._groups.values()), default=math.inf)
        for when, order, make in items:
            self._place(when(), order, make)

    def first_time(self, t: float) -> None:
        """The input's first real time: events that came before it take it."""
        if self.first is None:
            self.first = t
            for order, make in self._early:
                heapq.heappush(self._ready, (t, order, make))
            self._early.clear()

    def releasable(self) -> bool:
        """Whether ``release`` would let an event out now (cheap: asked after every record)."""
        return bool(self._ready) and not self._early and self._ready[0][0] < self._limit

    def release(self, *, final: bool = False, epoch: float = 0.0) -> Iterator[tuple[float, Make]]:
        """The events nothing held can come before any more, in time order; all when ``final``
        (groups still open are closed; events before a first time that never came take
        ``epoch``)."""
        if final:
            for group in list(self._groups):
                self.close(group)
            if self._early:
                self.first_time(epoch)
            limit = math.inf
        elif self._early:
            return
        else:
            limit = self._limit
        ready = self._ready
        while ready and ready[0][0] < limit:
            t, _, make = heapq.heappop(ready)
            yield t, make

    def _place(self, t: float | None, order: int, make: Make) -> None:
        if t is None:
            t = self.first
        if t is None:
            self._early.append((order, make))
        else:
            heapq.heappush(self._ready, (t, order, make))
