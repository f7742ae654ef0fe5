"""Assign-stage speed over a long stream: articles/s for the first and the last 1,000 articles.

Usage: python benchmarks/assign_speed.py CORPUS.jsonl [CORPUS.jsonl ...] [--total 50000]

The stream repeats the given corpora with fresh ids, each repetition moved ``--period-days``
later in event time (by default longer than the dormancy window, so a repetition makes new
stories rather than joining the last one's) with every corpus spread evenly over that period
and the corpora interleaved, so that stories keep arriving, growing and going dormant as in a
live feed. Only
``StoryAssigner.assign`` is timed, as CPU time of this process (one core); wall time is shown
beside it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.cluster import ClusterConfig, StoryAssigner  # noqa: E402
from pipeline.cluster_fit import article_from_row, replay_order  # noqa: E402
from schemas.records import Article, DedupVerdict  # noqa: E402

DAY = 86400.0


def build_stream(paths: list[Path], total: int, period_days: float) -> list[Article]:
    """``total`` articles: the corpora repeated with fresh ids and shifted event times.

    Within one repetition each corpus is spread evenly over the period (in its replay order)
    and the corpora are interleaved by time, as in a live feed mixing sources; so any window
    of the stream holds a similar mix of articles.
    """
    corpora: list[list[dict]] = []
    for path in paths:
        rows = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        if rows:
            corpora.append(replay_order(rows))
    if not corpora:
        raise SystemExit("no articles in the given corpora")
    start = 1_600_000_000.0
    period = period_days * DAY
    offsets: list[tuple[float, int, int]] = []
    for c, rows in enumerate(corpora):
        for i in range(len(rows)):
            offsets.append(((i + 0.5) / len(rows) * period, c, i))
    offsets.sort()
    stream: list[Article] = []
    rep = 0
    while len(stream) < total:
        for offset, c, i in offsets:
            if len(stream) >= total:
                break
            fresh = dict(corpora[c][i])
            fresh["id"] = f"{fresh['id']}#{rep}"
            fresh["_time"] = start + rep * period + offset
            stream.append(article_from_row(fresh))
        rep += 1
    return stream


def measure(stream: list[Article], window: int, config: ClusterConfig) -> dict:
    """Assign the whole stream; CPU and wall seconds of the first and last ``window``."""
    assigner = StoryAssigner(config)
    verdicts = [DedupVerdict(article_id=a.id, kind="original") for a in stream]
    cpu: dict[int, float] = {}
    wall: dict[int, float] = {}
    for i, (article, verdict) in enumerate(zip(stream, verdicts, strict=True)):
        if i % window == 0 or i == len(stream) - window:
            cpu[i], wall[i] = time.process_time(), time.perf_counter()
        assigner.assign(article, verdict, delivery=f"bench:{i}")
        if i % 512 == 0:
            assigner.drain_changes()
    cpu[len(stream)], wall[len(stream)] = time.process_time(), time.perf_counter()
    n = len(stream)
    first_cpu = cpu[window] - cpu[0]
    last_cpu = cpu[n] - cpu[n - window]
    marks = sorted(k for k in cpu if k % window == 0)
    curve = [window / (cpu[b] - cpu[a]) for a, b in zip(marks, marks[1:], strict=False)]
    return {
        "curve": curve,
        "articles": n,
        "first_per_s": window / first_cpu,
        "last_per_s": window / last_cpu,
        "first_wall_per_s": window / (wall[window] - wall[0]),
        "last_wall_per_s": window / (wall[n] - wall[n - window]),
        "all_per_s": n / (cpu[n] - cpu[0]),
        "stories": float(len(assigner._stories)),
        "active_stories": float(sum(1 for s in assigner._stories.values() if not s.dormant)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--total", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=1_000)
    parser.add_argument("--period-days", type=float, default=450.0)
    args = parser.parse_args(argv)
    stream = build_stream(args.corpora, args.total, args.period_days)
    r = measure(stream, args.window, ClusterConfig())
    ratio = r["last_per_s"] / r["first_per_s"]
    print(
        f"stream of {r['articles']} articles, {int(r['stories'])} stories"
        f" ({int(r['active_stories'])} active at the end)"
    )
    print(
        f"first {args.window}: {r['first_per_s']:.0f} articles/s CPU"
        f" ({r['first_wall_per_s']:.0f} wall)"
    )
    print(
        f"last  {args.window}: {r['last_per_s']:.0f} articles/s CPU"
        f" ({r['last_wall_per_s']:.0f} wall)"
    )
    print(f"whole stream: {r['all_per_s']:.0f} articles/s CPU; last/first = {ratio:.2f}")
    curve = r["curve"]
    print(f"articles/s CPU per {args.window}:", " ".join(f"{v:.0f}" for v in curve))
    if len(curve) > 2:
        warm = r["last_per_s"] / curve[1]
        print(f"last/second {args.window} (after the empty-state start) = {warm:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
