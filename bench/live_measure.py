"""The measurements of one viewer (bench/live_latency.py): append-to-screen latency, CPU in
each state, and the 10,000 events/s load, all from one run of this function."""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from live_load import LOAD_WRITER, heartbeat, old_log
from live_pty import REFRESH_HZ, VIEW_KEYS, Viewer, cpu_share

from recorder.writer import Recorder

MISS_S = 2.0  # a marker not on screen after this long is a miss
# The views that show a task just started (the latency marker): the overview's panels,
# and the workers view's "latest attempts, running first" of its selected worker (the
# markers' worker is the first one). The others list no such task: their markers are
# written at the overview's pace without waiting (the same activity), and no latency.
MARKED = ("overview", "workers", "overview-after-tasks")
UNMARKED_WAIT_S = 0.05  # about the overview's median latency: the pace of those markers


def measure_idle(
    tmp: Path,
    name: str,
    *,
    busy: int,
    total: int | None,
    seconds: float,
    size: tuple[int, int],
    beat: float | None = None,
    code: str | None = None,
    view: str = "overview",
) -> float:
    log = tmp / f"{name}.jsonl"
    seq = old_log(log, busy=busy, age=120.0, total=total)
    stop = threading.Event()
    beats = threading.Thread(target=heartbeat, args=(log, seq, beat, stop), daemon=True)
    if beat is not None:
        beats.start()
    viewer = Viewer(log, *size, code=code)
    try:
        if viewer.wait_for("bench-idle", 15.0) is None:
            raise SystemExit(f"the viewer never showed {log}")
        time.sleep(1.0)  # start-up over
        if view != "overview":
            viewer.press(VIEW_KEYS[view])
        return cpu_share(viewer, seconds)
    finally:
        viewer.close()
        stop.set()
        if beat is not None:
            beats.join()


def sample_latency(
    viewer: Viewer,
    rec: Recorder,
    rng: random.Random,
    count: int,
    prefix: str,
    previous: str | None,
    until: Any = None,
    marked: bool = True,
) -> tuple[dict[str, Any], str | None]:
    """Append-to-screen latency: up to ``count`` markers (stopping once ``until()``), each
    a task started at a random phase of the refresh; the last one is left running.
    Unless ``marked`` (the view does not show them): the markers only, no latency."""
    samples: list[float] = []
    written = 0
    misses = 0
    for i in range(count):
        if until is not None and until():
            break
        time.sleep(rng.uniform(0.0, 1.0 / REFRESH_HZ))  # a random phase of the refresh
        marker = f"{prefix}{i:05d}x"
        if previous is not None:
            rec.succeeded(previous, worker="lat")
        written += 1
        if not marked:
            rec.task_started(marker, worker="lat")
            time.sleep(UNMARKED_WAIT_S)
            previous = marker
            continue
        viewer.expect(marker)
        start = time.perf_counter()
        rec.task_started(marker, worker="lat")
        if viewer.seen.wait(MISS_S):
            samples.append(viewer.seen_at - start)
        else:
            misses += 1
            samples.append(MISS_S)  # a lower bound: counted, never dropped
        previous = marker
    if not marked:
        return {"samples": 0, "markers": written}, previous
    ms = [s * 1000 for s in samples] or [float("nan")]
    summary = {
        "samples": len(samples),
        "misses": misses,
        "p50": round(statistics.median(ms), 1),
        "p95": round(percentile(ms, 0.95), 1),
        "max": round(max(ms), 1),
    }
    return summary, previous


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def machine(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "terminal": f"{args.cols}x{args.rows}",
        "refresh_hz": REFRESH_HZ,
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


def run(
    args: argparse.Namespace, code: str | None = None, view: str = "overview"
) -> dict[str, Any]:
    """Every figure for one viewer (this checkout's, or the one in ``code``) with ``view``
    open from its start-up on."""
    size = (args.cols, args.rows)
    r: dict[str, Any] = {"machine": machine(args), "view": view}
    marked = view in MARKED
    with tempfile.TemporaryDirectory(prefix="runreel-bench-") as d:
        tmp = Path(d)
        # Latency: one viewer on a run that grows as the samples are taken.
        log = tmp / "live.jsonl"
        rec = Recorder(log, name="bench-live", total=10**6)
        viewer = Viewer(log, *size, code=code)
        try:
            if viewer.wait_for("bench-live", 15.0) is None:
                raise SystemExit("the viewer never showed the run")
            if view != "overview":
                viewer.press(VIEW_KEYS[view])
            rng = random.Random(3)
            r["latency_ms"], previous = sample_latency(
                viewer, rec, rng, args.samples, "L", None, marked=marked
            )
            if args.after_activity:
                r["cpu_after_activity_pct"] = round(cpu_share(viewer, 10.0), 2)
            # Load: 10k events/s from another process for the window.
            proc = subprocess.Popen(
                [sys.executable, "-c", LOAD_WRITER, str(log), str(args.rate), str(args.window)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdout is not None
            assert proc.stdout.readline() == "go\n"  # imports done, the first events follow
            c0, t0 = viewer.cpu(), time.monotonic()
            # Markers among the load's events, as long as it runs: a change must still show.
            r["latency_under_load_ms"], _ = sample_latency(
                viewer,
                rec,
                rng,
                10**6,
                "M",
                previous,
                until=lambda: proc.poll() is not None,
                marked=marked,
            )
            written, elapsed = proc.stdout.read().split()
            proc.wait()
            c1, t1 = viewer.cpu(), time.monotonic()
            done = time.perf_counter()
            if not view.startswith("overview"):  # only the overview's footer counts events
                viewer.press(VIEW_KEYS["overview"], settle=0.0)
            with open(log, "rb") as f:
                total_events = sum(
                    chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")
                )
            caught_up = viewer.wait_for(f"Events {total_events} ", 30.0) is not None
            r["load"] = {
                "events": int(written),
                "events_per_s": round(int(written) / float(elapsed)),
                "cpu_pct": round(100.0 * (c1 - c0) / (t1 - t0), 2),
                "lag_s": round(max(viewer.seen_at - done, 0.0), 3) if caught_up else None,
            }
        finally:
            viewer.close()
            rec.close()
        idle = {"seconds": args.idle, "size": size, "code": code, "view": view}
        r["cpu_idle_pct"] = round(measure_idle(tmp, "idle", busy=0, total=20, **idle), 2)
        r["cpu_stalled_busy_pct"] = round(
            measure_idle(tmp, "stalled", busy=8, total=None, **idle), 2
        )
        r["cpu_idle_animating_pct"] = round(
            measure_idle(tmp, "animating", busy=8, total=None, beat=2.0, **idle), 2
        )
    return r
