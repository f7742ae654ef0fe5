"""What one story's summary costs as the story grows: milliseconds and peak megabytes.

For each size N, a child process builds one story of N distinct articles (taken in order from
the JSONL files given, each with a fresh id; files are cycled when N is larger than they hold)
and times ``summarize_story`` twice: the first version, and a refresh after one more article
joined (what the worker pays per update of a big story). Peak memory is the child's maximum
resident set size above what it held before summarizing.

    python benchmarks/summary_cost.py ../shared/corpora/gva_dev.jsonl ../shared/corpora/np4e.jsonl
    python benchmarks/summary_cost.py CORPUS.jsonl --sizes 25 400 2000 5000 --json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def members_of(paths: list[Path], n: int) -> list[Any]:
    """``n`` distinct articles as story members, published one minute apart."""
    import orjson

    from schemas.records import Article, DedupVerdict

    rows = []
    for path in paths:
        for line in path.read_bytes().splitlines():
            if line.strip():
                row = orjson.loads(line)
                if row.get("text") or row.get("body"):
                    rows.append(row)
    if not rows:
        raise SystemExit("no articles with text in the input")
    out = []
    for i in range(n):
        row = rows[i % len(rows)]
        article = Article(
            id=f"cost-{i}",
            url=f"https://cost.example/{i}",
            outlet=row.get("outlet") or f"outlet{i % 50}.example",
            title=row.get("title") or "",
            text=row.get("text") or row.get("body") or "",
            lang="en",
            published=1_600_000_000.0 + 60.0 * i,
            content_hash=f"h{i}",
        )
        out.append((article, DedupVerdict(article_id=article.id, kind="original")))
    return out


def child(paths: list[Path], n: int) -> dict[str, Any]:
    """Runs in the child: build the story, summarize it, refresh it after one more article."""
    from pipeline.summaries.summarize import summarize_story

    members = members_of(paths, n + 1)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    first = summarize_story("s-cost", members[:n], version=1, previous=None, now=0.0)
    first_ms = 1000 * (time.perf_counter() - started)
    started = time.perf_counter()
    summarize_story("s-cost", members, version=2, previous=first, now=1.0)
    refresh_ms = 1000 * (time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "articles": n,
        "first_ms": first_ms,
        "refresh_ms": refresh_ms,
        "peak_mb": (peak - base) / 1024,
        "sections": len(first.sections),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", type=Path, nargs="+", help="JSONL files of articles")
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 100, 400, 1000, 2000, 5000])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.inputs, args.child)))
        return 0
    for path in args.inputs:
        if not path.is_file():
            parser.error(f"{path}: no such file")
    if not args.json:
        print(f"{'articles':>8} {'first ms':>9} {'refresh ms':>10} {'peak MB':>8}")
    for n in args.sizes:
        done = subprocess.run(
            [sys.executable, __file__, *map(str, args.inputs), "--child", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        if args.json:
            print(json.dumps(r))
        else:
            print(
                f"{r['articles']:8d} {r['first_ms']:9.0f} {r['refresh_ms']:10.0f}"
                f" {r['peak_mb']:8.0f}"
            )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
