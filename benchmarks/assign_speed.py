"""Assign-stage speed over a long stream: articles/s for the first and the last 1,000 articles.

Usage: python benchmarks/assign_speed.py CORPUS.jsonl [...] [--total 50000] [--repeat 5]

The stream repeats the given corpora with fresh ids, each repetition moved ``--period-days``
later in event time (by default longer than the dormancy window, so a repetition makes new
stories rather than joining the last one's) with every corpus spread evenly over that period
and the corpora interleaved, so that stories keep arriving, growing and going dormant as in a
live feed. Only ``StoryAssigner.assign`` and ``drain_changes`` (the state records, drained
after every ``--batch`` articles, which divides the window, so that every window pays for
the records of its own articles) are timed, as CPU time of this process (one core); wall
time is shown beside it. After an untimed warm-up the stream is run ``--repeat`` times on a
fresh assigner each; each figure is the median with its range, so the first-versus-last
comparison is not one noisy sample. The prebuilt stream is frozen out of the garbage
collector's scans (a worker holds one batch of input, not 50,000 articles). Peak
memory is the process's max RSS.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.assignment.assigner import ClusterConfig, StoryAssigner, article_terms  # noqa: E402
from pipeline.assignment.fit import article_from_row, replay_order  # noqa: E402
from schemas.records import (  # noqa: E402
    Article,
    ArticleTerms,
    DedupedArticle,
    DedupVerdict,
)

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


def measure(
    stream: list[Article], window: int, config: ClusterConfig,
    terms: list[ArticleTerms] | None = None, batch: int = 500,
) -> dict:
    """Assign the whole stream once; CPU and wall seconds at every ``window`` boundary.

    With ``terms`` (each article's term statistics, as the dedup stage sends them) the assign
    stage does not tokenize; without, tokenizing is part of the timed work. The state
    records are drained after every ``batch`` articles, as a worker writes its tables once
    per batch; ``batch`` divides ``window``, so each window pays for its own records.
    """
    if window % batch:
        raise ValueError(f"the batch ({batch}) must divide the window ({window})")
    assigner = StoryAssigner(config)
    verdicts = [DedupVerdict(article_id=a.id, kind="original") for a in stream]
    given = terms if terms is not None else [None] * len(stream)
    n = len(stream)
    cpu: dict[int, float] = {}
    wall: dict[int, float] = {}
    for i, (article, verdict) in enumerate(zip(stream, verdicts, strict=True)):
        if i % window == 0 or i == n - window:
            cpu[i], wall[i] = time.process_time(), time.perf_counter()
        assigner.assign(article, verdict, delivery=f"bench:{i}", terms=given[i])
        if (i + 1) % batch == 0:
            assigner.drain_changes()
    cpu[n], wall[n] = time.process_time(), time.perf_counter()
    marks = sorted(k for k in cpu if k % window == 0)
    return {
        "curve": [window / (cpu[b] - cpu[a]) for a, b in zip(marks, marks[1:], strict=False)],
        "articles": n,
        "first_per_s": window / (cpu[window] - cpu[0]),
        "last_per_s": window / (cpu[n] - cpu[n - window]),
        "first_wall_per_s": window / (wall[window] - wall[0]),
        "last_wall_per_s": window / (wall[n] - wall[n - window]),
        "all_per_s": n / (cpu[n] - cpu[0]),
        "all_wall_per_s": n / (wall[n] - wall[0]),
        "stories": len(assigner._stories),
        "active_stories": sum(1 for s in assigner._stories.values() if not s.dormant),
    }


def wire_cost(
    stream: list[Article], terms: list[ArticleTerms], config: ClusterConfig, sample: int,
    batch: int = 500,
) -> tuple[float, float]:
    """CPU microseconds per article to decode the stage's input and encode its output.

    The live assign agent reads each article as a ``DedupedArticle`` message and writes a
    ``StoryAssignment``; ``measure`` leaves both out, so they are timed here on a sample, one
    ``batch`` at a time (decode the batch, assign it, encode the answers), as the agent holds
    one batch of messages rather than the whole sample.
    """
    messages = [
        DedupedArticle(
            article=a, verdict=DedupVerdict(article_id=a.id, kind="original"), terms=t
        ).to_json()
        for a, t in zip(stream[:sample], terms, strict=False)
    ]
    assigner = StoryAssigner(config)
    decode_s = encode_s = 0.0
    for start in range(0, len(messages), batch):
        t0 = time.process_time()
        decoded = [DedupedArticle.from_json(m) for m in messages[start : start + batch]]
        decode_s += time.process_time() - t0
        out = [assigner.assign(d.article, d.verdict, terms=d.terms) for d in decoded]
        t0 = time.process_time()
        for assignment in out:
            assignment.to_json()
        encode_s += time.process_time() - t0
        assigner.drain_changes()
    return decode_s / len(messages) * 1e6, encode_s / len(messages) * 1e6


def _spread(values: list[float]) -> str:
    """Median and range of repeated figures, as ``median (min-max)``."""
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--total", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=1_000)
    parser.add_argument(
        "--batch", type=int, default=500,
        help="articles between two drains of the state records (divides --window)",
    )
    parser.add_argument("--period-days", type=float, default=450.0)
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="timed runs over the stream (the first 1,000 articles of one run take a fifth of a"
        " second, so single ratios are noisy; the median of five is steadier)",
    )
    parser.add_argument("--warmup", type=int, default=2_000, help="articles of an untimed run")
    parser.add_argument(
        "--tokenize-in-assign",
        action="store_true",
        help="time tokenizing inside assign (as replay does) instead of taking the term "
        "statistics the dedup stage computes",
    )
    args = parser.parse_args(argv)
    stream = build_stream(args.corpora, args.total, args.period_days)
    config = ClusterConfig()
    t0 = time.process_time()
    terms = [article_terms(a, config) for a in stream]
    tokenize_s = time.process_time() - t0
    print(
        f"term statistics (dedup stage, partitioned): {len(stream) / tokenize_s:.0f} articles/s,"
        f" {tokenize_s / len(stream) * 1e6:.0f} us per article"
    )
    if args.tokenize_in_assign:
        terms = None
    # The prebuilt stream is input, not assigner state: keep the garbage collector from
    # rescanning its millions of objects inside the timed runs (a live worker holds one batch).
    gc.collect()
    gc.freeze()
    rss_stream = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.warmup > 0:
        head = stream[: max(args.warmup, args.window)]
        measure(head, args.window, config, terms[: len(head)] if terms else None, args.batch)
    runs = [measure(stream, args.window, config, terms, args.batch) for _ in range(args.repeat)]
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = runs[-1]
    print(
        f"stream of {r['articles']} articles, {r['stories']} stories"
        f" ({r['active_stories']} active at the end); {len(runs)} timed runs after"
        f" a {args.warmup}-article warm-up; figures are median (min-max), CPU of one core"
    )
    first = [x["first_per_s"] for x in runs]
    last = [x["last_per_s"] for x in runs]
    ratios = [x["last_per_s"] / x["first_per_s"] for x in runs]
    print(
        f"whole stream : {_spread([x['all_per_s'] for x in runs])} articles/s"
        f"  (wall {_spread([x['all_wall_per_s'] for x in runs])})"
    )
    print(
        f"first {args.window:<6} : {_spread(first)} articles/s"
        f"  (wall {_spread([x['first_wall_per_s'] for x in runs])})"
    )
    print(
        f"last  {args.window:<6} : {_spread(last)} articles/s"
        f"  (wall {_spread([x['last_wall_per_s'] for x in runs])})"
    )
    print(f"last/first   : {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
    curve = [statistics.median(v) for v in zip(*(x["curve"] for x in runs), strict=True)]
    print(f"articles/s CPU per {args.window} (median):", " ".join(f"{v:.0f}" for v in curve))
    decode_us, encode_us = wire_cost(stream, terms, config, min(len(stream), 5_000), args.batch)
    assign_us = 1e6 / statistics.median([x["all_per_s"] for x in runs])
    print(
        f"wire (agent) : decoding the input message {decode_us:.0f} us and encoding the"
        f" assignment {encode_us:.0f} us per article; with them the stage runs at"
        f" {1e6 / (assign_us + decode_us + encode_us):.0f} articles/s"
    )
    print(
        f"peak RSS     : {rss_peak / 1024:.0f} MiB (after building the stream:"
        f" {rss_stream / 1024:.0f} MiB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
