"""Where logs come from: a file, or a Redis stream.

The read pipeline works on local JSONL files. A Redis stream is pulled into a local
copy first (resuming where the last pull stopped) for the commands that read a whole
log, when they read it; ``live`` follows the stream itself. The copy names its stream
in messages (``recorder.location.StreamCopy``): the operator knows the URL, not the
cache file.
"""

from __future__ import annotations

import os

from recorder.errors import LogUnavailable
from recorder.location import FileLocation, Location, LogPath, StreamCopy
from replay.sources.file import open_log
from replay.sources.follow import Follower, FollowSource


def local_file(location: Location) -> LogPath:
    """A local file holding the log at ``location``: the path, or a stream's copy
    (pulled now, brought up to date)."""
    if isinstance(location, FileLocation):
        return location.path
    from replay.sources.archive import local_copy

    return StreamCopy(location, local_copy(location))


def follower(location: Location, *, lenient: bool = False, block: float = 0.05) -> FollowSource:
    """A follower for ``location``; a stream's waits up to ``block`` seconds per poll.
    A file that is there but cannot be read (a directory) fails now: waiting would not
    change that."""
    if isinstance(location, FileLocation):
        path = location.path
        if os.path.isdir(path):  # it will never become a log: do not wait for it
            raise LogUnavailable(f"cannot open {path}: it is a directory")
        if os.path.exists(path):
            os.close(open_log(path))
        return Follower(path, lenient=lenient)
    from replay.sources.redis import RedisFollower

    return RedisFollower(location, lenient=lenient, block=block)
