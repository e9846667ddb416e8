"""The logs and writers the live viewer is measured on (bench/live_latency.py): a run whose
last event is old, a heartbeat that keeps it from stalling, and a writer process that
appends 10,000 events a second through the Recorder API."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from recorder import codec
from recorder.events import Log, RunStarted, TaskStarted, TaskSucceeded

LOAD_WRITER = r"""
import sys, time
from recorder.writer import Recorder

path, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rec = Recorder.attach(path)
print("go", flush=True)
workers = [f"load-w{i:02d}" for i in range(16)]
n = task = 0
start = time.monotonic()
while (now := time.monotonic()) < start + seconds:
    due = int((now - start) * rate)
    while n < due:
        if n % 2 == 0:
            rec.task_started(f"load-{task}", worker=workers[task % 16])
        else:
            rec.succeeded(f"load-{task}", worker=workers[task % 16])
            task += 1
        n += 1
    time.sleep(0.002)
rec.close()
print(n, time.monotonic() - start)
"""


def old_log(path: Path, *, busy: int, age: float, total: int | None) -> int:
    """A run whose last event is ``age`` seconds old, with ``busy`` tasks still running."""
    t = time.time() - age - 10
    src = "1-bench"
    start = RunStarted(t=t, src=src, seq=1, v=1, run="idle", name="bench-idle", total=total)
    lines = [codec.encode(start)]
    seq = 1
    for i in range(8):
        seq += 1
        lines.append(
            codec.encode(TaskStarted(t=t + i, src=src, seq=seq, task=f"done-{i}", worker=f"w{i}"))
        )
        seq += 1
        lines.append(
            codec.encode(
                TaskSucceeded(t=t + i + 1, src=src, seq=seq, task=f"done-{i}", worker=f"w{i}")
            )
        )
    for i in range(busy):
        seq += 1
        lines.append(
            codec.encode(TaskStarted(t=t + 10, src=src, seq=seq, task=f"busy-{i}", worker=f"w{i}"))
        )
    path.write_bytes(b"".join(lines))
    return seq


def heartbeat(path: Path, seq: int, every: float, stop: threading.Event) -> None:
    """A log event every ``every`` seconds, so that the run does not stall."""
    while True:
        seq += 1
        line = codec.encode(Log(t=time.time(), src="1-bench", seq=seq, msg="heartbeat"))
        with open(path, "ab") as f:
            f.write(line)
        if stop.wait(every):
            return
