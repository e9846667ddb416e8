"""A position in a log that moves both ways: the folded state after N events.

Seeking loads the nearest checkpoint at or before the target and folds forward,
so a seek folds at most about CHECKPOINT_EVERY events whatever the log's size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from recorder.codec import Unknown
from recorder.events import AnyEvent
from replay.core.fold import apply, apply_all
from replay.core.metrics import Metrics
from replay.index.build import READ_CHUNK
from replay.index.format import CorruptIndex, Index
from replay.sources.file import Batch, ReadReport, read_batches


class Cursor:
    """The fold state at ``position`` (events folded so far) with the events that follow."""

    def __init__(self, index: Index, *, lenient: bool = False) -> None:
        self.index = index
        self.lenient = lenient
        self.metrics = Metrics()
        self._ahead: deque[AnyEvent | Unknown] = deque()
        self._reader: Iterator[Batch] | None = None
        self._load(0)

    @property
    def count(self) -> int:
        """Events in the log (as indexed)."""
        return self.index.header.count

    @property
    def position(self) -> int:
        return self.metrics.events

    def _load(self, i: int) -> None:
        while True:
            try:
                self.metrics = self.index.state(i)
                break
            except CorruptIndex:
                i -= 1  # a damaged stored state: an earlier one (the first needs none) will do
        cp = self.index.header.checkpoints[i]
        self._ahead.clear()
        report = ReadReport(self.index.log, lines=cp.lines, offset=cp.offset)
        self._reader = read_batches(
            self.index.log, lenient=self.lenient, report=report, chunk=READ_CHUNK
        )

    def peek(self) -> AnyEvent | Unknown | None:
        """The next event, without folding it (None at the end of the indexed log)."""
        if not self._ahead:
            if self.position >= self.count or self._reader is None:
                return None
            for batch in self._reader:
                if batch:
                    self._ahead.extend(batch[: self.count - self.position])
                    break
            else:
                self._reader = None
                return None
        return self._ahead[0]

    def step(self) -> AnyEvent | Unknown | None:
        """Fold the next event; returns it (None at the end)."""
        e = self.peek()
        if e is not None:
            self._ahead.popleft()
            apply(self.metrics, e)
        return e

    def seek(self, n: int) -> None:
        """Move to the state after ``n`` events (clamped to 0..count)."""
        n = max(0, min(n, self.count))
        cp = self.index.at_event(n)
        if n < self.position or self.index.header.checkpoints[cp].events > self.position:
            self._load(cp)
        self._forward(n - self.position)

    def _forward(self, k: int) -> None:
        while k > 0:
            if not self._ahead and self.peek() is None:
                return
            take = min(k, len(self._ahead))
            if take == len(self._ahead):
                apply_all(self.metrics, self._ahead)
                self._ahead.clear()
            else:
                apply_all(self.metrics, [self._ahead.popleft() for _ in range(take)])
            k -= take

    def seek_time(self, t: float) -> None:
        """Move to the state after every event up to the first one later than ``t``."""
        cp = self.index.at_time(t)
        past = self.metrics.last_t is not None and self.metrics.last_t > t
        if past or self.index.header.checkpoints[cp].events > self.position:
            self._load(cp)
        self.advance(t, self.count)

    def advance(self, t: float, limit: int, *, stop_after: type | None = None) -> bool:
        """Fold forward up to the first event later than ``t``, at most to position ``limit``.

        With ``stop_after``, stops just after folding an event of that type and
        returns True; otherwise returns False.
        """
        while self.position < limit:
            if not self._ahead and self.peek() is None:
                return False
            room = limit - self.position
            take = 0
            hit = False
            for e in self._ahead:
                if take >= room or e.t > t:
                    break
                take += 1
                if stop_after is not None and type(e) is stop_after:
                    hit = True
                    break
            if take == len(self._ahead):
                apply_all(self.metrics, self._ahead)
                self._ahead.clear()
            elif take:
                apply_all(self.metrics, [self._ahead.popleft() for _ in range(take)])
            if hit:
                return True
            if self._ahead:  # stopped before the end of what was read: a later event or limit
                return False
        return False
