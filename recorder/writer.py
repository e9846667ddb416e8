"""The writer API workers use: ``Recorder`` and ``with rec.task(...)``.

Every event is one ``os.write`` of a whole line to an ``O_APPEND`` descriptor,
so lines from many threads and processes never interleave and a crash leaves at
most one torn last line. See docs/log-format.md for the durability guarantees.
"""

from __future__ import annotations

import errno
import math
import operator
import os
import stat
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Literal

from recorder import codec
from recorder.errors import LogExists, WriteFailed
from recorder.events import (
    FORMAT_VERSION,
    AnyEvent,
    Log,
    Mark,
    Metric,
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
    TotalChanged,
)
from recorder.location import is_url
from recorder.sinks.redis import RedisSink

ENV_VAR = "RUNREEL_LOG"
Durability = Literal["never", "always"] | int

_live: weakref.WeakSet[Recorder] = weakref.WeakSet()


def _after_fork() -> None:
    for rec in list(_live):
        rec._new_identity()
        rec._owner = False  # the parent still owns the run; a child only adds to it


os.register_at_fork(after_in_child=_after_fork)


class Recorder:
    """Appends events for one writer (one ``src``) to a runreel log.

    Start a run with ``Recorder(path, name=..., total=...)``; attach a worker
    process to a run that exists with ``Recorder.attach(path)`` (or from the
    RUNREEL_LOG environment variable). Safe to share between threads and
    asyncio tasks; a forked child gets its own ``src`` automatically. ``path`` may
    also be a Redis stream URL, ``redis://host:port/DB/STREAM`` (docs/backends.md).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        name: str = "",
        total: int | None = None,
        meta: Mapping[str, str] | None = None,
        run: str | None = None,
        overwrite: bool = False,
        durability: Durability = "never",
        _attach: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self._every = _fsync_every(durability)
        self._lock = threading.Lock()
        self._buf = bytearray()
        self._unsynced = 0
        self._closed = False
        self._owner = not _attach
        self._finished = False
        self._sink: RedisSink | None = None
        if is_url(self.path):  # a Redis stream (recorder/sinks/redis.py); a file goes on below
            self._sink = RedisSink(self.path, start=not _attach, overwrite=overwrite)
            self._new_identity()
            _live.add(self)
            self.run = run or ("" if _attach else uuid.uuid4().hex[:12])
            if _attach:
                return
            try:
                meta_ = {str(k): str(v) for k, v in (meta or {}).items()}
                self._append(RunStarted, FORMAT_VERSION, self.run, str(name), _count(total), meta_)
            except BaseException:
                self.close()
                raise
            return
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        if not _attach:
            flags |= os.O_CREAT | (os.O_TRUNC if overwrite else 0)
        try:
            self._fd = os.open(self.path, flags, 0o644)
        except FileNotFoundError as exc:
            if _attach:
                raise WriteFailed(
                    f"cannot attach to {self.path}: no such log (start the run first)"
                ) from exc
            raise WriteFailed(f"cannot open {self.path} for writing: {exc.strerror}") from exc
        except OSError as exc:
            raise WriteFailed(f"cannot open {self.path} for writing: {exc.strerror}") from exc
        self._new_identity()
        _live.add(self)
        if _attach:
            self.run = run or ""
            torn, at = _torn_tail(self.path, self._fd)
            if torn:  # a writer crashed mid-line: end that line, so ours do not glue onto it
                try:
                    if os.write(self._fd, b"\n") != 1:
                        raise OSError(errno.ENOSPC, "short write (disk full?)")
                    # The line may only have been in the middle of its write() (a big line
                    # grows page by page): then its own newline came first, ours only adds
                    # a blank line (readers skip those) and there is nothing to report.
                    ours = os.lseek(self._fd, 0, os.SEEK_CUR) - 1
                    if _read_at(self.path, ours - 1, 1) != b"\n":
                        self.log(
                            f"{torn} bytes of an incomplete line (a write cut short, e.g. by "
                            f"a crash) ended the log at byte {at}; a newline now ends them, "
                            "so readers report one bad line there (--lenient skips it)",
                            level="warning",
                        )
                except OSError as exc:
                    self.close()
                    raise WriteFailed(f"cannot write to {self.path}: {exc.strerror}") from exc
                except BaseException:
                    self.close()
                    raise
            return
        if os.fstat(self._fd).st_size > 0:
            os.close(self._fd)
            self._closed = True
            raise LogExists(self.path)
        self.run = run or uuid.uuid4().hex[:12]
        try:
            meta_ = {str(k): str(v) for k, v in (meta or {}).items()}
            self._append(RunStarted, FORMAT_VERSION, self.run, str(name), _count(total), meta_)
        except BaseException:
            self.close()
            raise

    @classmethod
    def attach(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        durability: Durability = "never",
    ) -> Recorder:
        """A writer for a run that already exists (e.g. in a worker process)."""
        if path is None:
            path = os.environ.get(ENV_VAR)
            if not path:
                raise WriteFailed(f"no log given and {ENV_VAR} is not set")
        return cls(path, durability=durability, _attach=True)

    def _new_identity(self) -> None:
        self.src = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._seq = 0
        self._lock = threading.Lock()

    # Writing ------------------------------------------------------------------

    def emit(self, event: AnyEvent) -> None:
        """Append a prepared event, stamped with this writer's time, src and seq."""
        stamp = ("t", "src", "seq")
        fields = [getattr(event, f) for f in event.__struct_fields__ if f not in stamp]
        self._append(type(event), *fields)

    def _append(self, cls: type[AnyEvent], *fields: Any) -> None:
        """Stamp and write one event; ``fields`` are cls's own, in order (t, src, seq come last)."""
        lock = self._lock
        lock.acquire()  # not ``with``: this is the path of every event, and it costs half
        try:
            if self._closed:
                raise WriteFailed(f"{self.path}: recorder is closed")
            self._seq += 1
            buf = self._buf
            try:
                # whole microseconds, rounded: round(time.time(), 6) would cost more than the write
                t = (time.time_ns() + 500) // 1000 / 1e6
                stamped = cls(*fields, t=t, src=self.src, seq=self._seq)
                codec.encode_into(stamped, buf)  # resizes buf to the line: no clear() needed
            except (TypeError, ValueError):  # e.g. a lone surrogate: nothing was written
                self._seq -= 1
                raise
            if self._sink is not None:  # the seq stays used when this fails: readers see a gap
                self._sink.write(buf)
                return
            try:
                written = os.write(self._fd, buf)
            except OSError as exc:
                self._seq -= 1
                raise WriteFailed(f"cannot write to {self.path}: {exc.strerror}") from exc
            if written != len(buf):
                # Take the partial line back, so the next event cannot glue onto it. When
                # another writer appended after it, it stays for good: stop writing.
                self._seq -= 1
                short = f"short write to {self.path}: {written} of {len(buf)} bytes (disk full?)"
                try:
                    end = os.lseek(self._fd, 0, os.SEEK_CUR)
                    alone = os.fstat(self._fd).st_size == end  # and the bytes are ours:
                    alone = alone and _read_at(self.path, end - written, written) == buf[:written]
                    if written and alone:
                        os.ftruncate(self._fd, end - written)
                except OSError:
                    alone = False
                if written and not alone:
                    self._closed = True
                    os.close(self._fd)
                    raise WriteFailed(
                        f"{short}; the partial line could not be removed, so this recorder "
                        "is closed (the log has one bad line)"
                    )
                raise WriteFailed(f"{short}; nothing of the event was kept")
            if self._every:
                self._unsynced += 1
                if self._unsynced >= self._every:
                    self._unsynced = 0
                    self._fsync()
        finally:
            lock.release()

    def task_started(self, task: str, *, worker: str = "", attempt: int = 1) -> None:
        self._append(TaskStarted, str(task), str(worker), _attempt(attempt))

    def retry(
        self,
        task: str,
        *,
        worker: str = "",
        attempt: int = 1,
        error: str = "",
        backoff: float = 0,
    ) -> None:
        """Attempt ``attempt`` failed with ``error``; the next one starts after ``backoff`` s."""
        pause = _finite(backoff, "backoff")
        if pause < 0:
            raise ValueError(f"backoff must be 0 or more seconds, not {pause!r}")
        self._append(TaskRetrying, str(task), str(worker), _attempt(attempt), str(error), pause)

    def succeeded(self, task: str, *, worker: str = "") -> None:
        self._append(TaskSucceeded, str(task), str(worker))

    def failed(self, task: str, *, worker: str = "", error: str = "") -> None:
        self._append(TaskFailed, str(task), str(worker), str(error))

    def skip(self, task: str, *, worker: str = "", reason: str = "") -> None:
        self._append(TaskSkipped, str(task), str(worker), str(reason))

    def log(self, msg: str, *, level: str = "info") -> None:
        self._append(Log, str(level), str(msg))

    def mark(self, label: str) -> None:
        """A labelled moment that replay can seek to (``mark:LABEL``)."""
        self._append(Mark, str(label))

    def metric(
        self,
        name: str,
        value: float = 1.0,
        *,
        kind: Literal["counter", "gauge"] = "counter",
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """A counter increment (default) or a gauge value."""
        if kind not in ("counter", "gauge"):
            raise ValueError(f"metric kind must be 'counter' or 'gauge', not {kind!r}")
        labels = {str(k): str(v) for k, v in (labels or {}).items()}
        self._append(Metric, str(name), kind, _finite(value, "metric value"), labels)

    def set_total(self, total: int | None) -> None:
        self._append(TotalChanged, _count(total))

    def finish(self, status: str = "ok", *, exit_status: int | None = None) -> None:
        """Record the end of the run (once; later calls are ignored)."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self._append(RunFinished, status, exit_status)

    @contextmanager
    def task(self, task: str, *, worker: str = "", attempt: int = 1) -> Iterator[None]:
        """Record the block as one task: started, then succeeded or failed with the error."""
        self.task_started(task, worker=worker, attempt=attempt)
        try:
            yield
        except BaseException as exc:
            self.failed(task, worker=worker, error=_error_text(exc))
            raise
        self.succeeded(task, worker=worker)

    # Lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        """Flush to disk (when a durability setting asks for it) and close."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._sink is not None:  # durability is the server's (appendfsync)
                self._sink.close()
                return
            try:
                if self._every:
                    self._fsync()
            finally:
                os.close(self._fd)

    def _fsync(self) -> None:
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise WriteFailed(f"cannot flush {self.path} to disk: {exc.strerror}") from exc

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._owner and not self._finished and not self._closed:
                if exc is None or (isinstance(exc, SystemExit) and exc.code in (0, None)):
                    self.finish("ok")
                elif isinstance(exc, KeyboardInterrupt):
                    self.finish("interrupted")
                else:
                    self.log(_error_text(exc), level="error")
                    code = exc.code if isinstance(exc, SystemExit) else None
                    self.finish("failed", exit_status=code if isinstance(code, int) else None)
            elif exc is not None and not self._closed:
                self.log(_error_text(exc), level="error")
        finally:
            self.close()


def _finite(value: float, what: str) -> float:
    """``value`` as a float, refusing NaN and infinities (JSON has no way to write them)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, not {number!r}")
    return number


def _count(total: int | None) -> int | None:
    """A planned task count as readers take it: None (not known) or a whole number >= 0."""
    if total is None:
        return None
    number = operator.index(total)  # TypeError for 5.0 or "5": the format has integers
    if number < 0:
        raise ValueError(f"total must be 0 or more, not {number}")
    return number


def _attempt(attempt: int) -> int:
    """An attempt number as readers take it: attempts count from 1."""
    number = operator.index(attempt)
    if number < 1:
        raise ValueError(f"attempt must be 1 or more, not {number}")
    return number


def _error_text(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text or type(exc).__name__


def _torn_tail(path: str, fd: int) -> tuple[int, int]:
    """Bytes after the last newline of the log open on ``fd`` (a line a crash cut short)
    and the offset they start at; (0, 0) when it ends with a whole line or is no file."""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return 0, 0
        rfd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return 0, 0
    try:
        if os.fstat(rfd).st_ino != os.fstat(fd).st_ino:
            return 0, 0
        seen = _tail(rfd)
        if seen[0]:  # a big line grows page by page while it is written: is it still growing?
            time.sleep(0.05)
            if _tail(rfd) != seen:
                return 0, 0
        return seen
    except OSError:
        return 0, 0
    finally:
        os.close(rfd)


def _tail(rfd: int) -> tuple[int, int]:
    """(bytes after the last newline, where they start) of the file open on ``rfd``."""
    end = pos = os.fstat(rfd).st_size
    if end == 0 or os.pread(rfd, 1, end - 1) == b"\n":
        return 0, 0
    while pos > 0:
        start = max(pos - (1 << 16), 0)
        newline = os.pread(rfd, pos - start, start).rfind(b"\n")
        if newline >= 0:
            return end - (start + newline + 1), start + newline + 1
        pos = start
    return end, 0


def _read_at(path: str, offset: int, size: int) -> bytes:
    """``size`` bytes of the file at ``path`` from ``offset`` (b"" when they cannot be read)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return b""
    try:
        return os.pread(fd, size, offset) if offset >= 0 else b""
    except OSError:
        return b""
    finally:
        os.close(fd)


def _fsync_every(durability: Durability) -> int:
    if durability == "never":
        return 0
    if durability == "always":
        return 1
    if isinstance(durability, int) and not isinstance(durability, bool) and durability > 0:
        return durability
    raise ValueError(f"durability must be 'never', 'always' or a positive int, not {durability!r}")
