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
  it at the same position (the frame cost the loop pays per redraw), and the frames
  after seeking 1,000 events back with nothing kept from the view before until the
  view is complete ("moved": the tasks, task, log and timeline views answer as of that
  event from the kept store, the failures and workers views build a store of the log
  up to it, a part per frame: "longest" is the longest of those frames, the longest a
  key waits); target: every switch within 100 ms;
- ``runreel snapshot LOG --view V`` against ``runreel --help``, for the command line;
- a live session following a log that a writer process grows at 5,000 and 10,000
  events/s, driven as the terminal loop drives it (a frame when its key changed, the
  loop's pace, the loop's ``RowLive`` at 120x40): the viewer process's CPU time per
  second on each view, against 5 % of a core and against the overview's in the same run.
  This log is heavier than bench/live_latency.py's (64 workers, retries, failures,
  metrics and log lines; its own times run about 42 times faster than the wall clock
  at 10,000 events/s), so the same viewer reads about 2.6 times the CPU here:
  bench/live_compare.py measures why. Issue 17's budget (every state, the latency) is
  measured per view by ``python bench/live_latency.py --views all``.
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
TARGETS = {"switch_ms": 100.0, "live_cpu": 1.0, "live_share": 0.05}
LIVE_HEAD = 20_000  # events in the log before the live window (caught up before it)

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
    s.store.close()  # nothing left from the view before: each view's seek from scratch
    s.seek_event(s.cursor.count - 1000)  # a new position: the store moves and is read again
    t = time.perf_counter()
    draw(s)
    longest = time.perf_counter() - t
    drawn = None
    while s.store.pending is not None:  # a store built a part per frame, as the loop does:
        key = s.frame_key()  # a frame when its key changed (taken before drawing, as the
        if key == drawn:  # loop does), else the loop waits
            time.sleep(0.02)
            continue
        drawn = key
        f = time.perf_counter()
        draw(s)
        longest = max(longest, time.perf_counter() - f)
    moved = time.perf_counter() - t
    s.to_end()
    out["views"][view] = {
        "switch_s": switch, "frame_s": sorted(frames)[2], "moved_s": moved, "longest_s": longest
    }
print(json.dumps(out))
"""

# The writer: appends the source's lines after the first HEAD at RATE events/s, in tenths
# of a second, for SECONDS; its own process, so the viewer's CPU is the viewer's alone.
_WRITER = r"""
import sys, time
source, path, head, rate, seconds = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:6])
lines = open(source, "rb")
for _ in range(int(head)):
    next(lines)
chunks = [b"".join(next(lines) for _ in range(int(rate) // 10)) for _ in range(int(seconds * 10))]
with open(path, "ab") as out:
    began = time.perf_counter()
    for i, chunk in enumerate(chunks):
        out.write(chunk)
        out.flush()
        time.sleep(max(began + (i + 1) / 10 - time.perf_counter(), 0))
"""

# The viewer: a live session on the growing log, driven as the terminal loop drives it
# (a frame only when its key changed, at most 10 Hz and 7 Hz while events stream, written
# by the loop's own RowLive at 120x40); its CPU time from the writer's start to its end.
_LIVE = r"""
import io, json, subprocess, sys, time
from rich.console import Console
from replay.sessions.live import LiveSession
from replay.sessions.loop import pace
from replay.sessions.screen import RowLive
from replay.sources.follow import Follower

source, path, key, writer = sys.argv[1:5]
head, rate, seconds = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
rows = int(sys.argv[8]) if len(sys.argv) > 8 else 40
with open(source, "rb") as lines, open(path, "wb") as f:
    f.write(b"".join(next(lines) for _ in range(head)))
console = Console(file=io.StringIO(), width=120, height=rows, color_system="truecolor",
                  force_terminal=True, _environ={})
live = RowLive(console)
s = LiveSession(Follower(path), wall=time.time, mono=time.monotonic)
s.keys = True
while s.metrics.events < head:
    s.tick()
s.key(key)
live.update(s.view())
live.paint()  # a view's store catches up with the file here
argv = [sys.executable, "-c", writer, source, path, str(head), str(rate), str(seconds)]
child = subprocess.Popen(argv)
cpu0, wall0 = time.process_time(), time.perf_counter()
period, drawn, frame, seen = 0.1, 0, None, s.metrics.events
next_tick = time.monotonic()
step = period
while child.poll() is None:
    k = s.frame_key()
    if k != frame:
        live.update(s.view())
        live.paint()
        console.file.truncate(0)
        console.file.seek(0)
        frame, drawn = k, drawn + 1
    next_tick += step
    time.sleep(max(next_tick - time.monotonic(), 0))
    s.tick()
    step, seen = pace(period, s.metrics.events - seen), s.metrics.events
    if time.monotonic() - next_tick > step:
        next_tick = time.monotonic()
cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
print(json.dumps({"cpu_per_s": cpu / wall, "frames": drawn, "events": s.metrics.events}))
s.close()
"""


def live_source(args: argparse.Namespace, log: str, env: dict[str, str], workdir: str) -> str:
    """A log long enough to feed each live run (the bench's own unless it is too short)."""
    need = LIVE_HEAD + max(args.rates) * int(args.seconds + 1)
    if args.events >= need:
        return log
    source = os.path.join(workdir, f"live-source-{need}.jsonl")
    if not os.path.exists(source):
        make_log(source, need, env, workdir)
    return source


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
        only = set(args.only or ("replay", "snapshot", "live"))
        if "replay" in only:
            replay = python(_REPLAY, [log, json.dumps(VIEWS), json.dumps(KEYS)], env, workdir)
            f["replay"] = json.loads(replay.check(0).stdout)
        if "snapshot" in only and "replay" in only:
            helps = [runreel(["--help"], env, workdir).check(0).seconds for _ in range(REPEAT)]
            f["help_s"] = statistics.median(helps)
            f["snapshot_s"] = {}
            for view in VIEWS:
                argv = ["snapshot", log, "--view", view, "--width", "120", "--height", "40"]
                runs = [runreel(argv, env, workdir).check(0, 1, 2).seconds for _ in range(REPEAT)]
                f["snapshot_s"][view] = statistics.median(runs)
        if "live" not in only:
            return f
        f["live"] = {}
        grow = os.path.join(workdir, "live.jsonl")
        source = live_source(args, log, env, workdir)
        for rate in args.rates:
            f["live"][rate] = {}
            for view in VIEWS:
                argv = [source, grow, KEYS[view], _WRITER, str(LIVE_HEAD), str(rate)]
                child = python(_LIVE, [*argv, str(args.seconds)], env, workdir).check(0)
                f["live"][rate][view] = json.loads(child.stdout)
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)
    return f


def report(f: dict[str, Any]) -> list[str]:
    print(f"load average: {f['load'][0]:.2f} before, {f['load'][1]:.2f} after")
    checks = []
    if "replay" in f:
        r = f["replay"]
        print(f"replay start-up (index loaded, first frame): {r['start_s'] * 1000:.0f} ms")
        print(
            f"{'view':<10} {'switch':>9} {'frame':>9} {'moved':>9} {'longest':>9} {'snapshot':>10}"
        )
        for view in VIEWS:
            v = r["views"][view]
            beyond = (f["snapshot_s"][view] - f["help_s"]) * 1000 if "snapshot_s" in f else 0
            print(
                f"{view:<10} {v['switch_s'] * 1000:7.1f}ms {v['frame_s'] * 1000:7.1f}ms"
                f" {v['moved_s'] * 1000:7.1f}ms {v.get('longest_s', 0) * 1000:7.1f}ms"
                f" {beyond:8.0f}ms"
            )
        print("(switch: key to first frame; frame: a redraw at the same position; moved: a")
        print(" frame 1,000 events back, complete; longest: the longest frame meanwhile, keys")
        print(" are answered between frames; snapshot: the command beyond --help's start-up)")
        worst_switch = max(v["switch_s"] for v in r["views"].values()) * 1000
        checks.append(("every view switch <= 100 ms", worst_switch, TARGETS["switch_ms"]))
    for rate, views in f.get("live", {}).items():
        base = views["overview"]["cpu_per_s"]
        print(f"\nlive, the log growing by {rate} events/s, the loop's pace, 120x40:")
        for view in VIEWS:
            v = views[view]
            share, ratio = v["cpu_per_s"] * 100, v["cpu_per_s"] / base
            frames = v["frames"]
            print(
                f"  {view:<10} {share:5.2f} % of a core, {ratio:.2f}x the overview, {frames} frames"
            )
        worst = max(v["cpu_per_s"] for v in views.values())
        checks.append((f"live CPU of every view at {rate}/s <= 5 %", worst, TARGETS["live_share"]))
        ratio = worst / base
        checks.append(
            (f"live CPU of every view at {rate}/s / the overview's", ratio, TARGETS["live_cpu"])
        )
    return print_targets(checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the log")
    parser.add_argument("--quick", action="store_true", help="1M events, 3 s of live")
    parser.add_argument("--dir", help="where the log goes (kept, and reused when it exists)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--rates", default="5000,10000", help="live: events appended per second (comma-separated)"
    )
    parser.add_argument(
        "--only", choices=("replay", "snapshot", "live"), action="append", help="measure only this"
    )
    parser.add_argument(
        "--seconds", type=float, help="live: seconds per view (default 10, --quick 3)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.events = 1_000_000
    if args.seconds is None:
        args.seconds = 3.0 if args.quick else 10.0
    began = time.perf_counter()
    args.rates = [int(r) for r in args.rates.split(",")]
    load = os.getloadavg()[0]
    figures = run(args)
    figures["load"] = (load, os.getloadavg()[0])
    missed = report(figures)
    print(f"({time.perf_counter() - began:.0f} s in all)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
