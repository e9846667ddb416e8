"""A run as JUnit XML, so it shows up in every CI's test-report page.

One ``<testsuite>`` per worker (the worker of a task's latest attempt, the one that decided
it; suites by the workers' names), one ``<testcase>`` per task, its ``name`` the task id.
Tasks stream from the post-mortem store: memory holds the document, not a task list.
Attempts follow Maven Surefire's rerun convention, which Jenkins, GitLab and runreel's own
importer read: a task that failed and then succeeded has a ``<flakyFailure>`` per failed
attempt; one that failed for good has ``<failure>`` (its first failed attempt) and a
``<rerunFailure>`` for each later one; the error is the ``message``, the ``detail`` the
text. A skipped task has ``<skipped message=REASON>``; a task still open at the position
is an ``<error type="unfinished">``. Each case has the property ``attempts``. Log text
passes through ``safe`` and loses what XML 1.0 cannot hold, so the bytes are always
well-formed, and the same log and position always give the same bytes. See
docs/importers.md.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import NamedTuple

from replay.core.signature import first_line, split_type
from replay.core.text import safe

_PLAIN = re.compile(r"[ !#-%'-;=?-~]*")  # printable ASCII but " & < >
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")  # what XML 1.0 cannot hold beyond C0
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\t": "&#9;"}
)


class Attempt(NamedTuple):
    """A failed attempt at a task, as the post-mortem store holds it."""

    number: int
    outcome: str  # retried | restarted | failed
    error: str
    detail: str


class Case(NamedTuple):
    """One task in its state at the position, with its failed attempts."""

    task: str
    status: str  # running | backoff | succeeded | failed | skipped
    worker: str
    attempts: int  # the latest attempt's number (0: skipped before it started)
    start_t: float | None
    end_t: float | None
    error: str
    reason: str
    failures: tuple[Attempt, ...] = ()

    def seconds(self, now: float) -> float:
        """How long the task took (until ``now`` while it is still open)."""
        if self.start_t is None:
            return 0.0
        return max((self.end_t if self.end_t is not None else now) - self.start_t, 0.0)


class Suite(NamedTuple):
    """One worker's cases: their counts and span."""

    worker: str
    tests: int
    failures: int
    errors: int  # tasks still open
    skipped: int
    first_t: float
    last_t: float


OPEN = "status NOT IN ('succeeded', 'failed', 'skipped')"
_SUITES = f"""
SELECT worker, count(*), sum(status = 'failed'), sum({OPEN}), sum(status = 'skipped'),
       min(coalesce(start_t, end_t)), max(coalesce(end_t, ?))
FROM tasks GROUP BY worker ORDER BY worker
"""
_CASES = """
SELECT task, status, worker, attempts, start_t, end_t, error, reason FROM tasks
ORDER BY worker, coalesce(start_t, end_t), task
"""
_FAILED = "outcome IN ('retried', 'restarted', 'failed')"
_FAILURES = f"""
SELECT attempt, outcome, error, detail FROM attempts WHERE task = ? AND {_FAILED}
ORDER BY coalesce(start_event, end_event), end_event
"""


def read_suites(conn: sqlite3.Connection, now: float) -> list[Suite]:
    """One suite per worker of a post-mortem store, by the worker's name."""
    return [Suite(*row) for row in conn.execute(_SUITES, (now,))]


def read_cases(conn: sqlite3.Connection) -> Iterator[Case]:
    """Every task of a post-mortem store, by worker and then start; only tasks with a
    failed attempt cost a look-up of their attempts, so memory stays small."""
    failing = {
        task for (task,) in conn.execute(f"SELECT DISTINCT task FROM attempts WHERE {_FAILED}")
    }
    for task, status, worker, attempts, start, end, error, reason in conn.execute(_CASES):
        failures: tuple[Attempt, ...] = ()
        if task in failing:
            failures = tuple(
                Attempt(n, outcome, e or "", d or "")
                for n, outcome, e, d in conn.execute(_FAILURES, (task,))
            )
        yield Case(task, status, worker, attempts, start, end, error or "", reason or "", failures)


def suites_of(cases: Iterable[Case], now: float) -> list[Suite]:
    """The suites of cases in memory, as ``read_suites`` makes them from a store."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.worker, []).append(case)
    out = []
    for worker, group in sorted(groups.items()):
        ends = ("succeeded", "failed", "skipped")
        out.append(
            Suite(
                worker,
                len(group),
                sum(c.status == "failed" for c in group),
                sum(c.status not in ends for c in group),
                sum(c.status == "skipped" for c in group),
                min(t for c in group for t in (c.start_t, c.end_t) if t is not None),
                max(c.end_t if c.end_t is not None else now for c in group),
            )
        )
    return out


def junit(
    suites: list[Suite],
    cases: Iterable[Case],
    *,
    name: str,
    run: str,
    now: float,
    first_t: float | None = None,
) -> str:
    """The JUnit XML document of ``cases`` (grouped by worker in the order of ``suites``)
    of a run ``name``/``run`` that began at ``first_t``, seen at ``now``. The root's
    ``time`` is the run's, from its first event to ``now``."""
    return "".join(_document(suites, cases, name=name, run=run, now=now, first_t=first_t))


def _document(
    suites: list[Suite],
    cases: Iterable[Case],
    *,
    name: str,
    run: str,
    now: float,
    first_t: float | None,
) -> Iterator[str]:
    if first_t is None:
        first_t = min((s.first_t for s in suites), default=now)
    totals = [sum(getattr(s, key) for s in suites) for key in _COUNTS]
    attrs = dict(zip(_COUNTS, map(str, totals), strict=True))
    attrs = {"name": name, **attrs, "time": _seconds(max(now - first_t, 0.0))}
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f"{_open('testsuites', {**attrs, 'timestamp': _timestamp(first_t)})}\n"
    if not suites:
        suites = [Suite("", 0, 0, 0, 0, first_t, first_t)]
    properties = f"    <properties>\n      {_empty('property', {'name': 'run', 'value': run})}\n"
    properties += "    </properties>\n"
    rows = iter(cases)
    case = next(rows, None)
    for suite in suites:
        head = {"name": suite.worker or name or "runreel"}
        head.update(zip(_COUNTS, (str(getattr(suite, k)) for k in _COUNTS), strict=True))
        head["time"] = _seconds(max(suite.last_t - suite.first_t, 0.0))
        head["timestamp"] = _timestamp(suite.first_t)
        yield f"  {_open('testsuite', head)}\n"
        yield properties
        while case is not None and case.worker == suite.worker:
            yield from _case(case, now)
            case = next(rows, None)
        yield "  </testsuite>\n"
    if case is not None:
        raise ValueError(f"case {case.task!r} of worker {case.worker!r} is out of its suite")
    yield "</testsuites>\n"


_COUNTS = ("tests", "failures", "errors", "skipped")


def _case(case: Case, now: float) -> Iterator[str]:
    attrs = {"name": case.task, "time": _seconds(case.seconds(now))}
    if case.start_t is not None:
        attrs["timestamp"] = _timestamp(case.start_t)
    yield f"    {_open('testcase', attrs)}\n"
    yield "      <properties>\n"
    yield f"        {_empty('property', {'name': 'attempts', 'value': str(case.attempts)})}\n"
    yield "      </properties>\n"
    failed = case.failures
    if case.status == "succeeded":
        for a in failed:
            yield from _failure("flakyFailure", a.error or _restarted(a), a.detail, nested=True)
    elif case.status == "failed":
        first, *later = failed or [Attempt(case.attempts, "failed", case.error, "")]
        yield from _failure("failure", first.error, first.detail)
        for a in later:
            yield from _failure("rerunFailure", a.error or _restarted(a), a.detail, nested=True)
    elif case.status == "skipped":
        yield f"      {_empty('skipped', {'message': case.reason})}\n"
    else:  # running or backoff: not finished at this position
        detail = failed[-1].detail if case.status == "backoff" and failed else ""
        yield from _failure("error", _unfinished(case), detail, kind="unfinished")
    yield "    </testcase>\n"


def _failure(
    tag: str, error: str, detail: str, *, nested: bool = False, kind: str | None = None
) -> Iterator[str]:
    """A failure element: the error as ``message`` (and its type), the detail as the text;
    Surefire nests the text of reruns and flaky runs in ``<stackTrace>``."""
    attrs = {"message": first_line(error) or "failed"}
    type_ = kind if kind is not None else split_type(error)[0]
    if type_:
        attrs["type"] = type_
    if not detail:
        yield f"      {_empty(tag, attrs)}\n"
        return
    text = _text(detail)
    if nested:
        yield f"      {_open(tag, attrs)}<stackTrace>{text}</stackTrace></{tag}>\n"
    else:
        yield f"      {_open(tag, attrs)}{text}</{tag}>\n"


def _unfinished(case: Case) -> str:
    if case.status == "backoff":
        return f"unfinished: waiting to retry after {first_line(case.error) or 'a failure'}"
    return f"unfinished: attempt {max(case.attempts, 1)} was still running"


def _restarted(a: Attempt) -> str:
    return f"restarted: attempt {a.number} began again before it ended"


def _seconds(value: float) -> str:
    return f"{value:.6f}"


def _timestamp(t: float) -> str:
    """ISO 8601 in UTC with microseconds, as pytest writes it."""
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="microseconds")


def _clean(value: str) -> str:
    """Log text made visible (controls as symbols) and fit for XML 1.0."""
    return _NOT_XML.sub("\ufffd", safe(value, one_line=False, limit=len(value)))


def _text(value: str) -> str:
    if _PLAIN.fullmatch(value):  # most text: nothing to replace or escape
        return value
    return _clean(value).translate(_ESCAPES)


def _attr(value: str) -> str:
    if _PLAIN.fullmatch(value):
        return value
    return _clean(value).translate(_ATTR_ESCAPES)


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items())


def _open(tag: str, attrs: dict[str, str]) -> str:
    return f"<{tag}{_attrs(attrs)}>"


def _empty(tag: str, attrs: dict[str, str]) -> str:
    return f"<{tag}{_attrs(attrs)}/>"
