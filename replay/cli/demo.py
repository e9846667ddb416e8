"""``runreel demo``: a simulated batch run, recorded and shown live as it happens."""

from __future__ import annotations

import threading

import click

from recorder import demo as simulation
from recorder.errors import WriteFailed
from recorder.writer import Recorder
from replay.cli.options import FloatRange, OutputPath
from replay.cli.viewer import ViewerOptions, viewer_options, watch
from replay.sessions.keymap import keys_help
from replay.sessions.live import KEYS
from replay.sources.follow import Follower

RATE = FloatRange(0.0, 1.0)


@click.command(epilog=keys_help(KEYS))
@click.option("--tasks", type=click.IntRange(0, 1_000_000), default=60, show_default=True)
@click.option("--workers", type=click.IntRange(1, 256), default=6, show_default=True)
@click.option(
    "--fail-rate",
    type=RATE,
    default=0.05,
    show_default=True,
    help="Chance that a task fails for good.",
)
@click.option(
    "--retry-rate",
    type=RATE,
    default=0.15,
    show_default=True,
    help="Chance that an attempt fails and is retried.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same outcomes.")
@click.option(
    "--pace",
    type=FloatRange(0.0, 100.0),
    default=1.0,
    show_default=True,
    help="Scale every simulated duration (0: as fast as possible).",
)
@click.option(
    "-o",
    "--output",
    "log",
    type=OutputPath(),
    default="runreel-demo.jsonl",
    show_default=True,
    help="The log to write (a log an earlier demo wrote is replaced).",
)
@click.option("--force", is_flag=True, help="Replace LOG even if it is not a demo's log.")
@viewer_options()
def demo(
    tasks: int,
    workers: int,
    fail_rate: float,
    retry_rate: float,
    seed: int,
    pace: float,
    log: str,
    force: bool,
    viewer: ViewerOptions,
) -> int:
    """Run simulated workers that record to LOG while the live dashboard follows it.

    Exits like every viewer: 0 all succeeded, 1 none did, 2 some failed, 3 stopped early.
    """
    if not force and not simulation.replaceable(log):
        raise WriteFailed(
            f"{log} holds something other than a demo's log; pass --force to replace it"
        )
    plan = simulation.Plan(tasks, workers, fail_rate, retry_rate, seed, pace)
    meta = dict(zip(simulation.META, (str(seed), str(workers)), strict=True))
    with Recorder(log, name=simulation.NAME, total=tasks, overwrite=True, meta=meta) as rec:
        stop = threading.Event()

        def work() -> None:
            simulation.run(rec, plan, stop)
            if not stop.is_set():
                rec.finish("ok")

        def end(why: str | None = None) -> None:
            stop.set()
            thread.join()
            rec.finish("interrupted")  # no-op when the workers finished the run

        thread = threading.Thread(target=work, name="runreel-demo", daemon=True)
        thread.start()
        try:  # q, --timeout or a signal stops the demo's run too: the last frame says so
            code = watch(Follower(log), viewer, on_stop=end)
        finally:
            end()
    click.echo(f"log: {log}  (replay it: runreel replay {log})", err=True)
    return code
