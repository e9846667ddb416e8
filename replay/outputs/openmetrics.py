"""The folded metrics at a position, in the OpenMetrics text format (Prometheus can read it).

Built-in families are named ``runreel_*``; task counts by state are a gauge (a failure
turns into a retry when the task runs again, so "failed" can go down), everything that
only grows is a counter (``_total``). The log's own ``metric`` events follow under their
own names, made valid: counters get ``_total``, names that clash get a suffix. Label
values are escaped; the output is sorted and ends with ``# EOF``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from replay import exitcodes
from replay.core.metrics import Metrics
from replay.core.text import safe

Labels = tuple[tuple[str, str], ...]
_NAME_BAD = re.compile(r"[^a-zA-Z0-9_:]")
_LABEL_BAD = re.compile(r"[^a-zA-Z0-9_]")
_RESERVED = ("_total", "_created", "_count", "_sum", "_bucket", "_gcount", "_gsum", "_info")
QUANTILES = (0.5, 0.9, 0.95, 0.99)


@dataclass
class Family:
    """One metric family: metadata lines and samples (suffix, labels, value)."""

    name: str
    kind: str
    help: str
    unit: str = ""
    samples: list[tuple[str, Labels, float]] = field(default_factory=list)

    def add(self, value: float, labels: Labels = (), suffix: str = "") -> Family:
        self.samples.append((suffix, labels, value))
        return self


def escape(value: str) -> str:
    """A label value or HELP text escaped as OpenMetrics requires; controls from the log
    (ESC, C1, bidi) become visible symbols, so printing the text cannot drive a terminal."""
    value = safe(value, one_line=False, limit=len(value))
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def number(value: float) -> str:
    """A sample value: integers without a fraction, +Inf/-Inf/NaN spelled out."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def metric_name(name: str) -> str:
    """A valid metric name made from any string."""
    clean = _NAME_BAD.sub("_", name) or "_"
    return f"_{clean}" if clean[0].isdigit() else clean


def label_name(name: str) -> str:
    """A valid label name (not reserved) made from any string."""
    clean = _LABEL_BAD.sub("_", name) or "_"
    if clean[0].isdigit():
        clean = f"_{clean}"
    return f"l{clean}" if clean.startswith("__") else clean


def render(families: Iterable[Family]) -> str:
    """The exposition text of the families, in the order given, with ``# EOF``."""
    out: list[str] = []
    for fam in families:
        out.append(f"# TYPE {fam.name} {fam.kind}\n")
        if fam.unit:
            out.append(f"# UNIT {fam.name} {fam.unit}\n")
        out.append(f"# HELP {fam.name} {escape(fam.help)}\n")
        for suffix, labels, value in fam.samples:
            text = ",".join(f'{k}="{escape(v)}"' for k, v in labels)
            out.append(
                f"{fam.name}{suffix}{{{text}}} {number(value)}\n"
                if text
                else f"{fam.name}{suffix} {number(value)}\n"
            )
    out.append("# EOF\n")
    return "".join(out)


def families(m: Metrics, now: float) -> list[Family]:
    """Every family for the metrics ``m`` at ``now``."""
    fams: list[Family] = [
        Family("runreel_run", "info", "The run: its id and name.").add(
            1, (("name", m.name), ("run", m.run)), "_info"
        ),
        Family("runreel_run_finished", "gauge", "1 once run_finished was seen, else 0.").add(
            1 if m.finished else 0
        ),
        Family(
            "runreel_exit_code", "gauge", "runreel's exit code for the state at this position."
        ).add(exitcodes.for_metrics(m)),
        Family(
            "runreel_start_timestamp_seconds", "gauge", "Time of the first event (Unix).", "seconds"
        ).add(m.first_t or 0.0),
        Family(
            "runreel_position_timestamp_seconds",
            "gauge",
            "The moment these figures describe (Unix).",
            "seconds",
        ).add(now),
        Family("runreel_elapsed_seconds", "gauge", "Seconds from the first event.", "seconds").add(
            round(m.elapsed(now), 6)
        ),
    ]
    tasks = Family("runreel_tasks", "gauge", "Tasks by state (failed tasks re-run become retries).")
    for state, value in (
        ("failed", m.failed),
        ("in_flight", len(m.in_flight)),
        ("skipped", m.skipped),
        ("succeeded", m.succeeded),
    ):
        tasks.add(value, (("state", state),))
    fams.append(tasks)
    if m.total is not None:
        fams.append(
            Family("runreel_tasks_planned", "gauge", "The planned task count.").add(m.total)
        )
    fams += [
        Family("runreel_task_starts", "counter", "Task attempts started.").add(
            m.started, suffix="_total"
        ),
        Family("runreel_task_retries", "counter", "Failed attempts that were retried.").add(
            m.retries, suffix="_total"
        ),
        Family(
            "runreel_task_rate", "gauge", "Tasks ended per second over the last 30 seconds."
        ).add(round(m.rate(now), 6)),
    ]
    eta = m.eta(now)
    if eta is not None and math.isfinite(eta):
        fams.append(
            Family("runreel_eta_seconds", "gauge", "Estimated seconds left.", "seconds").add(
                round(eta, 6)
            )
        )
    durations = Family(
        "runreel_task_duration_seconds",
        "summary",
        "Task durations (to within one log-spaced bucket).",
        "seconds",
    )
    for q in QUANTILES:
        v = m.duration_percentile(q)
        if v is not None:
            durations.add(v, (("quantile", f"{q:g}"),))
    if durations.samples:
        fams.append(durations)
    fams += [
        Family("runreel_events", "counter", "Events folded.").add(m.events, suffix="_total"),
        Family("runreel_events_lost", "counter", "Events missing (gaps in seq).").add(
            m.lost_events, suffix="_total"
        ),
        Family("runreel_seq_gaps", "counter", "Jumps in a writer's seq.").add(
            m.gap_count, suffix="_total"
        ),
        Family("runreel_marks", "counter", "Marks seen.").add(m.mark_count, suffix="_total"),
    ]
    if m.unknown_events:
        unknown = Family("runreel_unknown_events", "counter", "Events of unknown types skipped.")
        for kind, count in sorted(m.unknown_events.items()):
            unknown.add(count, (("type", kind),), "_total")
        fams.append(unknown)
    if m.workers:
        busy = Family("runreel_worker_busy", "gauge", "1 while the worker runs a task.")
        done = Family(
            "runreel_worker_tasks",
            "gauge",
            "Tasks a worker ended, by outcome (a failure re-run elsewhere moves to retries).",
        )
        retried = Family("runreel_worker_retries", "counter", "Failed attempts of a worker.")
        for name, w in sorted(m.workers.items()):
            who = (("worker", name),)
            busy.add(1 if w.state == "running" else 0, who)
            done.add(w.failed, (("outcome", "failed"), *who))
            done.add(w.succeeded, (("outcome", "succeeded"), *who))
            retried.add(w.retries, who, "_total")
        fams += [busy, done, retried]
    fams += _custom(m, {f.name for f in fams})
    return fams


def _custom(m: Metrics, taken: set[str]) -> list[Family]:
    """The log's own counters and gauges, under valid names that clash with nothing."""
    out: dict[str, Family] = {}
    series = [("counter", key, v) for key, v in m.counters.items()]
    series += [("gauge", key, v) for key, v in m.gauges.items()]
    names: dict[tuple[str, str], str] = {}
    for kind, (raw, _labels), _v in sorted(series, key=lambda s: (s[1][0], s[0], s[1][1])):
        if (kind, raw) in names:
            continue
        name = metric_name(raw)
        if kind == "counter":
            name = name.removesuffix("_total") or "_"
        elif name.endswith(_RESERVED):
            name = f"{name}_value"
        if name in taken:
            name = f"{name}_{kind}"
        n = 2
        base = name
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names[(kind, raw)] = name
        help_text = f"{kind} {raw!r} from the log's metric events"
        out[name] = Family(name, kind, help_text)
    for kind, (raw, labels), value in sorted(series, key=lambda s: (s[1][0], s[0], s[1][1])):
        clean: dict[str, str] = {}
        for k, v in labels:
            clean.setdefault(label_name(k), v)
        fam = out[names[(kind, raw)]]
        fam.add(value, tuple(sorted(clean.items())), "_total" if kind == "counter" else "")
    return [out[name] for name in sorted(out)]


def openmetrics(m: Metrics, now: float) -> str:
    """The OpenMetrics text for the metrics ``m`` at ``now``."""
    return render(families(m, now))
