"""Where a Recorder's lines go: a log file (``file``) or a Redis stream (``redis``).

The Recorder stamps and encodes each event; a sink only stores the line. A sink says
what a failure left behind by the error it raises, since that decides the writer's
``seq``: ``Unwritten`` (nothing of the line was stored: the seq is used again),
``Broken`` (the sink closed itself: so does the Recorder), or plain ``WriteFailed``
(the line may have been stored: the seq stays used, and readers see a gap if it was not).
"""

from __future__ import annotations

from typing import Protocol

from recorder.errors import WriteFailed


class Unwritten(WriteFailed):
    """Nothing of the line is in the log, so its seq can be used again."""


class Broken(WriteFailed):
    """The sink cannot take more lines and has closed itself."""


class Sink(Protocol):
    """What the Recorder needs of a place to append lines; it calls it under its lock."""

    warning: str | None
    """What opening found that readers should be told (the Recorder logs it as a warning)."""

    def write(self, line: bytearray) -> None:
        """Append one encoded line, ending in a newline, whole; raise WriteFailed otherwise."""
        ...

    def close(self) -> None:
        """Make what was written as durable as the sink promises, and let go of it."""
        ...
