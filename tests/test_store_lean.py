"""A lean store (without the workers' figures, ``store.lean``) answers every other view
as a whole store does, and a live session builds the store again, whole, for the
workers view."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from conftest import fixture
from test_live_store import shown
from test_store import story, write
from test_store_extend import answers
from test_store_summary import run as random_run
from test_views import Clock, press

from recorder.events import RunStarted
from replay.core import viewstate as vs
from replay.core.when import END
from replay.sessions.live import LiveSession
from replay.sources.file import read_batches
from replay.sources.follow import Follower
from replay.store.access import build_to
from replay.store.moving import MovingStore
from replay.store.pages import read, record_at
from replay.store.queries import open_read_only

ONLY_WORKERS = ("lanes ", "work worker ")  # what only the workers view reads


def _started(events: list[Any]) -> list[Any]:
    """``events`` as a log: a run_started first."""
    return [RunStarted(t=events[0].t, src="r", seq=1, v=1, run="r", name="lean"), *events]


def _but_workers(text: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(text)
    return {k: v for k, v in found.items() if not k.startswith(ONLY_WORKERS)}


@pytest.mark.parametrize(
    "events",
    [
        story(3, 700),
        story(8, 900),
        _started(random_run(5, 900, 3.0)),
        _started(random_run(12, 700, 0.0)),
    ],
    ids=["story-3", "story-8", "jittered", "in-order"],
)
def test_a_lean_store_fed_in_polls_answers_all_but_the_workers_view_as_a_whole_one(
    tmp_path: Path, events: list[Any]
) -> None:
    log = write(tmp_path / "run.jsonl", events)
    whole = str(tmp_path / "whole.sqlite")
    build_to(str(log), whole)
    lean = MovingStore(str(log))
    try:
        lean.start(whole=False)
        rng, i = random.Random(1), 0
        while i < len(events):  # polls of every size, each written before the next
            n = rng.randrange(1, 60)
            lean.add(events[i : i + n])
            i += n
            if rng.random() < 0.3:
                _ = lean.conn  # writes what was added
        assert not lean.whole
        expected = open_read_only(whole)
        try:
            assert _but_workers(answers(lean.conn)) == _but_workers(answers(expected))
            (workers,) = lean.conn.execute("SELECT count(*) FROM workers").fetchone()
            assert workers == 0  # nothing per worker was written
        finally:
            expected.close()
    finally:
        lean.close()


def test_a_store_without_a_log_to_read_again_stays_whole() -> None:
    store = MovingStore(None)
    try:
        store.start(whole=False)
        store.lean()
        assert store.whole
    finally:
        store.close()


def test_the_workers_view_builds_the_store_again_whole_and_others_go_lean(
    tmp_path: Path,
) -> None:
    lines = Path(fixture("postmortem")).read_bytes().splitlines(keepends=True)
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"".join(lines[:250]))
    mono = Clock(0.0)
    s = LiveSession(Follower(str(path)), wall=Clock(1e9), mono=mono)
    s.keys = True
    try:
        s.tick()
        press(s, "t")
        shown(s, mono)
        assert s.store.started and not s.store.moving.whole
        with open(path, "ab") as f:
            f.write(b"".join(lines[250:]))
        while s.metrics.events < len(lines):
            s.tick()
        assert s.metrics.finished
        press(s, "w")
        shown(s, mono)
        assert s.store.moving.whole and s.store.held == len(lines)
        assert s.pages.last() == record_at(str(path), END, s.pages.state, s.now())
        press(s, "f")
        shown(s, mono)
        assert not s.store.moving.whole
        assert s.pages.last() == record_at(str(path), END, s.pages.state, s.now())
    finally:
        s.close()


def test_every_view_reads_the_same_from_a_lean_live_store_as_from_the_log(
    tmp_path: Path,
) -> None:
    every = [e for batch in read_batches(fixture("postmortem")) for e in batch]
    log = write(tmp_path / "run.jsonl", every)
    lean = MovingStore(str(log))
    try:
        lean.start(len(every) // 2, whole=False)
        lean.add(every[len(every) // 2 :])
        now = every[-1].t
        for view in ("failures", "tasks", "log", "timeline"):
            state = vs.show(vs.ViewState(), view)
            assert read(lean.conn, state, now) == record_at(str(log), END, state, now)
    finally:
        lean.close()
