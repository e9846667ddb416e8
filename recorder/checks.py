"""The Recorder's argument checks: values every reader takes, refused at the call otherwise."""

from __future__ import annotations

import math
import operator


def finite(value: float, what: str) -> float:
    """``value`` as a float, refusing NaN and infinities (JSON has no way to write them)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, not {number!r}")
    return number


def count(total: int | None) -> int | None:
    """A planned task count as readers take it: None (not known) or a whole number >= 0."""
    if total is None:
        return None
    number = operator.index(total)  # TypeError for 5.0 or "5": the format has integers
    if number < 0:
        raise ValueError(f"total must be 0 or more, not {number}")
    return number


def linger_seconds(linger: float | None) -> float | None:
    """``linger`` as seconds > 0, or None (no batching)."""
    if linger is None:
        return None
    seconds = finite(linger, "linger")
    if seconds <= 0:
        raise ValueError(f"linger must be more than 0 seconds (or None), not {seconds!r}")
    return seconds


def attempt_number(attempt: int) -> int:
    """An attempt number as readers take it: attempts count from 1."""
    number = operator.index(attempt)
    if number < 1:
        raise ValueError(f"attempt must be 1 or more, not {number}")
    return number
