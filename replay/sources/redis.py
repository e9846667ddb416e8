"""Following a Redis stream: what was added since the last poll, as ``replay.sources.follow`` does
for a file.

Each poll is one XREAD that waits at most ``block`` seconds, so a new entry shows at
once and the viewer stays responsive. A server that cannot be reached (never yet, or
no longer) is a notice on screen naming the reason, retried about once a second, never
an error; ``unreachable`` keeps the reason, for a view that ends before the server
answers to say why nothing appeared. Each poll also reads the stream's first
entry: a stream deleted is noticed (what it held stays on screen), a stream replaced
by another run starts the fold over (``Poll.reset``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from recorder.errors import LogUnavailable
from recorder.location import RedisLocation
from recorder.redis_stream import Entry, Refused, Stream, Unreachable
from replay.sources.archive import entries_lines, entry_line
from replay.sources.file import Batch, ReadReport, check_first_line, decode_complete
from replay.sources.follow import Poll

MAX_PER_POLL = 10_000  # entries: keep the screen responsive while catching up
RETRY_EVERY = 1.0  # seconds between attempts to reach a server that went away
START = "0-0"


class RedisFollower:
    """Reads a stream incrementally; ``poll()`` waits at most ``block`` seconds and never
    raises for a lost connection or a stream deleted or replaced."""

    def __init__(
        self,
        location: RedisLocation,
        *,
        lenient: bool = False,
        block: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.location = location
        self.path = str(location)
        self.lenient = lenient
        self.report = ReadReport(self.path)
        self.notice: str | None = f"waiting for {self.path} to appear"
        self.appeared = False
        self._block_ms = max(int(block * 1000), 1)
        self._clock = clock
        # A dead server must not freeze the screen for long: short timeouts, no hidden retries.
        self._stream = Stream(
            location, retry=False, socket_connect_timeout=1.0, socket_timeout=block + 2.0
        )
        self._after = START
        self._head: Entry | None = None
        self._retry_at = 0.0
        self._connected = False  # the server has answered at least once
        self.unreachable: str | None = None  # why the server cannot be reached, while it cannot

    @property
    def pending_bytes(self) -> int:
        """Always 0: a stream entry arrives whole."""
        return 0

    def close(self) -> None:
        self._stream.close()

    def poll(self) -> Poll:
        """Entries added since the last poll (raises LogInvalid for a bad line)."""
        now = self._clock()
        if now < self._retry_at:
            return Poll()
        result = Poll()
        try:
            # The first entry, read right after: the stream may be deleted or replaced
            # by another run between two polls, and entries past ours may be its.
            entries, first = self._stream.read_and_first(self._after, MAX_PER_POLL, self._block_ms)
            if self._head is not None and first is None:
                self.notice = f"stream deleted, showing what it held: {self.path}"
            elif self._head is not None and first is not None and not _same(first, self._head):
                self._after, self._head = START, None
                self.report = ReadReport(self.path)
                self.notice = f"stream replaced, started over: {self.path}"
                result.reset = True
                entries = self._stream.read(START, MAX_PER_POLL, None)
        except Unreachable as exc:
            self._retry_at = now + RETRY_EVERY
            doing = "reach" if self._connected else "connect to"
            self.unreachable = f"cannot {doing} {self.path}: {exc}"
            self.notice = f"{self.unreachable} (retrying)"
            return result
        except Refused as exc:
            raise LogUnavailable(f"cannot read {self.path}: {exc}") from None
        self._connected = True
        if self.unreachable is not None:
            self.unreachable = None
            self.notice = None if self.appeared else f"waiting for {self.path} to appear"
        if entries:
            result.events = self._decode(entries)
        return result

    def _decode(self, entries: list[Entry]) -> Batch:
        chunk = entries_lines(entries)
        self._after = entries[-1][0].decode()
        if self._head is None:
            self._head = entries[0]
            self.appeared = True
            if self.notice == f"waiting for {self.path} to appear":
                self.notice = None
            check_first_line(chunk, self.path, self.report.lines + 1)
        return decode_complete(chunk, self.path, self.report, self.lenient)


def _same(a: Entry, b: Entry) -> bool:
    return a[0] == b[0] and entry_line(*a) == entry_line(*b)
