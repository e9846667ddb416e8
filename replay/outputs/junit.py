"""A run as JUnit XML, so it shows up in every CI's test-report page.

One ``<testsuite>`` per worker (the worker of a task's latest attempt, the one that decided
it), one ``<testcase>`` per task, its ``name`` the task id. Attempts follow Maven
Surefire's rerun convention, which Jenkins, GitLab and runreel's own importer read: a task
that failed and then succeeded has a ``<flakyFailure>`` per failed attempt; one that
failed for good has ``<failure>`` (its first failed attempt) and a ``<rerunFailure>`` for
each later one; the error is the ``message``, the ``detail`` the text. A skipped task
has ``<skipped message=REASON>``; a task still open at the position is an
``<error type="unfinished">``. Each case has the property ``attempts``. Log text passes
through ``safe`` and loses what XML 1.0 cannot hold, so the bytes are always well-formed,
and the same log and position always give the same bytes. See docs/importers.md.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from replay.core.signature import first_line, split_type
from replay.core.text import safe

FAILED_ATTEMPTS = ("retried", "restarted", "failed")
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")  # what XML 1.0 cannot hold beyond C0
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\t": "&#9;"}
)


@dataclass(frozen=True)
class Attempt:
    """One attempt at a task, as the post-mortem store holds it."""

    number: int
    worker: str
    outcome: str  # running | retried | restarted | succeeded | failed | skipped
    error: str
    detail: str


@dataclass(frozen=True)
class Case:
    """One task in its state at the position, with every attempt."""

    task: str
    status: str  # running | backoff | succeeded | failed | skipped
    worker: str
    start_t: float | None
    end_t: float | None
    error: str
    reason: str
    attempts: tuple[Attempt, ...]

    def seconds(self, now: float) -> float:
        """How long the task took (until ``now`` while it is still open)."""
        if self.start_t is None:
            return 0.0
        return max((self.end_t if self.end_t is not None else now) - self.start_t, 0.0)


def read_cases(conn: sqlite3.Connection) -> list[Case]:
    """Every task of a post-mortem store with its attempts, in the order they started."""
    attempts: dict[str, list[Attempt]] = {}
    for task, number, worker, outcome, error, detail in conn.execute(
        "SELECT task, attempt, worker, outcome, error, detail FROM attempts "
        "ORDER BY task, coalesce(start_event, end_event), end_event"
    ):
        attempts.setdefault(task, []).append(
            Attempt(number, worker, outcome, error or "", detail or "")
        )
    return [
        Case(
            task,
            status,
            worker,
            start,
            end,
            error or "",
            reason or "",
            tuple(attempts.get(task, ())),
        )
        for task, status, worker, start, end, error, reason in conn.execute(
            "SELECT task, status, worker, start_t, end_t, error, reason FROM tasks "
            "ORDER BY coalesce(start_t, end_t), task"
        )
    ]


def junit(
    cases: Iterable[Case], *, name: str, run: str, now: float, first_t: float | None = None
) -> str:
    """The JUnit XML document of ``cases`` (a run ``name``/``run`` that began at ``first_t``,
    seen at ``now``). The root's ``time`` is the run's, from its first event to ``now``."""
    suites: dict[str, list[Case]] = {}
    for case in cases:
        suites.setdefault(case.worker, []).append(case)
    if not suites:
        suites[""] = []
    order = sorted(suites.items(), key=lambda kv: (_first_start(kv[1], now), kv[0]))
    body = [_suite(worker or name or "runreel", group, run, now) for worker, group in order]
    everything = [c for _, group in order for c in group]
    counts = _counts(everything)
    if first_t is None:
        first_t = min((_first_start(g, now) for _, g in order), default=now)
    attrs = {"name": name, **counts, "time": _seconds(max(now - first_t, 0.0))}
    head = _open("testsuites", {**attrs, "timestamp": _timestamp(first_t)})
    return "".join(
        ['<?xml version="1.0" encoding="UTF-8"?>\n', head, "\n", *body, "</testsuites>\n"]
    )


def _suite(title: str, cases: list[Case], run: str, now: float) -> str:
    start = _first_start(cases, now)
    attrs = {
        "name": title,
        **_counts(cases),
        "time": _seconds(max(_last_end(cases, now) - start, 0.0)),
        "timestamp": _timestamp(start),
    }
    lines = ["  ", _open("testsuite", attrs), "\n"]
    lines += ["    <properties>\n", "      ", _empty("property", {"name": "run", "value": run})]
    lines += ["\n    </properties>\n"]
    for case in cases:
        lines += _case(case, now)
    lines.append("  </testsuite>\n")
    return "".join(lines)


def _case(case: Case, now: float) -> Iterator[str]:
    attrs = {"name": case.task, "time": _seconds(case.seconds(now))}
    if case.start_t is not None:
        attrs["timestamp"] = _timestamp(case.start_t)
    yield f"    {_open('testcase', attrs)}\n"
    yield "      <properties>\n"
    yield f"        {_empty('property', {'name': 'attempts', 'value': str(len(case.attempts))})}\n"
    yield "      </properties>\n"
    failed = [a for a in case.attempts if a.outcome in FAILED_ATTEMPTS]
    if case.status == "succeeded":
        for a in failed:
            yield from _failure("flakyFailure", a.error or _restarted(a), a.detail, nested=True)
    elif case.status == "failed":
        first, *later = failed or [Attempt(0, case.worker, "failed", case.error, "")]
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
    last = case.attempts[-1] if case.attempts else None
    if case.status == "backoff":
        return f"unfinished: waiting to retry after {first_line(case.error) or 'a failure'}"
    number = last.number if last is not None else 1
    return f"unfinished: attempt {number} was still running"


def _restarted(a: Attempt) -> str:
    return f"restarted: attempt {a.number} began again before it ended"


def _counts(cases: list[Case]) -> dict[str, str]:
    failed = sum(1 for c in cases if c.status == "failed")
    skipped = sum(1 for c in cases if c.status == "skipped")
    open_ = sum(1 for c in cases if c.status not in ("succeeded", "failed", "skipped"))
    return {
        "tests": str(len(cases)),
        "failures": str(failed),
        "errors": str(open_),
        "skipped": str(skipped),
    }


def _first_start(cases: list[Case], now: float) -> float:
    times = [t for c in cases for t in (c.start_t, c.end_t) if t is not None]
    return min(times, default=now)


def _last_end(cases: list[Case], now: float) -> float:
    ends = [c.end_t if c.end_t is not None else now for c in cases]
    return max(ends, default=_first_start(cases, now))


def _seconds(value: float) -> str:
    return f"{value:.6f}"


def _timestamp(t: float) -> str:
    """ISO 8601 in UTC with microseconds, as pytest writes it."""
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="microseconds")


def _clean(value: str) -> str:
    """Log text made visible (controls as symbols) and fit for XML 1.0."""
    return _NOT_XML.sub("\ufffd", safe(value, one_line=False, limit=len(value)))


def _text(value: str) -> str:
    return _clean(value).translate(_ESCAPES)


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f' {k}="{_clean(v).translate(_ATTR_ESCAPES)}"' for k, v in attrs.items())


def _open(tag: str, attrs: dict[str, str]) -> str:
    return f"<{tag}{_attrs(attrs)}>"


def _empty(tag: str, attrs: dict[str, str]) -> str:
    return f"<{tag}{_attrs(attrs)}/>"
