"""Fold a log up to a WHEN and say what "now" is there: the state a snapshot shows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from recorder.events import Mark
from recorder.fold import Metrics, apply, apply_all
from replay.source import Batch, ReadReport, read_batches
from replay.when import When


class NoSuchMark(ValueError):
    """The log has no mark with the label asked for."""


@dataclass
class Frame:
    """The state at a position: metrics and the clock the view is drawn at."""

    metrics: Metrics
    now: float
    report: ReadReport


def fold_at(path: str, when: When, *, lenient: bool = False) -> Frame:
    """Fold ``path`` up to ``when``; positions past the end mean the end."""
    report = ReadReport(path)
    m = Metrics()
    batches = read_batches(path, lenient=lenient, report=report)
    if when.kind == "end":
        for batch in batches:
            apply_all(m, batch)
        return Frame(m, _last(m), report)
    if when.kind == "percent":
        span = fold_at(path, When("end"), lenient=lenient).metrics
        first = span.first_t or 0.0
        limit = first + (_last(span) - first) * when.seconds / 100
        return _until_time(batches, m, limit, report)
    if when.kind == "seconds":
        first = _first_t(path, lenient)
        return _until_time(batches, m, first + when.seconds, report)
    if when.kind in ("event", "start"):
        n = 1 if when.kind == "start" else when.event
        for batch in batches:
            room = n - m.events
            apply_all(m, batch[:room] if room < len(batch) else batch)
            if m.events >= n:
                break
        return Frame(m, _last(m), report)
    for batch in batches:  # mark
        for e in batch:
            apply(m, e)
            if isinstance(e, Mark) and e.label == when.label:
                return Frame(m, e.t, report)
    raise NoSuchMark(f"no mark {when.label!r} in {path}")


def _until_time(batches: Iterator[Batch], m: Metrics, limit: float, report: ReadReport) -> Frame:
    for batch in batches:
        if all(e.t <= limit for e in batch):
            apply_all(m, batch)
            continue
        for e in batch:
            if e.t > limit:
                return Frame(m, max(limit, m.first_t or limit), report)
            apply(m, e)
    return Frame(m, min(limit, _last(m)), report)


def _first_t(path: str, lenient: bool) -> float:
    for batch in read_batches(path, lenient=lenient):
        if batch:
            return batch[0].t
    return 0.0


def _last(m: Metrics) -> float:
    return m.last_t if m.last_t is not None else 0.0
