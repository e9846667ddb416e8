"""Snapshots: the dashboard at a position, as text, ANSI, SVG, HTML or JSON.

Byte-identical for the same log and options on any machine: the console is
built from the given size only and ignores the environment and the terminal.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

import msgspec

from replay import exitcodes
from replay.core.metrics import Metrics
from replay.core.records import Record
from replay.core.viewstate import ViewState
from replay.outputs.svg import FONT_STACK, svg_document

if TYPE_CHECKING:  # the registry imports this writer
    from rich.console import Console

    from replay.outputs.formats import Format

SVG_ID = "runreel"

# Rich's HTML page with the SVG's fonts: it links and fetches nothing.
HTML_FORMAT = (
    """\
<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<style>
{stylesheet}
body {{
    color: {foreground};
    background-color: {background};
}}
</style>
</head>
<body>
    <pre style="font-family:FONTS"><code style="font-family:inherit">{code}</code></pre>
</body>
</html>
"""
).replace("FONTS", FONT_STACK.replace('"', "'"))

# Characters msgspec leaves raw that a terminal would act on (DEL, C1, bidi controls):
# escaped as \uXXXX, which keeps the JSON equal in value and harmless to print.
_JSON_ESCAPES = {
    c: f"\\u{c:04x}"
    for c in (0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A))
} | {c: f"\\u{c:04x}" for c in (0x200E, 0x200F, 0x061C)}  # bidi marks, as text.safe()


def capture_console(width: int, height: int, *, color: bool) -> Console:
    """A recording console of a fixed size that reads nothing from the environment."""
    from rich.console import Console  # here: ``stats --json`` needs no console

    return Console(
        file=io.StringIO(),
        width=width,
        height=height,
        force_terminal=True,
        force_interactive=False,
        color_system="truecolor" if color else None,
        legacy_windows=False,
        no_color=False,
        record=True,
        markup=False,
        emoji=False,
        highlight=False,
        _environ={},
    )


def render(
    m: Metrics,
    now: float,
    *,
    width: int,
    height: int,
    fmt: Format,
    stopped: str | None = None,
    view: ViewState | None = None,
    record: Record | None = None,
    end: float | None = None,
) -> str:
    """The snapshot document for ``m`` at ``now`` (``stopped``: why a viewer stopped there),
    of the overview or of ``view`` drawn from ``record`` (what the store said for it;
    ``end``: a replay's end, which its timeline covers)."""
    view = view or ViewState()
    record = record or Record()
    if fmt == "json":
        return to_json(m, now, view, record)
    console = capture_console(width, height, color=fmt != "text")
    from replay.core.views.postmortem import page  # here: ``stats --json`` draws nothing

    layout = page(view, m, now, record, stopped=stopped, end=end)
    if fmt == "svg":
        lines = console.render_lines(layout, console.options.update(height=height))
        return svg_document(lines, width=width, title="runreel", unique_id=SVG_ID)
    console.print(layout, height=height)
    if fmt == "text":
        return console.export_text(styles=False)
    if fmt == "ansi":
        return console.export_text(styles=True)
    return console.export_html(inline_styles=True, code_format=HTML_FORMAT)


def _over_time(m: Metrics, now: float) -> dict[str, Any]:
    """The run over time up to ``now``: per bucket, tasks ended, failed and in flight."""
    used = m.series_used(now)
    return {
        "bucket_s": m.series_width,
        "ended": m.series_done[:used],
        "failed": m.series_failed[:used],
        "in_flight": m.series_busy[:used],
    }


def to_dict(m: Metrics, now: float) -> dict[str, Any]:
    """The folded metrics at ``now`` as plain data (the JSON snapshot and ``stats --json``)."""
    start = m.first_t or 0.0
    return {
        "run": m.run,
        "name": m.name,
        "meta": m.meta,
        "at": {"t": now, "elapsed": round(m.elapsed(now), 6)},
        "state": {
            "finished": m.finished,
            "status": m.status or None,
            "exit_status": m.exit_status,
            "exit_code": exitcodes.for_metrics(m),
        },
        "tasks": {
            "total": m.total,
            "started": m.started,
            "succeeded": m.succeeded,
            "failed": m.failed,
            "skipped": m.skipped,
            "processed": m.processed,
            "remaining": m.remaining,
            "in_flight": len(m.in_flight),
            "retries": m.retries,
            "status_text": m.status_text,
        },
        "rate_per_s": round(m.rate(now), 6),
        "eta_s": _num(m.eta(now)),
        "duration_s": {
            q: _num(m.duration_percentile(v))
            for q, v in (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))
        }
        | {"max": round(m.max_duration, 6) if m.processed else None},
        "series": _over_time(m, now),
        "events": {
            "count": m.events,
            "first_t": m.first_t,
            "last_t": m.last_t,
            "unknown": dict(m.unknown_events),
            "gaps": m.gap_count,
            "lost": m.lost_events,
        },
        "in_flight": [
            {
                "task": f.task,
                "worker": f.worker,
                "attempt": f.attempt,
                "state": f.state,
                "retry_in_s": round(f.retry_at - now, 6) if f.state == "backoff" else None,
            }
            for f in sorted(m.in_flight.values(), key=lambda f: f.task)
        ],
        "workers": {
            name: {
                "state": w.state,
                "task": w.task,
                "succeeded": w.succeeded,
                "failed": w.failed,
                "retries": w.retries,
            }
            for name, w in sorted(m.workers.items())
        },
        "recent_errors": [
            {
                "elapsed": round(e.t - start, 6),
                "task": e.task,
                "worker": e.worker,
                "error": e.error,
                "final": e.final,
            }
            for e in m.recent_errors
        ],
        "marks": [{"elapsed": round(t - start, 6), "label": label} for t, label in m.marks],
        "counters": _series(m.counters),
        "gauges": _series(m.gauges),
    }


def to_json(
    m: Metrics, now: float, view: ViewState | None = None, record: Record | None = None
) -> str:
    """Stable JSON: sorted keys, two-space indent, trailing newline; a view other than the
    overview adds what it shows under ``view``."""
    data = to_dict(m, now)
    if view is not None and view.view != "overview" and record is not None:
        data["view"] = {"name": view.view, "state": view, "record": record}
    raw = msgspec.json.encode(data, order="sorted")
    return msgspec.json.format(raw, indent=2).decode().translate(_JSON_ESCAPES) + "\n"


def _series(values: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> list[dict[str, Any]]:
    return [
        {"name": name, "labels": dict(labels), "value": value}
        for (name, labels), value in sorted(values.items())
    ]


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 6)
