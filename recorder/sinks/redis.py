"""The Recorder's Redis stream sink: one XADD per event (a pipeline of them per batch with
``linger``), retried through a lost connection.

The writer stamps ``seq`` before sending, so an event that could not be delivered
shows to every reader as a seq gap of its writer; the Recorder also raises
WriteFailed naming it. While the server cannot be reached, each event is retried
with exponential backoff until the outage has lasted ``retry_for`` seconds (the URL
option, default 30); after that, events fail at once until the server answers again.

Before sending an event again after a broken connection, the sink looks for it among
the stream's last entries: an XADD that reached the server but whose reply was lost
is not appended twice. (Past that window a repeat would show as a repeated seq.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import msgspec

from recorder.errors import LogExists, WriteFailed
from recorder.location import parse
from recorder.redis_stream import Refused, Stream, Unreachable

FIRST_BACKOFF = 0.05  # seconds
MAX_BACKOFF = 1.0
LOOKBACK = 1000  # entries searched for an event whose reply was lost

T = TypeVar("T")


class RedisSink:
    """Appends lines to the Redis stream at ``location`` for a Recorder.

    ``start``: the first line written starts the stream, which must not exist yet
    (``overwrite``: it is deleted first). Otherwise the stream must exist (attach).
    """

    warning: str | None = None  # a stream has no torn lines to report

    def __init__(
        self,
        location: str,
        *,
        start: bool,
        overwrite: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.location = parse(location)
        self.retry_for = self.location.retry_for
        self._sleep, self._clock = sleep, clock
        self._stream = Stream(self.location, retry=False)
        self._first: str | None = ("replace" if overwrite else "create") if start else None
        self._down_since: float | None = None
        self._backoff = FIRST_BACKOFF
        self._unsure = False  # a batch broke off midway: some of it may have landed
        if not start and not self._retrying(self._stream.exists, "attach to"):
            self.close()
            raise WriteFailed(
                f"cannot attach to {self.location}: no such stream (start the run first)"
            )

    def write(self, line: bytes | bytearray) -> None:
        """Append one encoded line (its newline is not stored); WriteFailed when it could not.

        A batch of lines (``linger``) goes in one pipelined round trip, in order."""
        if line.count(b"\n") > 1:
            self._write_batch(bytes(line).split(b"\n")[:-1])
            return
        data = bytes(line[:-1] if line.endswith(b"\n") else line)
        try:
            if self._first is None:
                self._send(data, self._stream.add)
                return
            created = self._send(
                data, lambda d: self._stream.create(d, replace=self._first == "replace")
            )
        except WriteFailed as exc:
            raise WriteFailed(f"{exc}; {_describe(data)} was not delivered") from exc.__cause__
        if not created:
            raise LogExists(str(self.location))
        self._first = None

    def _write_batch(self, lines: list[bytes]) -> None:
        """XADD every line, pipelined; after a broken connection, the lines that landed
        (a prefix: a pipeline runs in order) are not sent again."""
        if self._first is not None:
            self.write(lines[0] + b"\n")  # the run's first line starts the stream
            lines = lines[1:]
        sent = 0

        def once() -> int:
            nonlocal sent
            if self._unsure:  # an earlier try broke off: skip what reached the server
                sent += self._landed_prefix(lines[sent:])
                self._unsure = False
            self._unsure = True
            self._stream.add_many(lines[sent:])
            self._unsure = False
            sent = len(lines)
            return sent

        try:
            self._retrying(once, "write to")
        except WriteFailed as exc:
            raise WriteFailed(
                f"{exc}; {len(lines) - sent} events of a batch were not delivered yet "
                "(they stay buffered and go with the next batch)"
            ) from exc.__cause__

    def _landed_prefix(self, lines: list[bytes]) -> int:
        """How many of ``lines``, from the first, are among the stream's last entries."""
        seen = {fields.get(b"line") for _, fields in self._stream.last(max(LOOKBACK, len(lines)))}
        for i in range(len(lines), 0, -1):
            if lines[i - 1] in seen:
                return i
        return 0

    def close(self) -> None:
        self._stream.close()

    def _send(self, data: bytes, send: Callable[[bytes], T]) -> T | bool:
        """``send(data)``, retried; True without sending when a lost reply had landed."""
        resend = False

        def once() -> T | bool:
            nonlocal resend
            if (resend or self._unsure) and self._landed(data):
                self._unsure = False
                return True
            resend = self._unsure = True  # until the reply comes: it may land unanswered
            sent = send(data)
            self._unsure = False
            return sent

        return self._retrying(once, "write to")

    def _landed(self, data: bytes) -> bool:
        return any(fields.get(b"line") == data for _, fields in self._stream.last(LOOKBACK))

    def _retrying(self, call: Callable[[], T], doing: str) -> T:
        while True:
            try:
                result = call()
            except Unreachable as exc:
                self._wait(exc, doing)
                continue
            except Refused as exc:
                raise WriteFailed(f"cannot {doing} {self.location}: {exc}") from exc
            self._down_since = None
            self._backoff = FIRST_BACKOFF
            return result

    def _wait(self, exc: Unreachable, doing: str) -> None:
        now = self._clock()
        if self._down_since is None:
            self._down_since = now
        left = self._down_since + self.retry_for - now
        if left <= 0:
            raise WriteFailed(
                f"cannot {doing} {self.location}: {exc} (unreachable for "
                f"{now - self._down_since:.3g} s; retry_for={self.retry_for:g})"
            ) from exc
        self._sleep(min(self._backoff, left))
        self._backoff = min(self._backoff * 2, MAX_BACKOFF)


def _describe(data: bytes) -> str:
    """Says which event a line holds ("event seq 7 (task_failed) of writer SRC"), if it can."""
    try:
        fields = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return "an event"
    if not isinstance(fields, dict):
        return "an event"
    return f"event seq {fields.get('seq')} ({fields.get('type')}) of writer {fields.get('src')}"
