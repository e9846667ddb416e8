"""A pytest report's ``longrepr``: its one-line message and the text pytest prints for it.

pytest-reportlog writes a failure's longrepr as JSON (``reprcrash``, ``reprtraceback``,
``chain``); ``text_of`` lays it out as pytest's terminal does (``ReprEntry.toterminal`` and
friends in ``_pytest/_code/code.py``), without colours and without needing pytest. The live
plugin has pytest's objects and uses ``report.longreprtext`` instead.
"""

from __future__ import annotations

from typing import Any

from recorder.importers.lines import first_line

_ENTRY_SEP = "_ " * 40  # pytest's tw.sep("_ ") at 80 columns


def message_of(longrepr: Any) -> str:
    """The one-line reason in a report's ``longrepr`` (JSON form or pytest's objects)."""
    if longrepr is None:
        return ""
    if isinstance(longrepr, str):
        return first_line(longrepr)
    if isinstance(longrepr, (list, tuple)):
        return first_line(str(longrepr[-1])) if longrepr else ""
    if isinstance(longrepr, dict):
        crash = longrepr.get("reprcrash")
        if isinstance(crash, dict) and crash.get("message"):
            return first_line(str(crash["message"]))
        return ""
    message = getattr(getattr(longrepr, "reprcrash", None), "message", None)
    if message:
        return first_line(str(message))
    return first_line(str(longrepr))


def text_of(longrepr: Any) -> str:
    """The whole text of a longrepr in its JSON form: the traceback pytest prints.

    Stripped like pytest's own ``report.longreprtext`` (which the live plugin records).
    """
    if longrepr is None:
        return ""
    if isinstance(longrepr, str):
        return longrepr.strip()
    if isinstance(longrepr, list):  # a skip: [path, lineno, reason]
        return str(longrepr[-1]) if longrepr else ""
    if not isinstance(longrepr, dict):
        return str(longrepr)
    out: list[str] = []
    chain = longrepr.get("chain")
    if isinstance(chain, list) and chain:
        for element in chain:
            if not isinstance(element, list) or len(element) != 3:
                continue
            _traceback(_dict(element[0]), out)
            if element[2] is not None:
                out += ["", str(element[2])]
    else:
        _traceback(_dict(longrepr.get("reprtraceback")), out)
    sections = longrepr.get("sections")
    for section in sections if isinstance(sections, list) else []:
        if isinstance(section, list) and len(section) >= 2:
            out += [f"{'-' * 10} {section[0]} {'-' * 10}", str(section[1])]
    return "\n".join(out).strip()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _traceback(tb: dict[str, Any], out: list[str]) -> None:
    """ReprTraceback.toterminal."""
    entries = [e for e in tb.get("reprentries") or [] if isinstance(e, dict)]
    for i, entry in enumerate(entries):
        data = _dict(entry.get("data"))
        style = data.get("style", "native" if entry.get("type") == "ReprEntryNative" else "")
        if style == "long":
            out.append("")
        if entry.get("type") == "ReprEntryNative":
            out.append("".join(str(line) for line in data.get("lines") or []).rstrip("\n"))
        else:
            _entry(data, style, out)
        if i < len(entries) - 1:
            following = _dict(entries[i + 1].get("data")).get("style")
            if style == "long" or (style == "short" and following == "long"):
                out.append(_ENTRY_SEP)
    if tb.get("extraline"):
        out.append(str(tb["extraline"]))


def _entry(data: dict[str, Any], style: str, out: list[str]) -> None:
    """ReprEntry.toterminal."""
    lines = [str(line) for line in data.get("lines") or []]
    has_locals = isinstance(data.get("reprlocals"), dict)  # shown (if only as a blank line)
    local_lines = [str(line) for line in _dict(data.get("reprlocals")).get("lines") or []]
    where = _location(_dict(data.get("reprfileloc")))
    if style == "short":
        if where:
            out.append(where)
        out += lines
        out += [" " * 8 + line for line in local_lines]
        return
    args = _dict(data.get("reprfuncargs")).get("args") or []
    pairs = [f"{a[0]} = {a[1]}" for a in args if isinstance(a, list) and len(a) == 2]
    if pairs:
        out += [", ".join(pairs), ""]
    out += lines
    if has_locals:
        out += ["", *local_lines]
    if where:
        if lines:
            out.append("")
        out.append(where)


def _location(loc: dict[str, Any]) -> str:
    """ReprFileLocation.toterminal: ``path:lineno: message`` (the message's first line)."""
    if not loc:
        return ""
    message = str(loc.get("message") or "").split("\n", 1)[0]
    return f"{loc.get('path', '')}:{loc.get('lineno', '')}: {message}"
