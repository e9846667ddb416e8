"""The exit-code table: one place, used by every command (see README)."""

from __future__ import annotations

from recorder.errors import LogInvalid, LogUnavailable, RunreelError, WriteFailed
from replay.core.metrics import Metrics
from replay.core.outcome import Outcome, outcome_of

OK = 0
TOTAL_FAILURE = 1
PARTIAL_FAILURE = 2
INCOMPLETE = 3
USAGE = 64
LOG_INVALID = 65
LOG_UNAVAILABLE = 66
IO_ERROR = 74
SIGINT = 130
SIGTERM = 143

TABLE: tuple[tuple[int, str], ...] = (
    (OK, "the run finished and every task succeeded"),
    (
        TOTAL_FAILURE,
        'total failure: the run finished and no task succeeded (includes "no tasks ran")',
    ),
    (PARTIAL_FAILURE, "partial failure: some tasks failed, some succeeded"),
    (
        INCOMPLETE,
        "incomplete: the view stopped before run_finished (timeout, q, log ends early), "
        "or the run was recorded as interrupted",
    ),
    (USAGE, "usage error (bad option or argument)"),
    (LOG_INVALID, "the log is not valid (bad line, unknown version)"),
    (LOG_UNAVAILABLE, "the log cannot be opened"),
    (IO_ERROR, "I/O error writing a snapshot, a log or standard output; an existing file refused"),
    (SIGINT, "stopped by SIGINT (Ctrl-C); a requested snapshot is still written"),
    (SIGTERM, "stopped by SIGTERM; a requested snapshot is still written"),
)


_FOR_OUTCOME = {
    Outcome.SUCCEEDED: OK,
    Outcome.TOTAL_FAILURE: TOTAL_FAILURE,
    Outcome.PARTIAL_FAILURE: PARTIAL_FAILURE,
    Outcome.INCOMPLETE: INCOMPLETE,
}


def for_outcome(outcome: Outcome) -> int:
    """The code for how a run ended (the rule is ``replay.core.outcome``)."""
    return _FOR_OUTCOME[outcome]


def for_metrics(m: Metrics) -> int:
    """The code for the state a view stopped at."""
    return for_outcome(outcome_of(m))


def for_error(exc: RunreelError) -> int:
    """The code for a library error."""
    if isinstance(exc, LogInvalid):
        return LOG_INVALID
    if isinstance(exc, LogUnavailable):
        return LOG_UNAVAILABLE
    if isinstance(exc, WriteFailed):
        return IO_ERROR
    return USAGE


def help_table() -> str:
    """The table as plain lines, for ``--help``."""
    return "\n".join(f"{code:>5}  {meaning}" for code, meaning in TABLE)
