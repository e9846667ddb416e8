"""Issue 13 benchmark: the cost of one full dashboard frame, now and before issue 13.

Run from the repository root (not a test; every figure comes from this run):

    python bench/frame.py            # 200 frames per case
    python bench/frame.py --frames 50

Each case folds a log to a position and renders the dashboard at 120x40 (text, as a
terminal frame: the layout and every panel, without writing to a terminal) many times;
the figure is the median CPU time per frame, drawn from nothing (the panels' kept lines
forgotten before each frame). "a run going on" draws busy_run at 60 positions one after
the other, from 40% to 60% of the run, as a live viewer does: each through rich's ``Live``
on a terminal console (``loop.live_screen``; the new dashboard keeps unchanged panels'
lines from frame to frame); "not written" renders the same frames into lines only, so the
difference is what Live's writing costs. The dashboard before issue 13 is kept in
``bench/old/overview_before_13.py`` and measured in the same run, so the ratio is fair on
a shared machine. Logs: ``fixtures/busy_run.jsonl`` (400 tasks, 8 workers, retries,
failures, log messages) mid-run and at the end, and ``fixtures/many_workers.jsonl``.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from replay.core.views.overview import dashboard
from replay.core.views.stack import forget
from replay.core.when import parse_when
from replay.index.position import fold_at
from replay.outputs.snapshot import capture_console
from replay.sessions.loop import live_screen

ROOT = Path(__file__).resolve().parent.parent
CASES = [("busy_run", "50%"), ("busy_run", "end"), ("many_workers", "50%")]


def _old_dashboard() -> Callable[..., Any]:
    path = ROOT / "bench" / "old" / "overview_before_13.py"
    spec = importlib.util.spec_from_file_location("overview_before_13", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.dashboard  # type: ignore[no-any-return]


def per_frame(draw: Callable[..., Any], m: Any, now: float, frames: int) -> float:
    """Median CPU seconds of one frame at 120x40, drawn from nothing."""
    times = []
    for _ in range(frames):
        console = capture_console(120, 40, color=True)
        forget()
        start = time.process_time()
        console.print(draw(m, now), height=40)
        times.append(time.process_time() - start)
    return statistics.median(times)


def going_on(draw: Callable[..., Any], frames: list[Any], *, write: bool = True) -> float:
    """Median CPU seconds per frame of a run drawn position after position on a terminal
    (``write=False``: only rendered into lines, what ``Live`` adds to that left out)."""
    console = Console(
        file=io.StringIO(),
        width=120,
        height=40,
        force_terminal=True,
        force_interactive=True,  # Live draws only on an interactive terminal
        color_system="truecolor",
        legacy_windows=False,
        _environ={},
    )
    forget()
    times = []
    with live_screen(console) as live:
        for f in frames:
            start = time.process_time()
            if write:
                live.update(draw(f.metrics, f.now), refresh=True)
            else:
                console.render_lines(draw(f.metrics, f.now), console.options)
            times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    a = ap.parse_args()
    old = _old_dashboard()
    print(f"one frame at 120x40, median of {a.frames} (CPU ms); Python {sys.version.split()[0]}")
    print(f"{'log @ position':28} {'now':>8} {'before':>8} {'ratio':>7}")
    for name, at in CASES:
        frame = fold_at(str(ROOT / "fixtures" / f"{name}.jsonl"), parse_when(at))
        m, now = frame.metrics, frame.now
        new_ms = per_frame(dashboard, m, now, a.frames) * 1000
        old_ms = per_frame(old, m, now, a.frames) * 1000
        print(f"{name + ' @ ' + at:28} {new_ms:8.2f} {old_ms:8.2f} {new_ms / old_ms:7.2f}")
    log = str(ROOT / "fixtures" / "busy_run.jsonl")
    frames = [fold_at(log, parse_when(f"{40 + i / 3:.2f}%")) for i in range(60)]
    for label, write in (("a run going on (busy_run)", True), ("  the same, not written", False)):
        new_ms = going_on(dashboard, frames, write=write) * 1000
        old_ms = going_on(old, frames, write=write) * 1000
        print(f"{label:28} {new_ms:8.2f} {old_ms:8.2f} {new_ms / old_ms:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
