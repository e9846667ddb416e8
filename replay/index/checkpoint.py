"""Fold checkpoints: Metrics to bytes and back (msgspec MessagePack), for fast seeks."""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from collections import deque
from operator import attrgetter
from typing import Any

import msgspec

from replay.core import fold, handlers
from replay.core.metrics import ErrorEntry, Gap, InFlight, LogEntry, Metrics, WorkerState

_RECORDS: dict[str, type[Any]] = {"in_flight": InFlight, "workers": WorkerState}
_DEQUES: dict[str, type[Any] | None] = {
    "recent_errors": ErrorEntry,
    "recent_logs": LogEntry,
    "gaps": Gap,
    "marks": None,  # (t, label) pairs
}
_SERIES = ("counters", "gauges")  # keys are (name, ((label, value), ...))
_PAIRS = ("slowest",)  # lists of (duration, task) tuples


def _field_names(cls: type[Any]) -> tuple[str, ...]:
    """A record's fields in order, whether a dataclass or a msgspec Struct."""
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    return tuple(cls.__struct_fields__)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(dict[str, Any])
# Field values as a tuple, much faster than dataclasses.astuple (which deep-copies).
_AS_TUPLE: dict[type[Any], Any] = {
    cls: attrgetter(*_field_names(cls))
    for cls in (InFlight, WorkerState, ErrorEntry, LogEntry, Gap)
}


def fold_id() -> str:
    """Which fold made a state: stored states are only reused by the same fold and layout.

    A new Metrics slot or a change in how events fold would make old states wrong (or
    unreadable), so an index records this and is rebuilt when it differs.
    """
    global _fold_id
    if _fold_id is None:
        h = hashlib.blake2b(digest_size=12)
        h.update(repr(Metrics.__slots__).encode())
        for cls in _AS_TUPLE:
            h.update(repr(list(_field_names(cls))).encode())
        for module in (sys.modules[Metrics.__module__], handlers, fold):  # the state; how it folds
            try:
                with open(str(module.__file__), "rb") as f:
                    h.update(f.read())
            except OSError:
                h.update(repr(sorted(vars(module))).encode())
        _fold_id = h.hexdigest()
    return _fold_id


_fold_id: str | None = None


def dump(m: Metrics) -> bytes:
    """The whole fold state as bytes."""
    state: dict[str, Any] = {}
    for slot in Metrics.__slots__:
        value = getattr(m, slot)
        if slot in _RECORDS:
            value = list(map(_AS_TUPLE[_RECORDS[slot]], value.values()))
        elif slot in _DEQUES:
            cls = _DEQUES[slot]
            value = list(map(_AS_TUPLE[cls], value)) if cls else list(value)
        elif slot in _SERIES:
            value = [[name, [list(p) for p in labels], v] for (name, labels), v in value.items()]
        state[slot] = value
    return _encoder.encode(state)


def load(data: bytes) -> Metrics:
    """A Metrics equal to the one ``dump`` was given."""
    state = _decoder.decode(data)
    m = Metrics()
    for slot in Metrics.__slots__:
        value = state[slot]
        if slot in _RECORDS:
            cls = _RECORDS[slot]
            records = [cls(*v) for v in value]
            value = {(r.task if cls is InFlight else r.name): r for r in records}
        elif slot in _DEQUES:
            cls_or_none = _DEQUES[slot]
            items = [cls_or_none(*v) if cls_or_none else tuple(v) for v in value]
            value = deque(items, maxlen=getattr(m, slot).maxlen)
        elif slot in _SERIES:
            value = {(name, tuple(tuple(p) for p in labels)): v for name, labels, v in value}
        elif slot in _PAIRS:
            value = [tuple(p) for p in value]
        setattr(m, slot, value)
    return m
