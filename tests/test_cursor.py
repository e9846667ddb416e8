"""Cursor and position: every seek equals a fold from the start, forwards and backwards.

The generated log (see test_index.write_log) gets a checkpoint every few events, so
seeks cross many checkpoints; every result is compared slot by slot with a plain
fold from the first event.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from test_index import T0, linear, same, write_log

from recorder.events import Mark
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.core.when import parse_when
from replay.index.build import build
from replay.index.cursor import Cursor
from replay.index.position import NoSuchMark, PastTheEnd, fold_at
from replay.index.store import load_or_build
from replay.sources.file import read_batches

EVERY = 25


@pytest.fixture(autouse=True)
def small_checkpoints(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Checkpoints every few events, so a small log has many; a private cache dir."""
    monkeypatch.setattr("replay.index.build.CHECKPOINT_EVERY", EVERY)
    monkeypatch.setattr("replay.index.build.READ_CHUNK", 1024)
    monkeypatch.setattr("replay.index.cursor.READ_CHUNK", 700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "run.jsonl"
    write_log(path, 1500, seed=11)
    return path


def events_of(path: Path) -> list[Any]:
    return [e for batch in read_batches(str(path)) for e in batch]


def fold_until(path: Path, t: float) -> Metrics:
    """Every event up to the first one later than ``t``, folded from the start."""
    m = Metrics()
    for e in events_of(path):
        if e.t > t:
            break
        apply_all(m, [e])
    return m


@pytest.mark.parametrize("persisted", [True, False], ids=["index-file", "in-memory"])
def test_seek_equals_a_fold_from_the_start_anywhere(
    log: Path, persisted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    ix = load_or_build(str(log), persist=persisted)
    assert (ix.file is not None) == persisted
    assert len(ix.header.checkpoints) > 40
    count = ix.header.count
    folded: list[int] = []
    real_apply_all = apply_all

    def counting(m: Metrics, events: Any) -> Metrics:
        events = list(events)
        folded.append(len(events))
        return real_apply_all(m, events)

    monkeypatch.setattr("replay.index.cursor.apply_all", counting)
    cursor = Cursor(ix)
    rng = random.Random(7)
    targets = [0, 1, 2, count, count + 50, count - 1, EVERY, EVERY + 1]
    targets += [rng.randrange(0, count + 1) for _ in range(50)]
    backwards = 0
    for n in targets:
        backwards += n < cursor.position
        folded.clear()
        cursor.seek(n)
        assert cursor.position == min(n, count)
        same(cursor.metrics, linear(log, n))
        assert sum(folded) < EVERY + 40, "a seek folds at most one checkpoint's worth"
    assert backwards > 15


def test_seek_time_equals_a_fold_up_to_the_first_later_event(log: Path) -> None:
    cursor = Cursor(load_or_build(str(log), persist=True))
    times = sorted({e.t for e in events_of(log)})
    rng = random.Random(3)
    targets = [T0 - 10, times[0], times[-1], times[-1] + 100, times[len(times) // 2]]
    targets += [rng.choice(times) for _ in range(15)]  # exactly an event's time
    targets += [rng.uniform(times[0], times[-1]) for _ in range(25)]
    for t in targets:
        cursor.seek_time(t)
        same(cursor.metrics, fold_until(log, t))


def test_step_and_peek_walk_the_log_event_by_event(log: Path) -> None:
    events = events_of(log)
    cursor = Cursor(build(str(log)))
    cursor.seek(700)
    for k in range(700, 760):
        assert cursor.peek() == events[k]
        assert cursor.position == k, "peek folds nothing"
        assert cursor.step() == events[k]
    same(cursor.metrics, linear(log, 760))
    cursor.seek(len(events) - 2)
    assert cursor.step() == events[-2] and cursor.step() == events[-1]
    assert cursor.peek() is None and cursor.step() is None
    assert cursor.position == len(events)
    cursor.seek(3)
    same(cursor.metrics, linear(log, 3))


def test_one_step_back_from_anywhere(log: Path) -> None:
    cursor = Cursor(load_or_build(str(log), persist=True))
    for n in (2, EVERY, EVERY + 1, 333, 1000, cursor.count):
        cursor.seek(n)
        cursor.seek(n - 1)
        same(cursor.metrics, linear(log, n - 1))
        cursor.step()
        same(cursor.metrics, linear(log, n))


def test_advance_stops_at_the_clock_the_limit_or_a_mark(log: Path) -> None:
    events = events_of(log)
    cursor = Cursor(build(str(log)))
    cursor.seek(100)
    t = events[400].t
    assert not cursor.advance(t, 300)
    assert cursor.position == 300
    cursor.advance(t, cursor.count)
    same(cursor.metrics, fold_until(log, t))
    cursor.seek(0)
    first_mark = next(i for i, e in enumerate(events, 1) if isinstance(e, Mark))
    assert cursor.advance(float("inf"), cursor.count, stop_after=Mark)
    assert cursor.position == first_mark


def test_a_new_index_object_seeks_from_the_stored_states(log: Path) -> None:
    load_or_build(str(log), persist=True)
    again = load_or_build(str(log), persist=True)
    assert again.file is not None and not again.blobs
    cursor = Cursor(again)
    for n in (1400, 10, 777):
        cursor.seek(n)
        same(cursor.metrics, linear(log, n))


def test_a_cursor_stays_within_the_log_it_indexed(log: Path) -> None:
    ix = build(str(log))
    count = ix.header.count
    extra = Path(str(log) + ".more")
    write_log(extra, 50, seed=99)
    with log.open("ab") as f:
        f.write(b"".join(extra.read_bytes().splitlines(keepends=True)[1:]))
    cursor = Cursor(ix)
    cursor.seek(count + 30)
    assert cursor.position == count and cursor.peek() is None


def test_a_lenient_cursor_counts_events_not_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    write_log(path, 300, seed=4)
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(120, b"{not json\n")
    lines.insert(200, b'{"type":"task_started"}\n')
    path.write_bytes(b"".join(lines))
    ix = build(str(path), lenient=True)
    assert ix.header.skipped_count == 2
    cursor = Cursor(ix, lenient=True)
    good = [e for batch in read_batches(str(path), lenient=True) for e in batch]
    for n in (290, 118, 250, 5):
        cursor.seek(n)
        same(cursor.metrics, apply_all(Metrics(), good[:n]))


@pytest.mark.parametrize(
    "when", ["start", "end", "#1", "#500", "0", "12.5", "1m", "50%", "100%", "mark:m3"]
)
def test_fold_at_any_when_equals_a_fold_from_the_start(log: Path, when: str) -> None:
    events = events_of(log)
    frame = fold_at(str(log), parse_when(when))
    first, last = events[0].t, max(e.t for e in events)
    w = parse_when(when)
    if w.kind in ("seconds", "percent"):
        t = first + (w.seconds if w.kind == "seconds" else (last - first) * w.seconds / 100)
        same(frame.metrics, fold_until(log, t))
        assert frame.now == min(t, last)
    elif w.kind == "mark":
        n = next(i for i, e in enumerate(events, 1) if isinstance(e, Mark) and e.label == "m3")
        same(frame.metrics, linear(log, n))
        assert frame.now == events[n - 1].t
    else:
        n = {"start": 1, "end": len(events)}.get(w.kind, w.event)
        same(frame.metrics, linear(log, n))
        assert frame.now == frame.metrics.last_t


def test_an_unknown_mark_names_the_marks_there_are(log: Path) -> None:
    with pytest.raises(NoSuchMark, match=r"no mark 'nope'.*m1, m10"):
        fold_at(str(log), parse_when("mark:nope"))


def test_past_the_end_states_the_whole_run_after_a_partial_index(log: Path) -> None:
    """A snapshot near the start indexes only that much; a later one past the end
    still reads the whole log before saying how long it is."""
    events = events_of(log)
    first, last = events[0].t, max(e.t for e in events)
    fold_at(str(log), parse_when("#5"))
    for at in (f"#{len(events) + 1}", f"{last - first + 0.01:.3f}"):
        with pytest.raises(PastTheEnd, match=rf"lasts [\d.]+ s.*\({len(events):,} events\)"):
            fold_at(str(log), parse_when(at))
    frame = fold_at(str(log), parse_when(f"#{len(events)}"))
    assert frame.metrics.events == len(events)
