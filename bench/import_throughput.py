"""Import throughput: events per second for each format, on its largest real report repeated
to about a million events (fixtures/real/, see its SOURCES.md).

    python bench/import_throughput.py           # about 1M events per format
    python bench/import_throughput.py --quick   # about 100k events per format

Measures the importer (parsing the input, building events) and writing the runreel log
(encoding, one buffered write per MiB) into a temporary file, in wall-clock and in CPU time
(the CPU figure is the steadier one on a shared machine). The input is repeated in
memory, so reading the input file is not part of the figure. JSON-lines inputs are the file's
lines over and over (a re-run of the same tests each time, which exercises the attempt and
``(run N)`` bookkeeping); the JUnit document is one ``<testsuites>`` holding the real file's
suites over and over.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recorder.importers import importer  # noqa: E402
from recorder.importers.output import write_log  # noqa: E402

REAL = ROOT / "fixtures" / "real"
FILES = {
    "pytest-reportlog": "six-1.16.0.reportlog.jsonl",
    "gotest": "gotestsum-go-test-json.out",
    "libtest": "cargo2junit-cargo_failure.json",
    "junit": "dorny-jest-test-results.xml",
}


def count_events(fmt: str, data: bytes) -> int:
    """Events one copy of the input makes."""
    events = importer(fmt)(_lines(data), path="bench", run="bench", name="bench")
    return sum(1 for _ in events)


def _lines(data: bytes) -> Iterator[bytes]:
    return iter(data.splitlines(keepends=True))


def repeated(fmt: str, data: bytes, copies: int) -> Iterable[bytes]:
    """The input ``copies`` times over, as lines."""
    if fmt != "junit":
        lines = data.splitlines(keepends=True)
        return itertools.chain.from_iterable(itertools.repeat(lines, copies))
    text = data.decode("utf-8")
    body = re.search(r"<testsuites[^>]*>(.*)</testsuites>", text, re.S)
    assert body is not None, "the JUnit file has no <testsuites> root"
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bench">\n'
    inner = body.group(1).encode("utf-8").splitlines(keepends=True)
    return itertools.chain(
        [head.encode()],
        itertools.chain.from_iterable(itertools.repeat(inner, copies)),
        [b"</testsuites>\n"],
    )


def measure(fmt: str, target: int) -> tuple[str, float, int, float, float]:
    """(file, input MiB, events, wall seconds, CPU seconds) for about ``target`` events."""
    name = FILES[fmt]
    data = (REAL / name).read_bytes()
    copies = max(1, round(target / count_events(fmt, data)))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.jsonl")
        lines = repeated(fmt, data, copies)
        start, cpu = time.perf_counter(), time.process_time()
        events = importer(fmt)(lines, path=name, run="bench", name="bench")
        written = write_log(out, events)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return name, len(data) * copies / 2**20, written.events, seconds, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 100k events per format")
    parser.add_argument(
        "--format", choices=sorted(FILES), action="append", help="only these formats"
    )
    args = parser.parse_args(argv)
    target = 100_000 if args.quick else 1_000_000
    formats = args.format or list(FILES)
    print(f"import throughput, about {target:,} events per format")
    print(
        f"{'format':<18}{'largest real file':<32}{'input MiB':>10}{'events':>11}"
        f"{'wall s':>8}{'events/s':>10}{'CPU s':>7}{'events/CPU s':>14}"
    )
    for fmt in formats:
        name, mib, events, seconds, cpu = measure(fmt, target)
        print(
            f"{fmt:<18}{name:<32}{mib:>10.1f}{events:>11,}{seconds:>8.2f}"
            f"{events / max(seconds, 1e-9):>10,.0f}{cpu:>7.2f}{events / max(cpu, 1e-9):>14,.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
