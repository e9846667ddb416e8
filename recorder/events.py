"""Event types of the runreel log format, version 1 (see docs/log-format.md).

One msgspec Struct per event type, tagged by ``type``. New fields always get
defaults so older logs keep decoding (msgspec schema evolution).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

FORMAT_VERSION = 1

# Bounds checked when a line is decoded: a number outside them makes a bad line
# (file:line, reason) instead of an overflow somewhere on the read side.
MAX_T = 1e11  # seconds since the epoch (the year 5138): a millisecond timestamp is refused
Time = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_T)]
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]  # a number of tasks
Attempt = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]  # attempts count from 1
Seconds = Annotated[float, msgspec.Meta(ge=0.0)]  # a length of time


class Event(msgspec.Struct, tag_field="type", frozen=True, kw_only=True, gc=False):
    """Fields every event carries: time, writer id and the writer's sequence number."""

    t: Time
    src: str
    seq: Int64


class RunStarted(Event, tag="run_started", frozen=True):
    """First line of every log: the run's identity and plan."""

    v: Int64
    run: str
    name: str = ""
    total: Count | None = None
    meta: dict[str, str] = {}


class TaskStarted(Event, tag="task_started", frozen=True):
    """A worker began an attempt at a task."""

    task: str
    worker: str = ""
    attempt: Attempt = 1


class TaskRetrying(Event, tag="task_retrying", frozen=True):
    """An attempt failed; another follows after ``backoff`` seconds."""

    task: str
    worker: str = ""
    attempt: Attempt = 1
    error: str = ""
    detail: str = ""  # the traceback or full output; ``error`` stays a one-line summary
    backoff: Seconds = 0.0


class TaskSucceeded(Event, tag="task_succeeded", frozen=True):
    """The task is done and succeeded."""

    task: str
    worker: str = ""


class TaskFailed(Event, tag="task_failed", frozen=True):
    """The task failed for good (no retry follows)."""

    task: str
    worker: str = ""
    error: str = ""
    detail: str = ""  # the traceback or full output; ``error`` stays a one-line summary


class TaskSkipped(Event, tag="task_skipped", frozen=True):
    """The task was not run."""

    task: str
    worker: str = ""
    reason: str = ""


class Log(Event, tag="log", frozen=True):
    """A free-form message, e.g. a line a command printed."""

    level: str = "info"
    msg: str = ""


class Mark(Event, tag="mark", frozen=True):
    """A labelled moment in the run; a seek target for replay."""

    label: str


class Metric(Event, tag="metric", frozen=True):
    """A custom counter increment or gauge value, with labels."""

    name: str
    kind: Literal["counter", "gauge"] = "counter"
    value: float = 1.0
    labels: dict[str, str] = {}


class TotalChanged(Event, tag="total_changed", frozen=True):
    """The planned task count changed."""

    total: Count | None


INTERRUPTED = "interrupted"  # a run_finished status: stopped from outside, not failed


class RunFinished(Event, tag="run_finished", frozen=True):
    """Last event of a run: how it ended (``INTERRUPTED`` reads as incomplete)."""

    status: str = "ok"
    exit_status: Int64 | None = None


AnyEvent = (
    RunStarted
    | TaskStarted
    | TaskRetrying
    | TaskSucceeded
    | TaskFailed
    | TaskSkipped
    | Log
    | Mark
    | Metric
    | TotalChanged
    | RunFinished
)

EVENT_TYPES: tuple[type[Event], ...] = (
    RunStarted,
    TaskStarted,
    TaskRetrying,
    TaskSucceeded,
    TaskFailed,
    TaskSkipped,
    Log,
    Mark,
    Metric,
    TotalChanged,
    RunFinished,
)
