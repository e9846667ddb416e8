"""Exporters: runreel's view of a log in formats other tools read.

``asciicast``: the replay as an asciicast v2 recording (asciinema and its web player);
``openmetrics``: the folded metrics at a position in the OpenMetrics text format.
"""

from __future__ import annotations

FORMATS: tuple[str, ...] = ("asciicast", "openmetrics")
EXTENSIONS: dict[str, str] = {
    ".cast": "asciicast",
    ".om": "openmetrics",
    ".prom": "openmetrics",
    ".openmetrics": "openmetrics",
}
