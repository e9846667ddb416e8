"""Marks and failures of a log: events worth jumping to, packed for the index file."""

from __future__ import annotations

import array
import bisect
import sys
from collections.abc import Iterator

import msgspec

_LITTLE = sys.byteorder == "little"


class Point(msgspec.Struct, array_like=True, frozen=True):
    """An event worth jumping to: a mark or a failure (``event`` counts from 1)."""

    event: int
    t: float
    label: str = ""


class Points(msgspec.Struct, array_like=True):
    """Marks or failures as stored: event numbers (int64) and times (float64), packed."""

    events: bytes = b""
    times: bytes = b""
    labels: list[str] = []  # marks only


class PointList:
    """Marks or failures in log order: 16 bytes each in memory, plus labels for marks."""

    def __init__(self, stored: Points | None = None, *, labelled: bool = False) -> None:
        self.events = array.array("q")
        self.times = array.array("d")
        self.labels: list[str] | None = [] if labelled else None
        if stored is not None:
            self.events.frombytes(stored.events)
            self.times.frombytes(stored.times)
            if not _LITTLE:
                self.events.byteswap()
                self.times.byteswap()
            if stored.labels:
                self.labels = list(stored.labels)
            lengths = {len(self.events), len(self.times)}
            if self.labels is not None:
                lengths.add(len(self.labels))
            if len(lengths) != 1:
                raise ValueError("marks or failures do not line up")

    def append(self, event: int, t: float, label: str = "") -> None:
        self.events.append(event)
        self.times.append(t)
        if self.labels is not None:
            self.labels.append(label)

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, i: int) -> Point:
        label = self.labels[i] if self.labels is not None else ""
        return Point(self.events[i], self.times[i], label)

    def __iter__(self) -> Iterator[Point]:
        for i in range(len(self.events)):
            yield self[i]

    def after(self, event: int) -> Point | None:
        """The first point past event number ``event``."""
        i = bisect.bisect_right(self.events, event)
        return self[i] if i < len(self.events) else None

    def before(self, event: int) -> Point | None:
        """The last point before event number ``event``."""
        i = bisect.bisect_left(self.events, event)
        return self[i - 1] if i > 0 else None

    def pack(self) -> Points:
        events, times = self.events, self.times
        if not _LITTLE:
            events, times = array.array("q", events), array.array("d", times)
            events.byteswap()
            times.byteswap()
        return Points(events.tobytes(), times.tobytes(), list(self.labels or ()))
