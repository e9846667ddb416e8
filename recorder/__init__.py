"""runreel's write side: event types, the log codec, the Recorder and its sinks, importers.

The names below load on first use, so that importing a submodule (the pytest plugin, an
importer) does not pull in the writer.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recorder.errors import LogExists, LogInvalid, LogUnavailable, RunreelError, WriteFailed
    from recorder.events import FORMAT_VERSION
    from recorder.writer import ENV_VAR, Recorder

_HOMES = {
    "ENV_VAR": "recorder.writer",
    "FORMAT_VERSION": "recorder.events",
    "LogExists": "recorder.errors",
    "LogInvalid": "recorder.errors",
    "LogUnavailable": "recorder.errors",
    "Recorder": "recorder.writer",
    "RunreelError": "recorder.errors",
    "WriteFailed": "recorder.errors",
}

__all__ = [
    "ENV_VAR",
    "FORMAT_VERSION",
    "LogExists",
    "LogInvalid",
    "LogUnavailable",
    "Recorder",
    "RunreelError",
    "WriteFailed",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'recorder' has no attribute {name!r}")
    return getattr(import_module(home), name)
