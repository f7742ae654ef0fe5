"""Replay prepares articles in several processes and still gives exactly the one-process output."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from agents.cli import replay as replay_module
from agents.cli.replay import replay


def test_replay_with_preparing_processes_matches_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(replay_module, "CHUNK_LINES", 10)  # several chunks in flight
    sample = (resources.files("agents") / "data" / "sample.jsonl").read_bytes()
    source = tmp_path / "in.jsonl"
    # Several chunks' worth of lines, with a malformed line in the middle.
    source.write_bytes(sample + b"{not json\n" + sample)
    one = replay(source, tmp_path / "one.jsonl", show_progress=False, workers=1)
    two = replay(source, tmp_path / "two.jsonl", show_progress=False, workers=2)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert one.lines == two.lines and one.failed == two.failed == 1
    assert one.stories == two.stories > 0
