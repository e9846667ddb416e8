"""When each test of one go package really ran, and on which lane.

test2json's result of a subtest arrives when its parent ends, and a parallel test's when
its group ends, so arrival times say little about concurrency. What does: a test runs from
``run`` (or ``cont``) to ``pause`` or its end, its ``Elapsed`` says how long its last stretch
took (go's own clock, rounded to 10 ms), and go's rules say what cannot overlap: a new
``run`` under a parent means the parent's earlier sequential subtests are over (t.Run
returned), and a ``cont`` means the parent's own function returned. A package's segments
are laid out on lanes once the package ended: a sequential subtest runs in its parent's
lane, anything else takes the lowest free lane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TOLERANCE = 0.005  # go rounds Elapsed to 10 ms: an end this close to a start is no overlap


@dataclass(slots=True)
class Segment:
    """A stretch a test ran without pausing: from ``run``/``cont`` to ``pause`` or its end."""

    test: str
    parent: str
    start: float
    order: int
    resumed: bool  # started by ``cont``: runs beside other parallel tests
    end: float = math.inf
    cap: float = math.inf  # go's rules say it was over by then
    lane: int = 0


def parent_of(test: str) -> str:
    """The parent test's name ("" for a top-level test)."""
    return test.rpartition("/")[0]


class Timeline:
    """The segments of one package's tests, in input order."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.open: dict[str, Segment] = {}
        self._child_end: dict[str, float] = {}  # latest end of a test's sequential subtests

    def run(self, test: str, t: float, order: int) -> Segment:
        parent = parent_of(test)
        self._cap_siblings(test, parent, t)
        return self._open(test, parent, t, order, resumed=False)

    def cont(self, test: str, t: float, order: int) -> Segment:
        parent = parent_of(test)
        self._cap_siblings(test, parent, t)
        if parent in self.open:  # its function returned before its parallel subtests resumed
            self._cap(self.open[parent], t)
        return self._open(test, parent, t, order, resumed=True)

    def pause(self, test: str, t: float) -> None:
        seg = self.open.pop(test, None)
        if seg is not None:
            self._close(seg, max(seg.start, min(t, seg.cap)))

    def end(self, test: str, t: float, elapsed: float | None) -> Segment | None:
        """The test's result arrived at ``t``: its last segment ends by ``elapsed``."""
        seg = self.open.pop(test, None)
        if seg is None:
            return None
        hi = max(seg.start, min(t, seg.cap))
        lo = max(seg.start, self._child_end.get(test, seg.start))
        guess = seg.start + elapsed if elapsed is not None else hi
        self._close(seg, min(max(lo, guess), hi))
        return seg

    def _open(self, test: str, parent: str, t: float, order: int, *, resumed: bool) -> Segment:
        seg = Segment(test, parent, t, order, resumed)
        self.segments.append(seg)
        self.open[test] = seg
        return seg

    def _close(self, seg: Segment, end: float) -> None:
        seg.end = end
        if seg.parent and not seg.resumed:
            self._child_end[seg.parent] = max(self._child_end.get(seg.parent, end), end)

    def _cap_siblings(self, test: str, parent: str, t: float) -> None:
        """A new subtest of ``parent`` starts: its earlier sequential siblings are over."""
        for name, seg in self.open.items():
            if name != test and seg.parent == parent and not seg.resumed:
                self._cap(seg, t)
                prefix = name + "/"
                for sub, inner in self.open.items():
                    if sub.startswith(prefix):
                        self._cap(inner, t)

    @staticmethod
    def _cap(seg: Segment, t: float) -> None:
        seg.cap = min(seg.cap, max(t, seg.start))

    def lay_out(self) -> int:
        """Give every segment a lane (1, 2, ...); the number of lanes used."""
        stacks: list[list[Segment]] = []
        where: dict[int, int] = {}  # id of a segment on a lane -> lane index
        by_test: dict[str, list[Segment]] = {}
        for seg in self.segments:
            by_test.setdefault(seg.test, []).append(seg)
        for seg in sorted(self.segments, key=lambda s: (s.start, s.order)):
            for stack in stacks:
                while stack and stack[-1].end <= seg.start + TOLERANCE:
                    done = stack.pop()
                    where.pop(id(done), None)
                    done.end = min(done.end, max(done.start, seg.start))
            host = _host(seg, where, by_test)
            if host is not None:
                lane, stack = host, stacks[host]
                while stack and stack[-1].test != seg.parent:  # earlier siblings are over
                    done = stack.pop()
                    where.pop(id(done), None)
                    done.end = min(done.end, max(done.start, seg.start))
            else:
                lane = next((i for i, s in enumerate(stacks) if not s), len(stacks))
                if lane == len(stacks):
                    stacks.append([])
            stacks[lane].append(seg)
            where[id(seg)] = lane
            seg.lane = lane + 1
        return len(stacks)


def _host(seg: Segment, where: dict[int, int], by_test: dict[str, list[Segment]]) -> int | None:
    """The lane of the parent a sequential subtest runs inside, if it is on one."""
    if seg.resumed or not seg.parent:
        return None
    parent = None
    for candidate in by_test.get(seg.parent, ()):
        if candidate.start <= seg.start:
            parent = candidate
    return None if parent is None else where.get(id(parent))
