"""A view whose store is built again after a seek (failures, workers) is built a part per
frame: the viewer draws how far it got and answers keys meanwhile, so q quits at once
instead of after the whole read. In a real terminal (the ``Pty`` of test_replay_pty)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from test_replay_pty import RUNREEL, Pty
from test_store import story, write
from test_store_extend import answers

from replay.index.store import load_or_build
from replay.store.access import build_to
from replay.store.building import Building
from replay.store.moving import STEP, MovingStore, Reading

LEFT = "\x1b[D"


@pytest.mark.skipif(not os.path.exists(RUNREEL), reason="runreel is not installed")
@pytest.mark.parametrize(("view", "shown"), [("f", "failure group"), ("w", "across ")])
def test_q_quits_while_a_view_reads_the_log_after_a_seek(
    tmp_path: Path, view: str, shown: str
) -> None:
    log = write(tmp_path / "run.jsonl", story(7, 180_000))
    assert log.read_bytes().count(b"\n") > 8 * STEP  # a build of many parts
    subprocess.run([RUNREEL, "index", str(log)], check=True, capture_output=True)
    p = Pty([str(log), "--instant"], tmp_path)
    try:
        p.wait_for("end · instant")
        p.press(view, shown)  # at the end, from the kept store
        p.press(LEFT, "reading the log to event")  # back: its store is built again
        seen = len(p.raw)
        p.child.send("q")
        p.wait_exit()
        after = bytes(p.raw[seen:])
        # q was answered before the read completed: no frame of the complete view
        # was drawn after the first "reading" frame, and the last one said how far it got.
        assert shown.encode() not in after
        assert b"100 %" not in after
        p.assert_terminal_restored()
        # its store, half built, went with it (the last frame read it before it closed)
        assert list(p.tmp.iterdir()) == []
    finally:
        p.close()


def test_a_store_built_a_part_at_a_time_is_the_store_built_at_once(tmp_path: Path) -> None:
    log = write(tmp_path / "run.jsonl", story(5, 20_000))
    index = load_or_build(str(log))
    position = index.header.count - 37
    store = MovingStore(str(log), step=1000)
    parts = []
    try:
        while True:
            try:
                conn = store.at(index, position)
                break
            except Reading as reading:
                assert reading.target == position and store.pending is not None
                assert store.pending[:2] == (reading.done, position)
                parts.append(reading.done)
        assert store.pending is None and store.events == position
        assert parts == sorted(parts) and len(parts) > 3
        build_to(str(log), str(tmp_path / "once.sqlite"), events=position)
        once = sqlite3.connect(tmp_path / "once.sqlite")
        assert answers(conn) == answers(once)
        once.close()
    finally:
        store.close()


def test_a_build_goes_on_while_the_position_moves_forward(tmp_path: Path) -> None:
    """A replay that plays on while a view's store is built: each frame asks for a later
    position; the build to the first one goes on and the store then reads on."""
    log = write(tmp_path / "run.jsonl", story(5, 20_000))
    index = load_or_build(str(log))
    position = index.header.count // 2
    first = position
    store = MovingStore(str(log), step=1000)
    try:
        frames = 0
        while True:
            try:
                conn = store.at(index, position)
                break
            except Reading as reading:
                assert reading.target == first  # still the first target
                if reading.done < reading.target:  # reading (not indexing): one per frame
                    frames += 1
                    position += 1
        assert frames > 3 and store.events == position
        build_to(str(log), str(tmp_path / "once.sqlite"), events=position)
        once = sqlite3.connect(tmp_path / "once.sqlite")
        assert answers(conn) == answers(once)
        once.close()
    finally:
        store.close()


def test_closing_a_build_that_is_indexing_stops_it(tmp_path: Path) -> None:
    log = write(tmp_path / "run.jsonl", story(5, 20_000))
    building = Building(str(log), str(tmp_path / "store.sqlite"))
    while not building.step(1000) and not building.finishing:
        pass
    assert building.finishing  # the indexes are being made in a thread
    while not building.ready:  # done, and says so without a step (a session redraws then)
        pass
    assert building.step(1000)

    building = Building(str(log), str(tmp_path / "again.sqlite"))
    while not building.step(1000) and not building.finishing:
        pass
    building.close()  # returns once that thread stopped (or finished)
    thread = building._thread
    assert thread is not None and not thread.is_alive()
