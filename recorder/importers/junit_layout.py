"""Laying a JUnit document's suites and cases out on a timeline, with lanes for what ran at
the same time.

JUnit says little about time: a ``time`` per case and suite and, depending on the writer, a
``timestamp`` per suite or case, often cut to the whole second. The layout uses what the
document proves and invents nothing else:

- Cases follow each other from their suite's start; a case's own timestamp wins, but one cut
  to the second never puts it before the end of the case before it.
- **Whole-second stamps are bounds, not times**: a case stamped 10:00:03 started (or, with
  unittest-xml-reporting, which stamps a case when it stopped and its suite with the latest
  of them, ended) in that second. A suite whose cases carry such stamps starts as late as
  they require, not at the start of its first second, and its cases are taken in the order
  of their stamps (unittest-xml-reporting lists a suite's successes before its failures,
  and suites alphabetically, not as they ran). In a sequential run (one lane), a gap of
  less than a second before the next suite is closed by moving the earlier suite later
  within its stamps: the run stays back to back instead of gaining a fraction of a second
  at every suite.
- Suites that overlap in time ran in parallel and take lanes ``worker 01``, ``worker 02``, …
  (the lowest free); a suite whose whole-second stamp falls inside the previous suite of its
  lane starts when that one ended, so a sequential run never looks parallel.
- **A suite's own ``time`` is its length.** When its cases' times add up to more than it
  (pytest's ``--junitxml`` under pytest-xdist: one suite, cases that ran on several
  workers), the cases ran in parallel: they are spread over the fewest lanes on which, taken
  in document order, each on the lane free first, they fit in the suite's time.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from recorder.importers.times import SYNTHETIC_EPOCH

if TYPE_CHECKING:
    from recorder.importers.junit import Case, Suite


def layout(suites: list[Suite]) -> None:
    """Give every suite a start, an end and its lanes, every case a start and a lane."""
    stamps = [s.timestamp for s in suites if s.timestamp is not None]
    cursor = min(stamps) if stamps else SYNTHETIC_EPOCH
    ends = _stamps_are_ends(suites)
    for suite in suites:
        _bounds(suite, ends)
        suite.start = _earliest_start(suite, cursor)
        _spread(suite)
        _place_cases(suite)
        cursor = max(cursor, suite.end)
    _assign_lanes(suites)
    _close_gaps(suites)


def _whole_second_cases(suite: Suite) -> bool:
    return bool(suite.cases) and all(
        c.timestamp is not None and c.whole_seconds for c in suite.cases
    )


def _stamps_are_ends(suites: list[Suite]) -> bool:
    """Whether the cases' whole-second stamps are their ends: unittest-xml-reporting stamps
    a case when it stopped and its suite with the latest of them (a writer stamping starts
    gives a suite its first case's)."""
    telling = [
        s for s in suites if _whole_second_cases(s) and len({c.timestamp for c in s.cases}) > 1
    ]
    return bool(telling) and all(
        s.timestamp == max(c.timestamp or 0.0 for c in s.cases) for s in telling
    )


def _bounds(suite: Suite, ends: bool) -> None:
    """For cases stamped to the second: the earliest start each stamp allows (``low``; the
    latest is a second later), and the cases in the order of their stamps (stable)."""
    if not _whole_second_cases(suite):
        return
    suite.cases.sort(key=lambda c: c.timestamp or 0.0)
    for case in suite.cases:
        case.low = (case.timestamp or 0.0) - (case.time if ends else 0.0)


def _earliest_start(suite: Suite, cursor: float) -> float:
    """The suite's start: its timestamp, or as late as its cases' whole-second stamps
    require, or (no timestamp) where the suites before it ended."""
    if not _whole_second_cases(suite):
        return suite.timestamp if suite.timestamp is not None else cursor
    start, done = float("-inf"), 0.0
    for case in suite.cases:
        start = max(start, case.low - done)
        done += case.time
    return start


def _spread(suite: Suite) -> None:
    """Cases whose times add up to more than their suite's ``time`` ran in parallel: give
    them the fewest sub-lanes on which they fit in it."""
    suite.width = 1
    if suite.time is None or any(c.timestamp is not None for c in suite.cases):
        return
    if sum(c.time for c in suite.cases) <= suite.time + 0.001 * len(suite.cases):
        return
    for width in range(2, len(suite.cases) + 1):
        ends = [(0.0, lane) for lane in range(width)]
        subs = []
        for case in suite.cases:
            end, lane = heapq.heappop(ends)
            subs.append((lane, end))
            heapq.heappush(ends, (end + case.time, lane))
        if max(end for end, _ in ends) <= suite.time + 0.001 or width == len(suite.cases):
            suite.width = width
            for case, (lane, offset) in zip(suite.cases, subs, strict=True):
                case.sub, case.offset = lane, offset
            return


def _place_cases(suite: Suite) -> None:
    """Every case's start from the suite's start, and the suite's end."""
    if suite.width > 1:
        for case in suite.cases:
            case.start = suite.start + case.offset
        ends = [c.start + c.time for c in suite.cases]
        suite.end = max(suite.start + (suite.time or 0.0), *ends)
        return
    at = suite.start
    if _whole_second_cases(suite):
        for case in suite.cases:
            case.start = at = max(case.low, at)
            at += case.time
        suite.end = max(suite.start + (suite.time or 0.0), at)
        return
    shift = suite.start - suite.timestamp if suite.timestamp is not None else 0.0
    for case in suite.cases:
        if case.timestamp is not None:
            own = case.timestamp + shift
            at = max(own, at) if case.whole_seconds else own
        case.start = at
        at += case.time
    suite.end = max(suite.start + (suite.time or 0.0), at)


def _assign_lanes(suites: list[Suite]) -> None:
    """Each suite takes the lowest free lanes (as many as it is wide)."""
    busy: list[tuple[float, int]] = []  # (end, lane)
    free: list[int] = []
    count = 0
    for suite in sorted(suites, key=lambda s: (s.start, s.index)):
        slack = 1.0 if suite.whole_seconds else 0.0
        while busy and busy[0][0] <= suite.start + slack:
            end, lane = heapq.heappop(busy)
            heapq.heappush(free, lane)
            if end > suite.start:  # the timestamp was cut to the second: start after
                suite.start = end
                _place_cases(suite)
        suite.lanes = []
        for _ in range(suite.width):
            if free:
                suite.lanes.append(heapq.heappop(free))
            else:
                count += 1
                suite.lanes.append(count)
        for lane in suite.lanes:
            heapq.heappush(busy, (suite.end, lane))


def _close_gaps(suites: list[Suite]) -> None:
    """In a sequential run (one lane), move a whole-second suite later, within what its
    stamps allow, to close a gap of less than a second before the next suite: it ran right
    before it."""
    if any(suite.lanes != [1] for suite in suites):
        return  # parallel suites: a lane is not a worker, its order proves nothing
    chain = sorted(suites, key=lambda s: s.start)
    if chain:
        for cur, nxt in zip(reversed(chain[:-1]), reversed(chain[1:]), strict=True):
            gap = nxt.start - cur.end
            if not (0 < gap < 1 and cur.whole_seconds):
                continue
            by = min(gap, _room(cur))
            if by > 0:
                cur.start += by
                cur.end += by
                for case in cur.cases:
                    case.start += by


def _room(suite: Suite) -> float:
    """How much later the suite may start and stay within the seconds its stamps name."""
    if not _whole_second_cases(suite):
        stamp = suite.timestamp if suite.timestamp is not None else suite.start
        return stamp + 0.999 - suite.start
    return min(c.low + 0.999 - c.start for c in suite.cases)


__all__ = ["Case", "Suite", "layout"]
