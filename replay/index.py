"""The seek index: fold checkpoints, marks and failures, kept beside a log.

Checkpoints land on read-chunk boundaries at least every CHECKPOINT_EVERY
events, so any seek folds at most that many events (plus one chunk). The index
is stored as ``LOG.runreel-index`` (or in the user's cache directory when the
log's directory is read-only) and is validated against the log's size, mtime
and a hash of its head and of the last indexed bytes; a log that grew is
indexed from where the index ends. A missing or unwritable index only costs time.
"""

from __future__ import annotations

import bisect
import hashlib
import os
from dataclasses import dataclass, field

import msgspec

from recorder.events import Mark, TaskFailed
from recorder.fold import Metrics, apply_all
from replay import checkpoint
from replay.source import ReadReport, open_log, read_batches

INDEX_VERSION = 1
SUFFIX = ".runreel-index"
CHECKPOINT_EVERY = 20_000
PERSIST_MIN_BYTES = 8 << 20  # smaller logs are indexed in memory, nothing written
_MAGIC = b"RRINDEX1"
_HASHED = 1 << 16


class Checkpoint(msgspec.Struct, array_like=True, frozen=True):
    """The fold state after ``events`` events; the next line starts at ``offset``."""

    events: int
    offset: int
    lines: int
    t: float  # the latest event time folded so far
    blob_at: int = 0
    blob_len: int = 0


class Point(msgspec.Struct, array_like=True, frozen=True):
    """An event worth jumping to: a mark or a failure (``event`` counts from 1)."""

    event: int
    t: float
    label: str = ""


class Header(msgspec.Struct):
    """Everything but the checkpoint states; read first, states loaded on demand."""

    version: int
    lenient: bool
    log_size: int  # bytes of complete lines indexed
    log_mtime_ns: int
    head_hash: str
    tail_hash: str
    count: int
    first_t: float | None
    last_t: float | None
    checkpoints: list[Checkpoint]
    marks: list[Point]
    failures: list[Point]
    torn_line: int | None = None
    torn_bytes: int = 0
    skipped: list[tuple[int, str]] = []
    skipped_count: int = 0


_header_decoder = msgspec.msgpack.Decoder(Header)
_encoder = msgspec.msgpack.Encoder()


@dataclass
class Index:
    """A loaded or freshly built index; states come from memory or from the index file."""

    log: str
    header: Header
    blobs: dict[int, bytes] = field(default_factory=dict)  # by checkpoint position
    file: str | None = None  # where unloaded blobs live
    base: int = 0  # byte offset of the blobs area in ``file``

    def state(self, i: int) -> Metrics:
        """A fresh Metrics equal to checkpoint ``i``'s state."""
        blob = self.blobs.get(i)
        if blob is None:
            cp = self.header.checkpoints[i]
            assert self.file is not None
            with open(self.file, "rb") as f:
                f.seek(self.base + cp.blob_at)
                blob = f.read(cp.blob_len)
        return checkpoint.load(blob)

    def at_event(self, n: int) -> int:
        """The last checkpoint with at most ``n`` events folded."""
        cps = self.header.checkpoints
        return max(bisect.bisect_right(cps, n, key=lambda c: c.events) - 1, 0)

    def at_time(self, t: float) -> int:
        """The last checkpoint whose events all have times <= ``t``."""
        cps = self.header.checkpoints
        return max(bisect.bisect_right(cps, t, key=lambda c: c.t) - 1, 0)

    def report(self) -> ReadReport:
        """What reading the log found (torn tail, skipped lines), for warnings."""
        h = self.header
        return ReadReport(
            self.log,
            lines=h.checkpoints[-1].lines,
            offset=h.log_size,
            torn_line=h.torn_line,
            torn_bytes=h.torn_bytes,
            skipped=list(h.skipped),
            skipped_count=h.skipped_count,
        )


def sidecar(log: str) -> str:
    return log + SUFFIX


def cache_path(log: str) -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = hashlib.blake2b(os.path.abspath(log).encode(), digest_size=12).hexdigest()
    return os.path.join(base, "runreel", key + SUFFIX)


def load_or_build(log: str, *, lenient: bool = False, persist: bool | None = None) -> Index:
    """The index of ``log``: loaded when still valid, extended when the log grew, else built.

    ``persist``: True always writes it, False never, None only for logs of at
    least PERSIST_MIN_BYTES. Failing to read or write an index is never an error.
    """
    os.close(open_log(log))  # the reader's errors (missing, a directory, unreadable) first
    size = os.stat(log).st_size
    if persist is None:
        persist = size >= PERSIST_MIN_BYTES
    stale: Index | None = None
    if persist:
        for candidate in (sidecar(log), cache_path(log)):
            found = _read(candidate, log)
            if found is None or found.header.lenient != lenient:
                continue
            state = _freshness(found, log)
            if state == "fresh":
                return found
            if state == "grew":
                stale = found
                break
    index = build(log, lenient=lenient, resume=stale)
    if persist:
        save(index)
    return index


def build(log: str, *, lenient: bool = False, resume: Index | None = None) -> Index:
    """Read the log (from where ``resume`` ends, if given) and index it."""
    if resume is not None:
        h = resume.header
        last = len(h.checkpoints) - 1
        m = resume.state(last)
        cps = [*h.checkpoints]
        blobs = {i: b for i, b in resume.blobs.items()}
        for i in range(len(cps)):
            if i not in blobs:
                blobs[i] = _blob(resume, i)
        marks, failures = [*h.marks], [*h.failures]
        report = ReadReport(log, lines=cps[-1].lines, offset=cps[-1].offset)
        report.skipped, report.skipped_count = list(h.skipped), h.skipped_count
    else:
        m = Metrics()
        cps = [Checkpoint(0, 0, 0, float("-inf"))]
        blobs = {0: checkpoint.dump(m)}
        marks, failures = [], []
        report = ReadReport(log)
    for batch in read_batches(log, lenient=lenient, report=report):
        base = m.events
        for i, e in enumerate(batch, start=base + 1):
            kind = type(e)
            if kind is Mark:
                marks.append(Point(i, e.t, e.label))  # type: ignore[union-attr]
            elif kind is TaskFailed:
                failures.append(Point(i, e.t, e.task))  # type: ignore[union-attr]
        apply_all(m, batch)
        if m.events - cps[-1].events >= CHECKPOINT_EVERY:
            cps.append(Checkpoint(m.events, report.offset, report.lines, _t(m)))
            blobs[len(cps) - 1] = checkpoint.dump(m)
    if m.events != cps[-1].events or len(cps) == 1:
        cps.append(Checkpoint(m.events, report.offset, report.lines, _t(m)))
        blobs[len(cps) - 1] = checkpoint.dump(m)
    st = os.stat(log)
    header = Header(
        version=INDEX_VERSION,
        lenient=lenient,
        log_size=report.offset,
        log_mtime_ns=st.st_mtime_ns,
        head_hash=_hash(log, 0, min(report.offset, _HASHED)),
        tail_hash=_hash(log, max(report.offset - 4096, 0), min(report.offset, 4096)),
        count=m.events,
        first_t=m.first_t,
        last_t=m.last_t,
        checkpoints=cps,
        marks=marks,
        failures=failures,
        torn_line=report.torn_line,
        torn_bytes=report.torn_bytes,
        skipped=report.skipped,
        skipped_count=report.skipped_count,
    )
    return Index(log, header, blobs)


def save(index: Index) -> str | None:
    """Write the index beside the log, else in the cache; None when neither can be written."""
    h = index.header
    at = 0
    cps = []
    for i, cp in enumerate(h.checkpoints):
        blob = index.blobs[i] if i in index.blobs else _blob(index, i)
        index.blobs[i] = blob
        cps.append(Checkpoint(cp.events, cp.offset, cp.lines, cp.t, at, len(blob)))
        at += len(blob)
    header = msgspec.structs.replace(h, checkpoints=cps)
    head = _encoder.encode(header)
    for target in (sidecar(index.log), cache_path(index.log)):
        try:
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
            tmp = f"{target}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                f.write(_MAGIC + len(head).to_bytes(8, "little") + head)
                for i in range(len(cps)):
                    f.write(index.blobs[i])
            os.replace(tmp, target)
        except OSError:
            try:
                os.unlink(tmp)
            except (OSError, UnboundLocalError):
                pass
            continue
        index.header, index.file, index.base = header, target, len(_MAGIC) + 8 + len(head)
        return target
    return None


def _read(path: str, log: str) -> Index | None:
    try:
        with open(path, "rb") as f:
            if f.read(len(_MAGIC)) != _MAGIC:
                return None
            n = int.from_bytes(f.read(8), "little")
            header = _header_decoder.decode(f.read(n))
    except (OSError, msgspec.DecodeError, ValueError):
        return None
    if header.version != INDEX_VERSION or not header.checkpoints:
        return None
    return Index(log, header, file=path, base=len(_MAGIC) + 8 + n)


def _freshness(index: Index, log: str) -> str:
    """fresh, grew (the indexed part is intact and more was appended) or stale."""
    h = index.header
    try:
        st = os.stat(log)
        if st.st_size < h.log_size:
            return "stale"
        if _hash(log, 0, min(h.log_size, _HASHED)) != h.head_hash:
            return "stale"
        if _hash(log, max(h.log_size - 4096, 0), min(h.log_size, 4096)) != h.tail_hash:
            return "stale"
    except OSError:
        return "stale"
    if st.st_mtime_ns == h.log_mtime_ns and st.st_size == h.log_size + h.torn_bytes:
        return "fresh"
    return "grew" if st.st_size > h.log_size else "stale"


def _hash(path: str, start: int, length: int) -> str:
    with open(path, "rb") as f:
        f.seek(start)
        return hashlib.blake2b(f.read(length), digest_size=16).hexdigest()


def _blob(index: Index, i: int) -> bytes:
    cp = index.header.checkpoints[i]
    assert index.file is not None
    with open(index.file, "rb") as f:
        f.seek(index.base + cp.blob_at)
        return f.read(cp.blob_len)


def _t(m: Metrics) -> float:
    return m.last_t if m.last_t is not None else float("-inf")
