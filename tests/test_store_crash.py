"""A first build writes without a journal into a temporary file: a process that dies in
the middle leaves nothing that passes for a store, and the next build makes a whole one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_store import dump, story, write

from replay.index.store import load_or_build
from replay.store import keep
from replay.store.access import build_to

_DIES = r"""
import os, sys
from replay.index import build as index_build
from replay.index.store import load_or_build
from replay.store import build
build.FLUSH_ROWS = 1  # rows reach the file after every batch
index_build.READ_CHUNK = 4096
fed = []
real = build.Builder.feed
def feed(self, batch):
    real(self, batch)
    fed.append(len(batch))
    if len(fed) == 3:
        os._exit(9)  # as a kill would: no clean-up of any kind
build.Builder.feed = feed
load_or_build(sys.argv[1], persist=True, store=True)
"""


def test_a_build_killed_midway_leaves_no_store_that_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = write(tmp_path / "run.jsonl", story(8, 800))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), env.get("PYTHONPATH", "")])
    died = subprocess.run([sys.executable, "-c", _DIES, str(log)], env=env, check=False)
    assert died.returncode == 9
    left = [p for p in tmp_path.iterdir() if ".runreel-store" in p.name]
    assert left, "the dead build left its temporary file"
    assert all(p.name.endswith(".tmp") for p in left)
    assert os.path.getsize(left[0]) > 0, "rows had been written"
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    for p in left:
        assert keep.state(keep.read_meta(str(p)), str(log), False) == "stale"
    assert keep.fresh_store(str(log), False) is None
    load_or_build(str(log), persist=True, store=True)
    stored = keep.fresh_store(str(log), False)
    assert stored is not None and not stored.endswith(".tmp")
    build_to(str(log), str(tmp_path / "whole.sqlite"))
    assert dump(stored) == dump(str(tmp_path / "whole.sqlite"))
