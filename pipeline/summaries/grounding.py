"""Grounding checks for abstractive summaries: a rewrite is used only if its citations hold."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import orjson

from pipeline.common.text import content_words
from schemas import Article, DedupVerdict, Section, StoryUpdate

_MARKER = re.compile(r"\s*\[(\d+)\]")
_FINAL = '.!?…"”’)'
_CITED = re.compile(r"(.+?)\s*((?:\[\d+\])+)[.!?…\"”’)]*(?=\s|$)")


@dataclass(frozen=True)
class GroundingConfig:
    """How strictly a rewritten sentence must be supported by the articles it cites.

    Attributes:
        min_support: share of a sentence's content words that must occur in the cited articles.
        min_per_citation: share that each cited article alone must contain (no free riders).
        max_article_chars: characters of each article given to the model.
    """

    min_support: float = 0.7
    min_per_citation: float = 0.3
    max_article_chars: int = 3000


def build_messages(
    update: StoryUpdate,
    members: Sequence[tuple[Article, DedupVerdict]],
    config: GroundingConfig | None = None,
) -> list[dict[str, str]]:
    """Chat messages asking for a sectioned, cited rewrite of the extractive summary."""
    config = config or GroundingConfig()
    by_id = {article.id: article for article, _ in members}
    sources = []
    for source in update.sources:
        article = by_id.get(source.article_id)
        text = article.text[: config.max_article_chars] if article else ""
        sources.append(
            {"n": source.n, "outlet": source.outlet, "title": source.title, "text": text}
        )
    extractive = [{"heading": s.heading, "text": s.text} for s in update.sections]
    system = (
        "You rewrite news story summaries. Use only facts stated in the numbered sources. "
        'Answer with JSON: {"headline": str, "sections": [{"heading": str, '
        '"sentences": [{"text": str, "citations": [int]}]}]}. Write 3 to 6 sections, '
        "each with a short heading; every sentence cites every source number that states it."
    )
    user = orjson.dumps({"sources": sources, "draft": extractive}).decode()
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_sections(payload: str) -> tuple[str, list[Section]] | None:
    """The headline and sections of a model answer, or None when it is not the asked shape."""
    try:
        data = orjson.loads(payload)
        headline = data.get("headline") or ""
        sections = []
        for raw in data["sections"]:
            sentences = []
            cited: list[int] = []
            for sentence in raw["sentences"]:
                text = _MARKER.sub("", str(sentence["text"])).strip()
                numbers = [int(n) for n in sentence["citations"]]
                if not text or not numbers:
                    return None
                sentences.append(cite(text, numbers))
                cited += [n for n in numbers if n not in cited]
            heading = str(raw["heading"]).strip()
            if not heading or not sentences:
                return None
            sections.append(Section(heading=heading, text=" ".join(sentences), citations=cited))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None
    return (str(headline).strip(), sections) if sections else None


def unsupported_sentences(
    sections: Sequence[Section],
    update: StoryUpdate,
    members: Sequence[tuple[Article, DedupVerdict]],
    config: GroundingConfig | None = None,
) -> list[str]:
    """Sentences whose citations do not support them (empty when the rewrite is grounded)."""
    config = config or GroundingConfig()
    by_id = {article.id: article for article, _ in members}
    vocab: dict[int, set[str]] = {}
    for source in update.sources:
        article = by_id.get(source.article_id)
        if article is not None:
            vocab[source.n] = set(content_words(f"{article.title}\n{article.text}"))
    failures = []
    for section in sections:
        for sentence in _sentences_with_citations(section.text):
            text, numbers = sentence
            words = set(content_words(text))
            if not numbers or any(n not in vocab for n in numbers):
                failures.append(text)
                continue
            if not words:
                continue
            union = set().union(*(vocab[n] for n in numbers))
            if len(words & union) / len(words) < config.min_support or any(
                len(words & vocab[n]) / len(words) < config.min_per_citation for n in numbers
            ):
                failures.append(text)
    return failures


def cite(sentence: str, numbers: Sequence[int]) -> str:
    """Put [n] markers before the sentence's final punctuation, as the story pages show them."""
    body = sentence.rstrip()
    end = ""
    while body and body[-1] in _FINAL:
        body, end = body[:-1], body[-1] + end
    return f"{body.rstrip()} {''.join(f'[{n}]' for n in numbers)}{end}"


def _sentences_with_citations(text: str) -> list[tuple[str, list[int]]]:
    """Split section text at citation runs: each sentence carries its [n] markers."""
    out = []
    for match in _CITED.finditer(text):
        numbers = [int(n) for n in re.findall(r"\[(\d+)\]", match.group(2))]
        out.append((match.group(1).strip(), numbers))
    return out


def apply_rewrite(
    update: StoryUpdate,
    members: Sequence[tuple[Article, DedupVerdict]],
    answer: str,
    config: GroundingConfig | None = None,
) -> StoryUpdate | None:
    """The update with the model's sections, or None when the answer is not grounded."""
    parsed = parse_sections(answer)
    if parsed is None:
        return None
    headline, sections = parsed
    if unsupported_sentences(sections, update, members, config):
        return None
    return replace(update, headline=headline or update.headline, sections=sections)
