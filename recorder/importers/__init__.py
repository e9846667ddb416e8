"""Importers: other tools' test reports as runreel logs, so a CI run can be replayed.

One module per format (``pytest_reportlog``, ``gotest``, ``libtest``, ``junit``); each is a
generator from the input's lines to runreel events with a fixed ``src`` (``import:FORMAT``)
and ``seq`` 1..N: ``run_started`` first, ``run_finished`` last when the input shows the run
ended. ``detect`` opens (and decompresses) the input and tells its format. This module holds
what the formats share: the event stamper with task bookkeeping, synthetic workers (lanes),
time parsing, and writing the log. The mapping is documented in docs/importers.md.
"""

from __future__ import annotations

import calendar
import contextlib
import heapq
import importlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import msgspec

from recorder.errors import LogInvalid, LogUnavailable, WriteFailed
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
from replay.core.fold import apply_all
from replay.core.metrics import Metrics

FORMATS: tuple[str, ...] = ("pytest-reportlog", "gotest", "libtest", "junit")
_MODULES = {
    "pytest-reportlog": "recorder.importers.pytest_reportlog",
    "gotest": "recorder.importers.gotest",
    "libtest": "recorder.importers.libtest",
    "junit": "recorder.importers.junit",
}

# Inputs without times get a synthetic timeline that starts here: 2000-01-01T00:00:00Z,
# a moment no real CI run of today has, so a replay shows plainly that times are made up.
SYNTHETIC_EPOCH = 946684800.0

Outcome = Literal["succeeded", "failed", "skipped"]


class Importer(Protocol):
    """What every format module provides."""

    def __call__(
        self, lines: Iterable[bytes], *, path: str, run: str, name: str
    ) -> Iterator[AnyEvent]: ...


def importer(fmt: str) -> Importer:
    """The ``events`` generator of a format (modules are imported on first use)."""
    try:
        module = importlib.import_module(_MODULES[fmt])
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}") from None
    events: Importer = module.events
    return events


# Stamping events and keeping track of tasks ------------------------------------------


@dataclass(slots=True)
class _Task:
    id: str
    attempt: int = 1
    runs: int = 1
    open: bool = True
    last: Outcome | None = None
    worker: str = ""


class Emitter:
    """Builds the events of one import: ``src``, ``seq`` 1..N, attempts and outcomes.

    Importers speak in test keys (a node id, a test name); the emitter turns them into task
    ids and attempts. A test that starts again after it failed is the next attempt of the
    same task, so the fold counts the earlier failure as a retry (gotestsum --rerun-fails,
    pytest-rerunfailures). A test that starts again after it passed or was skipped (``go
    test -count=2``) is a new task ``KEY (run N)``.
    """

    def __init__(self, fmt: str, run: str, name: str, meta: dict[str, str] | None = None) -> None:
        self.src = f"import:{fmt}"
        self.seq = 0
        self.run, self.name = run, name
        self.meta = {"imported_from": fmt, **(meta or {})}
        self.tasks: dict[str, _Task] = {}
        self.task_count = 0  # task ids made so far (a key run again makes another)
        self.failed: set[str] = set()  # task ids whose last attempt failed
        self.count: dict[Outcome, int] = {"succeeded": 0, "failed": 0, "skipped": 0}
        self.started = False
        self.last_t = 0.0
        self.total: int | None = None

    def _stamp(self, t: float) -> tuple[float, int]:
        self.seq += 1
        if t > self.last_t:
            self.last_t = t
        return round(t, 6), self.seq

    # Run events ----------------------------------------------------------------

    def run_started(self, t: float, *, total: int | None = None) -> RunStarted:
        self.started = True
        self.total = total
        t, seq = self._stamp(t)
        return RunStarted(
            t=t,
            src=self.src,
            seq=seq,
            v=FORMAT_VERSION,
            run=self.run,
            name=self.name,
            total=total,
            meta=dict(self.meta),
        )

    def total_changed(self, t: float, total: int | None) -> TotalChanged:
        self.total = total
        t, seq = self._stamp(t)
        return TotalChanged(t=t, src=self.src, seq=seq, total=total)

    def run_finished(
        self, t: float, *, failed: bool = False, exit_status: int | None = None
    ) -> RunFinished:
        """The last event; status "failed" when a task failed for good or ``failed`` says so."""
        status = "failed" if failed or self.failed else "ok"
        t, seq = self._stamp(t)
        return RunFinished(t=t, src=self.src, seq=seq, status=status, exit_status=exit_status)

    def log(self, t: float, msg: str, level: str = "info") -> Log:
        t, seq = self._stamp(t)
        return Log(t=t, src=self.src, seq=seq, level=level, msg=msg)

    def mark(self, t: float, label: str) -> Mark:
        t, seq = self._stamp(t)
        return Mark(t=t, src=self.src, seq=seq, label=label)

    def gauge(self, t: float, name: str, value: float, labels: dict[str, str]) -> Metric:
        t, seq = self._stamp(t)
        return Metric(
            t=t, src=self.src, seq=seq, name=name, kind="gauge", value=value, labels=labels
        )

    # Task events -----------------------------------------------------------------

    def _reopen(self, key: str, worker: str) -> _Task:
        task = self.tasks.get(key)
        if task is None:
            task = self.tasks[key] = _Task(key)
            self.task_count += 1
        elif task.open:
            pass  # resumed (go's cont) or moved to another worker
        elif task.last == "failed":
            task.attempt += 1
            task.open = True
        else:
            task.runs += 1
            self.task_count += 1
            task.id, task.attempt, task.open = f"{key} (run {task.runs})", 1, True
        task.worker = worker
        return task

    def begin(self, t: float, key: str, worker: str = "") -> TaskStarted:
        """A test (re)starts; an open task started again moves to ``worker``."""
        task = self._reopen(key, worker)
        t, seq = self._stamp(t)
        return TaskStarted(
            t=t, src=self.src, seq=seq, task=task.id, worker=worker, attempt=task.attempt
        )

    def retry(self, t: float, key: str, error: str, backoff: float = 0.0) -> TaskRetrying:
        """The current attempt failed and another one follows."""
        task = self.tasks.get(key)
        if task is None:
            task = self.tasks[key] = _Task(key)
        task.open = True
        t, seq = self._stamp(t)
        event = TaskRetrying(
            t=t,
            src=self.src,
            seq=seq,
            task=task.id,
            worker=task.worker,
            attempt=task.attempt,
            error=error,
            backoff=backoff,
        )
        task.attempt += 1
        return event

    def end(
        self, t: float, key: str, outcome: Outcome, detail: str = "", worker: str | None = None
    ) -> TaskSucceeded | TaskFailed | TaskSkipped:
        """A test ended; ``detail`` is the error or the skip reason."""
        task = self.tasks.get(key)
        if task is None or not task.open:  # ended without a start (e.g. skipped before setup)
            task = self._reopen(key, worker if worker is not None else "")
        task.open = False
        task.last = outcome
        w = task.worker if worker is None else worker
        t, seq = self._stamp(t)
        if outcome == "failed":
            self.failed.add(task.id)
            self.count["failed"] += 1
            return TaskFailed(t=t, src=self.src, seq=seq, task=task.id, worker=w, error=detail)
        if task.id in self.failed:
            self.failed.discard(task.id)
            self.count["failed"] -= 1
        self.count[outcome] += 1
        if outcome == "skipped":
            return TaskSkipped(t=t, src=self.src, seq=seq, task=task.id, worker=w, reason=detail)
        return TaskSucceeded(t=t, src=self.src, seq=seq, task=task.id, worker=w)

    def task_id(self, key: str) -> str | None:
        """The current task id of a key, if it was seen."""
        task = self.tasks.get(key)
        return None if task is None else task.id

    def is_open(self, key: str) -> bool:
        task = self.tasks.get(key)
        return task is not None and task.open

    def open_tasks(self) -> list[str]:
        """Task ids that started and did not end (the input stops in the middle)."""
        return [task.id for task in self.tasks.values() if task.open]

    def closing(
        self, t: float, *, failed: bool = False, exit_status: int | None = None
    ) -> list[AnyEvent]:
        """The final events: the real total when it was not known, then ``run_finished``."""
        out: list[AnyEvent] = []
        if self.total != self.task_count:
            out.append(self.total_changed(t, self.task_count))
        out.append(self.run_finished(t, failed=failed, exit_status=exit_status))
        return out


class Lanes:
    """Synthetic workers for concurrent tasks: a start takes the lowest free lane.

    Formats that do not say which thread or process ran a test (libtest, JUnit suites, go's
    parallel tests) still show how many ran at once this way.
    """

    def __init__(self, name: Callable[[int], str]) -> None:
        self._name = name
        self._free: list[int] = []
        self._next = 1
        self.held: dict[str, int] = {}

    def take(self, holder: str) -> str:
        lane = self.held.get(holder)
        if lane is None:
            if self._free:
                lane = heapq.heappop(self._free)
            else:
                lane, self._next = self._next, self._next + 1
            self.held[holder] = lane
        return self._name(lane)

    def give(self, giver: str, taker: str) -> str | None:
        """Hand ``giver``'s lane to ``taker`` (a subtest runs in its parent's place)."""
        lane = self.held.pop(giver, None)
        if lane is None:
            return None
        self.held[taker] = lane
        return self._name(lane)

    def release(self, holder: str) -> None:
        lane = self.held.pop(holder, None)
        if lane is not None:
            heapq.heappush(self._free, lane)

    def name_of(self, holder: str) -> str | None:
        lane = self.held.get(holder)
        return None if lane is None else self._name(lane)

    @property
    def count(self) -> int:
        """Lanes ever used."""
        return self._next - 1


# Times ------------------------------------------------------------------------------

_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d\d(?::?\d\d)?)?$"
)
_epoch_cache: dict[str, float] = {}
_POW10: tuple[int, ...] = tuple(10**i for i in range(10))


def parse_time(text: str) -> float | None:
    """An ISO 8601 / RFC 3339 time as Unix seconds; None when it is not one.

    Times without a zone are taken as UTC, so the result never depends on the machine's TZ.
    """
    m = _ISO.match(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        base = calendar.timegm(
            (int(year), int(month), int(day), int(hour), int(minute), int(second or 0), 0, 0, 0)
        )
    except (ValueError, OverflowError):
        return None
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31 and int(hour) < 24):
        return None
    value = float(base)
    if frac:
        value += int(frac[:9]) / _POW10[len(frac[:9])]
    return value - _offset(zone)


def _offset(zone: str | None) -> int:
    if not zone or zone in "Zz":
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)


def parse_rfc3339(text: str) -> float | None:
    """RFC 3339 with up to nanoseconds (go's ``Time``), fast for the common shape."""
    # "2022-06-19T13:44:44.859704199-04:00": the second is cached, the rest is arithmetic.
    n = len(text)
    if n >= 20 and text[-1] in "Zz":
        zone_at = n - 1
    elif n >= 25 and text[-3] == ":" and text[-6] in "+-":
        zone_at = n - 6
    else:
        return parse_time(text)
    key = text[:19] + text[zone_at:]
    base = _epoch_cache.get(key)
    if base is None:
        parsed = parse_time(key)
        if parsed is None:
            return parse_time(text)
        if len(_epoch_cache) > 100_000:
            _epoch_cache.clear()
        base = _epoch_cache[key] = parsed
    if zone_at > 20 and text[19] == ".":
        digits = text[20:zone_at][:9]
        if digits.isdigit():
            return base + int(digits) / _POW10[len(digits)]
        return parse_time(text)
    return base if zone_at == 19 else parse_time(text)


# Small shared helpers -----------------------------------------------------------------


def text_lines(text: str) -> Iterator[str]:
    """The non-blank lines of captured output, without line ends."""
    for line in text.splitlines():
        if line.strip():
            yield line


def first_line(text: str, limit: int = 500) -> str:
    """The first non-blank line of a message, trimmed (errors are shown on one line)."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[:limit] + "…"
    return ""


def bad_line(path: str, line: int, reason: str, *, last: bool) -> LogInvalid:
    """The error for an input line that cannot be read; a cut-off last line says so."""
    if last:
        return LogInvalid(
            path, line, f"{reason} (the input ends in the middle of a line: cut short?)"
        )
    return LogInvalid(path, line, reason)


def json_error(path: str, line: int, exc: Exception, *, last: bool) -> LogInvalid:
    """The error for a line that is not valid JSON; a cut-off last line says so."""
    if "truncated" in str(exc):
        if last:
            return bad_line(path, line, "incomplete JSON", last=True)
        return LogInvalid(path, line, "invalid JSON (the record ends before it is complete)")
    return LogInvalid(path, line, f"invalid JSON ({exc})")


def numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, line without its end, is-last) for each line of the input."""
    it = iter(lines)
    try:
        prev = next(it)
    except StopIteration:
        return
    n = 1
    for line in it:
        yield n, prev.rstrip(b"\r\n"), False
        prev = line
        n += 1
    yield n, prev.rstrip(b"\r\n"), not prev.endswith(b"\n")


# Writing the log -------------------------------------------------------------------------

_encoder = msgspec.json.Encoder()  # the same encoding as recorder.codec


@dataclass
class Written:
    """What ``write_log`` wrote."""

    events: int
    finished: bool


def write_log(
    path: str, events: Iterable[AnyEvent], *, force: bool = False, metrics: Metrics | None = None
) -> Written:
    """Write the events as a runreel log, atomically: an error leaves no partial log.

    Refuses to replace a file that holds data unless ``force``. Folds the events into
    ``metrics`` on the way, when given (what the log will read back as).
    """
    if not force:
        close = getattr(events, "close", None)
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        if size > 0:
            if close is not None:
                close()
            raise WriteFailed(f"{path} already holds data; pass --force to replace it")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".runreel-import-", dir=directory)
    except OSError as exc:
        raise WriteFailed(f"cannot write {path}: {exc.strerror or exc}") from None
    count = 0
    last: AnyEvent | None = None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        buf = bytearray()
        with os.fdopen(fd, "wb") as out:
            encode_into = _encoder.encode_into
            batch: list[AnyEvent] = []
            for last in events:
                encode_into(last, buf, -1)  # appends (codec.encode_into starts the buffer anew)
                buf += b"\n"
                count += 1
                if metrics is not None:
                    batch.append(last)
                if len(buf) >= 1 << 20:
                    out.write(buf)
                    buf.clear()
                    if metrics is not None:
                        apply_all(metrics, batch)
                        batch.clear()
            out.write(buf)
            if metrics is not None:
                apply_all(metrics, batch)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, (WriteFailed, LogUnavailable)):
            raise WriteFailed(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    return Written(count, isinstance(last, RunFinished))


def import_events(
    path: str, fmt: str | None = None, *, name: str | None = None
) -> tuple[str, Imported]:
    """Open ``path`` ("-" for stdin; .gz/.bz2/.xz are read transparently), detect its format
    unless given, and return the format and the runreel events.

    A given format is checked against the input's first bytes at once (detect.check), so an
    input that is clearly another format fails before anything is written; the importers
    check the rest as they read (detect.Tally).
    """
    from recorder.importers import detect

    source = detect.open_input(path)
    try:
        if fmt:
            detect.check(source.head, path, fmt)
        chosen = fmt or detect.sniff(source.head, path)
        run_name = name if name is not None else source.display_name
        events = importer(chosen)(source.lines(), path=path, run=source.run_id, name=run_name)
    except BaseException:
        source.close()
        raise
    return chosen, Imported(events, source, path)


class Imported:
    """The events of an opened input; ``close()`` (or the end of the events) closes it.

    Never ends without an event: an empty log is no run, so an import that makes none fails.
    """

    def __init__(self, events: Iterator[AnyEvent], source: Any, path: str = "-") -> None:
        self._events = events
        self._source = source
        self._path = path
        self._any = False

    def __iter__(self) -> Imported:
        return self

    def __next__(self) -> AnyEvent:
        try:
            event = next(self._events)
        except StopIteration:
            self.close()
            if not self._any:
                raise LogInvalid(self._path, None, "nothing to import: no test run in it") from None
            raise
        except BaseException:
            self.close()
            raise
        self._any = True
        return event

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()
        self._source.close()
