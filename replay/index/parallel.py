"""Folding a whole log on every core: ranges folded in worker processes, merged in order.

Each worker gets a byte range (not data), reads it itself and sends back a small
partial (``replay.core.partial``); the merge places them in file order, and folds a
range again here in the rare case its partial cannot be placed. The result, errors
and reader report included, is what one sequential read gives.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar

from recorder.codec import BadLine, decode_line
from recorder.errors import LogInvalid, LogUnavailable
from recorder.location import LogPath
from replay.core.fold import apply_all
from replay.core.merge import merge
from replay.core.metrics import Metrics
from replay.core.partial import PartialMetrics, warm
from replay.sources.file import MAX_REPORTED, ReadReport, open_log, read_batches
from replay.sources.ranges import NoStart, line_start, read_quietly, read_range, split

T = TypeVar("T")
R = TypeVar("R")
PARALLEL_MIN_BYTES = 16 << 20  # smaller logs fold in-process: workers would cost more
SLICE_BYTES = 256 << 20  # at most this much per range: a worker's memory does not grow with it
WINDOW_BYTES = 4 << 20  # folded before a range to guess the state where it starts
NOTES_COST = 0.18  # a later range folds this much slower per byte (its partial fold: notes,
# handlers for what the plain fold inlines); from range_fold_s_* in bench/parallel_fold.py
TICK = 0.25  # seconds between progress reports while a range is folded


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    count = getattr(os, "process_cpu_count", None)
    if count is not None:
        return int(count() or 1)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        return os.cpu_count() or 1


_Task = tuple[LogPath, int, int, bool, float, int]  # path, start, end, lenient, t0, window floor


@dataclass
class _Slice:
    """What a worker sends back: its partial, or where it found the log bad."""

    metrics: Metrics
    lines: int = 0
    offset: int = 0
    torn_line: int | None = None
    torn_bytes: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    skipped_count: int = 0
    error: tuple[int | None, str] | None = None  # (line in the range, reason)


def first_weight(size: int, parts: int) -> float:
    """How much longer the first of ``parts`` ranges is than the others, so that each costs
    the same: every later range also folds its warm-up window and keeps notes."""
    unit = size / parts
    return 1.0 + NOTES_COST + window_width(int(unit)) / unit if unit else 1.0


def window_width(length: int) -> int:
    """The warm-up window before a range of ``length`` bytes: at most an eighth more work."""
    return min(WINDOW_BYTES, length // 8)


def worth_it(path: LogPath, jobs: int | None) -> bool:
    """Whether folding ``path`` on ``jobs`` processes (None: every usable core) pays."""
    if (usable_cores() if jobs is None else jobs) < 2:
        return False
    try:
        return os.stat(path).st_size >= PARALLEL_MIN_BYTES
    except OSError:
        return False  # the reader says what is wrong


def fold_log(
    path: LogPath, *, jobs: int | None = None, lenient: bool = False
) -> tuple[Metrics, ReadReport]:
    """The log folded whole, on ``jobs`` processes (None: every usable core)."""
    jobs = usable_cores() if jobs is None else jobs
    fd = open_log(path)
    try:
        size = os.fstat(fd).st_size
        t0 = _first_t(fd, size) if jobs > 1 and size >= PARALLEL_MIN_BYTES else None
        parts = max(jobs, -(-size // SLICE_BYTES))
        ranges = split(fd, size, parts, first_weight(size, parts)) if t0 is not None else []
    finally:
        os.close(fd)
    if t0 is None or len(ranges) < 2:
        return fold_sequential(path, lenient=lenient)
    return fold_ranges(path, ranges, t0, jobs=jobs, lenient=lenient)


def fold_ranges(
    path: LogPath, ranges: list[tuple[int, int]], t0: float, *, jobs: int, lenient: bool = False
) -> tuple[Metrics, ReadReport]:
    """Fold each of ``ranges`` (cut at lines, in file order) in a worker, and merge them."""
    tasks = [
        (path, a, b, lenient, t0, ranges[i - 1][0] if i else 0) for i, (a, b) in enumerate(ranges)
    ]
    try:
        with ProcessPoolExecutor(min(jobs, len(ranges)), mp_context=_context()) as pool:
            return _merge_all(path, ranges, in_order(pool, _fold_range, tasks, 2 * jobs), lenient)
    except NoStart:
        return fold_sequential(path, lenient=lenient)


def fold_sequential(path: LogPath, *, lenient: bool = False) -> tuple[Metrics, ReadReport]:
    """The log folded in this process, one chunk after another."""
    m = Metrics()
    report = ReadReport(path)
    for batch in read_batches(path, lenient=lenient, report=report):
        apply_all(m, batch)
    return m, report


def in_order(
    pool: ProcessPoolExecutor,
    fn: Callable[[T], R],
    tasks: Iterable[T],
    ahead: int,
    tick: Callable[[], None] | None = None,
) -> Iterator[R]:
    """The workers' results in file order, with at most ``ahead`` ranges folded or being
    folded ahead of the merge: memory does not grow with the number of ranges. ``tick``
    is called every TICK seconds while a result is awaited (a progress display)."""
    waiting: deque[Future[R]] = deque()

    def next_result() -> R:
        first = waiting.popleft()
        while tick is not None and not wait([first], timeout=TICK).done:
            tick()
        return first.result()

    for task in tasks:
        waiting.append(pool.submit(fn, task))
        if len(waiting) >= ahead:
            yield next_result()
    while waiting:
        yield next_result()


def _merge_all(
    path: LogPath, ranges: list[tuple[int, int]], slices: Iterator[_Slice], lenient: bool
) -> tuple[Metrics, ReadReport]:
    report = ReadReport(path)
    m: Metrics | None = None
    for (start, end), got in zip(ranges, slices, strict=True):
        if got.error is not None:
            line, reason = got.error
            raise LogInvalid(path, None if line is None else report.lines + line, reason)
        if m is None:
            m = got.metrics
        else:
            merged = merge(m, got.metrics) if isinstance(got.metrics, PartialMetrics) else None
            m = merged if merged is not None else _refold(path, m, start, end, lenient)
        for line, reason in got.skipped:
            if len(report.skipped) < MAX_REPORTED:
                report.skipped.append((report.lines + line, reason))
        report.skipped_count += got.skipped_count
        if got.torn_line is not None:
            report.torn_line, report.torn_bytes = report.lines + got.torn_line, got.torn_bytes
        report.lines += got.lines
        report.offset += got.offset
    assert m is not None
    return m, report


def _refold(path: LogPath, m: Metrics, start: int, end: int, lenient: bool) -> Metrics:
    """Fold a range on the true state (its partial guessed wrong): slower, always exact."""
    fd = open_log(path)
    try:
        for batch in read_range(fd, path, start, end, lenient=lenient, report=ReadReport(path)):
            apply_all(m, batch)
    finally:
        os.close(fd)
    return m


def _fold_range(task: _Task) -> _Slice:
    path, start, end, lenient, t0, before = task
    report = ReadReport(path, offset=0)
    fd = open_log(path)
    try:
        if start == 0:
            m: Metrics = Metrics()
        else:
            window = line_start(fd, max(before, start - window_width(end - start)), start)
            m = warm(read_quietly(fd, window, start), t0, whole=window == 0)
        try:
            for batch in read_range(fd, path, start, end, lenient=lenient, report=report):
                apply_all(m, batch)
        except LogInvalid as exc:
            return _Slice(m, error=(exc.line, exc.reason))
        except OSError as exc:
            raise LogUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return _Slice(
        m,
        report.lines,
        report.offset,
        report.torn_line,
        report.torn_bytes,
        report.skipped,
        report.skipped_count,
    )


def _first_t(fd: int, size: int) -> float | None:
    """The time of the log's first event (every range's series count from it), if its
    first line reads; otherwise None, and the single reader says what is wrong."""
    at = 0
    while at < size:
        end = line_start(fd, at + 1, size)
        line = os.pread(fd, end - at, at)
        if line.strip():
            try:
                return decode_line(line).t
            except BadLine:
                return None
        at = end
    return None


def _context() -> multiprocessing.context.BaseContext:
    """fork where it is safe (no threads here): workers then start without imports."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
