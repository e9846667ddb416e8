"""runreel's write side and model: event types, the log codec, the Recorder, the fold."""

from recorder.errors import LogExists, LogInvalid, LogUnavailable, RunreelError, WriteFailed
from recorder.events import FORMAT_VERSION
from recorder.fold import Metrics, apply, fold
from recorder.writer import ENV_VAR, Recorder

__all__ = [
    "ENV_VAR",
    "FORMAT_VERSION",
    "LogExists",
    "LogInvalid",
    "LogUnavailable",
    "Metrics",
    "Recorder",
    "RunreelError",
    "WriteFailed",
    "apply",
    "fold",
]
