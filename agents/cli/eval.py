"""``storystream eval``: replay a gold-labelled corpus and score stories and related groups."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from agents.cli.jsonl import err_console, read_jsonl
from pipeline.assignment.assigner import StoryAssigner, article_terms
from pipeline.assignment.fit import article_from_row, order_counts, replay_order
from pipeline.evaluation import FinalStories, bcubed, cluster_count, pairwise
from schemas.records import DedupVerdict, RawArticle


class CorpusError(ValueError):
    """A corpus that cannot be scored: no article, or no gold label to score against."""


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """The corpus's usable rows; a malformed line or one without an id is reported and skipped.

    Raises:
        CorpusError: no usable row, or no row carries a gold ``event``.
    """
    rows: list[dict[str, Any]] = []
    skipped = 0
    for line in read_jsonl(path):
        error = line.error
        if error is None and line.data is not None and line.data.get("id") in (None, ""):
            error = f"line {line.number}: no `id`"
        if error is not None:
            skipped += 1
            err_console.print(f"{error} (skipped)", style="yellow", markup=False, highlight=False)
            continue
        rows.append(line.data)
    if not rows:
        reason = f", {skipped} malformed" if skipped else ""
        raise CorpusError(f"{path}: no article to score (0 usable lines{reason})")
    if all(row.get("event") is None for row in rows):
        raise CorpusError(f"{path}: no line carries a gold `event` label: nothing to score against")
    return rows


def load_corpus(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL corpus in replay order (:func:`~pipeline.assignment.fit.replay_order`)."""
    rows = _read_rows(path)
    return replay_order(rows)


def _normalizer() -> Any:
    try:
        from pipeline.normalization.normalize import normalize
    except Exception:  # noqa: BLE001 - the stage may not exist in this checkout
        return None
    return normalize


def _deduplicator() -> Any:
    try:
        from pipeline.dedup.index import Deduplicator

        return Deduplicator()
    except Exception:  # noqa: BLE001 - the stage may not exist in this checkout
        return None


def run_eval(path: Path, *, progress: bool = True, normalize: bool = True) -> dict:
    """Replay ``path`` through normalize (if present), dedup (if present) and assignment.

    Returns a report dict: story and related-group scores (BCubed and pairwise), counts and
    the assign stage's speed.
    """
    rows = load_corpus(Path(path))
    norm = _normalizer() if normalize else None
    dedup = _deduplicator()
    assigner = StoryAssigner()
    tracker = FinalStories()
    gold_event: dict[str, Any] = {}
    gold_topic: dict[str, Any] = {}
    assign_cpu = 0.0
    terms_cpu = 0.0
    wall0 = time.perf_counter()
    fallbacks = 0
    for n, row in enumerate(rows, 1):
        article = None
        if norm is not None:
            try:
                raw = RawArticle.from_dict({**row, "id": str(row["id"])})
                article = norm(raw, received_at=row["_time"])
            except Exception:  # noqa: BLE001 - fall back to the raw row, as documented
                article = None
                fallbacks += 1
        if article is None:
            article = article_from_row(row)
        if dedup is not None:
            verdict = dedup.check(article)
        else:
            verdict = DedupVerdict(article_id=article.id, kind="original")
        # As in the workers, the dedup stage computes the term statistics before assign.
        t0 = time.process_time()
        terms = article_terms(article, assigner.config)
        t1 = time.process_time()
        assignment = assigner.assign(article, verdict, delivery=f"eval:{n}", terms=terms)
        assign_cpu += time.process_time() - t1
        terms_cpu += t1 - t0
        tracker.add(assignment)
        gold_event[article.id] = row.get("event")
        gold_topic[article.id] = row.get("topic")
        if progress and n % 200 == 0:
            print(f"  {n}/{len(rows)} articles", file=sys.stderr)
    wall = time.perf_counter() - wall0

    stories = tracker.stories()
    groups = {a: assigner.group_of(s) for a, s in stories.items()}
    has_topics = len({t for t in gold_topic.values() if t is not None}) > 1
    report: dict[str, Any] = {
        "corpus": Path(path).name,
        "articles": len(rows),
        "ordered_by": order_counts(rows),
        "normalized": norm is not None,
        "normalize_fallbacks": fallbacks,
        "deduplicated": dedup is not None,
        "stories_found": cluster_count(stories),
        "stories_gold": cluster_count(gold_event),
        "stories": {
            "bcubed": bcubed(stories, gold_event).as_dict(),
            "pairwise": pairwise(stories, gold_event).as_dict(),
        },
        "assign_cpu_seconds": assign_cpu,
        "assign_articles_per_second": len(rows) / assign_cpu if assign_cpu else 0.0,
        "terms_articles_per_second": len(rows) / terms_cpu if terms_cpu else 0.0,
        "wall_seconds": wall,
    }
    if has_topics:
        report["groups_found"] = cluster_count(groups)
        report["groups_gold"] = cluster_count(gold_topic)
        report["related"] = {
            "bcubed": bcubed(groups, gold_topic).as_dict(),
            "pairwise": pairwise(groups, gold_topic).as_dict(),
        }
    return report


def format_report(report: dict) -> str:
    """A short human-readable table of a :func:`run_eval` report."""
    fallbacks = report.get("normalize_fallbacks", 0)
    given = f", {fallbacks} rows as given" if fallbacks else ""
    lines = [
        f"{report['corpus']}: {report['articles']} articles"
        f" (normalize: {'yes' if report['normalized'] else 'no'}{given},"
        f" dedup: {'yes' if report['deduplicated'] else 'no'})",
        "ordered by " + ", ".join(f"{k}: {v}" for k, v in report.get("ordered_by", {}).items()),
        f"{'':18}{'P':>7}{'R':>7}{'F1':>7}",
    ]
    for level in ("stories", "related"):
        if level not in report:
            continue
        for metric in ("bcubed", "pairwise"):
            s = report[level][metric]
            lines.append(
                f"{level + ' ' + metric:18}{s['precision']:7.3f}{s['recall']:7.3f}{s['f1']:7.3f}"
            )
    lines.append(f"stories found {report['stories_found']} vs gold {report['stories_gold']}")
    if "groups_found" in report:
        lines.append(
            f"related groups found {report['groups_found']} vs gold {report['groups_gold']}"
        )
    lines.append(
        f"assign stage {report['assign_articles_per_second']:.0f} articles/s (CPU; term"
        f" statistics, done by the dedup stage: {report['terms_articles_per_second']:.0f}/s),"
        f" whole replay {report['wall_seconds']:.2f} s wall"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Evaluate each corpus given on the command line."""
    args = sys.argv[1:] if argv is None else argv
    for arg in args:
        print(format_report(run_eval(Path(arg))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
