"""Group commit (``Recorder(..., linger=S)``): batches of whole lines, and when they are written.

Every way a process ends is tried for real (close, idle, fork, exit, multiprocessing,
SIGTERM and SIGINT with and without a handler of the program's own, SIGKILL): nothing
buffered is lost except, on SIGKILL, the batch not yet written, and no line is written
twice or torn. The many-writer and crash cases of test_reliability.py run with linger too.
"""

from __future__ import annotations

import mmap
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_reliability import _child, _reap, assert_gapless, events_in

from recorder import Recorder, WriteFailed
from recorder.codec import decode_line
from recorder.events import Log, RunFinished, RunStarted, TaskStarted, TaskSucceeded
from recorder.sinks import file as file_sink

FOREVER = 3600.0  # a linger no test waits for: only size, close, fork, exit or a signal write


def _wait_for(check: Any, what: str, deadline: float = 60.0) -> None:
    """Poll until ``check()`` holds (a condition, not a duration, is what is tested)."""
    end = time.monotonic() + deadline
    while not check():
        assert time.monotonic() < end, f"gave up waiting: {what}"
        time.sleep(0.01)


def test_batches_are_whole_lines_in_one_write_each(tmp_path: Path, monkeypatch: Any) -> None:
    writes: list[bytes] = []
    real = os.write

    def spy(fd: int, data: Any) -> int:
        writes.append(bytes(data))
        return real(fd, data)

    monkeypatch.setattr(file_sink.os, "write", spy)
    log = tmp_path / "run.jsonl"
    with Recorder(log, linger=FOREVER, batch_bytes=4096) as rec:
        for i in range(2000):
            rec.task_started(f"t{i}", worker="w")
            rec.succeeded(f"t{i}", worker="w")
            assert not log.read_bytes() or log.read_bytes().endswith(b"\n")
        rec.log("x" * 10_000)  # bigger than a batch: written at once, whole
    assert all(w.endswith(b"\n") for w in writes)
    assert len(writes) < 4002 // 30, "lines were not batched"
    assert max(len(w) for w in writes[:-2]) < 4096 + 200
    events = events_in(log.read_bytes())
    assert_gapless(events)
    assert len(events) == 1 + 4000 + 1 + 1


def test_lines_are_the_same_bytes_with_and_without_linger(tmp_path: Path) -> None:
    def strip(data: bytes) -> list[bytes]:  # t and src differ from run to run
        out = []
        for line in data.splitlines():
            e = decode_line(line)
            out.append(line.replace(repr(e.t).encode(), b"T").replace(e.src.encode(), b"S"))
        return out

    logs = []
    for linger in (None, FOREVER):
        log = tmp_path / f"{linger}.jsonl"
        with Recorder(log, run="r", linger=linger) as rec:
            rec.task_started("a", worker="w", attempt=2)
            rec.retry("a", worker="w", attempt=2, error="e", backoff=1.5)
            rec.retry("a", worker="w", attempt=3, error="e", detail="tb")
            rec.failed("a", worker="w", error="e")
            rec.failed("b", detail="d")
            rec.succeeded("a")
            rec.skip("c", reason="r")
            rec.metric("m", 2, labels={"k": "v"})
            rec.mark("here")
            rec.set_total(3)
        logs.append(strip(log.read_bytes()))
    assert logs[0] == logs[1]
    assert b'"detail"' not in logs[0][2] and b'"detail":"tb"' in logs[0][3]


TEXT = st.one_of(st.characters(), st.sampled_from(['"', "\\", "\n", "\x7f", "\ud800", "\udcff"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(st.tuples(st.text(TEXT, max_size=12), st.text(TEXT, max_size=6)), max_size=40),
    limit=st.sampled_from([1, 300, 4096]),
)
@example(names=[("a", "w"), ("b", "w"), ("c\ud800", "w"), ("d", "\udcff"), ("é", "w")], limit=4096)
def test_each_batched_line_is_msgspecs_encoding_of_its_event(
    names: list[tuple[str, str]], limit: int
) -> None:
    """The queue of task_started/succeeded events is encoded all at once when the batch is
    written: each line is still msgspec's own encoding of the event, byte for byte, in call
    order; text that cannot be encoded (a lone surrogate) is refused at the call."""
    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "run.jsonl"
        expected: list[bytes] = []
        with Recorder(log, linger=FOREVER, batch_bytes=limit) as rec:
            for i, (task, worker) in enumerate(names):
                call = rec.task_started if i % 2 else rec.succeeded
                seq = rec._seq
                try:
                    call(task, worker=worker)
                except (TypeError, ValueError):
                    assert rec._seq == seq  # refused: no seq taken, nothing queued
                    continue
                expected.append(task)
            rec.mark("end")
        lines = log.read_bytes().splitlines(keepends=True)
    events = [decode_line(line) for line in lines]
    assert [getattr(e, "task", None) for e in events[1:-2]] == expected
    for line, event in zip(lines, events, strict=True):
        assert line == msgspec.json.encode(event) + b"\n"
    assert_gapless(events)


def test_an_idle_recorder_writes_its_batch_within_linger(tmp_path: Path) -> None:
    log = tmp_path / "idle.jsonl"
    rec = Recorder(log, linger=0.05)
    rec.task_started("a")
    _wait_for(lambda: log.read_bytes().count(b"\n") == 2, "the idle batch")
    rec.succeeded("a")  # a second window, after the first was written
    _wait_for(lambda: log.read_bytes().count(b"\n") == 3, "the second batch")
    rec.close()
    assert [type(e) for e in events_in(log.read_bytes())] == [
        RunStarted,
        TaskStarted,
        TaskSucceeded,
    ]


def _flushers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("runreel-flusher")]


def test_the_flusher_thread_ends_when_idle_and_comes_back(tmp_path: Path) -> None:
    log = tmp_path / "idle.jsonl"
    rec = Recorder(log, linger=0.01)
    rec.mark("one")
    _wait_for(lambda: log.read_bytes().count(b"\n") == 2, "the first batch")
    _wait_for(lambda: not _flushers(), "the idle flusher to end")
    rec.mark("two")
    _wait_for(lambda: log.read_bytes().count(b"\n") == 3, "a batch after the flusher ended")
    rec.close()
    _wait_for(lambda: not _flushers(), "the flusher to end at close")


def test_flush_and_close_write_the_batch(tmp_path: Path) -> None:
    log = tmp_path / "f.jsonl"
    rec = Recorder(log, linger=FOREVER)
    rec.mark("one")
    assert log.read_bytes() == b""
    rec.flush()
    assert log.read_bytes().count(b"\n") == 2
    rec.mark("two")
    rec.close()
    assert log.read_bytes().count(b"\n") == 3
    with pytest.raises(WriteFailed, match="closed"):
        rec.mark("three")


def test_a_fork_writes_the_parents_batch_once(tmp_path: Path) -> None:
    log = tmp_path / "fork.jsonl"
    rec = Recorder(log, linger=FOREVER)
    for i in range(10):
        rec.task_started(f"parent-{i}")

    def child() -> None:
        for i in range(5):
            rec.task_started(f"child-{i}")
        rec.close()

    pid = _child(child)
    _reap([pid])
    rec.succeeded("parent-0")
    rec.close()
    events = events_in(log.read_bytes())
    counts = assert_gapless(events)
    tasks = [e.task for e in events if isinstance(e, TaskStarted)]
    assert sorted(tasks) == sorted(
        [f"parent-{i}" for i in range(10)] + [f"child-{i}" for i in range(5)]
    )
    assert sorted(counts.values()) == [5, 12]


MP_CHILD = textwrap.dedent(
    """
    import multiprocessing, sys
    from recorder import Recorder

    def work(rec):
        for i in range(7):
            rec.task_started(f"child-{i}")
        # no close(): multiprocessing ends the child with os._exit, which skips atexit

    if __name__ == "__main__":
        rec = Recorder(sys.argv[1], linger=3600)
        p = multiprocessing.get_context("fork").Process(target=work, args=(rec,))
        p.start()
        p.join()
        rec.close()
        sys.exit(p.exitcode)
    """
)


def test_a_multiprocessing_child_writes_its_batch(tmp_path: Path) -> None:
    log = tmp_path / "mp.jsonl"
    script = tmp_path / "mp.py"
    script.write_text(MP_CHILD)
    done = subprocess.run([sys.executable, str(script), str(log)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    events = events_in(log.read_bytes())
    assert_gapless(events)
    assert [e.task for e in events if isinstance(e, TaskStarted)] == [
        f"child-{i}" for i in range(7)
    ]


EXITING = textwrap.dedent(
    """
    import os, signal, sys, time
    from recorder import Recorder

    path, how = sys.argv[1], sys.argv[2]
    if how == "own-handler":
        def handler(signum, frame):
            print("own handler", flush=True)
            sys.exit(7)
        signal.signal(signal.SIGTERM, handler)
    if how == "ignored":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    rec = Recorder(path, linger=3600)
    if how == "no-close":
        for i in range(50):
            rec.task_started(f"t{i}")
        sys.exit(0)
    with rec:
        for i in range(50):
            rec.task_started(f"t{i}")
        print("ready", flush=True)
        if how == "ignored":
            sys.stdin.readline()
            rec.mark("still here")
        elif how == "busy":
            while True:  # the signal lands in the middle of the Recorder's work
                rec.log("busy")
        else:
            while True:  # idle: the 50 events wait in the batch (linger is an hour)
                time.sleep(1)
    """
)


def _run_until_signal(tmp_path: Path, how: str, sig: signal.Signals | None) -> tuple[Any, bytes]:
    log = tmp_path / f"{how}.jsonl"
    script = tmp_path / "exiting.py"
    script.write_text(EXITING)
    p = subprocess.Popen(
        [sys.executable, str(script), str(log), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert p.stdout is not None
    if sig is not None:
        assert p.stdout.readline() == b"ready\n"
        time.sleep(random.uniform(0, 0.05))  # a random moment in the busy loop
        p.send_signal(sig)
    if how == "ignored":
        _wait_for(lambda: log.read_bytes().count(b"\n") == 51, "the batch the signal wrote")
        p.stdin.write(b"go on\n")  # type: ignore[union-attr]
    p.communicate(timeout=120)
    return p, log.read_bytes()


def _started(data: bytes) -> list[str]:
    return [e.task for e in events_in(data) if isinstance(e, TaskStarted)]


def test_exit_without_close_writes_the_batch(tmp_path: Path) -> None:
    p, data = _run_until_signal(tmp_path, "no-close", None)
    assert p.returncode == 0
    assert_gapless(events_in(data))
    assert _started(data) == [f"t{i}" for i in range(50)]


def test_sigterm_writes_the_batch_and_still_ends_the_process(tmp_path: Path) -> None:
    p, data = _run_until_signal(tmp_path, "idle", signal.SIGTERM)
    assert p.returncode == -signal.SIGTERM  # the default action, taken again
    assert_gapless(events_in(data))
    assert _started(data) == [f"t{i}" for i in range(50)]


@pytest.mark.parametrize("trial", range(3))
def test_sigterm_in_the_middle_of_an_event(tmp_path: Path, trial: int) -> None:
    p, data = _run_until_signal(tmp_path, "busy", signal.SIGTERM)
    assert p.returncode == -signal.SIGTERM
    assert data.endswith(b"\n")
    events = events_in(data)
    assert_gapless(events)
    assert _started(data) == [f"t{i}" for i in range(50)]
    assert isinstance(events[-1], Log)  # no run_finished: the process ended by the signal


def test_sigterm_reaches_the_programs_own_handler(tmp_path: Path) -> None:
    p, data = _run_until_signal(tmp_path, "own-handler", signal.SIGTERM)
    assert p.returncode == 7
    events = events_in(data)
    assert_gapless(events)
    assert _started(data) == [f"t{i}" for i in range(50)]
    assert isinstance(events[-1], RunFinished) and events[-1].exit_status == 7


def test_sigint_is_still_a_keyboard_interrupt(tmp_path: Path) -> None:
    p, data = _run_until_signal(tmp_path, "idle", signal.SIGINT)
    assert p.returncode in (-signal.SIGINT, 1, 130)
    events = events_in(data)
    assert_gapless(events)
    assert isinstance(events[-1], RunFinished) and events[-1].status == "interrupted"


def test_an_ignored_sigterm_writes_the_batch_and_stays_ignored(tmp_path: Path) -> None:
    p, data = _run_until_signal(tmp_path, "ignored", signal.SIGTERM)
    assert p.returncode == 0
    events = events_in(data)
    assert_gapless(events)
    assert [getattr(e, "label", None) for e in events][-2] == "still here"


# SIGKILL: only the batch not yet written is lost ------------------------------------------


def _killed_writer(log: Path, shared: mmap.mmap, seed: int, limit: int) -> Any:
    """Write events for ever; after each one returns, store its seq in shared memory."""

    def run() -> None:
        rng = random.Random(seed)
        rec = Recorder.attach(log, linger=rng.choice([FOREVER, 0.01]), batch_bytes=limit)
        shared[:8] = struct.pack("q", rec._seq)
        i = 0
        while True:
            i += 1
            rec.task_started(f"{seed}-{i:09d}", worker="w")
            shared[:8] = struct.pack("q", rec._seq)

    return run


def kill_trial(directory: Path, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    log = directory / f"kill-{seed}.jsonl"
    Recorder(log).close()
    limit = rng.choice([512, 4096, 65_536])
    shared = mmap.mmap(-1, 8)
    pid = _child(_killed_writer(log, shared, seed, limit))
    size = os.path.getsize(log) + rng.uniform(1, 2e6)  # a random moment, in bytes written
    _wait_for(lambda: os.path.getsize(log) > size, "the writer to grow the log")
    os.kill(pid, signal.SIGKILL)
    _reap([pid])
    handed = struct.unpack("q", shared[:8])[0]  # the calls that had returned
    data = log.read_bytes()
    whole = data[: data.rfind(b"\n") + 1]
    events = events_in(whole)
    counts = assert_gapless(events)  # whole lines, in order, no gap: a prefix of the writer's
    written = max((n for src, n in counts.items() if src != events[0].src), default=0)
    assert written <= handed + 1  # a call cut short by the kill may have written its line
    lost = max(handed - written, 0)
    # At most one batch: a batch is written once it reaches ``limit`` bytes, and these
    # lines are all the same size (fixed-width task ids) give or take a digit of t.
    line = max(len(x) for x in whole.splitlines()[1:]) + 1
    assert lost * (line - 3) <= limit + line, f"{lost} events lost, more than one batch"
    return {"lost": lost, "torn": int(len(data) > len(whole)), "written": written}


def test_sigkill_loses_only_the_last_batch(tmp_path: Path) -> None:
    results = [kill_trial(tmp_path, seed) for seed in range(6)]
    assert sum(r["lost"] for r in results) > 0, "no trial had anything buffered"


# Failures ---------------------------------------------------------------------------------


def test_a_batch_that_cannot_be_written_is_raised_at_the_next_call_and_close() -> None:
    rec = Recorder.attach("/dev/full", linger=FOREVER, batch_bytes=200)
    rec.log("a")  # buffered: nothing is written yet
    with pytest.raises(WriteFailed, match="No space left"):
        for _ in range(10):  # the batch fills up and its write fails
            rec.log("b" * 50)
    with pytest.raises(WriteFailed, match="No space left"):
        rec.log("c")  # refused while the batch still cannot be written
    seq = rec._seq
    with pytest.raises(WriteFailed, match="No space left"):
        rec.close()
    assert rec._seq == seq  # the refused events took no seq


def test_a_batch_that_cannot_be_written_at_exit_is_reported() -> None:
    script = (
        "from recorder import Recorder\n"
        "rec = Recorder.attach('/dev/full', linger=3600)\n"
        "for i in range(3):\n    rec.log('x')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == 0
    assert done.stderr.decode().strip().splitlines() == [
        "runreel: 3 events were not written: cannot write to /dev/full: No space left on device"
    ]
