"""The Recorder: what it writes, what it refuses, and many writers at once.

Concurrency is tested for real: 8 processes x 20k events, threads, asyncio.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import fold_file, invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder import ENV_VAR, LogExists, Recorder, WriteFailed, codec, writer
from recorder.codec import Unknown
from recorder.events import (
    Event,
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
from replay import exitcodes
from replay.sources.file import read_batches


def lines_of(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\n"), "the log must end with a complete line"
    return data.split(b"\n")[:-1]


def events_of(path: Path) -> list[Event | Unknown]:
    return [codec.decode_line(line) for line in lines_of(path)]


def assert_gapless(events: list[Event | Unknown]) -> Counter[str]:
    """Every src's seq is 1..N in file order; returns N per src."""
    last: dict[str, int] = {}
    for e in events:
        assert e.seq == last.get(e.src, 0) + 1, f"src {e.src}: seq {e.seq} after {last.get(e.src)}"
        last[e.src] = e.seq
    return Counter(last)


# What it writes ------------------------------------------------------------------------


def test_a_new_run_writes_run_started_first(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    before = time.time()
    rec = Recorder(log, name="nightly", total=3, meta={"host": "a"})
    rec.close()
    [line] = lines_of(log)
    obj = json.loads(line)
    assert obj["type"] == "run_started" and obj["v"] == 1
    assert (obj["name"], obj["total"], obj["meta"]) == ("nightly", 3, {"host": "a"})
    assert obj["run"] == rec.run and obj["run"]
    assert (obj["src"], obj["seq"]) == (rec.src, 1)
    assert before - 1 <= obj["t"] <= time.time() + 1
    assert round(obj["t"], 6) == obj["t"]


def test_every_call_writes_its_event(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    with Recorder(log, name="n", total=2) as rec:
        rec.task_started("a", worker="w", attempt=1)
        rec.retry("a", worker="w", attempt=1, error="flaky", backoff=2)
        rec.task_started("a", worker="w", attempt=2)
        rec.succeeded("a", worker="w")
        rec.task_started("b", worker="w")
        rec.failed("b", worker="w", error="boom")
        rec.skip("c", worker="w", reason="cached")
        rec.log("hello", level="warning")
        rec.mark("deploy")
        rec.metric("rows", 5, labels={"table": "t"})
        rec.metric("depth", 3.5, kind="gauge")
        rec.set_total(3)
        rec.emit(Log(t=0.0, src="ignored", seq=99, level="debug", msg="prepared"))
        rec.finish("ok", exit_status=0)
        rec.finish("failed")  # only the first finish counts
    events = events_of(log)
    assert [type(e) for e in events] == [
        RunStarted,
        TaskStarted,
        TaskRetrying,
        TaskStarted,
        TaskSucceeded,
        TaskStarted,
        TaskFailed,
        TaskSkipped,
        Log,
        Mark,
        Metric,
        Metric,
        TotalChanged,
        Log,
        RunFinished,
    ]
    assert assert_gapless(events) == {rec.src: 15}
    retry = events[2]
    assert isinstance(retry, TaskRetrying)
    assert (retry.attempt, retry.error, retry.backoff) == (1, "flaky", 2.0)
    prepared = events[13]
    assert isinstance(prepared, Log)
    assert (prepared.src, prepared.seq, prepared.msg) == (rec.src, 14, "prepared")
    assert prepared.t > 0
    done = events[-1]
    assert isinstance(done, RunFinished) and (done.status, done.exit_status) == ("ok", 0)
    m, _ = fold_file(str(log))
    assert (m.succeeded, m.failed, m.skipped, m.retries, m.total) == (1, 1, 1, 1, 3)
    assert m.counters == {("rows", (("table", "t"),)): 5.0}
    assert m.gauges == {("depth", ()): 3.5}


def test_refuses_to_overwrite_a_log(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    Recorder(log, name="first").close()
    before = log.read_bytes()
    with pytest.raises(LogExists) as info:  # a WriteFailed that says where
        Recorder(log, name="second")
    assert "overwrite" in str(info.value) and info.value.where == str(log)
    assert isinstance(info.value, WriteFailed)
    assert log.read_bytes() == before
    with Recorder(log, name="third", overwrite=True):
        pass
    names = [e.name for e in events_of(log) if isinstance(e, RunStarted)]
    assert names == ["third"]


def test_an_existing_empty_file_is_fine(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    log.write_bytes(b"")
    with Recorder(log):
        pass
    assert isinstance(events_of(log)[0], RunStarted)


def test_attach_adds_to_a_run_without_run_started(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    with Recorder(log, total=1) as main:
        with Recorder.attach(log) as worker:
            assert worker.src != main.src
            with worker.task("t", worker="w1"):
                pass
    events = events_of(log)
    assert sum(isinstance(e, RunStarted) for e in events) == 1
    assert sum(isinstance(e, RunFinished) for e in events) == 1  # only the owner finishes
    assert assert_gapless(events) == {main.src: 2, worker.src: 2}
    assert exitcodes.for_metrics(fold_file(str(log))[0]) == exitcodes.OK


def test_attach_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "run.jsonl"
    Recorder(log).close()
    monkeypatch.setenv(ENV_VAR, str(log))
    with Recorder.attach() as rec:
        rec.log("from env")
    assert [e.msg for e in events_of(log) if isinstance(e, Log)] == ["from env"]


def test_attach_without_a_log_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(WriteFailed) as info:
        Recorder.attach()
    assert ENV_VAR in str(info.value)


def test_cannot_open_is_write_failed(tmp_path: Path) -> None:
    with pytest.raises(WriteFailed):
        Recorder(tmp_path / "missing-dir" / "run.jsonl")
    with pytest.raises(WriteFailed):
        Recorder.attach(tmp_path)  # a directory


def test_task_block_records_failure_and_reraises(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log)
    with rec.task("ok", worker="w"):
        pass
    with pytest.raises(ValueError, match="boom") as info:
        with rec.task("bad", worker="w", attempt=2):
            raise ValueError("boom")
    assert str(info.value) == "boom"
    with pytest.raises(KeyboardInterrupt):
        with rec.task("interrupted", worker="w"):
            raise KeyboardInterrupt
    rec.close()
    events = events_of(log)[1:]
    kinds = [(type(e).__name__, getattr(e, "task", None)) for e in events]
    assert kinds == [
        ("TaskStarted", "ok"),
        ("TaskSucceeded", "ok"),
        ("TaskStarted", "bad"),
        ("TaskFailed", "bad"),
        ("TaskStarted", "interrupted"),
        ("TaskFailed", "interrupted"),
    ]
    failed = events[3]
    assert isinstance(failed, TaskFailed)
    assert failed.error == "ValueError: boom"
    assert failed.worker == "w"
    assert isinstance(events[2], TaskStarted) and events[2].attempt == 2
    assert isinstance(events[5], TaskFailed) and "KeyboardInterrupt" in events[5].error


def test_leaving_through_an_exception_finishes_failed(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    with pytest.raises(RuntimeError):
        with Recorder(log, total=1) as rec:
            with rec.task("t"):
                pass
            raise RuntimeError("the scheduler died")
    events = events_of(log)
    done = events[-1]
    assert isinstance(done, RunFinished) and done.status == "failed"
    assert any(isinstance(e, Log) and "the scheduler died" in e.msg for e in events)
    m, _ = fold_file(str(log))
    assert exitcodes.for_metrics(m) == exitcodes.PARTIAL_FAILURE  # succeeded, but run failed


def test_leaving_normally_finishes_ok_and_closes(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    with Recorder(log) as rec:
        rec.log("x")
    done = events_of(log)[-1]
    assert isinstance(done, RunFinished) and done.status == "ok"
    with pytest.raises(WriteFailed):
        rec.log("after close")
    rec.close()  # closing twice is harmless


@pytest.mark.parametrize("durability", ["never", "always", 1, 3, 1000])
def test_durability_settings_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durability: Any
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    log = tmp_path / "run.jsonl"
    rec = Recorder(log, durability=durability)
    for i in range(9):
        rec.log(f"e{i}")
    syncs_before_close = len(synced)
    rec.close()
    assert len(events_of(log)) == 10
    every = {"never": 0, "always": 1}.get(durability, durability)
    if every:
        assert syncs_before_close == 10 // every
        assert len(synced) == syncs_before_close + 1  # close syncs what is left
    else:
        assert synced == []


@pytest.mark.parametrize("durability", [0, -1, "sometimes", True, 2.5, None, "1"])
def test_durability_settings_rejected(tmp_path: Path, durability: Any) -> None:
    log = tmp_path / "run.jsonl"
    with pytest.raises(ValueError, match="durability"):
        Recorder(log, durability=durability)
    assert not log.exists()
    Recorder(log).close()
    with pytest.raises(ValueError, match="durability"):
        Recorder.attach(log, durability=durability)


def test_write_errors_raise_and_do_not_leave_a_seq_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log)
    real_write = os.write

    def full_disk(fd: int, data: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(WriteFailed) as info:
        rec.log("lost")
    assert isinstance(info.value, OSError)
    assert "No space left" in str(info.value)
    monkeypatch.setattr(os, "write", real_write)
    rec.log("kept")
    rec.close()
    assert assert_gapless(events_of(log)) == {rec.src: 2}


def test_short_write_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(tmp_path / "run.jsonl")
    monkeypatch.setattr(os, "write", lambda fd, data: len(data) - 1)
    with pytest.raises(WriteFailed, match="short write"):
        rec.log("x")
    monkeypatch.undo()
    rec.close()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_write_failed() -> None:
    with pytest.raises(WriteFailed):
        Recorder("/dev/full")


def test_text_that_cannot_be_encoded_does_not_cost_a_seq(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log)
    try:
        rec.log("bad name: \udcff")  # a lone surrogate, as os.listdir gives for bad bytes
    except (ValueError, WriteFailed):
        pass
    rec.log("next")
    rec.close()
    events = events_of(log)
    assert assert_gapless(events) == {rec.src: len(events)}


def test_values_of_other_types_never_poison_the_log(tmp_path: Path) -> None:
    """Python callers pass ints as ids; the log must stay readable (or the call refuse)."""
    log = tmp_path / "run.jsonl"
    calls = [
        lambda r: r.task_started(7, worker=3),
        lambda r: r.succeeded(7, worker=3),
        lambda r: r.failed(8, worker=3, error=ValueError("x")),
        lambda r: r.skip(9, reason=None),
        lambda r: r.log(42),
        lambda r: r.mark(2024),
        lambda r: r.metric("m", 1, labels={"shard": 3}),
        lambda r: r.metric("m", "2"),
        lambda r: r.metric("m", 1, kind="histogram"),
    ]
    try:
        rec = Recorder(log, meta={"workers": 4})  # type: ignore[dict-item]
    except (TypeError, ValueError):
        rec = Recorder(log, overwrite=True)
    for call in calls:
        try:
            call(rec)
        except (TypeError, ValueError):
            pass
    rec.close()
    result = invoke(["validate", str(log)])
    assert result.exit_code == 0, result.stdout


def test_a_forked_child_gets_a_new_src(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log)
    rec.log("parent before fork")
    parent_src = rec.src
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            rec.log("child")
            rec.log("child again")
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    rec.log("parent after fork")
    rec.close()
    events = events_of(log)
    counts = assert_gapless(events)
    assert rec.src == parent_src
    child = [e for e in events if isinstance(e, Log) and e.msg.startswith("child")]
    assert len(child) == 2 and child[0].src != parent_src
    assert child[0].src.startswith(f"{pid}-")
    assert counts == {parent_src: 3, child[0].src: 2}


# Many writers at once ----------------------------------------------------------------------


WORKER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from recorder import Recorder

    path, k, n, start_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    rec = Recorder.attach(path)
    time.sleep(max(0.0, start_at - time.time()))  # start together, without spinning
    pad = "x" * 3000
    for i in range(n // 2):
        with rec.task(f"p{k}-{i}", worker=f"proc-{k}"):
            if i % 500 == 0:  # some long lines, so partial writes would show
                rec.log(pad, level=str(i))
                rec.mark(f"p{k}-{i}")
    rec.close()
    print(rec.src)
    """
)

PROCESSES, PER_PROCESS = 8, 20_000


def test_8_processes_x_20k_events_into_one_log(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    main = Recorder(log, name="stress", total=PROCESSES * (PER_PROCESS // 2))
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    start_at = time.time() + 1.5  # after every process has imported runreel
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(log), str(k), str(PER_PROCESS), str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for k in range(PROCESSES)
    ]
    srcs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        srcs.append(out.decode().strip())
    main.finish("ok")
    main.close()

    raw = lines_of(log)
    events = [codec.decode_line(line) for line in raw]  # every line decodes on its own
    assert not any(isinstance(e, Unknown) for e in events)
    extra = PER_PROCESS // 2 // 500 * 2  # one log and one mark every 500 tasks
    assert len(events) == 2 + PROCESSES * (PER_PROCESS + extra)
    counts = assert_gapless(events)
    assert counts == {main.src: 2, **{s: PER_PROCESS + extra for s in srcs}}
    assert len(set(srcs)) == PROCESSES
    # The processes really ran at the same time: their lines interleave in the file.
    # (Run one after another they would change src only PROCESSES + 1 times.)
    src_changes = sum(1 for a, b in zip(events, events[1:], strict=False) if a.src != b.src)
    assert src_changes > 2 * PROCESSES + 2
    m, _ = fold_file(str(log))
    assert (m.succeeded, m.failed, len(m.in_flight)) == (PROCESSES * PER_PROCESS // 2, 0, 0)
    assert exitcodes.for_metrics(m) == exitcodes.OK


def test_threads_sharing_one_recorder(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log)
    threads, per_thread = 8, 1_000
    barrier = threading.Barrier(threads)

    def work(k: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            with rec.task(f"t{k}-{i}", worker=f"thread-{k}"):
                pass

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    rec.finish()
    rec.close()
    events = events_of(log)
    assert assert_gapless(events) == {rec.src: 2 + threads * per_thread * 2}
    m, _ = fold_file(str(log))
    assert m.succeeded == threads * per_thread and not m.in_flight
    assert {w.succeeded for w in m.workers.values()} == {per_thread}


def test_threads_with_their_own_recorders(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    Recorder(log).close()
    threads, per_thread = 8, 2_000
    srcs: list[str] = []

    def work(k: int) -> None:
        with Recorder.attach(log) as rec:
            srcs.append(rec.src)
            for _ in range(per_thread):
                rec.metric("n", 1, labels={"k": str(k)})

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    counts = assert_gapless(events_of(log))
    assert len(set(srcs)) == threads
    assert all(counts[s] == per_thread for s in srcs)


def test_asyncio_tasks_sharing_one_recorder(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log, total=400)

    async def job(i: int) -> None:
        try:
            with rec.task(f"job-{i}", worker=f"co-{i % 7}"):
                await asyncio.sleep(0)
                if i % 10 == 3:
                    raise ConnectionError(f"job {i} lost its connection")
                await asyncio.sleep(0)
        except ConnectionError:
            pass

    async def main() -> None:
        await asyncio.gather(*(job(i) for i in range(400)))

    asyncio.run(main())
    rec.finish()
    rec.close()
    events = events_of(log)
    assert_gapless(events)
    m, _ = fold_file(str(log))
    assert (m.succeeded, m.failed, len(m.in_flight)) == (360, 40, 0)
    failed = [e for e in events if isinstance(e, TaskFailed)]
    assert all(e.error == f"ConnectionError: job {e.task[4:]} lost its connection" for e in failed)
    assert exitcodes.for_metrics(m) == exitcodes.PARTIAL_FAILURE


def test_numbers_readers_would_refuse_are_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    """An attempt below 1, a negative or fractional total, a negative backoff: bad lines."""
    log = tmp_path / "run.jsonl"
    with pytest.raises(ValueError, match="total"):
        Recorder(log, total=-1)
    assert not log.exists() or log.read_bytes() == b""
    with Recorder(log, total=3, overwrite=True) as rec:
        for call, words in [
            (lambda: rec.task_started("a", attempt=0), "attempt"),
            (lambda: rec.retry("a", attempt=-5), "attempt"),
            (lambda: rec.retry("a", backoff=-1.5), "backoff"),
            (lambda: rec.set_total(-3), "total"),
        ]:
            with pytest.raises(ValueError, match=words):
                call()
        with pytest.raises(TypeError):
            rec.set_total(5.0)  # type: ignore[arg-type]
        rec.set_total(0)
    events = [e for batch in read_batches(str(log)) for e in batch]  # every line reads back
    assert [type(e).__name__ for e in events] == ["RunStarted", "TotalChanged", "RunFinished"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_before_anything_is_written(
    tmp_path: Path, bad: float
) -> None:
    """JSON cannot hold NaN or infinity: msgspec would write null, a line no reader accepts."""
    log = tmp_path / "run.jsonl"
    with Recorder(log) as rec:
        with pytest.raises(ValueError, match="finite"):
            rec.metric("temperature", bad, kind="gauge")
        with pytest.raises(ValueError, match="finite"):
            rec.retry("t1", backoff=bad)
        rec.metric("temperature", 21.5, kind="gauge")
    lines = log.read_bytes().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["run_started", "metric", "run_finished"]
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3]


@settings(max_examples=300, deadline=None)
@given(now=st.floats(min_value=1.0, max_value=8e9, allow_nan=False))
def test_times_are_whole_microseconds_of_the_clock(now: float) -> None:
    """Every event's ``t`` is the clock read cut to whole microseconds, written with at most
    six decimals (the hot path computes it inline; this drives it with any clock value)."""
    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "run.jsonl"
        real = writer._time
        writer._time = lambda: now
        try:
            with Recorder(log, linger=None) as rec, Recorder(Path(d) / "b.jsonl", linger=1) as bat:
                rec.task_started("a", worker="w")
                rec.succeeded("a")
                rec.log("x")
                bat.task_started("a")
                bat.succeeded("a")
        finally:
            writer._time = real
        lines = lines_of(log)[1:4] + lines_of(Path(d) / "b.jsonl")[1:3]
    for line in lines:
        text = json.loads(line.decode(), parse_float=str)["t"]
        whole, _, frac = text.partition(".")
        assert 1 <= len(frac) <= 6 and "e" not in text, text
        us = int(whole) * 1_000_000 + int(frac.ljust(6, "0"))
        assert now * 1e6 - 1 <= us <= now * 1e6 + 1e-3, (now, text)
