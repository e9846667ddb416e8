"""Where logs come from besides local files.

The read pipeline works on local JSONL files. A Redis stream is pulled into a local
copy first (resuming where the last pull stopped) for the commands that read a whole
log; ``live`` follows the stream itself.
"""

from __future__ import annotations

from recorder.location import is_url, parse
from replay.follow import Follower, FollowSource


def local_path(location: str) -> str:
    """A local file holding the log at ``location``: the path itself, or a stream's copy."""
    if not is_url(location):
        return location
    from replay.backends.redis_archive import local_copy

    return local_copy(parse(location))


def follower(location: str, *, lenient: bool = False, block: float = 0.05) -> FollowSource:
    """A follower for ``location``; a stream's waits up to ``block`` seconds per poll."""
    if not is_url(location):
        return Follower(location, lenient=lenient)
    from replay.backends.redis_follow import RedisFollower

    return RedisFollower(parse(location), lenient=lenient, block=block)
