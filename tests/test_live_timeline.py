"""The live timeline's frames: a frame a second of the run's elapsed time while events
stream (its bars count whole buckets) or it stalls, at once on a key, a change of the
run's state or its end; each frame drawn whole at one moment, so its header and its rows
agree."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console
from test_views import Clock, press

from recorder.codec import encode_all
from recorder.events import RunFinished, RunStarted, TaskStarted, TaskSucceeded
from replay.core.views.histogram import grid, here
from replay.sessions.live import LiveSession
from replay.sources.follow import Follower

T0 = 1_700_000_000.0
PER_SECOND = 100  # events of the run a second of its time
PER_TICK = 10  # a tick a tenth of a second


def lines(n: int) -> list[bytes]:
    """A run of ``n`` tasks, each started and done within a hundredth of a second."""
    events: list[object] = [RunStarted(v=1, run="r", name="steady", t=T0, src="s", seq=1)]
    for i in range(n):
        t = T0 + (2 * i + 1) / PER_SECOND
        events.append(TaskStarted(task=f"t{i}", worker="w", t=t, src="s", seq=2 * i + 2))
        events.append(TaskSucceeded(task=f"t{i}", worker="w", t=t + 0.005, src="s", seq=2 * i + 3))
    return encode_all(events).splitlines(keepends=True)  # type: ignore[arg-type]


def render(s: LiveSession) -> str:
    console = Console(file=io.StringIO(), width=120, height=40, color_system=None, _environ={})
    with console.capture() as cap:
        console.print(s.view(), height=40)
    return cap.get()


def test_the_live_timeline_draws_a_frame_a_second_while_events_stream(tmp_path: Path) -> None:
    every = lines(1000)  # 20 s of the run
    path = tmp_path / "live.jsonl"
    path.write_bytes(every[0])
    mono = Clock(0.0)
    s = LiveSession(Follower(str(path)), wall=Clock(T0), mono=mono)
    s.keys = True
    s.tick()
    press(s, "i")
    drawn: list[object] = [s.frame_key()]
    screens = [render(s)]
    ticks = 0
    for i in range(1, len(every), PER_TICK):
        with open(path, "ab") as f:
            f.write(b"".join(every[i : i + PER_TICK]))
        mono.t += PER_TICK / PER_SECOND
        s.tick()
        ticks += 1
        key = s.frame_key()
        if key != drawn[-1]:  # what the loop does: a frame only for a new key
            drawn.append(key)
            screens.append(render(s))
            m, now = s.metrics, s.now()
            elapsed = int(m.elapsed(now))
            assert f"elapsed {elapsed // 60:02d}:{elapsed % 60:02d}" in screens[-1]
            width, rows = grid(m, now)
            now_row = [r for r in screens[-1].splitlines() if re.search(r"\d ● ", r)]
            assert len(now_row) == 1 and here(m, now) == rows - 1  # the row of now, drawn
            done = int(re.findall(r"● [█ ]*?\s+(\d+)", now_row[0])[0])
            folded = (min(i + PER_TICK, len(every)) - 1) // 2  # tasks ended so far
            ended = [(2 * j + 1.5) / PER_SECOND for j in range(folded)]
            assert done == sum(int(t / width) == rows - 1 for t in ended)  # its count then
    seconds = int(s.metrics.elapsed(s.now()))
    assert ticks >= 190 and seconds >= 19
    assert seconds - 2 <= len(drawn) - 1 <= seconds + 2  # a frame a second, not a tick
    quiet = []
    for _ in range(100):  # 10 s without events: the stall's counter moves in tenths
        mono.t += 0.1
        s.tick()
        key = s.frame_key()
        if key != drawn[-1]:
            drawn.append(key)
            quiet.append(render(s))
    assert "stalled for" in quiet[-1]  # its state changed at once, and then ...
    assert 9 <= len(quiet) <= 12  # ... a frame a second
    before = s.frame_key()
    press(s, "up")  # a key: at once
    assert s.frame_key() != before
    before = s.frame_key()
    with open(path, "ab") as f:
        f.write(encode_all([RunFinished(t=s.metrics.last_t or T0, src="s", seq=2002)]))
    s.tick()  # the run's end: at once
    assert s.metrics.finished and s.frame_key() != before
    assert "finished" in render(s)
    before = s.frame_key()
    mono.t += 10.0
    s.tick()
    assert s.frame_key() == before  # a finished run stands still
    s.close()
