"""The seek index: fold checkpoints, marks and failures, kept beside a log.

Checkpoints land on read-chunk boundaries at least every CHECKPOINT_EVERY
events, so any seek folds at most that many events (plus one chunk). The index
is stored as ``LOG.runreel-index`` (or in the user's cache directory when the
log's directory is read-only) and is validated against the log's size, mtime
and a hash of its head and of the last indexed bytes; a log that grew is
indexed from where the index ends. A missing or unwritable index only costs time.

Memory stays small whatever the log's size: states are written to the index file
as they are made and read back one at a time; marks and failures take 16 bytes
each. The file is ``MAGIC, header offset, compressed states..., header``.
"""

from __future__ import annotations

import array
import bisect
import hashlib
import os
import sys
import tempfile
import weakref
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import msgspec

from recorder.events import Mark, TaskFailed
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.index import checkpoint
from replay.sources.file import ReadReport, open_log, read_batches

INDEX_VERSION = 2
SUFFIX = ".runreel-index"
CHECKPOINT_EVERY = 10_000
PERSIST_MIN_BYTES = 8 << 20  # smaller logs are indexed in memory, nothing written
READ_CHUNK = 1 << 18  # bytes read at a time while indexing: checkpoints land between reads
MEMORY_CHECKPOINTS = 128  # an index kept in memory is thinned to this many states
_MAGIC = b"RRINDEX2"
_PREFIX = len(_MAGIC) + 8  # the magic, then where the header starts
_HASHED = 1 << 16
_LITTLE = sys.byteorder == "little"


class CorruptIndex(Exception):
    """A stored state cannot be read back; the caller falls back to an earlier one."""


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


class Points(msgspec.Struct, array_like=True):
    """Marks or failures as stored: event numbers (int64) and times (float64), packed."""

    events: bytes = b""
    times: bytes = b""
    labels: list[str] = []  # marks only


class PointList:
    """Marks or failures in log order: 16 bytes each in memory, plus labels for marks."""

    def __init__(self, stored: Points | None = None, *, labelled: bool = False) -> None:
        self.events = array.array("q")
        self.times = array.array("d")
        self.labels: list[str] | None = [] if labelled else None
        if stored is not None:
            self.events.frombytes(stored.events)
            self.times.frombytes(stored.times)
            if not _LITTLE:
                self.events.byteswap()
                self.times.byteswap()
            if stored.labels:
                self.labels = list(stored.labels)
            lengths = {len(self.events), len(self.times)}
            if self.labels is not None:
                lengths.add(len(self.labels))
            if len(lengths) != 1:
                raise ValueError("marks or failures do not line up")

    def append(self, event: int, t: float, label: str = "") -> None:
        self.events.append(event)
        self.times.append(t)
        if self.labels is not None:
            self.labels.append(label)

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, i: int) -> Point:
        label = self.labels[i] if self.labels is not None else ""
        return Point(self.events[i], self.times[i], label)

    def __iter__(self) -> Iterator[Point]:
        for i in range(len(self.events)):
            yield self[i]

    def after(self, event: int) -> Point | None:
        """The first point past event number ``event``."""
        i = bisect.bisect_right(self.events, event)
        return self[i] if i < len(self.events) else None

    def before(self, event: int) -> Point | None:
        """The last point before event number ``event``."""
        i = bisect.bisect_left(self.events, event)
        return self[i - 1] if i > 0 else None

    def pack(self) -> Points:
        events, times = self.events, self.times
        if not _LITTLE:
            events, times = array.array("q", events), array.array("d", times)
            events.byteswap()
            times.byteswap()
        return Points(events.tobytes(), times.tobytes(), list(self.labels or ()))


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
    marks: Points
    failures: Points
    torn_line: int | None = None
    torn_bytes: int = 0
    skipped: list[tuple[int, str]] = []
    skipped_count: int = 0
    fold_id: str = ""  # checkpoint.fold_id() of the fold that made the states


_header_decoder = msgspec.msgpack.Decoder(Header)
_encoder = msgspec.msgpack.Encoder()


@dataclass
class Index:
    """A loaded or freshly built index; states come from memory or from the index file.

    The file is held open (``fd``), so it stays readable when another process
    replaces it, or when it was a temporary file that is already unlinked.
    """

    log: str
    header: Header
    blobs: dict[int, bytes] = field(default_factory=dict)  # compressed, by checkpoint position
    file: str | None = None  # where the index was read or written (None: memory, or unlinked)
    fd: int | None = None  # where stored states are read from
    marks: PointList = field(init=False)
    failures: PointList = field(init=False)
    _bad: set[int] = field(default_factory=set, init=False, repr=False)
    _closer: weakref.finalize[[int], Index] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.marks = PointList(self.header.marks, labelled=True)
        self.failures = PointList(self.header.failures)
        if self.fd is not None:
            self._use(self.fd, self.file)

    def _use(self, fd: int, file: str | None) -> None:
        """Read stored states from ``fd`` from now on (closed with the index)."""
        if self._closer is not None:
            self._closer()  # the descriptor used so far
        self.fd, self.file, self.blobs = fd, file, {}
        self._closer = weakref.finalize(self, os.close, fd)

    def state(self, i: int) -> Metrics:
        """A fresh Metrics equal to checkpoint ``i``'s state; CorruptIndex when unreadable."""
        if i == 0:
            return Metrics()  # the first checkpoint is always the empty state
        if i in self._bad:
            raise CorruptIndex(f"checkpoint {i} of the index of {self.log} is damaged")
        try:
            return checkpoint.load(zlib.decompress(self._blob(i)))
        except (OSError, zlib.error, msgspec.DecodeError, ValueError, TypeError, KeyError) as exc:
            self._bad.add(i)
            self._discard_file()
            raise CorruptIndex(f"checkpoint {i} of the index of {self.log}: {exc}") from None

    def _blob(self, i: int) -> bytes:
        """Checkpoint ``i``'s stored (compressed) state."""
        blob = self.blobs.get(i)
        if blob is not None:
            return blob
        if self.fd is None:
            raise OSError(f"no stored state for checkpoint {i}")
        cp = self.header.checkpoints[i]
        os.lseek(self.fd, cp.blob_at, os.SEEK_SET)
        data = os.read(self.fd, cp.blob_len)
        if len(data) != cp.blob_len:
            raise OSError("the index file is shorter than its header says")
        return data

    def _discard_file(self) -> None:
        """Remove a damaged index file (if it is still the one read) so the next run rebuilds."""
        if self.file is None or self.fd is None:
            return
        try:
            if os.path.samestat(os.stat(self.file), os.fstat(self.fd)):
                os.unlink(self.file)
        except OSError:
            pass

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
    key = hashlib.blake2b(os.path.realpath(log).encode(), digest_size=12).hexdigest()
    return os.path.join(base, "runreel", key + SUFFIX)


Progress = Callable[[int, int], None]  # (bytes read, bytes in the log), while indexing


def load_or_build(
    log: str,
    *,
    lenient: bool = False,
    persist: bool | None = None,
    until: Enough | None = None,
    progress: Progress | None = None,
) -> Index:
    """The index of ``log``: loaded when still valid, extended when the log grew, else built.

    ``persist``: True always writes it, False never, None only for logs of at
    least PERSIST_MIN_BYTES. ``until``: only that much of the log is needed, so
    the index may end there. ``progress`` is called as the log is read. Failing
    to read or write an index is never an error.
    """
    os.close(open_log(log))  # the reader's errors (missing, a directory, unreadable) first
    size = os.stat(log).st_size
    if persist is None:
        persist = size >= PERSIST_MIN_BYTES
    if not persist:
        return build(log, lenient=lenient, until=until, progress=progress)
    grown: Index | None = None
    for candidate in (sidecar(log), cache_path(log)):
        found = _read(candidate, log)
        if found is None or not _usable(found.header, lenient):
            continue
        state = _freshness(found, log)
        if state == "fresh":
            return found
        if state == "grew":
            h = found.header
            if until is not None and until.reached(h.count, h.first_t, h.last_t):
                return found  # what is indexed is intact and covers what is needed
            grown = found
            break
    return _build_into_file(log, lenient, grown, until, progress)


def _usable(h: Header, lenient: bool) -> bool:
    """An index read with the other --lenient setting serves when it skipped nothing."""
    return h.lenient == lenient or h.skipped_count == 0


def _build_into_file(
    log: str,
    lenient: bool,
    grown: Index | None,
    until: Enough | None = None,
    progress: Progress | None = None,
) -> Index:
    """Build (or extend) the index straight into its file: beside the log, else the cache."""
    for target in (sidecar(log), cache_path(log)):
        tmp = f"{target}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
            f = open(tmp, "w+b")  # noqa: SIM115 - closed below
        except OSError:
            continue
        try:
            with f:
                index = _build_resuming(log, lenient, grown, f, until, progress)
                fd = os.dup(f.fileno())
        except OSError:  # writing the index failed (disk full...): it stays in memory
            _unlink(tmp)
            return _build_resuming(log, lenient, grown, None, until, progress)
        except BaseException:
            _unlink(tmp)
            raise
        index._use(fd, None)
        try:
            os.replace(tmp, target)
            index.file = target
        except OSError:
            _unlink(tmp)  # still readable through ``fd``; try to keep a copy elsewhere
            save(index)
        return index
    # No place for a named file: an unnamed temporary one still keeps memory small.
    try:
        with tempfile.TemporaryFile() as f:
            index = _build_resuming(log, lenient, grown, f, until, progress)
            fd = os.dup(f.fileno())
    except OSError:
        return _build_resuming(log, lenient, grown, None, until, progress)
    index._use(fd, None)
    return index


def _build_resuming(
    log: str,
    lenient: bool,
    grown: Index | None,
    sink: BinaryIO | None,
    until: Enough | None,
    progress: Progress | None,
) -> Index:
    if grown is not None:
        try:
            return build(
                log, lenient=lenient, resume=grown, sink=sink, until=until, progress=progress
            )
        except CorruptIndex:
            if sink is not None:
                sink.seek(0)
                sink.truncate()
    return build(log, lenient=lenient, sink=sink, until=until, progress=progress)


def build(
    log: str,
    *,
    lenient: bool = False,
    resume: Index | None = None,
    sink: BinaryIO | None = None,
    until: Enough | None = None,
    progress: Progress | None = None,
) -> Index:
    """Read the log (from where ``resume`` ends, if given) and index it (up to ``until``).

    With ``sink`` (an empty file open for writing and reading), states are written
    there as they are made and the whole index file is written; otherwise they stay
    in memory, thinned to at most MEMORY_CHECKPOINTS (seeks then fold more events).
    """
    every = CHECKPOINT_EVERY
    cps: list[Checkpoint] = []
    blobs: dict[int, bytes] = {}  # by checkpoint ``events``, when kept in memory
    if sink is not None:
        sink.write(_MAGIC + bytes(8))

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
                blob = resume._blob(i) if i else zlib.compress(checkpoint.dump(Metrics()), 1)
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
    for batch in read_batches(log, lenient=lenient, report=report, chunk=READ_CHUNK):
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
        marks=marks.pack(),
        failures=failures.pack(),
        torn_line=report.torn_line,
        torn_bytes=report.torn_bytes,
        skipped=report.skipped,
        skipped_count=report.skipped_count,
        fold_id=checkpoint.fold_id(),
    )
    if sink is not None:
        _finish(sink, header)
    index = Index(log, header, {i: blobs[c.events] for i, c in enumerate(cps)} if blobs else {})
    return index


def _finish(f: BinaryIO, header: Header) -> None:
    """Append the header and say where it starts; the file is then complete."""
    at = f.tell()
    f.write(_encoder.encode(header))
    f.seek(len(_MAGIC))
    f.write(at.to_bytes(8, "little"))
    f.flush()


def save(index: Index) -> str | None:
    """Write the index beside the log, else in the cache; None when neither can be written.

    The index then reads its states from that file (and drops them from memory).
    """
    for target in (sidecar(index.log), cache_path(index.log)):
        tmp = f"{target}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
            with open(tmp, "w+b") as f:
                f.write(_MAGIC + bytes(8))
                cps = []
                for i, c in enumerate(index.header.checkpoints):
                    at = f.tell()
                    f.write(index._blob(i))
                    cps.append(msgspec.structs.replace(c, blob_at=at, blob_len=f.tell() - at))
                header = msgspec.structs.replace(index.header, checkpoints=cps)
                _finish(f, header)
                fd = os.dup(f.fileno())
            os.replace(tmp, target)
        except OSError:
            _unlink(tmp)
            continue
        index.header = header
        index._use(fd, target)
        return target
    return None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _read(path: str, log: str) -> Index | None:
    """The index stored at ``path`` when it is whole and made by this fold; else None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        prefix = os.read(fd, _PREFIX)
        if len(prefix) != _PREFIX or prefix[: len(_MAGIC)] != _MAGIC:
            raise ValueError("not an index")
        at = int.from_bytes(prefix[len(_MAGIC) :], "little")
        size = os.fstat(fd).st_size
        if not _PREFIX <= at < size:
            raise ValueError("truncated")
        os.lseek(fd, at, os.SEEK_SET)
        data = bytearray()
        while len(data) < size - at:
            chunk = os.read(fd, size - at - len(data))
            if not chunk:
                raise ValueError("truncated")
            data += chunk
        header = _header_decoder.decode(data)
        _check(header, at)
        index = Index(log, header, file=path, fd=fd)
    except (OSError, msgspec.DecodeError, ValueError):
        os.close(fd)
        return None
    return index


def _check(h: Header, blobs_end: int) -> None:
    """Raise ValueError unless the header is one this version wrote, consistent with its file."""
    if h.version != INDEX_VERSION or h.fold_id != checkpoint.fold_id():
        raise ValueError("made by another version")
    cps = h.checkpoints
    if not cps or cps[0].events != 0 or cps[-1].events != h.count:
        raise ValueError("bad checkpoints")
    previous = cps[0]
    for c in cps:
        if c.blob_at < _PREFIX or c.blob_at + c.blob_len > blobs_end:
            raise ValueError("a state lies outside the file")
        if c.events < previous.events or c.offset < previous.offset or c.offset > h.log_size:
            raise ValueError("checkpoints out of order")
        previous = c


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


def _t(m: Metrics) -> float:
    return m.last_t if m.last_t is not None else float("-inf")
