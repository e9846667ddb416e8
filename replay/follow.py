"""Following a growing log: what was appended since the last poll, and what happened to the file.

A partial last line is held until its newline arrives. Truncation, replacement
(rotation) and deletion are noticed and described, never fatal: after a
truncation or replacement the caller starts its fold over (``Poll.reset``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol

from recorder.errors import LogUnavailable
from replay.source import CHUNK, Batch, ReadReport, check_first_line, decode_complete, open_log

MAX_PER_POLL = 16 * CHUNK  # keep the screen responsive while catching up on a big log


@dataclass
class Poll:
    """The result of one poll: new events, and whether the fold must start over first."""

    events: Batch = field(default_factory=list)
    reset: bool = False


class FollowSource(Protocol):
    """What a live view needs from a follower: ``Follower`` (a file) or
    ``replay.backends.redis_follow.RedisFollower`` (a Redis stream)."""

    path: str
    notice: str | None
    appeared: bool
    report: ReadReport

    @property
    def pending_bytes(self) -> int: ...

    def poll(self) -> Poll: ...
    def close(self) -> None: ...


class Follower:
    """Reads a log incrementally; ``poll()`` never blocks and never raises for file changes."""

    def __init__(self, path: str, *, lenient: bool = False) -> None:
        self.path = path
        self.lenient = lenient
        self.report = ReadReport(path)
        self.notice: str | None = f"waiting for {path} to appear"
        self.appeared = False
        self._fd: int | None = None
        self._ino = 0
        self._offset = 0
        self._pending = b""
        self._first = True
        self._head = b""  # the first line read: a log truncated and rewritten starts otherwise

    @property
    def pending_bytes(self) -> int:
        """Bytes of a last line whose newline has not arrived yet."""
        return len(self._pending)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def poll(self) -> Poll:
        """Events appended since the last poll (raises LogInvalid for a bad line)."""
        if self._fd is None and not self._open():
            return Poll()
        result = Poll()
        try:
            path_ino: int | None = os.stat(self.path).st_ino
        except OSError:
            path_ino = None
        if path_ino is None:
            self.notice = f"log deleted, showing what it held: {self.path}"
        elif path_ino != self._ino:
            self.close()
            self._restart()
            result.reset = True  # what the old file held is no longer at this path
            if not self._open():
                self.notice = f"log replaced by something that cannot be read: {self.path}"
                return result
            self.notice = f"log replaced (rotated), started over: {self.path}"
        assert self._fd is not None
        if os.fstat(self._fd).st_size < self._offset or not self._same_head():
            self._restart()
            os.lseek(self._fd, 0, os.SEEK_SET)
            self.notice = f"log truncated, started over: {self.path}"
            result.reset = True
        result.events = self._read_new()
        return result

    def _open(self) -> bool:
        try:
            self._fd = open_log(self.path)
        except LogUnavailable:
            return False
        self._ino = os.fstat(self._fd).st_ino
        self.appeared = True
        self.notice = None
        return True

    def _restart(self) -> None:
        self._offset = 0
        self._pending = b""
        self._first = True
        self._head = b""
        self.report = ReadReport(self.path)

    def _same_head(self) -> bool:
        """Whether the file still starts with the line it started with (it may have been
        truncated and rewritten past our offset between two polls)."""
        assert self._fd is not None
        return not self._head or os.pread(self._fd, len(self._head), 0) == self._head

    def _read_new(self) -> Batch:
        assert self._fd is not None
        parts = [self._pending]
        got = 0
        while got < MAX_PER_POLL:
            data = os.read(self._fd, CHUNK)
            if not data:
                break
            parts.append(data)
            got += len(data)
        self._offset += got
        buf = b"".join(parts)
        cut = buf.rfind(b"\n") + 1
        complete, self._pending = buf[:cut], buf[cut:]
        if not complete:
            return []
        if self._first:  # until the first line that is not blank: it must be run_started
            self._head = self._head or complete[: complete.find(b"\n") + 1]
            self._first = not check_first_line(complete, self.path, self.report.lines + 1)
        return decode_complete(complete, self.path, self.report, self.lenient)
