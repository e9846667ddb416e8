"""Writing output files without ever leaving a half-written one behind.

The one atomic writer of the project: snapshots, golden files and manifests go through
``write_file``; an imported log, too big to hold in memory, streams through ``replacing``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from recorder.errors import RunreelError, WriteFailed


def write_file(path: str, text: str) -> None:
    """Write ``text`` atomically: the old file stays whole until the new one is."""
    data = text.encode()
    with replacing(path) as out:
        out.write(data)


@contextlib.contextmanager
def replacing(path: str) -> Iterator[BinaryIO]:
    """A new file to write ``path``'s content into; it replaces ``path`` when the block
    ends without an error, and is removed when it raises: the old file stays whole.

    Symlinks are written through; a device, FIFO or terminal (``/dev/stdout``) is
    written to directly, never replaced. An OSError becomes WriteFailed naming ``path``.
    """
    try:
        special = not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        special = False
    if special:
        try:
            with open(path, "wb") as out:
                yield out
        except OSError as exc:
            if isinstance(exc, RunreelError):
                raise
            raise _failed(path, exc) from None
        return
    target = os.path.realpath(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".runreel-", dir=os.path.dirname(target))
    except OSError as exc:
        raise _failed(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as out:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; ours are ordinary files
            yield out
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, RunreelError):
            raise _failed(path, exc) from None
        raise


def _failed(path: str, exc: OSError) -> WriteFailed:
    return WriteFailed(f"cannot write {path}: {exc.strerror or exc}")
