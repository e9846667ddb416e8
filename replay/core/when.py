"""WHEN: a position in a run, as users type it (``90``, ``1m30s``, ``01:30``, ``50%``,
``#1234``, ``mark:LABEL``, ``start``, ``end``)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["seconds", "percent", "event", "mark", "start", "end"]

_DURATION = re.compile(r"(?a)^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$", re.ASCII)
_INTEGER = re.compile(r"^\d+$", re.ASCII)
_CLOCK = re.compile(r"(?a)^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class When:
    """A parsed position; resolved against a log by ``replay.index.position``."""

    kind: Kind
    seconds: float = 0.0  # for "seconds" and "percent" (0..100)
    event: int = 0
    label: str = ""
    text: str = field(default="", compare=False, repr=False)  # as typed, for messages

    def __str__(self) -> str:
        if self.kind == "seconds":
            return f"{_exact(self.seconds)}s"
        if self.kind == "percent":
            return f"{_exact(self.seconds)}%"
        if self.kind == "event":
            return f"#{self.event}"
        if self.kind == "mark":
            return f"mark:{self.label}"
        return self.kind

    @property
    def typed(self) -> str:
        """The position as the user wrote it (for messages), else in canonical form."""
        return self.text or str(self)


def _exact(x: float) -> str:
    """A number as short as possible that still parses back to the same float."""
    text = repr(x)
    return text[:-2] if text.endswith(".0") else text


START = When("start")
END = When("end")


def parse_when(text: str) -> When:
    """Parse WHEN; raises ValueError with a message fit for the user."""
    when = _parse(text)
    return When(when.kind, when.seconds, when.event, when.label, text=text.strip())


def _parse(text: str) -> When:
    s = text.strip()
    if s in ("start", "end"):
        return When(s)  # type: ignore[arg-type]
    if s.startswith("mark:"):
        if not s[5:]:
            raise ValueError("mark: needs a label, e.g. mark:deploy")
        return When("mark", label=text.strip()[5:])
    if s.startswith("#"):
        if not _INTEGER.match(s[1:]) or int(s[1:]) < 1:  # str.isdigit takes any script
            raise ValueError(f"{text!r}: an event number is #N with N >= 1")
        return When("event", event=int(s[1:]))
    if s.endswith("%"):
        if not _NUMBER.match(s[:-1]):  # as _seconds: ASCII only; "50 %" is no number
            raise ValueError(f"{text!r}: a percentage is a number then %, e.g. 50%")
        pct = float(s[:-1])
        if not 0 <= pct <= 100:
            raise ValueError(f"{text!r}: a percentage is between 0% and 100%")
        return When("percent", seconds=pct)
    seconds = _seconds(s)
    if seconds is None:
        raise ValueError(
            f"{text!r} is not a position: use seconds (90, 90s, 1m30s, 01:30), "
            "a percentage (50%), an event number (#1234), mark:LABEL, start or end"
        )
    return When("seconds", seconds=seconds)


def _seconds(s: str) -> float | None:
    if _NUMBER.match(s):  # float() alone would take 1_0, 1e3 and other scripts' digits
        value = float(s)
        return value if math.isfinite(value) else None
    m = _CLOCK.match(s)
    if m:  # H:MM:SS or M:SS: a field after the first counts up to 59
        h, mins, secs = m.groups()
        if float(secs) >= 60 or (h is not None and int(mins) >= 60):
            return None
        return int(h or 0) * 3600 + int(mins) * 60 + float(secs)
    m = _DURATION.match(s)
    if m and any(m.groups()):
        h, mins, secs = (float(g) if g else None for g in m.groups())
        if (h is not None or mins is not None) and secs is not None and secs >= 60:
            return None  # 1m90s: a typo, not 2m30s
        if h is not None and mins is not None and mins >= 60:
            return None
        return (h or 0.0) * 3600 + (mins or 0.0) * 60 + (secs or 0.0)
    return None
