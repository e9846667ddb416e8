"""Text helpers shared by views, outputs and messages: untrusted log text made harmless,
durations and counts written for people.

Text from a log is untrusted: it enters output only after ``safe()`` (or as ``lit()``,
a Rich ``Text`` that is never parsed as markup), so its control characters cannot act
on the terminal that shows it.
"""

from __future__ import annotations

from rich.text import Text

MAX_FIELD = 300  # characters of one log string shown; the rest is summarised


def _control_table() -> dict[int, str]:
    table: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A)}
    table[0x7F] = "\u2421"  # ␡
    table.update({c: f"<{c:02X}>" for c in range(0x80, 0xA0)})  # C1 controls
    for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C):
        table[c] = f"<U+{c:04X}>"  # bidi controls: no reordering of what follows
    return table


_CONTROLS = _control_table()
_CONTROLS_ONE_LINE = {**_CONTROLS, 0x0A: "\u240a", 0x09: " "}


def safe(value: str, *, one_line: bool = True, limit: int = MAX_FIELD) -> str:
    """Log text made harmless and visible: controls become symbols, long text is cut."""
    if len(value) > limit:
        value = f"{value[:limit]}… (+{len(value) - limit} chars)"
    return value.translate(_CONTROLS_ONE_LINE if one_line else _CONTROLS)


MAIN_WORKER = "(main)"


def worker_name(name: str, *, limit: int = MAX_FIELD) -> str:
    """A worker's name for people. The empty name (a run without workers, e.g. pytest
    without xdist) reads ``(main)`` in every view and command; JSON keeps the raw value."""
    return safe(name, limit=limit) if name else MAIN_WORKER


def lit(value: str, style: str = "", **kwargs: object) -> Text:
    """A Text holding log text literally (never parsed as markup)."""
    return Text(safe(value), style=style, **kwargs)  # type: ignore[arg-type]


def hms(seconds: float | None) -> str:
    """A duration as H:MM:SS or MM:SS; ``--:--`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0 or seconds > 360000 * 24:
        return "--:--"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def short(seconds: float) -> str:
    """A compact duration: 0.4s, 12s, 3m05s."""
    if seconds < 10:
        return f"{max(seconds, 0.0):.1f}s"
    if seconds < 60:
        return f"{int(seconds)}s"
    m, s = divmod(int(seconds), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def plural(n: int, noun: str, *, grouped: bool = False) -> str:
    """``1 problem``, ``2 problems``: counts in messages read as English (``grouped``:
    ``1,000,000 events``, as --at's messages write big counts)."""
    number = f"{n:,}" if grouped else f"{n}"
    return f"{number} {noun}{'' if n == 1 else 's'}"
