"""Where an index is kept, and whether a stored one still serves its log.

An index is stored as ``LOG.runreel-index`` (or in the user's cache directory when
the log's directory is read-only) and is validated against the log's size, mtime
and a hash of its head and of the last indexed bytes; a log that grew is indexed
from where the index ends. A missing or unwritable index only costs time.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import BinaryIO

import msgspec

from recorder.location import LogPath
from replay.index.build import Enough, Observe, Progress, build
from replay.index.format import CorruptIndex, Header, Index, begin, finish, hashes, read
from replay.sources.file import open_log

SUFFIX = ".runreel-index"
PERSIST_MIN_BYTES = 8 << 20  # smaller logs are indexed in memory, nothing written


def sidecar(log: LogPath, suffix: str = SUFFIX) -> str:
    return os.fspath(log) + suffix


def cache_path(log: LogPath, suffix: str = SUFFIX) -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = hashlib.blake2b(os.path.realpath(log).encode(), digest_size=12).hexdigest()
    return os.path.join(base, "runreel", key + suffix)


def load_or_build(
    log: LogPath,
    *,
    lenient: bool = False,
    persist: bool | None = None,
    until: Enough | None = None,
    progress: Progress | None = None,
    store: bool = False,
    jobs: int | None = None,
) -> Index:
    """The index of ``log``: loaded when still valid, extended when the log grew, else built.

    ``persist``: True always writes it, False never, None only for logs of at
    least PERSIST_MIN_BYTES. ``until``: only that much of the log is needed, so
    the index may end there. ``progress`` is called as the log is read. Failing
    to read or write an index is never an error. The post-mortem store is kept
    fresh along (built when ``store``, else extended when there is one; see
    ``replay.store.keep``), in the same read of the log where it can be.
    """
    from replay.store.keep import job_for  # the store builds on the index: imported late

    os.close(open_log(log))  # the reader's errors (missing, a directory, unreadable) first
    if persist is None:
        persist = os.stat(log).st_size >= PERSIST_MIN_BYTES
    job = job_for(log, lenient, create=store and persist) if until is None else None
    observe = job.observe if job else None
    index = _load_or_build(log, lenient, persist, until, progress, observe, jobs)
    if job is not None:
        job.finish(index, progress)
    return index


def _load_or_build(
    log: LogPath,
    lenient: bool,
    persist: bool,
    until: Enough | None,
    progress: Progress | None,
    observe: Observe | None,
    jobs: int | None = None,
) -> Index:
    if not persist:
        return build(log, lenient=lenient, until=until, progress=progress, observe=observe)
    grown: Index | None = None
    for candidate in (sidecar(log), cache_path(log)):
        found = read(candidate, log)
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
    return _build_into_file(log, lenient, grown, until, progress, observe, jobs)


def stored(log: LogPath, lenient: bool = False) -> Index | None:
    """A stored index that still serves ``log`` (as it is, or to be extended), if any."""
    for candidate in (sidecar(log), cache_path(log)):
        found = read(candidate, log)
        if found is not None and _usable(found.header, lenient):
            if _freshness(found, log) != "stale":
                return found
    return None


def _usable(h: Header, lenient: bool) -> bool:
    """An index read with the other --lenient setting serves when it skipped nothing."""
    return h.lenient == lenient or h.skipped_count == 0


def _build_into_file(
    log: LogPath,
    lenient: bool,
    grown: Index | None,
    until: Enough | None = None,
    progress: Progress | None = None,
    observe: Observe | None = None,
    jobs: int | None = None,
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
                index = _build_resuming(log, lenient, grown, f, until, progress, observe, jobs)
                fd = os.dup(f.fileno())
        except OSError:  # writing the index failed (disk full...): it stays in memory
            _unlink(tmp)
            return _build_resuming(log, lenient, grown, None, until, progress, observe)
        except BaseException:
            _unlink(tmp)
            raise
        index.attach(fd, None)
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
            index = _build_resuming(log, lenient, grown, f, until, progress, observe, jobs)
            fd = os.dup(f.fileno())
    except OSError:
        return _build_resuming(log, lenient, grown, None, until, progress, observe)
    index.attach(fd, None)
    return index


def _build_resuming(
    log: LogPath,
    lenient: bool,
    grown: Index | None,
    sink: BinaryIO | None,
    until: Enough | None,
    progress: Progress | None,
    observe: Observe | None = None,
    jobs: int | None = None,
) -> Index:
    if grown is not None:
        try:
            return build(
                log,
                lenient=lenient,
                resume=grown,
                sink=sink,
                until=until,
                progress=progress,
                observe=observe,
            )
        except CorruptIndex:
            if sink is not None:
                sink.seek(0)
                sink.truncate()
    return build(
        log, lenient=lenient, sink=sink, until=until, progress=progress, observe=observe, jobs=jobs
    )


def save(index: Index) -> str | None:
    """Write the index beside the log, else in the cache; None when neither can be written.

    The index then reads its states from that file (and drops them from memory).
    """
    for target in (sidecar(index.log), cache_path(index.log)):
        tmp = f"{target}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
            with open(tmp, "w+b") as f:
                begin(f)
                cps = []
                for i, c in enumerate(index.header.checkpoints):
                    at = f.tell()
                    f.write(index.blob(i))
                    cps.append(msgspec.structs.replace(c, blob_at=at, blob_len=f.tell() - at))
                header = msgspec.structs.replace(index.header, checkpoints=cps)
                finish(f, header)
                fd = os.dup(f.fileno())
            os.replace(tmp, target)
        except OSError:
            _unlink(tmp)
            continue
        index.header = header
        index.attach(fd, target)
        return target
    return None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _freshness(index: Index, log: LogPath) -> str:
    """fresh, grew (the indexed part is intact and more was appended) or stale."""
    h = index.header
    return freshness(log, h.log_size, h.log_mtime_ns, (h.head_hash, h.tail_hash), h.torn_bytes)


def freshness(
    log: LogPath, size: int, mtime_ns: int, hashed: tuple[str, str], torn_bytes: int
) -> str:
    """Whether what was read of ``log`` (``size`` bytes of whole lines, their ``hashes``,
    the file's mtime and torn tail then) still stands: fresh, grew or stale."""
    try:
        st = os.stat(log)
        if st.st_size < size:
            return "stale"
        if hashes(log, size) != hashed:
            return "stale"
    except OSError:
        return "stale"
    if st.st_mtime_ns == mtime_ns and st.st_size == size + torn_bytes:
        return "fresh"
    return "grew" if st.st_size > size else "stale"
