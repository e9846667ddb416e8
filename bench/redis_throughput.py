"""Issue 8 benchmark: a Redis stream beside a local file, measured in the same run.

Run from the repository root (not a test; every figure comes from this run):

    python bench/redis_throughput.py            # about 30 seconds
    python bench/redis_throughput.py --quick    # a few seconds
    python bench/redis_throughput.py --url redis://host:6379/0   # a server of your own
    python bench/redis_throughput.py --json out.json   # also the figures as JSON ("-": stdout)

Without --url it starts a redis-server of its own on a free loopback port (no
persistence: the file side is not fsynced either) and stops it at the end.

- throughput: 8 writer processes append task_started/task_succeeded pairs through
  ``Recorder.attach`` to one log, all at once; events/s is every event over the time
  from the common start until the last writer is done. Each backend unbatched and with
  ``linger`` (group commit: a pipeline of XADDs per batch for the stream), beside a bare
  ``os.write`` per pre-encoded line from 8 processes, measured in the same run.
- follow latency: a writer process appends events at a steady 200 events/s; a follower
  in this process takes them in, and the latency of one event is the time it was taken
  in minus its ``t`` (same machine, same clock). The file is followed with
  ``replay.sources.follow.Follower`` polled every 1 ms and every 100 ms (``runreel live
  --refresh 10``); the stream with ``RedisFollower`` (XREAD BLOCK 50 ms, as live does).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recorder.codec import encode  # noqa: E402
from recorder.events import Log, TaskStarted, TaskSucceeded  # noqa: E402
from recorder.location import parse  # noqa: E402
from recorder.writer import Recorder  # noqa: E402
from replay.sources.follow import Follower, FollowSource  # noqa: E402
from replay.sources.redis import RedisFollower  # noqa: E402

WRITERS = 8
LINGER = 0.05  # seconds, for the group-commit rows
BARE = -1.0  # a "linger" that means: no Recorder, a bare os.write per pre-encoded line
FOLLOW_RATE = 200.0  # events/s while latency is measured


@contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """redis://host:port/DB: the one given, or a server started here and stopped after."""
    if url:
        yield url.rstrip("/")
        return
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed; install it or pass --url")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as data:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", data]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        try:
            base = f"redis://127.0.0.1:{port}/0"
            _wait_for(base)
            yield base
        finally:
            proc.terminate()
            proc.wait(10)


def _wait_for(base: str) -> None:
    import redis

    end = time.monotonic() + 10
    while True:
        try:
            with redis.Redis.from_url(base) as c:
                c.ping()
            return
        except redis.exceptions.ConnectionError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def server_version(base: str) -> str:
    import redis

    with redis.Redis.from_url(base) as c:
        return str(c.info("server").get("redis_version", "?"))


def drop(base: str, location: str) -> None:
    import redis

    if location.startswith("redis"):
        with redis.Redis.from_url(base) as c:
            c.delete(parse(location).stream)


# Throughput ----------------------------------------------------------------------


def _writer(
    location: str, pairs: int, name: str, start_at: float, done: Any, linger: float | None
) -> None:
    if linger == BARE:
        _bare_writer(location, pairs, name, start_at, done)
        return
    rec = Recorder.attach(location, linger=linger)
    while time.time() < start_at:
        time.sleep(0.0005)
    for i in range(pairs):
        rec.task_started(f"{name}-{i}", worker=name)
        rec.succeeded(f"{name}-{i}", worker=name)
    rec.close()
    done.put(time.time())


def _bare_writer(location: str, pairs: int, name: str, start_at: float, done: Any) -> None:
    """The baseline: one ``os.write`` per line, the lines encoded before the start."""
    src, t = f"{os.getpid()}-bare", time.time()
    lines = []
    for i in range(pairs):
        lines.append(
            encode(TaskStarted(task=f"{name}-{i}", worker=name, t=t, src=src, seq=2 * i + 1))
        )
        lines.append(
            encode(TaskSucceeded(task=f"{name}-{i}", worker=name, t=t, src=src, seq=2 * i + 2))
        )
    fd = os.open(location, os.O_WRONLY | os.O_APPEND)
    while time.time() < start_at:
        time.sleep(0.0005)
    for line in lines:
        os.write(fd, line)
    os.close(fd)
    done.put(time.time())


def throughput(location: str, pairs: int, linger: float | None = None) -> tuple[int, float]:
    """(events, seconds) for WRITERS processes appending ``pairs`` pairs each."""
    Recorder(location, name="bench", overwrite=True).close()
    ctx = mp.get_context("fork")
    done = ctx.Queue()
    start_at = time.time() + 0.5  # every writer connected and waiting
    procs = [
        ctx.Process(target=_writer, args=(location, pairs, f"w{i}", start_at, done, linger))
        for i in range(WRITERS)
    ]
    for p in procs:
        p.start()
    ends = [done.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
        assert p.exitcode == 0, f"a writer failed on {location}"
    return WRITERS * pairs * 2, max(ends) - start_at


# Follow latency -------------------------------------------------------------------


def _paced(location: str, events: int, rate: float, start_at: float) -> None:
    rec = Recorder.attach(location)
    while time.time() < start_at:
        time.sleep(0.001)
    for i in range(events):
        due = start_at + i / rate
        pause = due - time.time()
        if pause > 0:
            time.sleep(pause)
        rec.log(f"ping {i}")
    rec.close()


def latency(location: str, follower: FollowSource, events: int, every: float) -> list[float]:
    """Seconds from each event's ``t`` until the follower handed it over."""
    Recorder(location, name="latency", overwrite=True).close()
    follower.poll()  # the run_started line
    start_at = time.time() + 0.5
    writer = mp.get_context("fork").Process(
        target=_paced, args=(location, events, FOLLOW_RATE, start_at)
    )
    writer.start()
    seen: list[float] = []
    deadline = time.monotonic() + events / FOLLOW_RATE + 30
    while len(seen) < events and time.monotonic() < deadline:
        poll = follower.poll()
        now = time.time()
        seen.extend(now - e.t for e in poll.events if isinstance(e, Log))
        if every:
            time.sleep(every)
    writer.join()
    follower.close()
    assert len(seen) == events, f"{len(seen)} of {events} events followed on {location}"
    return seen


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Fewer events (a few seconds).")
    parser.add_argument("--url", help="redis://host:port/DB of a server to use.")
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE", help="also write JSON")
    args = parser.parse_args()
    figures: dict[str, Any] = {"quick": args.quick, "writers": WRITERS}
    pairs = 1_000 if args.quick else 10_000
    follow_events = 200 if args.quick else 1_000
    with redis_server(args.url) as base, tempfile.TemporaryDirectory() as tmp:
        key = f"runreel-bench-{uuid.uuid4().hex[:8]}"
        file_log, stream = os.path.join(tmp, "bench.jsonl"), f"{base}/{key}"
        print(
            f"runreel bench/redis_throughput.py{' --quick' if args.quick else ''}: "
            f"Python {platform.python_version()}, redis-server {server_version(base)}, "
            f"{os.cpu_count()} cores"
        )
        figures.update(python=platform.python_version(), redis=server_version(base))
        print()
        print(f"throughput: {WRITERS} processes into one log; ratio: to the bare os.write row")
        print(f"{'backend':<36}{'events':>10}{'seconds':>10}{'events/s':>12}{'ratio':>8}")
        rows: list[tuple[str, str, float | None]] = [
            ("bare os.write per line (baseline)", file_log, BARE),
            ("file (O_APPEND)", file_log, None),
            (f"file, linger={LINGER}", file_log, LINGER),
            ("redis stream (XADD)", stream, None),
            (f"redis stream, linger={LINGER} (pipelined)", stream, LINGER),
        ]
        try:
            bare_rate = 0.0
            for name, location, linger in rows:
                n, seconds = throughput(location, pairs, linger)
                bare_rate = bare_rate or n / seconds
                print(
                    f"{name:<36}{n:>10,}{seconds:>10.2f}{n / seconds:>12,.0f}"
                    f"{n / seconds / bare_rate:>8.2f}"
                )
                figures[f"throughput {name}"] = {
                    "events": n,
                    "seconds": seconds,
                    "ratio_to_bare_write": n / seconds / bare_rate,
                }
            print()
            rate = f"{FOLLOW_RATE:.0f} events/s"
            print(f"follow latency: one writer at {rate}, {follow_events} events")
            print(f"{'backend':<30}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
            cases: list[tuple[str, str, Callable[[], FollowSource], float]] = [
                ("file, polled every 1 ms", file_log, lambda: Follower(file_log), 0.001),
                ("file, polled every 100 ms", file_log, lambda: Follower(file_log), 0.1),
                (
                    "redis, XREAD BLOCK 50 ms",
                    stream,
                    lambda: RedisFollower(parse(stream), block=0.05),
                    0.0,
                ),
            ]
            for name, location, make, every in cases:
                seen = latency(location, make(), follow_events, every)
                print(
                    f"{name:<30}{pct(seen, 0.5) * 1000:>10.2f}{pct(seen, 0.95) * 1000:>10.2f}"
                    f"{max(seen) * 1000:>10.2f}"
                )
                figures[f"latency {name}"] = {
                    "p50_ms": pct(seen, 0.5) * 1000,
                    "p95_ms": pct(seen, 0.95) * 1000,
                    "max_ms": max(seen) * 1000,
                }
        finally:
            drop(base, stream)
    if args.json == "-":
        print(json.dumps(figures, indent=2))
    elif args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
