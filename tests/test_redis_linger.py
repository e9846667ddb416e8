"""The Redis sink with ``linger``: a batch is one pipelined round trip of XADDs, in order,
and a connection broken midway sends nothing twice. Against a real redis-server."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import msgspec
from conftest import ROOT
from test_redis import (  # noqa: F401 - new_stream and redis_base are fixtures
    RedisServer,
    fold_url,
    follow,
    new_stream,
    redis_base,
    stream_lines,
)

from recorder import Recorder
from recorder.redis_stream import Stream, Unreachable


def seqs_by_src(url: str) -> dict[str, list[int]]:
    seqs: dict[str, list[int]] = defaultdict(list)
    for line in stream_lines(url).splitlines():
        event = msgspec.json.decode(line)
        seqs[event["src"]].append(event["seq"])
    return seqs


def test_a_batch_is_one_round_trip(new_stream: Callable[[], str], monkeypatch: Any) -> None:  # noqa: F811
    trips: list[int] = []
    real = Stream.add_many

    def counting(self: Stream, lines: list[bytes]) -> int:
        trips.append(len(lines))
        return real(self, lines)

    monkeypatch.setattr(Stream, "add_many", counting)
    url = new_stream()
    with Recorder(url, name="batched", linger=3600, batch_bytes=8192) as rec:
        for i in range(500):
            rec.task_started(f"t{i}", worker="w")
            rec.succeeded(f"t{i}", worker="w")
    assert sum(trips) == 1000 + 1  # run_started starts the stream on its own
    assert len(trips) < 1000 // 20
    m = fold_url(url)
    assert m.finished and m.succeeded == 500 and m.gap_count == 0


WORKER = textwrap.dedent(
    """
    import sys
    from recorder import Recorder
    url, pairs, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with Recorder.attach(url, linger=0.01, batch_bytes=4096) as rec:
        for i in range(pairs):
            rec.task_started(f"{name}-{i}", worker=name)
            rec.succeeded(f"{name}-{i}", worker=name)
    """
)


def test_many_batching_writers_lose_nothing(new_stream: Callable[[], str]) -> None:  # noqa: F811
    url, procs, pairs = new_stream(), 6, 1000
    with Recorder(url, name="many", total=procs * pairs):
        workers = [
            subprocess.Popen([sys.executable, "-c", WORKER, url, str(pairs), f"p{i}"], cwd=ROOT)
            for i in range(procs)
        ]
        assert [w.wait(120) for w in workers] == [0] * procs
    m = fold_url(url)
    assert m.finished and m.events == procs * pairs * 2 + 2
    assert m.gap_count == 0 and m.lost_events == 0
    workers_seqs = [s for s in seqs_by_src(url).values() if len(s) == 2 * pairs]
    assert len(workers_seqs) == procs
    assert all(s == list(range(1, 2 * pairs + 1)) for s in workers_seqs)


def test_a_pipeline_broken_midway_sends_nothing_twice(
    new_stream: Callable[[], str],  # noqa: F811
    monkeypatch: Any,
) -> None:
    real = Stream.add_many
    broken: list[int] = []

    def half_then_break(self: Stream, lines: list[bytes]) -> int:
        if not broken and len(lines) > 4:  # the first batch: half lands, then the line drops
            broken.append(len(lines))
            real(self, lines[: len(lines) // 2])
            raise Unreachable("connection lost mid-pipeline (test)")
        return real(self, lines)

    monkeypatch.setattr(Stream, "add_many", half_then_break)
    url = new_stream()
    with Recorder(url, name="broken", linger=3600, batch_bytes=2048) as rec:
        for i in range(100):
            rec.task_started(f"t{i}", worker="w")
    assert broken, "no batch was broken"
    (seqs,) = seqs_by_src(url).values()
    assert seqs == list(range(1, 103))  # run_started, 100 tasks, run_finished: once each
