"""Group commit for ``Recorder(..., linger=S)``: when a batch of buffered lines is written.

A batching Recorder keeps its events in a buffer and writes them as whole lines with one
``write()`` (one pipelined round trip for Redis) when the buffer passes its size limit,
when its oldest event is ``linger`` seconds old (a ``Flusher`` thread per Recorder), on
``close()``, before ``fork()``, at interpreter exit (``atexit``, and multiprocessing's exit
of a forked child, which skips ``atexit``) and on SIGTERM or SIGINT. A signal handler
flushes, then hands the signal on to the handler that was there before (a Python
handler is called, the default action is taken again, an ignored signal stays ignored).
What a SIGKILL or ``os._exit`` loses is what was buffered: at most one window.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

import msgspec

from recorder.errors import WriteFailed
from recorder.events import Event
from recorder.sinks import Broken, Sink, Unwritten

SIGNALS = (signal.SIGTERM, signal.SIGINT)
IDLE = 2.0  # seconds without a batch after which the flusher thread ends
HEADROOM = 32  # bytes a queued line may be longer than the one that sized the queue (times, seq,
# task names vary by a few) with the batch still under its limit plus one line


class Batching:
    """The Recorder's side of group commit: flushing from the flusher, a signal, exit and
    fork (a base class of Recorder; the Recorder sets these attributes)."""

    _lock: Any  # an RLock when batching: the signal handler asks whether its thread holds it
    _batch: Batch | None
    _closed: bool
    _room: int
    _forking: int

    def _stop_writing(self) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Write the buffered events now (with ``linger``; without it there are none)."""
        with self._lock:
            if self._batch is not None and not self._closed:
                self._room = 0  # the next event opens a batch (or retries this one)
                try:
                    self._batch.flush()
                except Broken:
                    self._stop_writing()
                    raise
        if deferred:
            deliver()

    def _flush_quietly(self) -> None:
        """Flush from the flusher thread, a signal or exit: a failure waits for the next
        event or close(), which raise it (the batch stays buffered until then)."""
        with self._lock:
            if self._batch is not None and not self._closed:
                self._room = 0  # the next event opens a batch, or retries this one and raises
                try:
                    self._batch.flush()
                except Broken:
                    self._stop_writing()
                except WriteFailed:
                    pass  # the batch stays for the next event or close(), which raise

    def _unwritten(self) -> str:
        """What the batch holds that a failed write left there ("" when nothing)."""
        b = self._batch
        if b is None or b.failed is None or not (b.pending or b.queue):
            return ""
        lines = b.pending.count(b"\n") + len(b.queue)
        return f"{lines} events were not written: {b.failed}"

    def _hold_for_fork(self) -> None:
        self._lock.acquire()
        self._forking = os.getpid()
        self._flush_quietly()

    def _release_after_fork(self) -> None:
        if self._forking == os.getpid():
            self._lock.release()
        elif self._batch is not None:  # the child: what was buffered is its parent's
            self._room = 0
            self._batch.pending.clear()
            self._batch.queue.clear()
            self._batch.failed = None
            self._batch.flusher.forked()


_batching: weakref.WeakSet[Any] = weakref.WeakSet()
_hooked = False
_mp_hooked = False
_previous: dict[int, Any] = {}
deferred: list[tuple[int, FrameType | None]] = []  # signals that came inside a recorder's lock


_encode = msgspec.json.Encoder().encode
_encode_lines = msgspec.json.Encoder().encode_lines


class Batch:
    """A sink that gathers events and hands them on as whole lines in batches (the
    Recorder's lock guards it, as it guards every sink).

    The Recorder appends its most common events to ``queue`` as they are, while they fit
    (``add`` says how many more do); they are encoded together, with one msgspec call,
    when the next event comes through ``add`` or the batch is written: that is about half
    the cost of encoding each one on its own. ``pending`` holds the encoded lines. The
    batch goes to the sink once it has reached ``limit`` bytes (with the next event) or
    ``linger`` seconds after its first event (the Flusher). When the sink fails, the
    batch stays, to be written first at the next try, and the next caller gets the
    error, its event refused: no line is lost or written twice.
    """

    def __init__(self, sink: Sink, flush: Callable[[], None], linger: float, limit: int) -> None:
        self.sink = sink
        self.warning = sink.warning
        self.queue: list[Event] = []  # events of the open batch, after ``pending``
        self.pending = bytearray()  # lines of the open batch (or of one that failed)
        self.failed: WriteFailed | None = None
        self.limit = limit
        self.flusher = Flusher(flush, linger)

    def add(self, event: Event) -> int:
        """Add an event, or raise (nothing added): a full batch (or one that failed) is
        written first, so a batch holds less than ``limit`` bytes plus one line. Returns
        how many events may join ``queue`` before the next call: the bytes left before
        ``limit``, counted in lines of this event's size plus HEADROOM (0: call again for
        the next); queued lines longer than that by more pass ``limit`` by the excess."""
        pending = self._encode_queue()
        if len(pending) >= self.limit or self.failed is not None:
            try:
                self.flush()
            except (Unwritten, Broken):
                raise
            except WriteFailed as exc:  # the batch stays (a stream: part may be in); this
                raise Unwritten(str(exc)) from exc  # event was not added: its seq is free
        line = _encode(event)  # TypeError, ValueError (a lone surrogate): nothing added
        if not pending:
            self.flusher.arm()
        pending += line
        pending += b"\n"
        return (self.limit - len(pending)) // (len(line) + 1 + HEADROOM)

    def _encode_queue(self) -> bytearray:
        """The queued events, encoded at the end of ``pending`` (they were checked as they
        were queued: they encode)."""
        pending, queue = self.pending, self.queue
        if queue:
            pending += _encode_lines(queue)
            queue.clear()
        return pending

    def flush(self) -> None:
        """Hand the batch to the sink in one write; on failure it stays for the next try."""
        pending = self._encode_queue()
        if not pending:
            self.failed = None
            return
        try:
            self.sink.write(pending)
        except Broken as exc:
            lost = pending.count(b"\n")
            pending.clear()
            raise Broken(f"{exc}; {lost} buffered events were not written") from exc
        except WriteFailed as exc:  # the sink took back what it could not write whole
            self.failed = exc
            raise
        pending.clear()
        self.failed = None

    def close(self) -> None:
        """Write the last batch, then close the sink (also when that write fails)."""
        self.flusher.stop()
        try:
            self.flush()
        finally:
            self.sink.close()


class Flusher:
    """Flushes a Recorder's buffer ``linger`` seconds after the first line of each batch.

    ``arm()`` (called under the Recorder's lock by the first line of a batch) wakes the
    thread, or starts it: it ends after IDLE seconds without a batch, so an idle process
    has no thread of runreel's (Python 3.12+ warns when a process with threads forks),
    and a forked child starts its own.
    """

    def __init__(self, flush: Callable[[], None], linger: float) -> None:
        self._flush = flush
        self._linger = linger
        self._mutex = threading.Lock()  # the thread's exit against arm()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._running = 0  # the pid whose thread runs (0: none)

    def arm(self) -> None:
        with self._mutex:
            if self._running != os.getpid():  # none yet, gone idle, or a forked child
                self._running = os.getpid()
                self._wake = threading.Event()
                name = f"runreel-flusher-{self._running}"
                threading.Thread(
                    target=self._run, args=(self._wake,), name=name, daemon=True
                ).start()
            self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def forked(self) -> None:
        """In a forked child: the parent's thread is not here, and its locks may be held."""
        self._mutex = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._running = 0

    def _run(self, wake: threading.Event) -> None:
        while True:
            if not wake.wait(IDLE):
                with self._mutex:
                    if not wake.is_set():  # idle: end (the next arm() starts another)
                        self._running = 0
                        return
                continue
            if self._stopped.wait(self._linger):
                return
            wake.clear()  # before the flush: a line added after it arms again
            self._flush()


def watch(rec: Batching) -> None:
    """Flush ``rec`` before fork, at exit and on the signals that end the process."""
    global _hooked
    _batching.add(rec)
    if not _hooked:
        _hooked = True
        atexit.register(_flush_at_exit)
        os.register_at_fork(
            before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork
        )
    _on_multiprocessing_exit()
    _install_handlers()


def flush_all() -> None:
    for rec in list(_batching):
        rec._flush_quietly()


def _flush_at_exit() -> None:
    """flush_all, and a line on stderr for each batch that could not be written: at exit
    there is no later call to raise the error."""
    flush_all()
    for rec in list(_batching):
        unwritten = rec._unwritten()
        if unwritten:
            sys.stderr.write(f"runreel: {unwritten}\n")


def _before_fork() -> None:
    _on_multiprocessing_exit()  # imported since: its children end with os._exit
    # Flushed, and held through the fork: no line can be added between the flush and the
    # fork, so a child never inherits (and writes again) a line of its parent.
    for rec in list(_batching):
        rec._hold_for_fork()


def _after_fork() -> None:
    for rec in list(_batching):
        rec._release_after_fork()


def _install_handlers() -> None:
    """Our handler on SIGTERM and SIGINT, once per process, from the main thread (only it
    may). Once only: a handler the program sets later, which may call ours, is left alone."""
    if _previous or threading.current_thread() is not threading.main_thread():
        return
    for sig in SIGNALS:
        current = signal.getsignal(sig)
        _previous[sig] = current
        if current is not None:  # None: a handler not set from Python; leave it be
            signal.signal(sig, _on_signal)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if any(rec._lock._is_owned() for rec in list(_batching)):
        # This thread was stopped inside a Recorder (its buffer is mid-change): the
        # Recorder delivers the signal as soon as it lets go of its lock.
        deferred.append((signum, frame))
        return
    flush_all()
    _pass_on(signum, frame)


def deliver() -> None:
    """Handle the signals deferred while this thread held a Recorder's lock."""
    while deferred:
        signum, frame = deferred.pop(0)
        flush_all()
        _pass_on(signum, frame)


def _pass_on(signum: int, frame: FrameType | None) -> None:
    previous = _previous.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)  # the default action: end the process by it
        os.kill(os.getpid(), signum)
    # SIG_IGN: it stays ignored


class _Anchor:
    """An object for multiprocessing's after-fork registry (it keeps weak references)."""


_anchor = _Anchor()


def _on_multiprocessing_exit() -> None:
    """A multiprocessing child ends with ``os._exit``, which skips ``atexit``: flush
    through multiprocessing's own exit finalizers instead."""
    global _mp_hooked
    if _mp_hooked or "multiprocessing" not in sys.modules:
        return
    _mp_hooked = True
    import multiprocessing.util as mp_util

    def register(_: object) -> None:
        mp_util.Finalize(None, _flush_at_exit, exitpriority=-100)

    mp_util.register_after_fork(_anchor, register)
