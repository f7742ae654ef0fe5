"""Batch commands over JSONL files: ``replay`` (every stage in one process) and ``normalize``."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from agents.cli.jsonl import Line, count_lines, err_console, progress, read_jsonl
from agents.helpers import one_blas_thread
from pipeline.common.errors import BadInput
from pipeline.engine import Engine, EngineConfig, Prepared, prepare, prepare_many
from pipeline.normalization.normalize import NormalizeConfig, normalize, parse_raw


@dataclass
class RunStats:
    lines: int = 0
    failed: int = 0
    stories: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def _report_failure(number: int, reason: str, shown: list[int], limit: int = 20) -> None:
    shown[0] += 1
    if shown[0] <= limit:
        prefix = f"line {number}: "
        text = reason if reason.startswith(prefix) else prefix + reason
        err_console.print(f"{text} (skipped)", style="yellow", markup=False, highlight=False)
    elif shown[0] == limit + 1:
        err_console.print("[yellow]more failed lines not shown")


def _map_lines(
    input_path: Path,
    out_path: Path,
    label: str,
    convert: Callable[[Line], tuple[object, str | None]],
    show_progress: bool,
    lines: Iterable[Line] | None = None,
    total: int | None = None,
) -> RunStats:
    """Write ``convert(line)``'s payload for every input line, in order, under a progress bar.

    ``convert`` returns the payload and the reason the line failed (None when it did not);
    failed lines are counted and reported on stderr, and the run goes on.
    """
    stats = RunStats()
    shown = [0]
    total = count_lines(input_path) if total is None else total
    started = time.perf_counter()
    with out_path.open("wb") as out, progress(label, total, show_progress) as bar:
        task = bar.add_task(label, total=total)
        for line in read_jsonl(input_path) if lines is None else lines:
            stats.lines += 1
            payload, error = convert(line)
            if error is not None:
                stats.failed += 1
                _report_failure(line.number, error, shown)
            out.write(orjson.dumps(payload) + b"\n")
            bar.advance(task)
    stats.seconds = time.perf_counter() - started
    return stats


PARALLEL_FROM_LINES = 2000
"""Files at least this long are prepared by several processes (starting them costs ~1 s)."""
CHUNK_LINES = 256


def _prepare_raw(raw: bytes, config: EngineConfig) -> Prepared:
    return prepare(raw, time.time(), config)


def _prepared_lines(
    input_path: Path, config: EngineConfig, workers: int
) -> Iterator[tuple[Line, Prepared | None]]:
    """Each line with its prepared message (normalized, signed, described), in file order.

    The stateless stages run in ``workers`` processes, a few chunks of lines ahead of the
    caller; the stateful ones stay in the caller, in input order, so the output is the same
    whatever the number of workers.
    """
    lines = read_jsonl(input_path)
    if workers <= 1:
        for line in lines:
            yield line, None if line.error else _prepare_raw(line.raw, config)
        return

    def chunks() -> Iterator[list[Line]]:
        chunk: list[Line] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == CHUNK_LINES:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    preparer = _Preparer(config)
    with multiprocessing.get_context("forkserver").Pool(workers, one_blas_thread) as pool:

        def submit(chunk: list[Line]) -> tuple[list[Line], Any]:
            raws = [line.raw for line in chunk if not line.error]
            batches = [raws[i : i + 32] for i in range(0, len(raws), 32)]
            return chunk, pool.map_async(preparer, batches, chunksize=1)

        source = chunks()
        ahead = deque(submit(chunk) for chunk in islice(source, 2 * workers))
        while ahead:
            chunk, result = ahead.popleft()
            following = next(source, None)
            if following is not None:
                ahead.append(submit(following))
            prepared = (item for batch in result.get() for item in batch)
            for line in chunk:
                yield line, None if line.error else next(prepared)


class _Preparer:
    """A picklable ``prepare`` with the run's configuration."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config

    def __call__(self, raws: list[bytes]) -> list[Prepared]:
        return prepare_many(raws, time.time(), self.config)


def replay(
    input_path: Path,
    out_path: Path,
    stories_path: Path | None = None,
    *,
    config: EngineConfig | None = None,
    show_progress: bool = True,
    workers: int | None = None,
) -> RunStats:
    """Run every stage over a JSONL of raw articles, in file order.

    Writes one ``{"id", "story_id", "duplicate_of", "dup_kind"}`` line per input line, in input
    order (``dup_kind`` is null for originals; a failed line also carries ``error``), and with
    ``stories_path`` the final StoryUpdate of every story. The stateless stages run in
    ``workers`` processes (default: one per core for long files); the result does not depend
    on it.
    """
    engine = Engine(config)
    total = count_lines(input_path)
    if workers is None:
        workers = (os.cpu_count() or 1) if total >= PARALLEL_FROM_LINES else 1
    prepared_of: dict[int, Prepared | None] = {}

    def with_prepared() -> Iterator[Line]:
        for line, prepared in _prepared_lines(input_path, engine.config, workers):
            prepared_of[line.number] = prepared
            yield line

    def assign(line: Line) -> tuple[dict, str | None]:
        record: dict = {"id": None, "story_id": None, "duplicate_of": None, "dup_kind": None}
        prepared = prepared_of.pop(line.number, None)
        if line.error or prepared is None:
            record["error"] = line.error
            return record, line.error
        outcome = engine.apply(prepared, f"line:{line.number}")
        if outcome.article is not None:
            record["id"] = outcome.article.id
        elif line.data is not None and isinstance(line.data.get("id"), str):
            record["id"] = line.data["id"]
        if outcome.ok and outcome.assignment is not None and outcome.verdict is not None:
            record["story_id"] = outcome.assignment.story_id
            record["duplicate_of"] = outcome.verdict.duplicate_of
            kind = outcome.verdict.kind
            record["dup_kind"] = None if kind == "original" else kind
            return record, None
        record["error"] = f"{outcome.failed_stage}: {outcome.reason}"
        return record, record["error"]

    started = time.perf_counter()
    stats = _map_lines(
        input_path, out_path, "replay", assign, show_progress, lines=with_prepared(), total=total
    )
    if stories_path is None:  # no summaries asked for: count the stories, skip writing them
        stats.stories = engine.changed_stories
        stats.seconds = time.perf_counter() - started
        return stats
    updates = engine.refresh()
    # A second pass fills related-story headlines now that every story has one.
    by_id = {u.story_id: u for u in updates}
    for update in updates:
        for related in update.related_stories:
            latest = by_id.get(related.story_id)
            if latest is not None:
                related.headline = latest.headline
                related.article_count = latest.article_count
    stats.stories = len(updates)
    if stories_path is not None:
        with stories_path.open("wb") as fh:
            for update in updates:
                fh.write(update.to_json() + b"\n")
    stats.seconds = time.perf_counter() - started
    return stats


def normalize_file(
    input_path: Path,
    out_path: Path,
    *,
    config: NormalizeConfig | None = None,
    show_progress: bool = True,
) -> RunStats:
    """Normalize every line; failed lines give ``{"id", "error"}`` so the order is kept."""
    config = config or NormalizeConfig()

    def clean(line: Line) -> tuple[object, str | None]:
        if line.error:
            return {"id": None, "error": line.error}, line.error
        try:
            return normalize(parse_raw(line.raw), received_at=time.time(), config=config), None
        except BadInput as exc:
            given = line.data.get("id") if line.data else None
            return {"id": given, "error": exc.reason}, exc.reason

    return _map_lines(input_path, out_path, "normalize", clean, show_progress)
