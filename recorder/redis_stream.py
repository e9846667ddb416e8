"""One Redis stream as runreel uses it: a small typed wrapper over redis-py, imported lazily.

Each entry holds one log line (without its newline) in the field ``line``. Errors come
out as two kinds: ``Unreachable`` (the connection failed or was lost: worth retrying)
and ``Refused`` (the server answered no: retrying will not help).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from recorder.errors import RunreelError
from recorder.location import BadLocation, RedisLocation

if TYPE_CHECKING:
    import redis

FIELD = b"line"
SOCKET_TIMEOUT = 10.0  # seconds; a URL option overrides it
CONNECT_TIMEOUT = 5.0
Entry = tuple[bytes, dict[bytes, bytes]]  # (id, fields)


class RedisMissing(RunreelError):
    """A Redis location was given but redis-py is not installed."""


class Unreachable(Exception):
    """The server could not be reached, or the connection broke mid-command."""


class Refused(Exception):
    """The server refused the command (wrong type, no permission, out of memory, ...)."""


def redis_module() -> ModuleType:
    """redis-py, or RedisMissing saying how to install it."""
    try:
        return importlib.import_module("redis")
    except ImportError:
        raise RedisMissing(
            "Redis locations need the redis package: pip install 'runreel[redis]'"
        ) from None


class Stream:
    """The stream at ``location``; ``retry=False`` turns off redis-py's own retries
    (the writer has its own, bounded and reported)."""

    def __init__(self, location: RedisLocation, *, retry: bool = True, **connection: float) -> None:
        lib = redis_module()
        self.location = location
        self.key = location.stream
        given = {name for name, _ in location.options}
        kwargs: dict[str, Any] = {
            k: v
            for k, v in {
                "socket_timeout": SOCKET_TIMEOUT,
                "socket_connect_timeout": CONNECT_TIMEOUT,
                **connection,
            }.items()
            if k not in given
        }
        if not retry:
            kwargs["retry"] = lib.retry.Retry(lib.backoff.NoBackoff(), 0)
        try:
            self._r: redis.Redis = lib.Redis.from_url(location.url, **kwargs)
        except (TypeError, ValueError) as exc:
            raise BadLocation(f"{location}: bad connection option: {exc}") from None
        # redis-py passes options on to the connection unchecked: one it does not take
        # (an older redis-py) would be a TypeError at the first command.
        taken = _parameters(type(self._r.connection_pool))
        for cls in self._r.connection_pool.connection_class.__mro__:
            taken |= _parameters(cls)
        unknown = sorted(given - taken)
        if unknown:
            self._r.close()
            version = getattr(lib, "__version__", "")
            raise BadLocation(
                f"{location}: the installed redis-py {version} does not take "
                f"the option {unknown[0]!r}"
            )

    def close(self) -> None:
        self._r.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        from redis import exceptions as e

        try:
            yield
        except (e.AuthenticationError, e.AuthorizationError) as exc:
            raise Refused(_reason(exc)) from exc
        except (e.ConnectionError, e.TimeoutError, OSError) as exc:
            raise Unreachable(_reason(exc)) from exc
        except e.RedisError as exc:
            raise Refused(_reason(exc)) from exc

    def add(self, line: bytes) -> bytes:
        """Append one line; its entry id."""
        with self._errors():
            return cast(bytes, self._r.xadd(self.key, {FIELD: line}))

    def add_many(self, lines: Iterable[bytes]) -> int:
        """Append lines in one round trip (not atomic); how many."""
        pipe = self._r.pipeline(transaction=False)
        n = 0
        for line in lines:
            pipe.xadd(self.key, {FIELD: line})
            n += 1
        with self._errors():
            pipe.execute()
        return n

    def create(self, line: bytes, *, replace: bool = False) -> bool:
        """Start the stream with ``line`` unless it exists (False then); ``replace``
        deletes it first. Atomic: of two writers starting one stream, one wins."""
        from redis import exceptions as e

        with self._errors(), self._r.pipeline(transaction=True) as pipe:
            if replace:
                pipe.delete(self.key)
                pipe.xadd(self.key, {FIELD: line})
                pipe.execute()
                return True
            try:
                pipe.watch(self.key)  # type: ignore[no-untyped-call]
                if pipe.exists(self.key):
                    return False
                pipe.multi()
                pipe.xadd(self.key, {FIELD: line})
                pipe.execute()
            except e.WatchError:
                return False
        return True

    def exists(self) -> bool:
        with self._errors():
            return bool(self._r.exists(self.key))

    def length(self) -> int:
        with self._errors():
            return int(self._r.xlen(self.key))

    def delete(self) -> None:
        with self._errors():
            self._r.delete(self.key)

    def range(self, start: str, count: int) -> list[Entry]:
        """Up to ``count`` entries from id ``start`` (inclusive) on."""
        with self._errors():
            return cast(list[Entry], self._r.xrange(self.key, start, "+", count=count))

    def last(self, count: int) -> list[Entry]:
        """The last ``count`` entries, newest first."""
        with self._errors():
            return cast(list[Entry], self._r.xrevrange(self.key, "+", "-", count=count))

    def read(self, after: str, count: int, block_ms: int | None) -> list[Entry]:
        """Entries after id ``after``, waiting up to ``block_ms`` for one (None: no wait)."""
        with self._errors():
            got: Any = self._r.xread({self.key: after}, count=count, block=block_ms)
        return _entries(got)

    def read_and_first(
        self, after: str, count: int, block_ms: int | None
    ) -> tuple[list[Entry], Entry | None]:
        """``read``, then the stream's first entry (None: no stream), in one round trip."""
        pipe = self._r.pipeline(transaction=False)
        pipe.xread({self.key: after}, count=count, block=block_ms)
        pipe.xrange(self.key, "-", "+", count=1)
        with self._errors():
            got, first = pipe.execute()
        return _entries(got), (cast(Entry, first[0]) if first else None)


def _entries(got: Any) -> list[Entry]:
    """XREAD's reply for one stream as a list of entries."""
    if not got:
        return []
    # RESP2: [[key, entries]]; RESP3: {key: [entries]}, or {key: entries} in newer redis-py.
    value = next(iter(got.values())) if isinstance(got, dict) else got[0][1]
    if value and not isinstance(value[0][0], bytes):
        value = value[0]
    return cast(list[Entry], value)


def next_id(entry_id: bytes | str) -> str:
    """The smallest id after ``entry_id`` (XRANGE's exclusive ``(`` needs Redis 6.2)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    if int(seq or 0) >= 2**64 - 1:
        return f"{int(ms) + 1}-0"
    return f"{ms}-{int(seq or 0) + 1}"


def _parameters(cls: type) -> set[str]:
    """The keyword parameters ``cls.__init__`` itself declares."""
    init = cls.__dict__.get("__init__")
    if init is None:
        return set()
    try:
        return set(inspect.signature(init).parameters)
    except (TypeError, ValueError):
        return set()


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.rstrip(".")
