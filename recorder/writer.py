"""The writer API workers use: ``Recorder`` and ``with rec.task(...)``.

The Recorder stamps each event (time, ``src``, ``seq``), encodes it and hands the line
to its sink (recorder/sinks/): a file, one ``os.write`` per line, or a Redis stream.
"""

from __future__ import annotations

import math
import operator
import os
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
from recorder.detail import bounded, traceback_text
from recorder.errors import WriteFailed
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
from recorder.sinks import Broken, Sink, Unwritten
from recorder.sinks.file import Durability, FileSink, fsync_every
from recorder.sinks.redis import RedisSink

ENV_VAR = "RUNREEL_LOG"

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
        every = fsync_every(durability)  # a stream's durability is the server's (appendfsync)
        self._lock = threading.Lock()
        self._buf = bytearray()
        self._closed = False
        self._owner = not _attach
        self._finished = False
        start = not _attach
        self._sink: Sink
        if is_url(self.path):
            self._sink = RedisSink(self.path, start=start, overwrite=overwrite)
        else:
            self._sink = FileSink(self.path, start=start, overwrite=overwrite, every=every)
        self._write = self._sink.write
        self._new_identity()
        _live.add(self)
        self.run = run or ("" if _attach else uuid.uuid4().hex[:12])
        try:
            if _attach:
                if self._sink.warning:
                    self.log(self._sink.warning, level="warning")
                return
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
            try:
                self._write(buf)
            except Unwritten:  # nothing of it is in the log: the seq is free again
                self._seq -= 1
                raise
            except Broken:
                self._seq -= 1
                self._closed = True
                raise
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
        detail: str = "",
    ) -> None:
        """Attempt ``attempt`` failed with ``error``; the next one starts after ``backoff`` s.

        ``detail`` is the full story (a traceback, the output), cut in the middle past
        recorder.detail.MAX_DETAIL characters.
        """
        pause = _finite(backoff, "backoff")
        if pause < 0:
            raise ValueError(f"backoff must be 0 or more seconds, not {pause!r}")
        self._append(
            TaskRetrying,
            str(task),
            str(worker),
            _attempt(attempt),
            str(error),
            bounded(str(detail)),
            pause,
        )

    def succeeded(self, task: str, *, worker: str = "") -> None:
        self._append(TaskSucceeded, str(task), str(worker))

    def failed(self, task: str, *, worker: str = "", error: str = "", detail: str = "") -> None:
        """The task failed for good: ``error`` in one line, ``detail`` the full story (bounded)."""
        self._append(TaskFailed, str(task), str(worker), str(error), bounded(str(detail)))

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
        """Record the block as one task: started, then succeeded or failed with the error.

        A failure records the exception's last line as ``error`` and its traceback as
        ``detail``; the exception goes on (catch it outside the block to go on with the next).
        """
        self.task_started(task, worker=worker, attempt=attempt)
        try:
            yield
        except BaseException as exc:
            detail = traceback_text(exc, _from_block(exc))
            self.failed(task, worker=worker, error=_error_text(exc), detail=detail)
            raise
        self.succeeded(task, worker=worker)

    # Lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        """Flush to disk (when a durability setting asks for it) and close."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._sink.close()

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


_TASK_CODE = Recorder.task.__wrapped__.__code__  # type: ignore[attr-defined]


def _from_block(exc: BaseException) -> TracebackType | None:
    """The traceback from the ``with rec.task(...)`` block on: task()'s own frame left out."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code is _TASK_CODE:
        return tb.tb_next
    return tb


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
