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


def _batches(
    fd: int, path: LogPath, lenient: bool, report: ReadReport, size: int
) -> Iterator[Batch]:
    runs = line_runs(fd, path, report, size=size)
    first = yield from run_batches(runs, path, lenient, report, first=report.offset == 0)
    if first and not report.torn_bytes:
        raise LogInvalid(path, None, "the log is empty (no run_started line)")
    if first:
        raise LogInvalid(path, report.lines + 1, "the log holds only an incomplete first line")


def line_runs(
    fd: int,
    path: LogPath,
    report: ReadReport,
    start: int | None = None,
    end: int | None = None,
    *,
    size: int = CHUNK,
) -> Iterator[tuple[memoryview, int]]:
    """Runs of whole lines of ``fd`` with their number of lines, about ``size`` bytes each:
    from where ``fd`` is, or the lines in ``[start, end)``. They are read into one buffer,
    reused: a run is valid until the next is asked for (decode it, do not keep it), which
    spares two copies of every byte. An incomplete last line is noted in ``report``."""
    buf = bytearray(2 * size)
    keep = 0  # bytes of an incomplete line, moved to the front of ``buf``
    at = start
    while end is None or at is None or at < end:
        # ``size`` bytes a read, as reads of bytes: an index's checkpoints land between reads
        room = size if end is None or at is None else min(size, end - at)
        if keep + room > len(buf):  # a line longer than the buffer: a bigger buffer
            buf = buf[:keep] + bytearray(room)
        with memoryview(buf) as whole, whole[keep : keep + room] as into:
            got = _read_into(fd, into, at, path)
        if not got:
            break
        if at is not None:
            at += got
        filled = keep + got
        cut = buf.rfind(b"\n", 0, filled) + 1
        if cut:
            with memoryview(buf) as whole, whole[:cut] as run:
                yield run, buf.count(b"\n", 0, cut)
        keep = filled - cut
        buf[:keep] = buf[cut:filled]
    if keep:
        report.torn_line = report.lines + 1
        report.torn_bytes = keep


def _read_into(fd: int, into: memoryview, at: int | None, path: LogPath) -> int:
    """Bytes read into ``into`` from where ``fd`` is (``at`` None) or from offset ``at``."""
    try:
        if at is not None and hasattr(os, "preadv"):
            return os.preadv(fd, [into], at)
        if at is None and hasattr(os, "readv"):
            return os.readv(fd, [into])
        data = os.read(fd, len(into)) if at is None else os.pread(fd, len(into), at)
    except OSError as exc:
        raise LogUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
    into[: len(data)] = data
    return len(data)


def run_batches(
    runs: Iterable[tuple[memoryview, int]],
    path: LogPath,
    lenient: bool,
    report: ReadReport,
    *,
    first: bool,
) -> Generator[Batch, None, bool]:
    """The runs of ``line_runs`` decoded (``report`` counts them); returns True while the
    first line is still unchecked."""
    for run, lines in runs:
        report.offset += len(run)
        if first:
            first = not check_first_line(bytes(run), path, report.lines + 1)
        batch = decode_complete(run, path, report, lenient, lines)
        if batch:
            yield batch
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


def decode_complete(
    complete: bytes | memoryview,
    path: LogPath,
    report: ReadReport,
    lenient: bool,
    lines: int | None = None,
) -> Batch:
    """Events of a run of complete lines (``lines`` of them, counted here when None);
    counts the lines into ``report``."""
    batch = codec.decode_chunk(complete)
    if batch is None:
        batch = _decode_slowly(bytes(complete), path, report, lenient)
    report.lines += bytes(complete).count(b"\n") if lines is None else lines
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
