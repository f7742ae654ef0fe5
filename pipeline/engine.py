"""The in-process engine: every stage chained in one process, for replay, eval and tests."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipeline.assignment.assigner import ClusterConfig, StoryAssigner
from pipeline.common.errors import BadInput
from pipeline.dedup.index import DedupConfig, Deduplicator
from pipeline.normalization.normalize import NormalizeConfig, normalize, parse_raw
from pipeline.summaries.book import StoryBook
from pipeline.summaries.summarize import SummaryConfig, summarize_story
from schemas import Article, DedupVerdict, RawArticle, StoryAssignment, StoryUpdate

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
        outcome = Outcome(delivery=delivery)
        received = time.time() if received_at is None else received_at
        stage = "normalize"
        try:
            raw = message if isinstance(message, RawArticle) else parse_raw(message)
            article = normalize(raw, received_at=received, config=self.config.normalize)
            outcome.article = article
            stage = "dedup"
            verdict = self.deduplicator.check(article, delivery)
            outcome.verdict = verdict
            stage = "assign"
            assignment = self.assigner.assign(article, verdict, delivery)
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


def summarize_story_with(config: SummaryConfig):
    """``summarize_story`` bound to a configuration, in the shape the story book calls."""

    def run(
        story_id, members, *, version, previous, related, now, citations=None
    ) -> StoryUpdate:
        return summarize_story(
            story_id,
            members,
            version=version,
            previous=previous,
            related=related,
            now=now,
            config=config,
            citations=citations,
        )

    return run
