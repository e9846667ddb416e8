"""Error signatures: failures grouped by cause, the way Sentry groups a message.

A signature is the exception type (a leading ``Name:`` or ``dotted.Name:``, kept as it
is) plus the first line of the message with its variable parts replaced by
placeholders. The patterns run in order, each over what the ones before left, so a
UUID is replaced before its hex digits and numbers could be: quoted strings, URLs,
e-mail addresses, UUIDs, dates and times, IP addresses (with their port), paths,
hex numbers and at last any other number. Two errors that differ only in such
parts share a signature; errors of different types never do. The rule is described
for users in docs/store.md; changing it changes ``RULE_VERSION`` (stores rebuild).
"""

from __future__ import annotations

import re

RULE_VERSION = 1
MAX_MESSAGE = 300  # characters of the normalised message kept in a signature

_TYPE = re.compile(r"([A-Za-z_](?:[\w.]*\w)?)\s*:(?:\s+|$)", re.ASCII)

# (placeholder, pattern), applied in this order. Lookbehinds keep a pattern from starting
# inside a word, so identifiers such as ``v2`` or ``sha256`` stay as they are.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("<str>", re.compile(r"""(?<!\w)'[^'\n]*'(?!\w)|(?<!\w)"[^"\n]*"(?!\w)""")),
    ("<url>", re.compile(r"(?<![\w.])[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")),
    ("<email>", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", re.ASCII)),
    (
        "<uuid>",
        re.compile(
            # dashed only: 32 hex digits without dashes are a <hex>, whatever made them
            r"(?<![\w-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
            r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])"
        ),
    ),
    (
        "<date>",
        re.compile(
            r"(?<![\w.])\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w])",
            re.ASCII,
        ),
    ),
    ("<time>", re.compile(r"(?<![\w.:])\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?![\w:])", re.ASCII)),
    (
        "<ip>",
        re.compile(
            r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\w.])"  # IPv4[:port]
            r"|\[[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\](?::\d{1,5})?"  # [IPv6]:port
            r"|(?<![\w:])(?=[:0-9a-fA-F]*[0-9a-fA-F])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}"
            r"(?![\w:])",  # IPv6
            re.ASCII,
        ),
    ),
    (
        "<path>",
        re.compile(
            r"(?<![\w.:/\\<>-])(?:[A-Za-z]:\\|~?/|\.{1,2}/)[^\s'\",;()\[\]{}<>]+"  # absolute, ./
            r"|(?<![\w./\\<>-])[\w.-]+(?:/[\w.-]+)+\.[A-Za-z]\w*(?![\w/])",  # a/b.ext
            re.ASCII,
        ),
    ),
    (
        "<hex>",
        re.compile(
            r"(?<![\w.])0[xX][0-9a-fA-F]+(?!\w)"
            r"|(?<![\w.])(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}(?!\w)",
            re.ASCII,
        ),
    ),
    ("<num>", re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", re.ASCII)),
)


def split_type(error: str) -> tuple[str, str]:
    """(exception type, message) of an error's first line; the type is "" when none leads."""
    line = first_line(error)
    m = _TYPE.match(line)
    if m is None:
        return "", line
    return m.group(1), line[m.end() :]


def first_line(error: str) -> str:
    """The first line with text, without surrounding blanks."""
    for line in error.splitlines():
        if line.strip():
            return line.strip()
    return ""


def normalize(message: str) -> str:
    """``message`` with its variable parts replaced by placeholders, blanks collapsed."""
    for placeholder, pattern in PATTERNS:
        message = pattern.sub(placeholder, message)
    return " ".join(message.split())[:MAX_MESSAGE]


def signature(error: str) -> str:
    """The group an error belongs to: ``Type: normalised message`` (or just the message)."""
    kind, message = split_type(error)
    text = normalize(message)
    if not kind:
        return text
    return f"{kind}: {text}" if text else f"{kind}:"
