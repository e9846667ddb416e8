"""Resolve a WHEN against a log: the folded state a snapshot shows, and its "now"."""

from __future__ import annotations

import math
from dataclasses import dataclass

from recorder.location import LogPath
from replay.core.metrics import Metrics
from replay.core.text import hms, safe
from replay.core.when import When
from replay.index.build import Enough
from replay.index.cursor import Cursor
from replay.index.format import Index
from replay.index.parallel import fold_log
from replay.index.store import load_or_build, stored
from replay.sources.file import ReadReport


class BadPosition(ValueError):
    """A WHEN that names no position in this log: the CLI reports it as a usage error."""


class NoSuchMark(BadPosition):
    """The log has no mark with the label asked for."""


class PastTheEnd(BadPosition):
    """A time or event number after the run's last event: drawing the end instead would
    give a believable wrong picture (a typo in a golden test, a post-mortem)."""


SLACK = 1e-6  # event times have microsecond precision; a sum of floats may miss by less


@dataclass
class Frame:
    """The state at a position: metrics and the clock the view is drawn at."""

    metrics: Metrics
    now: float
    report: ReadReport

    def warnings(self) -> list[str]:
        """What the user should know besides the figures: the reader's, and joined runs."""
        return warnings(self.report, self.metrics)


def warnings(report: ReadReport, m: Metrics) -> list[str]:
    """The reader's warnings, and one when the log holds more than one run (joined logs
    mix their figures, and a task id of both reads as one task)."""
    out = report.warnings()
    if m.run_starts > 1:
        out.append(
            f"{report.path}: {m.run_starts} runs in one log (were logs joined?): the figures "
            "mix them; the name and id are the first run's"
        )
    return out


def fold_at(path: LogPath, when: When, *, lenient: bool = False, jobs: int | None = 1) -> Frame:
    """Fold ``path`` up to ``when``; a position past the end raises ``PastTheEnd``.

    The end of a log with no index yet needs no index: the log is folded in one
    read, on ``jobs`` processes when it is big enough to pay (None: every usable core).
    """
    if when.kind == "end" and stored(path, lenient) is None:
        m, report = fold_log(path, jobs=jobs, lenient=lenient)
        return Frame(m, m.last_t if m.last_t is not None else 0.0, report)
    index = load_or_build(path, lenient=lenient, until=enough_for(when), jobs=jobs)
    cursor = Cursor(index, lenient=lenient)
    now = move(cursor, when)
    return Frame(cursor.metrics, now, index.report())


def enough_for(when: When) -> Enough | None:
    """How much of a log ``when`` needs, when that is known before reading it all."""
    if when.kind == "start":
        return Enough(events=1)
    if when.kind == "event":
        return Enough(events=when.event)
    if when.kind == "seconds":
        return Enough(seconds=when.seconds)
    return None  # the end, a percentage or a mark: the whole log


def target_time(index: Index, when: When) -> float | None:
    """The event time ``when`` names, for time-like positions (seconds, percent)."""
    h = index.header
    first = h.first_t if h.first_t is not None else 0.0
    last = h.last_t if h.last_t is not None else first
    if when.kind == "seconds":
        return first + when.seconds
    if when.kind == "percent":
        return first + (last - first) * when.seconds / 100
    return None


def move(cursor: Cursor, when: When) -> float:
    """Move ``cursor`` to ``when``; returns the clock ("now") to draw that frame at.

    Times: every event up to the first later than the target, drawn at the target
    (at most the last event's time). Event numbers, marks, start and end: drawn at
    the time of the latest event folded. A time or event number past the end raises
    ``PastTheEnd``, an unknown mark ``NoSuchMark``; the end itself is always valid.
    """
    index = cursor.index
    limit = target_time(index, when)
    if limit is not None:
        last = index.header.last_t
        if when.kind == "seconds" and limit > (last if last is not None else limit) + SLACK:
            raise past_the_end(index, when)
        cursor.seek_time(limit)
        return min(limit, last) if last is not None else limit
    if when.kind == "mark":
        for p in index.marks:
            if p.label == when.label:
                cursor.seek(p.event)
                return p.t
        labels = sorted(set(index.marks.labels or ()))
        shown = ", ".join(safe(label, limit=40) for label in labels[:10])
        known = f" (marks: {shown})" if labels else " (it has no marks)"
        raise NoSuchMark(f"no mark {safe(when.label, limit=80)!r} in {index.log}{known}")
    if when.kind == "event" and when.event > cursor.count:
        raise past_the_end(index, when)
    n = {"start": 1, "end": cursor.count}.get(when.kind, when.event)
    cursor.seek(n)
    m = cursor.metrics
    return m.last_t if m.last_t is not None else 0.0


def past_the_end(index: Index, when: When) -> PastTheEnd:
    """The error for ``when`` after the end, stating how long the run is and how many
    events it has, so the user can pick a position that exists."""
    h = index.header
    first = h.first_t if h.first_t is not None else 0.0
    last = h.last_t if h.last_t is not None else first
    return PastTheEnd(
        f"{safe(when.typed, limit=80)!r} is past the end: the run in {index.log} lasts "
        f"{run_length(last - first)} ({h.count:,} {'event' if h.count == 1 else 'events'})"
    )


def run_length(seconds: float) -> str:
    """A run's length as a position the user can type: cut (not rounded) to the
    millisecond, so the length stated is never past the end itself."""
    ms = max(math.floor(seconds * 1000 + SLACK * 1000), 0)
    text = f"{ms // 1000}.{ms % 1000:03d}".rstrip("0").rstrip(".") + " s"
    return text if seconds < 60 else f"{text} ({hms(seconds)})"
