"""Where the live viewer's time goes at 10,000 events/s: each part's share of a core.

Run from the repository root (not a test; the shares come from this run):

    python bench/live_profile.py                 # 8 s of load at 10,000 events/s
    python bench/live_profile.py --seconds 4 --rate 5000
    python bench/live_profile.py --code ../old   # the viewer's code from a checkout
    python bench/live_profile.py --view overview-after-tasks --seconds 20   # tasks, then back
    python bench/live_profile.py --view tasks --stats /tmp/tasks.prof   # a view open; cProfile

``runreel live`` runs in a pty (``live_pty``) with timers around its parts (CPU time of
its main thread, ``time.thread_time``): reading the log (``Follower.poll``; decoding is
the part of it in ``decode_complete``), folding (``apply_all``), the frame's key, the
view's renderables (``view()``) and rendering and writing the frame (``RowLive.paint``).
The timers start when the writer (``live_load``) starts and stop when it ends; the
process's whole CPU share over that window (``/proc``) is printed first, so the rest
(the key thread, the loop, the timers themselves) is what the parts do not add up to.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pexpect  # noqa: E402
from live_load import LOAD_WRITER  # noqa: E402
from live_pty import VIEW_KEYS, cpu_seconds, viewer_env  # noqa: E402

from recorder.writer import Recorder  # noqa: E402

# The viewer, with timers: SIGUSR1 starts them over, SIGUSR2 writes them to $PARTS_OUT.
TIMED_VIEWER = r"""
import json, os, signal, sys, time
from collections import defaultdict

spent, calls, since = defaultdict(float), defaultdict(int), [time.monotonic()]

def timed(owner, name, label):
    f = getattr(owner, name, None)
    if f is None:
        return
    def timer(*a, **k):
        t = time.thread_time()
        try:
            return f(*a, **k)
        finally:
            spent[label] += time.thread_time() - t
            calls[label] += 1
    setattr(owner, name, timer)

import replay.sessions.live as live
import replay.sessions.screen as screen
import replay.sources.follow as follow
timed(follow.Follower, "poll", "reading the log (poll)")
timed(follow, "decode_complete", "  of which decoding")
timed(live, "apply_all", "folding")
timed(live.LiveSession, "frame_key", "the frame's key")
timed(live.LiveSession, "view", "the view's renderables")
timed(screen.RowLive, "paint", "rendering and writing the frame")

import cProfile
profiler = cProfile.Profile() if os.environ.get("PROFILE_OUT") else None

def start(*_):
    spent.clear(); calls.clear(); since[0] = time.monotonic()
    if profiler is not None:
        profiler.enable()

def write(*_):
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(os.environ["PROFILE_OUT"])
    parts = {k: [v, calls[k]] for k, v in spent.items()}
    with open(os.environ["PARTS_OUT"], "w") as f:
        code = os.path.dirname(os.path.dirname(os.path.dirname(live.__file__)))
        json.dump({"wall": time.monotonic() - since[0], "parts": parts, "code": code}, f)

signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGUSR2, write)
from replay.cli import main
sys.argv = ["runreel", *sys.argv[1:]]
main()
"""


def profile(
    seconds: float,
    rate: float,
    code: str | None,
    view: str = "overview",
    stats: str | None = None,
) -> None:
    with tempfile.TemporaryDirectory(prefix="runreel-profile-") as d:
        log, out = Path(d) / "live.jsonl", Path(d) / "parts.json"
        rec = Recorder(log, name="bench-live", total=10**6)
        rec.task_started("first", worker="w")
        env = viewer_env(code)
        env["PARTS_OUT"] = str(out)
        if stats is not None:
            env["PROFILE_OUT"] = str(Path(stats).resolve())
        args = ["-c", TIMED_VIEWER, "live", str(log), "--refresh", "10"]
        # ``python -c`` puts the working directory first on sys.path, before PYTHONPATH: the
        # viewer runs from ``code`` so that its ``replay`` is the one imported
        child = pexpect.spawn(sys.executable, args, env=env, dimensions=(30, 120), cwd=code)
        threading.Thread(target=_drain, args=(child,), daemon=True).start()
        time.sleep(3.0)  # start-up over
        if view != "overview":
            for key in VIEW_KEYS[view]:
                child.send(key)
                time.sleep(1.0)  # the view's store catches up with the file
        writer = subprocess.Popen(
            [sys.executable, "-c", LOAD_WRITER, str(log), str(rate), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None and writer.stdout.readline() == "go\n"
        os.kill(child.pid, signal.SIGUSR1)
        c0, t0 = cpu_seconds(child.pid), time.monotonic()
        writer.wait()
        c1, t1 = cpu_seconds(child.pid), time.monotonic()
        os.kill(child.pid, signal.SIGUSR2)
        time.sleep(0.5)
        result = json.loads(out.read_text())
        child.send("q")
        time.sleep(1.0)
        child.close(force=True)
        rec.close()
    wall = result["wall"]
    print(
        f"runreel live, {view}, at {rate:,.0f} events/s for {seconds:g} s, 120x30 pty: "
        f"{100 * (c1 - c0) / (t1 - t0):.2f} % of a core (load average {os.getloadavg()[0]:.1f})"
    )
    print(f"  (the viewer's code: {result['code']})")
    for label, (cpu, n) in sorted(result["parts"].items(), key=lambda kv: -kv[1][0]):
        each = 1000 * cpu / max(n, 1)
        print(f"  {label:34} {100 * cpu / wall:5.2f} %  ({n} calls, {each:.2f} ms each)")


def _drain(child: pexpect.spawn) -> None:  # type: ignore[type-arg]
    while True:
        try:
            child.read_nonblocking(1 << 16, 0.05)
        except pexpect.TIMEOUT:
            continue
        except (pexpect.EOF, OSError, ValueError):
            return


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=8.0, help="seconds of load (8)")
    p.add_argument("--rate", type=float, default=10_000.0, help="events/s of the load (10k)")
    p.add_argument("--code", metavar="DIR", help="run the viewer's code from DIR")
    p.add_argument("--view", default="overview", choices=list(VIEW_KEYS), help="the view open")
    p.add_argument("--stats", metavar="FILE", help="also write a cProfile of the window to FILE")
    a = p.parse_args()
    code = None if a.code is None else str(Path(a.code).resolve())
    profile(a.seconds, a.rate, code, a.view, a.stats)
    if a.stats:
        pstats.Stats(a.stats).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
