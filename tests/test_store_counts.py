"""``task_counts`` (the tasks view's counts per status) equals a count of the ``tasks``
rows after every first build and every extension: the builder adds the rows it writes
per status and a trigger takes off the rows a write updates (an open task written as
running, then ended; a reopened failure; a re-run), on the fixture logs and on random
logs cut at random points and at every event. And an extension that writes rows of
tasks written before (anywhere in its statements) holds the rows a build at once does."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_store import story, write
from test_store_summary import T0
from test_store_summary import run as random_run

from recorder.events import (
    AnyEvent,
    RunStarted,
    TaskFailed,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
)
from replay.sources.file import read_batches
from replay.store import build
from replay.store.access import build_to
from replay.store.moving import MovingStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
UNREADABLE = {"future_version.jsonl"}  # a newer format: no store is built of it
LOGS = sorted(p.name for p in FIXTURES.glob("*.jsonl") if p.name not in UNREADABLE)


def run(seed: int, steps: int) -> list[AnyEvent]:
    """test_store_summary's random run (restarts, reopened failures), as a log."""
    start = RunStarted(t=T0, src="s", seq=0, v=1, run="r", name="counts")
    return [start, *random_run(seed, steps, 0.0)]


def check(conn: sqlite3.Connection) -> None:
    kept = conn.execute("SELECT status, n FROM task_counts WHERE n != 0 ORDER BY 1").fetchall()
    counted = conn.execute("SELECT status, count(*) FROM tasks GROUP BY 1 ORDER BY 1").fetchall()
    assert kept == counted
    (negative,) = conn.execute("SELECT count(*) FROM task_counts WHERE n < 0").fetchone()
    assert negative == 0


def cut_and_check(log: Path, events: list[Any], cuts: list[int], lenient: bool = False) -> None:
    """A first build of the first ``cuts[0]`` events, extended to each later cut."""
    store = MovingStore(str(log), lenient=lenient)
    try:
        at = cuts[0]
        check(store.start(at))
        for cut in cuts[1:]:
            store.feed(events[at:cut])
            at = cut
            check(store.conn)
    finally:
        store.close()


@pytest.mark.parametrize("name", LOGS)
def test_the_counts_of_the_fixture_logs(name: str) -> None:
    log = FIXTURES / name
    events = [e for batch in read_batches(str(log), lenient=True) for e in batch]
    n = len(events)
    for first in sorted({0, 1, n // 3, n - 1, n} - {-1}):
        cut_and_check(log, events, [first, *sorted({first, (first + n) // 2, n} - {first})], True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    steps=st.integers(1, 300),
    shape=st.sampled_from(["run", "story"]),
    cuts=st.lists(st.floats(0, 1), min_size=1, max_size=6),
)
def test_the_counts_after_a_first_build_and_its_extensions(
    tmp_path_factory: pytest.TempPathFactory, seed: int, steps: int, shape: str, cuts: list[float]
) -> None:
    events = run(seed, steps) if shape == "run" else story(seed, steps)
    log = write(tmp_path_factory.mktemp("counts") / "run.jsonl", events)
    points = sorted({int(c * len(events)) for c in cuts} | {len(events)})
    cut_and_check(log, events, points)


@pytest.mark.parametrize("seed", range(6))
def test_the_counts_with_a_cut_at_every_event(tmp_path: Path, seed: int) -> None:
    """Each event its own extension: every task open at some cut, written and replaced."""
    events = run(seed, 120) if seed % 2 else story(seed, 120)
    log = write(tmp_path / "run.jsonl", events)
    cut_and_check(log, events, list(range(len(events) + 1)))
    for first in (len(events) // 4, len(events) // 2):  # a first build with open tasks, too
        cut_and_check(log, events, list(range(first, len(events) + 1)))


def passes(seed: int, tasks: int) -> list[AnyEvent]:
    """Tasks run again under the same names (attempt 1; attempt 2 after some failures), on
    3 workers, a few at a time: succeeded, failed, skipped or left running; a task's row
    is written again."""
    rng = random.Random(seed)
    out: list[AnyEvent] = [RunStarted(t=T0, src="s", seq=1, v=1, run="r", name="again")]
    running: list[tuple[str, str]] = []
    for i in range(3 * tasks):
        t = T0 + len(out)
        again = i >= tasks and rng.random() < 0.2  # most are new: rows in long statements
        name = f"t{rng.randrange(tasks) if again else i}"
        if name not in {n for n, _ in running}:
            worker = f"w{rng.randrange(3)}"
            out.append(TaskStarted(t=t, src="s", seq=len(out) + 1, task=name, worker=worker))
            running.append((name, worker))
        if len(running) > 4 or rng.random() < 0.5:
            name, worker = running.pop(rng.randrange(len(running)))
            end = rng.choice([TaskSucceeded, TaskSucceeded, TaskFailed, TaskSkipped])
            fields: dict[str, Any] = {"error": "IOError: disk full"} if end is TaskFailed else {}
            if end is TaskSkipped:
                fields["reason"] = "cached"
            else:
                fields["worker"] = worker
            out.append(end(t=t + 0.5, src="s", seq=len(out) + 1, task=name, **fields))
            if end is TaskFailed and rng.random() < 0.3:  # a re-run of the failure
                rerun = TaskStarted(t=t + 0.7, src="s", seq=len(out) + 1, task=name, attempt=2)
                out.append(rerun)
                running.append((name, ""))
    return out


TABLES = ("tasks", "multi_attempts", "busy", "workers", "signatures", "signature_tasks")


def rows(conn: sqlite3.Connection) -> dict[str, list[Any]]:
    return {t: sorted(conn.execute(f"SELECT * FROM {t}"), key=repr) for t in TABLES}


@pytest.mark.parametrize("seed", range(4))
def test_an_extension_writing_tasks_again_holds_what_a_build_at_once_does(
    tmp_path: Path, seed: int
) -> None:
    events = passes(seed, 600)
    log = write(tmp_path / "run.jsonl", events)
    build_to(str(log), str(tmp_path / "whole.sqlite"))
    want = rows(sqlite3.connect(tmp_path / "whole.sqlite"))
    rng = random.Random(seed)
    cuts = sorted({rng.randrange(len(events)) for _ in range(4)} | {len(events)})
    store = MovingStore(str(log))
    try:
        at = cuts[0]
        check(store.start(at))
        for cut in cuts[1:]:
            store.feed(events[at:cut])  # hundreds of rows a statement, some written before
            at = cut
            check(store.conn)
        assert rows(store.conn) == want
    finally:
        store.close()


def extended(log: Path, events: list[AnyEvent], seed: int) -> list[str]:
    """The store of ``log`` built to a random cut, then extended to the next ones."""
    rng = random.Random(seed)
    cuts = sorted({rng.randrange(len(events)) for _ in range(8)} | {len(events)})
    store = MovingStore(str(log))
    try:
        at = cuts[0]
        store.start(at)
        for cut in cuts[1:]:
            store.feed(events[at:cut])
            at = cut
            check(store.conn)
        return sorted(store.conn.iterdump())
    finally:
        store.close()


@pytest.mark.parametrize("shape", ["passes", "run", "story"])
def test_the_stored_failures_read_when_needed_give_the_store_read_at_once_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    """An extension reads the store's latest failures (what a re-run can reopen) only
    when a re-run needs them or before it writes a failed task's row again: the same
    stores as reading them first, with rows written in many flushes between."""
    monkeypatch.setattr(build, "FLUSH_ROWS", 5)
    load = build.Builder._load_open

    def at_once(builder: build.Builder) -> None:
        load(builder)
        builder._recent()

    for seed in range(3):
        made = {"passes": passes(seed, 300), "run": run(seed, 400), "story": story(seed, 400)}
        events = made[shape]
        log = write(tmp_path / f"{shape}{seed}.jsonl", events)
        when_needed = extended(log, events, seed)
        with monkeypatch.context() as m:
            m.setattr(build.Builder, "_load_open", at_once)
            assert extended(log, events, seed) == when_needed


def test_a_failed_task_written_again_before_its_re_run_is_still_reopened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure in the store, its task skipped and run again (its row written again, in
    a flush before the re-run), then re-run (attempt 2): the store's failures are read
    before that row is written, so the re-run finds the failure as reading them first
    does."""

    def e(cls: Any, **fields: Any) -> AnyEvent:
        return cls(t=T0 + len(events), src="s", seq=len(events) + 1, **fields)  # type: ignore[no-any-return]

    events: list[AnyEvent] = []
    events.append(e(RunStarted, v=1, run="r", name="edge"))
    events.append(e(TaskStarted, task="t1", worker="w"))
    events.append(e(TaskFailed, task="t1", worker="w", error="IOError: disk full"))
    cut = len(events)
    events.append(e(TaskStarted, task="t1", worker="w"))
    events.append(e(TaskSkipped, task="t1", reason="cached"))
    events.append(e(TaskStarted, task="t1", worker="w"))
    events.append(e(TaskSucceeded, task="t1", worker="w"))  # its skipped row written first
    events.append(e(TaskStarted, task="t1", worker="w", attempt=2))
    events.append(e(TaskSucceeded, task="t1", worker="w"))
    log = write(tmp_path / "edge.jsonl", events)

    def built() -> list[str]:
        store = MovingStore(str(log))
        try:
            store.start(cut)
            store.feed(events[cut:])
            check(store.conn)
            return sorted(store.conn.iterdump())
        finally:
            store.close()

    when_needed = built()
    load = build.Builder._load_open
    monkeypatch.setattr(build.Builder, "_load_open", lambda b: (load(b), b._recent())[0])
    assert built() == when_needed
