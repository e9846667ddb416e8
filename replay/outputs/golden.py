"""Golden snapshots: render points of a run and compare them with files kept in a repo.

A golden is one snapshot file, or a directory with one file per point
(``end.txt``, ``90s.svg``, ``50pct.json``, ``event-1234.txt``, ``mark-deploy.txt``).
``runreel-golden.json`` beside the files records how each was made (position,
size, format, and the runreel and rich versions), so a later check uses the same
options and can say when a difference may come from a newer renderer.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from operator import attrgetter
from typing import Literal

import msgspec

from recorder.atomic import write_file
from recorder.errors import LogUnavailable, WriteFailed
from recorder.location import LogPath
from replay.core.text import safe
from replay.core.viewstate import ViewState, open_task, show
from replay.core.when import END, When, parse_when
from replay.index.position import fold_at
from replay.outputs.formats import EXTENSIONS, FORMATS, Format, format_for_path
from replay.outputs.golden_names import _view_from_name, _when_from_name
from replay.outputs.golden_names import at_text as at_text  # the names, as before the split
from replay.outputs.golden_names import file_name as file_name
from replay.outputs.golden_names import shown_at as shown_at
from replay.outputs.golden_names import when_of_text as when_of_text
from replay.outputs.snapshot import render
from replay.store.pages import record_at

MANIFEST = "runreel-golden.json"
DEFAULT_WIDTH, DEFAULT_HEIGHT = 100, 30

Status = Literal["same", "different", "missing", "written"]


def versions() -> dict[str, str]:
    """The versions that decide how a snapshot renders."""
    out = {}
    for pkg in ("runreel", "rich"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            out[pkg] = "unknown"
    return out


def snapshot_of(
    log: LogPath,
    at: str | When = "end",
    *,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
    fmt: Format = "text",
    lenient: bool = False,
    view: str = "overview",
    task: str | None = None,
    jobs: int | None = 1,
) -> str:
    """The snapshot of ``log`` at ``at``: the same string ``runreel snapshot`` prints
    (of ``view``; ``task`` names the task the detail view shows)."""
    when = at if isinstance(at, When) else parse_when(at)
    frame = fold_at(log, when, lenient=lenient, jobs=jobs)
    state = open_task(ViewState(), task) if task is not None else show(ViewState(), view)
    record = record_at(log, when, state, frame.now, lenient=lenient)
    if state.view == "task" and record.task is None:
        raise NoSuchTask(f"no task {safe(task or '', limit=80)!r} in {log} at {at_text(when)}")
    return render(
        frame.metrics, frame.now, width=width, height=height, fmt=fmt, view=state, record=record
    )


class NoSuchTask(ValueError):
    """The detail view was asked for a task the log does not have at that point."""


class Entry(msgspec.Struct, omit_defaults=True):
    """How one golden file was made."""

    at: str
    width: int
    height: int
    format: str
    view: str = ""  # "": the overview
    task: str = ""  # the detail view's task
    runreel: str = ""
    rich: str = ""


@dataclass
class Point:
    """One comparison to make: a position, a file, and how to render it."""

    when: When
    path: str
    fmt: Format
    width: int
    height: int
    view: str = "overview"
    task: str | None = None


@dataclass
class Result:
    point: Point
    status: Status
    diff: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("same", "written")


def _manifest_path(directory: str) -> str:
    return os.path.join(directory, MANIFEST)


def read_manifest(directory: str) -> dict[str, Entry]:
    try:
        with open(_manifest_path(directory), "rb") as f:
            data = f.read()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise LogUnavailable(f"cannot read {_manifest_path(directory)}: {exc.strerror}") from None
    try:
        return msgspec.json.decode(data, type=dict[str, Entry])
    except msgspec.DecodeError as exc:
        raise LogUnavailable(
            f"{_manifest_path(directory)} is not a golden manifest: {exc}"
        ) from None


def write_manifest(directory: str, entries: dict[str, Entry]) -> None:
    raw = msgspec.json.encode(dict(sorted(entries.items())), order="sorted")
    write_file(_manifest_path(directory), msgspec.json.format(raw, indent=2).decode() + "\n")


def plan(
    golden: str,
    ats: list[When],
    *,
    width: int | None,
    height: int | None,
    fmt: Format | None,
    view: str | None = None,
    task: str | None = None,
) -> list[Point]:
    """The points a check compares, from the arguments and what the golden holds.

    Options given win; otherwise each file is rendered as its manifest entry says
    (position, size, format), else as its name says. A directory given alone checks
    every snapshot file it holds and every file its manifest lists (a deleted golden
    is missing, not skipped); with ``fmt``, only the files of that format.
    """
    directory_mode = os.path.isdir(golden) or len(ats) > 1 or golden.endswith(os.sep)
    base = golden if directory_mode else (os.path.dirname(golden) or ".")
    manifest = read_manifest(base)

    chosen = "task" if task is not None else view

    def point(when: When, path: str, f: Format) -> Point:
        made = manifest.get(os.path.basename(path))
        if made is not None:  # the manifest says how it was made, the name only guesses
            shown = chosen or made.view or "overview"
        else:
            shown = chosen or _view_from_name(path) or "overview"
        return Point(
            when,
            path,
            f,
            width or (made.width if made else DEFAULT_WIDTH),
            height or (made.height if made else DEFAULT_HEIGHT),
            shown,
            task if task is not None else (made.task or None if made and shown == "task" else None),
        )

    if not directory_mode:
        name = os.path.basename(golden)
        entry = manifest.get(name)
        f = fmt or _recorded_format(base, name, entry) or format_for_path(golden, "text")
        when = ats[0] if ats else (_recorded_when(base, name, entry) or END)
        return [point(when, golden, f)]
    if ats:
        return [
            point(
                w,
                os.path.join(golden, file_name(w, fmt or "text", chosen or "overview")),
                fmt or "text",
            )
            for w in ats
        ]
    points = []
    try:
        on_disk = os.listdir(golden) if os.path.isdir(golden) else []
    except OSError as exc:
        raise LogUnavailable(f"cannot list {golden}: {exc.strerror or exc}") from None
    for name in sorted(set(on_disk) | set(manifest)):
        if name == MANIFEST or os.path.splitext(name)[1].lower() not in EXTENSIONS:
            continue
        entry = manifest.get(name)
        found = _recorded_when(base, name, entry) or _when_from_name(name)
        f = _recorded_format(base, name, entry) or format_for_path(name)
        if found is not None and fmt in (None, f):
            points.append(point(found, os.path.join(golden, name), f))
    return points or [
        point(
            END,
            os.path.join(golden, file_name(END, fmt or "text", chosen or "overview")),
            fmt or "text",
        )
    ]


def _recorded_when(directory: str, name: str, entry: Entry | None) -> When | None:
    if entry is None:
        return None
    try:
        return when_of_text(entry.at)
    except ValueError as exc:
        raise LogUnavailable(f"{_manifest_path(directory)}: {name}: {exc}") from None


def _recorded_format(directory: str, name: str, entry: Entry | None) -> Format | None:
    if entry is None:
        return None
    for f in FORMATS:
        if f == entry.format:
            return f
    raise LogUnavailable(
        f"{_manifest_path(directory)}: {name}: unknown format {entry.format!r}"
        f" (one of {', '.join(FORMATS)})"
    )


def check(
    log: LogPath,
    golden: str,
    ats: list[When] | None = None,
    *,
    width: int | None = None,
    height: int | None = None,
    fmt: Format | None = None,
    update: bool = False,
    lenient: bool = False,
    view: str | None = None,
    task: str | None = None,
    jobs: int | None = 1,
) -> list[Result]:
    """Compare (or with ``update``, write) every point; one Result per point."""
    points = plan(golden, ats or [], width=width, height=height, fmt=fmt, view=view, task=task)
    # Every point is rendered before anything is written: a bad log or an unknown
    # mark must not leave an --update half done (files without their manifest).
    rendered = [
        (
            p,
            snapshot_of(
                log,
                p.when,
                width=p.width,
                height=p.height,
                fmt=p.fmt,
                lenient=lenient,
                view=p.view,
                task=p.task,
                jobs=jobs,
            ),
        )
        for p in points
    ]
    now_versions = versions()
    results = []
    touched: dict[str, dict[str, Entry]] = {}
    for p, actual in rendered:
        directory = os.path.dirname(p.path) or "."
        manifest = touched.setdefault(directory, read_manifest(directory))
        name = os.path.basename(p.path)
        expected = _read_golden(p.path)
        made = Entry(at_text(p.when), p.width, p.height, p.fmt)
        if p.view != "overview":
            made.view, made.task = p.view, p.task or ""
        if expected == actual:
            results.append(Result(p, "same"))
            if not update or _same_options(manifest.get(name), made):
                continue
        if update:
            if directory and not os.path.isdir(directory):
                try:
                    os.makedirs(directory, exist_ok=True)
                except OSError as exc:
                    raise WriteFailed(f"cannot create {directory}: {exc.strerror or exc}") from None
            if expected != actual:
                write_file(p.path, actual)
                results.append(Result(p, "written"))
            made.runreel, made.rich = now_versions["runreel"], now_versions["rich"]
            manifest[name] = made
            continue
        if expected is None:
            hint = f"no golden {p.path}; create it with --update"
            results.append(Result(p, "missing", note=hint))
            continue
        results.append(
            Result(
                p,
                "different",
                _diff(expected, actual, p, log),
                _note(manifest, name, expected, actual),
            )
        )
    if update:
        for directory, manifest in touched.items():
            write_manifest(directory, manifest)
    return results


def _read_golden(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise LogUnavailable(f"cannot read golden {path}: {reason}") from None


def _same_options(recorded: Entry | None, made: Entry) -> bool:
    options = attrgetter("at", "width", "height", "format")
    return recorded is not None and options(recorded) == options(made)


def _diff(expected: str, actual: str, p: Point, log: LogPath) -> str:
    """A unified diff for a CI log: ESC of an ANSI snapshot is shown as ``\\x1b``
    (a style-only change would otherwise look like two equal lines), and a missing
    final newline is marked as diff(1) does."""
    shown = "(ESC shown as \\x1b) " if p.fmt == "ansi" else ""
    lines = difflib.unified_diff(
        _lines(_visible(expected, p.fmt)),
        _lines(_visible(actual, p.fmt)),
        fromfile=f"{p.path} (golden)",
        tofile=f"{log} at {shown_at(p.when)} ({p.width}x{p.height} {p.fmt}) {shown}".rstrip(),
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def _lines(text: str) -> list[str]:
    """Lines split at ``\\n`` only (``splitlines`` also splits at U+2028, FF, ...)."""
    parts = text.split("\n")
    return [line + "\n" for line in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _visible(text: str, fmt: Format) -> str:
    return text.replace("\x1b", "\\x1b") if fmt == "ansi" else text


def _note(manifest: dict[str, Entry], name: str, expected: str = "", actual: str = "") -> str:
    if "\r\n" in expected and expected.replace("\r\n", "\n") == actual:
        return (
            f"note: {name} has CRLF line endings (a checkout that converts them?); "
            "mark golden files -text in .gitattributes"
        )
    made = manifest.get(name)
    if made is None:
        return ""
    now = versions()
    changed = [
        f"{pkg} {getattr(made, pkg)} -> {now[pkg]}"
        for pkg in ("rich", "runreel")
        if getattr(made, pkg) and getattr(made, pkg) != now[pkg]
    ]
    if not changed:
        return ""
    return (
        f"note: {name} was made with a different renderer ({', '.join(changed)}); the "
        "difference may come from that. Review it, then run with --update."
    )


def result_lines(results: list[Result]) -> list[str]:
    """Human lines summarising results (diffs excluded)."""
    words = {"same": "ok", "different": "DIFFERENT", "missing": "MISSING", "written": "written"}
    return [f"{words[r.status]:<9} {r.point.path} ({shown_at(r.point.when)})" for r in results]
