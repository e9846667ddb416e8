"""The seek index: checkpoint round trips, the sidecar file and every way it can be unusable.

Logs are generated here (``write_log``, also used by test_cursor.py and test_replay.py):
every event type, several writers whose clocks step back a little, a seq gap, an
unknown event type, blank lines and a long quiet gap. Small CHECKPOINT_EVERY and
READ_CHUNK values give small logs many checkpoints.
"""

from __future__ import annotations

import io
import json
import os
import pty
import random
import sys
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import fold_file, invoke

from recorder import codec
from recorder.errors import LogInvalid
from recorder.events import (
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
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.index import build as builder
from replay.index import checkpoint
from replay.index import format as index_file
from replay.index import store as index
from replay.index.build import build
from replay.index.cursor import Cursor
from replay.index.store import cache_path, load_or_build, sidecar
from replay.sources.file import ReadReport, read_batches

T0 = 1_700_000_000.0
GAP_AT = 0.6  # where write_log puts its quiet gap, as a share of the events
GAP = 40.0  # seconds


def write_log(
    path: Path, events: int = 600, *, seed: int = 1, finished: bool = True, torn: bytes = b""
) -> list[float]:
    """Write a run of about ``events`` events to ``path``; returns each event's time.

    Holds every event type, retries that succeed and fail, a seq gap, an unknown
    event type, blank lines, writer clocks that step back and one quiet gap of GAP s.
    ``torn`` is appended after the last line, without a newline.
    """
    rng = random.Random(seed)
    seqs: dict[str, int] = {}
    lines: list[bytes] = []
    times: list[float] = []
    t = T0

    def emit(cls: Any, src: str, skew: float = 0.0, **fields: Any) -> None:
        seq = seqs[src] = seqs.get(src, 0) + 1
        e: AnyEvent = cls(t=round(t + skew, 6), src=src, seq=seq, **fields)
        lines.append(codec.encode(e))
        times.append(e.t)

    emit(
        RunStarted,
        "main",
        v=1,
        run="r-gen",
        name="generated",
        total=events // 4,
        meta={"seed": str(seed)},
    )
    in_flight: dict[str, tuple[str, int]] = {}
    next_task = 0
    marks = 0
    gap_done = False
    while len(times) < events:
        t += rng.choice((0.0, 0.01, 0.05, 0.2, 0.7))
        if not gap_done and len(times) >= events * GAP_AT:
            gap_done = True
            t += GAP
        r = rng.random()
        pool = f"pool-{rng.randrange(2)}"
        skew = -0.03 if rng.random() < 0.1 else 0.0  # this writer's clock is a bit behind
        if r < 0.3 or not in_flight:
            next_task += 1
            task = f"task-{next_task:04d}"
            worker = f"w{rng.randrange(6)}"
            in_flight[task] = (worker, 1)
            emit(TaskStarted, pool, skew, task=task, worker=worker)
        elif r < 0.55:
            task = rng.choice(sorted(in_flight))
            worker, _ = in_flight.pop(task)
            emit(TaskSucceeded, pool, skew, task=task, worker=worker)
        elif r < 0.62:
            task = rng.choice(sorted(in_flight))
            worker, attempt = in_flight.pop(task)
            emit(TaskFailed, pool, skew, task=task, worker=worker, error=f"boom {task}")
            if rng.random() < 0.3:  # a re-run of the failed task
                in_flight[task] = (worker, attempt + 1)
                emit(TaskStarted, pool, task=task, worker=worker, attempt=attempt + 1)
        elif r < 0.7:
            task = rng.choice(sorted(in_flight))
            worker, attempt = in_flight[task]
            emit(
                TaskRetrying,
                pool,
                task=task,
                worker=worker,
                attempt=attempt,
                error="flaky",
                backoff=0.5,
            )
            in_flight[task] = (worker, attempt + 1)
            emit(TaskStarted, pool, task=task, worker=worker, attempt=attempt + 1)
        elif r < 0.74:
            next_task += 1
            emit(TaskSkipped, pool, task=f"task-{next_task:04d}", worker="", reason="cached")
        elif r < 0.82:
            emit(Log, pool, level=rng.choice(("info", "warning", "error")), msg=f"line {r:.3f}")
        elif r < 0.9:
            emit(
                Metric,
                pool,
                name="rows",
                value=float(rng.randrange(1, 50)),
                labels={"shard": f"s{rng.randrange(3)}"},
            )
            emit(Metric, pool, name="depth", kind="gauge", value=float(rng.randrange(100)))
        elif r < 0.94:
            marks += 1
            emit(Mark, "main", label=f"m{marks}")
        elif r < 0.95:
            lines.append(b"\n")  # a blank line: a line, not an event
        elif r < 0.96:
            seqs[pool] = seqs.get(pool, 0) + 2  # a lost event: a gap in this writer's seq
            emit(Log, pool, msg="after a gap")
        elif r < 0.97:
            seq = seqs["main"] = seqs["main"] + 1
            lines.append(
                json.dumps({"type": "from_the_future", "t": t, "src": "main", "seq": seq}).encode()
                + b"\n"
            )
            times.append(t)
        elif r < 0.975:
            emit(TotalChanged, "main", total=events // 4 + rng.randrange(10))
    if finished:
        t += 0.1
        emit(RunFinished, "main", status="ok")
    path.write_bytes(b"".join(lines) + torn)
    return times


def linear(path: Path | str, n: int) -> Metrics:
    """The fold of the first ``n`` events, from the start, with no index."""
    m = Metrics()
    for batch in read_batches(str(path), report=ReadReport(str(path))):
        take = batch[: n - m.events]
        apply_all(m, take)
        if m.events >= n:
            break
    return m


def same(a: Metrics, b: Metrics) -> None:
    """Every slot equal, with equal types (deque lengths, record classes, tuple keys)."""
    for slot in Metrics.__slots__:
        x, y = getattr(a, slot), getattr(b, slot)
        assert type(x) is type(y), slot
        assert x == y, slot
        if isinstance(x, deque):
            assert x.maxlen == y.maxlen, slot
        if isinstance(x, dict):
            assert list(x) == list(y), f"{slot}: order"
            for key in x:
                assert type(x[key]) is type(y[key]), slot
    assert checkpoint.dump(a) == checkpoint.dump(b)


@pytest.fixture
def small_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkpoints every few events, so a small log has many."""
    monkeypatch.setattr(builder, "CHECKPOINT_EVERY", 25)
    monkeypatch.setattr(builder, "READ_CHUNK", 1024)
    monkeypatch.setattr("replay.index.cursor.READ_CHUNK", 700)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user cache directory, private to the test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(path))
    return path


class Spy:
    """Counts calls to index.build and records where each read of the log started."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.builds: list[bool] = []  # True when it resumed an index
        self.reads: list[int] = []
        real_build, real_read = index.build, builder.read_batches

        def spy_build(*args: Any, **kwargs: Any) -> index_file.Index:
            self.builds.append(kwargs.get("resume") is not None)
            return real_build(*args, **kwargs)

        def spy_read(path: str, **kwargs: Any) -> Any:
            report = kwargs.get("report")
            self.reads.append(report.offset if report is not None else 0)
            return real_read(path, **kwargs)

        monkeypatch.setattr(index, "build", spy_build)
        monkeypatch.setattr(builder, "read_batches", spy_read)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


def check_states(ix: index_file.Index) -> None:
    """Every checkpoint's stored state equals the fold from the start to it."""
    for i, cp in enumerate(ix.header.checkpoints):
        same(ix.state(i), linear(ix.log, cp.events))


# Checkpoints: Metrics <-> bytes --------------------------------------------------


def test_a_checkpoint_round_trip_keeps_every_slot(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 900, seed=3)
    m, _ = fold_file(str(log))
    assert m.in_flight and m.workers and m.recent_errors and m.recent_logs and m.marks
    assert m.counters and m.gauges and m.unknown_events and m.gaps and m.finished
    assert any(e.final for e in m.recent_errors) and not all(e.final for e in m.recent_errors)
    same(checkpoint.load(checkpoint.dump(m)), m)
    for n in (0, 1, 2, 57, 333, 640):
        part = linear(log, n)
        same(checkpoint.load(checkpoint.dump(part)), part)


def test_a_loaded_checkpoint_folds_on_like_the_original(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 500, seed=5)
    head = linear(log, 200)
    resumed = checkpoint.load(checkpoint.dump(head))
    events = [e for batch in read_batches(str(log)) for e in batch][200:]
    same(apply_all(resumed, events), apply_all(head, events))


def test_a_checkpoint_is_independent_of_the_metrics_it_came_from(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 300)
    m = linear(log, 150)
    loaded = checkpoint.load(checkpoint.dump(m))
    before = checkpoint.dump(loaded)
    apply_all(m, [e for batch in read_batches(str(log)) for e in batch][150:])
    assert checkpoint.dump(loaded) == before


# Building ---------------------------------------------------------------------------


def test_the_index_holds_counts_marks_failures_and_correct_states(
    tmp_path: Path, small_checkpoints: None
) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 700)
    ix = build(str(log))
    events = [e for batch in read_batches(str(log)) for e in batch]
    h = ix.header
    assert h.count == len(events) and h.log_size == log.stat().st_size
    assert h.first_t == events[0].t and h.last_t == max(e.t for e in events)
    assert len(h.checkpoints) > 15
    gaps = [b.events - a.events for a, b in zip(h.checkpoints, h.checkpoints[1:], strict=False)]
    assert max(gaps) < 25 + 40, "a seek folds at most CHECKPOINT_EVERY (plus one read) events"
    marks = [(i, e.t, e.label) for i, e in enumerate(events, 1) if isinstance(e, Mark)]
    fails = [(i, e.t) for i, e in enumerate(events, 1) if isinstance(e, TaskFailed)]
    assert [(p.event, p.t, p.label) for p in ix.marks] == marks
    assert [(p.event, p.t) for p in ix.failures] == fails
    check_states(ix)


def test_an_index_kept_in_memory_is_thinned_and_still_exact(
    tmp_path: Path, small_checkpoints: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder, "MEMORY_CHECKPOINTS", 6)
    log = tmp_path / "run.jsonl"
    write_log(log, 700)
    ix = build(str(log))
    assert 3 <= len(ix.header.checkpoints) <= 7
    assert ix.fd is None and len(ix.blobs) == len(ix.header.checkpoints)
    check_states(ix)


# The sidecar file --------------------------------------------------------------------


def test_the_index_is_written_beside_the_log_and_reused(
    tmp_path: Path, cache: Path, small_checkpoints: None, spy: Spy
) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 500)
    first = load_or_build(str(log), persist=True)
    assert first.file == sidecar(str(log)) and Path(first.file).is_file()
    assert spy.builds == [False]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl", Path(first.file).name]
    again = load_or_build(str(log), persist=True)
    assert spy.builds == [False], "a valid index is loaded, not built again"
    assert spy.reads == [0]
    assert again.header == first.header
    assert not again.blobs, "states stay in the file until a seek needs one"
    check_states(again)
    assert not cache.exists()


def test_only_big_logs_get_an_index_file_by_default(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 200)
    assert load_or_build(str(log)).file is None
    assert not Path(sidecar(str(log))).exists()
    monkeypatch.setattr(index, "PERSIST_MIN_BYTES", log.stat().st_size)
    assert load_or_build(str(log)).file == sidecar(str(log))


def test_a_rewritten_log_gets_a_new_index(
    tmp_path: Path, cache: Path, small_checkpoints: None, spy: Spy
) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 400, seed=1)
    load_or_build(str(log), persist=True)
    write_log(log, 400, seed=2)  # same kind of content, other events
    ix = load_or_build(str(log), persist=True)
    assert spy.builds == [False, False], "stale: built again from the start"
    assert ix.header.count == fold_file(str(log))[0].events
    check_states(ix)
    assert load_or_build(str(log), persist=True).header == ix.header


def test_a_touched_log_of_the_same_size_is_indexed_again(
    tmp_path: Path, cache: Path, spy: Spy
) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 300)
    load_or_build(str(log), persist=True)
    st = log.stat()
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    load_or_build(str(log), persist=True)
    assert spy.builds == [False, False]


def test_a_grown_log_is_indexed_from_where_the_index_ends(
    tmp_path: Path, cache: Path, small_checkpoints: None, spy: Spy
) -> None:
    log = tmp_path / "run.jsonl"
    whole = tmp_path / "whole.jsonl"
    write_log(whole, 800, finished=True)
    data = whole.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    log.write_bytes(data[:cut])
    before = load_or_build(str(log), persist=True)
    with log.open("ab") as f:
        f.write(data[cut:])
    grown = load_or_build(str(log), persist=True)
    assert spy.builds == [False, True]
    assert spy.reads == [0, before.header.log_size], "only the new tail is read"
    fresh = build(str(whole))
    assert grown.header.count == fresh.header.count
    assert list(grown.marks) == list(fresh.marks)
    assert list(grown.failures) == list(fresh.failures)
    cps = grown.header.checkpoints
    gaps = [b.events - a.events for a, b in zip(cps, cps[1:], strict=False)]
    assert max(gaps) < 25 + 40
    check_states(grown)
    assert load_or_build(str(log), persist=True).header == grown.header
    assert spy.builds == [False, True]


def test_a_log_that_keeps_growing_does_not_pile_up_checkpoints(
    tmp_path: Path, cache: Path, small_checkpoints: None
) -> None:
    whole = tmp_path / "whole.jsonl"
    write_log(whole, 400)
    data = whole.read_bytes()
    log = tmp_path / "run.jsonl"
    ends = [i + 1 for i, c in enumerate(data) if c == 10][::7]
    done = 0
    for end in ends:
        with log.open("ab") as f:
            f.write(data[done:end])
        done = end
        ix = load_or_build(str(log), persist=True)
    assert len(ix.header.checkpoints) <= ix.header.count // 25 + 2
    check_states(ix)


def test_a_position_near_the_start_indexes_only_the_start(
    tmp_path: Path, cache: Path, small_checkpoints: None, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index, "PERSIST_MIN_BYTES", 0)
    log = tmp_path / "run.jsonl"
    write_log(log, 1200, torn=b'{"type":"log"')
    whole = build(str(log))
    for at in ("start", "0", "#40", "3.5"):
        result = invoke(["snapshot", str(log), "--at", at])
        assert result.exit_code == 3
        assert "incomplete last line" not in result.stderr, "the end was never read"
        ix = index_file.read(sidecar(str(log)), str(log))
        assert ix is not None and ix.header.count < 100 < whole.header.count
    assert spy.builds[0] is False and len(spy.builds) >= 2 and all(spy.builds[1:])
    assert spy.reads[:2] == [0, 0], "the whole log once for `whole`, the first chunk once"
    assert all(r > 0 for r in spy.reads[2:]), "each goes on from where the index ended"
    builds = len(spy.builds)
    assert invoke(["snapshot", str(log), "--at", "#10"]).exit_code == 3
    assert len(spy.builds) == builds, "covered already: nothing to read"
    full = load_or_build(str(log))
    assert spy.builds[-1] is True and full.header.count == whole.header.count
    assert full.header.torn_bytes == len(b'{"type":"log"')
    check_states(full)


def test_a_torn_tail_is_left_out_until_it_is_completed(
    tmp_path: Path, cache: Path, small_checkpoints: None, spy: Spy
) -> None:
    log = tmp_path / "run.jsonl"
    whole = tmp_path / "whole.jsonl"
    write_log(whole, 300)
    data = whole.read_bytes()
    last = data.rindex(b"\n", 0, len(data) - 1) + 1
    log.write_bytes(data[: last + 10])  # the final line is cut short
    ix = load_or_build(str(log), persist=True)
    assert ix.header.count == build(str(whole)).header.count - 1
    assert ix.header.torn_bytes == 10 and ix.header.log_size == last
    assert any("incomplete last line" in w for w in ix.report().warnings())
    assert load_or_build(str(log), persist=True).header == ix.header
    assert spy.builds == [False], "the same torn file: the index is still good"
    with log.open("ab") as f:
        f.write(data[last + 10 :])
    done = load_or_build(str(log), persist=True)
    assert spy.builds == [False, True]
    assert done.header.count == build(str(whole)).header.count
    assert done.header.torn_bytes == 0 and not done.report().warnings()
    check_states(done)


@pytest.fixture
def read_only_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory nothing can be written to: chmod 0o555, and for root (whom chmod
    does not stop) creating or renaming files in it fails with PermissionError too."""
    ro = tmp_path / "ro"
    ro.mkdir()
    write_log(ro / "run.jsonl", 400)
    ro.chmod(0o555)
    if os.geteuid() == 0:
        real_replace = os.replace

        def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if Path(dst).parent == ro:
                raise PermissionError(13, "Permission denied", str(dst))
            real_replace(src, dst, *args, **kwargs)

        def open_for_index(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if Path(file).parent == ro and mode != "rb":
                raise PermissionError(13, "Permission denied", str(file))
            return open(file, mode, *args, **kwargs)

        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(index, "open", open_for_index, raising=False)
    yield ro
    ro.chmod(0o755)


def test_a_read_only_directory_puts_the_index_in_the_cache(
    read_only_dir: Path, cache: Path, small_checkpoints: None, spy: Spy
) -> None:
    log = read_only_dir / "run.jsonl"
    ix = load_or_build(str(log), persist=True)
    assert ix.file == cache_path(str(log)) and Path(ix.file).is_file()
    assert sorted(p.name for p in read_only_dir.iterdir()) == ["run.jsonl"], "no leftovers"
    check_states(ix)
    again = load_or_build(str(log), persist=True)
    assert spy.builds == [False], "the cached index is found and reused"
    assert again.file == ix.file


def test_an_index_that_cannot_be_moved_into_place_goes_to_the_cache(
    tmp_path: Path, cache: Path, small_checkpoints: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 300)
    real_replace = os.replace

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if str(dst) == sidecar(str(log)):
            raise PermissionError(13, "Permission denied", str(dst))
        real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    ix = load_or_build(str(log), persist=True)
    assert ix.file == cache_path(str(log))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "run.jsonl"], "no leftovers"
    check_states(ix)


def test_with_no_writable_place_everything_still_works(
    read_only_dir: Path, tmp_path: Path, small_checkpoints: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))  # cannot be created
    log = read_only_dir / "run.jsonl"
    ix = load_or_build(str(log), persist=True)
    assert ix.file is None and ix.fd is not None, "states went to an unnamed temporary file"
    check_states(ix)
    nowhere = invoke(["index", str(log)])  # its one job cannot be done: 74, one line
    assert nowhere.exit_code == 74, nowhere.stderr
    assert nowhere.stderr.count("\n") == 1 and "no index written" in nowhere.stderr
    snap = invoke(["snapshot", str(log), "--at", "50%"])
    assert snap.exit_code == 3 and "Status" in snap.stdout

    def no_temp_files(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index.tempfile, "TemporaryFile", no_temp_files)
    monkeypatch.setattr(builder, "MEMORY_CHECKPOINTS", 5)
    ix = load_or_build(str(log), persist=True)
    assert ix.file is None and ix.fd is None and len(ix.header.checkpoints) <= 6
    check_states(ix)


def test_a_failing_index_write_keeps_the_index_in_memory(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 300)
    real_finish = index_file.finish

    def disk_full(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(builder, "finish", disk_full)
    monkeypatch.setattr(index, "finish", disk_full)
    ix = load_or_build(str(log), persist=True)
    assert ix.file is None and ix.header.count == fold_file(str(log))[0].events
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]
    monkeypatch.setattr(builder, "finish", real_finish)
    monkeypatch.setattr(index, "finish", real_finish)
    assert load_or_build(str(log), persist=True).file == sidecar(str(log))


@pytest.mark.parametrize(
    "damage",
    ["garbage", "empty", "truncated", "header", "version", "fold"],
)
def test_a_corrupt_index_file_is_ignored_and_rebuilt(
    tmp_path: Path, cache: Path, small_checkpoints: None, spy: Spy, damage: str
) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 400)
    path = Path(load_or_build(str(log), persist=True).file or "")
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) - 7])
    elif damage == "header":
        at = int.from_bytes(data[8:16], "little")
        path.write_bytes(data[:at] + b"\xc1" * (len(data) - at))
    elif damage == "version":
        path.write_bytes(b"RRINDEX1" + data[8:])
    else:
        path.write_bytes(data.replace(checkpoint.fold_id().encode(), b"0" * 24))
    ix = load_or_build(str(log), persist=True)
    assert spy.builds == [False, False]
    check_states(ix)
    assert load_or_build(str(log), persist=True).header == ix.header
    assert spy.builds == [False, False]


def test_a_damaged_state_inside_the_index_falls_back_and_is_repaired(
    tmp_path: Path, cache: Path, small_checkpoints: None, spy: Spy
) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 600)
    ix = load_or_build(str(log), persist=True)
    path = Path(ix.file or "")
    cps = ix.header.checkpoints
    victim = cps[len(cps) // 2]
    data = bytearray(path.read_bytes())
    for k in range(victim.blob_at + 2, victim.blob_at + victim.blob_len - 4, 3):
        data[k] ^= 0x5A
    path.write_bytes(bytes(data))
    loaded = load_or_build(str(log), persist=True)
    assert spy.builds == [False], "the header is intact: the damage is found on use"
    cursor = Cursor(loaded)
    for n in (victim.events, victim.events + 3, 5, victim.events + 1):
        cursor.seek(n)
        same(cursor.metrics, linear(log, n))
    assert not path.exists(), "the damaged file is removed so the next run rebuilds it"
    load_or_build(str(log), persist=True)
    assert spy.builds == [False, False]


def test_an_index_of_the_other_leniency_serves_when_nothing_was_skipped(
    tmp_path: Path, cache: Path, spy: Spy
) -> None:
    log = tmp_path / "run.jsonl"
    write_log(log, 300)
    load_or_build(str(log), persist=True)
    load_or_build(str(log), lenient=True, persist=True)
    assert spy.builds == [False]
    with log.open("ab") as f:
        f.write(b"this is not json\n")
        f.write(codec.encode(Log(t=T0 + 999, src="late", seq=1, msg="after the bad line")))
    lenient = load_or_build(str(log), lenient=True, persist=True)
    assert lenient.header.skipped_count == 1 and lenient.header.lenient
    assert spy.builds == [False, True]
    strict_index = tmp_path / "strict.jsonl"
    strict_index.write_bytes(log.read_bytes())
    with pytest.raises(LogInvalid, match="strict.jsonl"):
        load_or_build(str(strict_index), persist=True)
    with pytest.raises(LogInvalid):
        load_or_build(str(log), persist=True)  # the lenient index skipped a line: not for strict


def test_runreel_index_builds_reports_and_reuses(tmp_path: Path, cache: Path, spy: Spy) -> None:
    log = tmp_path / "run.jsonl"
    times = write_log(log, 300)
    result = invoke(["index", str(log)])
    assert result.exit_code == 0, result.output
    ix = load_or_build(str(log), persist=True)
    h = ix.header
    assert f"{h.count} events" in result.stdout and len(times) == h.count
    marks, failures = len(ix.marks), len(ix.failures)
    assert f"{marks:,} mark{'s' * (marks != 1)}, {failures:,} failure" in result.stdout
    assert sidecar(str(log)) in result.stdout
    assert spy.builds == [False]
    assert invoke(["index", str(log)]).exit_code == 0
    assert spy.builds == [False]


def test_runreel_index_of_a_missing_or_invalid_log(tmp_path: Path) -> None:
    assert invoke(["index", str(tmp_path / "nope.jsonl")]).exit_code == 66
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type":"log","t":1,"src":"a","seq":1}\n')
    assert invoke(["index", str(bad)]).exit_code == 65
    assert not Path(sidecar(str(bad))).exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.jsonl"]


def test_indexing_shows_progress_on_a_terminal_only(
    tmp_path: Path, cache: Path, small_checkpoints: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from replay.cli import progress as index_cli

    log = tmp_path / "run.jsonl"
    write_log(log, 500)
    monkeypatch.setattr(index_cli, "SHOW_AFTER", 0.0)
    master, slave = pty.openpty()  # stderr on a real terminal
    received: list[bytes] = []

    def drain() -> None:  # read as a terminal would, so the writer never blocks on a full pty
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the slave side closed
                return
            if not chunk:
                return
            received.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    terminal = open(slave, "w", encoding="utf-8", closefd=True)
    monkeypatch.setattr(sys, "stderr", terminal)
    try:
        with index_cli.indexing_progress(str(log)) as progress:
            assert progress is not None
            load_or_build(str(log), persist=True, progress=progress)
        terminal.flush()
    finally:
        monkeypatch.setattr(sys, "stderr", io.StringIO())
        terminal.close()
        reader.join(60)
        os.close(master)
    shown = b"".join(received).decode()
    assert f"\rrunreel: indexing {log}: 100%" in shown and shown.endswith("\r\x1b[K")
    assert shown.count("%") > 3
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with index_cli.indexing_progress(str(log)) as progress:
        assert progress is None


def test_runreel_index_says_what_the_reader_found(tmp_path: Path) -> None:
    """A torn last line, lines skipped under --lenient: the index command warns as every
    other command does (it used to say nothing)."""
    log = tmp_path / "run.jsonl"
    write_log(log, 50)
    with open(log, "ab") as f:
        f.write(b'{"type":"log","t":1')
    torn = invoke(["index", str(log)])
    assert torn.exit_code == 0, torn.stderr
    assert "incomplete last line" in torn.stderr
    lines = log.read_bytes().splitlines(keepends=True)
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_bytes(b"".join(lines[:10]) + b"not json\n" + b"".join(lines[10:-1]))
    skipped = invoke(["index", str(garbled), "--lenient"])
    assert skipped.exit_code == 0, skipped.stderr
    assert "skipped" in skipped.stderr and "incomplete" not in skipped.stderr
    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(b"".join(lines[:-1]))
    assert invoke(["index", str(clean)]).stderr == ""
