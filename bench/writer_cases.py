"""The cases of bench/writer.py: each writes ``events`` task events to a log at ``path``
(a bare ``os.write`` loop, the floors, the Recorder) and returns the CPU seconds it took.

``THREADS`` (set by bench/writer.py's ``--threads``) is how many threads the threaded cases
run at once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from recorder import codec
from recorder.events import AnyEvent, TaskStarted, TaskSucceeded
from recorder.writer import Recorder

WORKER = "host07-w3"
LINGER = 0.05
LIMIT = 1 << 16  # the Recorder's default batch_bytes


def _ids(events: int) -> list[str]:
    return [f"job-{i:07d}" for i in range(events // 2)]


def _pairs(events: int) -> list[AnyEvent]:
    src, t = f"{os.getpid()}-bench", time.time()
    out: list[AnyEvent] = []
    for i, tid in enumerate(_ids(events)):
        out.append(TaskStarted(task=tid, worker=WORKER, t=t, src=src, seq=2 * i + 1))
        out.append(TaskSucceeded(task=tid, worker=WORKER, t=t, src=src, seq=2 * i + 2))
    return out


def _open(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o644)


def bare(path: str, events: int) -> float:
    """CPU seconds for one ``os.write`` per pre-encoded line: the unbatched ceiling."""
    lines = [codec.encode(e) for e in _pairs(events)]
    fd = _open(path)
    try:
        write = os.write
        c0 = time.process_time()
        for line in lines:
            write(fd, line)
        return time.process_time() - c0
    finally:
        os.close(fd)


def floor(path: str, events: int) -> float:
    """CPU seconds to build, encode and write each event: what any writer does at least."""
    ids, src, t = _ids(events), f"{os.getpid()}-bench", time.time()
    buf = bytearray()
    fd = _open(path)
    try:
        write, encode_into = os.write, codec.encode_struct_into
        seq = 0
        c0 = time.process_time()
        for tid in ids:
            encode_into(TaskStarted(tid, WORKER, 1, t=t, src=src, seq=seq + 1), buf, 0)
            buf += b"\n"
            write(fd, buf)
            encode_into(TaskSucceeded(tid, WORKER, t=t, src=src, seq=seq + 2), buf, 0)
            buf += b"\n"
            write(fd, buf)
            seq += 2
        return time.process_time() - c0
    finally:
        os.close(fd)


def clock_floor(path: str, events: int) -> float:
    """CPU seconds of the floor with a clock read (whole microseconds) per event."""
    ids, src = _ids(events), f"{os.getpid()}-bench"
    buf = bytearray()
    fd = _open(path)
    try:
        write, encode_into, now = os.write, codec.encode_struct_into, time.time
        seq = 0
        c0 = time.process_time()
        for tid in ids:
            t = now() * 1e6 // 1 / 1e6
            encode_into(TaskStarted(tid, WORKER, 1, t=t, src=src, seq=seq + 1), buf, 0)
            buf += b"\n"
            write(fd, buf)
            t = now() * 1e6 // 1 / 1e6
            encode_into(TaskSucceeded(tid, WORKER, t=t, src=src, seq=seq + 2), buf, 0)
            buf += b"\n"
            write(fd, buf)
            seq += 2
        return time.process_time() - c0
    finally:
        os.close(fd)


def stamped(path: str, events: int) -> float:
    """CPU seconds of the floor with a lock, a clock read and the seq per event: the
    least a Recorder shared by threads does per event, without its API call."""
    ids, src = _ids(events), f"{os.getpid()}-bench"
    buf = bytearray()
    fd = _open(path)
    lock = threading.Lock()  # as an unbatched Recorder's
    try:
        write, encode_into, now = os.write, codec.encode_struct_into, time.time
        seq = 0
        c0 = time.process_time()
        for tid in ids:
            lock.acquire()
            try:
                seq += 1
                t = now() * 1e6 // 1 / 1e6
                encode_into(TaskStarted(tid, WORKER, 1, t=t, src=src, seq=seq), buf, 0)
                buf += b"\n"
                write(fd, buf)
            finally:
                lock.release()
            lock.acquire()
            try:
                seq += 1
                t = now() * 1e6 // 1 / 1e6
                encode_into(TaskSucceeded(tid, WORKER, t=t, src=src, seq=seq), buf, 0)
                buf += b"\n"
                write(fd, buf)
            finally:
                lock.release()
        return time.process_time() - c0
    finally:
        os.close(fd)


def thread_floor(path: str, events: int) -> float:
    """CPU seconds of the floor with a clock read and the seq of this thread's writer,
    found through a ``threading.local`` (no lock): the least an unbatched Recorder does."""
    ids = _ids(events)
    fd = _open(path)
    local = threading.local()
    local.me = [f"{os.getpid()}-bench", 0, bytearray()]  # src, seq, buffer
    try:
        write, encode_into, now = os.write, codec.encode_struct_into, time.time
        c0 = time.process_time()
        for tid in ids:
            me = local.me
            seq = me[1] + 1
            t = now() * 1e6 // 1 / 1e6
            buf = me[2]
            encode_into(TaskStarted(tid, WORKER, 1, t=t, src=me[0], seq=seq), buf, 0)
            buf += b"\n"
            write(fd, buf)
            me[1] = seq
            me = local.me
            seq = me[1] + 1
            t = now() * 1e6 // 1 / 1e6
            buf = me[2]
            encode_into(TaskSucceeded(tid, WORKER, t=t, src=me[0], seq=seq), buf, 0)
            buf += b"\n"
            write(fd, buf)
            me[1] = seq
        return time.process_time() - c0
    finally:
        os.close(fd)


def stamped_batch(path: str, events: int) -> float:
    """The batch floor with a lock, a clock read and the seq per event."""
    ids, src = _ids(events), f"{os.getpid()}-bench"
    buf = bytearray()
    fd = _open(path)
    lock = threading.RLock()  # as a batching Recorder's
    try:
        write, encode_into, now = os.write, codec.encode_struct_into, time.time
        seq = 0
        c0 = time.process_time()
        for tid in ids:
            lock.acquire()
            try:
                seq += 1
                t = now() * 1e6 // 1 / 1e6
                encode_into(TaskStarted(tid, WORKER, 1, t=t, src=src, seq=seq), buf, -1)
                buf += b"\n"
            finally:
                lock.release()
            lock.acquire()
            try:
                seq += 1
                t = now() * 1e6 // 1 / 1e6
                encode_into(TaskSucceeded(tid, WORKER, t=t, src=src, seq=seq), buf, -1)
                buf += b"\n"
                if len(buf) >= LIMIT:
                    write(fd, buf)
                    buf.clear()
            finally:
                lock.release()
        write(fd, buf)
        return time.process_time() - c0
    finally:
        os.close(fd)


def batch_floor(path: str, events: int) -> float:
    """CPU seconds to build and encode each event into a batch, one ``os.write`` per
    64 KiB: what any group commit does at least (no lock, clock or seq)."""
    ids, src, t = _ids(events), f"{os.getpid()}-bench", time.time()
    buf = bytearray()
    fd = _open(path)
    try:
        write, encode_into = os.write, codec.encode_struct_into
        seq = 0
        c0 = time.process_time()
        for tid in ids:
            encode_into(TaskStarted(tid, WORKER, 1, t=t, src=src, seq=seq + 1), buf, -1)
            buf += b"\n"
            encode_into(TaskSucceeded(tid, WORKER, t=t, src=src, seq=seq + 2), buf, -1)
            buf += b"\n"
            seq += 2
            if len(buf) >= LIMIT:
                write(fd, buf)
                buf.clear()
        write(fd, buf)
        return time.process_time() - c0
    finally:
        os.close(fd)


def recorder(path: str, events: int, linger: float | None = None) -> float:
    """CPU seconds for ``events`` Recorder calls, close (the last batch) included."""
    ids = _ids(events)
    rec = Recorder(path, name="bench", overwrite=True, linger=linger)
    started, succeeded = rec.task_started, rec.succeeded
    c0 = time.process_time()
    for tid in ids:
        started(tid, worker=WORKER)
        succeeded(tid, worker=WORKER)
    rec.close()
    return time.process_time() - c0


def grouped(path: str, events: int) -> float:
    return recorder(path, events, LINGER)


THREADS = 4  # --threads


def _in_threads(work: Callable[[int], None]) -> float:
    """CPU seconds of the process while THREADS threads run ``work(k)`` at once."""
    barrier = threading.Barrier(THREADS + 1)

    def run(k: int) -> None:
        barrier.wait()
        work(k)

    pool = [threading.Thread(target=run, args=(k,)) for k in range(THREADS)]
    for t in pool:
        t.start()
    c0 = time.process_time()
    barrier.wait()
    for t in pool:
        t.join()
    return time.process_time() - c0


def bare_threads(path: str, events: int) -> float:
    """THREADS threads, each an ``os.write`` per pre-encoded line of its share, one fd."""
    lines = [codec.encode(e) for e in _pairs(events)]
    fd = _open(path)
    share = len(lines) // THREADS // 2 * 2
    try:
        write = os.write

        def work(k: int) -> None:
            for line in lines[k * share : (k + 1) * share]:
                write(fd, line)

        return _in_threads(work)
    finally:
        os.close(fd)


def stamped_threads(path: str, events: int) -> float:
    """THREADS threads sharing one lock, one seq and one buffer: the stamped floor."""
    ids, src = _ids(events), f"{os.getpid()}-bench"
    share = len(ids) // THREADS
    buf = bytearray()
    fd = _open(path)
    lock = threading.Lock()
    seq = [0]
    try:
        write, encode_into, now = os.write, codec.encode_struct_into, time.time

        def work(k: int) -> None:
            for tid in ids[k * share : (k + 1) * share]:
                for cls in (TaskStarted, TaskSucceeded):
                    lock.acquire()
                    try:
                        n = seq[0] + 1
                        t = now() * 1e6 // 1 / 1e6
                        encode_into(cls(tid, WORKER, t=t, src=src, seq=n), buf, 0)
                        buf.extend(b"\n")
                        write(fd, buf)
                        seq[0] = n
                    finally:
                        lock.release()

        return _in_threads(work)
    finally:
        os.close(fd)


def recorder_threads(path: str, events: int) -> float:
    """THREADS threads sharing one unbatched Recorder, each its share of the pairs."""
    ids = _ids(events)
    share = len(ids) // THREADS
    rec = Recorder(path, name="bench", overwrite=True)

    def work(k: int) -> None:
        started, succeeded = rec.task_started, rec.succeeded
        for tid in ids[k * share : (k + 1) * share]:
            started(tid, worker=WORKER)
            succeeded(tid, worker=WORKER)

    took = _in_threads(work)
    rec.close()
    return took
