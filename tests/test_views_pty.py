"""The six questions of a post-mortem, each answered in at most three keys, in a real terminal.

``runreel replay`` of the fixture ``postmortem`` runs in a pseudo-terminal (the ``Pty`` of
tests/test_replay_pty.py) and starts at the run's end, on the dashboard. Each question
gets a fresh replay, presses its keys (counted: at most three) and waits until the
answer is on the screen. The README's "post-mortem" section walks the same keys.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fixture
from test_replay_pty import RUNREEL, Pty

pytestmark = pytest.mark.skipif(not os.path.exists(RUNREEL), reason="runreel is not installed")

DOWN, HOME = "\x1b[B", "\x1b[H"
MOVED = ("5", "6")  # questions that seek: q then exits 3 (the run had not finished there)

# question -> the keys pressed, each with what must then be on the screen
QUESTIONS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "1 what failed, and why": [
        ("f", ("3 failure groups", "ConnectionError: could not reach db-<num>.internal:<num>")),
        ("d", ("Traceback (most recent call last):", 'File "resize/store.py"', "failed")),
    ],
    "2 when each kind of failure started and how often it came back": [
        ("f", ("11 failed · 16 retried · 16 tasks · first 00:12 · last 00:19",)),
    ],
    "3 which tasks were slowest": [
        ("t", ("240 tasks",)),
        ("s", ("sorted by duration", "img-0042")),
    ],
    "4 how throughput and failures evolved": [
        ("i", ("tasks ended per bucket", "✖")),
        (HOME, ("◆ db-failover",)),  # the first rows: the mark, the failures right after it
    ],
    "5 what worker-2 was doing at 30% of the run": [
        ("3", ("00:11 /",)),
        ("w", ("6 workers",)),
        (DOWN, ("worker-2: latest attempts, running first", "img-0042 #1  worker-2  running")),
    ],
    "6 what happened around the mark db-failover": [
        ("[", ("paused at mark db-failover", "primary database lost; promoting replica")),
        ("e", ("ConnectionError: could not reach db-1.internal:5432",)),
    ],
}


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "postmortem.jsonl"
    shutil.copy(fixture("postmortem"), path)
    return path


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[type[Pty]]:
    made: list[Pty] = []

    class Tracked(Pty):
        def __init__(self, args: list[str], **kw: int) -> None:
            super().__init__(args, tmp_path, **kw)
            made.append(self)

    yield Tracked
    for p in made:
        p.close()


@pytest.mark.parametrize("question", sorted(QUESTIONS))
def test_each_question_is_answered_in_at_most_three_keys(
    question: str, replay: type[Pty], log: Path
) -> None:
    steps = QUESTIONS[question]
    assert len(steps) <= 3
    p = replay([str(log), "--instant"], cols=120, rows=40)
    p.wait_for("end · instant", "finished: partial failure")
    for key, answer in steps:
        p.press(key, *answer)
    p.press("q")
    assert p.wait_exit() == (3 if question[0] in MOVED else 2)
    p.assert_terminal_restored()
