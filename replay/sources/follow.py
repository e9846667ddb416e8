"""Following a growing log: what was appended since the last poll, and what happened to the file.

A partial last line is held until its newline arrives. Truncation, replacement
(rotation) and deletion are noticed and described, never fatal. After a replacement,
or a truncation followed by a new run, the caller starts its fold over (``Poll.reset``).
A truncation followed by more of the same run (logrotate's copytruncate: the writer
goes on appending to the emptied file) continues the fold instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol

from recorder import codec
from recorder.codec import BadLine
from recorder.errors import LogUnavailable
from recorder.events import RunStarted
from replay.sources.file import (
    CHUNK,
    Batch,
    ReadReport,
    check_first_line,
    decode_complete,
    open_log,
)

MAX_PER_POLL = 16 * CHUNK  # keep the screen responsive while catching up on a big log


@dataclass
class Poll:
    """The result of one poll: new events, and whether the fold must start over first."""

    events: Batch = field(default_factory=list)
    reset: bool = False
    more: bool = False  # the poll stopped at MAX_PER_POLL: the file holds more already


class FollowSource(Protocol):
    """What a live view needs from a follower: ``Follower`` (a file) or
    ``replay.sources.redis.RedisFollower`` (a Redis stream)."""

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
        # "truncated" or "replaced (rotated)", until the first line after it says what follows
        self._cut: str | None = None
        self._more = False

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
            st = os.stat(self.path)
            path_ino: int | None = st.st_ino
            path_empty = st.st_size == 0
        except OSError:
            path_ino, path_empty = None, True
        if path_ino is None:
            self.notice = f"log moved or deleted, still following the file it was: {self.path}"
        elif path_ino != self._ino and path_empty:
            # Renamed and a new empty file put in its place (logrotate's "create"): the
            # writer may go on in the old file until it reopens the path.
            self.notice = (
                f"log rotated, following the old file until the new one has lines: {self.path}"
            )
        elif path_ino != self._ino:
            self.close()
            self._restart()
            if not self._open():
                result.reset = True  # what the old file held is no longer at this path
                self.notice = f"log replaced by something that cannot be read: {self.path}"
                return result
            self._cut = "replaced (rotated)"
            self.notice = f"log replaced (rotated), waiting for what follows: {self.path}"
        assert self._fd is not None
        if os.fstat(self._fd).st_size < self._offset or not self._same_head():
            self._restart()
            os.lseek(self._fd, 0, os.SEEK_SET)
            self._cut = "truncated"
            self.notice = f"log truncated, waiting for what follows: {self.path}"
        result.events, new_run = self._read_new()
        result.reset = result.reset or new_run
        result.more = self._more
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

    def _read_new(self) -> tuple[Batch, bool]:
        """New events, and whether they begin a new run after a truncation."""
        assert self._fd is not None
        parts = [self._pending]
        got = 0
        self._more = False
        while True:
            if got >= MAX_PER_POLL:
                self._more = True
                break
            data = os.read(self._fd, CHUNK)
            if not data:
                break
            parts.append(data)
            got += len(data)
        self._offset += got
        buf = b"".join(parts)
        cut = buf.rfind(b"\n") + 1
        complete, self._pending = buf[:cut], buf[cut:]
        self.report.offset += cut  # where the next line starts: a reader can resume there
        if not complete:
            return [], False
        new_run = False
        if self._first and self._cut is not None:
            starts = _starts_a_run(complete)
            if starts is not None:
                what, self._cut = self._cut, None
                new_run = starts
                self.notice = (
                    f"log {what}, a new run started: {self.path}"
                    if starts
                    else f"log {what}, the same run goes on: {self.path}"
                )
                if not starts:  # no run_started to check: the same run, continued
                    self._first = False
                    self._head = complete[: complete.find(b"\n") + 1]
        if self._first:  # until the first line that is not blank: it must be run_started
            self._head = self._head or complete[: complete.find(b"\n") + 1]
            self._first = not check_first_line(complete, self.path, self.report.lines + 1)
        return decode_complete(complete, self.path, self.report, self.lenient), new_run


def _starts_a_run(complete: bytes) -> bool | None:
    """Whether the first non-blank line is a run_started (None: every line is blank)."""
    body = complete.lstrip()
    if not body:
        return None
    try:
        return isinstance(codec.decode_line(body.split(b"\n", 1)[0]), RunStarted)
    except BadLine:
        return False  # not a new run's first line; reading it reports what is wrong
