"""``storystream summarize``: every line of a JSONL file as one story, summarized on its own."""

from __future__ import annotations

from pathlib import Path

from agents.cli.jsonl import read_jsonl
from pipeline.common.errors import BadInput
from pipeline.common.text import stable_hash
from pipeline.normalization.normalize import normalize
from pipeline.summaries.summarize import SummaryConfig, strip_markers, summarize_story
from schemas.records import Article, DedupVerdict, RawArticle, SchemaError, StoryUpdate


def load_story(path: Path) -> list[tuple[Article, DedupVerdict]]:
    """Normalize every raw article of the file, each marked as an original.

    Lines that are not JSON objects or that normalize rejects are skipped. An article with no
    usable date gets its line number as time, so file order stands in for arrival order.
    """
    members: list[tuple[Article, DedupVerdict]] = []
    seen: set[str] = set()
    for line in read_jsonl(path):
        if line.data is None:
            continue
        try:
            raw = RawArticle.from_dict(line.data)
            article = normalize(raw, received_at=float(line.number))
        except (BadInput, SchemaError):
            continue
        if article.id in seen:
            continue
        seen.add(article.id)
        members.append((article, DedupVerdict(article_id=article.id, kind="original")))
    return members


def summary_text(update: StoryUpdate, max_words: int) -> str:
    """The section sentences without headings or [n] markers, cut at ``max_words`` words."""
    body = " ".join(strip_markers(section.text).replace(" .", ".") for section in update.sections)
    tokens = body.split()
    return " ".join(tokens[:max_words]) if max_words > 0 else " ".join(tokens)


def run_summarize(
    path: Path,
    *,
    max_words: int = 100,
    fmt: str = "text",
    config: SummaryConfig | None = None,
) -> str:
    """Summarize all articles of ``path`` as one story.

    Args:
        path: JSONL of raw articles (id, url, outlet, title, text or body, published).
        max_words: the text format is cut at this many words (0: no cut).
        fmt: "text" (plain sentences) or "json" (the StoryUpdate).
        config: summary tuning; defaults to ``SummaryConfig()``.

    Raises:
        BadInput: no usable article in the file, or an unknown format.
    """
    if fmt not in ("text", "json"):
        raise BadInput(f"unknown format {fmt!r}: use text or json")
    members = load_story(path)
    if not members:
        raise BadInput(f"{path}: no usable article")
    update = summarize_story(
        "summary-" + stable_hash(*(a.id for a, _ in members)),
        members,
        version=1,
        previous=None,
        now=max(a.published for a, _ in members),
        config=config,
    )
    if fmt == "json":
        return update.to_json().decode("utf-8")
    return summary_text(update, max_words)
