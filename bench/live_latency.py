"""Issue 3 benchmark: append-to-screen latency and CPU use of ``runreel live``.

Run from the repository root (not a test; every figure comes from this run):

    python bench/live_latency.py            # about 75 seconds
    python bench/live_latency.py --quick    # about 30 seconds, fewer samples, shorter windows
    python bench/live_latency.py --json out.json   # also write the figures as JSON ("-": stdout)
    python bench/live_latency.py --quick --baseline ../old   # old and new viewer in one run
    python bench/live_latency.py --baseline ../old --baseline ../main   # several baselines

``--baseline DIR`` measures every state again with the viewer's code taken from DIR (a
checkout of an older commit, e.g. ``git worktree add ../old 43e6d2a``, put first on
``PYTHONPATH`` for the viewer only); it can be given more than once. The viewers take
turns ``--rounds`` times (the order reversed every other round, so drift hits all), and
each figure is printed beside every baseline's, with the ratios.

The installed ``runreel live`` (the console script next to ``sys.executable``) runs in a
real pseudo-terminal (pexpect) at ``--refresh 10``; everything it writes is fed to a pyte
screen on a reader thread, which timestamps the moment a marker first shows.

- latency: a Recorder in this process appends ``task_started`` for a task with a unique
  id, at a random phase of the refresh period, and the time until that id is on the pyte
  screen is one sample (p50, p95, max);
- CPU: utime + stime of the viewer process from ``/proc/<pid>/stat`` over a window,
  as a share of one core, in these states:
  idle: a run with a known total whose last event is two minutes old (stalled,
  nothing in flight): only the clocks move, once a second;
  stalled, workers busy: the same but 8 workers busy and no total; the run is stalled,
  so nothing animates (no spinner claims work the log says nothing about);
  animating: 8 workers busy, no total, and a log event every 2 s (the run never stalls),
  so the spinners and the pulsing bar move, in steps of 1/5 s (views.ANIMATION_HZ);
  after activity (full run only): the 10 s right after the last event, while the
  "stalled for 5.3s" counter still moves in tenths;
  10k events/s: a writer process appends task_started/task_succeeded pairs at 10,000
  events per second through the Recorder API; the viewer's lag is the time from the
  writer's last event until the footer shows the log's full event count, and latency
  markers are appended among the load's events while it runs (latency under load).
"""

from __future__ import annotations

import argparse
import json
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

import pexpect
import pyte

from recorder import codec
from recorder.events import Log, RunStarted, TaskStarted, TaskSucceeded
from recorder.writer import Recorder

RUNREEL = str(Path(sys.executable).with_name("runreel"))
REFRESH_HZ = 10.0
TARGETS = {
    "latency_p95_ms": 150.0,
    "cpu_idle_pct": 5.0,
    "cpu_load_pct": 50.0,
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
MISS_S = 2.0  # a marker not on screen after this long is a miss

LOAD_WRITER = r"""
import sys, time
from recorder.writer import Recorder

path, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rec = Recorder.attach(path)
print("go", flush=True)
workers = [f"load-w{i:02d}" for i in range(16)]
n = task = 0
start = time.monotonic()
while (now := time.monotonic()) < start + seconds:
    due = int((now - start) * rate)
    while n < due:
        if n % 2 == 0:
            rec.task_started(f"load-{task}", worker=workers[task % 16])
        else:
            rec.succeeded(f"load-{task}", worker=workers[task % 16])
            task += 1
        n += 1
    time.sleep(0.002)
rec.close()
print(n, time.monotonic() - start)
"""


def viewer_env(code: str | None = None) -> dict[str, str]:
    """The viewer's environment; ``code``: a checkout whose ``replay`` the viewer runs."""
    drop = {"NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["TERM"] = "xterm-256color"
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [code, env.get("PYTHONPATH")]))
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of proc(5)


class Viewer:
    """``runreel live LOG`` in a pty, read on a thread into a pyte screen."""

    def __init__(self, log: Path, cols: int, rows: int, code: str | None = None) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Lock()
        self.want: str | None = None
        self.seen = threading.Event()
        self.seen_at = 0.0
        self.child = pexpect.spawn(
            RUNREEL,
            ["live", str(log), "--refresh", str(REFRESH_HZ)],
            env=viewer_env(code),
            dimensions=(rows, cols),
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.child.read_nonblocking(1 << 16, 0.05)
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError, ValueError):
                return
            arrived = time.perf_counter()
            with self.lock:
                self.stream.feed(data)
                if self.want is not None and not self.seen.is_set():
                    if self.want in self._text():
                        self.seen_at = arrived
                        self.seen.set()

    def _text(self) -> str:
        return "\n".join(self.screen.display)

    def expect(self, marker: str) -> None:
        """Signal ``seen`` (with ``seen_at``) once ``marker`` is on the screen."""
        with self.lock:
            self.want = marker
            self.seen.clear()
            if marker in self._text():
                self.seen_at = time.perf_counter()
                self.seen.set()

    def wait_for(self, marker: str, timeout: float) -> float | None:
        """Seconds until ``marker`` shows (None if it does not within ``timeout``)."""
        start = time.perf_counter()
        self.expect(marker)
        if not self.seen.wait(timeout):
            return None
        return self.seen_at - start

    def cpu(self) -> float:
        return cpu_seconds(self.child.pid)

    def close(self) -> None:
        if self._alive():
            self.child.send("q")
            deadline = time.monotonic() + 5
            while self._alive() and time.monotonic() < deadline:
                time.sleep(0.05)
        try:
            self.child.close(force=True)
        except pexpect.ExceptionPexpect:
            pass  # already reaped by the reader thread

    def _alive(self) -> bool:
        """Whether the viewer runs (the reader thread may reap it first, at its EOF)."""
        try:
            return bool(self.child.isalive())
        except pexpect.ExceptionPexpect:
            return False


def cpu_share(viewer: Viewer, seconds: float) -> float:
    """The viewer's CPU use over ``seconds`` of wall time, in % of one core."""
    c0, t0 = viewer.cpu(), time.monotonic()
    time.sleep(seconds)
    c1, t1 = viewer.cpu(), time.monotonic()
    return 100.0 * (c1 - c0) / (t1 - t0)


def old_log(path: Path, *, busy: int, age: float, total: int | None) -> int:
    """A run whose last event is ``age`` seconds old, with ``busy`` tasks still running."""
    t = time.time() - age - 10
    src = "1-bench"
    start = RunStarted(t=t, src=src, seq=1, v=1, run="idle", name="bench-idle", total=total)
    lines = [codec.encode(start)]
    seq = 1
    for i in range(8):
        seq += 1
        lines.append(
            codec.encode(TaskStarted(t=t + i, src=src, seq=seq, task=f"done-{i}", worker=f"w{i}"))
        )
        seq += 1
        lines.append(
            codec.encode(
                TaskSucceeded(t=t + i + 1, src=src, seq=seq, task=f"done-{i}", worker=f"w{i}")
            )
        )
    for i in range(busy):
        seq += 1
        lines.append(
            codec.encode(TaskStarted(t=t + 10, src=src, seq=seq, task=f"busy-{i}", worker=f"w{i}"))
        )
    path.write_bytes(b"".join(lines))
    return seq


def heartbeat(path: Path, seq: int, every: float, stop: threading.Event) -> None:
    """A log event every ``every`` seconds, so that the run does not stall."""
    while True:
        seq += 1
        line = codec.encode(Log(t=time.time(), src="1-bench", seq=seq, msg="heartbeat"))
        with open(path, "ab") as f:
            f.write(line)
        if stop.wait(every):
            return


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
) -> tuple[dict[str, Any], str | None]:
    """Append-to-screen latency: up to ``count`` markers (stopping once ``until()``), each
    a task started at a random phase of the refresh; the last one is left running."""
    samples: list[float] = []
    misses = 0
    for i in range(count):
        if until is not None and until():
            break
        time.sleep(rng.uniform(0.0, 1.0 / REFRESH_HZ))  # a random phase of the refresh
        marker = f"{prefix}{i:05d}x"
        if previous is not None:
            rec.succeeded(previous, worker="lat")
        viewer.expect(marker)
        start = time.perf_counter()
        rec.task_started(marker, worker="lat")
        if viewer.seen.wait(MISS_S):
            samples.append(viewer.seen_at - start)
        else:
            misses += 1
            samples.append(MISS_S)  # a lower bound: counted, never dropped
        previous = marker
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


def run(args: argparse.Namespace, code: str | None = None) -> dict[str, Any]:
    """Every figure for one viewer: this checkout's, or the one in ``code``."""
    size = (args.cols, args.rows)
    r: dict[str, Any] = {"machine": machine(args)}
    with tempfile.TemporaryDirectory(prefix="runreel-bench-") as d:
        tmp = Path(d)
        # Latency: one viewer on a run that grows as the samples are taken.
        log = tmp / "live.jsonl"
        rec = Recorder(log, name="bench-live", total=10**6)
        viewer = Viewer(log, *size, code=code)
        try:
            if viewer.wait_for("bench-live", 15.0) is None:
                raise SystemExit("the viewer never showed the run")
            rng = random.Random(3)
            r["latency_ms"], previous = sample_latency(viewer, rec, rng, args.samples, "L", None)
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
                viewer, rec, rng, 10**6, "M", previous, until=lambda: proc.poll() is not None
            )
            written, elapsed = proc.stdout.read().split()
            proc.wait()
            c1, t1 = viewer.cpu(), time.monotonic()
            done = time.perf_counter()
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
        idle = {"seconds": args.idle, "size": size, "code": code}
        r["cpu_idle_pct"] = round(measure_idle(tmp, "idle", busy=0, total=20, **idle), 2)
        r["cpu_stalled_busy_pct"] = round(
            measure_idle(tmp, "stalled", busy=8, total=None, **idle), 2
        )
        r["cpu_idle_animating_pct"] = round(
            measure_idle(tmp, "animating", busy=8, total=None, beat=2.0, **idle), 2
        )
    return r


# The figures compared old against new: (label, how to read it from a run's results).
COMPARED: list[tuple[str, Any]] = [
    ("latency p95 (ms)", lambda r: r["latency_ms"]["p95"]),
    ("latency p50 (ms)", lambda r: r["latency_ms"]["p50"]),
    ("latency p95 under the load (ms)", lambda r: r["latency_under_load_ms"]["p95"]),
    ("CPU idle (%)", lambda r: r["cpu_idle_pct"]),
    ("CPU stalled, 8 busy (%)", lambda r: r["cpu_stalled_busy_pct"]),
    ("CPU animating (%)", lambda r: r["cpu_idle_animating_pct"]),
    ("CPU after activity (%)", lambda r: r.get("cpu_after_activity_pct")),
    ("CPU at the load (%)", lambda r: r["load"]["cpu_pct"]),
    (
        "lag after the load (ms)",
        lambda r: None if r["load"]["lag_s"] is None else r["load"]["lag_s"] * 1000,
    ),
]


def compare(new: list[dict[str, Any]], old: dict[str, list[dict[str, Any]]]) -> str:
    """Each figure per round for every baseline, then for now, and the ratios of the
    medians (now / baseline)."""
    names = list(old)
    rows = [("figure", *names, "now", *(f"now / {n}" for n in names))]
    for label, read in COMPARED:
        olds = [[read(r) for r in old[n]] for n in names]
        news = [read(r) for r in new]
        if None in news or any(None in o for o in olds):
            continue
        mid = statistics.median(news)
        ratios = [
            f"{mid / statistics.median(o):.2f}" if statistics.median(o) else "-" for o in olds
        ]
        rows.append(
            (
                label,
                *(" / ".join(f"{v:.2f}" for v in o) for o in olds),
                " / ".join(f"{v:.2f}" for v in news),
                *ratios,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def table(r: dict[str, Any]) -> str:
    m, lat, load = r["machine"], r["latency_ms"], r["load"]
    rows = [
        ("figure", "measured", "target", ""),
        (
            "append-to-screen latency p50",
            f"{lat['p50']:.1f} ms",
            "",
            "",
        ),
        (
            "append-to-screen latency p95",
            f"{lat['p95']:.1f} ms",
            f"<= {TARGETS['latency_p95_ms']:.0f} ms",
            verdict(lat["p95"], TARGETS["latency_p95_ms"]),
        ),
        ("append-to-screen latency max", f"{lat['max']:.1f} ms", "", ""),
        (
            f"latency p95 while {load['events_per_s']:,} events/s stream",
            f"{r['latency_under_load_ms']['p95']:.1f} ms",
            f"<= {TARGETS['latency_p95_ms']:.0f} ms",
            verdict(r["latency_under_load_ms"]["p95"], TARGETS["latency_p95_ms"]),
        ),
        (
            "CPU idle (stalled, nothing running)",
            f"{r['cpu_idle_pct']:.2f} %",
            f"<= {TARGETS['cpu_idle_pct']:.0f} %",
            verdict(r["cpu_idle_pct"], TARGETS["cpu_idle_pct"]),
        ),
        (
            "CPU stalled, 8 workers busy, no total",
            f"{r['cpu_stalled_busy_pct']:.2f} %",
            f"<= {TARGETS['cpu_idle_pct']:.0f} %",
            verdict(r["cpu_stalled_busy_pct"], TARGETS["cpu_idle_pct"]),
        ),
        (
            "CPU animating (busy workers, an event every 2 s)",
            f"{r['cpu_idle_animating_pct']:.2f} %",
            f"<= {TARGETS['cpu_idle_pct']:.0f} %",
            verdict(r["cpu_idle_animating_pct"], TARGETS["cpu_idle_pct"]),
        ),
    ]
    if "cpu_after_activity_pct" in r:
        rows.append(
            (
                "CPU first 10 s after the last event",
                f"{r['cpu_after_activity_pct']:.2f} %",
                f"<= {TARGETS['cpu_idle_pct']:.0f} %",
                verdict(r["cpu_after_activity_pct"], TARGETS["cpu_idle_pct"]),
            )
        )
    rows.append(
        (
            f"CPU at {load['events_per_s']:,} events/s",
            f"{load['cpu_pct']:.2f} %",
            f"<= {TARGETS['cpu_load_pct']:.0f} %",
            verdict(load["cpu_pct"], TARGETS["cpu_load_pct"]),
        )
    )
    lag = "never caught up" if load["lag_s"] is None else f"{load['lag_s'] * 1000:.0f} ms"
    rows.append(("viewer lag after the load stops", lag, "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"runreel live, {m['terminal']} pty at {m['refresh_hz']:.0f} Hz; Python {m['python']}, "
        f"{m['cpus']} CPUs, {m['platform']}",
        f"latency: {lat['samples']} samples, {lat['misses']} missed (> {MISS_S:.0f} s, "
        f"counted as {MISS_S:.0f} s); "
        f"load: {load['events']:,} events written",
        "",
    ]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--samples", type=int, default=200, help="latency samples (200)")
    p.add_argument("--idle", type=float, default=10.0, help="seconds per idle CPU window (10)")
    p.add_argument("--window", type=float, default=10.0, help="seconds of load (10)")
    p.add_argument("--rate", type=float, default=10_000.0, help="events/s of the load (10k)")
    p.add_argument("--cols", type=int, default=120)
    p.add_argument("--rows", type=int, default=30)
    p.add_argument("--quick", action="store_true", help="40 samples, 4 s windows")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE", help="also write JSON")
    p.add_argument(
        "--baseline",
        metavar="DIR",
        action="append",
        default=[],
        help="also measure the viewer code in DIR (repeatable)",
    )
    p.add_argument("--rounds", type=int, default=1, help="old/new rounds with --baseline (1)")
    args = p.parse_args(argv)
    args.after_activity = not args.quick
    if args.quick:
        args.samples, args.idle, args.window = 40, 4.0, 4.0
    if args.baseline:
        codes: dict[str, str] = {}
        for b in args.baseline:
            codes[b] = str(Path(b).resolve())
            if not (Path(codes[b]) / "replay" / "__init__.py").is_file():
                raise SystemExit(f"--baseline {b}: no replay/ package there")
        new: list[dict[str, Any]] = []
        old: dict[str, list[dict[str, Any]]] = {b: [] for b in codes}
        turns: list[str | None] = [*codes, None]  # None: this checkout
        for i in range(args.rounds):  # reverse the order every other round: drift hits all
            for which in turns if i % 2 == 0 else turns[::-1]:
                if which is None:
                    new.append(run(args))
                else:
                    old[which].append(run(args, codes[which]))
        result: dict[str, Any] = {"machine": machine(args), "baselines": list(codes)}
        result["new"], result["old"] = new, old
        print(f"runreel live, {', '.join(codes)} and now, {args.rounds} round(s) each")
        print(table(new[-1]))
        print()
        print(compare(new, old))
        loads = [
            r["machine"]["loadavg_1min"] for r in [*new, *(x for o in old.values() for x in o)]
        ]
        print(
            f"\nload average (1 min) at each viewer's start: {min(loads):.1f} to {max(loads):.1f}"
        )
        r = result
    else:
        r = run(args)
        print(table(r))
    if args.json == "-":
        print(json.dumps(r, indent=2))
    elif args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
