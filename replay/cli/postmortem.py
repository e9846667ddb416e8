"""What the post-mortem commands (errors, tasks, task, query) share: --at, opening the
store, JSON and the times shown to people."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TypeVar

import click

from recorder.location import Location
from replay.cli.options import WHEN, warn
from replay.core.text import hms, short
from replay.core.when import When
from replay.index.position import BadPosition
from replay.sources import local_file
from replay.store.access import Answer, store_at

F = TypeVar("F", bound=Callable[..., Any])


def at_option(f: F) -> F:
    return click.option(
        "--at",
        "at",
        type=WHEN,
        default="end",
        show_default=True,
        help="Answer as the run stood then: 90, 1m30s, 01:30, 50%, #1234, mark:LABEL, start, end.",
    )(f)


def json_option(f: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (documented in docs/store.md)."
    )(f)


@contextmanager
def answering(log: Location, at: When, lenient: bool) -> Iterator[Answer]:
    """The store of LOG as of --at, the reader's warnings said on stderr."""
    try:
        with store_at(local_file(log), at, lenient=lenient) as answer:
            warn(answer.warnings)
            yield answer
    except BadPosition as exc:  # an unknown mark, a time or event past the end
        raise click.BadParameter(str(exc), param_hint="'--at'") from None


def echo_json(value: Any) -> None:
    """JSON with the keys in their documented order, UTF-8 whatever the locale says."""
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    click.echo(text.encode("utf-8"), nl=False)


def echo_json_array(items: Iterable[Any]) -> None:
    """The bytes ``echo_json(list(items))`` would print, one item at a time: a big answer
    never sits whole in memory."""
    head = b"["
    for item in items:
        body = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        click.echo(head + b"\n  " + body.encode("utf-8"), nl=False)
        head = b","
    click.echo(b"[]\n" if head == b"[" else b"\n]\n", nl=False)


def echo_text(text: str) -> None:
    click.echo(text.encode("utf-8"), nl=False)


def when(t: float | None, first_t: float | None) -> str:
    """An event time for people: UTC, and elapsed since the run started."""
    if t is None:
        return "-"
    clock = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    if first_t is None:
        return f"{clock} UTC"
    return f"{clock} UTC (+{hms(max(t - first_t, 0.0))})"


def seconds(d: float | None) -> str:
    """A duration for people; "-" when unknown (a task still open)."""
    return "-" if d is None else short(d)
