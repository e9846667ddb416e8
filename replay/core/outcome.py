"""How a run ended, as a view sees it: the rule every view, output and exit code follows."""

from __future__ import annotations

import enum

from recorder.events import INTERRUPTED
from replay.core.metrics import Metrics


class Outcome(enum.Enum):
    """The outcome of the state a view stopped at; the value is its label."""

    SUCCEEDED = "all succeeded"
    TOTAL_FAILURE = "total failure"
    PARTIAL_FAILURE = "partial failure"
    INCOMPLETE = "incomplete"


def outcome_of(m: Metrics) -> Outcome:
    """The outcome of the state ``m``.

    Succeeded means every task ended well: no failure, at least one success, no
    planned task left over and the run's own status not "failed". Tasks that
    failed an attempt and then succeeded count as succeeded; a task still in
    flight when the run finished did not succeed. A run that finished with the
    status "interrupted" (``runreel record`` stopped by q, a timeout or a signal)
    is incomplete, as its view was.
    """
    if not m.finished or m.status == INTERRUPTED:
        return Outcome.INCOMPLETE
    if m.succeeded == 0:
        return Outcome.TOTAL_FAILURE
    short = bool(m.in_flight) or (m.total is not None and m.succeeded + m.skipped < m.total)
    if m.failed or short or m.status == "failed":
        return Outcome.PARTIAL_FAILURE
    return Outcome.SUCCEEDED
