"""Issue 4 benchmark: first frame, index build, seeks with and without the index, memory.

Run from the repository root (not a test; every figure comes from this run):

    python bench/seek.py                 # 10M events (about 1 GB), a few minutes
    python bench/seek.py --quick         # 1M events (about 100 MB)
    python bench/seek.py --events 3000000 --dir /big/disk --keep
    python bench/seek.py --json out.json # also write the figures as JSON ("-": stdout)

A log with a fixed seed (64 workers in 16 writer processes, retries, failures, skips,
logs, metrics, a mark every 50,000 events) is written with ``recorder.codec`` from a
pre-built block of events repeated with shifted times, sequence numbers and task ids.
Then, in the same run, each measurement in a fresh process:

- first frame, cold (no index): ``runreel snapshot --at 0`` and ``runreel replay
  --instant --to 0`` (not a TTY: it prints its final frame), whole command;
- ``runreel index`` build time, whole command, and its peak RSS;
- warm seeks to 10 random event numbers: ``runreel snapshot --at '#N'`` (whole command)
  and a Python ``Cursor.seek(N)`` on the loaded index (in-process seek time, index
  load time, peak RSS);
- the baseline, no index: fold from the start up to event N for the same 10 points;
- one backward step (``Cursor.seek(N - 1)`` from N) with the warm index.

Peak memory is the child's ``ru_maxrss`` from ``os.wait4``. Ratios are against the
fold-from-start baseline of this run. Targets (issue 4): warm seek <= 100 ms and
>= 40x faster than folding from the start; peak memory <= 100 MB whatever the log size.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import msgspec

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
)

SEED = 4
PROCESSES = 16  # writer processes (one src each)
THREADS = 4  # workers per process
BLOCK = 100_000  # events simulated once, then repeated
MARK_EVERY = 50_000
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
POINTS = 10
ERRORS = (
    "TimeoutError: read timed out after 30s",
    "ConnectionResetError: [Errno 104] Connection reset by peer",
    "ValueError: invalid literal for int() with base 10: 'n/a'",
    "RuntimeError: upstream returned HTTP 503",
    "KeyError: 'customer_id'",
)
LEVELS = ("info", "info", "info", "warning", "error")
TARGETS = {
    "seek_ms": 100.0,  # warm index, in-process seek
    "seek_speedup": 40.0,  # fold from the start / warm seek
    "peak_mib": 100.0,  # index build and a seek, each in its own process
}
RUNREEL = [sys.executable, "-c", "from replay.cli import main; main()"]


# The log -------------------------------------------------------------------------


def _block(rng: random.Random) -> tuple[list[tuple[AnyEvent, int]], float, dict[str, int]]:
    """About BLOCK events of 64 workers, every task ended inside the block.

    Returns (event, task number in the block or -1) pairs with times relative to
    the block's start, the block's duration and the events per ``src``.
    """
    srcs = [f"{4000 + p}-{rng.getrandbits(32):08x}" for p in range(PROCESSES)]
    workers = [(srcs[p], f"host{p:02d}-w{k}") for p in range(PROCESSES) for k in range(THREADS)]
    out: list[tuple[AnyEvent, int]] = []
    seqs: dict[str, int] = {}

    def emit(cls: Any, t: float, src: str, task: int = -1, **fields: Any) -> None:
        seq = seqs[src] = seqs.get(src, 0) + 1
        t = round(t, 6)
        if task >= 0:
            fields["task"] = ""
        out.append((cls(t=t, src=src, seq=seq, **fields), task))

    heap = [(rng.random(), w) for w in range(len(workers))]
    heapq.heapify(heap)
    phase = [0] * len(workers)  # 0 idle, 1 running, 2 backoff
    task = [0] * len(workers)
    attempt = [0] * len(workers)
    tasks = 0
    t = 0.0
    while heap:
        t, w = heapq.heappop(heap)
        src, name = workers[w]
        if phase[w] == 0:
            if len(out) >= BLOCK:
                continue  # this worker is done for the block
            tasks += 1
            if rng.random() < 0.02:
                emit(TaskSkipped, t, src, tasks, worker=name, reason="already done")
                t += rng.uniform(0.001, 0.01)
            else:
                task[w], attempt[w], phase[w] = tasks, 1, 1
                emit(TaskStarted, t, src, tasks, worker=name, attempt=1)
                t += rng.lognormvariate(-1.0, 0.9)
        elif phase[w] == 2:
            attempt[w] += 1
            phase[w] = 1
            emit(TaskStarted, t, src, task[w], worker=name, attempt=attempt[w])
            t += rng.lognormvariate(-1.0, 0.9)
        else:
            r = rng.random()
            if r < 0.10 and attempt[w] < 3:
                backoff = 0.5 * 2 ** attempt[w]
                phase[w] = 2
                err = rng.choice(ERRORS)
                emit(TaskRetrying, t, src, task[w], worker=name, attempt=attempt[w], error=err,
                     backoff=backoff)  # fmt: skip
                t += backoff
            else:
                phase[w] = 0
                if r < 0.14:
                    err = rng.choice(ERRORS)
                    emit(TaskFailed, t, src, task[w], worker=name, error=err)
                else:
                    emit(TaskSucceeded, t, src, task[w], worker=name)
                if rng.random() < 0.3:
                    value = float(rng.randint(1, 5000))
                    labels = {"shard": f"s{rng.randrange(8)}"}
                    emit(Metric, t, src, name="rows_written", value=value, labels=labels)
                if rng.random() < 0.05:
                    value = float(rng.randrange(10_000))
                    emit(Metric, t, src, name="queue_depth", kind="gauge", value=value)
                if rng.random() < 0.15:
                    level = rng.choice(LEVELS)
                    msg = f"wrote batch {rng.randrange(1000)} ({level})"
                    emit(Log, t, src, level=level, msg=msg)
                t += rng.uniform(0.001, 0.01)
        heapq.heappush(heap, (t, w))
    return out, round(t + 0.5, 6), seqs


def generate(path: str, events: int, seed: int = SEED) -> dict[str, Any]:
    """Write a log of exactly ``events`` events (at least 2); returns what it holds."""
    rng = random.Random(seed)
    block, span, per_src = _block(rng)
    main = "3999-0c0ffee0"
    encode_into = msgspec.json.Encoder().encode_into
    replace = msgspec.structs.replace
    buf = bytearray()
    n = 0
    with open(path, "wb") as f:

        def write(e: AnyEvent) -> None:
            nonlocal n
            encode_into(e, buf, -1)
            buf.extend(b"\n")
            n += 1
            if len(buf) >= 1 << 22:
                f.write(buf)
                buf.clear()

        main_seq = 1
        planned = events * 2 // 5
        write(RunStarted(t=T0, src=main, seq=1, v=1, run="bench-seek-01", name="nightly-etl",
                         total=planned, meta={"host": "bench", "seed": str(seed)}))  # fmt: skip
        k = 0
        next_mark = MARK_EVERY
        while n < events - 1:
            off = T0 + 1.0 + k * span
            prefix = f"j{k:04d}-"
            for e, task in block:
                if n >= events - 1:
                    break
                if n >= next_mark:
                    main_seq += 1
                    write(Mark(t=e.t + off, src=main, seq=main_seq, label=f"m{n // MARK_EVERY}"))
                    next_mark += MARK_EVERY
                    if n >= events - 1:
                        break
                seq = e.seq + k * per_src[e.src]
                if task >= 0:
                    write(replace(e, t=e.t + off, seq=seq, task=f"{prefix}{task:05d}"))  # type: ignore[call-arg]
                else:
                    write(replace(e, t=e.t + off, seq=seq))
            k += 1
        main_seq += 1
        write(RunFinished(t=T0 + 1.0 + k * span, src=main, seq=main_seq, status="ok"))
        f.write(buf)
    return {"events": n, "bytes": os.path.getsize(path)}
