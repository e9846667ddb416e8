"""Issue 17 benchmark: the Recorder's write rate as a ratio to a bare ``os.write`` per line.

Usage:
    python bench/writer.py                  # 200k events per case, 9 rounds (about two minutes)
    python bench/writer.py --quick          # 50k events, 5 rounds: a smoke run
    python bench/writer.py --threads 8      # the threaded cases with 8 threads (default 4)
    python bench/writer.py --json out.json  # also write the figures as JSON ("-": stdout)

What each line measures (all in this process, on files in one temporary directory):

- bare: one ``os.write`` per pre-encoded line (lines encoded before the clock starts):
  the unbatched ceiling, and the baseline of every ratio;
- floor: build each event's struct and encode it (msgspec ``encode_into`` and the
  newline), then one ``os.write``: no lock, clock read or seq (what any writer of this
  format does at least, with no Recorder);
- clock floor: the floor plus a clock read per event (whole microseconds), nothing else;
- stamped floor: the floor plus a lock held around each event, a clock read (whole
  microseconds) and the seq: what a writer shared by threads with one ``src`` does at least
  (the Recorder before it had one ``src`` per thread);
- thread floor: the floor plus a clock read and the seq of the calling thread's writer,
  found through a ``threading.local``, no lock: what the Recorder's unbatched path does
  at least (recorder/threads.py);
- Recorder: ``task_started`` + ``succeeded`` pairs through the public API, unbatched;
- Recorder with ``linger`` (group commit): the same calls, batches of up to 64 KiB;
- batch floor: building and encoding each event into a 64 KiB batch, one ``os.write``
  per batch: no lock, clock or seq (what any group commit does at least);
- stamped batch floor: the batch floor plus the lock, clock read and seq of each event;
- N threads: bare, the stamped floor (one lock, one seq) and a Recorder (unbatched),
  each shared by N threads (``--threads``) writing their shares of the events at the same
  time; their ratios are to the threaded bare run (whose threads share one descriptor).

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
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import writer_cases as cases  # noqa: E402  (bench/, this script's directory)
from writer_cases import (  # noqa: E402
    bare,
    bare_threads,
    batch_floor,
    clock_floor,
    floor,
    grouped,
    recorder,
    recorder_threads,
    stamped,
    stamped_batch,
    stamped_threads,
    thread_floor,
)

from recorder import codec  # noqa: E402

TARGETS = {"recorder": 0.6, "linger": 1.3, "recorder_threads": 0.6}

Case = Callable[[str, int], float]


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


# name: (case, header lines its log starts with, the baseline run just before it)
CASES: dict[str, tuple[Case, int, Case]] = {
    "floor": (floor, 0, bare),
    "clock_floor": (clock_floor, 0, bare),
    "stamped": (stamped, 0, bare),
    "thread_floor": (thread_floor, 0, bare),
    "recorder": (recorder, 1, bare),
    "linger": (grouped, 1, bare),
    "stamped_batch": (stamped_batch, 0, bare),
    "batch_floor": (batch_floor, 0, bare),
    "stamped_threads": (stamped_threads, 0, bare_threads),
    "recorder_threads": (recorder_threads, 1, bare_threads),
}


def run(events: int, rounds: int) -> dict[str, Any]:
    """Each round runs every case right after a bare run of its own (the pair's ratio)."""
    n = events // (2 * cases.THREADS) * 2 * cases.THREADS  # whole pairs in every share
    times: dict[str, list[float]] = {name: [] for name in ("bare", "bare_threads", *CASES)}
    ratios: dict[str, list[float]] = {name: [] for name in CASES}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="runreel-bench-") as d:
        for _ in range(rounds):
            for name, (case, header, baseline) in CASES.items():
                base = baseline(os.path.join(d, "bare.jsonl"), n)
                path = os.path.join(d, f"{name}.jsonl")
                took = case(path, n)
                check(path, n, header)
                times[baseline.__name__].append(base)
                times[name].append(took)
                ratios[name].append(base / took)
    return {
        "events": n,
        "rounds": rounds,
        "threads": cases.THREADS,
        "linger_s": cases.LINGER,
        "load_average": [load, os.getloadavg()[0]],
        "events_per_cpu_s": {k: n / statistics.median(ts) for k, ts in times.items()},
        "ratio_to_bare_write": {k: statistics.median(rs) for k, rs in ratios.items()},
        "ratio_spread": {k: [min(rs), max(rs)] for k, rs in ratios.items()},
        "cpu_s": times,
    }


LABELS = {
    "bare": "bare os.write per pre-encoded line (baseline)",
    "floor": "floor: build + encode + os.write, no lock/clock/seq",
    "clock_floor": "clock floor: the floor + a clock read",
    "stamped": "stamped floor: the floor + lock, clock, seq",
    "thread_floor": "thread floor: the floor + clock, this thread's seq",
    "recorder": "Recorder, unbatched (one write per event)",
    "linger": "Recorder, linger={linger} (group commit)",
    "stamped_batch": "stamped batch floor: batch floor + lock, clock, seq",
    "batch_floor": "batch floor: build + encode, one os.write per 64 KiB",
    "bare_threads": "{threads} threads: bare os.write (their baseline)",
    "stamped_threads": "{threads} threads: stamped floor (one lock, one seq)",
    "recorder_threads": "{threads} threads: one Recorder, unbatched",
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
        text = label.format(linger=r["linger_s"], threads=r["threads"])
        out.append(f"{text:<53} {ratio:>5.2f} {f'[{lo:.2f}-{hi:.2f}]':>11} {rate:>13,.0f}  {mark}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--quick", action="store_true", help="50k events, 5 rounds")
    p.add_argument(
        "--threads", type=int, default=cases.THREADS, help="threads of the threaded cases"
    )
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON ('-': stdout)")
    args = p.parse_args(argv)
    if args.quick:
        args.events, args.rounds = 50_000, 5
    cases.THREADS = max(1, args.threads)
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
