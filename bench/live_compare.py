"""Why bench/views.py and bench/live_latency.py disagree about the overview's live CPU.

Run from the repository root (not a test; every figure comes from this run):

    python bench/live_compare.py            # 10 s per cell, about 2.5 minutes
    python bench/live_compare.py --quick    # 4 s per cell

The same viewer at the same rate (10,000 events/s, the writer appending a tenth of a
second's lines ten times a second, as bench/views.py's does), measured in both harnesses
on three logs:

- pairs: bench/live_latency.py's load (task_started/task_succeeded pairs, 16 workers),
  its event times a real second apart per second of the window;
- generated, real time: bench/views.py's log (bench/seek.py's generator: 64 workers,
  retries, failures, metrics and log lines), its times scaled so that event time also
  runs at one second per second;
- generated, as is: the same lines unchanged, as bench/views.py replays them: their
  times are 235 events per second apart, so at 10,000 events/s the run's own clock runs
  about 42 times faster than the wall clock.

The harnesses: "pty" runs ``runreel live`` in a pseudo-terminal (``live_pty``, CPU from
``/proc``: the whole process), "in-process" is bench/views.py's loop (the terminal
loop's steps, ``RowLive`` into a string, the process's CPU time). Each at 120x30 and at
120x40 (bench/views.py's size) on the last log.

Then the parts that do not draw, per log, in this process (CPU time per event, as a
share of a core at the rate): reading and decoding, folding (in polls of a seventh of a
second's events), and the post-mortem views' store fed the same polls and written once
a second (``MovingStore.add``, then ``conn`` as a live view's read does): a view's floor.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_pty import VIEW_KEYS, Viewer  # noqa: E402
from seek import generate  # noqa: E402
from views import _LIVE, _WRITER, LIVE_HEAD  # noqa: E402

from recorder import codec  # noqa: E402
from recorder.events import RunStarted, TaskStarted, TaskSucceeded  # noqa: E402
from replay.core.fold import apply_all  # noqa: E402
from replay.core.metrics import Metrics  # noqa: E402
from replay.sources.file import read_batches  # noqa: E402
from replay.store.moving import MovingStore  # noqa: E402


def pairs_log(path: Path, events: int, rate: float) -> None:
    """bench/live_load.py's load as a file: pairs from 16 workers, ``rate`` a second."""
    t0 = time.time()
    src = "1-bench"
    lines = [codec.encode(RunStarted(t=t0, src=src, seq=1, v=1, run="p", name="bench-pairs"))]
    for i in range(events // 2):
        task, worker, t = f"load-{i}", f"load-w{i % 16:02d}", t0 + 2 * i / rate
        started = TaskStarted(t=t, src=src, seq=2 * i + 2, task=task, worker=worker)
        lines.append(codec.encode(started))
        ended = TaskSucceeded(t=t + 1 / rate, src=src, seq=2 * i + 3, task=task, worker=worker)
        lines.append(codec.encode(ended))
    path.write_bytes(b"".join(lines))


def real_time(source: Path, path: Path, rate: float) -> None:
    """``source``'s lines with their times scaled so that ``rate`` events span a second."""
    lines = source.read_bytes().splitlines(keepends=True)
    ts = [json.loads(line)["t"] for line in lines]
    scale = (len(ts) / (ts[-1] - ts[0])) / rate
    out = []
    for line, t in zip(lines, ts, strict=True):
        event = json.loads(line)
        event["t"] = ts[0] + (t - ts[0]) * scale
        out.append(json.dumps(event, separators=(",", ":")).encode() + b"\n")
    path.write_bytes(b"".join(out))


def per_event(path: Path, rate: int) -> dict[str, float]:
    """CPU seconds per event of reading, folding and the views' store, on ``path``."""
    began = time.process_time()
    every = [e for batch in read_batches(str(path)) for e in batch]
    read = time.process_time() - began
    poll = max(rate // 7, 1)
    m, began = Metrics(), time.process_time()
    for i in range(0, len(every), poll):
        apply_all(m, every[i : i + poll])
    fold = time.process_time() - began
    store = MovingStore(None)
    store.start()
    began = time.process_time()
    for k, i in enumerate(range(0, len(every), poll)):
        store.add(every[i : i + poll])
        if k % 7 == 6:
            store.conn  # noqa: B018 (a read writes what was added)
    store.conn  # noqa: B018
    fed = time.process_time() - began
    store.close()
    n = len(every)
    return {"read": read / n, "fold": fold / n, "store": fed / n}


def in_process(source: Path, grow: Path, rows: int, rate: int, seconds: float) -> tuple[float, int]:
    """The CPU share of bench/views.py's loop, and the frames it drew."""
    argv = [str(source), str(grow), VIEW_KEYS["overview"], _WRITER, str(LIVE_HEAD), str(rate)]
    argv += [str(seconds), str(rows)]
    out = subprocess.run(
        [sys.executable, "-c", _LIVE, *argv], capture_output=True, text=True, check=True
    )
    figures = json.loads(out.stdout)
    return 100.0 * float(figures["cpu_per_s"]), int(figures["frames"])


def in_pty(source: Path, grow: Path, rows: int, rate: int, seconds: float) -> float:
    with open(source, "rb") as lines, open(grow, "wb") as f:
        f.write(b"".join(next(lines) for _ in range(LIVE_HEAD)))
    viewer = Viewer(grow, 120, rows)
    try:
        if viewer.wait_for(f"Events {LIVE_HEAD} ", 30.0) is None:
            raise SystemExit(f"the viewer never showed {grow}")
        time.sleep(1.0)  # start-up over
        argv = [str(source), str(grow), str(LIVE_HEAD), str(rate), str(seconds)]
        writer = subprocess.Popen([sys.executable, "-c", _WRITER, *argv])
        c0, t0 = viewer.cpu(), time.monotonic()
        writer.wait()
        c1, t1 = viewer.cpu(), time.monotonic()
        return 100.0 * (c1 - c0) / (t1 - t0)
    finally:
        viewer.close()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of load per cell (10)")
    p.add_argument("--rate", type=int, default=10_000, help="events/s (10,000)")
    p.add_argument("--quick", action="store_true", help="4 s per cell")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds = 4.0
    need = LIVE_HEAD + int(args.rate * (args.seconds + 1))
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="runreel-compare-") as d:
        tmp = Path(d)
        logs = {"pairs": tmp / "pairs.jsonl", "generated, real time": tmp / "real.jsonl"}
        logs["generated, as is"] = tmp / "generated.jsonl"
        pairs_log(logs["pairs"], need, args.rate)
        generate(str(logs["generated, as is"]), need)
        real_time(logs["generated, as is"], logs["generated, real time"], args.rate)
        parts = {name: per_event(logs[name], args.rate) for name in ("pairs", "generated, as is")}
        cells: list[tuple[str, int, float, float, int]] = []
        for name, source in logs.items():
            for rows in (30, 40) if name == "generated, as is" else (30,):
                grow = tmp / "grow.jsonl"
                pty = in_pty(source, grow, rows, args.rate, args.seconds)
                inproc, frames = in_process(source, grow, rows, args.rate, args.seconds)
                cells.append((name, rows, pty, inproc, frames))
                load.append(os.getloadavg()[0])
    print(
        f"the overview of runreel live at {args.rate:,} events/s, {args.seconds:g} s per cell, "
        f"% of a core; load average {min(load):.2f} to {max(load):.2f}"
    )
    print(
        f"{'log':<22} {'size':>7} {'pty':>7} {'in-process':>11} {'in-process/pty':>15} "
        f"{'frames/s (in-process)':>22}"
    )
    for name, rows, pty, inproc, frames in cells:
        print(
            f"{name:<22} {f'120x{rows}':>7} {pty:6.2f}% {inproc:10.2f}% {inproc / pty:14.2f}x "
            f"{frames / args.seconds:22.1f}"
        )
    print(f"\nper event, in this process, as % of a core at {args.rate:,} events/s:")
    for name, p_ in parts.items():
        pct = {k: v * args.rate * 100 for k, v in p_.items()}
        print(
            f"  {name:<18} reading {pct['read']:.2f} %, folding {pct['fold']:.2f} %, "
            f"the views' store {pct['store']:.2f} % "
            f"(a view's floor, drawing nothing: {sum(pct.values()):.2f} %)"
        )
    base = cells[0][2]
    print(
        "pty, each log / pairs: "
        + ", ".join(f"{c[0]} 120x{c[1]} {c[2] / base:.2f}x" for c in cells[1:])
    )


if __name__ == "__main__":
    main()
