"""``runreel demo``: a simulated batch run, recorded and shown as it happens."""

from __future__ import annotations

import threading

import click
from rich.console import Console

from recorder.fold import Metrics, apply_all
from recorder.writer import Recorder
from replay import demo as simulation
from replay import exitcodes
from replay.source import read_batches
from replay.views import dashboard

RATE = click.FloatRange(0.0, 1.0)


@click.command()
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
    type=click.FloatRange(0.0, 100.0),
    default=1.0,
    show_default=True,
    help="Scale every simulated duration (0: as fast as possible).",
)
@click.option(
    "-o",
    "--output",
    "log",
    type=click.Path(dir_okay=False, path_type=str),
    default="runreel-demo.jsonl",
    show_default=True,
    help="The log to write (replaced if it exists).",
)
def demo(
    tasks: int, workers: int, fail_rate: float, retry_rate: float, seed: int, pace: float, log: str
) -> int:
    """Run simulated workers that record to LOG, then show the final dashboard.

    Exits like every viewer: 0 all succeeded, 1 none did, 2 some failed.
    """
    plan = simulation.Plan(tasks, workers, fail_rate, retry_rate, seed, pace)
    with Recorder(
        log,
        name="demo",
        total=tasks,
        overwrite=True,
        meta={"seed": str(seed), "workers": str(workers)},
    ) as rec:
        stop = threading.Event()
        thread = threading.Thread(target=simulation.run, args=(rec, plan, stop), daemon=True)
        thread.start()
        try:
            while thread.is_alive():
                thread.join(1.0)
                m = _fold(log)
                click.echo(f"runreel demo: {m.status_text} running {len(m.in_flight)}")
        except KeyboardInterrupt:
            stop.set()
            thread.join()
            rec.finish("interrupted")
            raise
    m = _fold(log)
    Console().print(dashboard(m, m.last_t or 0.0), height=30)
    click.echo(f"log written to {log}; replay it with: runreel snapshot {log}")
    return exitcodes.for_metrics(m)


def _fold(path: str) -> Metrics:
    m = Metrics()
    for batch in read_batches(path):
        apply_all(m, batch)
    return m
