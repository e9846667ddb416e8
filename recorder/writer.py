"""The writer API workers use: ``Recorder`` and ``with rec.task(...)``.

The Recorder stamps each event (time, ``src``, ``seq``), encodes it and hands the line
to its sink (recorder/sinks/): a file, one ``os.write`` per line, or a Redis stream.
With ``linger`` it buffers whole lines and writes them in batches (recorder/batch.py).
"""

from __future__ import annotations

import operator
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Literal

from recorder import batch
from recorder.batch import deliver
from recorder.checks import attempt_number, count, finite, linger_seconds
from recorder.codec import TaskFailedPlain, TaskRetryingPlain, encode_struct_into
from recorder.detail import bounded, error_line, traceback_text
from recorder.errors import WriteFailed
from recorder.events import (
    FORMAT_VERSION,
    AnyEvent,
    Event,
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
from recorder.placing import Placing
from recorder.sinks import Sink
from recorder.sinks.file import Durability, FileSink, fsync_every
from recorder.sinks.redis import RedisSink

ENV_VAR = "RUNREEL_LOG"
_time = time.time  # t = _time() * 1e6 // 1 / 1e6: whole microseconds, cheaper than round(t, 6)
_deferred = batch.deferred  # the same list: one global load on the path of every event
BATCH_BYTES = 1 << 16  # a batch is written when it reaches this size, whatever its age

_live: weakref.WeakSet[Recorder] = weakref.WeakSet()


def _after_fork() -> None:
    for rec in list(_live):
        rec._new_identity()
        rec._owner = False  # the parent still owns the run; a child only adds to it


os.register_at_fork(after_in_child=_after_fork)


class Recorder(Placing, batch.Batching):
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
        linger: float | None = None,
        batch_bytes: int = BATCH_BYTES,
        _attach: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        every = fsync_every(durability)  # a stream's durability is the server's (appendfsync)
        self.linger = linger_seconds(linger)
        limit = operator.index(batch_bytes)
        if limit < 1:
            raise ValueError(f"batch_bytes must be 1 or more, not {limit}")
        self._buf = bytearray()  # the line being written (encoded in place, no allocation)
        self._forking = 0  # the pid that holds the lock through a fork
        self._closed = False
        self._owner = not _attach
        self._finished = False
        start = not _attach
        self._sink: Sink
        if is_url(self.path):
            self._sink = RedisSink(self.path, start=start, overwrite=overwrite)
        else:
            self._sink = FileSink(self.path, start=start, overwrite=overwrite, every=every)
        self._batch: batch.Batch | None = None
        self._queue: list[Event] = []  # the open batch's queue (with linger): events join it
        self._room = 0  # how many more may join it (0: each event goes through _put_line)
        self._put: Callable[[bytearray], None] = self._sink.write
        self._file: FileSink | None = None  # the file the hot path writes to itself
        self._fd = -1  # its descriptor (-1: every line goes through self._put)
        if isinstance(self._sink, FileSink) and not every and self.linger is None:
            self._file = self._sink
            self._fd = self._sink.fd
        if self.linger is not None:
            self._batch = batch.Batch(self._sink, self._flush_quietly, self.linger, limit)
            self._queue = self._batch.queue
        self._new_identity()
        _live.add(self)
        if self._batch is not None:
            batch.watch(self)
        self.run = run or ("" if _attach else uuid.uuid4().hex[:12])
        try:
            if _attach:
                if self._sink.warning:
                    self.log(self._sink.warning, level="warning")
                return
            meta_ = {str(k): str(v) for k, v in (meta or {}).items()}
            self._append(RunStarted, FORMAT_VERSION, self.run, str(name), count(total), meta_)
        except BaseException:
            self.close()
            raise

    @classmethod
    def attach(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        durability: Durability = "never",
        linger: float | None = None,
        batch_bytes: int = BATCH_BYTES,
    ) -> Recorder:
        """A writer for a run that already exists (e.g. in a worker process)."""
        if path is None:
            path = os.environ.get(ENV_VAR)
            if not path:
                raise WriteFailed(f"no log given and {ENV_VAR} is not set")
        return cls(
            path, durability=durability, linger=linger, batch_bytes=batch_bytes, _attach=True
        )

    def _new_identity(self) -> None:
        self.src = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._seq = 0
        # An RLock when batching: the signal handler asks whether its thread holds it.
        self._lock = threading.Lock() if self.linger is None else threading.RLock()

    # Writing ------------------------------------------------------------------

    def emit(self, event: AnyEvent) -> None:
        """Append a prepared event, stamped with this writer's time, src and seq."""
        cls: type[Event] = type(event)
        skip = {"t", "src", "seq"}
        if isinstance(event, TaskFailed | TaskRetrying) and not event.detail:
            cls = TaskFailedPlain if isinstance(event, TaskFailed) else TaskRetryingPlain
            skip.add("detail")  # as codec.encode does: an empty detail is left out
        self._append(cls, *[getattr(event, f) for f in event.__struct_fields__ if f not in skip])

    def _append(self, cls: type[Event], *fields: Any) -> None:
        """Stamp and write one event; ``fields`` are cls's own, in order (t, src, seq come last).

        task_started() and succeeded() repeat these lines, and _place's, with their own
        class: they are most of the events, and each call costs a tenth of a write.
        """
        lock = self._lock
        lock.acquire()  # not ``with``: this is the path of every event, and it costs half
        try:
            seq = self._seq + 1
            self._place(cls(*fields, t=_time() * 1e6 // 1 / 1e6, src=self.src, seq=seq))
            self._seq = seq
        finally:
            lock.release()
        if _deferred:  # a signal came while the lock was held
            deliver()

    def task_started(self, task: str, *, worker: str = "", attempt: int = 1) -> None:
        if attempt.__class__ is not int or attempt < 1:
            attempt = attempt_number(attempt)
        task, worker = f"{task}", f"{worker}"  # str(x), without a call for a str
        lock = self._lock
        lock.acquire()  # _append's and _place's lines, inline (see there)
        try:
            seq = self._seq + 1
            event = TaskStarted(
                task, worker, attempt, t=_time() * 1e6 // 1 / 1e6, src=self.src, seq=seq
            )
            fd = self._fd
            if fd >= 0:
                line = self._buf
                encode_struct_into(event, line, 0)
                line += b"\n"
                try:
                    written = os.write(fd, line)
                except OSError as exc:
                    self._file_failed(line, exc)
                if written != len(line):
                    self._file_failed(line, written)
            else:
                queue = self._queue
                # ASCII text always encodes: the queue is encoded later, all at once
                if len(queue) < self._room and task.isascii() and worker.isascii():
                    queue.append(event)
                else:
                    self._put_line(event)
            self._seq = seq
        finally:
            lock.release()
        if _deferred:  # a signal came while the lock was held
            deliver()

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
        pause = finite(backoff, "backoff")
        if pause < 0:
            raise ValueError(f"backoff must be 0 or more seconds, not {pause!r}")
        text = bounded(str(detail))
        if text:
            self._append(
                TaskRetrying,
                str(task),
                str(worker),
                attempt_number(attempt),
                str(error),
                text,
                pause,
            )
        else:  # no detail: the line leaves the field out
            self._append(
                TaskRetryingPlain,
                str(task),
                str(worker),
                attempt_number(attempt),
                str(error),
                pause,
            )

    def succeeded(self, task: str, *, worker: str = "") -> None:
        task, worker = f"{task}", f"{worker}"
        lock = self._lock
        lock.acquire()  # _append's and _place's lines, inline (see there)
        try:
            seq = self._seq + 1
            event = TaskSucceeded(task, worker, t=_time() * 1e6 // 1 / 1e6, src=self.src, seq=seq)
            fd = self._fd
            if fd >= 0:
                line = self._buf
                encode_struct_into(event, line, 0)
                line += b"\n"
                try:
                    written = os.write(fd, line)
                except OSError as exc:
                    self._file_failed(line, exc)
                if written != len(line):
                    self._file_failed(line, written)
            else:
                queue = self._queue
                # ASCII text always encodes: the queue is encoded later, all at once
                if len(queue) < self._room and task.isascii() and worker.isascii():
                    queue.append(event)
                else:
                    self._put_line(event)
            self._seq = seq
        finally:
            lock.release()
        if _deferred:  # a signal came while the lock was held
            deliver()

    def failed(self, task: str, *, worker: str = "", error: str = "", detail: str = "") -> None:
        """The task failed for good: ``error`` in one line, ``detail`` the full story (bounded)."""
        text = bounded(str(detail))
        if text:
            self._append(TaskFailed, str(task), str(worker), str(error), text)
        else:  # no detail: the line leaves the field out
            self._append(TaskFailedPlain, str(task), str(worker), str(error))

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
        self._append(Metric, str(name), kind, finite(value, "metric value"), labels)

    def set_total(self, total: int | None) -> None:
        self._append(TotalChanged, count(total))

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
            self.failed(task, worker=worker, error=error_line(exc), detail=detail)
            raise
        self.succeeded(task, worker=worker)

    # Lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        """Write the batch (with ``linger``), flush to disk (when a durability setting
        asks for it) and close. WriteFailed when the batch could not be written."""
        with self._lock:
            if self._closed:
                return
            self._stop_writing()
            if self._batch is not None:
                self._batch.close()  # the last batch, then the sink
            else:
                self._sink.close()
        if _deferred:
            deliver()

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
                    self.log(error_line(exc), level="error")
                    code = exc.code if isinstance(exc, SystemExit) else None
                    self.finish("failed", exit_status=code if isinstance(code, int) else None)
            elif exc is not None and not self._closed:
                self.log(error_line(exc), level="error")
        finally:
            self.close()


_TASK_CODE = Recorder.task.__wrapped__.__code__  # type: ignore[attr-defined]


def _from_block(exc: BaseException) -> TracebackType | None:
    """The traceback from the ``with rec.task(...)`` block on: task()'s own frame left out."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code is _TASK_CODE:
        return tb.tb_next
    return tb
