"""Times in other tools' reports as Unix seconds, and the timeline of inputs without any."""

from __future__ import annotations

import calendar
import re

# Inputs without times get a synthetic timeline that starts here: 2000-01-01T00:00:00Z,
# a moment no real CI run of today has, so a replay shows plainly that times are made up.
SYNTHETIC_EPOCH = 946684800.0

_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d\d(?::?\d\d)?)?$"
)
_epoch_cache: dict[str, float] = {}
_POW10: tuple[int, ...] = tuple(10**i for i in range(10))


def parse_time(text: str) -> float | None:
    """An ISO 8601 / RFC 3339 time as Unix seconds; None when it is not one.

    Times without a zone are taken as UTC, so the result never depends on the machine's TZ.
    """
    m = _ISO.match(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        base = calendar.timegm(
            (int(year), int(month), int(day), int(hour), int(minute), int(second or 0), 0, 0, 0)
        )
    except (ValueError, OverflowError):
        return None
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31 and int(hour) < 24):
        return None
    value = float(base)
    if frac:
        value += int(frac[:9]) / _POW10[len(frac[:9])]
    return value - _offset(zone)


def _offset(zone: str | None) -> int:
    if not zone or zone in "Zz":
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)


def parse_rfc3339(text: str) -> float | None:
    """RFC 3339 with up to nanoseconds (go's ``Time``), fast for the common shape."""
    # "2022-06-19T13:44:44.859704199-04:00": the second is cached, the rest is arithmetic.
    n = len(text)
    if n >= 20 and text[-1] in "Zz":
        zone_at = n - 1
    elif n >= 25 and text[-3] == ":" and text[-6] in "+-":
        zone_at = n - 6
    else:
        return parse_time(text)
    key = text[:19] + text[zone_at:]
    base = _epoch_cache.get(key)
    if base is None:
        parsed = parse_time(key)
        if parsed is None:
            return parse_time(text)
        if len(_epoch_cache) > 100_000:
            _epoch_cache.clear()
        base = _epoch_cache[key] = parsed
    if zone_at > 20 and text[19] == ".":
        digits = text[20:zone_at][:9]
        if digits.isdigit():
            return base + int(digits) / _POW10[len(digits)]
        return parse_time(text)
    return base if zone_at == 19 else parse_time(text)
