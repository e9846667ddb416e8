"""The events of one import: ``src``, ``seq`` 1..N, task ids, attempts and outcomes.

Every format module feeds an Emitter what it reads, in test keys; the Emitter keeps the
bookkeeping that makes the events a valid runreel run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import msgspec

from recorder.detail import bounded
from recorder.events import (
    FORMAT_VERSION,
    AnyEvent,
    Log,
    Mark,
    Metric,
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
    TotalChanged,
)

Outcome = Literal["succeeded", "failed", "skipped"]


@dataclass(slots=True)
class _Task:
    id: str
    attempt: int = 1
    runs: int = 1
    open: bool = True
    last: Outcome | None = None
    worker: str = ""


class Emitter:
    """Builds the events of one import: ``src``, ``seq`` 1..N, attempts and outcomes.

    Importers speak in test keys (a node id, a test name); the emitter turns them into task
    ids and attempts. A test that starts again after it failed is the next attempt of the
    same task, so the fold counts the earlier failure as a retry (gotestsum --rerun-fails,
    pytest-rerunfailures). A test that starts again after it passed or was skipped (``go
    test -count=2``) is a new task ``KEY (run N)``.
    """

    def __init__(self, fmt: str, run: str, name: str, meta: dict[str, str] | None = None) -> None:
        self.src = f"import:{fmt}"
        self.seq = 0
        self.run, self.name = run, name
        self.meta = {"imported_from": fmt, **(meta or {})}
        self.tasks: dict[str, _Task] = {}
        self.task_count = 0  # task ids made so far (a key run again makes another)
        self.failed: set[str] = set()  # task ids whose last attempt failed
        self.count: dict[Outcome, int] = {"succeeded": 0, "failed": 0, "skipped": 0}
        self.started = False
        self.last_t = 0.0
        self.total: int | None = None

    def _stamp(self, t: float) -> tuple[float, int]:
        self.seq += 1
        if t > self.last_t:
            self.last_t = t
        return round(t, 6), self.seq

    # Run events ----------------------------------------------------------------

    def run_started(self, t: float, *, total: int | None = None) -> RunStarted:
        self.started = True
        self.total = total
        t, seq = self._stamp(t)
        return RunStarted(
            t=t,
            src=self.src,
            seq=seq,
            v=FORMAT_VERSION,
            run=self.run,
            name=self.name,
            total=total,
            meta=dict(self.meta),
        )

    def total_changed(self, t: float, total: int | None) -> TotalChanged:
        self.total = total
        t, seq = self._stamp(t)
        return TotalChanged(t=t, src=self.src, seq=seq, total=total)

    def run_finished(
        self, t: float, *, failed: bool = False, exit_status: int | None = None
    ) -> RunFinished:
        """The last event; status "failed" when a task failed for good or ``failed`` says so."""
        status = "failed" if failed or self.failed else "ok"
        t, seq = self._stamp(t)
        return RunFinished(t=t, src=self.src, seq=seq, status=status, exit_status=exit_status)

    def log(self, t: float, msg: str, level: str = "info") -> Log:
        t, seq = self._stamp(t)
        return Log(t=t, src=self.src, seq=seq, level=level, msg=msg)

    def mark(self, t: float, label: str) -> Mark:
        t, seq = self._stamp(t)
        return Mark(t=t, src=self.src, seq=seq, label=label)

    def gauge(self, t: float, name: str, value: float, labels: dict[str, str]) -> Metric:
        t, seq = self._stamp(t)
        return Metric(
            t=t, src=self.src, seq=seq, name=name, kind="gauge", value=value, labels=labels
        )

    # Task events -----------------------------------------------------------------

    def _reopen(self, key: str, worker: str) -> _Task:
        task = self.tasks.get(key)
        if task is None:
            task = self.tasks[key] = _Task(key)
            self.task_count += 1
        elif task.open:
            pass  # resumed (go's cont) or moved to another worker
        elif task.last == "failed":
            task.attempt += 1
            task.open = True
        else:
            task.runs += 1
            self.task_count += 1
            task.id, task.attempt, task.open = f"{key} (run {task.runs})", 1, True
        task.worker = worker
        return task

    def begin(self, t: float, key: str, worker: str = "") -> TaskStarted:
        """A test (re)starts; an open task started again moves to ``worker``."""
        task = self._reopen(key, worker)
        t, seq = self._stamp(t)
        return TaskStarted(
            t=t, src=self.src, seq=seq, task=task.id, worker=worker, attempt=task.attempt
        )

    def retry(
        self, t: float, key: str, error: str, backoff: float = 0.0, detail: str = ""
    ) -> TaskRetrying:
        """The current attempt failed and another one follows; ``detail`` is its full output."""
        task = self.tasks.get(key)
        if task is None:
            task = self.tasks[key] = _Task(key)
        task.open = True
        t, seq = self._stamp(t)
        event = TaskRetrying(
            t=t,
            src=self.src,
            seq=seq,
            task=task.id,
            worker=task.worker,
            attempt=task.attempt,
            error=error,
            detail=bounded(detail),
            backoff=backoff,
        )
        task.attempt += 1
        return event

    def end(
        self,
        t: float,
        key: str,
        outcome: Outcome,
        reason: str = "",
        worker: str | None = None,
        detail: str = "",
    ) -> TaskSucceeded | TaskFailed | TaskSkipped:
        """A test ended; ``reason`` is the error or the skip reason, ``detail`` a failure's
        full text (traceback, output), kept bounded."""
        task = self.tasks.get(key)
        if task is None or not task.open:  # ended without a start (e.g. skipped before setup)
            task = self._reopen(key, worker if worker is not None else "")
        task.open = False
        task.last = outcome
        w = task.worker if worker is None else worker
        t, seq = self._stamp(t)
        if outcome == "failed":
            self.failed.add(task.id)
            self.count["failed"] += 1
            return TaskFailed(
                t=t,
                src=self.src,
                seq=seq,
                task=task.id,
                worker=w,
                error=reason,
                detail=bounded(detail),
            )
        if task.id in self.failed:
            self.failed.discard(task.id)
            self.count["failed"] -= 1
        self.count[outcome] += 1
        if outcome == "skipped":
            return TaskSkipped(t=t, src=self.src, seq=seq, task=task.id, worker=w, reason=reason)
        return TaskSucceeded(t=t, src=self.src, seq=seq, task=task.id, worker=w)

    def task_id(self, key: str) -> str | None:
        """The current task id of a key, if it was seen."""
        task = self.tasks.get(key)
        return None if task is None else task.id

    def worker_of(self, key: str) -> str | None:
        """The worker a key's open task runs on; None when it is not running."""
        task = self.tasks.get(key)
        return task.worker if task is not None and task.open else None

    def is_open(self, key: str) -> bool:
        task = self.tasks.get(key)
        return task is not None and task.open

    def open_tasks(self) -> list[str]:
        """Task ids that started and did not end (the input stops in the middle)."""
        return [task.id for task in self.tasks.values() if task.open]

    def closing(
        self, t: float, *, failed: bool = False, exit_status: int | None = None
    ) -> list[AnyEvent]:
        """The final events: the real total when it was not known, then ``run_finished``."""
        out: list[AnyEvent] = []
        if self.total != self.task_count:
            out.append(self.total_changed(t, self.task_count))
        out.append(self.run_finished(t, failed=failed, exit_status=exit_status))
        return out


def task_count(events: Iterable[AnyEvent]) -> int:
    """How many tasks the events hold (a first pass over a report read from a file)."""
    ids = set()
    for event in events:
        if isinstance(event, _TASK_EVENTS):
            ids.add(event.task)
    return len(ids)


def stating_total(events: Iterable[AnyEvent], total: int) -> Iterator[AnyEvent]:
    """The events with ``total`` stated by ``run_started``, so a replay shows progress,
    remaining and ETA from the first event; the ``total_changed`` events that only learnt it
    along the way are left out (``seq`` stays 1..N)."""
    dropped = 0
    for event in events:
        if isinstance(event, RunStarted):
            event = msgspec.structs.replace(event, total=total)
        elif isinstance(event, TotalChanged):
            dropped += 1
            continue
        if dropped:
            event = msgspec.structs.replace(event, seq=event.seq - dropped)
        yield event


_TASK_EVENTS = (TaskStarted, TaskRetrying, TaskSucceeded, TaskFailed, TaskSkipped)
