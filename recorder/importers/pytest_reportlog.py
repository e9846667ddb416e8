"""pytest-reportlog (``pytest --report-log=FILE``) to runreel events.

Every test (node id) is a task. Its setup, call and teardown reports fold into one task
with pytest's own rules: a failed setup or teardown fails the test, a skip at setup or in
the call skips it, xfail is a skip with reason ``xfail: …``, a non-strict XPASS succeeds
with a warning line, a strict XPASS fails; a failure's detail is its traceback as pytest
prints it. A failed subtest (``SubTestReport``, pytest 9) fails its test. A ``rerun`` report
(pytest-rerunfailures) is a failed attempt that is retried: the next attempt of the same
task. With pytest-xdist the ``worker_id`` (gw0, gw1, …) is the worker; a crashed worker's
report names it only in ``node``. Reports are taken in the order of their start times
(``reorder``). Times are the reports' start/stop (pytest >= 7.3); older logs get a synthetic
timeline from the phase durations. JSON lines that are not reports are skipped; an input
with no report, or more of another format's records, is refused (detect.Tally). See
docs/importers.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from recorder.events import AnyEvent
from recorder.importers.detect import Tally
from recorder.importers.emitter import Emitter, Outcome
from recorder.importers.lines import bad_line, first_line, json_error, numbered, text_lines
from recorder.importers.longrepr import message_of, text_of
from recorder.importers.reorder import in_time_order
from recorder.importers.times import SYNTHETIC_EPOCH


class Record(msgspec.Struct, gc=False):
    """The fields of a report-log line that the import uses (the rest is skipped)."""

    report_type: str = msgspec.field(name="$report_type", default="")
    nodeid: str = ""
    when: str | None = None
    outcome: str | None = None
    longrepr: msgspec.Raw = msgspec.Raw(b"null")
    sections: msgspec.Raw = msgspec.Raw(b"[]")
    start: float | None = None
    stop: float | None = None
    duration: float | None = None
    wasxfail: str | None = None
    worker_id: str | None = None
    node: str | None = None  # xdist's "<WorkerController gw0>" (on a crashed worker's report)
    subtest: msgspec.Raw = msgspec.field(name="_subtest.context", default=msgspec.Raw(b"null"))
    exitstatus: int | None = None
    pytest_version: str | None = None
    category: str | None = None
    message: str | None = None


_decoder = msgspec.json.Decoder(Record)
_any = msgspec.json.Decoder()

Action = Literal["continue", "retry", "end"]


@dataclass
class Verdict:
    """One test's outcome so far, judged from its reports with pytest's own rules.

    ``reason`` is the one-line error or skip reason; ``detail`` a failure's whole text
    (the traceback pytest prints) when the report has one. ``subtests`` holds the failed
    subtests (label, message, text): any of them fails the test, even when its own call
    report passed (unittest's subTest under pytest 9).
    """

    outcome: Outcome = "succeeded"
    reason: str = ""
    detail: str = ""
    notes: list[str] = field(default_factory=list)
    subtests: list[tuple[str, str, str]] = field(default_factory=list)
    rerun_teardown: bool = False  # the attempt before was re-run: its teardown ends nothing

    def add(
        self, when: str, outcome: str, message: str, xfail: str | None, detail: str = ""
    ) -> Action:
        """Take one phase report; says whether the test goes on, is retried or has ended."""
        if outcome == "rerun":
            self.outcome, self.reason, self.detail, self.notes = "failed", message, detail, []
            return "retry"
        if self.rerun_teardown:
            self.rerun_teardown = False
            if when == "teardown":  # pytest-rerunfailures still tears the re-run attempt down
                return "continue"
        if when == "setup":
            if outcome == "failed":
                self._fail(f"error in setup: {message}", detail)
            elif outcome == "skipped":
                self._skip(message, xfail)
            return "continue"
        if when == "call":
            if outcome == "failed":
                self._fail(message, detail)
            elif outcome == "skipped":
                self._skip(message, xfail)
            elif xfail is not None:
                self.notes.append(f"XPASS{': ' + xfail if xfail else ''}")
            return "continue"
        if when == "teardown":
            if outcome == "failed" and self.outcome != "failed":
                self._fail(f"error in teardown: {message}", detail)
            self._judge_subtests()
            return "end"
        # xdist reports a crashed worker's test with when="???"
        if outcome == "failed":
            self._fail(message or "the test's worker crashed", detail)
        self._judge_subtests()
        return "end"

    def next_attempt(self, when: str) -> Verdict:
        """The verdict of the attempt after a ``rerun`` report in phase ``when``."""
        return Verdict(rerun_teardown=when in ("setup", "call"))

    def subtest(self, label: str, outcome: str, message: str, detail: str) -> None:
        """Take a subtest's report (pytest 9's ``SubTestReport``)."""
        if outcome == "failed":
            self.subtests.append((label, message, detail))

    def _judge_subtests(self) -> None:
        """Failed subtests fail the test; their messages are its error and detail, unless
        the test failed for a reason of its own (pytest's "contains N failed subtests" is
        none)."""
        if not self.subtests:
            return
        own = self.outcome == "failed" and "failed subtest" not in self.reason
        if own:
            return
        label, message, _ = self.subtests[0]
        more = len(self.subtests) - 1
        reason = f"subtest {label} failed: {message}" if label else f"subtest failed: {message}"
        if more:
            reason += f" (and {more} more)"
        texts = [
            f"--- subtest {lb or '(no label)'}: {msg}\n{text}" for lb, msg, text in self.subtests
        ]
        self.outcome, self.reason, self.detail = "failed", reason, "\n\n".join(texts)

    def _fail(self, reason: str, detail: str) -> None:
        if self.outcome != "failed":
            self.outcome, self.reason, self.detail = "failed", reason, detail

    def _skip(self, message: str, xfail: str | None) -> None:
        if self.outcome == "failed":
            return
        if xfail is not None:
            reason = f"xfail: {xfail}" if xfail else "xfail"
        else:
            reason = message.removeprefix("Skipped: ")
        self.outcome, self.reason, self.detail = "skipped", reason, ""


def subtest_label(context: object) -> str:
    """pytest's label of a subtest: ``[msg] (key=value, ...)``, from ``_subtest.context``."""
    if not isinstance(context, dict):
        return ""
    parts = []
    msg = context.get("msg")
    if msg:
        parts.append(f"[{msg}]")
    kwargs = context.get("kwargs")
    if isinstance(kwargs, dict) and kwargs:
        parts.append("(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")")
    return " ".join(parts)


def _time_of(item: tuple[int, Record]) -> float | None:
    """A record's own time (its start), None for one without (0 on crashed workers' reports
    and on unittest subtests)."""
    return item[1].start or None


def _is_barrier(item: tuple[int, Record]) -> bool:
    return item[1].report_type in ("SessionStart", "SessionFinish")


def _worker_of(node: str | None) -> str:
    """The worker named in xdist's ``node`` field (``<WorkerController gw0>``), else ""."""
    if not node:
        return ""
    name = node.strip("<>").rsplit(" ", 1)[-1]
    return name if name.startswith("gw") else ""


def level_of(section: str) -> str:
    """The log level for a captured-output section title ("Captured stderr call")."""
    if "stderr" in section:
        return "stderr"
    if "stdout" in section:
        return "stdout"
    return "info"


def events(lines: Iterable[bytes], *, path: str, run: str, name: str) -> Iterator[AnyEvent]:
    """The runreel events of a pytest report log."""
    yield from _Import(path, run, name).events(lines)


@dataclass
class _Test:
    verdict: Verdict = field(default_factory=Verdict)
    begun: bool = False


class _Import:
    def __init__(self, path: str, run: str, name: str) -> None:
        self.path = path
        self.em = Emitter("pytest-reportlog", run, name)
        self.tests: dict[str, _Test] = {}
        self.files: set[str] = set()
        self.clock: float | None = None
        self.synthetic = False
        self.finished: int | None | Literal[False] = False  # exit status once SessionFinish seen
        self.tally = Tally("pytest-reportlog", path)

    def events(self, lines: Iterable[bytes]) -> Iterator[AnyEvent]:
        pending: list[tuple[int, Record]] = []
        records = in_time_order(self._records(lines), _time_of, _is_barrier)
        for n, record in records:
            if self.clock is None:
                pending.append((n, record))
                if record.report_type != "TestReport":
                    continue
                self.synthetic = record.start is None
                self.clock = SYNTHETIC_EPOCH if self.synthetic else record.start
                yield self.em.run_started(self.clock)  # type: ignore[arg-type]
                for _, r in pending:
                    yield from self._record(r)
                pending.clear()
                continue
            yield from self._record(record)
        self.tally.check()  # no report at all, or more of another format's records
        if self.clock is None:
            self.clock = SYNTHETIC_EPOCH
            yield self.em.run_started(self.clock)
            for _, r in pending:
                yield from self._record(r)
        if self.finished is not False:
            yield from self._close_open()
            yield from self.em.closing(
                max(self.em.last_t, self._now()),
                failed=self.finished not in (0, None),
                exit_status=self.finished,
            )

    def _records(self, lines: Iterable[bytes]) -> Iterator[tuple[int, Record]]:
        for n, line, last in numbered(lines):
            if not line.strip():
                continue
            try:
                record = _decoder.decode(line)
            except msgspec.ValidationError as exc:
                raise bad_line(self.path, n, f"unexpected report: {exc}", last=False) from None
            except msgspec.DecodeError as exc:
                raise json_error(self.path, n, exc, last=last) from None
            if not record.report_type:  # not a report (another tool's JSON): counted, skipped
                self.tally.other(line)
                continue
            self.tally.ours += 1
            yield n, record

    def _record(self, r: Record) -> Iterator[AnyEvent]:
        kind = r.report_type
        if kind == "TestReport":
            yield from self._test_report(r)
        elif kind == "SubTestReport":
            yield from self._subtest_report(r)
        elif kind == "CollectReport":
            yield from self._collect_report(r)
        elif kind == "WarningMessage":
            text = first_line(r.message or "")
            category = f"{r.category}: " if r.category else ""
            yield self.em.log(self._now(), f"{category}{text}", "warning")
        elif kind == "SessionStart":
            self.finished = False  # a second session in one file goes on with the same run
            if r.pytest_version and "pytest_version" not in self.em.meta:
                self.em.meta["pytest_version"] = r.pytest_version
        elif kind == "SessionFinish":
            self.finished = r.exitstatus

    def _now(self) -> float:
        return self.clock if self.clock is not None else SYNTHETIC_EPOCH

    def _times(self, r: Record) -> tuple[float, float]:
        """A report's start and stop; one without times (``None``, or 0 as on a crashed
        worker's report and on unittest subtests) happens at the latest time seen."""
        if self.synthetic or not r.start:
            start = self._now()
            stop = start + max(r.duration or 0.0, 0.0)
        else:
            start, stop = r.start, r.stop if r.stop is not None else r.start
        if self.clock is None or stop > self.clock:
            self.clock = stop
        return start, stop

    def _test_report(self, r: Record) -> Iterator[AnyEvent]:
        em = self.em
        key = r.nodeid
        start, stop = self._times(r)
        test = self.tests.get(key)
        if test is None:
            test = self.tests[key] = _Test()
        worker = r.worker_id or _worker_of(r.node)
        when = r.when or ""
        if when == "setup" and r.outcome != "skipped" and not (test.begun and em.is_open(key)):
            yield from self._mark_file(start, key)
            test.begun = True
            yield em.begin(start, key, worker)
        elif when == "setup" and test.begun and em.is_open(key):
            yield em.begin(start, key, worker)  # the next attempt after a rerun
        elif when == "???" and worker and em.worker_of(key) != worker:
            # a crashed worker's test; under pytest-rerunfailures no setup report came
            test.begun = True
            yield em.begin(start, key, worker)
        message = detail = ""
        if r.outcome != "passed":
            longrepr = _any.decode(r.longrepr)
            message = message_of(longrepr)
            if r.outcome in ("failed", "rerun"):
                detail = text_of(longrepr)
        action = test.verdict.add(when, r.outcome or "", message, r.wasxfail, detail)
        if action == "continue":
            return
        yield from self._sections(stop, r)
        if action == "retry":
            test.begun = True
            yield em.retry(stop, key, test.verdict.reason, detail=test.verdict.detail)
            test.verdict = test.verdict.next_attempt(when)
            return
        verdict = test.verdict
        for label, message, _ in verdict.subtests:
            yield em.log(stop, f"{key} {label}: SUBFAIL {message}".replace("  ", " "), "error")
        for note in verdict.notes:
            yield em.log(stop, f"{key}: {note}", "warning")
        yield em.end(
            stop, key, verdict.outcome, verdict.reason, worker or None, detail=verdict.detail
        )
        del self.tests[key]

    def _subtest_report(self, r: Record) -> Iterator[AnyEvent]:
        """A subtest's result joins its test's verdict; it makes no task of its own. (Under
        pytest-rerunfailures a test's subtest reports come before its setup report.)"""
        self._times(r)
        if r.outcome != "failed":
            return
        test = self.tests.get(r.nodeid)
        if test is None:
            test = self.tests[r.nodeid] = _Test()
        longrepr = _any.decode(r.longrepr)
        label = subtest_label(_any.decode(r.subtest))
        test.verdict.subtest(label, "failed", message_of(longrepr), text_of(longrepr))
        yield from ()

    def _sections(self, t: float, r: Record) -> Iterator[AnyEvent]:
        if r.sections == b"[]":
            return
        sections = _any.decode(r.sections)
        if not isinstance(sections, list):
            return
        for section in sections:
            if isinstance(section, list) and len(section) == 2:
                title, content = str(section[0]), str(section[1])
                level = level_of(title)
                for line in text_lines(content):
                    yield self.em.log(t, line, level)

    def _mark_file(self, t: float, nodeid: str) -> Iterator[AnyEvent]:
        module = nodeid.split("::", 1)[0]
        if module and module not in self.files:
            self.files.add(module)
            yield self.em.mark(t, module)

    def _collect_report(self, r: Record) -> Iterator[AnyEvent]:
        if r.outcome == "failed":
            longrepr = _any.decode(r.longrepr)
            message = message_of(longrepr) or "collection failed"
            reason = f"collection error: {message}"
            yield self.em.end(self._now(), r.nodeid, "failed", reason, detail=text_of(longrepr))
        elif r.outcome == "skipped":
            message = message_of(_any.decode(r.longrepr)).removeprefix("Skipped: ")
            yield self.em.end(self._now(), r.nodeid, "skipped", message)

    def _close_open(self) -> Iterator[AnyEvent]:
        for key in list(self.tests):
            if self.em.is_open(key):
                yield self.em.end(
                    self._now(), key, "failed", "the test did not finish (no teardown report)"
                )
        self.tests.clear()
