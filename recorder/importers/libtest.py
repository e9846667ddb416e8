"""Rust libtest JSON (``cargo test -- -Z unstable-options --format json``) to runreel events.

``cargo test`` runs one test binary after another, so one stream holds several suites
(``suite started`` … ``suite ok|failed``). Every test is a task named as libtest names it;
a name that an earlier suite already used gets `` (suite N)``. libtest runs tests on
threads without saying which, so concurrent tests are spread over lanes ``thread 01``, …
The stream has no times: the synthetic timeline starts at SYNTHETIC_EPOCH and advances 10
ms per record; a test with an ``exec_time`` (``--report-time``) ends that long after its start
instead (or with the record before, if that is later). ``ignored``
is a skip; a failed test's error is its panic message, its detail its captured stdout;
captured stdout becomes log lines, and so do non-JSON lines (output that escaped the
harness). JSON records of another type are
skipped; an input with no libtest record, or more of another format's, is refused
(detect.Tally). Old rustdoc versions wrote Windows paths in doctest names without escaping
the backslashes; such lines are read with their backslashes taken literally. See
docs/importers.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import msgspec

from recorder.events import AnyEvent
from recorder.importers.detect import Tally
from recorder.importers.emitter import Emitter
from recorder.importers.lanes import Lanes
from recorder.importers.lines import bad_line, first_line, json_error, numbered, text_lines
from recorder.importers.times import SYNTHETIC_EPOCH

STEP = 0.01  # synthetic seconds per input record
TIMEOUT = 60.0  # libtest reports "timeout" for a test running longer than this


class TestEvent(msgspec.Struct, gc=False):
    """One libtest JSON record."""

    type: str = ""
    event: str = ""
    name: str = ""
    test_count: int | None = None
    stdout: str | None = None
    message: str | None = None
    exec_time: float | str | None = None
    median: float | None = None
    deviation: float | None = None


_decoder = msgspec.json.Decoder(TestEvent)
_LONE_BACKSLASH = re.compile(rb'\\(?!")')


def events(lines: Iterable[bytes], *, path: str, run: str, name: str) -> Iterator[AnyEvent]:
    """The runreel events of a libtest JSON stream (one or more suites)."""
    yield from _Import(path, run, name).events(lines)


def _seconds(value: float | str | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().removesuffix("s"))
        except ValueError:
            return None
    return value if value >= 0 else None


def panic_message(stdout: str) -> str:
    """The panic message in a failed test's output (old and new panic formats)."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if "panicked at" in line:
            at = line.split("panicked at", 1)[1].strip()
            if at.endswith(":") and i + 1 < len(lines) and lines[i + 1].strip():
                return f"{first_line(lines[i + 1])} (at {at[:-1]})"  # Rust >= 1.73
            if at == "'":  # panicked at '<a message that starts on the next line>
                rest = first_line("\n".join(lines[i + 1 :]))
                return f"panicked at '{rest}" if rest else first_line(line)
            return first_line(f"panicked at {at}")
    for line in reversed(lines):
        if line.strip() and not line.startswith("note: "):
            return first_line(line)
    return ""


def failure_text(e: TestEvent) -> str:
    """A failed test's detail: libtest's message, if any, then everything the test printed."""
    parts = [part.strip("\n") for part in (e.message, e.stdout) if part and part.strip()]
    return "\n".join(parts)


class _Import:
    def __init__(self, path: str, run: str, name: str) -> None:
        self.path = path
        self.em = Emitter("libtest", run, name)
        self.lanes = Lanes(lambda k: f"thread {k:02d}")
        self.clock = SYNTHETIC_EPOCH
        self.before = SYNTHETIC_EPOCH  # the clock before this record's step
        self.suites = 0
        self.suite_open = False
        self.suite_start = SYNTHETIC_EPOCH
        self.suite_failed = False
        self.first_suite: dict[str, int] = {}  # test name -> suite it first appeared in
        self.starts: dict[str, float] = {}  # open tests -> start time
        self.done = 0  # tasks ended in earlier suites

    def events(self, lines: Iterable[bytes]) -> Iterator[AnyEvent]:
        em = self.em
        tally = Tally("libtest", self.path)
        for n, line, last in numbered(lines):
            stripped = line.strip()
            if not stripped:
                continue
            self.before = self.clock
            self.clock += STEP
            if not stripped.startswith(b"{"):
                tally.other(line)
                if not em.started:
                    yield em.run_started(self.clock)
                yield em.log(self.clock, line.decode("utf-8", "replace"), "stdout")
                continue
            e = self._decode(n, line, last)
            if e.type not in ("suite", "test", "bench"):  # another tool's JSON: skipped
                tally.other(line)
                continue
            tally.ours += 1
            yield from self._record(e)
        tally.check()
        if em.started and self.suites and not self.suite_open and not em.open_tasks():
            yield from em.closing(self.clock, failed=self.suite_failed)

    def _decode(self, n: int, line: bytes, last: bool) -> TestEvent:
        try:
            return _decoder.decode(line)
        except msgspec.ValidationError as exc:
            raise bad_line(self.path, n, f"unexpected libtest record: {exc}", last=False) from None
        except msgspec.DecodeError as exc:
            if b"\\" in line and "truncated" not in str(exc):
                try:
                    return _decoder.decode(_LONE_BACKSLASH.sub(rb"\\\\", line))
                except msgspec.DecodeError:
                    pass
            raise json_error(self.path, n, exc, last=last) from None

    def _key(self, name: str) -> str:
        first = self.first_suite.setdefault(name, self.suites)
        return name if first == self.suites else f"{name} (suite {self.suites})"

    def _record(self, e: TestEvent) -> Iterator[AnyEvent]:
        em = self.em
        t = self.clock
        if e.type == "suite":
            if e.event == "started":
                self.suites += 1
                self.suite_open = True
                self.suite_start = t
                count = e.test_count or 0
                if not em.started:
                    yield em.run_started(t, total=count)
                else:
                    self.done = em.task_count
                    yield em.total_changed(t, self.done + count)
                if count:
                    yield em.mark(t, f"suite {self.suites}")
            elif e.event in ("ok", "failed"):
                if not em.started:
                    yield em.run_started(t)
                self.suite_open = False
                self.suite_failed |= e.event == "failed"
                elapsed = _seconds(e.exec_time)
                if elapsed is not None:
                    self.clock = max(self.before, self.suite_start + elapsed)
            return
        if e.type not in ("test", "bench") or not e.name:
            return
        if not em.started:
            yield em.run_started(t)
        key = self._key(e.name) if e.event == "started" else self._current_key(e.name)
        if e.type == "bench":
            yield from self._bench(key, e)
            return
        if e.event == "started":
            self.starts[key] = t
            yield em.begin(t, key, self.lanes.take(key))
        elif e.event == "timeout":
            start = self.starts.get(key, t)
            self.clock = max(self.clock, start + TIMEOUT)
            yield em.log(self.clock, f"{e.name} has been running for over 60 seconds", "warning")
        elif e.event in ("ok", "failed", "ignored", "allowed_fail"):
            yield from self._end(key, e)

    def _current_key(self, name: str) -> str:
        first = self.first_suite.get(name)
        if first is None:
            return self._key(name)
        return name if first == self.suites else f"{name} (suite {self.suites})"

    def _finish_time(self, key: str, e: TestEvent) -> float:
        elapsed = _seconds(e.exec_time)
        start = self.starts.pop(key, None)
        if elapsed is not None and start is not None:  # it lasted exec_time, if time allows
            self.clock = max(self.before, start + elapsed)
        return self.clock

    def _end(self, key: str, e: TestEvent) -> Iterator[AnyEvent]:
        em = self.em
        t = self._finish_time(key, e)
        worker = self.lanes.name_of(key) or ""
        self.lanes.release(key)
        if e.stdout:
            for line in text_lines(e.stdout):
                yield em.log(t, line, "stdout")
        if e.event == "ok":
            yield em.end(t, key, "succeeded", worker=worker)
        elif e.event == "failed":
            error = first_line(e.message or "") or panic_message(e.stdout or "") or "failed"
            yield em.end(t, key, "failed", error, worker, detail=failure_text(e))
        elif e.event == "ignored":
            yield em.end(t, key, "skipped", first_line(e.message or "") or "ignored", worker)
        else:
            yield em.end(t, key, "skipped", "failed, but allowed to fail", worker)

    def _bench(self, key: str, e: TestEvent) -> Iterator[AnyEvent]:
        em = self.em
        t = self._finish_time(key, e)
        worker = self.lanes.name_of(key) or ""
        self.lanes.release(key)
        labels = {"bench": e.name}
        if e.median is not None:
            yield em.gauge(t, "bench_median_ns", float(e.median), labels)
        if e.deviation is not None:
            yield em.gauge(t, "bench_deviation_ns", float(e.deviation), labels)
        yield em.end(t, key, "succeeded", worker=worker)
