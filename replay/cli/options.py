"""Option types and decorators shared by several commands."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from recorder.atomic import write_file
from recorder.errors import WriteFailed
from recorder.location import Location, locate
from replay.core.when import When, parse_when
from replay.index.parallel import PARALLEL_MIN_BYTES

F = TypeVar("F", bound=Callable[..., Any])
__all__ = ["write_file"]


class WhenType(click.ParamType):  # type: ignore[type-arg]
    """WHEN as the user types it; a bad one is a usage error."""

    name = "WHEN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> When:
        if isinstance(value, When):
            return value
        try:
            return parse_when(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class FloatRange(click.FloatRange):
    """click's FloatRange, which lets "nan" through any bounds; this one refuses it,
    and with ``finite`` also "inf" (where it means nothing, as a speed)."""

    def __init__(self, *args: Any, finite: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.finite = finite
        if self.min is None and self.max is None:
            self.name = "float"  # no range to speak of

    def _describe_range(self) -> str:
        """Nothing for a range without bounds (click would print "x<=None")."""
        if self.min is None and self.max is None:
            return ""
        return str(super()._describe_range())

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number.", param, ctx)
        if self.finite and number in (math.inf, -math.inf):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


WHEN = WhenType()
WIDTH = click.IntRange(20, 1000)
HEIGHT = click.IntRange(8, 1000)


def _locate(ctx: click.Context, param: click.Parameter, value: str) -> Location:
    return locate(value)  # a bad URL is BadLocation, said as the library says it


# A file runreel reads. Not readable=True (click's default): one that cannot be read
# is the library's LogUnavailable, exit 66 with the reason, not a usage error.
READ_PATH = click.Path(dir_okay=True, readable=False, path_type=str)
# LOG: a path or a Redis stream URL, as a Location; a command reads a stream through
# its local copy (replay.sources.local_file) or follows it (replay.sources.follower).
log_argument = click.argument("log", type=READ_PATH, callback=_locate)


class OutputPath(click.Path):
    """A file runreel writes. A name ending in a separator names a directory, even one
    that does not exist yet: writing a file named like it would surprise (a usage error)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(dir_okay=False, readable=False, path_type=str, **kwargs)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value)
        if text.endswith(("/", os.sep)) or os.path.isdir(text):
            self.fail(f"{text!r} names a directory; name the file to write", param, ctx)
        return super().convert(value, param, ctx)


# A file runreel writes; "-" is stdout, as INPUT "-" of import is stdin.
OUTPUT_PATH = OutputPath(allow_dash=True)


def need_directory(path: str) -> None:
    """Refuse, before any work, a file whose directory is missing (an I/O error, 74, as
    writing it would be): a long live view must not find out only when it ends."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise WriteFailed(f"cannot write {path}: no directory {folder}")


def lenient_option(f: F) -> F:
    return click.option(
        "--lenient",
        is_flag=True,
        help="Skip and count bad lines instead of stopping at the first one.",
    )(f)


def jobs_option(f: F) -> F:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help="Processes that fold a log with no index yet, each a part of it [default: "
        "the usable cores when the whole log is read (its end, or a cold index of it), else "
        f"1; logs under {PARALLEL_MIN_BYTES >> 20} MB: 1]. The output and the index are the "
        "same bytes with any N.",
    )(f)


def warn(lines: list[str]) -> None:
    """Reader warnings (torn tail, skipped lines) on stderr."""
    for line in lines:
        click.echo(f"runreel: warning: {line}", err=True)
