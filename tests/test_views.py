"""The post-mortem views: the view state, the keys in live and replay, snapshots of views.

The fixture ``postmortem`` (fixtures/generate.py) tells the story the tests ask about:
240 thumbnails on 6 workers, a burst of ConnectionErrors after the mark "db-failover",
DecodeErrors from the start, one very slow task (img-0042), tracebacks in ``detail``.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import fixture, invoke, run_runreel
from rich.console import Console
from test_snapshot import ENV_A, ENV_B, clean_env

from replay.core import viewstate as vs
from replay.core.when import END, START, parse_when
from replay.index.cursor import Cursor
from replay.index.store import load_or_build
from replay.sessions.keymap import keys_help
from replay.sessions.keys import SIGINT_KEY, split_keys
from replay.sessions.live import KEYS as LIVE_KEYS
from replay.sessions.live import LiveSession
from replay.sessions.replay import ReplaySession
from replay.sessions.replay_keys import KEYS as REPLAY_KEYS
from replay.sources.follow import Follower
from replay.store.pages import record_at

W, H = 120, 40


def copy(tmp_path: Path, name: str = "postmortem") -> Path:
    path = tmp_path / f"{name}.jsonl"
    shutil.copy(fixture(name), path)
    return path


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def replay(path: Path) -> ReplaySession:
    s = ReplaySession(Cursor(load_or_build(str(path))), start=START, stop=END, mono=Clock())
    s.keys = True
    s.to_end()
    return s


def screen(s: ReplaySession | LiveSession, width: int = W, height: int = H) -> str:
    console = Console(
        file=io.StringIO(), width=width, height=height, color_system=None, _environ={}
    )
    with console.capture() as cap:
        console.print(s.view(), height=height)
    return cap.get()


def press(s: ReplaySession | LiveSession, *keys: str) -> None:
    for k in keys:
        s.key(k)


# The view state: pure transitions ---------------------------------------------------


def test_tab_cycles_through_every_view_but_the_detail() -> None:
    state, seen = vs.ViewState(), []
    for _ in vs.CYCLE:
        seen.append(state.view)
        state = vs.cycle(state)
    assert seen == list(vs.CYCLE) and state.view == "overview"
    assert vs.cycle(vs.ViewState(), forward=False).view == "log"


def test_detail_needs_a_task_and_esc_goes_back_to_where_it_was_opened() -> None:
    state = vs.show(vs.ViewState(), "task")
    assert state.view == "overview"  # no task chosen: nothing to show
    state = vs.open_task(vs.show(vs.ViewState(), "failures"), "img-1")
    assert (state.view, state.task, state.back) == ("task", "img-1", "failures")
    assert vs.back(state).view == "failures"
    with pytest.raises(ValueError, match="unknown view"):
        vs.show(state, "nope")


def test_selection_stays_in_the_list_and_is_kept_per_view() -> None:
    state = vs.show(vs.ViewState(), "tasks")
    state = vs.move(state, 5, count=3)
    assert state.row() == 2
    state = vs.move(state, -10, count=3)
    assert state.row() == 0
    state = vs.move(vs.show(vs.move(state, 1, 3), "log"), 4, 10)
    assert (state.row("tasks"), state.row("log")) == (1, 4)


def test_typing_a_filter_takes_every_key_until_enter_or_esc() -> None:
    state = vs.start_typing(vs.show(vs.ViewState(), "tasks"))
    for k in "q0e":
        state = vs.typed(state, k)
    state = vs.typed(state, "backspace")
    assert (state.typing, state.grep, state.row()) == ("q0", "q0", 0)  # applies as typed
    applied = vs.typed(state, "enter")
    assert (applied.grep, applied.typing) == ("q0", None)
    assert vs.back(state).grep == ""  # Esc while typing: nothing applied
    assert vs.back(applied).grep == ""  # Esc again: the filter goes
    assert vs.start_typing(vs.show(vs.ViewState(), "workers")).typing is None
    again = vs.typed(vs.start_typing(applied), "x")
    assert again.grep == "q0x" and vs.back(again).grep == "q0"  # Esc: the one before


def test_the_tasks_filter_shows_matches_while_typing_with_their_own_counts(
    tmp_path: Path,
) -> None:
    s = replay(copy(tmp_path))
    press(s, "t", "/", *"decode")
    text = screen(s)
    assert "7 tasks" in text and "filter: decode" in text
    head = text.splitlines()[4]
    assert "7 failed" in head and "succeeded" not in head, head  # the 7 listed, not all 240
    rows = [line for line in text.splitlines() if "img-" in line]
    assert len(rows) == 7 and all("DecodeError" in line for line in rows)
    press(s, "esc")
    assert "240 tasks" in screen(s)


def test_one_task_reads_as_one_task(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "t")
    name = next(w for line in screen(s).splitlines() for w in line.split() if "img-" in w)
    press(s, "/", *name)
    title = screen(s).splitlines()[4]
    assert "1 task " in title and "1 tasks" not in title, title


def test_sort_and_level_cycle_and_reset_the_selection() -> None:
    state = vs.select(vs.show(vs.ViewState(), "tasks"), 7)
    state = vs.next_sort(state)
    assert (state.sort, state.row()) == ("duration", 0)
    state = vs.next_level(vs.show(state, "log"))
    assert state.level == "info"


# Keys: no clash, listed in help ----------------------------------------------------


def test_view_keys_are_bound_in_both_sessions_and_listed_in_help() -> None:
    for keymap in (LIVE_KEYS, REPLAY_KEYS):  # a key bound twice would have raised
        text = keys_help(keymap)
        for key in ("Tab/o/f/t/d/w/i/l", "↑/↓/PgUp/PgDn", "Enter", "/,s,v", "Esc"):
            assert f"  {key} " in text, (key, text)
        assert "Shift-Tab" in text  # backtab is bound: help names it
    # replay keeps every key it had
    for key in (" ", "left", "right", ",", ".", "[", "]", "e", "E", "+", "-", "0", "g", "G"):
        assert REPLAY_KEYS.find(key) is not None


def test_terminal_bytes_become_the_keys_the_views_use() -> None:
    data = "\t\x1b[Z\r\x7f\x1b[5~\x1b[6~\x1b[1~\x1b[4~"
    assert split_keys(data) == [
        "tab",
        "backtab",
        "enter",
        "backspace",
        "pgup",
        "pgdn",
        "home",
        "end",
    ]


# Replay: the six questions' keys ----------------------------------------------------


def test_failures_group_by_signature_and_enter_lists_the_group_s_tasks(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "f")
    text = screen(s)
    assert "ConnectionError: could not reach db-<num>.internal:<num>" in text
    assert "DecodeError: bad JPEG marker <hex> at byte <num>" in text
    press(s, "enter")
    assert s.pages.state.view == "tasks"
    text = screen(s)
    assert "16 tasks" in text and "group ConnectionError" in text
    press(s, "enter")  # the first task of the group: its detail with the traceback
    text = screen(s)
    assert "Traceback (most recent call last):" in text
    assert "attempt 1 on worker-" in text
    press(s, "esc")
    assert s.pages.state.view == "tasks" and s.pages.state.signature is not None
    press(s, "esc")
    assert s.pages.state.view == "failures" and s.pages.state.signature is None


def test_esc_from_a_group_s_tasks_goes_back_to_that_group() -> None:
    state = vs.select(vs.show(vs.ViewState(), "failures"), 2)
    state = vs.move(vs.filter_group(state, "ConnectionError"), 3, count=16)
    assert (state.view, state.signature) == ("tasks", "ConnectionError")
    grepped = vs.typed(vs.typed(vs.start_typing(state), "x"), "enter")
    assert vs.back(grepped).signature == "ConnectionError"  # Esc drops the filter first
    state = vs.back(state)
    assert (state.view, state.signature, state.row()) == ("failures", None, 2)


def test_d_in_failures_opens_the_group_s_latest_task_that_failed(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "f", "enter", "esc")
    screen(s)
    group = s.pages.last().groups[0]
    assert s.pages.state.view == "failures" and group.failed
    press(s, "d")
    assert s.pages.state.task == group.latest
    text = screen(s)
    assert "failed" in text and group.signature.split(":")[0] in text


def test_tasks_sort_by_duration_puts_the_slowest_first(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "t", "s")
    lines = [line for line in screen(s).splitlines() if "img-" in line]
    assert "img-0042" in lines[0] and "20s" in lines[0]


def test_slash_filters_tasks_and_q_is_text_while_typing(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "t", "/", *"decode", "enter")
    assert s.reason is None
    text = screen(s)
    assert "7 tasks" in text and "filter decode" in text
    press(s, "/", "q")
    assert s.reason is None and s.pages.state.typing == "decodeq"
    press(s, SIGINT_KEY)  # a signal still stops
    assert s.reason == "sigint"


def test_timeline_enter_seeks_the_replay_to_the_selected_row(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "i", "home", "down", "down", "enter")
    m = s.metrics
    assert s.vt == pytest.approx((m.first_t or 0) + 2 * m.series_width)
    assert s.paused and s.cursor.position < s.cursor.count


def test_workers_view_says_what_a_worker_was_doing_at_a_time(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    s.seek_time(s.first_t + 10.0)
    press(s, "w", "down")  # worker-2: busy with the 20 s task img-0042 at 10 s
    text = screen(s)
    assert "worker-2: latest attempts, running first" in text
    running = [line for line in text.splitlines() if "running" in line and "img-" in line]
    assert running and "img-0042" in running[0]


def test_log_view_filters_by_level_and_searches(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "l")
    assert "11 log messages" in screen(s)
    press(s, "v", "v")  # warning and above
    text = screen(s)
    assert "2 log messages" in text and "ERROR primary database lost" in text
    press(s, "v", "/", *"replica", "enter")
    assert "1 log messages" in screen(s)


def test_the_mark_and_what_happened_around_it(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "g", "]", "f")  # to the mark, then the failures as of then
    assert s.stopped_at_mark == "db-failover"
    text = screen(s)
    assert "ConnectionError" not in text  # the burst came after the mark
    press(s, "i")
    assert "◆ db-failover" in screen(s)


def test_view_keys_that_do_nothing_say_why(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "d")
    assert "no task to show" in screen(s)
    press(s, "w", "/")
    assert "/ filters the tasks and the log views" in screen(s)


# The store behind a session answers as a fresh store would --------------------------


@pytest.mark.parametrize("view", ["failures", "tasks", "workers", "log"])
def test_a_paused_replay_reads_what_snapshot_reads_at_its_position(
    view: str, tmp_path: Path
) -> None:
    path = copy(tmp_path)
    s = replay(path)
    press(s, view[0])
    for n in (300, 120, 450, s.cursor.count):  # forward, back (rebuilt), forward, the end
        s.seek_event(n)
        screen(s)
        state = s.pages.state
        expected = record_at(str(path), parse_when(f"#{n}"), state, s.vt)
        assert s.pages.last() == expected, (view, n)


def test_a_kept_store_and_none_give_the_same_snapshot(tmp_path: Path) -> None:
    path = copy(tmp_path)
    args = ["snapshot", str(path), "--view", "failures", "--format", "ansi"]
    without = invoke(args)
    assert not list(tmp_path.glob("*store*"))
    assert invoke(["index", str(path)]).exit_code == 0
    assert list(tmp_path.glob("*store*")), "index keeps a store"
    with_store = invoke(args)
    assert without.exit_code == with_store.exit_code == 2
    assert without.stdout_bytes == with_store.stdout_bytes


# Live: the same views, fed as the log grows ------------------------------------------


def test_live_views_follow_the_growing_log(tmp_path: Path) -> None:
    lines = Path(fixture("postmortem")).read_bytes().splitlines(keepends=True)
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"".join(lines[:300]))
    s = LiveSession(Follower(str(path)), wall=Clock(1_700_000_000.0), mono=Clock())
    s.keys = True
    s.tick()
    press(s, "t")
    first = screen(s)
    assert s.store.started and s.store.events == 300
    total = s.pages.last().tasks.total
    with open(path, "ab") as f:
        f.write(b"".join(lines[300:]))
    while s.follower.poll is not None and s.store.events < len(lines):
        s.tick()
        if s.metrics.events == len(lines):
            break
    screen(s)
    assert s.pages.last().tasks.total > total and "240 tasks" in screen(s)
    assert first != screen(s)
    state = s.pages.state
    assert s.pages.last() == record_at(str(path), END, state, s.now())
    press(s, "i")
    assert "Enter seeks" not in screen(s)  # it cannot: it says so only where it does
    press(s, "enter")
    assert "a live view cannot seek" in screen(s)
    s.close()
    assert not s.store.started


# Snapshots of views: options, errors, formats ----------------------------------------


def test_snapshot_view_options_are_checked(tmp_path: Path) -> None:
    log = fixture("postmortem")
    bad = [
        (["--view", "task"], "--view task needs --task"),
        (["--task", "img-0001", "--view", "tasks"], "takes no --view"),
        (["--task", "no-such-task"], "no task 'no-such-task'"),
        (["--view", "nope"], "nope"),
    ]
    for args, says in bad:
        result = invoke(["snapshot", log, *args])
        assert result.exit_code == 64, (args, result.stderr)
        assert says in result.stderr
        assert "Traceback" not in result.stderr


def test_a_json_snapshot_of_a_view_holds_what_it_shows() -> None:
    result = invoke(["snapshot", fixture("postmortem"), "--view", "failures", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["view"]["name"] == "failures"
    groups = data["view"]["record"]["groups"]
    assert [g["failed"] for g in groups] == sorted((g["failed"] for g in groups), reverse=True)
    assert sum(g["failed"] for g in groups) == data["tasks"]["failed"]


@pytest.mark.parametrize("view", ["failures", "tasks", "workers", "timeline", "log"])
def test_view_snapshots_are_byte_identical_across_environments(view: str, tmp_path: Path) -> None:
    for fmt in ("ansi", "svg"):
        args = ["snapshot", fixture("postmortem"), "--view", view, "--at", "60%", "--format", fmt]
        args += ["--width", "90", "--height", "28"]
        a = run_runreel(args, env=clean_env(**ENV_A), cwd=tmp_path)
        b = run_runreel(args, env=clean_env(**ENV_B), cwd=tmp_path)
        assert (a.returncode, b.returncode) == (3, 3), (a.stderr, b.stderr)
        assert a.stdout and a.stdout == b.stdout, (view, fmt)
        assert invoke(args).stdout_bytes == a.stdout


def test_hostile_text_stays_inert_in_every_view() -> None:
    for view in ("failures", "tasks", "workers", "log"):
        out = invoke(["snapshot", fixture("hostile"), "--view", view, "--format", "ansi"])
        assert out.exit_code == 3
        body = out.stdout
        for bad in ("\x1b]", "\x1b[2J", "\x9b", "\u202e", "\x07"):
            assert bad not in body, (view, repr(bad))
    detail = invoke(["snapshot", fixture("hostile"), "--task", "t6\u202eevil\u202c\u2066iso\u2069"])
    assert detail.exit_code == 3 and "\u202e" not in detail.stdout


# Goldens of views: check, --update and the pytest fixture ---------------------------------


def test_check_update_writes_view_goldens_and_a_bare_check_finds_them(tmp_path: Path) -> None:
    log, golden = fixture("postmortem"), tmp_path / "golden"
    wrote = invoke(["check", log, str(golden), "--at", "end", "--at", "50%", "--view", "tasks"])
    assert wrote.exit_code == 1  # missing: not yet written
    wrote = invoke(["check", log, f"{golden}/", "--at", "end", "--view", "failures", "--update"])
    assert wrote.exit_code == 0, wrote.stdout
    task = invoke(["check", log, str(golden / "detail.txt"), "--task", "img-0105", "--update"])
    assert task.exit_code == 0, task.stdout
    assert sorted(p.name for p in golden.iterdir()) == [
        "detail.txt",
        "end.failures.txt",
        "runreel-golden.json",
    ]
    manifest = json.loads((golden / "runreel-golden.json").read_text())
    assert manifest["end.failures.txt"]["view"] == "failures"
    assert manifest["detail.txt"]["task"] == "img-0105"
    expected = invoke(["snapshot", log, "--view", "failures"]).stdout_bytes
    assert (golden / "end.failures.txt").read_bytes() == expected
    assert invoke(["check", log, str(golden)]).exit_code == 0  # as the manifest says
    (golden / "runreel-golden.json").unlink()
    assert invoke(["check", log, str(golden / "end.failures.txt")]).exit_code == 0  # by name
    shutil.copy(fixture("busy_run"), tmp_path / "other.jsonl")
    differs = invoke(["check", str(tmp_path / "other.jsonl"), str(golden / "end.failures.txt")])
    assert differs.exit_code == 1 and "TimeoutError" in differs.stdout
    unknown = invoke(["check", log, str(golden / "x.txt"), "--task", "nope", "--update"])
    assert unknown.exit_code == 64 and "no task 'nope'" in unknown.stderr
    assert not (golden / "x.txt").exists()


def test_a_view_given_to_check_wins_over_the_task_its_golden_recorded(tmp_path: Path) -> None:
    """A golden of a task's detail checked with ``--view X`` is compared with view X:
    never with the detail view again, which would pass whatever X shows."""
    log, golden = fixture("postmortem"), tmp_path / "detail.txt"
    assert invoke(["check", log, str(golden), "--task", "img-0105", "--update"]).exit_code == 0
    assert invoke(["check", log, str(golden)]).exit_code == 0  # as recorded: the detail view
    for view in ("overview", "failures"):
        other = invoke(["check", log, str(golden), "--view", view])
        assert other.exit_code == 1, (view, other.stdout)
        shown = invoke(["snapshot", log, "--view", view]).stdout_bytes
        assert shown != golden.read_bytes()


def test_the_pytest_fixture_checks_a_view(tmp_path: Path) -> None:
    from replay.outputs.pytest_golden import GoldenCheck

    shutil.copy(fixture("postmortem"), tmp_path / "run.jsonl")
    GoldenCheck(update=True, root=tmp_path)("run.jsonl", "g/", at="end", view="workers")
    assert (tmp_path / "g" / "end.workers.txt").exists()
    GoldenCheck(update=False, root=tmp_path)("run.jsonl", "g/")
    with pytest.raises(pytest.fail.Exception, match="missing: .*end.log.txt"):
        GoldenCheck(update=False, root=tmp_path)("run.jsonl", "g/", at="end", view="log")
    shutil.copy(fixture("busy_run"), tmp_path / "run.jsonl")
    with pytest.raises(pytest.fail.Exception, match="different: .*end.workers.txt"):
        GoldenCheck(update=False, root=tmp_path)("run.jsonl", "g/")


def test_views_without_room_for_a_store_say_so_and_keep_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = replay(copy(tmp_path))
    s.seek_event(100)  # not the end: a temporary store is needed

    def no_room(prefix: str) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("replay.store.moving.tempfile.mkdtemp", no_room)
    press(s, "t")
    text = screen(s)
    assert "the views cannot read a store" in text and s.reason is None
    press(s, "o")
    assert "Status" in screen(s)  # the overview still draws


# Titles: whole pieces only ---------------------------------------------------------


def test_a_title_drops_whole_pieces_never_cuts_one() -> None:
    from replay.core.views.listing import title

    parts = ("240 tasks", "/ filter", "1 backoff", "5 failed", "7 running", "13 succeeded")
    for width in range(len(parts[0]), 80):  # (a first piece wider than the line is cut)
        line = title(width, *parts).plain.rstrip()
        shown = line.split(" · ")
        assert shown == list(parts[: len(shown)]), (width, line)
        assert "…" not in line and len(line) <= width


@pytest.mark.parametrize("width", [80, 120])
def test_view_titles_keep_their_keys_and_figures_whole(tmp_path: Path, width: int) -> None:
    s = replay(copy(tmp_path))
    for at in (0.35, 1.0):
        s.seek_time(s.first_t + (s.last_t - s.first_t) * at)
        for key in ("f", "t", "d", "w", "i", "l"):
            press(s, key)
            head = screen(s, width, 24).splitlines()[4]
            assert "…" not in head, (at, key, head)
            if key == "f":
                assert "Enter its tasks · d latest failure" in head
        press(s, "o")


def test_the_workers_legend_names_every_glyph_its_lanes_draw(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "w")
    lines = screen(s, 160, 40).splitlines()
    legend = lines[4]
    lanes = {c for line in lines[7:13] for c in line if c in "░▒▓█·╌ "} - {" "}
    assert len(lanes) >= 4, lanes  # busy shades, waits and idle all appear
    for glyph in lanes:
        assert glyph in legend, (glyph, legend)


def _stamps(text: str) -> tuple[float, list[float]]:
    """The timeline's row width as its title says, and each row's time in seconds."""
    import re

    width = re.search(r"· ([\d.]+)s a row", text)
    assert width, text
    rows = re.findall(r"^[▶ ] +(\d\d):(\d\d(?:\.\d+)?) ", text, re.M)
    return float(width.group(1)), [int(mm) * 60 + float(ss) for mm, ss in rows]


@pytest.mark.parametrize("at", [0.02, 0.1, 0.35, 1.0])
def test_the_timeline_s_row_label_is_the_step_between_its_rows(tmp_path: Path, at: float) -> None:
    s = replay(copy(tmp_path))
    s.seek_time(s.first_t + (s.last_t - s.first_t) * at)
    press(s, "i")
    step, times = _stamps(screen(s, 120, 30))
    assert len(times) > 5
    assert all(b - a == pytest.approx(step) for a, b in zip(times, times[1:], strict=False))


def test_after_seeking_back_the_timeline_still_reaches_the_end(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "i")
    assert "Enter seeks" in screen(s)
    whole = s.pages.rows(s.metrics, s.now())
    press(s, "home", "enter")  # back to the first row
    assert s.vt == pytest.approx(s.first_t)
    screen(s)
    assert s.pages.rows(s.metrics, s.now()) >= whole  # the rows still cover the run
    press(s, "end", "enter")  # and the last one can be sought again
    assert s.vt > s.first_t + (s.last_t - s.first_t) * 0.9


_UNFINISHED = re.compile(r"(?<![-\w])unfinished")  # not the fixture's run id r-unfinished


@pytest.mark.parametrize("finished", [True, False])
def test_tasks_left_open_read_as_the_overview_says(tmp_path: Path, finished: bool) -> None:
    """A run that is over (here interrupted) leaves its open tasks unfinished in every
    view, as the overview counts them; in a run still going they run, in every view."""
    path = copy(tmp_path, "unfinished")
    if finished:
        last = json.loads(path.read_text().splitlines()[-1])
        ended = {"type": "run_finished", "t": last["t"] + 1, "src": last["src"]}
        ended.update(seq=last["seq"] + 1, status="interrupted", exit_status=130)
        with path.open("a") as f:
            f.write(json.dumps(ended) + "\n")
    opened = [
        t["task"]
        for t in json.loads(invoke(["tasks", str(path), "--json"]).stdout)
        if t["status"] in ("running", "backoff")
    ]
    assert opened  # the fixture leaves tasks open: what this test is about

    def snap(*args: str) -> str:
        size = ["--width", "120", "--height", "30"]
        return invoke(["snapshot", str(path), *size, *args]).stdout

    overview, tasks = snap(), snap("--view", "tasks")
    said = re.search(r"(\d+) unfinished", overview)
    assert (int(said.group(1)) if said else 0) == (len(opened) if finished else 0)
    assert (f"{len(opened)} unfinished" in tasks) is finished
    for name in opened:
        row = next(line for line in tasks.splitlines() if f" {name} " in line)
        detail = snap("--view", "task", "--task", name).splitlines()[4]
        for shown in (row, detail):
            assert bool(_UNFINISHED.search(shown)) is finished
            assert ("running" in shown or "backoff" in shown) is not finished
