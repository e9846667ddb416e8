"""Issue 17 benchmark: the Recorder's write rate as a ratio to a bare ``os.write`` per line.

Usage:
    python bench/writer.py                  # 200k events per case, 7 rounds (about a minute)
    python bench/writer.py --quick          # 50k events, 3 rounds: a smoke run
    python bench/writer.py --json out.json  # also write the figures as JSON ("-": stdout)

Each round runs, one after the other in this process, on the same kind of file:

- bare: one ``os.write`` per pre-encoded line (lines encoded before the clock starts);
- floor: building and encoding each event, then one ``os.write``: no lock, clock or seq;
- Recorder: ``task_started`` + ``succeeded`` pairs through the public API, unbatched;
- Recorder with ``linger`` (group commit): the same calls, batches of up to 64 KiB;
- batch floor: building and encoding each event into a 64 KiB batch, one ``os.write``
  per batch: no lock, clock or seq (what any group commit does at least).

Rates are events per CPU-second of the whole process (the flusher thread included), the
best round of each; ratios are the median over rounds of each round's own ratio to the
bare rate. Every log is checked afterwards: every line whole, every seq in order.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
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
        write, encode_into = os.write, codec.encode_into
        seq = 0
        c0 = time.process_time()
        for tid in ids:
            encode_into(TaskStarted(task=tid, worker=WORKER, t=t, src=src, seq=seq + 1), buf)
            write(fd, buf)
            encode_into(TaskSucceeded(task=tid, worker=WORKER, t=t, src=src, seq=seq + 2), buf)
            write(fd, buf)
            seq += 2
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
            encode_into(TaskStarted(task=tid, worker=WORKER, t=t, src=src, seq=seq + 1), buf, -1)
            buf += b"\n"
            encode_into(TaskSucceeded(task=tid, worker=WORKER, t=t, src=src, seq=seq + 2), buf, -1)
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


def run(events: int, rounds: int) -> dict[str, Any]:
    cases: dict[str, tuple[Case, int]] = {
        "bare": (bare, 0),
        "floor": (floor, 0),
        "recorder": (recorder, 1),
        "linger": (grouped, 1),
        "batch_floor": (batch_floor, 0),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    with tempfile.TemporaryDirectory(prefix="runreel-bench-") as d:
        for _ in range(rounds):
            for name, (case, header) in cases.items():
                path = os.path.join(d, f"{name}.jsonl")
                times[name].append(case(path, events))
                check(path, events // 2 * 2, header)
    rates = {name: events / min(ts) for name, ts in times.items()}
    ratios = {
        name: statistics.median(b / s for b, s in zip(times["bare"], ts, strict=True))
        for name, ts in times.items()
        if name != "bare"
    }
    return {
        "events": events,
        "rounds": rounds,
        "linger_s": LINGER,
        "load_average": os.getloadavg()[0],
        "events_per_cpu_s": rates,
        "ratio_to_bare_write": ratios,
        "cpu_s": times,
    }


def table(r: dict[str, Any]) -> str:
    labels = {
        "bare": "bare os.write per pre-encoded line",
        "floor": "floor: build + encode + os.write, no lock/clock/seq",
        "recorder": "Recorder, unbatched (one write per event)",
        "linger": f"Recorder, linger={r['linger_s']} (group commit)",
        "batch_floor": "batch floor: build + encode, one os.write per 64 KiB",
    }
    out = [
        f"{r['events']:,} events per case, {r['rounds']} rounds, load average "
        f"{r['load_average']:.1f}; ratio = median of each round's bare time / case time",
        f"{'case':<52} {'ratio':>6} {'events/CPU-s':>13}  target",
    ]
    for name, label in labels.items():
        ratio = r["ratio_to_bare_write"].get(name, 1.0)
        target = TARGETS.get(name)
        mark = "" if target is None else f">= {target}: " + ("met" if ratio >= target else "MISSED")
        out.append(f"{label:<52} {ratio:>6.2f} {r['events_per_cpu_s'][name]:>13,.0f}  {mark}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="50k events, 3 rounds")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON ('-': stdout)")
    args = p.parse_args(argv)
    if args.quick:
        args.events, args.rounds = 50_000, 3
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
