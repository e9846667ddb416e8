"""``runreel stats``: the folded metrics of a log, for people or (``--json``) machines."""

from __future__ import annotations

import click

from recorder.location import Location
from replay import exitcodes
from replay.cli.options import jobs_option, lenient_option, log_argument, warn
from replay.core.metrics import Metrics
from replay.core.outcome import outcome_of
from replay.core.text import hms, safe
from replay.core.when import END
from replay.index.position import fold_at
from replay.outputs.snapshot import to_json
from replay.sources import local_file


@click.command()
@log_argument
@click.option("--json", "as_json", is_flag=True, help="The metrics as JSON (stable key order).")
@lenient_option
@jobs_option
def stats(log: Location, as_json: bool, lenient: bool, jobs: int | None) -> int:
    """Print the metrics folded from LOG; exit with the code for its final state."""
    frame = fold_at(local_file(log), END, lenient=lenient, jobs=jobs)
    warn(frame.warnings())
    m = frame.metrics
    text = to_json(m, frame.now) if as_json else summary(m, frame.now)
    click.echo(text.encode("utf-8"), nl=False)  # UTF-8 whatever the locale says
    return exitcodes.for_metrics(m)


def summary(m: Metrics, now: float) -> str:
    """A few aligned lines; log text made safe for the terminal."""
    outcome = outcome_of(m)
    code = exitcodes.for_outcome(outcome)
    # The run's own word on how it ended, then ours: "ok" can still be a partial failure.
    finished = f'finished, the run reported "{safe(m.status)}"' if m.finished else "not finished"
    state = f"{finished}; outcome: {outcome.value}, exit code {code}"
    pcts = "  ".join(f"p{int(q * 100)} {_bound(m, q)}" for q in (0.5, 0.95, 0.99))
    if m.duration_percentile(0.5) is not None:
        pcts += f"  max {m.max_duration:.3g}s"
    unknown = sum(m.unknown_events.values())
    rows = [
        ("run", f"{safe(m.run)}  {safe(m.name)}"),
        ("state", state),
        ("status", m.status_text),
        (
            "tasks",
            f"total {'?' if m.total is None else m.total}  succeeded {m.succeeded}  "
            f"failed {m.failed}  skipped {m.skipped}  in flight {len(m.in_flight)}  "
            f"retries {m.retries}",
        ),
        ("time", f"elapsed {hms(m.elapsed(now))}  rate {m.rate(now):.2f}/s  {pcts}"),
        (
            "events",
            f"{m.events}  unknown types {unknown}  seq gaps {m.gap_count}  lost {m.lost_events}",
        ),
        ("workers", str(len(m.workers))),
        ("marks", str(m.mark_count)),
    ]
    return "".join(f"{k:<8} {v}\n" for k, v in rows)


def _bound(m: Metrics, q: float) -> str:
    """A percentile as what it is, the upper bound of its bucket (as the dashboard says
    it), never past the longest task."""
    v = m.duration_percentile(q)
    return "-" if v is None else f"≤{v:.3g}s"
