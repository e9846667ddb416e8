"""Line <-> event: the JSON Lines encoding of the log format.

Decoding is all-or-nothing per chunk for speed (``decode_lines``); when a chunk
holds a bad or unknown line, it is decoded again line by line to say which.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import msgspec

from recorder.events import (
    FORMAT_VERSION,
    AnyEvent,
    Attempt,
    Event,
    Int64,
    Seconds,
    TaskFailed,
    TaskRetrying,
    Time,
)

_encoder = msgspec.json.Encoder()
encode_struct_into = _encoder.encode_into  # the writer's hot path: no checks, no newline
# An empty ``detail`` is left out of a line: lines stay as they were before the field
# existed. The key cannot occur inside a string value (msgspec writes ``"`` as ``\"``), and
# these events have no other fields that could hold it, so the first match is the field.
_EMPTY_DETAIL = b',"detail":""'
_DETAILED = (TaskFailed, TaskRetrying)
_decoder = msgspec.json.Decoder(AnyEvent)


class Envelope(msgspec.Struct, gc=False):
    """The fields any version of any event has; used to classify lines that fail to decode."""

    type: str
    t: Time
    src: str
    seq: Int64
    v: int | None = None


_envelope_decoder = msgspec.json.Decoder(Envelope)


class Unknown(msgspec.Struct, frozen=True, gc=False):
    """An event of a type this version does not know (a newer writer); skipped and counted."""

    type: str
    t: Time
    src: str
    seq: Int64


class BadLine(Exception):
    """One line is not a valid event; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(event: AnyEvent) -> bytes:
    """One complete log line for an event, newline included."""
    buffer = bytearray()
    append(event, buffer)
    return bytes(buffer)


def encode_into(event: AnyEvent, buffer: bytearray) -> None:
    """Encode an event and its newline into ``buffer`` (reused to avoid allocations)."""
    buffer.clear()
    append(event, buffer)


def append(event: AnyEvent, buffer: bytearray) -> None:
    """Encode an event and its newline at the end of ``buffer`` (an importer's batch)."""
    start = len(buffer)
    _encoder.encode_into(event, buffer, -1)
    if type(event) in _DETAILED and not cast("TaskFailed", event).detail:
        _omit_empty_detail(buffer, start)
    buffer.extend(b"\n")


class TaskFailedPlain(Event, tag="task_failed", frozen=True):
    """A ``task_failed`` without ``detail``: encodes as TaskFailed with an empty one does.

    The Recorder builds these so that its hot path needs no check per event."""

    task: str
    worker: str = ""
    error: str = ""


class TaskRetryingPlain(Event, tag="task_retrying", frozen=True):
    """A ``task_retrying`` without ``detail`` (see TaskFailedPlain)."""

    task: str
    worker: str = ""
    attempt: Attempt = 1
    error: str = ""
    backoff: Seconds = 0.0


def _omit_empty_detail(buffer: bytearray, start: int) -> None:
    at = buffer.find(_EMPTY_DETAIL, start)
    del buffer[at : at + len(_EMPTY_DETAIL)]


def decode_line(line: bytes) -> AnyEvent | Unknown:
    """Decode one line (without or with its newline); raises BadLine."""
    try:
        event: AnyEvent = _decoder.decode(line)
        return event
    except msgspec.DecodeError as exc:
        first = str(exc)
    except UnicodeDecodeError:
        raise BadLine("invalid UTF-8") from None
    except RecursionError:
        raise BadLine(_TOO_DEEP) from None
    try:
        env = _envelope_decoder.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        unknown_type = "$.type" in first
        raise BadLine(_describe(str(exc) if unknown_type else first)) from None
    if "Invalid value" in first and "$.type" in first:
        return Unknown(type=env.type, t=env.t, src=env.src, seq=env.seq)
    raise BadLine(_describe(first))


def decode_chunk(chunk: bytes | memoryview) -> list[AnyEvent | Unknown] | None:
    """Decode complete lines at once; None when some line needs a closer look."""
    try:
        # a fresh list nobody else holds: widening its type to the reader's is safe
        return cast("list[AnyEvent | Unknown]", _decoder.decode_lines(chunk))
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None


def check_version(line: bytes) -> None:
    """Raise BadLine unless the first line is a run_started of a version we read."""
    try:
        env = _envelope_decoder.decode(line)
    except msgspec.DecodeError as exc:
        raise BadLine(_describe(str(exc))) from None
    except UnicodeDecodeError:
        raise BadLine("invalid UTF-8") from None
    except RecursionError:
        raise BadLine(_TOO_DEEP) from None
    if env.type != "run_started":
        raise BadLine(
            f"first event is {env.type!r}, expected 'run_started' (if the log was rotated "
            "with copytruncate, its start is in the rotated file: read them joined)"
        )
    if env.v != FORMAT_VERSION:
        raise BadLine(
            f"log format version {env.v} is not supported (this runreel reads version "
            f"{FORMAT_VERSION}; upgrade runreel to read newer logs)"
        )


_TOO_DEEP = "JSON nested too deeply"


def _describe(message: str) -> str:
    """msgspec's message, in the project's voice."""
    if message.startswith("Input data was truncated"):
        return "incomplete JSON: the line was cut short (a write torn by a crash?)"
    if len(message) > 1 and message[1].islower():
        return message[0].lower() + message[1:]
    return message or "invalid event"


def encode_all(events: Iterable[AnyEvent]) -> bytes:
    """The lines for several events, for fixtures and tests."""
    return b"".join(encode(e) for e in events)
