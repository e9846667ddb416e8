"""Fast tests of the live viewer's parts, without a terminal: Follower, LiveSession, keys, finish.

Clocks are fakes, files live in tmp_path, and the CLI runs through click's CliRunner
(its output is not a TTY, so these also cover the plain mode for pipes and CI).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from rich.spinner import Spinner

from recorder import codec
from recorder.errors import LogInvalid
from recorder.events import (
    AnyEvent,
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskRetrying,
    TaskStarted,
    TaskSucceeded,
)
from recorder.writer import Recorder
from replay import exitcodes
from replay.cli import cli
from replay.core.metrics import Metrics
from replay.core.views.overview import ANIMATION_HZ, STALL_AFTER, dashboard, frame_key
from replay.sessions.keys import SIGINT_KEY, SIGTERM_KEY, Inputs, split_keys
from replay.sessions.live import EXTEND_BY, KEYS, LiveSession
from replay.sessions.loop import finish, is_interactive, run_plain
from replay.sources.follow import Follower

T0 = 1_700_000_000.0


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def ev(cls: type[AnyEvent], seq: int, t: float = T0, **fields: object) -> bytes:
    """One encoded log line."""
    return codec.encode(cls(t=t, src="w-1", seq=seq, **fields))  # type: ignore[arg-type]


def started(total: int | None = 3, run: str = "run1", t: float = T0) -> bytes:
    return ev(RunStarted, 1, t, v=1, run=run, name="unit", total=total)


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def session(path: Path, **kwargs: object) -> tuple[LiveSession, FakeClock, FakeClock]:
    wall, mono = FakeClock(T0), FakeClock(100.0)
    s = LiveSession(Follower(str(path)), wall=wall, mono=mono, **kwargs)  # type: ignore[arg-type]
    return s, wall, mono


# Follower ---------------------------------------------------------------------


def test_follower_waits_for_the_file_to_appear(tmp_path: Path) -> None:
    log = tmp_path / "later.jsonl"
    f = Follower(str(log))
    assert f.poll().events == []
    assert not f.appeared and f.notice and "waiting for" in f.notice
    log.write_bytes(started())
    assert len(f.poll().events) == 1
    assert f.appeared and f.notice is None
    f.close()


def test_follower_reads_only_what_was_appended(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_bytes(started() + ev(TaskStarted, 2, task="a"))
    f = Follower(str(log))
    assert [type(e).__name__ for e in f.poll().events] == ["RunStarted", "TaskStarted"]
    assert f.poll().events == []
    append(log, ev(TaskSucceeded, 3, task="a"))
    assert [type(e).__name__ for e in f.poll().events] == ["TaskSucceeded"]
    f.close()


def test_follower_holds_a_partial_last_line_until_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "p.jsonl"
    line = ev(TaskStarted, 2, task="held")
    log.write_bytes(started() + line[:10])
    f = Follower(str(log))
    assert len(f.poll().events) == 1  # run_started only
    assert f.pending_bytes == 10
    append(log, line[10:-1])  # everything but the newline
    assert f.poll().events == []
    assert f.pending_bytes == len(line) - 1
    append(log, b"\n")
    events = f.poll().events
    assert len(events) == 1 and isinstance(events[0], TaskStarted) and events[0].task == "held"
    assert f.pending_bytes == 0
    f.close()


def test_follower_holds_a_partial_first_line(tmp_path: Path) -> None:
    log = tmp_path / "first.jsonl"
    line = started()
    log.write_bytes(line[:5])
    f = Follower(str(log))
    assert f.poll().events == [] and f.appeared
    append(log, line[5:])
    assert len(f.poll().events) == 1
    f.close()


def test_follower_reports_truncation_and_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(
        started(run="old") + ev(TaskStarted, 2, task="a") + ev(TaskStarted, 3, task="b")
    )
    f = Follower(str(log))
    assert len(f.poll().events) == 3
    with open(log, "wb") as out:  # truncate in place: same inode
        out.write(started(run="new"))
    poll = f.poll()
    assert poll.reset
    assert [getattr(e, "run", None) for e in poll.events] == ["new"]
    assert f.notice and "truncated" in f.notice
    assert f.report.lines == 1
    f.close()


def test_follower_notices_truncation_even_when_the_new_log_is_already_longer(
    tmp_path: Path,
) -> None:
    """Truncated and rewritten between two polls (e.g. ``record --force``): not read from the
    middle of a line of the new run."""
    log = tmp_path / "t.jsonl"
    log.write_bytes(started(run="old"))
    f = Follower(str(log))
    assert len(f.poll().events) == 1
    new_run = [started(run="new")] + [ev(TaskStarted, i, task=f"t{i}") for i in range(2, 8)]
    with open(log, "wb") as out:
        out.write(b"".join(new_run))
    poll = f.poll()
    assert poll.reset
    assert len(poll.events) == 7 and getattr(poll.events[0], "run", None) == "new"
    assert f.notice and "truncated" in f.notice
    f.close()


def test_follower_reports_rotation_and_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "r.jsonl"
    log.write_bytes(started(run="old"))
    f = Follower(str(log))
    f.poll()
    log.rename(tmp_path / "r.jsonl.1")
    (tmp_path / "r.jsonl").write_bytes(started(run="new") + ev(TaskStarted, 2, task="x"))
    poll = f.poll()
    assert poll.reset and len(poll.events) == 2
    assert getattr(poll.events[0], "run", None) == "new"
    assert f.notice and "replaced" in f.notice
    f.close()


def test_follower_reports_deletion_and_keeps_what_it_read(tmp_path: Path) -> None:
    log = tmp_path / "d.jsonl"
    log.write_bytes(started())
    f = Follower(str(log))
    assert len(f.poll().events) == 1
    log.unlink()
    poll = f.poll()
    assert not poll.reset and poll.events == []
    assert f.notice and "moved or deleted" in f.notice
    f.close()


def test_a_log_renamed_while_written_is_still_followed(tmp_path: Path) -> None:
    """logrotate's default: the log is renamed and its writer goes on writing to it."""
    log = tmp_path / "m.jsonl"
    log.write_bytes(started() + ev(TaskStarted, 2, task="a"))
    f = Follower(str(log))
    assert len(f.poll().events) == 2
    moved = tmp_path / "m.jsonl.1"
    log.rename(moved)
    append(moved, ev(TaskSucceeded, 3, task="a"))
    poll = f.poll()
    assert not poll.reset and [type(e) for e in poll.events] == [TaskSucceeded]
    assert f.notice and "still following" in f.notice
    f.close()


def test_rotation_with_a_new_empty_file_keeps_reading_the_old_one(tmp_path: Path) -> None:
    """logrotate's "create": renamed, an empty file put in its place; the writer goes on in
    the old file, then reopens the path and goes on in the new one: one run throughout."""
    log = tmp_path / "r.jsonl"
    log.write_bytes(started() + ev(TaskStarted, 2, task="a") + ev(TaskSucceeded, 3, task="a"))
    s, _, _ = session(log)
    s.tick()
    log.rename(tmp_path / "r.jsonl.1")
    log.touch()
    append(tmp_path / "r.jsonl.1", ev(TaskStarted, 4, task="b"))
    s.tick()
    assert s.metrics.started == 2 and any("old file" in n.plain for n in s.notes())
    append(log, ev(TaskSucceeded, 5, task="b"))  # the writer reopened the path
    s.tick()
    m = s.metrics
    assert (m.succeeded, m.events, m.gap_count, m.run) == (2, 5, 0, "run1")
    assert any("replaced (rotated), the same run goes on" in n.plain for n in s.notes())


def test_copytruncate_goes_on_with_the_same_run(tmp_path: Path) -> None:
    """logrotate's copytruncate: the log is emptied in place, its writer keeps appending."""
    log = tmp_path / "c.jsonl"
    log.write_bytes(started() + ev(TaskStarted, 2, task="a") + ev(TaskSucceeded, 3, task="a"))
    s, _, _ = session(log)
    s.tick()
    os.truncate(log, 0)
    s.tick()  # nothing yet: the picture stays, and says what happened
    assert s.metrics.succeeded == 1
    assert any("truncated, waiting" in n.plain for n in s.notes())
    append(log, ev(TaskStarted, 4, task="b") + ev(TaskSucceeded, 5, task="b"))
    s.tick()
    m = s.metrics
    assert m.succeeded == 2 and m.events == 5 and m.gap_count == 0  # one run, nothing lost
    assert any("truncated, the same run goes on" in n.plain for n in s.notes())
    assert s.reason is None  # still watching
    append(log, ev(TaskStarted, 7, task="c"))  # seq 6 was lost in the copy: said so
    s.tick()
    assert s.metrics.gap_count == 1 and s.metrics.lost_events == 1


def test_follower_bad_line_is_an_error_or_skipped_when_lenient(tmp_path: Path) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_bytes(started() + b"{not json}\n" + ev(TaskStarted, 2, task="a"))
    with pytest.raises(LogInvalid) as info:
        Follower(str(log)).poll()
    assert info.value.line == 2
    f = Follower(str(log), lenient=True)
    assert len(f.poll().events) == 2
    assert f.report.skipped_count == 1
    f.close()


# LiveSession with fake clocks ---------------------------------------------------


def test_session_folds_new_events_and_starts_over_after_truncation(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    log.write_bytes(started() + ev(TaskStarted, 2, task="a") + ev(TaskSucceeded, 3, task="a"))
    s, _, _ = session(log)
    s.tick()
    assert s.metrics.succeeded == 1 and s.metrics.events == 3
    log.write_bytes(started(run="again"))
    s.tick()
    assert s.metrics.succeeded == 0 and s.metrics.run == "again" and s.metrics.events == 1
    assert any("truncated" in n.plain for n in s.notes())
    assert "truncated" in s.status_line()


@pytest.mark.parametrize("skew", [-20.0, 30.0], ids=["writer-behind", "writer-ahead"])
def test_a_writer_clock_off_from_the_viewers_neither_fakes_nor_hides_a_stall(
    tmp_path: Path, skew: float
) -> None:
    """Stalls are measured from when events arrive; task times in the writer's own time."""
    log = tmp_path / "k.jsonl"
    log.write_bytes(started(t=T0 + skew))
    s, wall, mono = session(log)
    s.tick()  # caught up
    seq = 1
    for i in range(10):  # an event every 0.3 s of the viewer's time, stamped by the writer
        seq += 1
        append(log, ev(TaskStarted, seq, T0 + skew + 0.3 * i, task=f"t{i}", worker="w1"))
        wall.advance(0.3)
        mono.advance(0.3)
        s.tick()
        line = s.status_line()
        assert " running " in line and "stalled" not in line, line
    assert s.now() - s.metrics.last_t < 0.01  # the newest task has just started
    wall.advance(STALL_AFTER + 1)
    mono.advance(STALL_AFTER + 1)
    assert "stalled for 6.0s" in s.status_line()  # nothing arrived for six seconds


def test_an_old_log_opened_now_is_stalled_since_its_last_event(tmp_path: Path) -> None:
    log = tmp_path / "old.jsonl"
    log.write_bytes(started(t=T0 - 3600) + ev(TaskStarted, 2, T0 - 3590, task="a"))
    s, _, _ = session(log)
    s.tick()
    assert "stalled for 59m50s" in s.status_line()  # read while catching up: no arrival seen


def test_session_timeout_fires_at_its_deadline(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    log.write_bytes(started())
    s, _, mono = session(log, timeout=5.0)
    s.tick()
    assert s.reason is None
    assert any(n.plain == "timeout in 00:05" for n in s.notes())
    mono.advance(4.9)
    s.tick()
    assert s.reason is None
    mono.advance(0.1)
    s.tick()
    assert s.reason == "timeout"


def test_session_c_cancels_and_plus_extends_the_timeout(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    log.write_bytes(started())
    s, _, mono = session(log, timeout=5.0)
    s.keys = True
    s.key("+")
    assert s.deadline == pytest.approx(110.0)
    s.key("c")
    assert s.deadline is None
    assert not any("timeout in" in n.plain for n in s.notes())
    assert any("+ set timeout" in n.plain for n in s.notes())
    mono.advance(1000)
    s.tick()
    assert s.reason is None
    s.key("+")  # sets it again, the --timeout length from now
    assert s.deadline == pytest.approx(mono() + 5.0)


def test_session_plus_without_timeout_sets_one(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    log.write_bytes(started())
    s, _, mono = session(log)
    assert s.deadline is None
    s.key("+")
    assert s.deadline == pytest.approx(mono() + EXTEND_BY)


@pytest.mark.parametrize(
    ("key", "reason"),
    [("q", "quit"), ("Q", "quit"), (SIGINT_KEY, "sigint"), (SIGTERM_KEY, "sigterm")],
)
def test_session_stop_keys(tmp_path: Path, key: str, reason: str) -> None:
    log = tmp_path / "s.jsonl"
    log.write_bytes(started())
    s, _, _ = session(log)
    s.key("x")  # unknown keys are ignored
    assert s.reason is None
    s.key(key)
    assert s.reason == reason


def test_session_stops_when_the_run_finishes_unless_it_stays(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    log.write_bytes(
        started(total=1)
        + ev(TaskStarted, 2, T0 + 1, task="a")
        + ev(TaskSucceeded, 3, T0 + 2, task="a")
        + ev(RunFinished, 4, T0 + 3, status="ok")
    )
    s, wall, _ = session(log)
    s.tick()
    assert s.reason == "finished"
    wall.advance(3600)
    assert s.now() == T0 + 3  # a finished run is frozen at its last event
    stay, _, _ = session(log, stay=True)
    stay.keys = True
    stay.tick()
    assert stay.reason is None
    assert [n.plain for n in stay.notes()] == [
        "finished",
        "q quit",
        "? help",
        "Tab/o/f/t/d/w/i/l views",
    ]
    stay.key("q")
    assert stay.reason == "quit"
    no_keys, _, _ = session(log, stay=True)  # --stay without a keyboard cannot wait for q
    no_keys.tick()
    assert no_keys.reason == "finished"


def test_status_line_is_plain_and_honest(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    s, wall, mono = session(log)
    s.tick()
    assert s.status_line() == f"runreel: waiting for {log}"
    log.write_bytes(started(total=4) + ev(TaskStarted, 2, task="a", worker="w1"))
    s.tick()
    assert " running (0 - 0 / 4) in flight 1 " in s.status_line()
    wall.advance(7.5)
    mono.advance(7.5)
    assert "stalled for 7.5s" in s.status_line()  # as the header says it
    append(log, ev(TaskFailed, 3, T0 + 8, task="a", worker="w1", error="boom\x1b[2J"))
    append(log, ev(RunFinished, 4, T0 + 9, status="failed"))
    s.tick()
    line = s.status_line()
    assert "finished: total failure (1 - 1 / 4)" in line
    assert "ETA none: ended with tasks left" in line  # as the footer says: 3 never ran
    assert "\x1b" not in line


def test_notes_fit_an_80_column_terminal(tmp_path: Path) -> None:
    """A file notice, the countdown and the keys are all readable on 80x24."""
    log = tmp_path / "s.jsonl"
    log.write_bytes(started() + ev(TaskStarted, 2, task="a"))
    s, _, _ = session(log, timeout=90)
    s.keys = True
    s.tick()
    log.write_bytes(started())
    s.tick()
    with open(os.devnull, "w") as devnull:
        console = Console(width=80, height=24, record=True, color_system=None, file=devnull)
        console.print(s.view(), height=24)
    text = console.export_text()
    assert "log truncated, a new run started: /" in text  # the news first, then the path
    assert "timeout in 01:30  q quit  ? help  c cancel timeout  + extend" in text
    assert "Remaining 3" in text  # the footer keeps its figures


# The frame key: skipping a redraw must never hide a change ----------------------


def _frame(m: Metrics, now: float, width: int = 80, height: int = 16) -> str:
    console = Console(
        width=width,
        height=height,
        record=True,
        color_system="truecolor",
        force_terminal=True,
        file=open(os.devnull, "w"),
        _environ={},
    )
    console.print(dashboard(m, now), height=height)
    console.file.close()
    return console.export_text(styles=True)


BUSY = [
    (TaskStarted, 0.5, {"task": "a", "worker": "w1"}),
    (TaskStarted, 0.6, {"task": "b", "worker": "w2"}),
    (TaskRetrying, 1.0, {"task": "b", "worker": "w2", "error": "e", "backoff": 3.33}),
    (TaskSucceeded, 1.2, {"task": "a", "worker": "w1"}),
    (TaskStarted, 1.3, {"task": "c", "worker": "w1"}),
]
QUIET = [  # nothing in flight: the spinner, clocks, rate and ETA are what move
    (TaskStarted, 0.2, {"task": "a", "worker": "w1"}),
    (TaskSucceeded, 0.3, {"task": "a", "worker": "w1"}),
    (TaskStarted, 0.4, {"task": "b", "worker": "w1"}),
    (TaskSucceeded, 0.5, {"task": "b", "worker": "w1"}),
]
FINISHED = [*QUIET, (RunFinished, 0.6, {"status": "ok"})]


@pytest.mark.parametrize(
    ("events", "total", "start", "step"),
    [
        (BUSY, 6, 1.3, 0.059),
        (BUSY, None, 1.3, 0.059),
        (QUIET, 6, 0.5, 0.053),
        (FINISHED, 2, 0.6, 0.097),
    ],
    ids=["busy", "busy-no-total", "quiet", "finished"],
)
def test_equal_frame_keys_mean_equal_frames(
    tmp_path: Path,
    events: list[tuple[type[AnyEvent], float, dict[str, object]]],
    total: int | None,
    start: float,
    step: float,
) -> None:
    """Whenever frame_key says nothing changed, the rendered dashboard is the same bytes."""
    log = tmp_path / "k.jsonl"
    lines = [started(total=total)]
    lines += [ev(cls, i, T0 + t, **f) for i, (cls, t, f) in enumerate(events, start=2)]
    log.write_bytes(b"".join(lines))
    s, _, _ = session(log)
    s.tick()
    m = s.metrics
    seen: dict[object, str] = {}
    # Times at an awkward step: running, backoff, stalled (> 5 s), past the backoff.
    for i in range(120):
        now = T0 + start + i * step
        frame = _frame(m, now)
        key = frame_key(m, now)
        if key in seen:
            assert seen[key] == frame, f"frame changed but its key did not at +{now - T0:.3f}s"
        seen[key] = frame
    assert len(seen) > 20  # the key does change as time passes


def _busy_no_total(tmp_path: Path) -> Metrics:
    log = tmp_path / "b.jsonl"
    lines = [started(total=None)]
    lines += [ev(cls, i, T0 + t, **f) for i, (cls, t, f) in enumerate(BUSY, start=2)]
    log.write_bytes(b"".join(lines))
    s, _, _ = session(log)
    s.tick()
    return s.metrics


DOTS = set("".join(Spinner("dots").frames))


def _spinners(frame: str) -> list[str]:
    return [c for c in frame if c in DOTS]


def test_spinners_move_while_events_arrive_one_step_at_a_time(tmp_path: Path) -> None:
    m = _busy_no_total(tmp_path)
    at = T0 + 2.41  # a second after the last event, just after a step began
    steps = [_spinners(_frame(m, at + i / ANIMATION_HZ)) for i in range(3)]
    assert all(steps) and steps[0] != steps[1] != steps[2]
    within_a_step = {tuple(_spinners(_frame(m, at + i * 0.04))) for i in range(5)}
    assert len(within_a_step) == 1


def test_a_stalled_run_stands_still_between_clock_ticks(tmp_path: Path) -> None:
    """No events for STALL_AFTER s: no spinner, no pulse; only the seconds move."""
    m = _busy_no_total(tmp_path)
    base = T0 + 40.0  # elapsed 40.0 s, stalled for 38.7 s: no clock ticks in the next 0.3 s
    between_ticks = {_frame(m, base + i * 0.06) for i in range(5)}
    assert len(between_ticks) == 1
    frame = next(iter(between_ticks))
    assert not _spinners(frame)
    assert "◦" in frame  # w1 is still busy (no end event), but nothing claims it is moving
    keys = {frame_key(m, base + i * 0.1) for i in range(100)}
    assert len(keys) <= 21  # ten seconds at 10 Hz: the two clocks' ticks only (not 100)


# Keys and inputs --------------------------------------------------------------------


def test_split_keys_names_arrows_and_drops_other_escapes() -> None:
    assert split_keys("q") == ["q"]
    assert split_keys("\x1b[A\x1b[Dc+") == ["up", "left", "c", "+"]
    assert split_keys("\x1b[1;5Cq") == ["q"]  # ctrl-right: not ours, dropped whole
    assert split_keys("\x1b") == ["esc"]  # Esc alone (a sequence comes in one read)
    assert split_keys("\x1b\x1b[A") == ["esc", "up"]
    assert split_keys("\x1bx") == ["x"]  # alt-x: the key without its modifier


def test_inputs_wait_returns_early_and_collects_a_burst() -> None:
    inputs = Inputs()
    t = time.monotonic()
    assert inputs.wait(0.05) == []
    assert time.monotonic() - t >= 0.04
    for k in "abc":
        inputs.put(k)
    assert inputs.wait(5) == ["a", "b", "c"]
    threading.Timer(0.05, inputs.put, ("q",)).start()
    t = time.monotonic()
    assert inputs.wait(60) == ["q"]
    assert time.monotonic() - t < 60  # it returned on the key, not at its own timeout


def test_is_interactive_honours_rich_overrides() -> None:
    assert is_interactive({"TTY_INTERACTIVE": "1"}) is True
    assert is_interactive({"TTY_INTERACTIVE": "0"}) is False
    assert is_interactive({"TTY_COMPATIBLE": "0"}) is False
    assert is_interactive({"TERM": "dumb"}) is False


# finish(): snapshot and exit code ------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("quit", exitcodes.INCOMPLETE),
        ("timeout", exitcodes.INCOMPLETE),
        ("sigint", exitcodes.SIGINT),
        ("sigterm", exitcodes.SIGTERM),
    ],
)
def test_finish_codes_and_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reason: str, code: int
) -> None:
    log = tmp_path / "s.jsonl"
    log.write_bytes(started() + ev(TaskStarted, 2, task="snap-task", worker="w1"))
    s, _, _ = session(log)
    s.tick()
    s.reason = reason
    snap = tmp_path / "out.json"
    console = Console(file=open(os.devnull, "w"), width=100, height=30)
    rc = finish(s, interactive=False, console=console, snapshot=str(snap), snapshot_format="json")
    console.file.close()
    assert rc == code
    data = json.loads(snap.read_text())
    assert data["state"]["exit_code"] == exitcodes.INCOMPLETE
    assert [f["task"] for f in data["in_flight"]] == ["snap-task"]
    assert capsys.readouterr().out.startswith("runreel: ")


def test_run_plain_prints_status_lines_until_the_run_finishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "plain.jsonl"
    rec = Recorder(log, name="plain", total=1)
    s = LiveSession(Follower(str(log)), wall=time.time, mono=time.monotonic)
    first_line = threading.Event()
    status_line = s.status_line

    def counted() -> str:
        first_line.set()
        return status_line()

    s.status_line = counted  # type: ignore[method-assign]

    def work() -> None:  # the run goes on only once the loop has printed a line
        assert first_line.wait(60)
        with rec.task("t1", worker="w1"):
            pass
        rec.finish()
        rec.close()

    writer = threading.Thread(target=work)
    writer.start()
    ticks = iter(range(1_000_000))  # a clock that moves 1 s per read: a line every iteration
    run_plain(s, interval=1.0, clock=lambda: float(next(ticks)), poll=0.02)
    writer.join()
    out = capsys.readouterr().out
    assert s.reason == "finished"
    lines = out.splitlines()
    assert lines and all(line.startswith("runreel: ") for line in lines)
    assert "running" in lines[0] or "waiting" in lines[0]  # printed before the run finished
    assert "\x1b" not in out


# The CLI when stdout is not a terminal ----------------------------------------------


def _finished_log(path: Path, *, ok: int, failed: int) -> None:
    with Recorder(path, name="cli", total=ok + failed) as rec:
        for i in range(ok):
            with rec.task(f"ok-{i}", worker="w1"):
                pass
        for i in range(failed):
            rec.task_started(f"bad-{i}", worker="w2")
            rec.failed(f"bad-{i}", worker="w2", error="nope")


@pytest.mark.parametrize(
    ("ok", "failed", "code"),
    [(2, 0, exitcodes.OK), (1, 1, exitcodes.PARTIAL_FAILURE), (0, 2, exitcodes.TOTAL_FAILURE)],
)
def test_live_cli_exits_with_the_metrics_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ok: int, failed: int, code: int
) -> None:
    for var in ("TTY_INTERACTIVE", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(var, raising=False)
    log = tmp_path / "done.jsonl"
    _finished_log(log, ok=ok, failed=failed)
    snap = tmp_path / "final.txt"
    result = CliRunner().invoke(cli, ["live", str(log), "--snapshot", str(snap)])
    assert result.exit_code == code, result.output
    assert result.stdout.startswith("runreel: ")
    assert "\x1b" not in result.stdout
    assert "Workers" in result.stdout and "Workers" in snap.read_text()


def test_live_cli_times_out_when_the_log_never_appears(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["live", str(tmp_path / "never.jsonl"), "--timeout", "0.3"])
    assert result.exit_code == exitcodes.LOG_UNAVAILABLE
    assert "never appeared" in result.stderr


def test_live_cli_rejects_an_unknown_snapshot_extension(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["live", "x.jsonl", "--snapshot", "out.png"])
    assert result.exit_code == exitcodes.USAGE


def test_the_help_of_plus_says_what_it_does_after_c(tmp_path: Path) -> None:
    """--timeout 600, c, +: a timeout of 600 s again, and the help says so (review item 8)."""
    log = tmp_path / "s.jsonl"
    log.write_bytes(started())
    s, _, mono = session(log, timeout=600.0)
    s.key("c")
    s.key("+")
    assert s.deadline == pytest.approx(mono() + 600.0)
    binding = KEYS.find("+")
    assert binding is not None
    said = binding.does
    assert "extend by --timeout s" in said and "after c, start a new one" in said, said
    assert f"({EXTEND_BY:g} s if none given)" in said
