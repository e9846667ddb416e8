"""Issue 3 benchmark: append-to-screen latency and CPU use of ``runreel live``.

Run from the repository root (not a test; every figure comes from this run):

    python bench/live_latency.py            # about 75 seconds
    python bench/live_latency.py --quick    # about 30 seconds, fewer samples, shorter windows
    python bench/live_latency.py --json out.json   # also write the figures as JSON ("-": stdout)
    python bench/live_latency.py --quick --baseline ../old   # old and new viewer in one run
    python bench/live_latency.py --baseline ../old --baseline ../main   # several baselines
    python bench/live_latency.py --views all    # each view open, the overview first: 10 min
    python bench/live_latency.py --views all --quick    # 4 minutes
    python bench/live_latency.py --views tasks,log --rounds 2

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

``--views LIST`` (or ``all``) measures all of the above again with each view open (its
key pressed once the viewer shows the run, in every state's viewer), the overview too,
in the same run, and prints each view's figures beside the overview's, with the ratios.
``overview-after-tasks`` is the overview after the tasks view was open (a second, then
the overview's key): the views' store is written only while a view that reads it is
shown, so it must read as the overview (``--views overview-after-tasks``; a store that
is written 50,000 events at a time, ``moving.HOLD``, shows in 10 s windows at 10,000
events/s, not in ``--quick``'s 4 s ones). A view that
does not show a just-started task (failures, tasks, timeline, log) gets the same markers
at the overview's pace, unwaited, and no latency figure; the lag after the load is read
on the overview's footer (the overview's key is pressed when the load ends).
With ``--rounds N`` the views take turns N times (reversed every other round); with
``--baseline DIR`` too, each view is measured with both viewers, one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_measure import machine, run  # noqa: E402
from live_pty import VIEW_KEYS  # noqa: E402
from live_report import compare, table, views_table  # noqa: E402


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
    p.add_argument(
        "--views",
        metavar="LIST",
        help=f"measure with each view open: all, or some of {','.join(VIEW_KEYS)}",
    )
    p.add_argument("--rounds", type=int, default=1, help="rounds with --baseline or --views (1)")
    args = p.parse_args(argv)
    args.after_activity = not args.quick
    if args.quick:
        args.samples, args.idle, args.window = 40, 4.0, 4.0
    if args.views:
        views = list(VIEW_KEYS) if args.views == "all" else args.views.split(",")
        unknown = [v for v in views if v not in VIEW_KEYS]
        if unknown:
            raise SystemExit(
                f"--views: no view {', '.join(unknown)} (one of {', '.join(VIEW_KEYS)})"
            )
        views = ["overview", *(v for v in views if v != "overview")]  # the baseline, first
        codes = {b: str(Path(b).resolve()) for b in args.baseline}
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in views}
        olds: dict[str, dict[str, list[dict[str, Any]]]] = {
            b: {v: [] for v in views} for b in codes
        }
        loads = [os.getloadavg()[0]]
        for i in range(args.rounds):
            for view in views if i % 2 == 0 else views[::-1]:
                order: list[str | None] = [*codes, None]  # None: this checkout
                for which in order if i % 2 == 0 else order[::-1]:
                    if which is None:
                        runs[view].append(run(args, view=view))
                    else:
                        olds[which][view].append(run(args, codes[which], view=view))
                    loads.append(os.getloadavg()[0])
        print(
            f"runreel live with each view open, {args.cols}x{args.rows} pty, "
            f"{args.rounds} round(s); load average (1 min) {min(loads):.2f} to {max(loads):.2f}"
        )
        print(views_table(runs))
        for b in codes:  # the same views with the viewer's code from b, in the same run
            print(f"\n{b}:")
            print(views_table(olds[b]))
            for view in views:
                print(f"\n{view}, now / {b}:")
                print(compare(runs[view], {b: olds[b][view]}))
        r = {"machine": machine(args), "views": runs, "baselines": olds, "loadavg": loads}
    elif args.baseline:
        codes = {}
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
