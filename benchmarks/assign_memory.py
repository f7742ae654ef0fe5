"""The assign stage's memory over a long stream, and the time a restart takes to be ready.

Usage: python benchmarks/assign_memory.py CORPUS.jsonl [...] [--articles 1000000] [--days 730]

The stream repeats the given corpora with fresh ids and varied wording (every repetition
renames the people and places its articles name and shifts their numbers, so repetitions are
new stories, not copies), spread evenly over ``--days`` of event time. Articles are made one
at a time, never held, and the assigner's state records are written to a RocksDB store on
disk with the worker's table options, as the worker's table would be; the assigner reads back
from it what it let go, as in the worker. At the end of every 30-day month of event time the
process's resident memory is sampled; growth from month 3 to the end is reported. Then a
fresh assigner is restored from the store, as a restarted worker is: the time until it is
ready, and the memory a restore allocates and keeps (traced). ``--articles`` at three months
of the stream gives the state a restart holds at month 3.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.assignment.assigner import StoryAssigner, article_terms  # noqa: E402
from pipeline.assignment.fit import article_from_row, replay_order  # noqa: E402
from schemas.records import Article, DedupVerdict  # noqa: E402

DAY = 86400.0
MONTH = 30 * DAY
NAME = re.compile(r"\b([A-Z][a-z]{2,})\b")
NUMBER = re.compile(r"\b(\d{1,3})\b")


def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def suffix(rep: int) -> str:
    """A name ending of its own for every repetition (base-26 letters of ``rep``)."""
    letters = ""
    while True:
        rep, digit = divmod(rep, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not rep:
            return letters


def vary(text: str, rep: int) -> str:
    """The text with its capitalized names and small numbers changed for repetition ``rep``:
    every repetition's names are its own, as every new event's are."""
    if rep == 0:
        return text
    ending = "ov" + suffix(rep)
    text = NAME.sub(lambda m: m.group(1) + ending, text)
    return NUMBER.sub(lambda m: str((int(m.group(1)) + 7 * rep) % 1000), text)


def stream(paths: list[Path], total: int, days: float) -> Iterator[Article]:
    """``total`` articles over ``days`` of event time, the corpora repeated and varied."""
    rows: list[dict] = []
    for path in paths:
        rows += replay_order(
            [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        )
    if not rows:
        raise SystemExit("no articles in the given corpora")
    start, span = 1_600_000_000.0, days * DAY
    for n in range(total):
        rep, i = divmod(n, len(rows))
        row = dict(rows[i])
        row["id"] = f"{row['id']}#{rep}"
        row["text"] = vary(row.get("text") or row.get("body") or "", rep)
        row["title"] = vary(row.get("title") or "", rep)
        row["_time"] = start + span * n / total
        yield article_from_row(row)


def open_store(path: Path) -> Any:
    """A RocksDB store with the worker's table options (see ``agents.faust_app``)."""
    from rocksdict import BlockBasedOptions, Cache, Options, Rdict

    from agents.faust_app import store_options
    from agents.settings import Settings

    wanted = store_options(Settings())
    options = Options()
    options.create_if_missing(True)
    options.set_write_buffer_size(wanted["write_buffer_size"])
    options.set_max_write_buffer_number(wanted["max_write_buffer_number"])
    table_options = BlockBasedOptions()
    table_options.set_block_cache(Cache(wanted["block_cache_size"]))
    if wanted.get("cache_index_and_filter_blocks"):
        table_options.set_cache_index_and_filter_blocks(True)
    options.set_block_based_table_factory(table_options)
    return Rdict(str(path), options=options)


def drain(assigner: StoryAssigner, table: Any) -> None:
    """Write the assigner's pending state records to the store, as the worker's flush does."""
    for key, value in assigner.drain_changes():
        if value is None:
            table.delete(key)
        else:
            table[key] = value


def restored_state(table: Any) -> tuple[float, float]:
    """Seconds for a fresh assigner to restore from the store, and the MB it then holds.

    The memory is what a second restore allocates and keeps, traced (resident memory would
    hide it where it reuses what the process freed before).
    """
    gc.collect()
    started = time.perf_counter()
    restored = StoryAssigner(lookup=table.get)
    restored.restore(table.items())
    seconds = time.perf_counter() - started
    del restored
    gc.collect()
    tracemalloc.start()
    restored = StoryAssigner(lookup=table.get)
    restored.restore(table.items())
    held = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    del restored
    gc.collect()
    return seconds, held


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", type=Path, nargs="+")
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=730.0)
    parser.add_argument("--batch", type=int, default=200, help="articles between state writes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    samples: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory(prefix="assign-memory-") as tmp:
        table = open_store(Path(tmp) / "assign-state")
        # as in the worker, the assigner reads back from its table what it let go
        assigner = StoryAssigner(lookup=table.get)
        config = assigner.config
        month_end = None
        started = time.perf_counter()
        for n, article in enumerate(stream(args.inputs, args.articles, args.days), 1):
            if month_end is None:
                month_end = article.published + MONTH
            verdict = DedupVerdict(article_id=article.id, kind="original")
            assigner.assign(article, verdict, f"m:{n}", terms=article_terms(article, config))
            if n % args.batch == 0:
                drain(assigner, table)
            if article.published >= month_end:
                gc.collect()
                samples.append((n, rss_mb()))
                month_end += MONTH
                if not args.json:
                    print(
                        f"month {len(samples):3d}: {n:8d} articles, {samples[-1][1]:8.0f} MB",
                        flush=True,
                    )
        drain(assigner, table)
        seconds = time.perf_counter() - started
        final = rss_mb()
        del assigner
        gc.collect()
        ready, restored_mb = restored_state(table)
        table.close()
    month3 = samples[2][1] if len(samples) >= 3 else float("nan")
    result = {
        "articles": args.articles,
        "days": args.days,
        "articles_per_s": args.articles / seconds,
        "rss_mb_month3": month3,
        "rss_mb_end": final,
        "growth_from_month3": final / month3 - 1.0 if month3 == month3 else float("nan"),
        "restart_seconds": ready,
        "restored_state_mb": restored_mb,
        "months": samples,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.articles} articles over {args.days:.0f} days"
            f" at {result['articles_per_s']:.0f}/s;"
            f" memory {month3:.0f} MB at month 3, {final:.0f} MB at the end"
            f" ({100 * result['growth_from_month3']:+.0f}%); restart ready in {ready:.1f} s"
            f" holding {restored_mb:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
