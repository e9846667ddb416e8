"""``task_counts`` (the tasks view's counts per status) equals a count of the ``tasks``
rows after every first build and every extension: the builder adds the rows it writes
per status and a trigger takes off the rows a write replaces (an open task written as
running, then ended; a reopened failure; a re-run), on the fixture logs and on random
logs cut at random points and at every event."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_store import story, write
from test_store_summary import T0
from test_store_summary import run as random_run

from recorder.events import AnyEvent, RunStarted
from replay.sources.file import read_batches
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
