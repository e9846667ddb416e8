"""The post-mortem store (replay.store): its rows against the fold, extending it as the
log grows, rebuilding it when the log is replaced, and where it is kept."""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recorder import codec
from recorder.events import (
    AnyEvent,
    Log,
    Mark,
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
)
from replay.core.fold import fold
from replay.index.store import load_or_build
from replay.sources.file import read_batches
from replay.store import keep
from replay.store.access import build_to
from replay.store.keep import fresh_store, places

T0 = 1_700_000_000.0


def story(seed: int, steps: int) -> list[AnyEvent]:
    """A random run: starts, successes, failures (some re-run), retries, skips, marks, logs."""
    rng = random.Random(seed)
    out: list[AnyEvent] = []
    seq = 0

    def emit(cls: Any, **fields: Any) -> None:
        nonlocal seq
        seq += 1
        out.append(cls(t=T0 + seq * 0.25, src="s", seq=seq, **fields))

    emit(RunStarted, v=1, run="r", name="store test")
    open_: dict[str, tuple[str, int]] = {}
    n = 0
    for _ in range(steps):
        r = rng.random()
        if r < 0.3 or not open_:
            n += 1
            task, worker = f"t{n:04d}", f"w{rng.randrange(4)}"
            open_[task] = (worker, 1)
            emit(TaskStarted, task=task, worker=worker)
            continue
        task = rng.choice(sorted(open_))
        worker, attempt = open_[task]
        if r < 0.5:
            del open_[task]
            emit(TaskSucceeded, task=task, worker=worker)
        elif r < 0.6:
            del open_[task]
            emit(TaskFailed, task=task, worker=worker, error=f"IOError: disk {n % 3} full")
            if rng.random() < 0.4:
                open_[task] = (worker, attempt + 1)
                emit(TaskStarted, task=task, worker=worker, attempt=attempt + 1)
        elif r < 0.75:
            emit(
                TaskRetrying,
                task=task,
                worker=worker,
                attempt=attempt,
                error=f"Timeout: after {rng.randrange(100)}s",
                detail=f"Traceback\n  line {n}",
                backoff=1.0,
            )
            open_[task] = (worker, attempt + 1)
            if rng.random() < 0.7:
                emit(TaskStarted, task=task, worker=worker, attempt=attempt + 1)
        elif r < 0.8:
            n += 1
            emit(TaskSkipped, task=f"t{n:04d}", reason="cached")
        elif r < 0.9:
            emit(Log, level="info", msg=f"step {r:.3f}")
        else:
            emit(Mark, label=f"m{n}")
    emit(RunFinished, status="ok")
    return out


def write(path: Path, events: list[AnyEvent]) -> Path:
    path.write_bytes(codec.encode_all(events))
    return path


def dump(path: str) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {
            t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in ("tasks", "attempts", "signatures", "marks", "logs")
        }
    finally:
        conn.close()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(path))
    return path


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_store_agrees_with_the_fold(tmp_path: Path, seed: int) -> None:
    log = write(tmp_path / "run.jsonl", story(seed, 400))
    build_to(str(log), str(tmp_path / "s.sqlite"))
    m = fold(e for batch in read_batches(str(log)) for e in batch)
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    count = dict(conn.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall())
    assert count.get("succeeded", 0) == m.succeeded
    assert count.get("failed", 0) == m.failed
    assert count.get("skipped", 0) == m.skipped
    assert count.get("running", 0) + count.get("backoff", 0) == len(m.in_flight)
    (retried,) = conn.execute("SELECT count(*) FROM attempts WHERE outcome = 'retried'").fetchone()
    assert retried == m.retries
    (failed, retried_sig) = conn.execute(
        "SELECT sum(failed), sum(retried) FROM signatures"
    ).fetchone()
    assert (failed, retried_sig) == (m.failed, m.retries)
    (marks,) = conn.execute("SELECT count(*) FROM marks").fetchone()
    assert marks == m.mark_count
    # every attempt of a task ended before the next began, in log order
    for (task,) in conn.execute("SELECT task FROM tasks").fetchall():
        rows = conn.execute(
            "SELECT start_event, end_event FROM attempts WHERE task = ? "
            "ORDER BY end_event IS NULL, end_event",
            (task,),
        ).fetchall()
        for (_, end), (start, _) in zip(rows, rows[1:], strict=False):
            assert end is not None and (start is None or end < start)


def test_a_re_run_after_a_final_failure_turns_it_into_a_retry(tmp_path: Path) -> None:
    log = Path(__file__).resolve().parent.parent / "fixtures" / "with_retries.jsonl"
    build_to(str(log), str(tmp_path / "end.sqlite"))
    build_to(str(log), str(tmp_path / "at8.sqlite"), events=8)
    end, at8 = dump(str(tmp_path / "end.sqlite")), dump(str(tmp_path / "at8.sqlite"))
    sig = "HTTPError: <num> Service Unavailable"
    assert [r[:3] for r in end["signatures"] if r[0] == sig] == [(sig, 0, 1)]
    assert [r[:3] for r in at8["signatures"] if r[0] == sig] == [(sig, 1, 0)]
    up_c = [r for r in end["attempts"] if r[0] == "up-c"]
    assert [(r[1], r[5]) for r in up_c] == [(1, "retried"), (2, "succeeded")]
    assert [r[1] for r in at8["tasks"] if r[0] == "up-c"] == ["failed"]


def growing(tmp_path: Path) -> Iterator[tuple[Path, list[AnyEvent]]]:
    events = story(7, 600)
    yield write(tmp_path / "run.jsonl", events), events


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.9])
def test_a_grown_log_extends_the_store_to_what_a_new_build_gives(
    tmp_path: Path, cache: Path, cut: float
) -> None:
    events = story(7, 600)
    log = tmp_path / "run.jsonl"
    head = int(len(events) * cut)
    write(log, events[:head])
    load_or_build(str(log), persist=True, store=True)
    stored = fresh_store(str(log), False)
    assert stored == places(str(log))[0]
    first = keep.read_meta(stored)
    assert first is not None and first["events"] == head
    with open(log, "ab") as f:  # the log grows
        f.write(codec.encode_all(events[head:]))
    assert fresh_store(str(log), False) is None
    load_or_build(str(log))  # any later read of the whole log extends it
    meta = keep.read_meta(stored)
    assert meta is not None and meta["events"] == len(events)
    assert fresh_store(str(log), False) == stored
    build_to(str(log), str(tmp_path / "whole.sqlite"))
    assert dump(stored) == dump(str(tmp_path / "whole.sqlite"))


def test_the_store_is_extended_without_reading_the_log_again(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = write(tmp_path / "run.jsonl", story(3, 300))
    reads: list[int] = []
    real = keep.read_batches

    def spy(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs["report"].offset)
        return real(*args, **kwargs)

    monkeypatch.setattr(keep, "read_batches", spy)
    load_or_build(str(log), persist=True, store=True)
    assert reads == [], "built in the index's own read of the log"
    assert fresh_store(str(log), False) is not None
    os.unlink(places(str(log))[0])
    load_or_build(str(log), persist=True, store=True)
    assert reads == [0], "the index was fresh: the store read the log itself"


def test_a_replaced_log_rebuilds_the_store(tmp_path: Path, cache: Path) -> None:
    log = write(tmp_path / "run.jsonl", story(1, 300))
    load_or_build(str(log), persist=True, store=True)
    write(log, story(2, 200))  # same name, other content
    load_or_build(str(log))
    stored = fresh_store(str(log), False)
    assert stored is not None
    build_to(str(log), str(tmp_path / "whole.sqlite"))
    assert dump(stored) == dump(str(tmp_path / "whole.sqlite"))


def test_no_store_is_made_unless_asked_or_there(tmp_path: Path, cache: Path) -> None:
    log = write(tmp_path / "run.jsonl", story(1, 100))
    load_or_build(str(log), persist=True)
    assert not any(os.path.exists(p) for p in places(str(log)))


@pytest.fixture
def read_only_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory nothing can be written to (for root, whom chmod does not stop,
    renaming into it and creating SQLite files in it fail too)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    write(ro / "run.jsonl", story(4, 300))
    ro.chmod(0o555)
    if os.geteuid() == 0:
        real_replace, real_new = os.replace, keep.new_store

        def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if Path(dst).parent == ro:
                raise PermissionError(13, "Permission denied", str(dst))
            real_replace(src, dst, *args, **kwargs)

        def new_store(path: str) -> sqlite3.Connection:
            if Path(path).parent == ro:
                raise sqlite3.OperationalError("unable to open database file")
            return real_new(path)

        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(keep, "new_store", new_store)
    yield ro
    ro.chmod(0o755)


def test_a_read_only_directory_puts_the_store_in_the_cache(
    read_only_dir: Path, cache: Path
) -> None:
    log = str(read_only_dir / "run.jsonl")
    load_or_build(log, persist=True, store=True)
    assert fresh_store(log, False) == places(log)[1]
    assert sorted(p.name for p in read_only_dir.iterdir()) == ["run.jsonl"], "no leftovers"


def test_a_task_run_once_is_one_row_and_the_attempts_view_still_has_every_attempt(
    tmp_path: Path,
) -> None:
    events: list[AnyEvent] = [RunStarted(t=T0, src="s", seq=1, v=1, run="r", name="n")]

    def emit(cls: Any, **fields: Any) -> int:
        events.append(cls(t=T0 + len(events), src="s", seq=len(events) + 1, **fields))
        return len(events)  # the event's number

    once = emit(TaskStarted, task="once", worker="w1")
    once_end = emit(TaskSucceeded, task="once", worker="w1")
    flaky = emit(TaskStarted, task="flaky", worker="w1")
    flaky_retry = emit(TaskRetrying, task="flaky", worker="w1", error="E: 1", detail="tb 1")
    flaky_again = emit(TaskStarted, task="flaky", worker="w2", attempt=2)
    flaky_end = emit(TaskSucceeded, task="flaky", worker="w2")
    bad = emit(TaskStarted, task="bad", worker="w2")
    bad_end = emit(TaskFailed, task="bad", worker="w2", error="E: 2", detail="tb 2")
    emit(TaskSkipped, task="cached", reason="done before")
    open_ = emit(TaskStarted, task="open", worker="w1")
    log = write(tmp_path / "run.jsonl", events)
    build_to(str(log), str(tmp_path / "s.sqlite"))
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    one = dict(conn.execute("SELECT task, one_attempt FROM tasks").fetchall())
    assert one == {"once": 1, "flaky": 0, "bad": 1, "cached": 0, "open": 1}
    stored = {t for (t,) in conn.execute("SELECT DISTINCT task FROM multi_attempts")}
    assert stored == {"flaky"}, "only a task with more than one attempt has attempt rows"
    got = conn.execute(
        "SELECT task, attempt, worker, outcome, error, detail, start_event, end_event "
        "FROM attempts ORDER BY coalesce(start_event, end_event)"
    ).fetchall()
    assert got == [
        ("once", 1, "w1", "succeeded", None, None, once, once_end),
        ("flaky", 1, "w1", "retried", "E: 1", "tb 1", flaky, flaky_retry),
        ("flaky", 2, "w2", "succeeded", None, None, flaky_again, flaky_end),
        ("bad", 1, "w2", "failed", "E: 2", "tb 2", bad, bad_end),
        ("open", 1, "w1", "running", None, None, open_, None),
    ]


def test_rows_written_early_give_the_same_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-runs of failures already written (and a task's rows across writes) come out the
    same as when everything is written at the end."""
    from replay.store import build

    log = write(tmp_path / "run.jsonl", story(5, 800))
    build_to(str(log), str(tmp_path / "late.sqlite"))
    monkeypatch.setattr(build, "FLUSH_ROWS", 1)
    monkeypatch.setattr(keep, "READ_CHUNK", 512)  # small batches: a write after each
    monkeypatch.setattr("replay.store.building.READ_CHUNK", 512)
    build_to(str(log), str(tmp_path / "early.sqlite"))
    late, early = dump(str(tmp_path / "late.sqlite")), dump(str(tmp_path / "early.sqlite"))
    assert early == late
    conn = sqlite3.connect(tmp_path / "early.sqlite")
    (moved,) = conn.execute(
        "SELECT count(*) FROM multi_attempts m JOIN tasks t USING (task) "
        "WHERE m.outcome = 'retried' AND m.error = t.error AND m.attempt = 1"
    ).fetchone()
    assert moved > 0, "the story re-runs failures"
