"""A store without the workers' figures: what every view but the workers view reads.

Only the workers view reads the ``workers``, ``busy``, ``waits`` and ``waits_loose``
tables and the indexes by worker. Keeping them is about half of what a store costs per
event on a run of short tasks (``bench/live_store.py``): a row of ``busy`` and a worker's
figures for every attempt. A live session shown another view keeps its store without
them (``MovingStore``) and builds it again, with them, when the workers view is shown.
The store's ``meta`` says which it is (``workers`` = 0), so a lean store is never read
as a whole one.
"""

from __future__ import annotations

from replay.store.summary import Summary


class LeanSummary(Summary):
    """A ``Summary`` that keeps the failures' figures (the failures view and a signature's
    tasks read them) and nothing per worker."""

    def closed(self, *_: object) -> None:
        """Not kept: the workers' busy time."""

    def retried(self, *_: object) -> None:
        """Not kept: the workers' waits."""

    def started(self, *_: object) -> None:
        """Not kept: the end of a wait."""

    def abandoned(self, *_: object) -> None:
        """Not kept: a wait that lasts."""

    def reopened(self, *_: object) -> None:
        """Not kept: a failure's wait."""

    def settle(self) -> None:
        """Nothing queued."""
