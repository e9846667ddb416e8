"""Where a log lives: a local path, or a Redis stream named by a URL.

A location is one object from the command line to every message: ``str()`` is how
messages name it (the path, or the URL with the password masked). Readers work on
local files; a stream is read from its local copy (``StreamCopy``), which messages
name by the stream: ``URL (entry N)`` where a file would say ``FILE:N``.

``redis://[user:pass@]host[:port]/DB/STREAM[?option=value...]`` (``rediss://`` for
TLS). STREAM is the key of the stream, percent-decoded; it may hold ``/``. The query
options are the redis-py connection options in ``OPTIONS`` (and ``TLS_OPTIONS`` with
``rediss://``), plus ``retry_for``, which is runreel's: how many seconds a writer keeps
retrying an event through a lost connection before it raises WriteFailed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TypeAlias
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from recorder.errors import RunreelError

SCHEMES = ("redis", "rediss")
DEFAULT_PORT = 6379
DEFAULT_RETRY_FOR = 30.0  # seconds
SAFE = "/:@{}[]!$&'()*+,;="  # kept as they are in a stream key shown in a URL
# redis-py's connection options that make sense in a URL. Any other name would reach
# redis-py as a keyword it rejects at the first command, so it is refused up front.
OPTIONS = (
    "client_name",
    "health_check_interval",
    "max_connections",
    "protocol",
    "retry_on_timeout",
    "socket_connect_timeout",
    "socket_keepalive",
    "socket_timeout",
)
TLS_OPTIONS = (
    "ssl_ca_certs",
    "ssl_ca_path",
    "ssl_cert_reqs",
    "ssl_certfile",
    "ssl_check_hostname",
    "ssl_ciphers",
    "ssl_keyfile",
    "ssl_min_version",
    "ssl_password",
)


class BadLocation(RunreelError):
    """A log URL that cannot be understood (a usage error)."""


@dataclass(frozen=True)
class RedisLocation:
    """A Redis stream: how to connect (``url``, for redis-py) and which key (``stream``)."""

    url: str  # scheme://[user:pass@]host:port/DB?options: the connection, without the stream
    stream: str
    display: str  # the location with the password masked and no options: for messages
    retry_for: float = DEFAULT_RETRY_FOR
    options: tuple[tuple[str, str], ...] = field(default=())

    def __str__(self) -> str:
        return self.display


@dataclass(frozen=True)
class FileLocation:
    """A log file, named in messages by its path as given."""

    path: str

    def __str__(self) -> str:
        return self.path


Location: TypeAlias = FileLocation | RedisLocation


@dataclass(frozen=True)
class StreamCopy:
    """A local file holding a stream's entries, one line each: read as a path
    (``os.fspath``), named in messages by the stream."""

    stream: RedisLocation
    path: str

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return str(self.stream)


# What readers take: a file's path, or a stream's copy.
LogPath: TypeAlias = str | StreamCopy


def line_of(log: LogPath, n: int) -> str:
    """How messages name line ``n`` of ``log``: ``FILE:N``, or ``URL (entry N)`` for a
    stream's copy (a stream key may hold ``:``)."""
    return f"{log}:{n}" if isinstance(log, str) else f"{log} (entry {n})"


def locate(text: str) -> Location:
    """The location ``text`` names: a Redis stream for a redis:// URL, else a file."""
    return parse(text) if is_url(text) else FileLocation(text)


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` names a Redis stream rather than a file."""
    if not isinstance(location, str):
        return False
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def parse(location: str) -> RedisLocation:
    """A Redis stream URL taken apart; BadLocation says what is wrong with it."""
    shape = f"expected redis://[user:pass@]host:port/DB/STREAM, not {_mask(location)!r}"
    try:
        parts = urlsplit(location)
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise BadLocation(f"bad Redis URL: {exc}; {shape}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise BadLocation(shape)
    db, sep, stream = parts.path.lstrip("/").partition("/")
    stream = unquote(stream)
    if not sep or not db.isdigit() or not stream:
        raise BadLocation(shape)
    retry_for = DEFAULT_RETRY_FOR
    options: list[tuple[str, str]] = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "retry_for":
            try:
                retry_for = float(value)
            except ValueError:
                retry_for = -1.0
            if not retry_for >= 0:
                raise BadLocation(f"retry_for must be a number of seconds >= 0, not {value!r}")
        else:
            _check_option(name, scheme, location)
            options.append((name, value))
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    user = ""
    if parts.username or parts.password:
        user = quote(unquote(parts.username or ""), safe="")
        shown_user = f"{user}:***@" if parts.password is not None else f"{user}@"
        if parts.password is not None:
            user += ":" + quote(unquote(parts.password), safe="")
        user += "@"
    else:
        shown_user = ""
    query = f"?{urlencode(options)}" if options else ""
    return RedisLocation(
        url=f"{scheme}://{user}{host}:{port}/{int(db)}{query}",
        stream=stream,
        display=f"{scheme}://{shown_user}{host}:{port}/{int(db)}/{quote(stream, safe=SAFE)}",
        retry_for=retry_for,
        options=tuple(options),
    )


def _check_option(name: str, scheme: str, location: str) -> None:
    """BadLocation for a query option redis-py would not take (a typo, most likely)."""
    if name in OPTIONS or (scheme == "rediss" and name in TLS_OPTIONS):
        return
    if name in TLS_OPTIONS:
        raise BadLocation(f"option {name!r} needs a rediss:// (TLS) URL: {_mask(location)}")
    known = ", ".join(("retry_for", *OPTIONS, *(TLS_OPTIONS if scheme == "rediss" else ())))
    raise BadLocation(f"unknown option {name!r} in {_mask(location)}; the options are: {known}")


def _mask(location: str) -> str:
    """``location`` with anything between ``:`` and ``@`` in its authority hidden."""
    head, sep, rest = location.partition("://")
    authority, slash, path = rest.partition("/")
    user, at, host = authority.rpartition("@")
    if at and ":" in user:
        authority = f"{user.split(':', 1)[0]}:***@{host}"
    return f"{head}{sep}{authority}{slash}{path.split('?', 1)[0]}"
