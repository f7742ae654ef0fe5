"""Whole-process replay throughput, as a share of a plain-Python floor measured in the same run.

The floor reads the same JSONL, decodes every line, lower-cases and splits its text into words
and builds its 5-word shingles: the least any pipeline must do per article. The replay is
``storystream replay`` (every stage, summaries skipped as without ``--stories``), with one
process and with one preparing process per core.

    python benchmarks/replay_speed.py ../shared/corpora/gva_dev.jsonl ../shared/corpora/np4e.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.cli.replay import replay  # noqa: E402

WORDS = re.compile(r"\w+")


def floor_rate(path: Path) -> float:
    """Articles per second of the plain-Python floor over ``path``."""
    started = time.perf_counter()
    n = 0
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        words = WORDS.findall((row.get("text") or row.get("body") or "").lower())
        {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
        n += 1
    return n / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", type=Path, nargs="+", help="JSONL files, replayed as one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="replay-speed-") as tmp:
        joined = Path(tmp) / "input.jsonl"
        with joined.open("wb") as out:
            for path in args.inputs:
                if not path.is_file():
                    parser.error(f"{path}: no such file")
                out.write(path.read_bytes().rstrip(b"\n") + b"\n")
        floor = floor_rate(joined)
        result = {"floor_per_s": floor}
        for workers in sorted({1, os.cpu_count() or 1}):
            stats = replay(joined, Path(tmp) / "out.jsonl", show_progress=False, workers=workers)
            result[f"replay_{workers}_per_s"] = stats.rate
            result[f"replay_{workers}_share_of_floor"] = stats.rate / floor
        result["articles"] = stats.lines
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28} {value:10.3f}" if isinstance(value, float) else f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
