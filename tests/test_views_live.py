"""What a live view costs: its store written and read once a step, its lines drawn once.

The views' CPU is measured in bench/views.py; these tests check the rules that keep it
low (and that they change nothing a view shows): a live view's store takes the events
of many polls in one write, its record is read at most once per step of the session's
clock while events stream (at once when the viewer acts or the run ends), and a view's
lines are reused while its record and size stay the same.
"""

from __future__ import annotations

import io
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import fixture, run_runreel
from rich.console import Console
from test_store_summary import run as random_run
from test_views import Clock, press, screen

from replay.core import viewstate as vs
from replay.core.metrics import Metrics
from replay.core.views import kept
from replay.core.views.postmortem import page
from replay.core.when import END, START, parse_when
from replay.index.cursor import Cursor
from replay.index.store import load_or_build
from replay.sessions.live import LiveSession
from replay.sessions.pages import SETTLE, SHARE, STALE, Pages
from replay.sessions.replay import ReplaySession
from replay.sources.file import read_batches
from replay.sources.follow import Follower
from replay.store import asof, queries
from replay.store.moving import HOLD, MovingStore
from replay.store.pages import read, record_at

W, H = 120, 40


def events() -> list[object]:
    return [e for batch in read_batches(fixture("postmortem")) for e in batch]


def test_added_events_are_written_when_the_store_is_read_and_answer_as_fed_ones() -> None:
    every = events()
    added, fed = MovingStore(None), MovingStore(None)
    try:
        added.start()
        for i in range(0, len(every), 7):  # as many small polls
            added.add(every[i : i + 7])
        assert added.events == 0 and added.held == len(every)  # nothing written yet
        fed.feed(every)
        for view in ("failures", "tasks", "workers", "log"):
            state = vs.show(vs.ViewState(), view)
            now = 1_700_000_500.0
            assert read(added.conn, state, now) == read(fed.conn, state, now)
        assert added.events == len(every)
    finally:
        added.close()
        fed.close()


def test_added_events_are_written_once_hold_of_them_wait() -> None:
    every = events()
    store = MovingStore(None)
    try:
        store.start()
        batch = every[:100]
        added = 0
        while added + len(batch) < HOLD:
            store.add(batch)
            added += len(batch)
        assert store.events == 0
        store.add(batch)
        assert store.events == added + len(batch) and store.held == store.events
    finally:
        store.close()


class Reads:
    """A store connection that counts how often a view asked for it."""

    def __init__(self, store: MovingStore) -> None:
        self.store, self.n = store, 0

    def __call__(self, view: str) -> tuple[sqlite3.Connection, None]:
        self.n += 1
        return self.store.conn, None


def test_a_live_view_is_read_once_a_step_while_events_stream(tmp_path: Path) -> None:
    store = MovingStore(None)
    every = events()
    store.feed(every[:300])
    pages, conn, clock = Pages(), Reads(store), Clock(100.0)
    pages.state = vs.show(pages.state, "tasks")
    try:
        pages.record(conn, 300, 10.0, clock)
        assert conn.n == 1
        for position in range(301, 320):  # events arrive within the step: no read
            clock.t += SETTLE / 40
            pages.record(conn, position, 10.0 + position / 1000, clock)
        assert conn.n == 1
        clock.t = 101.0
        pages.record(conn, 320, 11.0, clock)
        assert conn.n == 2  # a new step with new events
        clock.t = 102.0
        pages.record(conn, 320, 12.0, clock)
        assert conn.n == 2  # no event since: the record stands ...
        clock.t = 101.0 + STALE
        pages.record(conn, 320, 16.0, clock)
        assert conn.n == 3  # ... for STALE seconds
        pages.state = vs.next_sort(pages.state)
        pages.record(conn, 321, 16.1, clock)
        assert conn.n == 4  # the viewer acted: at once
        pages.record(conn, 330, 16.2, clock, final=True)
        assert conn.n == 5  # the run ended: its last events at once
        clock.t += STALE
        pages.record(conn, 330, 16.2, clock, final=True)
        assert conn.n == 5  # and nothing more after that
    finally:
        store.close()


class SlowReads(Reads):
    """Reads whose every statement takes ``cost`` seconds of the clock."""

    def __init__(self, store: MovingStore, clock: Clock, cost: float) -> None:
        super().__init__(store)
        self.clock, self.cost, self.statements = clock, cost, 0

        def statement(sql: str) -> None:
            self.clock.t += cost
            self.statements += 1

        store.conn.set_trace_callback(statement)


def test_a_slow_read_waits_so_that_reads_take_at_most_their_share_of_a_core() -> None:
    store = MovingStore(None)
    store.feed(events()[:300])
    clock = Clock(100.0)
    pages, conn = Pages(), SlowReads(store, clock, 0.01)
    pages.state = vs.show(pages.state, "workers")
    try:
        position, reads_at = 300, []
        while clock.t < 160.0:
            position += 10  # events stream all along
            before = conn.n
            pages.record(conn, position, clock.t, clock)
            if conn.n > before:
                reads_at.append(clock.t)
            clock.t += 0.1
        busy = conn.statements * conn.cost
        assert conn.n > 3 and busy / (clock.t - 100.0) <= SHARE * 1.2  # within the share
        gaps = [b - a for a, b in zip(reads_at, reads_at[1:], strict=False)]
        assert min(gaps) >= busy / conn.n / SHARE * 0.9
    finally:
        store.close()


def test_a_live_view_shows_the_whole_log_once_the_run_ends(tmp_path: Path) -> None:
    lines = Path(fixture("postmortem")).read_bytes().splitlines(keepends=True)
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"".join(lines[:300]))
    mono = Clock(0.0)
    s = LiveSession(Follower(str(path)), wall=Clock(1_700_000_000.0), mono=mono)
    s.keys = True
    s.tick()
    press(s, "f")
    screen(s)
    with open(path, "ab") as f:
        f.write(b"".join(lines[300:400]))
    s.tick()
    screen(s)
    assert s.store.events == 300  # the same step: the store waits
    mono.t += SETTLE
    screen(s)
    assert s.store.events == s.metrics.events == 400
    with open(path, "ab") as f:
        f.write(b"".join(lines[400:]))
    while s.metrics.events < len(lines):
        s.tick()
    screen(s)  # the run ended: read at once, whatever the step
    assert s.metrics.finished and s.store.events == len(lines)
    assert s.pages.last() == record_at(str(path), END, s.pages.state, s.now())
    s.close()


def test_kept_lines_are_the_lines_rich_draws_and_are_drawn_once() -> None:
    every = events()
    store = MovingStore(None)
    store.feed(every)
    try:
        now = 1_700_000_400.0
        m = Metrics()
        for view in ("failures", "tasks", "workers", "log"):
            state = vs.show(vs.ViewState(), view)
            record = read(store.conn, state, now)
            kept.forget()
            frames = []
            for _ in range(2):
                console = Console(
                    file=io.StringIO(), width=W, height=H, color_system="truecolor", _environ={}
                )
                with console.capture() as cap:
                    console.print(page(state, m, now, record), height=H)
                frames.append(cap.get())
            assert len(kept._LINES) == 1  # the second frame reused the first one's lines
            plain = Console(
                file=io.StringIO(), width=W, height=H, color_system="truecolor", _environ={}
            )
            kept.forget()
            original = kept.Kept
            try:  # drawn without keeping: the same bytes
                kept_off = page(state, m, now, record)
                body = kept_off.children[2].renderable  # type: ignore[attr-defined]
                assert isinstance(body, original)
                kept_off.children[2].update(body.body)  # type: ignore[attr-defined]
                with plain.capture() as cap:
                    plain.print(kept_off, height=H)
                assert cap.get() == frames[0] == frames[1]
            finally:
                kept.forget()
    finally:
        store.close()


def test_the_tasks_filter_matches_the_error_of_any_attempt(tmp_path: Path) -> None:
    store = MovingStore(None)
    store.feed(events())
    try:
        conn = store.conn
        word = "connectionerror"
        attempts = {
            t
            for (t,) in conn.execute(
                "SELECT task FROM attempts WHERE instr(lower(coalesce(error, '')), ?)", (word,)
            )
        }
        finals = {
            t
            for (t,) in conn.execute(
                "SELECT task FROM tasks WHERE instr(lower(coalesce(error, '')), ?)", (word,)
            )
        }
        assert finals < attempts  # tasks retried after it and then done: no final error
        state = vs.ViewState(view="tasks", grep="ConnectionError")
        page_ = read(conn, state, 1_700_000_400.0).tasks
        assert page_.total == len(attempts)
        assert {r.task for r in page_.rows} == attempts
        rows = queries.tasks(conn, grep="ConnectionError")
        assert {r["task"] for r in rows} == attempts
    finally:
        store.close()


def test_a_worker_without_a_name_reads_main_in_the_views(tmp_path: Path) -> None:
    lines = [
        '{"type":"run_started","v":1,"run":"r","name":"n","t":1700000000.0,"src":"m","seq":1}',
        '{"type":"task_started","task":"a","worker":"","attempt":1,"t":1700000001.0,'
        '"src":"m","seq":2}',
        '{"type":"task_failed","task":"a","worker":"","error":"Boom","t":1700000002.0,'
        '"src":"m","seq":3}',
    ]
    path = tmp_path / "main.jsonl"
    path.write_text("\n".join(lines) + "\n")
    store = MovingStore(None)
    store.feed([e for batch in read_batches(str(path)) for e in batch])
    try:
        now = 1_700_000_003.0
        for view, rows in (("workers", 2), ("tasks", 1), ("failures", 1)):
            state = vs.show(vs.ViewState(), view)
            record = read(store.conn, state, now)
            console = Console(file=io.StringIO(), width=W, height=H, _environ={})
            with console.capture() as cap:
                console.print(page(state, Metrics(), now, record), height=H)
            assert cap.get().count("(main)") >= rows, view
    finally:
        store.close()


# As of event N from the whole log's store ---------------------------------------------


def test_log_and_timeline_as_of_n_from_the_whole_store_equal_a_store_of_n_events() -> None:
    """The views whose rows carry event numbers answer from the kept store: the same
    records as a store built up to N, at random N, levels, searches and selections."""
    every = events()
    whole = MovingStore(None)
    whole.feed(every)
    rng = random.Random(15)
    try:
        states = [vs.show(vs.ViewState(), "timeline")]
        for level in vs.LEVELS:
            for search in ("", "e", "db"):
                state = vs.ViewState(view="log", level=level, search=search)
                states += [state, vs.select(state, rng.randrange(0, 12))]
        for n in sorted(rng.sample(range(1, len(every)), 12)) + [len(every)]:
            part = MovingStore(None)
            try:
                part.feed(every[:n])
                now = every[n - 1].t + rng.random() * 5  # type: ignore[attr-defined]
                for state in states:
                    assert read(whole.conn, state, now, upto=n) == read(part.conn, state, now)
            finally:
                part.close()
        state = vs.show(vs.ViewState(), "tasks")
        with pytest.raises(ValueError, match="needs a store of the first"):
            read(whole.conn, state, 0.0, upto=5)
    finally:
        whole.close()


@pytest.mark.parametrize("view", ["tasks", "log", "timeline"])
def test_a_replay_seeking_back_reads_from_the_kept_store_what_snapshot_reads(
    view: str, tmp_path: Path
) -> None:
    path = tmp_path / "postmortem.jsonl"
    path.write_bytes(Path(fixture("postmortem")).read_bytes())
    assert run_runreel(["index", str(path)]).returncode == 0
    s = ReplaySession(Cursor(load_or_build(str(path))), start=START, stop=END, mono=Clock())
    s.keys = True
    s.to_end()
    press(s, view[0] if view != "timeline" else "i")
    for n in (s.cursor.count - 100, 120, 450, s.cursor.count):
        s.seek_event(n)
        screen(s)
        expected = record_at(str(path), parse_when(f"#{n}"), s.pages.state, s.vt)
        assert s.pages.last() == expected, (view, n)
    assert not s.store.started  # nothing was built: the kept store answered
    press(s, "w")
    s.seek_event(300)
    screen(s)
    assert s.store.started  # the workers view needs a store of exactly those events
    s.close()


def log_events(name: str) -> list[Any]:
    """A fixture's events, or (``random-SEED``) a random run with retries, re-runs of
    failures, restarts and skips (tests/test_store_summary.py)."""
    if name.startswith("random-"):
        return list(random_run(int(name.split("-")[1]), 400, 3.0))
    return [e for batch in read_batches(fixture(name)) for e in batch]


@pytest.mark.parametrize(
    "name",
    ["postmortem", "with_retries", "busy_run", "partial_failure", "random-1", "random-2"],
)
def test_tasks_as_of_n_from_the_whole_store_equal_a_store_of_n_events(
    name: str, tmp_path: Path
) -> None:
    """The tasks list (every order, filter and group) and a task's detail as of random N,
    read through ``asof.overlay``, equal what a store of the first N events reads."""
    every = log_events(name)
    whole = MovingStore(None)
    whole.feed(every)
    rng = random.Random(name)
    try:
        kept = whole._path()
        sigs = [s for (s,) in whole.conn.execute("SELECT signature FROM signatures")]
        checked = changed = 0
        for n in sorted(rng.sample(range(1, len(every)), min(15, len(every) - 1))):
            conn = asof.overlay(
                kept, whole.conn, n, str(tmp_path / "small.sqlite"), lambda a, b: every[a:b]
            )
            assert conn is not None
            changed += conn.execute("SELECT count(*) FROM temp.changed").fetchone()[0] > 0
            part = MovingStore(None)
            try:
                part.feed(every[:n])
                now = every[n - 1].t + 1.5  # type: ignore[attr-defined]
                states = [vs.ViewState(view="tasks", sort=sort) for sort in vs.SORTS]
                states += [vs.ViewState(view="tasks", grep=g) for g in ("error", "img-00", "x")]
                states += [vs.ViewState(view="tasks", signature=s) for s in sigs[:3]]
                states += [vs.select(s, rng.randrange(0, 50)) for s in states[:4]]
                names = [t for (t,) in part.conn.execute("SELECT task FROM tasks")]
                states += [
                    vs.ViewState(view="task", task=t) for t in rng.sample(names, min(5, len(names)))
                ]
                for state in states:
                    assert read(conn, state, now) == read(part.conn, state, now), (n, state)
                    checked += 1
            finally:
                part.close()
                conn.close()
        assert checked and changed  # tasks open at some N, read from the small store
    finally:
        whole.close()


@pytest.mark.parametrize("view", ["failures", "tasks", "workers", "log"])
def test_equal_live_view_frame_keys_draw_equal_frames(tmp_path: Path, view: str) -> None:
    """A view's frame key leaves out the events folded between reads of its store (they
    draw nothing new), and equal keys still draw the same bytes, styles and all."""
    lines = Path(fixture("postmortem")).read_bytes().splitlines(keepends=True)
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"".join(lines[:100]))
    mono = Clock(0.0)
    s = LiveSession(Follower(str(path)), wall=Clock(1_700_000_000.0), mono=mono)
    s.keys = True
    s.tick()
    press(s, view[0])
    console = Console(
        file=io.StringIO(), width=W, height=H, color_system="truecolor", force_terminal=True
    )
    seen: dict[object, str] = {}
    changes = set()
    try:
        for i in range(100, len(lines) + 80):
            if i < len(lines):  # an event a step, then none
                with open(path, "ab") as f:
                    f.write(lines[i])
            mono.t += 0.07
            s.tick()
            key = s.frame_key()  # taken before drawing, as the loop does
            with console.capture() as cap:
                console.print(s.view(), height=H)
            frame = cap.get()
            if key in seen:
                assert seen[key] == frame, f"the frame changed but its key did not, step {i}"
            seen[key] = frame
            changes.add(s.changes)
        assert s.metrics.finished
        assert 3 < len(seen) < len(changes) / 3  # far fewer frames than folds
    finally:
        s.close()
