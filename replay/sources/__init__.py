"""Where logs come from besides local files.

The read pipeline works on local JSONL files. A Redis stream is pulled into a local
copy first (resuming where the last pull stopped) for the commands that read a whole
log; ``live`` follows the stream itself. Messages about a copy name the stream
(``for_messages``): the operator knows the URL, not the cache file.
"""

from __future__ import annotations

import re

from recorder.location import is_url, parse
from replay.sources.follow import Follower, FollowSource

_COPIES: dict[str, str] = {}  # local copy made by this process -> the stream it holds, shown


def local_path(location: str) -> str:
    """A local file holding the log at ``location``: the path itself, or a stream's copy."""
    if not is_url(location):
        return location
    from replay.sources.archive import local_copy

    stream = parse(location)
    path = local_copy(stream)
    _COPIES[path] = str(stream)
    return path


def for_messages(text: str) -> str:
    """``text`` with each local copy named by its stream, the password masked:
    ``COPY:N: reason`` becomes ``URL (entry N): reason`` (a stream key may hold ``:``)."""
    if not _COPIES:
        return text
    paths = "|".join(re.escape(path) for path in sorted(_COPIES, key=len, reverse=True))

    def named(m: re.Match[str]) -> str:
        shown = _COPIES[m[1]]
        return f"{shown} (entry {m[2]})" if m[2] else shown

    return re.sub(rf"({paths})(?::(\d+)(?=:))?", named, text)


def follower(location: str, *, lenient: bool = False, block: float = 0.05) -> FollowSource:
    """A follower for ``location``; a stream's waits up to ``block`` seconds per poll."""
    if not is_url(location):
        return Follower(location, lenient=lenient)
    from replay.sources.redis import RedisFollower

    return RedisFollower(parse(location), lenient=lenient, block=block)
