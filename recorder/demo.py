"""The demo run: real worker threads doing simulated work through the Recorder API.

Outcomes come from the seed alone (one random stream per task), so a given
``--seed`` fails and retries the same tasks every time, whatever thread runs them.
"""

from __future__ import annotations

import json
import os
import queue
import random
import threading
from dataclasses import dataclass
from urllib.error import HTTPError

from recorder.detail import error_line, traceback_text
from recorder.writer import Recorder

# The errors a task can meet, raised for real (``_fetch``), so each failure carries the
# traceback Python prints, as a real worker's would.
ERRORS = (
    (TimeoutError, "upstream took longer than 5.0s"),
    (ConnectionResetError, 104, "Connection reset by peer"),
    (ValueError, "checksum mismatch in part 3"),
    (HTTPError, "https://upstream.example/inputs", 503, "Service Unavailable", None, None),
)
MAX_ATTEMPTS = 3
NAME = "demo"  # the run's name, which tells a demo log from any other
META = ("seed", "workers")  # the keys of its meta, in order


def replaceable(path: str) -> bool:
    """Whether the demo may write over ``path``: nothing there, an empty file, or a log an
    earlier demo wrote (its first event says so). Anything else may be someone's only
    copy of a run, so the demo leaves it alone unless told to replace it."""
    try:
        if os.path.getsize(path) == 0:
            return True
        with open(path, "rb") as f:
            first = f.readline(65536)
    except FileNotFoundError:
        return True
    except OSError:
        return False  # unreadable: not known to be a demo log
    try:
        event = json.loads(first)
    except ValueError:
        return False
    return (
        isinstance(event, dict)
        and event.get("type") == "run_started"
        and event.get("name") == NAME
        and isinstance(event.get("meta"), dict)
        and tuple(event["meta"]) == META
    )


@dataclass(frozen=True)
class Plan:
    """What the demo does; the same plan and seed give the same outcomes."""

    tasks: int = 60
    workers: int = 6
    fail_rate: float = 0.05
    retry_rate: float = 0.15
    seed: int = 1
    pace: float = 1.0  # multiplies every simulated duration


@dataclass(frozen=True)
class Script:
    """One task's fate: durations of its attempts, backoffs between them, and the end."""

    task: str
    durations: tuple[float, ...]
    errors: tuple[int, ...]  # one per failed attempt: its index in ERRORS
    fails: bool


def script(plan: Plan, index: int) -> Script:
    """The fate of task ``index`` under ``plan``: a pure function of the seed."""
    rng = random.Random(f"{plan.seed}:{index}")
    attempts = 1
    while attempts < MAX_ATTEMPTS and rng.random() < plan.retry_rate:
        attempts += 1
    fails = rng.random() < plan.fail_rate
    durations = tuple(rng.uniform(0.1, 0.6) * plan.pace for _ in range(attempts))
    errors = tuple(rng.randrange(len(ERRORS)) for _ in range(attempts - 1 + fails))
    return Script(f"task-{index:04d}", durations, errors, fails)


def backoff(plan: Plan, attempt: int) -> float:
    """Exponential backoff after failed attempt ``attempt``."""
    return 0.4 * 2.0 ** (attempt - 1) * plan.pace


def run(rec: Recorder, plan: Plan, stop: threading.Event | None = None) -> None:
    """Run the plan on ``plan.workers`` threads; returns when all tasks ended or ``stop``."""
    stop = stop or threading.Event()
    todo: queue.Queue[int] = queue.Queue()
    for i in range(plan.tasks):
        todo.put(i)
    done = [0]
    lock = threading.Lock()

    def worker(name: str) -> None:
        while not stop.is_set():
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            _perform(rec, plan, script(plan, index), name, stop)
            with lock:
                done[0] += 1
                if done[0] == plan.tasks // 2:
                    rec.mark("halfway")
                    rec.log(f"halfway: {done[0]} of {plan.tasks} tasks done")
            rec.metric("items_processed", 1, labels={"worker": name})
            rec.metric("queue_depth", float(todo.qsize()), kind="gauge")

    threads = [
        threading.Thread(target=worker, args=(f"worker-{n + 1}",), daemon=True)
        for n in range(plan.workers)
    ]
    rec.log(f"{plan.tasks} tasks on {plan.workers} workers (seed {plan.seed})")
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.1)
    if not stop.is_set():
        rec.log("every task has ended")


def _perform(rec: Recorder, plan: Plan, s: Script, worker: str, stop: threading.Event) -> None:
    last = len(s.durations)
    for attempt, duration in enumerate(s.durations, start=1):
        rec.task_started(s.task, worker=worker, attempt=attempt)
        if stop.wait(duration):
            return  # interrupted: the task stays in flight, as it truly is
        if attempt == last:
            if s.fails:
                error, detail = _failure(s.task, s.errors[-1])
                rec.failed(s.task, worker=worker, error=error, detail=detail)
                tries = "1 attempt" if attempt == 1 else f"{attempt} attempts"
                rec.log(f"{s.task} failed for good after {tries}", level="error")
            else:
                rec.succeeded(s.task, worker=worker)
            return
        pause = backoff(plan, attempt)
        error, detail = _failure(s.task, s.errors[attempt - 1])
        rec.retry(s.task, worker=worker, attempt=attempt, error=error, backoff=pause, detail=detail)
        rec.log(f"{s.task}: attempt {attempt} failed, retrying in {pause:.1f}s", level="warning")
        if stop.wait(pause):
            return


def _failure(task: str, which: int) -> tuple[str, str]:
    """The one-line error and the traceback of ``task`` meeting error ``which``."""
    try:
        _fetch(task, which)
    except Exception as exc:
        return error_line(exc), traceback_text(exc)
    raise AssertionError("_fetch always raises")  # pragma: no cover


def _fetch(task: str, which: int) -> None:
    """Download a task's input: the simulated call that fails."""
    _call_upstream(f"/inputs/{task}", which)


def _call_upstream(path: str, which: int) -> None:
    kind, *args = ERRORS[which]
    raise kind(*args)
