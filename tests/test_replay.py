"""ReplaySession driven by a fake clock and scripted keys (no terminal), and ``runreel replay``.

A paused or seeked replay must draw exactly what ``runreel snapshot --at`` draws for the
same position and size; the CLI runs in-process (CliRunner: not a TTY, so plain mode).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import fixture, invoke
from rich.console import Console
from test_index import linear, same, write_log

from recorder import codec
from recorder.events import (
    AnyEvent,
    Log,
    Mark,
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
)
from replay import exitcodes
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.core.when import END, START, When, parse_when
from replay.index.cursor import Cursor
from replay.index.store import load_or_build
from replay.outputs.snapshot import capture_console, render
from replay.sessions.keys import SIGINT_KEY, SIGTERM_KEY
from replay.sessions.replay import ReplaySession
from replay.sessions.replay_keys import SPEEDS
from replay.sources.file import read_batches

T0 = 1_700_000_000.0
W, H = 100, 30


def story(path: Path) -> Path:
    """13 events over 40 s: marks at 2 s (#4) and 36 s (#10), failures at 4 s (#6) and
    38 s (#12), a quiet gap from 6 s to 36 s; ends in partial failure."""
    seq = {"m": 0, "p": 0}

    def ev(cls: type[AnyEvent], t: float, src: str = "p", **kw: object) -> AnyEvent:
        seq[src] += 1
        return cls(t=T0 + t, src=src, seq=seq[src], **kw)  # type: ignore[call-arg]

    events = [
        ev(RunStarted, 0, "m", v=1, run="r-story", name="story", total=4),
        ev(TaskStarted, 0, task="a", worker="w1"),
        ev(TaskStarted, 1, task="b", worker="w2"),
        ev(Mark, 2, "m", label="warm"),
        ev(TaskSucceeded, 3, task="a", worker="w1"),
        ev(TaskFailed, 4, task="b", worker="w2", error="disk full"),
        ev(TaskStarted, 5, task="c", worker="w1"),
        ev(TaskSucceeded, 6, task="c", worker="w1"),
        ev(Log, 6, msg="quiet now"),
        ev(Mark, 36, "m", label="again"),
        ev(TaskStarted, 37, task="d", worker="w2"),
        ev(TaskFailed, 38, task="d", worker="w2", error="timeout"),
        ev(RunFinished, 40, "m", status="failed"),
    ]
    path.write_bytes(codec.encode_all(events))
    return path


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def session(
    path: Path,
    *,
    start: When = START,
    stop: When = END,
    speed: float = 1.0,
    keys: bool = True,
    **kw: object,
) -> tuple[ReplaySession, Clock]:
    clock = Clock()
    s = ReplaySession(
        Cursor(load_or_build(str(path))),
        start=start,
        stop=stop,
        speed=speed,
        mono=clock,
        **kw,  # type: ignore[arg-type]
    )
    s.keys = keys
    return s, clock


def play(s: ReplaySession, clock: Clock, seconds: float, step: float = 0.25) -> None:
    """Real seconds pass in ``step`` ticks."""
    for _ in range(round(seconds / step)):
        clock.t += step
        s.tick()


def screen(s: ReplaySession, width: int = W, height: int = H, *, styles: bool = True) -> str:
    """The replay's whole frame (with its timeline) as the terminal would get it."""
    console = capture_console(width, height, color=True)
    console.print(s.view(), height=height)
    return console.export_text(styles=styles)


def snapshot_cli(path: Path, at: str, width: int = W, height: int = H) -> str:
    result = invoke(
        ["snapshot", str(path), "--at", at, "--width", str(width), "--height", str(height)]
    )
    # At the log's end the story run is a partial failure (2 of 4 failed); before, incomplete.
    events = len(path.read_bytes().splitlines())
    ends = at in ("end", "100%", f"#{events}")
    assert result.exit_code == (exitcodes.PARTIAL_FAILURE if ends else 3), (at, result.output)
    return result.stdout


def drawn(s: ReplaySession, width: int = W, height: int = H) -> str:
    """What ``runreel snapshot`` would write for the session's position and clock."""
    return render(s.metrics, s.now(), width=width, height=height, fmt="text")


def fold_until(path: Path, t: float) -> Metrics:
    m = Metrics()
    for batch in read_batches(str(path)):
        for e in batch:
            if e.t > t:
                return m
            apply_all(m, [e])
    return m


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return story(tmp_path / "story.jsonl")


# Playback -------------------------------------------------------------------------


def test_playback_follows_the_virtual_clock_at_speed(log: Path) -> None:
    s, clock = session(log, speed=2.0)
    assert s.cursor.position == 1 and s.now() == T0  # start: after the first event
    play(s, clock, 1.5)
    assert s.now() == pytest.approx(T0 + 3.0)
    same(s.metrics, fold_until(log, T0 + 3.0))
    s.key("+")
    assert s.speed == 4.0
    play(s, clock, 0.5)
    assert s.now() == pytest.approx(T0 + 5.0)
    same(s.metrics, fold_until(log, T0 + 5.0))


def test_pause_freezes_the_picture_exactly(log: Path) -> None:
    s, clock = session(log)
    play(s, clock, 2.5)
    s.key(" ")
    assert s.paused
    frozen, at = screen(s), s.now()
    for _ in range(12):
        clock.t += 0.37
        s.tick()
        assert screen(s) == frozen and s.now() == at
    assert "paused" in frozen
    s.key(" ")
    clock.t += 0.5
    s.tick()
    assert s.now() == pytest.approx(at + 0.5), "the paused time is not played"
    assert screen(s) != frozen


def test_the_same_position_always_draws_the_same_bytes(log: Path) -> None:
    a, clock_a = session(log)
    b, _ = session(log)
    play(a, clock_a, 3.25)
    b.seek_time(T0 + 3.25)
    assert screen(a) == screen(b)
    a.key(" ")
    b.key(" ")
    b.key("G")
    b.key("g")
    b.seek_time(T0 + 3.25)
    assert screen(a) == screen(b)


@pytest.mark.parametrize("speed", [0.5, 1.0, 8.0])
def test_plays_to_the_end_and_stops_there(log: Path, speed: float) -> None:
    s, clock = session(log, speed=speed, keys=False)
    play(s, clock, 40 / speed + 1, step=0.5)
    assert s.reason == "end" and s.at_end
    assert s.cursor.position == 13 and s.now() == T0 + 40
    assert exitcodes.for_metrics(s.metrics) == exitcodes.PARTIAL_FAILURE


def test_instant_goes_straight_to_the_stop(log: Path) -> None:
    s, clock = session(log, speed=0, keys=False, stop=parse_when("#7"))
    s.tick()
    assert s.reason == "--to" and s.cursor.position == 7  # stopped at --to, not the log's end
    assert drawn(s) == snapshot_cli(log, "#7")


def test_an_interactive_replay_waits_at_the_end_until_q(log: Path) -> None:
    s, clock = session(log, speed=8)
    play(s, clock, 10)
    assert s.reason is None and s.paused and s.at_end
    assert "end" in screen(s)
    s.key("q")
    assert s.reason == "quit"


def test_q_on_the_last_frame_of_an_unfinished_log_says_the_log_ends_not_interrupted() -> None:
    """The replay had reached the end of the log: q leaves the viewer, it interrupts
    nothing, so the last frame says what the replay's own end says."""
    s, clock = session(Path(fixture("unfinished")), speed=0)
    s.tick()
    assert s.reason is None and s.paused and s.at_end
    s.key("q")
    assert s.reason == "end"
    text = screen(s, styles=False)
    assert "the log ends here" in text and "interrupted" not in text
    s, clock = session(Path(fixture("unfinished")), speed=0, stop=parse_when("50%"))
    s.tick()
    s.key("q")  # at the --to mark: the state then, as without keys
    assert s.reason == "--to" and "interrupted" not in screen(s, styles=False)
    s, clock = session(Path(fixture("unfinished")), speed=8)
    play(s, clock, 1)
    assert not s.at_end
    s.key("q")  # before the end: the state there as shown, nothing interrupted
    assert s.reason == "quit" and s.shown_stop is None
    assert "interrupted" not in screen(s, styles=False)


def test_g_goes_to_the_start_of_what_is_replayed(log: Path) -> None:
    s, _ = session(log, start=parse_when("#4"), stop=parse_when("#10"))
    s.key("G")
    s.key("g")
    assert s.cursor.position == 4 and s.now() == T0 + 2  # --from, not the log's first event


def test_a_jump_to_a_mark_says_which(log: Path) -> None:
    s, _ = session(log)
    s.key(" ")  # paused
    s.key("]")
    assert "paused at mark warm" in screen(s, styles=False)


def test_space_at_the_end_plays_again_from_the_start(log: Path) -> None:
    s, clock = session(log, start=parse_when("#4"), speed=8)
    play(s, clock, 10)
    assert s.at_end and s.paused
    s.key(" ")
    assert not s.paused and s.cursor.position == 4 and s.now() == T0 + 2
    play(s, clock, 0.5)
    assert not s.at_end and s.now() == T0 + 6  # playing at 8x again


def test_quit_is_the_first_key_shown_on_a_narrow_terminal(log: Path) -> None:
    s, _ = session(log)
    text = screen(s, width=80, styles=False)
    assert "q quit  ? help  space pause" in text


# Keys -------------------------------------------------------------------------------


def test_left_and_right_seek_five_seconds(log: Path) -> None:
    s, _ = session(log)
    s.key("right")
    s.key("right")
    assert s.now() == T0 + 10
    same(s.metrics, fold_until(log, T0 + 10))
    s.key("left")
    assert s.now() == T0 + 5
    same(s.metrics, fold_until(log, T0 + 5))
    for _ in range(5):
        s.key("left")
    assert s.now() == T0
    for _ in range(20):
        s.key("right")
    assert s.now() == T0 + 40 and s.cursor.position == 13


def test_brackets_jump_between_marks(log: Path) -> None:
    s, _ = session(log)
    s.key("]")
    assert (s.cursor.position, s.now()) == (4, T0 + 2)
    assert drawn(s) == snapshot_cli(log, "mark:warm")
    s.key("]")
    assert (s.cursor.position, s.now()) == (10, T0 + 36)
    assert drawn(s) == snapshot_cli(log, "mark:again")
    s.key("]")
    assert s.cursor.position == 10, "no mark after the last"
    s.key("[")
    assert (s.cursor.position, s.now()) == (4, T0 + 2)
    s.key("[")
    assert s.cursor.position == 4, "no mark before the first"


def test_e_and_shift_e_jump_between_failures(log: Path) -> None:
    s, _ = session(log)
    s.key("e")
    assert (s.cursor.position, s.now()) == (6, T0 + 4)
    assert s.metrics.failed == 1
    s.key("e")
    assert (s.cursor.position, s.now()) == (12, T0 + 38)
    s.key("e")
    assert s.cursor.position == 12
    s.key("E")
    assert s.cursor.position == 6
    s.key("G")
    s.key("E")
    assert s.cursor.position == 12


def test_comma_and_period_step_one_event_both_ways_and_pause(log: Path) -> None:
    s, clock = session(log)
    s.seek_event(8)
    s.key(".")
    assert s.paused and s.cursor.position == 9
    same(s.metrics, linear(log, 9))
    for n in (8, 7, 6, 5):
        s.key(",")
        assert s.cursor.position == n
        same(s.metrics, linear(log, n))
    assert drawn(s) == snapshot_cli(log, "#5")
    play(s, clock, 3)
    assert s.cursor.position == 5, "stepping paused the replay"
    s.key("g")
    s.key(",")
    assert s.cursor.position == 1
    s.key("G")
    s.key(".")
    assert s.cursor.position == 13


def test_plus_and_minus_change_speed_within_bounds(log: Path) -> None:
    s, _ = session(log, speed=3.0)
    s.key("+")
    assert s.speed == 4.0
    s.key("-")
    s.key("-")
    assert s.speed == 1.0
    for _ in range(20):
        s.key("-")
    assert s.speed == SPEEDS[0]
    for _ in range(20):
        s.key("+")
    assert s.speed == SPEEDS[-1]


@pytest.mark.parametrize("digit", "0123456789")
def test_digits_jump_to_tenths_of_the_run(log: Path, digit: str) -> None:
    s, _ = session(log)
    s.key(digit)
    t = T0 + 40 * int(digit) / 10
    assert s.now() == pytest.approx(t)
    same(s.metrics, fold_until(log, s.now()))
    assert drawn(s) == snapshot_cli(log, f"{int(digit) * 10}%")


def test_g_and_shift_g_go_to_start_and_end(log: Path) -> None:
    s, _ = session(log)
    s.key("G")
    assert s.cursor.position == 13 and s.now() == T0 + 40 and s.paused
    assert drawn(s) == snapshot_cli(log, "end")
    s.key("g")
    assert s.cursor.position == 1
    assert drawn(s) == snapshot_cli(log, "start")


@pytest.mark.parametrize(
    ("key", "reason"),
    [("q", "quit"), ("Q", "quit"), (SIGINT_KEY, "sigint"), (SIGTERM_KEY, "sigterm")],
)
def test_quit_keys_and_signals_stop_the_replay(log: Path, key: str, reason: str) -> None:
    s, clock = session(log)
    s.key(key)
    assert s.reason == reason
    at = s.now()
    play(s, clock, 2)
    assert s.now() == at


def test_unknown_keys_change_nothing(log: Path) -> None:
    s, clock = session(log)
    before = screen(s)
    for key in ("x", "X", "u", "\t", "é"):  # (arrows, Home, Tab move in the views)
        s.key(key)
    assert screen(s) == before and s.reason is None


# Options -------------------------------------------------------------------------------


def test_max_idle_caps_quiet_gaps_without_changing_the_times(log: Path) -> None:
    s, clock = session(log, keys=False, max_idle=2.0)
    play(s, clock, 6.5, step=0.5)
    assert s.cursor.position == 9 and s.now() == pytest.approx(T0 + 6.5)
    play(s, clock, 1.0, step=0.5)
    assert s.now() == pytest.approx(T0 + 7.5)
    play(s, clock, 0.5, step=0.5)
    assert s.now() == T0 + 36, "after 2 s of the gap the clock jumps to the next event"
    assert s.cursor.position == 10
    assert "00:36 / 00:40" in screen(s), "times shown are the events' own"
    play(s, clock, 4.5, step=0.5)
    assert s.reason == "end"
    uncapped, clock2 = session(log, keys=False)
    play(uncapped, clock2, 20, step=0.5)
    assert uncapped.cursor.position == 9, "without --max-idle the gap plays in full"


def test_pause_at_marks_stops_on_every_mark(log: Path) -> None:
    s, clock = session(log, pause_at_marks=True)
    play(s, clock, 10)
    assert s.paused and s.cursor.position == 4 and s.now() == T0 + 2
    assert drawn(s) == snapshot_cli(log, "mark:warm")
    assert "paused at mark warm" in screen(s, styles=False)  # which mark it stopped at
    s.key(" ")
    assert "paused at mark" not in screen(s, styles=False)
    play(s, clock, 40, step=1.0)
    assert s.paused and s.cursor.position == 10 and s.now() == T0 + 36
    assert "paused at mark again" in screen(s, styles=False)
    s.key(" ")
    play(s, clock, 10)
    assert s.at_end
    plain, clock2 = session(log, pause_at_marks=True, keys=False)
    play(plain, clock2, 41, step=1.0)
    assert plain.reason == "end", "with no keyboard there is no one to resume: no pausing"


def test_from_and_to_bound_the_replay(log: Path) -> None:
    s, clock = session(log, start=parse_when("mark:warm"), stop=parse_when("#8"), keys=False)
    assert s.cursor.position == 4 and s.now() == T0 + 2
    s.key("G")
    assert s.reason == "--to" and s.cursor.position == 8
    assert drawn(s) == snapshot_cli(log, "#8")
    late, _ = session(log, start=parse_when("90%"), stop=parse_when("10%"), keys=False)
    assert late.cursor.position == 6 and late.now() == T0 + 4
    late.tick()
    assert late.reason == "--to"


def test_a_stop_time_between_events_is_played_up_to(log: Path) -> None:
    s, clock = session(log, stop=parse_when("20s"), keys=False)
    play(s, clock, 10)
    assert s.cursor.position == 9 and s.reason is None, "the clock still runs to 20 s"
    play(s, clock, 10.5)
    assert s.reason == "--to" and s.now() == T0 + 20
    assert drawn(s) == snapshot_cli(log, "20s")
    for key in ("right", "9", "G", "e"):
        s.key(key)
        assert s.cursor.position <= 9 and s.now() <= T0 + 20, key


@pytest.mark.parametrize(
    "at", ["start", "#3", "#9", "2.5", "20s", "37", "33%", "mark:again", "end"]
)
@pytest.mark.parametrize("size", [(100, 30), (64, 20)])
def test_a_replay_position_draws_what_snapshot_at_draws(
    log: Path, at: str, size: tuple[int, int]
) -> None:
    s, _ = session(log, start=parse_when(at))
    assert drawn(s, *size) == snapshot_cli(log, at, *size)


def test_a_generated_log_draws_like_snapshot_at_every_key_stop(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    write_log(path, 400, seed=8)
    s, _ = session(path)
    checks = {"]": "mark:m1", "5": "50%", "G": "end", "g": "start"}
    for key, at in checks.items():
        s.key(key)
        assert drawn(s) == snapshot_cli(path, at), key
    s.key("3")
    s.key("right")
    want = s.now() - s.first_t
    assert drawn(s) == snapshot_cli(path, f"{want!r}")


def test_the_timeline_shows_position_marks_and_failures(log: Path) -> None:
    s, _ = session(log)
    text = screen(s, styles=False)
    bar = next(line for line in text.splitlines() if "●" in line)
    assert bar.count("◆") == 2 and bar.count("✖") == 2
    assert bar.index("●") < bar.index("◆")
    assert "q quit  ? help" in text
    s.key("G")
    bar = next(line for line in screen(s, styles=False).splitlines() if "●" in line)
    assert bar.rstrip().endswith("●")
    assert "event 13/13" in screen(s)
    s.keys = False
    assert "q quit" not in screen(s)


def test_equal_frame_keys_draw_equal_frames(log: Path) -> None:
    s, clock = session(log)
    play(s, clock, 1)
    s.key(" ")
    key, frame = s.frame_key(), screen(s)
    play(s, clock, 1)
    assert s.frame_key() == key and screen(s) == frame
    s.key(" ")
    play(s, clock, 1)
    assert s.frame_key() != key


# The command ------------------------------------------------------------------------


@pytest.mark.parametrize("at", ["#5", "3", "50%", "mark:again", "end", "start"])
def test_instant_replay_snapshot_equals_snapshot_at(log: Path, tmp_path: Path, at: str) -> None:
    out = tmp_path / "frame.txt"
    result = invoke(["replay", str(log), "--instant", "--to", at, "--snapshot", str(out)])
    snap = invoke(["snapshot", str(log), "--at", at])
    assert out.read_text() == snap.stdout
    assert result.exit_code == snap.exit_code


def test_replay_json_snapshot_equals_snapshot_at(log: Path, tmp_path: Path) -> None:
    out = tmp_path / "frame.json"
    invoke(["replay", str(log), "--instant", "--to", "37", "--snapshot", str(out)])
    snap = invoke(["snapshot", str(log), "--at", "37", "--format", "json"])
    assert json.loads(out.read_text()) == json.loads(snap.stdout)


@pytest.mark.parametrize(
    ("name", "code"),
    [("all_succeeded", 0), ("total_failure", 1), ("partial_failure", 2), ("unfinished", 3)],
)
def test_the_exit_code_follows_the_state_where_it_stopped(name: str, code: int) -> None:
    assert invoke(["replay", fixture(name), "--instant"]).exit_code == code
    assert invoke(["replay", fixture(name), "--instant", "--to", "#2"]).exit_code == 3


def test_not_a_tty_prints_the_final_frame_without_escapes(log: Path) -> None:
    result = invoke(["replay", str(log), "--speed", "400"])
    assert result.exit_code == exitcodes.PARTIAL_FAILURE
    assert "\x1b" not in result.output
    assert "Errors (2 failed" in result.stdout and "event 13/13" in result.stdout
    assert "●" in result.stdout, "the final frame has the timeline"
    status = [line for line in result.stdout.splitlines() if line.startswith("runreel replay:")]
    assert status[-1].startswith(
        "runreel replay: 00:40 finished: partial failure (2 - 4 / 4) event 13/13"
    )


def test_max_idle_on_the_command_line_shortens_a_real_replay(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 s at 20x with a 30 s gap: the cap leaves (10 + 0.5) / 20 s of playing time, the
    full gap 2 s. The replay's clock is a fake that moves 10 ms per read, so the number of
    reads measures the playing time, whatever the machine's speed."""

    def reads_to_the_end(*extra: str) -> int:
        reads = [0]

        def fake() -> float:
            reads[0] += 1
            return reads[0] * 0.01

        monkeypatch.setattr("replay.cli.replay.MONO", fake)
        monkeypatch.setattr("replay.cli.viewer.MONO", fake)
        result = invoke(["replay", str(log), "--speed", "20", *extra])
        assert result.exit_code == 2
        return reads[0]

    full, capped = reads_to_the_end(), reads_to_the_end("--max-idle", "0.5")
    assert full >= 200  # 2 s of playing time at 10 ms a read
    assert capped < full / 2


@pytest.mark.parametrize(
    "args",
    [
        ["--to", "soon"],
        ["--from", "-3"],
        ["--from", "mark:nope"],
        ["--to", "#0"],
        ["--speed", "-1"],
        ["--max-idle", "0"],
    ],
)
def test_bad_options_are_usage_errors(log: Path, args: list[str]) -> None:
    result = invoke(["replay", str(log), "--instant", *args])
    assert result.exit_code == 64, result.output
    assert "Traceback" not in result.output


def test_missing_and_invalid_logs(tmp_path: Path) -> None:
    assert invoke(["replay", str(tmp_path / "gone.jsonl")]).exit_code == 66
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert invoke(["replay", str(bad), "--instant"]).exit_code == 65


def test_a_replay_shows_warnings_about_the_log(tmp_path: Path) -> None:
    result = invoke(["replay", fixture("torn_tail"), "--instant"])
    assert "incomplete last line" in result.stderr
    assert result.exit_code == 3


def test_console_output_is_plain_with_a_fixed_width(log: Path) -> None:
    console = Console(width=80, force_terminal=False)
    s, _ = session(log, keys=False)
    console.begin_capture()
    console.print(s.view(), height=30)
    out = console.end_capture()
    assert "\x1b" not in out
    lines = out.splitlines()
    assert len(lines) == 30 and {len(line) for line in lines} == {80}
    assert "story" in out  # the run's name: a drawn frame, not blank lines
