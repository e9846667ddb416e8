"""Where a store is kept, whether it still serves its log, and bringing it up to date.

A store lives beside the log as ``LOG.runreel-store.sqlite``, or in the user's cache
directory when the log's directory is read-only: the index's places and freshness
rules (``replay.index.store``), with the same size, mtime and hashes kept in its
``meta`` table. A log that grew is read from where the store ends; a replaced one
is read again. A new store is built in a temporary file and renamed into place; an
extension is one transaction. Failing to write a store is never an error: the
commands then build a temporary one (only slower).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from typing import Any

from recorder.location import LogPath
from replay.core.signature import RULE_VERSION
from replay.index.build import READ_CHUNK, Progress
from replay.index.format import Index, hashes
from replay.index.store import cache_path, freshness, sidecar
from replay.sources.file import Batch, ReadReport, read_batches
from replay.store import schema, strips
from replay.store.build import Builder

SUFFIX = ".runreel-store.sqlite"
CACHE_KIB = 8000  # the cache of every connection to a store (``new_store``)


def places(log: LogPath) -> tuple[str, str]:
    """Where a store of ``log`` may be: beside it, then in the cache."""
    return sidecar(log, SUFFIX), cache_path(log, SUFFIX)


def read_meta(path: str) -> dict[str, Any] | None:
    """The ``meta`` table of the store at ``path``; None when there is no readable store."""
    if not os.path.isfile(path):
        return None
    try:
        conn = sqlite3.connect(f"file:{_quote(path)}?mode=ro", uri=True)
        try:
            return dict(conn.execute("SELECT key, value FROM meta").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def state(meta: dict[str, Any] | None, log: LogPath, lenient: bool) -> str:
    """fresh, grew or stale (also: missing, made by another version, other --lenient)."""
    if meta is None or meta.get("complete") != 1:
        return "stale"
    if meta.get("schema") != schema.SCHEMA_VERSION or meta.get("rule") != RULE_VERSION:
        return "stale"
    if bool(meta.get("lenient")) != lenient and meta.get("skipped_count"):
        return "stale"
    try:
        return freshness(
            log,
            int(meta["log_size"]),
            int(meta["log_mtime_ns"]),
            (str(meta["head_hash"]), str(meta["tail_hash"])),
            int(meta["torn_bytes"]),
        )
    except (KeyError, TypeError, ValueError):
        return "stale"


def fresh_store(log: LogPath, lenient: bool) -> str | None:
    """The path of a store that serves ``log`` as it is now, if there is one."""
    for path in places(log):
        if state(read_meta(path), log, lenient) == "fresh":
            return path
    return None


def job_for(log: LogPath, lenient: bool, *, create: bool) -> Job | None:
    """What it takes to bring the store of ``log`` up to date; None when nothing (or when
    there is no store and ``create`` is False)."""
    for path in places(log):
        meta = read_meta(path)
        if meta is None:
            continue
        found = state(meta, log, lenient)
        if found == "fresh":
            return None
        if found == "grew":
            return Job(log, lenient, path, meta)
        return Job(log, lenient, path, None)  # stale: built again, in its place
    return Job(log, lenient, None, None) if create else None


class Job:
    """Bringing one store up to date, fed by the index's read of the log where it can be."""

    def __init__(
        self, log: LogPath, lenient: bool, path: str | None, meta: dict[str, Any] | None
    ) -> None:
        self.log, self.lenient, self.path, self.meta = log, lenient, path, meta
        self.offset = int(meta["log_size"]) if meta else 0
        self.expected: int | None = None  # where the next observed batch must start
        self.declined = False
        self.builder: Builder | None = None
        self.tmp: str | None = None
        self.target: str | None = None
        self.stat: os.stat_result | None = None

    def observe(self, batch: Batch, start: int, end: int) -> None:
        """Take a batch the index read; a read that does not continue ours is declined."""
        if self.declined:
            return
        try:
            if self.builder is None:
                if start != self.offset or not self._begin():
                    self.declined = True
                    return
            elif start != self.expected:
                self._abort()
                self.declined = True
                return
            assert self.builder is not None
            self.builder.feed(batch)
            self.expected = end
        except (OSError, sqlite3.Error):
            self._abort()
            self.declined = True

    def finish(self, index: Index, progress: Progress | None = None) -> str | None:
        """Complete the store (reading the log itself when the index's read did not serve);
        returns its path, or None when it could not be written."""
        h = index.header
        try:
            if self.builder is not None and self.expected == h.log_size:
                return self._complete(index.report(), h.log_mtime_ns)
            self._abort()
            return self.run(progress)
        except (OSError, sqlite3.Error):
            self._abort()
            return None

    def run(self, progress: Progress | None = None) -> str | None:
        """Read the log from where the store ends and complete the store."""
        if not self._begin():
            return None
        assert self.builder is not None and self.stat is not None
        meta = self.meta or {}
        report = ReadReport(
            self.log,
            lines=int(meta.get("lines", 0)),
            offset=self.offset,
            skipped_count=int(meta.get("skipped_count", 0)),
        )
        for batch in read_batches(self.log, lenient=self.lenient, report=report, chunk=READ_CHUNK):
            self.builder.feed(batch)
            if progress is not None:
                progress(report.offset, self.stat.st_size)
        return self._complete(report, self.stat.st_mtime_ns)

    def _begin(self) -> bool:
        """Open the store to write: a new temporary file, or the found one in a transaction."""
        self.stat = os.stat(self.log)
        if self.meta is not None and self.path is not None:
            conn = _connect(self.path)
            try:
                conn.execute("BEGIN IMMEDIATE")
                now = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                if now.get("log_size") != self.meta.get("log_size"):
                    raise sqlite3.OperationalError("extended meanwhile")  # by another process
            except sqlite3.Error:
                conn.close()
                return self._begin_new([p for p in places(self.log) if p != self.path])
            self.target = self.path
            meta = self.meta
            self.builder = Builder(
                conn, int(meta["events"]), meta.get("first_t"), meta.get("last_t")
            )
            return True
        return self._begin_new(list(places(self.log)) if self.path is None else [self.path])

    def _begin_new(self, targets: list[str]) -> bool:
        self.meta, self.offset = None, 0
        for target in targets:
            tmp = f"{target}.{os.getpid()}.tmp"
            try:
                os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
                _unlink(tmp)
                conn = new_store(tmp)
            except (OSError, sqlite3.Error):
                _unlink(tmp)
                continue
            self.tmp, self.target = tmp, target
            self.builder = Builder(conn, 0)
            return True
        return False

    def _complete(self, report: ReadReport, mtime_ns: int) -> str:
        assert self.builder is not None and self.target is not None
        conn = self.builder.conn
        self.builder.finish()
        if self.tmp is not None:
            conn.execute("COMMIT")
            schema.index(conn)
            conn.execute("BEGIN")
        b = self.builder
        strips.keep(conn, b.first_t, b.last_t)
        write_meta(conn, b.events, report, mtime_ns, self.lenient, b.first_t, b.last_t)
        conn.execute("COMMIT")
        conn.close()
        self.builder = None
        if self.tmp is not None:
            tmp, self.tmp = self.tmp, None
            try:
                self.target = _place(tmp, [self.target, *places(self.log)])
            finally:
                _unlink(tmp)
        return self.target

    def _abort(self) -> None:
        if self.builder is not None:
            try:
                self.builder.conn.close()  # an open transaction is rolled back
            except sqlite3.Error:
                pass
            self.builder = None
        if self.tmp is not None:
            _unlink(self.tmp)
            self.tmp = None


def _place(tmp: str, targets: list[str]) -> str:
    """Rename a finished store into the first place that takes it (copied when the place
    is elsewhere); OSError when none does."""
    failure: OSError | None = None
    for target in dict.fromkeys(targets):
        try:
            if os.path.dirname(os.path.abspath(target)) == os.path.dirname(os.path.abspath(tmp)):
                os.replace(tmp, target)
            else:
                os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
                copy = f"{target}.{os.getpid()}.tmp"
                try:
                    shutil.copyfile(tmp, copy)
                    os.replace(copy, target)
                finally:
                    _unlink(copy)
            return target
        except OSError as exc:
            failure = exc
    raise failure or OSError("no place for the store")


def new_store(path: str, *, threads: bool = False) -> sqlite3.Connection:
    """An empty store at ``path``, open for a first build (no journal: the file is
    renamed into place only when complete), inside a transaction (``threads``: handed
    from one thread to another, used by one at a time)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=not threads)
    # The page size first: a cache size set before it is kept as a number of pages.
    conn.execute(f"PRAGMA page_size = {schema.PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    # A bigger cache costs memory, not time: 8 MB, kept in the file for every connection
    # that opens it later (a live view's store, extended every second, ran 1.4x slower
    # on bench/seek.py's log with SQLite's default 2 MB).
    conn.execute(f"PRAGMA default_cache_size = {CACHE_KIB * 1024 // schema.PAGE_SIZE}")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    schema.create(conn)
    conn.execute("BEGIN")
    return conn


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA synchronous = OFF")  # a store can always be built again
    return conn


def write_meta(
    conn: sqlite3.Connection,
    events: int,
    report: ReadReport,
    mtime_ns: int,
    lenient: bool,
    first_t: float | None,
    last_t: float | None = None,
) -> None:
    """What identifies the part of the log the store holds (see ``state``)."""
    head, tail = hashes(report.path, report.offset)
    values = {
        "schema": schema.SCHEMA_VERSION,
        "rule": RULE_VERSION,
        "lenient": int(lenient),
        "log_size": report.offset,
        "log_mtime_ns": mtime_ns,
        "head_hash": head,
        "tail_hash": tail,
        "torn_bytes": report.torn_bytes,
        "events": events,
        "lines": report.lines,
        "skipped_count": report.skipped_count,
        "complete": 1,
    }
    if first_t is not None:
        values["first_t"] = first_t
    if last_t is not None:
        values["last_t"] = last_t
    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(os.path.abspath(path))


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
