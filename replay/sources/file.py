"""Reading logs: complete lines in big chunks, in constant memory, with honest reports.

A torn final line (no newline yet) is reported and never parsed; everything before
it is kept. A bad line in the middle raises LogInvalid with file:line and reason,
or is skipped and counted when ``lenient``. A stream's local copy is read as a file
and named by its stream (``recorder.location.StreamCopy``).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field

from recorder import codec
from recorder.codec import BadLine, Unknown
from recorder.errors import LogInvalid, LogUnavailable
from recorder.events import AnyEvent
from recorder.location import LogPath, line_of

CHUNK = 1 << 20
BOM = b"\xef\xbb\xbf"  # UTF-8's byte order mark, which some editors write
MAX_REPORTED = 20


@dataclass
class ReadReport:
    """What the reader saw besides events: torn tail, skipped lines."""

    path: LogPath
    lines: int = 0  # complete lines read, blank ones included
    offset: int = 0  # bytes of complete lines read: where the next line starts
    torn_line: int | None = None  # line number of an incomplete final line
    torn_bytes: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # first MAX_REPORTED
    skipped_count: int = 0

    def warnings(self) -> list[str]:
        """One line per thing the user should know about the file itself."""
        out = [f"{line_of(self.path, n)}: skipped: {reason}" for n, reason in self.skipped]
        if self.skipped_count > len(self.skipped):
            out.append(f"{self.path}: {self.skipped_count - len(self.skipped)} more lines skipped")
        if self.torn_line is not None:
            out.append(
                f"{line_of(self.path, self.torn_line)}: incomplete last line "
                f"({self.torn_bytes} bytes, no newline) ignored"
            )
        return out


Batch = list[AnyEvent | Unknown]


def open_log(path: LogPath) -> int:
    """A read descriptor for ``path``, or LogUnavailable with the reason."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise LogUnavailable(f"cannot open {path}: {exc.strerror or exc}") from None
    try:
        if os.path.isdir(path):
            raise LogUnavailable(f"cannot open {path}: it is a directory")
    except LogUnavailable:
        os.close(fd)
        raise
    return fd


def read_batches(
    path: LogPath, *, lenient: bool = False, report: ReadReport | None = None, chunk: int = CHUNK
) -> Iterator[Batch]:
    """Yield the log's events in file order, a chunk's worth at a time.

    To resume mid-file, pass a ``report`` whose ``offset`` (and ``lines``) say
    where a line starts; the first-line checks then do not apply.
    """
    report = report if report is not None else ReadReport(path)
    fd = open_log(path)
    try:
        if report.offset:
            os.lseek(fd, report.offset, os.SEEK_SET)
        yield from _batches(fd, path, lenient, report, chunk)
    finally:
        os.close(fd)


def _read(fd: int, size: int, path: LogPath) -> bytes:
    try:
        return os.read(fd, size)
    except OSError as exc:
        raise LogUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None


def _batches(
    fd: int, path: LogPath, lenient: bool, report: ReadReport, size: int
) -> Iterator[Batch]:
    chunks = iter(lambda: _read(fd, size, path), b"")
    first = yield from chunk_batches(chunks, path, lenient, report, first=report.offset == 0)
    if first and not report.torn_bytes:
        raise LogInvalid(path, None, "the log is empty (no run_started line)")
    if first:
        raise LogInvalid(path, report.lines + 1, "the log holds only an incomplete first line")


def chunk_batches(
    chunks: Iterable[bytes], path: LogPath, lenient: bool, report: ReadReport, *, first: bool
) -> Generator[Batch, None, bool]:
    """Whole lines of ``chunks`` decoded a chunk at a time (``report`` counts them; a torn
    last line is noted in it); returns True while the first line is still unchecked."""
    pending = b""
    for data in chunks:
        buf = pending + data if pending else data
        cut = buf.rfind(b"\n") + 1
        if cut == 0:
            pending = buf
            continue
        complete, pending = buf[:cut], buf[cut:]
        report.offset += cut
        if first:
            first = not check_first_line(complete, path, report.lines + 1)
        batch = decode_complete(complete, path, report, lenient)
        if batch:
            yield batch
    if pending:
        report.torn_line = report.lines + 1
        report.torn_bytes = len(pending)
    return first


def check_first_line(complete: bytes, path: LogPath, line_no: int) -> bool:
    """Check the first non-blank line of ``complete``; False when every line is blank."""
    body = complete.lstrip()
    if not body:
        return False
    blank = complete[: len(complete) - len(body)].count(b"\n")
    if body.startswith(BOM):
        reason = "the log starts with a byte order mark (BOM), which the format does not allow"
        raise LogInvalid(path, line_no + blank, f"{reason}; remove the first 3 bytes")
    try:
        codec.check_version(body.split(b"\n", 1)[0])
    except BadLine as exc:
        raise LogInvalid(path, line_no + blank, exc.reason) from None
    return True


def decode_complete(complete: bytes, path: LogPath, report: ReadReport, lenient: bool) -> Batch:
    """Events of a run of complete lines; counts the lines into ``report``."""
    batch = codec.decode_chunk(complete)
    if batch is None:
        batch = _decode_slowly(complete, path, report, lenient)
    report.lines += complete.count(b"\n")
    return batch


def _decode_slowly(complete: bytes, path: LogPath, report: ReadReport, lenient: bool) -> Batch:
    out: Batch = []
    base = report.lines
    for i, line in enumerate(complete.split(b"\n")[:-1], start=1):
        if not line.strip():
            continue
        try:
            out.append(codec.decode_line(line))
        except BadLine as exc:
            if not lenient:
                reason = f"{exc.reason}; --lenient skips bad lines"
                raise LogInvalid(path, base + i, reason) from None
            report.skipped_count += 1
            if len(report.skipped) < MAX_REPORTED:
                report.skipped.append((base + i, exc.reason))
    return out
