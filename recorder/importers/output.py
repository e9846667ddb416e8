"""An import's output: the events as a runreel log, written atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from recorder import codec
from recorder.atomic import replacing
from recorder.errors import WriteFailed
from recorder.events import AnyEvent, RunFinished


@dataclass
class Written:
    """What ``write_log`` wrote."""

    events: int
    finished: bool


def write_log(
    path: str,
    events: Iterable[AnyEvent],
    *,
    force: bool = False,
    observe: Callable[[list[AnyEvent]], object] | None = None,
) -> Written:
    """Write the events as a runreel log, atomically: an error leaves no partial log.

    Refuses to replace a file that holds data unless ``force``. ``observe`` sees the
    events in batches as they are written (the CLI folds them: what the log reads back as).
    """
    if not force:
        close = getattr(events, "close", None)
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        if size > 0:
            if close is not None:
                close()
            raise WriteFailed(f"{path} already holds data; pass --force to replace it")
    count = 0
    last: AnyEvent | None = None
    try:
        with replacing(path) as out:
            buf = bytearray()
            append = codec.append
            batch: list[AnyEvent] = []
            for last in events:
                append(last, buf)
                count += 1
                if observe is not None:
                    batch.append(last)
                if len(buf) >= 1 << 20:
                    out.write(buf)
                    buf.clear()
                    if observe is not None:
                        observe(batch)
                        batch.clear()
            out.write(buf)
            if observe is not None:
                observe(batch)
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    return Written(count, isinstance(last, RunFinished))
