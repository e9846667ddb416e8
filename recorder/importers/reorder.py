"""Records that arrive late, put back in time order.

A report log is written in the order reports reached pytest's controller, not the order they
happened: pytest-rerunfailures logs a test's reports in one burst when the test has ended,
and under pytest-xdist another worker's reports arrive meanwhile. Folded in that order, one
test at a time would seem to run. ``in_time_order`` holds records back for a window and
hands them on by their own time; the window starts at one second and grows to the lateness
seen (plus a second), so a run whose records come in order is held back by a second at most
and the memory held is what a window of the input needs. Deterministic: the same input gives
the same order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def in_time_order(
    items: Iterable[T], time: Callable[[T], float | None], barrier: Callable[[T], bool]
) -> Iterator[T]:
    """``items`` by ``time`` (stable); an item without a time goes right after the item
    before it, a ``barrier`` item (a session's start or end) after everything before it."""
    held: deque[tuple[float, T]] = deque()  # in time order; most items are appended
    newest = last = float("-inf")
    window = 1.0
    for item in items:
        if barrier(item):
            while held:
                yield held.popleft()[1]
            yield item
            continue
        t = time(item)
        if t is None:
            t = last
        last = t
        if t >= newest:
            newest = t
            held.append((t, item))
            while held[0][0] < newest - window:
                yield held.popleft()[1]
            continue
        if newest - t >= window:
            window = newest - t + 1.0  # late: wait as long from now on
        i = len(held)
        while i and held[i - 1][0] > t:  # a late item: after every held item not later
            i -= 1
        held.insert(i, (t, item))
    while held:
        yield held.popleft()[1]
