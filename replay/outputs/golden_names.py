"""The names of golden files: a point's position and view in a file name, and back.

``end.txt``, ``50pct.svg``, ``mark-deploy.txt``, ``end.failures.txt``: a directory of
goldens says what each file holds even without its manifest.
"""

from __future__ import annotations

import hashlib
import os
import re

from replay.core.text import safe
from replay.core.viewstate import VIEWS
from replay.core.when import When, parse_when
from replay.outputs.formats import Format, extension


def _number(x: float) -> str:
    """``x`` without losing digits (``:g`` keeps six: 1000.125 would become 1000.12)."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def at_text(when: When) -> str:
    """``when`` as the manifest records it: exact, and read back by ``when_of_text``."""
    if when.kind == "seconds":
        return _number(when.seconds)
    if when.kind == "percent":
        return _number(when.seconds) + "%"
    return str(when)


def shown_at(when: When) -> str:
    """``when`` for a message: exact, and a mark's label made harmless."""
    text = at_text(when) + ("s" if when.kind == "seconds" else "")
    return safe(text)


def when_of_text(text: str) -> When:
    """The position a manifest records (a mark label is kept verbatim, spaces and all)."""
    if text.startswith("mark:") and len(text) > 5:
        return When("mark", label=text[5:])
    return parse_when(text)


def file_name(when: When, fmt: Format, view: str = "overview") -> str:
    """The file name of a point in a golden directory (a view but the overview adds
    its name: ``end.failures.txt``)."""
    if when.kind == "seconds":
        stem = f"{_number(when.seconds)}s"
    elif when.kind == "percent":
        stem = f"{_number(when.seconds)}pct"
    elif when.kind == "event":
        stem = f"event-{when.event}"
    elif when.kind == "mark":
        clean = re.sub(r"[^A-Za-z0-9._-]", "_", when.label)[:60]
        if clean != when.label:
            clean += "-" + hashlib.blake2b(when.label.encode(), digest_size=4).hexdigest()
        stem = f"mark-{clean}"
    else:
        stem = when.kind
    if view != "overview":
        stem += f".{view}"
    return stem + extension(fmt)


def _view_from_name(name: str) -> str | None:
    """The view a file's name ends in (``end.failures.txt``), if any."""
    stem = os.path.splitext(os.path.basename(name))[0]
    last = stem.rsplit(".", 1)[-1] if "." in stem else ""
    return last if last in VIEWS else None


def _when_from_name(name: str) -> When | None:
    stem = os.path.splitext(name)[0]
    if _view_from_name(name):
        stem = stem.rsplit(".", 1)[0]
    for pattern, text in (
        (r"^(start|end)$", r"\1"),
        (r"^([0-9.]+)s$", r"\1"),
        (r"^([0-9.]+)pct$", r"\1%"),
        (r"^event-([0-9]+)$", r"#\1"),
        (r"^mark-(.+)$", r"mark:\1"),
    ):
        if re.match(pattern, stem):
            try:
                return parse_when(re.sub(pattern, text, stem))
            except ValueError:
                return None
    return None
