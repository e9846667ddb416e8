"""Where the Recorder puts an encoded event: the log file itself, the sink, or the batch.

A base class of Recorder (recorder/writer.py), which sets these attributes; its two hot
methods repeat ``_place``'s lines inline.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NoReturn

from recorder import batch
from recorder.codec import encode_struct_into
from recorder.errors import WriteFailed
from recorder.events import Event
from recorder.sinks import Broken, Unwritten
from recorder.sinks.file import FileSink


class Placing:
    """The Recorder's delivery of lines, and what a failed write means for its seq."""

    path: str
    _fd: int  # the log file's descriptor when the hot path writes to it (else -1)
    _file: FileSink | None
    _buf: bytearray
    _batch: batch.Batch | None
    _room: int
    _put: Callable[[bytearray], None]
    _closed: bool
    _seq: int

    def _place(self, event: Event) -> None:
        """Write ``event``'s line, or add it to the open batch (lock held; raises, seq unused)."""
        fd = self._fd
        if fd >= 0:  # unbatched, to a file: one os.write of the line
            line = self._buf
            encode_struct_into(event, line, 0)  # offset 0: replaces the last line
            line += b"\n"
            try:
                written = os.write(fd, line)
            except OSError as exc:
                self._file_failed(line, exc)
            if written != len(line):
                self._file_failed(line, written)
            return
        self._put_line(event)  # with linger: encoded now, so a bad text raises at the call

    def _put_line(self, event: Event) -> None:
        """One line to the sink (a stream, a file that syncs) or to the batch (which opens,
        writes or retries it), or refused (closed)."""
        if self._closed:
            self._refuse()
        try:
            if self._batch is not None:
                self._room = self._batch.add(event)
            else:
                line = self._buf
                encode_struct_into(event, line, 0)
                line += b"\n"
                self._put(line)
        except WriteFailed as exc:
            self._write_failed(exc)
            raise

    def _file_failed(self, line: bytearray, outcome: int | OSError) -> NoReturn:
        """A write to the file failed or was short: the sink says what that left."""
        assert self._file is not None
        try:
            self._file.failed(line, outcome)
        except WriteFailed as exc:
            self._write_failed(exc)
            raise

    def _refuse(self) -> NoReturn:
        raise Unwritten(f"{self.path}: recorder is closed")

    def _stop_writing(self) -> None:
        """Closed: every later event is refused (the hot path checks nothing else)."""
        self._closed = True
        self._room = 0
        self._fd = -1

    def _write_failed(self, exc: WriteFailed) -> None:
        """What a failed write means for the seq (recorder/sinks/__init__.py)."""
        if isinstance(exc, Broken):
            self._stop_writing()  # the seq is free, and no later event can use it
        elif not isinstance(exc, Unwritten):
            self._seq += 1  # the line may be in the log: its seq stays used
