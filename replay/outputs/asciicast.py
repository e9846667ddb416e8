"""The replay of a log as an asciicast v2 recording (asciinema's format).

The header carries the size and the run's start time; then one ``"o"`` event per change of
the dashboard, rendered exactly like ``runreel snapshot --format ansi`` at event times.
Bursts collapse: at most ``fps`` frames per second of run time, each showing the state after
the last event of its slot. While a run is quiet the clock still ticks once a second (for at
most MAX_TICKS seconds per quiet stretch). Only the rows that changed are redrawn, with
absolute cursor moves, so any terminal player shows the same screen. Marks become ``"m"``
markers, which the asciinema player lists as chapters.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import msgspec

from recorder.events import Mark
from recorder.location import LogPath
from replay.core.fold import apply
from replay.core.metrics import Metrics
from replay.core.text import safe
from replay.core.views.overview import dashboard
from replay.core.when import END, When
from replay.index.position import fold_at
from replay.outputs.snapshot import capture_console
from replay.sources.file import read_batches

FPS = 10.0
MAX_TICKS = 600
HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"
CLEAR = "\x1b[H\x1b[2J"


class _Screen:
    """Renders frames on one recording console and says which rows changed."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.console = capture_console(width, height, color=True)
        self.rows: list[str] | None = None

    def frame(self, m: Metrics, now: float) -> str:
        """The output that turns the previous screen into this one ("" when nothing changed)."""
        self.console.print(dashboard(m, now), height=self.height)
        text = self.console.export_text(styles=True, clear=True)
        rows = text.split("\n")[: self.height]
        rows += [""] * (self.height - len(rows))
        if self.rows is None:
            changed = list(range(self.height))
            lead = HIDE_CURSOR + CLEAR
        else:
            old = self.rows
            changed = [i for i in range(self.height) if rows[i] != old[i]]
            lead = ""
        self.rows = rows
        if not changed:
            return ""
        return lead + "".join(f"\x1b[{i + 1};1H{rows[i]}" for i in changed)


def _line(t: float, kind: str, data: str) -> str:
    return msgspec.json.encode([round(t, 6), kind, data]).decode() + "\n"


def asciicast(
    path: LogPath,
    *,
    at: When = END,
    width: int = 100,
    height: int = 30,
    fps: float = FPS,
    max_idle: float | None = None,
    lenient: bool = False,
) -> Iterator[str]:
    """The cast of ``path`` from the start to ``at``, line by line (header first).

    ``max_idle`` goes into the header as ``idle_time_limit``: players shorten longer pauses.
    """
    stop = fold_at(path, at, lenient=lenient)
    limit, end_now = stop.metrics.events, stop.now
    first = stop.metrics.first_t if stop.metrics.first_t is not None else end_now
    header: dict[str, object] = {
        "version": 2,
        "width": width,
        "height": height,
        "timestamp": int(first),
        "title": safe(stop.metrics.name or stop.metrics.run or "runreel"),
        "env": {"TERM": "xterm-256color"},
    }
    if max_idle is not None:
        header["idle_time_limit"] = max_idle
    yield msgspec.json.encode(header).decode() + "\n"
    screen = _Screen(width, height)
    m = Metrics()
    clock = 0.0  # cast time already written; the cast's times never go back
    slot: int | None = None
    slot_t = 0.0
    seen = 0

    def show(rel: float) -> Iterator[str]:
        nonlocal clock
        rel = max(rel, clock)
        data = screen.frame(m, first + rel)
        if data:
            clock = rel
            yield _line(rel, "o", data)

    def ticks(since: float, until: float) -> Iterator[str]:
        """Frames on whole seconds of a quiet stretch, so the elapsed clock moves."""
        if m.finished:
            return
        k = math.floor(since) + 1
        for _ in range(MAX_TICKS):
            if k >= until:
                return
            yield from show(float(k))
            k += 1

    for batch in read_batches(path, lenient=lenient):
        for e in batch:
            if seen >= limit:
                break
            seen += 1
            rel = max(e.t - first, 0.0)
            here = math.floor(rel * fps)
            if slot is not None and here != slot:
                yield from show(slot_t)
                yield from ticks(slot_t, rel)
            apply(m, e)
            if isinstance(e, Mark):
                clock = max(rel, clock)
                yield _line(clock, "m", safe(e.label))
            slot, slot_t = here, max(rel, slot_t)
        if seen >= limit:
            break
    end = max(end_now - first, slot_t)
    if slot is not None:
        yield from show(slot_t)
        yield from ticks(slot_t, end)
    yield from show(end)
    yield _line(max(end, clock), "o", f"\x1b[{height};1H{SHOW_CURSOR}")
