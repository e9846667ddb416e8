"""``runreel record -- COMMAND``: the installed command, piped and in a pseudo-terminal.

The exit code follows the table (a command that exits non-zero fails the run; its status
is recorded and shown; ``--return-status`` passes it through), its output lines become
log events, its workers attach through RUNREEL_LOG, signals reach it, and q records the
run as interrupted.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import msgspec
import pexpect
import pyte
import pytest

RUNREEL = str(Path(sys.executable).with_name("runreel"))
DEADLINE = 10.0
ENV_DROP = {"NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "RUNREEL_LOG"}


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
    out["TERM"] = "xterm-256color"
    return out


def events(log: Path) -> list[dict[str, object]]:
    return [msgspec.json.decode(line) for line in log.read_bytes().splitlines()]


def logged(log: Path, level: str) -> list[object]:
    return [e["msg"] for e in events(log) if e["type"] == "log" and e["level"] == level]


def record(tmp_path: Path, *command: str, opts: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """``runreel record`` with stdout and stderr piped (so: plain mode, output echoed)."""
    return subprocess.Popen(
        [RUNREEL, "record", "-o", "rec.jsonl", *opts, "--", *command],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )


def wait_for_line(proc: subprocess.Popen[bytes], line: bytes) -> bytes:
    """Read record's stdout (status lines and the echoed output) up to ``line`` (or, for a
    ``line`` without its newline, a line starting with it); that line."""
    assert proc.stdout is not None
    for got in iter(proc.stdout.readline, b""):
        if got == line or (not line.endswith(b"\n") and got.startswith(line)):
            return got
    pytest.fail(f"{line!r} never came")


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_early_sigterm_is_passed_on_too(tmp_path: Path) -> None:
    """SIGTERM right at the start, maybe before the viewer runs: the command still gets it."""
    proc = record(tmp_path, "sh", "-c", "echo started; exec sleep 60")
    wait_for_line(proc, b"started\n")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 143
    last = events(tmp_path / "rec.jsonl")[-1]
    assert (last["type"], last["status"]) == ("run_finished", "interrupted")


def test_a_failing_command_fails_the_run_and_its_status_is_recorded(tmp_path: Path) -> None:
    script = "import sys; print('hello out'); print('oops', file=sys.stderr); sys.exit(5)"
    proc = record(tmp_path, sys.executable, "-c", script)
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 1, err  # no task succeeded: total failure
    log = tmp_path / "rec.jsonl"
    assert logged(log, "stdout") == ["hello out"]
    assert logged(log, "stderr") == ["oops"]
    last = events(log)[-1]
    assert last["type"] == "run_finished"
    assert (last["status"], last["exit_status"]) == ("failed", 5)
    assert b"hello out\n" in out and b"oops\n" in err  # echoed when not on a terminal
    assert b"\x1b" not in out + err
    assert err.endswith(
        b"runreel record: the command exited with status 5; exit code 1 (total failure)\n"
    )
    assert b"finished: total failure (exit status 5)" in out  # the final dashboard


def test_return_status_passes_the_command_s_status_through(tmp_path: Path) -> None:
    proc = record(tmp_path, sys.executable, "-c", "raise SystemExit(5)", opts=("--return-status",))
    _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 5, err
    assert b"exit code 5 (the command's status: --return-status)" in err
    assert events(tmp_path / "rec.jsonl")[-1]["status"] == "failed"


def test_one_task_failed_one_succeeded_and_the_command_exit_1_is_partial(tmp_path: Path) -> None:
    """As ``record -- pytest`` with one pass and one failure: 2, as the screen says."""
    script = (
        "from recorder.writer import Recorder\n"
        "rec = Recorder.attach()\n"
        "with rec.task('passes', worker='child'):\n"
        "    pass\n"
        "rec.task_started('fails', worker='child')\n"
        "rec.failed('fails', worker='child', error='AssertionError: 1 != 2')\n"
        "rec.close()\n"
        "raise SystemExit(1)\n"
    )
    proc = record(tmp_path, sys.executable, "-c", script)
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 2, err
    assert b"finished: partial failure (exit status 1)" in out


def test_workers_attach_through_runreel_log_and_the_metrics_code_is_used(tmp_path: Path) -> None:
    script = (
        "from recorder.writer import Recorder\n"
        "rec = Recorder.attach()\n"
        "for i in range(3):\n"
        "    with rec.task(f'job-{i}', worker='child'):\n"
        "        print(f'working on job-{i}', flush=True)\n"
        "rec.close()\n"
    )
    proc = record(tmp_path, sys.executable, "-c", script, opts=("--name", "attached"))
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0, err  # status 0, every task succeeded
    evs = events(tmp_path / "rec.jsonl")
    assert evs[0]["name"] == "attached"
    ok = [e for e in evs if e["type"] == "task_succeeded"]
    assert [e["task"] for e in ok] == ["job-0", "job-1", "job-2"]
    assert len({e["src"] for e in evs}) == 2  # the recorder and the attached worker
    assert logged(tmp_path / "rec.jsonl", "stdout") == [f"working on job-{i}" for i in range(3)]


@pytest.mark.parametrize(("exit_status", "outcome"), [(0, "task_succeeded"), (3, "task_failed")])
def test_as_task_records_the_command_itself_as_one_task(
    tmp_path: Path, exit_status: int, outcome: str
) -> None:
    script = f"import sys; print('building'); sys.exit({exit_status})"
    proc = record(tmp_path, sys.executable, "-c", script, opts=("--as-task", "build"))
    _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == (1 if exit_status else 0), err  # 0, not "no tasks ran"
    evs = events(tmp_path / "rec.jsonl")
    assert evs[0]["total"] == 1
    tasks = [(e["type"], e["task"]) for e in evs if str(e["type"]).startswith("task_")]
    assert tasks == [("task_started", "build"), (outcome, "build")]
    if exit_status:
        assert [e["error"] for e in evs if e["type"] == "task_failed"] == ["exit status 3"]
    without = subprocess.run(
        [RUNREEL, "record", "-o", "plain.jsonl", "--", sys.executable, "-c", "pass"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env(),
        timeout=DEADLINE,
    )
    assert without.returncode == 1  # the documented default: no tasks ran


def test_as_task_with_a_missing_command_fails_the_task(tmp_path: Path) -> None:
    proc = record(tmp_path, "no-such-command-runreel-test", opts=("--as-task", "build"))
    proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 1
    failed = [e for e in events(tmp_path / "rec.jsonl") if e["type"] == "task_failed"]
    assert len(failed) == 1 and "cannot run" in str(failed[0]["error"])


@pytest.mark.parametrize(("opts", "expected"), [((), 1), (("--return-status",), 137)])
def test_a_command_killed_by_a_signal_has_the_status_128_plus_the_signal(
    tmp_path: Path, opts: tuple[str, ...], expected: int
) -> None:
    script = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    proc = record(tmp_path, sys.executable, "-c", script, opts=opts)
    proc.communicate(timeout=DEADLINE)
    assert proc.returncode == expected
    last = events(tmp_path / "rec.jsonl")[-1]
    assert (last["status"], last["exit_status"]) == ("failed", 128 + signal.SIGKILL)


@pytest.mark.parametrize(("opts", "expected"), [((), 1), (("--return-status",), 127)])
def test_a_missing_command_is_reported(
    tmp_path: Path, opts: tuple[str, ...], expected: int
) -> None:
    proc = record(tmp_path, "no-such-command-runreel-test", opts=opts)
    _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == expected  # 127: as a shell says "command not found"
    assert b"cannot run no-such-command-runreel-test" in err
    evs = events(tmp_path / "rec.jsonl")
    assert [e["type"] for e in evs] == ["run_started", "log", "run_finished"]
    assert evs[-1]["exit_status"] == 127


def test_sigterm_is_passed_on_to_the_command(tmp_path: Path) -> None:
    script = (
        "import os, signal, sys, time\n"
        "def on_term(signum, frame):\n"
        "    print('child got SIGTERM', flush=True)\n"
        "    signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "signal.signal(signal.SIGTERM, on_term)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = record(tmp_path, sys.executable, "-c", script)
    wait_for_line(proc, b"ready\n")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 143
    assert "child got SIGTERM" in logged(tmp_path / "rec.jsonl", "stdout")
    last = events(tmp_path / "rec.jsonl")[-1]
    assert (last["status"], last["exit_status"]) == ("interrupted", 143)


@pytest.mark.parametrize(("opts", "expected"), [((), 3), (("--return-status",), 130)])
def test_a_timeout_stops_the_command_and_the_run_reads_interrupted(
    tmp_path: Path, opts: tuple[str, ...], expected: int
) -> None:
    """--timeout stops the view as q does: the command gets SIGINT, the run is recorded
    as interrupted (not failed), the --as-task task stays unfinished, and exit 3."""
    script = "import time; print('ready', flush=True); time.sleep(60)"
    opts = ("--timeout", "0.5", "--as-task", "build", "--name", "timed", *opts)
    proc = record(tmp_path, sys.executable, "-c", script, opts=opts)
    _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == expected, err
    assert b"the command was stopped with status 130" in err
    evs = events(tmp_path / "rec.jsonl")
    assert (evs[-1]["status"], evs[-1]["exit_status"]) == ("interrupted", 130)
    assert [e["type"] for e in evs if "task" in e] == ["task_started"]
    snap = subprocess.run(
        [RUNREEL, "snapshot", "rec.jsonl"], cwd=tmp_path, capture_output=True, env=env()
    )
    assert snap.returncode == 3  # the log reads interrupted, whoever replays it
    assert b"interrupted (exit status 130)" in snap.stdout


def test_stopping_does_not_wait_for_a_background_process_holding_the_output(
    tmp_path: Path,
) -> None:
    proc = record(tmp_path, "sh", "-c", "sleep 60 & echo started $!")
    line = wait_for_line(proc, b"started ")
    sleeper = int(line.split()[-1])
    assert running(sleeper)  # the background process runs, holding the output open
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=DEADLINE)  # long before the sleep's 60 s: it was not waited for
    assert proc.returncode == 143
    assert events(tmp_path / "rec.jsonl")[-1]["status"] == "interrupted"
    for _ in range(400):  # the group got the signal, so the sleeper ends (a hang guard only)
        if not running(sleeper):
            break
        time.sleep(0.05)
    assert not running(sleeper), "the background process outlived runreel record"


# In a terminal ----------------------------------------------------------------------


class Screen:
    """``runreel ARGS`` in a 120x30 pseudo-terminal, read through pyte."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.screen = pyte.Screen(120, 30)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.eof = False
        self.child = pexpect.spawn(RUNREEL, args, cwd=str(cwd), env=env(), dimensions=(30, 120))

    def pump(self) -> None:
        try:
            data = self.child.read_nonblocking(1 << 16, 0.05)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            self.eof = True
            return
        self.raw += data
        self.stream.feed(data)

    def wait_for(self, *needles: str) -> str:
        deadline = time.monotonic() + DEADLINE
        while True:
            text = "\n".join(self.screen.display)
            if all(n in text for n in needles):
                return text
            if self.eof or time.monotonic() > deadline:
                pytest.fail(f"{needles!r} not on screen (eof={self.eof}):\n{text}")
            self.pump()

    def wait_exit(self) -> int:
        deadline = time.monotonic() + DEADLINE
        while not self.eof:
            if time.monotonic() > deadline:
                pytest.fail("runreel record still running")
            self.pump()
        self.child.wait()
        assert isinstance(self.child.exitstatus, int)
        return self.child.exitstatus

    def close(self) -> None:
        if self.child.isalive():
            self.child.kill(signal.SIGKILL)
        self.child.close(force=True)


def test_record_in_a_terminal_shows_the_output_and_the_status(tmp_path: Path) -> None:
    script = "print('line-from-child', flush=True); raise SystemExit(4)"
    args = ["record", "-o", "rec.jsonl", "--name", "rec-pty", "--stay"]
    s = Screen([*args, "--", sys.executable, "-c", script], tmp_path)
    try:
        s.wait_for("line-from-child", "total failure (exit status 4)", "finished  q quit")
        lflag = termios.tcgetattr(s.child.child_fd)[3]
        assert isinstance(lflag, int) and not lflag & termios.ICANON  # cbreak while it shows
        s.child.send("q")  # the run had finished: q only closes the view
        assert s.wait_exit() == 1
        assert b"the command exited with status 4; exit code 1 (total failure)" in s.raw
        assert s.raw.rfind(b"\x1b[?1049l") > s.raw.rfind(b"\x1b[?1049h") > -1
        lflag = termios.tcgetattr(s.child.child_fd)[3]
        assert isinstance(lflag, int) and lflag & termios.ICANON  # restored
    finally:
        s.close()


@pytest.mark.parametrize("as_task", [False, True])
def test_q_in_a_terminal_stops_the_command_and_the_run_reads_interrupted(
    tmp_path: Path, as_task: bool
) -> None:
    script = "import time; print('waiting-for-q', flush=True); time.sleep(60)"
    opts = ["--as-task", "build"] if as_task else []
    s = Screen(["record", "-o", "rec.jsonl", *opts, "--", sys.executable, "-c", script], tmp_path)
    try:
        s.wait_for("waiting-for-q", "(0 - 0 / 1)" if as_task else "(0 - 0 / ?)")
        s.child.send("q")
        assert s.wait_exit() == 3  # incomplete, not the command's 130
        assert b"the command was stopped with status 130; exit code 3 (incomplete)" in s.raw
        text = "\n".join(s.screen.display)
        assert "Interrupted" in text and "failed" not in text.split("Interrupted")[1][:40]
    finally:
        s.close()
    evs = events(tmp_path / "rec.jsonl")
    assert (evs[-1]["type"], evs[-1]["status"]) == ("run_finished", "interrupted")
    assert evs[-1]["exit_status"] == 130  # python died of the SIGINT passed on
    assert not [e for e in evs if e["type"] == "task_failed"]
    assert evs[0]["total"] == (1 if as_task else None)


def test_ctrl_c_in_a_terminal_interrupts_the_command(tmp_path: Path) -> None:
    script = "import time; print('waiting-for-ctrl-c', flush=True); time.sleep(60)"
    s = Screen(["record", "-o", "rec.jsonl", "--", sys.executable, "-c", script], tmp_path)
    try:
        s.wait_for("waiting-for-ctrl-c")
        s.child.sendintr()
        assert s.wait_exit() == 130  # the command died of the SIGINT passed on to it
        assert any("KeyboardInterrupt" in str(m) for m in logged(tmp_path / "rec.jsonl", "stderr"))
        assert events(tmp_path / "rec.jsonl")[-1]["status"] == "interrupted"
    finally:
        s.close()


def test_the_last_frame_of_a_stopped_record_counts_every_event_and_agrees_with_itself(
    tmp_path: Path,
) -> None:
    """SIGTERM stops the view: the command is stopped before the last frame, so that frame
    counts every event of the log (its end included) and its ETA is the status line's."""
    script = "import sys, time; print('ready', flush=True); time.sleep(60)"
    proc = record(tmp_path, sys.executable, "-c", script)
    wait_for_line(proc, b"ready\n")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=DEADLINE)
    evs = events(tmp_path / "rec.jsonl")
    assert evs[-1]["type"] == "run_finished" and evs[-1]["status"] == "interrupted"
    text = out.decode()
    assert f"Events {len(evs)}" in text, text
    status = [ln for ln in text.splitlines() if ln.startswith("runreel: ") and "stopped:" in ln]
    footer = re.search(r"ETA (.+?)(?:  ·|\s+│)", text)
    assert status and footer, text
    assert f"ETA {footer.group(1)}" in status[-1], (footer.group(1), status[-1])
