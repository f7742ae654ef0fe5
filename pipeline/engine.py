"""The in-process engine: every stage chained in one process, for replay, eval and tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from pipeline.assignment.assigner import ClusterConfig, StoryAssigner, article_terms
from pipeline.common.errors import BadInput
from pipeline.dedup.index import DedupConfig, Deduplicator, sign_articles
from pipeline.normalization.normalize import NormalizeConfig, normalize_message
from pipeline.summaries.book import StoryBook
from pipeline.summaries.summarize import SummaryConfig, summarize_story
from schemas import (
    Article,
    ArticleTerms,
    DedupVerdict,
    RawArticle,
    StoryAssignment,
    StoryUpdate,
)

EXPIRE_EVERY = 256
"""Articles between two sweeps of the dedup index for entries older than its window."""


@dataclass(frozen=True)
class EngineConfig:
    """Tuning values of every stage; the defaults are the project's one configuration."""

    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    summary: SummaryConfig = field(default_factory=SummaryConfig)


@dataclass
class Outcome:
    """What the pipeline made of one input message."""

    delivery: str
    article: Article | None = None
    verdict: DedupVerdict | None = None
    assignment: StoryAssignment | None = None
    failed_stage: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed_stage is None


@dataclass
class Prepared:
    """What the stateless stages make of one message: the article, its MinHash signature and
    band keys, and its term statistics; or the stage that failed and why. Picklable, so
    several processes can prepare while one applies."""

    article: Article | None = None
    signature: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    terms: ArticleTerms | None = None
    failed_stage: str | None = None
    reason: str | None = None


def prepare(message: bytes | RawArticle, received_at: float, config: EngineConfig) -> Prepared:
    """normalize, sign and describe one raw message; needs no state."""
    return prepare_many([message], received_at, config)[0]


def prepare_many(
    messages: Sequence[bytes | RawArticle], received_at: float, config: EngineConfig
) -> list[Prepared]:
    """:func:`prepare` for a batch: the MinHash signatures are computed in one call."""
    out: list[Prepared] = []
    normalized: list[int] = []
    for message in messages:
        try:
            article = normalize_message(message, received_at=received_at, config=config.normalize)
        except BadInput as exc:
            out.append(Prepared(failed_stage="normalize", reason=exc.reason))
            continue
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the run
            out.append(Prepared(failed_stage="normalize", reason=f"{type(exc).__name__}: {exc}"))
            continue
        normalized.append(len(out))
        out.append(Prepared(article=article))
    if normalized:
        articles = [out[i].article for i in normalized]
        try:
            values, sizes, keys = sign_articles(articles, config.dedup)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - sign one by one to find the bad one
            if len(normalized) == 1:
                out[normalized[0]] = Prepared(
                    failed_stage="dedup", reason=f"{type(exc).__name__}: {exc}"
                )
                return out
            for i in normalized:
                out[i] = prepare_many([messages[i]], received_at, config)[0]
            return out
        for row, i in enumerate(normalized):
            item = out[i]
            assert item.article is not None
            item.signature = (values[row : row + 1], sizes[row : row + 1], keys[row : row + 1])
            try:
                item.terms = article_terms(item.article, config.cluster)
            except Exception as exc:  # noqa: BLE001
                out[i] = Prepared(failed_stage="assign", reason=f"{type(exc).__name__}: {exc}")
    return out


class Engine:
    """normalize -> dedup -> assign -> story book, in one process and in input order.

    Summaries are refreshed on demand (:meth:`refresh`), so a replay can publish only the
    final version of each story while the streaming path refreshes after every burst.
    """

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.deduplicator = Deduplicator(self.config.dedup)
        self.assigner = StoryAssigner(self.config.cluster)
        self.book = StoryBook.in_memory()
        self._dirty: dict[str, None] = {}
        self._clock = 0.0
        self._processed = 0

    def process(
        self,
        message: bytes | RawArticle,
        delivery: str,
        *,
        received_at: float | None = None,
    ) -> Outcome:
        """Run one raw message through every stage; bad input yields a failed Outcome."""
        received = time.time() if received_at is None else received_at
        return self.apply(prepare(message, received, self.config), delivery)

    def apply(self, prepared: Prepared, delivery: str) -> Outcome:
        """The stateful stages (dedup, assign, the story book) for one prepared message."""
        outcome = Outcome(delivery=delivery)
        if prepared.failed_stage is not None:
            outcome.failed_stage, outcome.reason = prepared.failed_stage, prepared.reason
            return outcome
        article = prepared.article
        assert article is not None and prepared.signature is not None
        outcome.article = article
        stage = "dedup"
        try:
            values, sizes, keys = prepared.signature
            verdict = self.deduplicator.check_signed([(article, delivery)], values, sizes, keys)[0]
            outcome.verdict = verdict
            stage = "assign"
            terms = prepared.terms if verdict.counts else None
            assignment = self.assigner.assign(article, verdict, delivery, terms=terms)
            outcome.assignment = assignment
            stage = "summarize"
            for story_id in self.book.add(assignment):
                self._dirty[story_id] = None
            self._clock = max(self._clock, article.published)
            self._processed += 1
            if self._processed % EXPIRE_EVERY == 0:
                self.deduplicator.expire(self._clock)
        except BadInput as exc:
            outcome.failed_stage, outcome.reason = stage, exc.reason
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the run
            outcome.failed_stage, outcome.reason = stage, f"{type(exc).__name__}: {exc}"
        return outcome

    @property
    def changed_stories(self) -> int:
        """How many stories changed since their last refresh."""
        return len(self._dirty)

    def refresh(self, story_ids: Iterable[str] | None = None) -> list[StoryUpdate]:
        """Publish a new version of every changed story (or of the given ones)."""
        ids = list(self._dirty) if story_ids is None else list(story_ids)
        updates = []
        summarize = summarize_story_with(self.config.summary)
        for story_id in ids:
            update = self.book.refresh(
                story_id,
                summarize,
                now=self._clock,
                related=self.book.related_stories(self.assigner.related(story_id)),
            )
            self._dirty.pop(story_id, None)
            if update is not None:
                updates.append(update)
        return updates


def summarize_request(config: SummaryConfig, request: Mapping[str, Any]) -> StoryUpdate:
    """``summarize_story`` with ``config`` for one ``StoryBook.summary_request``."""
    return summarize_story(config=config, **request)


def summarize_story_with(config: SummaryConfig) -> Callable[..., StoryUpdate]:
    """``summarize_story`` bound to a configuration, in the shape the story book calls."""
    return partial(summarize_story, config=config)
