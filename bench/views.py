"""Issue 15 benchmark: the post-mortem views on a big log with the store warm.

Run from the repository root (not a test; every figure comes from this run):

    python bench/views.py             # 10M events (1.4 GB), several minutes
    python bench/views.py --quick     # 1M events
    python bench/views.py --events 3000000 --dir /big/disk --keep

The log is bench/seek.py's (same generator, same seed); ``runreel index`` makes the
index and the store warm first. Each measurement runs in a fresh process:

- a replay at the log's end, as the terminal loop drives it: start-up (index loaded, the
  first frame of the overview drawn), then for each view its key pressed and its first
  frame drawn at 120x40 (the switch: what the store is read for), then more frames of
  it at the same position (the frame cost the loop pays per redraw), and a frame at a
  new position with the clock moved (the store read again: what playing costs);
  target: every switch within 100 ms;
- ``runreel snapshot LOG --view V`` against ``runreel --help``, for the command line;
- a live session following a log that grows at a fixed rate, ticking and drawing at
  10 Hz on each view for a few seconds: CPU per second of each view against the
  overview's (target: within the overview's).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seek import make_log, print_targets, python, remove_index, runreel, workspace  # noqa: E402

VIEWS = ("overview", "failures", "tasks", "workers", "timeline", "log")
KEYS = {"overview": "o", "failures": "f", "tasks": "t", "workers": "w", "timeline": "i", "log": "l"}
REPEAT = 5
TARGETS = {"switch_ms": 100.0, "live_cpu": 1.0}

_REPLAY = r"""
import io, json, sys, time
from rich.console import Console
from replay.core.when import END, START
from replay.index.cursor import Cursor
from replay.index.store import load_or_build
from replay.sessions.replay import ReplaySession

VIEWS, KEYS = json.loads(sys.argv[2]), json.loads(sys.argv[3])
began = time.perf_counter()
console = Console(file=io.StringIO(), width=120, height=40, color_system="truecolor",
                  force_terminal=True, _environ={})
def draw(s):
    console.print(s.view(), height=40)
    console.file.truncate(0); console.file.seek(0)
s = ReplaySession(Cursor(load_or_build(sys.argv[1])), start=START, stop=END, mono=time.monotonic)
s.keys = True
s.to_end()
draw(s)
out = {"start_s": time.perf_counter() - began, "views": {}}
for view in VIEWS:
    t = time.perf_counter()
    s.key(KEYS[view])
    draw(s)
    switch = time.perf_counter() - t
    frames = []
    for _ in range(5):
        t = time.perf_counter()
        draw(s)
        frames.append(time.perf_counter() - t)
    s.key("o")
    s.key(KEYS[view])
    s.seek_event(s.cursor.count - 1000)  # a new position: the store moves and is read again
    t = time.perf_counter()
    draw(s)
    moved = time.perf_counter() - t
    s.to_end()
    out["views"][view] = {"switch_s": switch, "frame_s": sorted(frames)[2], "moved_s": moved}
print(json.dumps(out))
"""

_LIVE = r"""
import io, json, os, sys, time
from rich.console import Console
from replay.sessions.live import LiveSession
from replay.sources.follow import Follower

source, path, key = sys.argv[1:4]
rate, seconds = int(sys.argv[4]), float(sys.argv[5])
lines = open(source, "rb")
head = b"".join(next(lines) for _ in range(100_000))
with open(path, "wb") as f:
    f.write(head)
console = Console(file=io.StringIO(), width=120, height=40, color_system="truecolor",
                  force_terminal=True, _environ={})
s = LiveSession(Follower(path), wall=time.time, mono=time.monotonic)
s.keys = True
while s.metrics.events < 100_000:
    s.tick()
s.key(key)
console.print(s.view(), height=40)  # a view's store catches up with the file here
out = open(path, "ab")
cpu0, wall0 = time.process_time(), time.perf_counter()
drawn, frame = 0, None
while time.perf_counter() - wall0 < seconds:
    t = time.perf_counter()
    out.write(b"".join(next(lines) for _ in range(rate // 10)))
    out.flush()
    writer = time.perf_counter() - t
    s.tick()
    key_now = s.frame_key()
    if key_now != frame:
        console.print(s.view(), height=40)
        console.file.truncate(0); console.file.seek(0)
        frame = key_now
        drawn += 1
    time.sleep(max(0.1 - (time.perf_counter() - t), 0))
cpu = time.process_time() - cpu0
print(json.dumps({"cpu_per_s": cpu / (time.perf_counter() - wall0), "frames": drawn,
                  "events": s.metrics.events}))
s.close()
"""


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir, log, env = workspace(args, "views")
    f: dict[str, Any] = {"events": args.events}
    try:
        if not os.path.exists(log):
            make_log(log, args.events, env, workdir)
        f["bytes"] = os.path.getsize(log)
        print(f"log: {args.events:,} events, {f['bytes'] / 1e9:.2f} GB ({log})")
        remove_index(log, env)
        runreel(["index", log], env, workdir).check(0)  # index and store warm
        replay = python(_REPLAY, [log, json.dumps(VIEWS), json.dumps(KEYS)], env, workdir)
        f["replay"] = json.loads(replay.check(0).stdout)
        helps = [runreel(["--help"], env, workdir).check(0).seconds for _ in range(REPEAT)]
        f["help_s"] = statistics.median(helps)
        f["snapshot_s"] = {}
        for view in VIEWS:
            argv = ["snapshot", log, "--view", view, "--width", "120", "--height", "40"]
            runs = [runreel(argv, env, workdir).check(0, 1, 2).seconds for _ in range(REPEAT)]
            f["snapshot_s"][view] = statistics.median(runs)
        f["live"] = {}
        grow = os.path.join(workdir, "live.jsonl")
        for view in VIEWS:
            argv = [log, grow, KEYS[view], str(args.rate), str(args.seconds)]
            f["live"][view] = json.loads(python(_LIVE, argv, env, workdir).check(0).stdout)
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)
    return f


def report(f: dict[str, Any]) -> list[str]:
    r = f["replay"]
    print(f"replay start-up (index loaded, first frame): {r['start_s'] * 1000:.0f} ms")
    print(f"{'view':<10} {'switch':>9} {'frame':>9} {'moved':>9} {'snapshot':>10}")
    for view in VIEWS:
        v = r["views"][view]
        beyond = (f["snapshot_s"][view] - f["help_s"]) * 1000
        print(
            f"{view:<10} {v['switch_s'] * 1000:7.1f}ms {v['frame_s'] * 1000:7.1f}ms"
            f" {v['moved_s'] * 1000:7.1f}ms {beyond:8.0f}ms"
        )
    print("(switch: key to first frame; frame: a redraw at the same position; moved: a frame")
    print(" 1,000 events back, the store moved; snapshot: the command beyond --help's start-up)")
    base = f["live"]["overview"]["cpu_per_s"]
    print(f"\nlive, the log growing by {f.get('rate', 0) or '?'} events/s, drawn at 10 Hz, 120x40:")
    for view in VIEWS:
        v = f["live"][view]
        print(
            f"  {view:<10} {v['cpu_per_s']:.2f} CPU-s per s ({v['cpu_per_s'] / base:.2f}x the "
            f"overview), {v['frames']} frames"
        )
    worst_switch = max(v["switch_s"] for v in r["views"].values()) * 1000
    worst_live = max(v["cpu_per_s"] for v in f["live"].values()) / base
    checks = [
        ("every view switch <= 100 ms", worst_switch, TARGETS["switch_ms"]),
        ("live CPU of every view <= the overview's", worst_live, TARGETS["live_cpu"]),
    ]
    return print_targets(checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the log")
    parser.add_argument("--quick", action="store_true", help="1M events, 3 s of live")
    parser.add_argument("--dir", help="where the log goes (kept, and reused when it exists)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--rate", type=int, default=5000, help="live: events appended per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="live: seconds per view")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.seconds = 1_000_000, 3.0
    began = time.perf_counter()
    figures = run(args)
    figures["rate"] = args.rate
    missed = report(figures)
    print(f"({time.perf_counter() - began:.0f} s in all)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
