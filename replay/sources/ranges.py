"""A log as byte ranges that start and end at line boundaries, each read on its own.

DuckDB's parallel JSON reader does the same: cut a file at newlines, hand each piece
to a reader. A range's line numbers count from its own start; whoever merges the
ranges adds the lines before it (errors then name the same line a single reader
would).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from recorder import codec
from recorder.codec import BadLine
from recorder.location import LogPath
from replay.sources.file import Batch, ReadReport, line_runs, run_batches


class NoStart(Exception):
    """The first range holds no line to check: read the log whole to say what is wrong."""


def line_start(fd: int, pos: int, size: int) -> int:
    """The first offset at or after ``pos`` where a line starts (``size`` if none does)."""
    if pos <= 0:
        return 0
    at = pos - 1  # the byte before a line start is a newline
    while at < size:
        data = os.pread(fd, 1 << 16, at)
        if not data:
            break
        cut = data.find(b"\n")
        if cut >= 0:
            return at + cut + 1
        at += len(data)
    return size


def split(fd: int, size: int, parts: int, first: float = 1.0) -> list[tuple[int, int]]:
    """``parts`` ranges (fewer when lines are long) covering ``[0, size)``, cut at lines;
    the first ``first`` times as long as the others (the others cost more per byte)."""
    starts = sorted({line_start(fd, cut, size) for cut in cuts(size, parts, first)} | {0})
    starts = [s for s in starts if s < size] or [0]
    return list(zip(starts, [*starts[1:], size], strict=True))


def cuts(size: int, parts: int, first: float = 1.0) -> list[int]:
    """Where ``parts`` ranges of ``size`` bytes start, the first ``first`` times as long."""
    unit = size / (first + parts - 1)
    return [0] + [min(size, round(unit * (first + k - 1))) for k in range(1, parts)]


def read_range(
    fd: int, path: LogPath, start: int, end: int, *, lenient: bool, report: ReadReport
) -> Iterator[Batch]:
    """The events of the lines in ``[start, end)``, a chunk at a time. ``report.lines``
    counts from the range's start. Only a range that starts the file checks the first
    line; only one that ends it can end in a torn line."""
    runs = line_runs(fd, path, report, start, end)
    first = yield from run_batches(runs, path, lenient, report, first=start == 0)
    if first:  # no run_started line in the first range: the single reader says why
        raise NoStart(path)


def read_quietly(fd: int, start: int, end: int) -> Batch:
    """The events that decode in ``[start, end)``, bad lines left out (a warm-up window:
    the range that holds a bad line reports it)."""
    data = os.pread(fd, end - start, start) if end > start else b""
    data = data[: data.rfind(b"\n") + 1]
    batch = codec.decode_chunk(data)
    if batch is not None:
        return batch
    out: Batch = []
    for line in data.split(b"\n"):
        if line.strip():
            try:
                out.append(codec.decode_line(line))
            except BadLine:
                pass
    return out
