"""Building an index on every core: the same index file, byte for byte, as ``build``.

``build`` reads the log in READ_CHUNK reads from its start and checks after each
batch (the lines up to the last newline read) whether a checkpoint is due. Those
batch ends sit at fixed places (the last newline before each multiple of
READ_CHUNK), so a worker can read its own range batch by batch as ``build`` would.
Given the events before its range (counted here in lines while the workers fold: a
line is an event, a log with blank or skipped lines is left to ``build``), a worker
knows where ``build`` puts each checkpoint in its range; it folds its range and, at
each checkpoint, hands over a partial (``replay.core.partial``) of the events since
the one before; the merge turns them, in file order, into the states ``build`` writes.
"""

from __future__ import annotations

import os
import pickle
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import msgspec

from recorder import codec
from recorder.codec import BadLine
from recorder.errors import LogInvalid
from recorder.events import Mark, TaskFailed
from recorder.location import LogPath
from replay.core.fold import apply_all
from replay.core.merge import merge
from replay.core.metrics import Metrics
from replay.core.partial import PartialMetrics, restart, warm
from replay.index import checkpoint
from replay.index.format import INDEX_VERSION, Checkpoint, Header, Index, begin, finish, hashes
from replay.index.parallel import (
    SLICE_BYTES,
    _context,
    _first_t,
    first_weight,
    in_order,
    usable_cores,
    window_width,
)
from replay.index.points import PointList
from replay.sources.file import Batch, ReadReport, decode_complete, open_log
from replay.sources.ranges import cuts, line_start, read_quietly, read_range

_Range = tuple[int, int, int]  # start, the chunk end after it, end
COUNT_COST = 0.06  # counting a range's lines, against folding it (callgrind): the next waits


@dataclass
class _Part:
    """A worker's range: per checkpoint (offset, events, lines, blob or partial), the
    state at its end, marks and failures, how it ended."""

    # (offset, events, lines, t, blob): t None when the blob is a packed partial
    cuts: list[tuple[int, int, int, float | None, bytes]] = field(default_factory=list)
    last: Any = None
    offset: int = 0  # where its last whole line ends
    events: int = 0
    lines: int = 0
    marks: list[tuple[int, float, str]] = field(default_factory=list)
    failures: list[tuple[int, float]] = field(default_factory=list)
    torn: tuple[int, int] | None = None
    error: tuple[int | None, str] | None = None
    lines_are_events: bool = True


def _batches(
    fd: int, path: LogPath, r: _Range, chunk: int, report: ReadReport, decode: bool
) -> Iterator[tuple[int, Batch, int]]:
    """``build``'s batches in range ``r``: (end offset, events, lines). ``report.lines``
    counts from the range's start; a torn tail is noted in ``report``."""
    start, grid, end = r
    pending = os.pread(fd, grid - start, start) if start else b""
    at = grid if start else 0
    while at < end or end == -1:
        data = os.pread(fd, chunk, at)
        if not data:
            break
        at += len(data)
        buf = pending + data if pending else data
        cut = buf.rfind(b"\n") + 1
        if cut == 0:
            pending = buf
            continue
        complete, pending = buf[:cut], buf[cut:]
        done = at - len(pending)
        lines = report.lines
        if decode:
            batch = decode_complete(complete, path, report, False)
        else:
            batch, report.lines = [], report.lines + complete.count(b"\n")
        yield done, batch, report.lines - lines
        if done == end:
            return
    if pending:
        report.torn_line, report.torn_bytes = report.lines + 1, len(pending)


def _count(task: tuple[LogPath, _Range, int]) -> list[tuple[int, int]]:
    path, r, chunk = task
    fd = open_log(path)
    try:
        report = ReadReport(path)
        return [(done, n) for done, _, n in _batches(fd, path, r, chunk, report, False)]
    finally:
        os.close(fd)


_Task = tuple[LogPath, _Range, int, float, int, tuple[int, int, int], int]  # the last: range number


def _fold(task: _Task) -> _Part:
    """Fold range ``r``; a checkpoint is due where ``build`` would put one, known from the
    events before the range and the last checkpoint among them (``every`` apart)."""
    path, r, chunk, t0, before, (events, last, every), slot = task
    fd = open_log(path)
    part = _Part()
    report = ReadReport(path)
    try:
        if r[0] == 0:
            m: Metrics = Metrics()
        else:
            end = r[2] if r[2] != -1 else os.fstat(fd).st_size  # -1: the last range
            window = line_start(fd, max(before, r[0] - window_width(end - r[0])), r[0])
            m = warm(read_quietly(fd, window, r[0]), t0, whole=window == 0)
        n = 0
        try:
            for done, batch, lines in _batches(fd, path, r, chunk, report, True):
                if len(batch) != lines:
                    part.lines_are_events = False
                    return part
                for e in batch:
                    n += 1
                    if type(e) is Mark:
                        part.marks.append((n, e.t, e.label))
                    elif type(e) is TaskFailed:
                        part.failures.append((n, e.t))
                apply_all(m, batch)
                part.offset = done
                if _folded is not None:
                    _folded[slot] = done - r[0]
                if events + n - last >= every:
                    last = events + n
                    if isinstance(m, PartialMetrics):
                        part.cuts.append((done, n, report.lines, None, _pack(m)))
                        m = restart(m)
                    else:
                        part.cuts.append((done, n, report.lines, _t(m), _blob(m)))
        except LogInvalid as exc:
            part.error = (exc.line, exc.reason)
            return part
    finally:
        os.close(fd)
    part.last, part.events, part.lines = m, n, report.lines
    if report.torn_line is not None:
        part.torn = (report.torn_line, report.torn_bytes)
    return part


def build_parallel(
    log: LogPath,
    *,
    sink: BinaryIO,
    jobs: int | None,
    every: int,
    chunk: int,
    progress: Callable[[int, int], None] | None = None,
) -> Index | None:
    """The index ``build`` would write into ``sink`` (not lenient, from the start, whole
    log) on ``jobs`` processes (None: every usable core); None when this log is better
    left to ``build`` (``sink`` untouched then). ``progress`` hears of each range merged."""
    jobs = usable_cores() if jobs is None else jobs
    st = os.stat(log)
    fd = open_log(log)
    try:
        size = os.fstat(fd).st_size
        t0 = _first_t(fd, size)
        ranges = _split(fd, size, jobs, chunk)
    finally:
        os.close(fd)
    if t0 is None or len(ranges) < 2 or not _first_line_ok(log):
        return None
    context = _context()
    # Bytes each range's worker has folded, shared with the workers, so the progress
    # display moves while they fold (not only as each range is merged).
    folded = context.Array("q", len(ranges), lock=False)
    report = _Report(progress or _quiet, folded, st.st_size)
    with ProcessPoolExecutor(
        min(jobs, len(ranges)), mp_context=context, initializer=_share, initargs=(folded,)
    ) as pool:
        # Workers fold at most two ranges each ahead of the merge; each part is let go
        # once merged, so memory does not grow with the log.
        tasks = _tasks(log, ranges, chunk, t0, every)
        parts = in_order(pool, _fold, tasks, 2 * jobs, report.tick)
        return _merge(log, st, sink, ranges, parts, report)


_folded: Any = None  # a worker's view of build_parallel's shared array (``_share``)


def _share(folded: Any) -> None:
    global _folded
    _folded = folded


class _Report:
    """Progress as the most bytes known done: folded by the workers so far (``tick``), or
    merged (a call); it never goes back."""

    def __init__(self, progress: Callable[[int, int], None], folded: Any, size: int) -> None:
        self.progress, self.folded, self.size, self.best = progress, folded, size, 0

    def tick(self) -> None:
        self(sum(self.folded), self.size)

    def __call__(self, done: int, size: int) -> None:
        if done > self.best:
            self.best = done
            self.progress(done, size)


def _tasks(
    log: LogPath, ranges: list[_Range], chunk: int, t0: float, every: int
) -> Iterator[_Task]:
    """Each range's task, as soon as the events before it are counted: the first range's
    at once; this process counts a range's lines while the workers fold (no worker waits
    for a count of the whole log)."""
    events = last = before = 0
    for i, r in enumerate(ranges):
        yield (log, r, chunk, t0, before, (events, last, every), i)
        before = r[0]
        if i + 1 < len(ranges):
            for _, n in _count((log, r, chunk)):
                events += n
                if events - last >= every:
                    last = events


def _quiet(done: int, size: int) -> None:
    """No one asked how far the build is."""


def _split(fd: int, size: int, jobs: int, chunk: int) -> list[_Range]:
    """Ranges that start at batch ends: the last newline of a chunk, plus one."""
    starts: list[tuple[int, int]] = [(0, 0)]
    parts = max(jobs, -(-size // SLICE_BYTES))  # a part in flight holds a range's checkpoints
    for cut in cuts(size, parts, first_weight(size, parts) + COUNT_COST)[1:]:
        grid = cut // chunk * chunk
        if grid <= starts[-1][1]:
            continue
        data = os.pread(fd, chunk, grid - chunk)
        cut = data.rfind(b"\n")
        if cut >= 0:
            starts.append((grid - chunk + cut + 1, grid))
    ends = [s for s, _ in starts[1:]] + [-1]
    return [(s, g, e) for (s, g), e in zip(starts, ends, strict=True)]


def _merge(
    log: LogPath,
    st: os.stat_result,
    sink: BinaryIO,
    ranges: list[_Range],
    parts: Iterator[_Part],
    progress: Callable[[int, int], None],
) -> Index | None:
    begin(sink)
    cps: list[Checkpoint] = []

    def add(c: Checkpoint, blob: bytes) -> None:
        at = sink.tell()
        sink.write(blob)
        cps.append(msgspec.structs.replace(c, blob_at=at, blob_len=len(blob)))

    add(Checkpoint(0, 0, 0, float("-inf")), _blob(Metrics()))
    marks, failures = PointList(labelled=True), PointList()
    m: Metrics | None = None
    events = lines = 0
    p = _Part()
    for r, p in zip(ranges, parts, strict=True):
        if not p.lines_are_events:  # blank or skipped lines: leave the log to ``build``
            sink.seek(0)
            sink.truncate()
            return None
        if p.error is not None:
            line, reason = p.error
            raise LogInvalid(log, None if line is None else lines + line, reason)
        at = r[0]
        for done, n, k, t, blob in p.cuts:
            if t is None:
                assert m is not None
                m = merge(m, _unpack(blob)) or _refold(log, m, at, done)
                t, blob = _t(m), _blob(m)
            add(Checkpoint(events + n, done, lines + k, t), blob)
            at = done
        if isinstance(p.last, PartialMetrics):
            assert m is not None
            m = merge(m, p.last) or _refold(log, m, at, p.offset)
        else:
            m = p.last
        for n, t, label in p.marks:
            marks.append(events + n, t, label)
        for n, t in p.failures:
            failures.append(events + n, t)
        events, lines = events + p.events, lines + p.lines
        progress(p.offset, st.st_size)
    assert m is not None
    torn, offset = p.torn, p.offset
    if len(cps) == 1 or cps[-1].offset != offset:
        add(Checkpoint(m.events, offset, lines, _t(m)), _blob(m))
    head_hash, tail_hash = hashes(log, offset)
    header = Header(
        version=INDEX_VERSION,
        lenient=False,
        log_size=offset,
        log_mtime_ns=st.st_mtime_ns,
        head_hash=head_hash,
        tail_hash=tail_hash,
        count=m.events,
        first_t=m.first_t,
        last_t=m.last_t,
        checkpoints=cps,
        marks=marks.pack(),
        failures=failures.pack(),
        torn_line=None if torn is None else lines - p.lines + torn[0],
        torn_bytes=0 if torn is None else torn[1],
        skipped=[],
        skipped_count=0,
        fold_id=checkpoint.fold_id(),
    )
    finish(sink, header)
    return Index(log, header, {})


def _first_line_ok(log: LogPath) -> bool:
    """The first line is a run_started of a version we read (else ``build`` says why)."""
    fd = open_log(log)
    try:
        head = os.pread(fd, line_start(fd, 1, os.fstat(fd).st_size), 0)
    finally:
        os.close(fd)
    try:
        codec.check_version(head.rstrip(b"\n"))
    except BadLine:
        return False
    return True


def _blob(m: Metrics) -> bytes:
    return zlib.compress(checkpoint.dump(m), 1)


def _pack(m: PartialMetrics) -> bytes:
    """A checkpoint's partial, kept until its range is merged: packed, it weighs a
    fraction of the live objects, so a worker's memory and the parts in flight stay
    small however long its range (pickled anyway to reach the merge)."""
    return zlib.compress(pickle.dumps(m, pickle.HIGHEST_PROTOCOL), 1)


def _unpack(blob: bytes) -> PartialMetrics:
    partial: PartialMetrics = pickle.loads(zlib.decompress(blob))
    return partial


def _t(m: Metrics) -> float:
    return m.last_t if m.last_t is not None else float("-inf")


def _refold(log: LogPath, m: Metrics, start: int, end: int) -> Metrics:
    """Fold ``[start, end)`` on the true state (its partial guessed wrong)."""
    fd = open_log(log)
    try:
        for batch in read_range(fd, log, start, end, lenient=False, report=ReadReport(log)):
            apply_all(m, batch)
    finally:
        os.close(fd)
    return m
