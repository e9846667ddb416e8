"""Issue 17 benchmark: the Recorder's write rate as a ratio to a bare ``os.write`` per line.

Usage:
    python bench/writer.py                  # 200k events per case, 9 rounds (about two minutes)
    python bench/writer.py --quick          # 50k events, 5 rounds: a smoke run
    python bench/writer.py --json out.json  # also write the figures as JSON ("-": stdout)

What each line measures (all in this process, on files in one temporary directory):

- bare: one ``os.write`` per pre-encoded line (lines encoded before the clock starts):
  the unbatched ceiling, and the baseline of every ratio;
- floor: build each event's struct and encode it (msgspec ``encode_into`` and the
  newline), then one ``os.write``: no lock, clock read or seq (what any writer of this
  format does at least, with no Recorder);
- stamped floor: the floor plus what every event of a writer shared by threads needs: a
  lock held around it, a clock read (whole microseconds) and the seq;
- Recorder: ``task_started`` + ``succeeded`` pairs through the public API, unbatched;
- Recorder with ``linger`` (group commit): the same calls, batches of up to 64 KiB;
- batch floor: building and encoding each event into a 64 KiB batch, one ``os.write``
  per batch: no lock, clock or seq (what any group commit does at least);
- stamped batch floor: the batch floor plus the lock, clock read and seq of each event.

Costs are CPU seconds of the whole process (``time.process_time``: user + system, so
the write syscall counts, and so does the flusher thread), which suffer less from other
processes than wall time. Every case runs right after a bare run of its own, and its
round's ratio is that bare time / its time; a line shows the median of the rounds'
ratios and their spread (lowest-highest), and the median rate. Every log is checked
afterwards: every line whole, every seq in order.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from recorder import codec  # noqa: E402
from recorder.events import AnyEvent, TaskStarted, TaskSucceeded  # noqa: E402
from recorder.writer import Recorder  # noqa: E402

WORKER = "host07-w3"
LINGER = 0.05
LIMIT = 1 << 16  # the Recorder's default batch_bytes
TARGETS = {"recorder": 0.6, "linger": 1.3}

Case = Callable[[str, int], float]


def _ids(events: int) -> list[str]:
    return [f"job-{i:07d}" for i in range(events // 2)]


def _pairs(events: int) -> list[AnyEvent]:
    src, t = f"{os.getpid()}-bench", time.time()
    out: list[AnyEvent] = []
    for i, tid in enumerate(_ids(events)):
        out.append(TaskStarted(task=tid, worker=WORKER, t=t, src=src, seq=2 * i + 1))
        out.append(TaskSucceeded(task=tid, worker=WORKER, t=t, src=src, seq=2 * i + 2))
    return out


def _open(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o644)


def bare(path: str, events: int) -> float:
    """CPU seconds for one ``os.write`` per pre-encoded line: the unbatched ceiling."""
    lines = [codec.encode(e) for e in _pairs(events)]
    fd = _open(path)
    try:
        write = os.write
        c0 = time.process_time()
        for line in lines:
            write(fd, line)
        return time.process_time() - c0
    finally:
        os.close(fd)


def floor(path: str, events: int) -> float:
    """CPU seconds to build, encode and write each event: what any writer does at least."""
    ids, src, t = _ids(events), f"{os.getpid()}-bench", time.time()
    buf = bytearray()
    fd = _open(path)
    try:
        write, encode_into = os.write, codec.encode_struct_into
        seq = 0
        c0 = time.process_time()
        for tid in ids:
            encode_into(TaskStarted(tid, WORKER, 1, t=t, src=src, seq=seq + 1), buf, 0)
            buf += b"\n"
            write(fd, buf)
            encode_into(TaskSucceeded(tid, WORKER, t=t, src=src, seq=seq + 2), buf, 0)
            buf += b"\n"
            write(fd, buf)
            seq += 2
        return time.process_time() - c0
    finally:
        os.close(fd)


def stamped(path: str, events: int) -> float:
    """CPU seconds of the floor with a lock, a clock read and the seq per event: the
    least a Recorder shared by threads does per event, without its API call."""
    ids, src = _ids(events), f"{os.getpid()}-bench"
    buf = bytearray()
    fd = _open(path)
    lock = threading.Lock()  # as an unbatched Recorder's
    try:
        write, encode_into, now = os.write, codec.encode_struct_into, time.time
        seq = 0
        c0 = time.process_time()
        for tid in ids:
            lock.acquire()
            try:
                seq += 1
                t = now() * 1e6 // 1 / 1e6
                encode_into(TaskStarted(tid, WORKER, 1, t=t, src=src, seq=seq), buf, 0)
                buf += b"\n"
                write(fd, buf)
            finally:
                lock.release()
            lock.acquire()
            try:
                seq += 1
                t = now() * 1e6 // 1 / 1e6
                encode_into(TaskSucceeded(tid, WORKER, t=t, src=src, seq=seq), buf, 0)
                buf += b"\n"
                write(fd, buf)
            finally:
                lock.release()
        return time.process_time() - c0
    finally:
        os.close(fd)


def stamped_batch(path: str, events: int) -> float:
    """The batch floor with a lock, a clock read and the seq per event."""
    ids, src = _ids(events), f"{os.getpid()}-bench"
    buf = bytearray()
    fd = _open(path)
    lock = threading.RLock()  # as a batching Recorder's
    try:
        write, encode_into, now = os.write, codec.encode_struct_into, time.time
        seq = 0
        c0 = time.process_time()
        for tid in ids:
            lock.acquire()
            try:
                seq += 1
                t = now() * 1e6 // 1 / 1e6
                encode_into(TaskStarted(tid, WORKER, 1, t=t, src=src, seq=seq), buf, -1)
                buf += b"\n"
            finally:
                lock.release()
            lock.acquire()
            try:
                seq += 1
                t = now() * 1e6 // 1 / 1e6
                encode_into(TaskSucceeded(tid, WORKER, t=t, src=src, seq=seq), buf, -1)
                buf += b"\n"
                if len(buf) >= LIMIT:
                    write(fd, buf)
                    buf.clear()
            finally:
                lock.release()
        write(fd, buf)
        return time.process_time() - c0
    finally:
        os.close(fd)


def batch_floor(path: str, events: int) -> float:
    """CPU seconds to build and encode each event into a batch, one ``os.write`` per
    64 KiB: what any group commit does at least (no lock, clock or seq)."""
    ids, src, t = _ids(events), f"{os.getpid()}-bench", time.time()
    buf = bytearray()
    fd = _open(path)
    try:
        write, encode_into = os.write, codec.encode_struct_into
        seq = 0
        c0 = time.process_time()
        for tid in ids:
            encode_into(TaskStarted(tid, WORKER, 1, t=t, src=src, seq=seq + 1), buf, -1)
            buf += b"\n"
            encode_into(TaskSucceeded(tid, WORKER, t=t, src=src, seq=seq + 2), buf, -1)
            buf += b"\n"
            seq += 2
            if len(buf) >= LIMIT:
                write(fd, buf)
                buf.clear()
        write(fd, buf)
        return time.process_time() - c0
    finally:
        os.close(fd)


def recorder(path: str, events: int, linger: float | None = None) -> float:
    """CPU seconds for ``events`` Recorder calls, close (the last batch) included."""
    ids = _ids(events)
    rec = Recorder(path, name="bench", overwrite=True, linger=linger)
    started, succeeded = rec.task_started, rec.succeeded
    c0 = time.process_time()
    for tid in ids:
        started(tid, worker=WORKER)
        succeeded(tid, worker=WORKER)
    rec.close()
    return time.process_time() - c0


def grouped(path: str, events: int) -> float:
    return recorder(path, events, LINGER)


def check(path: str, events: int, header: int) -> None:
    """Every line whole and decodable, the writer's seq 1..N in file order."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.endswith(b"\n"):
        raise SystemExit(f"{path}: the log does not end with a whole line")
    seqs: dict[str, int] = {}
    n = 0
    for line in data.splitlines():
        e = codec.decode_line(line)
        if e.seq != seqs.get(e.src, 0) + 1:
            raise SystemExit(f"{path}: seq {e.seq} after {seqs.get(e.src)}")
        seqs[e.src] = e.seq
        n += 1
    if n != events + header:
        raise SystemExit(f"{path}: {n} lines, expected {events + header}")


CASES: dict[str, tuple[Case, int]] = {  # name: (case, header lines its log starts with)
    "floor": (floor, 0),
    "stamped": (stamped, 0),
    "recorder": (recorder, 1),
    "linger": (grouped, 1),
    "stamped_batch": (stamped_batch, 0),
    "batch_floor": (batch_floor, 0),
}


def run(events: int, rounds: int) -> dict[str, Any]:
    """Each round runs every case right after a bare run of its own (the pair's ratio)."""
    n = events // 2 * 2
    times: dict[str, list[float]] = {name: [] for name in ("bare", *CASES)}
    ratios: dict[str, list[float]] = {name: [] for name in CASES}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="runreel-bench-") as d:
        for _ in range(rounds):
            for name, (case, header) in CASES.items():
                base = bare(os.path.join(d, "bare.jsonl"), n)
                path = os.path.join(d, f"{name}.jsonl")
                took = case(path, n)
                check(path, n, header)
                times["bare"].append(base)
                times[name].append(took)
                ratios[name].append(base / took)
    return {
        "events": n,
        "rounds": rounds,
        "linger_s": LINGER,
        "load_average": [load, os.getloadavg()[0]],
        "events_per_cpu_s": {k: n / statistics.median(ts) for k, ts in times.items()},
        "ratio_to_bare_write": {k: statistics.median(rs) for k, rs in ratios.items()},
        "ratio_spread": {k: [min(rs), max(rs)] for k, rs in ratios.items()},
        "cpu_s": times,
    }


LABELS = {
    "bare": "bare os.write per pre-encoded line (baseline)",
    "floor": "floor: build + encode + os.write, no lock/clock/seq",
    "stamped": "stamped floor: the floor + lock, clock, seq",
    "recorder": "Recorder, unbatched (one write per event)",
    "linger": "Recorder, linger={linger} (group commit)",
    "stamped_batch": "stamped batch floor: batch floor + lock, clock, seq",
    "batch_floor": "batch floor: build + encode, one os.write per 64 KiB",
}


def table(r: dict[str, Any]) -> str:
    out = [
        f"{r['events']:,} events per case, {r['rounds']} rounds, load average "
        f"{r['load_average'][0]:.1f} -> {r['load_average'][1]:.1f}",
        "ratio = bare CPU time / case CPU time, each case paired with a bare run just before it:",
        "median of the rounds [lowest-highest]; rate = events per CPU-second (median)",
        f"{'case':<53} {'ratio':>5} {'spread':>11} {'events/CPU-s':>13}  target",
    ]
    for name, label in LABELS.items():
        ratio = r["ratio_to_bare_write"].get(name, 1.0)
        lo, hi = r["ratio_spread"].get(name, [1.0, 1.0])
        target = TARGETS.get(name)
        mark = "" if target is None else f">= {target}: " + ("met" if ratio >= target else "MISSED")
        rate = r["events_per_cpu_s"][name]
        text = label.format(linger=r["linger_s"])
        out.append(f"{text:<53} {ratio:>5.2f} {f'[{lo:.2f}-{hi:.2f}]':>11} {rate:>13,.0f}  {mark}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--quick", action="store_true", help="50k events, 5 rounds")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON ('-': stdout)")
    args = p.parse_args(argv)
    if args.quick:
        args.events, args.rounds = 50_000, 5
    result = run(args.events, args.rounds)
    print(table(result))
    if args.json:
        text = json.dumps(result, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")


if __name__ == "__main__":
    main()
