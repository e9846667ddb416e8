"""What the post-mortem views show, as plain values read from a store at a position.

The views are pure functions of these records (and the metrics, the clock and the view
state); ``replay/store/pages.py`` reads them. Only the rows a screen can show are read
(a ``Page`` around the selection), so a view of a huge run costs what a screen holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

BAR = 120  # buckets of a failure group's "when" bar, across the run
STRIP = 240  # buckets of a worker's strip, across the run


@dataclass(frozen=True)
class Page(Generic[T]):
    """Rows ``first`` .. ``first + len(rows)`` of a list of ``total`` rows."""

    rows: tuple[T, ...] = ()
    first: int = 0
    total: int = 0


@dataclass(frozen=True)
class Group:
    """The failures that share a signature, as Sentry groups issues."""

    signature: str
    failed: int  # tasks that failed for good with it
    retried: int  # attempts that failed with it and were retried
    first_t: float
    last_t: float
    example: str
    tasks: int
    bar: tuple[int, ...]  # failures per BAR bucket of the run
    latest: str  # the task that failed for good with it last, else retried last (d opens it)


@dataclass(frozen=True)
class TaskRow:
    task: str
    status: str
    worker: str
    attempts: int
    start_t: float | None
    end_t: float | None
    duration_s: float | None
    error: str | None


@dataclass(frozen=True)
class Attempt:
    attempt: int
    worker: str
    start_t: float | None
    end_t: float | None
    outcome: str
    error: str | None
    detail: str | None


@dataclass(frozen=True)
class TaskDetail:
    task: str
    status: str
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True)
class Lane:
    """One worker across the run: what it did per STRIP bucket, and its figures."""

    worker: str
    attempts: int
    failed: int  # attempts that ended in an error (retried or failed)
    busy_s: float
    mean_s: float | None  # mean duration of its finished attempts
    last_error: str | None
    busy: tuple[float, ...]  # share of each bucket spent on an attempt (0..1)
    backoff: tuple[float, ...]  # share spent waiting to retry a task it failed


@dataclass(frozen=True)
class Work:
    """One attempt as a worker or a failure group lists it."""

    task: str
    attempt: int
    worker: str
    start_t: float | None
    end_t: float | None
    outcome: str
    error: str | None


@dataclass(frozen=True)
class LogLine:
    event: int
    t: float
    level: str
    msg: str


@dataclass(frozen=True)
class Record:
    """Everything a post-mortem view needs beyond the metrics (what was read for it)."""

    first_t: float | None = None
    groups: tuple[Group, ...] = ()
    tasks: Page[TaskRow] = field(default_factory=Page)
    task: TaskDetail | None = None
    lanes: tuple[Lane, ...] = ()
    logs: Page[LogLine] = field(default_factory=Page)
    marks: tuple[tuple[float, str], ...] = ()
    counts: tuple[tuple[str, int], ...] = ()  # tasks per status
    work: tuple[Work, ...] = ()  # the selected worker's or failure group's latest attempts
