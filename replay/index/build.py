"""Building an index: read the log once, fold it, keep a checkpoint every so often.

Checkpoints land on read-chunk boundaries at least every CHECKPOINT_EVERY events,
so any seek folds at most that many events (plus one chunk). States go to the index
file as they are made (or, without one, stay in memory, thinned), and marks and
failures take 16 bytes each: memory stays small whatever the log's size.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import msgspec

from recorder.events import Mark, TaskFailed
from recorder.location import LogPath
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.index import checkpoint
from replay.index.build_parallel import build_parallel
from replay.index.format import (
    INDEX_VERSION,
    Checkpoint,
    CorruptIndex,
    Header,
    Index,
    begin,
    finish,
    hashes,
)
from replay.index.parallel import worth_it
from replay.index.points import PointList
from replay.sources.file import Batch, ReadReport, read_batches

CHECKPOINT_EVERY = 10_000
READ_CHUNK = 1 << 18  # bytes read at a time while indexing: checkpoints land between reads
MEMORY_CHECKPOINTS = 128  # an index kept in memory is thinned to this many states

Progress = Callable[[int, int], None]  # (bytes read, bytes in the log), while indexing
# Sees each batch as it is read, with the offsets where its lines start and end (the
# post-mortem store is filled in the same read of the log).
Observe = Callable[[Batch, int, int], None]


@dataclass(frozen=True)
class Enough:
    """How much of a log a caller needs: up to event ``events``, or up to the first event
    later than ``seconds`` after the first one. Indexing can stop there (a snapshot near
    the start of a huge log then costs little); a later call extends that index."""

    events: int | None = None
    seconds: float | None = None

    def reached(self, events: int, first_t: float | None, last_t: float | None) -> bool:
        if self.events is not None and events >= self.events:
            return True
        if self.seconds is None or first_t is None or last_t is None:
            return False
        return last_t > first_t + self.seconds


def build(
    log: LogPath,
    *,
    lenient: bool = False,
    resume: Index | None = None,
    sink: BinaryIO | None = None,
    until: Enough | None = None,
    progress: Progress | None = None,
    observe: Observe | None = None,
    jobs: int | None = None,
) -> Index:
    """Read the log (from where ``resume`` ends, if given) and index it (up to ``until``).

    With ``sink`` (an empty file open for writing and reading), states are written
    there as they are made and the whole index file is written; otherwise they stay
    in memory, thinned to at most MEMORY_CHECKPOINTS (seeks then fold more events).
    A whole log into a file, big enough to pay (``replay.index.parallel.worth_it``), is
    read on ``jobs`` processes (None: every usable core; ``replay.index.build_parallel``),
    giving the same file.
    """
    whole = resume is None and until is None and observe is None
    if sink is not None and whole and not lenient and worth_it(log, jobs):
        built = build_parallel(
            log, sink=sink, jobs=jobs, every=CHECKPOINT_EVERY, chunk=READ_CHUNK, progress=progress
        )
        if built is not None:
            return built
    every = CHECKPOINT_EVERY
    cps: list[Checkpoint] = []
    blobs: dict[int, bytes] = {}  # by checkpoint ``events``, when kept in memory
    if sink is not None:
        begin(sink)

    def keep(c: Checkpoint, blob: bytes) -> None:
        nonlocal every
        if sink is None:
            blobs[c.events] = blob
            cps.append(c)
            if len(cps) > MEMORY_CHECKPOINTS:
                cps[:] = cps[::2]
                for gone in blobs.keys() - {k.events for k in cps}:
                    del blobs[gone]
                every *= 2
        else:
            at = sink.tell()
            sink.write(blob)
            cps.append(msgspec.structs.replace(c, blob_at=at, blob_len=len(blob)))

    def add(m: Metrics, offset: int, lines: int) -> None:
        keep(Checkpoint(m.events, offset, lines, _t(m)), zlib.compress(checkpoint.dump(m), 1))

    st = os.stat(log)  # before reading: a change during the read makes the index stale
    if resume is not None:
        h = resume.header
        last = len(h.checkpoints) - 1
        m = resume.state(last)
        end = h.checkpoints[last]
        # The last checkpoint only marked where the log ended: drop it unless it is due.
        kept = h.checkpoints if last == 0 else h.checkpoints[:last]
        if last and end.events - h.checkpoints[last - 1].events >= every:
            kept = h.checkpoints
        for i, c in enumerate(kept):
            try:
                blob = resume.blob(i) if i else zlib.compress(checkpoint.dump(Metrics()), 1)
            except OSError as exc:
                raise CorruptIndex(f"the index of {log}: {exc}") from None
            keep(c, blob)
        marks = PointList(h.marks, labelled=True)
        failures = PointList(h.failures)
        report = ReadReport(log, lines=end.lines, offset=end.offset)
        report.skipped, report.skipped_count = list(h.skipped), h.skipped_count
    else:
        m = Metrics()
        add(m, 0, 0)
        marks, failures = PointList(labelled=True), PointList()
        report = ReadReport(log)
    at = report.offset
    for batch in read_batches(log, lenient=lenient, report=report, chunk=READ_CHUNK):
        if observe is not None:
            observe(batch, at, report.offset)
            at = report.offset
        n = m.events
        for e in batch:
            n += 1
            kind = type(e)
            if kind is Mark:
                marks.append(n, e.t, e.label)  # type: ignore[union-attr]
            elif kind is TaskFailed:
                failures.append(n, e.t)
        apply_all(m, batch)
        if m.events - cps[-1].events >= every:
            add(m, report.offset, report.lines)
        if progress is not None:
            progress(report.offset, st.st_size)
        if until is not None and until.reached(m.events, m.first_t, m.last_t):
            break
    if len(cps) == 1 or cps[-1].offset != report.offset:
        add(m, report.offset, report.lines)
    head_hash, tail_hash = hashes(log, report.offset)
    header = Header(
        version=INDEX_VERSION,
        lenient=lenient,
        log_size=report.offset,
        log_mtime_ns=st.st_mtime_ns,
        head_hash=head_hash,
        tail_hash=tail_hash,
        count=m.events,
        first_t=m.first_t,
        last_t=m.last_t,
        checkpoints=cps,
        marks=marks.pack(),
        failures=failures.pack(),
        torn_line=report.torn_line,
        torn_bytes=report.torn_bytes,
        skipped=report.skipped,
        skipped_count=report.skipped_count,
        fold_id=checkpoint.fold_id(),
    )
    if sink is not None:
        finish(sink, header)
    index = Index(log, header, {i: blobs[c.events] for i, c in enumerate(cps)} if blobs else {})
    return index


def _t(m: Metrics) -> float:
    return m.last_t if m.last_t is not None else float("-inf")
