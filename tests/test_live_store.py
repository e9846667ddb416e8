"""The live views' store is written only while a view that reads it is shown.

A session that went back to the overview stops writing it (the overview does not pay for
it); shown again, the store reads the log on from where it stopped, a part a frame, and
then answers what a store fed all along answers, also after the log was truncated or
replaced meanwhile. A stream (no file to read again) is fed all along.
"""

from __future__ import annotations

import io
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from conftest import fixture
from rich.console import Console
from test_store_summary import run as random_run
from test_views import Clock, press, screen

from recorder.codec import encode_all
from recorder.events import Mark, RunStarted
from replay.core import viewstate as vs
from replay.core.metrics import RECENT_MARKS
from replay.core.records import Record
from replay.core.views.postmortem import page
from replay.sessions.live import LiveSession
from replay.sessions.pages import SETTLE
from replay.sources.file import ReadReport, read_batches
from replay.sources.follow import Follower, Poll
from replay.store.following import FollowingStore
from replay.store.moving import MovingStore, Reading
from replay.store.pages import read

VIEWS = ("failures", "tasks", "workers", "timeline", "log")
T0 = 1_700_000_000.0


def random_lines(seed: int, steps: int, marks_every: int = 0) -> list[bytes]:
    """A random run (tests/test_store_summary.py) as log lines, with a mark every
    ``marks_every`` events (0: none)."""
    events: list[Any] = [RunStarted(v=1, run=f"r{seed}", name="random", t=T0 - 1, src="s", seq=0)]
    for i, e in enumerate(random_run(seed, steps, 3.0)):
        events.append(e)
        if marks_every and i % marks_every == 0:
            events.append(Mark(label=f"mark {i}", t=e.t, src="s", seq=0))
    numbered = [msgspec.structs.replace(e, seq=i + 1) for i, e in enumerate(events)]
    return encode_all(numbered).splitlines(keepends=True)


def session(path: Path, mono: Clock, step: int) -> LiveSession:
    """A live session whose store is built and read on ``step`` events a frame (2 KiB
    read at a time), so that it takes many parts."""
    s = LiveSession(Follower(str(path)), wall=Clock(T0), mono=mono)
    s.keys = True
    s.store.close()
    s.store = FollowingStore(s.follower, step=step, chunk=2048)
    return s


def shown(s: LiveSession, mono: Clock, limit: int = 1000) -> int:
    """Frames drawn until the view shows its record (its store read on): how many. A
    build's last part (its indexes) runs in a thread: frames wait for it, not count."""
    frames, waited = 0, 0.0
    while frames < limit and waited < 60.0:
        mono.t += SETTLE  # a read is due at each frame
        screen(s)
        if s.pages.reading is None:
            return frames + 1
        if (
            s.store.pending is not None
            and not s.store.pending[2]
            and "indexing" in str(s.pages.reading)
        ):
            time.sleep(0.005)  # the thread making the indexes: not a frame's work
            waited += 0.005
        else:
            frames += 1
    raise AssertionError("the store never caught up")


def append(path: Path, lines: list[bytes]) -> None:
    with open(path, "ab") as f:
        f.write(b"".join(lines))


def store_for(s: LiveSession, view: str) -> sqlite3.Connection:
    """The store ``view`` reads, built to the end (lean but for the workers view)."""
    for _ in range(10_000):
        try:
            return s.store.conn(whole=view == "workers")
        except Reading:
            time.sleep(0.001)  # a build's indexes are made in a thread
    raise AssertionError("the store never caught up")


def same_reads(a: LiveSession, b: LiveSession) -> None:
    """Every view reads the same from both sessions' stores."""
    now = a.now()
    for view in VIEWS:
        state = vs.show(vs.ViewState(), view)
        assert read(store_for(a, view), state, now) == read(store_for(b, view), state, now), view


def test_the_overview_does_not_write_the_store_and_a_view_reads_on_where_it_stopped(
    tmp_path: Path,
) -> None:
    lines = random_lines(3, 3000)
    left, kept = tmp_path / "left.jsonl", tmp_path / "kept.jsonl"
    for p in (left, kept):
        p.write_bytes(b"".join(lines[:90]))
    mono = Clock(0.0)
    a, b = session(left, mono, 97), session(kept, mono, 97)  # a goes back; b stays on tasks
    try:
        for s in (a, b):
            s.tick()
            assert not s.store.started  # the overview: no store at all
            press(s, "t")
            assert shown(s, mono) == 1  # less than a step: built at once
            assert s.store.held == s.metrics.events == 90
        for p in (left, kept):
            append(p, lines[90:500])
        for s in (a, b):
            s.tick()
            screen(s)
        press(a, "o")
        for i in range(500, 2500, 250):  # the overview shown while the log grows
            for p in (left, kept):
                append(p, lines[i : i + 250])
            for s in (a, b):
                s.tick()
                screen(s)
            assert a.store.held == 500 and not a.store.fed  # not written
            assert b.store.held == b.metrics.events == i + 250
        press(a, "t")
        a.tick()
        assert a.store.held == 500  # the tick before the frame does not write it either
        frames = shown(a, mono)
        assert 2000 // (97 + 20) <= frames <= 2000 // 97 + 1  # 2,000 events since, in parts
        assert a.store.fed and a.store.held == a.metrics.events == 2500
        append(left, lines[2500:])
        append(kept, lines[2500:])
        for s in (a, b):
            while s.metrics.events < len(lines):
                s.tick()
        same_reads(a, b)
        assert a.store.held == b.store.held == len(lines)
    finally:
        a.close()
        b.close()


def test_a_view_reading_on_answers_keys_and_q_quits_at_once(tmp_path: Path) -> None:
    lines = random_lines(4, 2000)
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"".join(lines[:100]))
    mono = Clock(0.0)
    s = session(path, mono, 100)
    s.tick()
    press(s, "l")
    shown(s, mono)
    press(s, "o")
    append(path, lines[100:])
    s.tick()
    press(s, "l")
    mono.t += SETTLE
    assert "reading the log to event #2001: " in screen(s)
    press(s, "f")  # a key between two parts: another view, read on from the same store
    mono.t += SETTLE
    assert "reading the log to event #2001: " in screen(s) and s.pages.shown == "failures"
    press(s, "q")
    assert s.reason == "quit" and s.store.held < 2001
    s.close()
    assert not s.store.started


def replaced(path: Path, lines: list[bytes], how: str) -> None:
    """The log truncated and written again, or replaced by a new file (a rotation)."""
    if how == "truncated":
        with open(path, "r+b") as f:
            f.truncate(0)
            f.write(b"".join(lines))
    else:
        new = path.with_suffix(".new")
        new.write_bytes(b"".join(lines))
        os.replace(new, path)


def test_a_store_shown_again_after_the_log_started_over_equals_one_fed_all_along(
    tmp_path: Path,
) -> None:
    first, second = random_lines(5, 1500), random_lines(6, 1200)
    for how in ("truncated", "replaced"):
        left, kept = tmp_path / f"left-{how}.jsonl", tmp_path / f"kept-{how}.jsonl"
        for p in (left, kept):
            p.write_bytes(b"".join(first[:1000]))
        mono = Clock(0.0)
        a, b = session(left, mono, 2000), session(kept, mono, 2000)  # each built at once
        try:
            for s in (a, b):
                s.tick()
                press(s, "w")
                shown(s, mono)
            press(a, "o")
            for p in (left, kept):
                append(p, first[1000:1200])
            for s in (a, b):
                s.tick()
            for p in (left, kept):
                replaced(p, second[:700], how)
            for s in (a, b):
                s.tick()
                assert s.metrics.run == "r6" and s.metrics.events == 700  # a new run
            assert a.store.held == 1000  # the overview: still the first run's store
            for p in (left, kept):
                append(p, second[700:])
            for s in (a, b):
                s.tick()
            press(a, "w")
            shown(a, mono)
            assert a.store.held == b.store.held == a.metrics.events == len(second)
            same_reads(a, b)
            assert a.pages.message is None  # nothing was lost
        finally:
            a.close()
            b.close()


def test_a_log_rewritten_under_a_store_reading_on_is_read_again(tmp_path: Path) -> None:
    """The log rewritten by a new run between two polls, while the store reads on: what
    it reads there is not what the follower read; the next poll starts the run over."""
    first, second = random_lines(10, 1500), random_lines(11, 2500)
    left, kept = tmp_path / "left.jsonl", tmp_path / "kept.jsonl"
    for p in (left, kept):
        p.write_bytes(b"".join(first[:90]))
    mono = Clock(0.0)
    a, b = session(left, mono, 97), session(kept, mono, 97)
    try:
        for s in (a, b):
            s.tick()
            press(s, "t")
            shown(s, mono)
        press(a, "o")
        for p in (left, kept):
            append(p, first[90:])
        for s in (a, b):
            s.tick()
        for p in (left, kept):
            replaced(p, second, "truncated")  # longer: its lines do not start where it stood
        press(a, "t")
        shown(a, mono)  # read again from the log's start, as far as the fold went
        assert a.store.held == len(first)
        for s in (a, b):
            while s.metrics.run != "r11" or s.metrics.events < len(second):
                s.tick()
        shown(a, mono)
        assert a.store.held == b.store.held == len(second)
        same_reads(a, b)
    finally:
        a.close()
        b.close()


def test_a_run_that_went_on_in_a_truncated_log_shows_what_the_log_holds(tmp_path: Path) -> None:
    lines = random_lines(7, 800)
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"".join(lines[:400]))
    mono = Clock(0.0)
    s = session(path, mono, 400)
    try:
        s.tick()
        press(s, "t")
        shown(s, mono)
        press(s, "o")
        append(path, lines[400:500])
        s.tick()
        with open(path, "r+b") as f:  # cut, and the same run goes on (no run_started)
            f.truncate(0)
            f.write(b"".join(lines[500:600]))
        s.tick()
        assert s.metrics.events == 600  # the fold goes on
        press(s, "t")
        shown(s, mono)
        assert s.store.held == 500  # read on in the file as it is now
        message = "the log was cut while no view was shown: 100 events are missing from the views"
        assert s.pages.message == message
        assert "100 events are missing" in screen(s)
    finally:
        s.close()


class Stream:
    """A source without a file to read again (as a Redis stream is): a log's events,
    100 a poll."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.notice: str | None = None
        self.appeared = True
        self.report = ReadReport(self.path)
        self.pending_bytes = 0
        every = [e for batch in read_batches(self.path) for e in batch]
        self.polls = [every[i : i + 100] for i in range(0, len(every), 100)]

    def poll(self) -> Poll:
        return Poll(self.polls.pop(0)) if self.polls else Poll()

    def close(self) -> None:
        pass


def test_a_stream_s_store_is_fed_while_the_overview_is_shown(tmp_path: Path) -> None:
    path = tmp_path / "stream.jsonl"
    path.write_bytes(Path(fixture("postmortem")).read_bytes())
    s = LiveSession(Stream(path), wall=Clock(T0), mono=Clock(0.0))
    try:
        while s.store.held < 558:
            s.tick()
            assert s.store.fed and s.store.held == s.metrics.events > 0
    finally:
        s.close()


# The timeline: its marks from the fold when the fold holds them all ---------------------


def drawn(s: LiveSession, record: Record) -> str:
    """The session's page at its clock with ``record``, as the screen shows it (ANSI)."""
    console = Console(
        file=io.StringIO(), width=120, height=40, color_system="truecolor", force_terminal=True
    )
    with console.capture() as cap:
        console.print(page(s.pages.state, s.metrics, s.now(), record), height=40)
    return cap.get()


@pytest.mark.parametrize(
    "name", ["postmortem", "busy_run", "many_workers", "hostile", "with_retries", "many-marks"]
)
def test_the_live_timeline_draws_the_same_from_the_fold_or_the_store(
    name: str, tmp_path: Path
) -> None:
    if name == "many-marks":
        lines = random_lines(8, 1200, marks_every=7)  # more marks than the fold keeps
    else:
        lines = Path(fixture(name)).read_bytes().splitlines(keepends=True)
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"")
    mono = Clock(0.0)
    s = LiveSession(Follower(str(path)), wall=Clock(T0), mono=mono)
    s.keys = True
    press(s, "i")
    every: list[Any] = []
    checked = 0
    try:
        for i in range(0, len(lines), max(len(lines) // 5, 1)):
            part = lines[i : i + max(len(lines) // 5, 1)]
            append(path, part)
            s.tick()
            every += [e for batch in read_batches(str(path)) for e in batch][len(every) :]
            mono.t += SETTLE
            screen(s)
            m = s.metrics
            whole = MovingStore(None)
            try:
                whole.feed(every)
                stored = read(whole.conn, s.pages.state, s.now())
            finally:
                whole.close()
            folded = Record(first_t=stored.first_t, marks=tuple(m.marks))
            record = s.pages.last()
            assert record.marks == stored.marks
            assert drawn(s, record) == drawn(s, stored)
            if m.mark_count <= RECENT_MARKS:
                assert not s.store.started  # the fold held every mark: no store
                assert record.marks == folded.marks
            else:
                assert s.store.started and s.store.fed
                assert folded.marks != stored.marks  # the fold's would miss the first marks
            checked += bool(m.mark_count)
        assert checked  # some of the steps had marks
        assert (s.metrics.mark_count > RECENT_MARKS) == (name == "many-marks")
    finally:
        s.close()
