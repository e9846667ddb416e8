"""Reliability and security (issue 6) at full size: ``pytest -m slow`` (add ``-s`` to see
the figures each test prints; docs/reliability.md lists them). The fast versions of the same
checks run by default, in tests/test_reliability.py, which holds the helpers used here.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import invoke
from test_linger import kill_trial
from test_reliability import (
    CORPUS,
    HAS_RUNREEL,
    TMUX,
    assert_inert,
    check_rendering,
    cli_outputs,
    concurrency_run,
    crash_trial,
    fill_disk,
    fuzz_cli,
    fuzz_library,
    hostile_log,
    one_dies_trial,
    read_all,
    release_memory,
    signal_log,
    signal_trial,
    ten_mb_line,
    tiny_filesystem,
)

from recorder import Recorder

pytestmark = pytest.mark.slow


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    with tiny_filesystem(tmp_path) as mnt:
        yield mnt


def figures(name: str, **values: object) -> None:
    """One line of figures for docs/reliability.md (shown with ``pytest -s``)."""
    print(f"\nfigures {name}: " + json.dumps(values, sort_keys=True))


# 1. Concurrency -----------------------------------------------------------------------------


@pytest.mark.parametrize("linger", [None, 0.005], ids=["unbatched", "linger"])
@pytest.mark.parametrize("mode", ["processes", "threads", "asyncio"])
def test_16_writers_x_50k_events(tmp_path: Path, mode: str, linger: float | None) -> None:
    began = time.monotonic()
    events, size = concurrency_run(tmp_path, mode, 16, 50_000, linger)
    figures(
        f"concurrency-{mode}" + ("-linger" if linger else ""),
        writers=16,
        per_writer=50_000,
        events=events,
        bytes=size,
        seconds=round(time.monotonic() - began, 1),
        lost=0,
        torn=0,
    )


# 2. Crashes ---------------------------------------------------------------------------------


def test_200_crashes(tmp_path: Path) -> None:
    totals: Counter[str] = Counter()
    for seed in range(200):
        totals.update(crash_trial(tmp_path, 1000 + seed))
        for f in tmp_path.glob("crash-*.jsonl"):
            f.unlink()
        release_memory()
    figures("crashes", trials=200, **totals)


def test_100_sigkills_lose_at_most_one_batch(tmp_path: Path) -> None:
    totals: Counter[str] = Counter()
    for seed in range(100):
        totals.update(kill_trial(tmp_path, 9000 + seed))
        for f in tmp_path.glob("kill-*.jsonl"):
            f.unlink()
    figures("sigkill-linger", trials=100, **totals)


def test_100_writers_killed_while_others_go_on(tmp_path: Path) -> None:
    totals: Counter[str] = Counter()
    for seed in range(100):
        totals.update(one_dies_trial(tmp_path, 5000 + seed))
        for f in tmp_path.glob("dies-*.jsonl"):
            f.unlink()
        release_memory()
    figures("one-dies", trials=100, **totals)


# 3. Fuzzing ---------------------------------------------------------------------------------


def test_fuzz_the_library(tmp_path: Path) -> None:
    seen = fuzz_library(2_000)(tmp_path)
    figures("fuzz-library", examples=sum(seen.values()), **seen)


def test_fuzz_every_command(tmp_path: Path) -> None:
    codes = fuzz_cli(150)(tmp_path)
    figures("fuzz-cli", invocations=sum(codes.values()), codes=dict(sorted(codes.items())))


@pytest.mark.parametrize("kind", ["valid", "garbage", "torn"])
def test_ten_megabyte_lines_through_every_command(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(ten_mb_line(kind))
    for args in (
        ["snapshot", "--format", "svg"],
        ["stats"],
        ["validate"],
        ["index"],
        ["replay", "--instant"],
        ["export", "--format", "openmetrics"],
    ):
        result = invoke([args[0], str(path), *args[1:], *(["--lenient"] * (args[0] != "validate"))])
        assert result.exit_code in (0, 3, 65), (args, result.stderr)
        assert len(result.stdout_bytes) < 2_000_000 and "Traceback" not in result.stderr


ATHERIS_HARNESS = textwrap.dedent(
    """
    import sys
    import atheris

    with atheris.instrument_imports():
        from recorder.errors import LogInvalid
        from replay.core.fold import apply_all
        from replay.core.metrics import Metrics
        from replay.outputs.snapshot import to_dict
        from replay.sources.file import ReadReport, check_first_line, decode_complete

    def one(data: bytes) -> None:
        complete = data[: data.rfind(b"\\n") + 1]
        for lenient in (False, True):
            report = ReadReport("fuzz.jsonl")
            try:
                check_first_line(complete, "fuzz.jsonl", 1)
                events = decode_complete(complete, "fuzz.jsonl", report, lenient)
            except LogInvalid as exc:
                assert exc.reason and "\\n" not in exc.reason
                continue
            m = apply_all(Metrics(), events)
            to_dict(m, m.last_t or 0.0)

    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
    """
)


def test_atheris_short_run(tmp_path: Path) -> None:
    """Coverage-guided: decode, first-line checks and the fold on any bytes (if installed)."""
    pytest.importorskip("atheris")
    harness = tmp_path / "harness.py"
    harness.write_text(ATHERIS_HARNESS)
    seeds = tmp_path / "corpus"
    seeds.mkdir()
    for n, name in enumerate(("all_succeeded", "with_retries", "hostile", "unknown_type")):
        (seeds / str(n)).write_bytes(
            (Path(__file__).parent.parent / "fixtures" / f"{name}.jsonl").read_bytes()[:20_000]
        )
    runs = 30_000
    began = time.monotonic()
    done = subprocess.run(
        # libFuzzer's RSS check would count the peak RSS of this (forked) pytest process:
        # limit allocations instead.
        [
            sys.executable,
            str(harness),
            "-seed=1",
            f"-runs={runs}",
            "-max_len=4096",
            "-rss_limit_mb=0",
            "-malloc_limit_mb=2048",
            str(seeds),
        ],
        capture_output=True,
        cwd=tmp_path,
        timeout=900,
    )
    tail = done.stderr.decode(errors="replace")[-3000:]
    assert done.returncode == 0, tail
    figures("atheris", runs=runs, seconds=round(time.monotonic() - began, 1))


# 4. Terminal injection: every corpus string through every command ----------------------------


@pytest.mark.parametrize(("name", "s", "visible"), CORPUS, ids=[c[0] for c in CORPUS])
def test_every_corpus_string_through_every_command(
    tmp_path: Path, name: str, s: str, visible: str
) -> None:
    benign = tmp_path / "benign.jsonl"
    with Recorder(benign, name="benign") as rec:
        rec.log("nothing to see")
    golden = tmp_path / "golden"
    assert invoke(["check", str(benign), str(golden), "--update"]).exit_code == 0
    outputs = 0
    for finished in (True, False):
        path = hostile_log(tmp_path, s, finished=finished, name=f"h{finished}")
        outputs += check_rendering(path, s, visible)
        for args, out, sgr in cli_outputs(path, golden, s):
            outputs += 1
            assert_inert(out, sgr=sgr, what=" ".join(a[:20] for a in args))
    figures(f"injection-{name}", outputs=outputs)


# 5. Faults ----------------------------------------------------------------------------------


@pytest.mark.skipif(TMUX is None or not HAS_RUNREEL, reason="needs tmux and runreel")
def test_20_signals_while_the_dashboard_runs(tmp_path: Path) -> None:
    rng = random.Random(6)
    seen: Counter[int] = Counter()
    for trial in range(20):
        sig = (signal.SIGINT, signal.SIGTERM)[trial % 2]
        directory = tmp_path / f"t{trial}"
        directory.mkdir()
        signal_log(directory)
        got = signal_trial(directory, sig, rng.uniform(0, 1.5), started=True)
        assert got["rc"] == 128 + sig and not got["traceback"] and not got["swallowed"], got
        assert (directory / "final.txt").read_text().strip()  # the snapshot was written
        seen[got["rc"]] += 1
    figures("signals-running", trials=20, exit_codes=dict(seen))


@pytest.mark.skipif(TMUX is None or not HAS_RUNREEL, reason="needs tmux and runreel")
def test_20_signals_from_the_first_instant(tmp_path: Path) -> None:
    """Also while Python starts and imports: the terminal is restored in every case (what
    Python itself prints when SIGINT lands before runreel runs is counted, not asserted)."""
    rng = random.Random(7)
    seen: Counter[str] = Counter()
    for trial in range(20):
        sig = (signal.SIGINT, signal.SIGTERM)[trial % 2]
        directory = tmp_path / f"t{trial}"
        directory.mkdir()
        signal_log(directory)
        got = signal_trial(directory, sig, rng.uniform(0, 0.4), started=False)
        note = ":swallowed" if got["swallowed"] else ":traceback" if got["traceback"] else ""
        seen[f"{sig.name}:{got['rc']}{note}"] += 1
    figures("signals-any-moment", trials=20, outcomes=dict(sorted(seen.items())))


def test_many_writers_fill_a_disk(tiny_fs: Path) -> None:
    """Four processes fill a 64 KiB filesystem at once. A writer whose partial line another
    writer followed cannot take it back: it stops, and that is the only bad line it leaves."""
    log = tiny_fs / "run.jsonl"
    Recorder(log, name="full").close()
    script = tiny_fs.parent / "filler.py"
    script.write_text(
        textwrap.dedent(
            """
            import random, sys
            from recorder import Recorder, WriteFailed
            rng = random.Random(int(sys.argv[2]))
            rec = Recorder.attach(sys.argv[1])
            failures = stopped = 0
            while failures < 30 and not stopped:
                try:
                    rec.log("d" * rng.choice([10, 300, 3000, 9000]))
                except WriteFailed as exc:
                    failures += 1
                    stopped = "could not be removed" in str(exc)
            print(failures, stopped)
            """
        )
    )
    procs = [
        subprocess.Popen([sys.executable, str(script), str(log), str(k)], stdout=subprocess.PIPE)
        for k in range(4)
    ]
    stopped = failures = 0
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        f, s = out.decode().split()
        failures += int(f)
        stopped += s == "True"
    events, report = read_all(str(log), lenient=True)
    assert report.skipped_count <= stopped
    assert report.torn_line is None or stopped
    bad = report.skipped_count
    figures(
        "full-disk-4-writers", failures=failures, stopped=stopped, bad_lines=bad, events=len(events)
    )


def test_a_full_disk_many_times(tiny_fs: Path) -> None:
    totals: Counter[str] = Counter()
    for seed in range(20):
        log = tiny_fs / f"run-{seed}.jsonl"
        totals.update(fill_disk(log, seed=seed))
        log.unlink()
    assert totals["short"] and totals["written"]
    figures("full-disk", runs=20, **totals)
