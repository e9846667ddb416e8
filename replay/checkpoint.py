"""Fold checkpoints: Metrics to bytes and back (msgspec MessagePack), for fast seeks."""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any

import msgspec

from recorder.fold import ErrorEntry, Gap, InFlight, LogEntry, Metrics, WorkerState

_RECORDS: dict[str, type[Any]] = {"in_flight": InFlight, "workers": WorkerState}
_DEQUES: dict[str, type[Any] | None] = {
    "recent_errors": ErrorEntry,
    "recent_logs": LogEntry,
    "gaps": Gap,
    "marks": None,  # (t, label) pairs
}
_SERIES = ("counters", "gauges")  # keys are (name, ((label, value), ...))

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(dict[str, Any])


def dump(m: Metrics) -> bytes:
    """The whole fold state as bytes."""
    state: dict[str, Any] = {}
    for slot in Metrics.__slots__:
        value = getattr(m, slot)
        if slot in _RECORDS:
            value = [dataclasses.astuple(v) for v in value.values()]
        elif slot in _DEQUES:
            value = [dataclasses.astuple(v) if _DEQUES[slot] else list(v) for v in value]
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
        setattr(m, slot, value)
    return m
