"""The index file: its layout, and reading, checking and finishing one.

The file is ``MAGIC, header offset, compressed states..., header``. The header holds
everything but the states (checkpoints, marks, failures, what the reader found, and
what identifies the indexed part of the log), so a reader loads it first and each
state only when a seek needs it.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import weakref
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

import msgspec

from recorder.location import LogPath
from replay.core.metrics import Metrics
from replay.index import checkpoint
from replay.index.points import PointList, Points
from replay.sources.file import ReadReport

INDEX_VERSION = 3
_MAGIC = b"RRINDEX2"
_PREFIX = len(_MAGIC) + 8  # the magic, then where the header starts
_HASHED = 1 << 16


class CorruptIndex(Exception):
    """A stored state cannot be read back; the caller falls back to an earlier one."""


class Checkpoint(msgspec.Struct, array_like=True, frozen=True):
    """The fold state after ``events`` events; the next line starts at ``offset``."""

    events: int
    offset: int
    lines: int
    t: float  # the latest event time folded so far
    blob_at: int = 0
    blob_len: int = 0


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

    log: LogPath
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
            self.attach(self.fd, self.file)

    def attach(self, fd: int, file: str | None) -> None:
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
            return checkpoint.load(zlib.decompress(self.blob(i)))
        except (OSError, zlib.error, msgspec.DecodeError, ValueError, TypeError, KeyError) as exc:
            self._bad.add(i)
            self._discard_file()
            raise CorruptIndex(f"checkpoint {i} of the index of {self.log}: {exc}") from None

    def blob(self, i: int) -> bytes:
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


def begin(f: BinaryIO) -> None:
    """Start an index file: the magic, and room for where its header will start."""
    f.write(_MAGIC + bytes(8))


def finish(f: BinaryIO, header: Header) -> None:
    """Append the header and say where it starts; the file is then complete."""
    at = f.tell()
    f.write(_encoder.encode(header))
    f.seek(len(_MAGIC))
    f.write(at.to_bytes(8, "little"))
    f.flush()


def read(path: str, log: LogPath) -> Index | None:
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


def hashes(log: LogPath, size: int) -> tuple[str, str]:
    """The header's hashes of the first ``size`` bytes of ``log``: of their head and tail."""
    head = _hash(log, 0, min(size, _HASHED))
    tail = _hash(log, max(size - 4096, 0), min(size, 4096))
    return head, tail


def _hash(path: LogPath, start: int, length: int) -> str:
    with open(path, "rb") as f:
        f.seek(start)
        return hashlib.blake2b(f.read(length), digest_size=16).hexdigest()
