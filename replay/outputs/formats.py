"""Output formats: each one's name, the file extensions that ask for it, and its writer.

Snapshot formats draw the dashboard at one position (``runreel snapshot``, ``check``,
goldens, ``--snapshot`` of the viewers); export formats give a log to other tools
(``runreel export``). Adding a format: write its writer, add its row here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from replay.outputs.asciicast import asciicast
from replay.outputs.junit import junit
from replay.outputs.openmetrics import openmetrics
from replay.outputs.snapshot import render

Format = Literal["text", "ansi", "svg", "html", "json"]  # a snapshot format
Export = Literal["asciicast", "openmetrics", "junit"]


@dataclass(frozen=True)
class Output:
    """One format: its name, its extensions (the first names new files) and its writer."""

    name: str
    extensions: tuple[str, ...]
    writer: Callable[..., object]


SNAPSHOTS: dict[Format, Output] = {
    "text": Output("text", (".txt", ".text"), render),
    "ansi": Output("ansi", (".ansi",), render),
    "svg": Output("svg", (".svg",), render),
    "html": Output("html", (".html", ".htm"), render),
    "json": Output("json", (".json",), render),
}
EXPORTS: dict[Export, Output] = {
    "asciicast": Output("asciicast", (".cast",), asciicast),
    "openmetrics": Output("openmetrics", (".om", ".prom", ".openmetrics"), openmetrics),
    "junit": Output("junit", (".xml",), junit),
}

FORMATS: tuple[Format, ...] = tuple(SNAPSHOTS)
EXPORT_FORMATS: tuple[Export, ...] = tuple(EXPORTS)
EXTENSIONS: dict[str, Format] = {x: f for f, o in SNAPSHOTS.items() for x in o.extensions}
EXPORT_EXTENSIONS: dict[str, Export] = {x: f for f, o in EXPORTS.items() for x in o.extensions}


def extension(fmt: Format) -> str:
    """The extension a new file of snapshot format ``fmt`` gets."""
    return SNAPSHOTS[fmt].extensions[0]


def format_for_path(path: str, default: Format = "text") -> Format:
    """The snapshot format a file name asks for by its extension."""
    return EXTENSIONS.get(_extension_of(path), default)


def export_for_path(path: str) -> Export | None:
    """The export format a file name asks for by its extension, if any."""
    return EXPORT_EXTENSIONS.get(_extension_of(path))


def _extension_of(path: str) -> str:
    return os.path.splitext(path)[1].lower()
