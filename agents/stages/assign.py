"""The assign agent: deduplicated articles → their story, on ``stories.assignments``."""

from __future__ import annotations

import time

import faust

from agents.batching import take_drained
from agents.runtime import StatefulStage, Storystream, delivery_of, event_context
from pipeline.assignment.assigner import StoryAssigner
from schemas import ARTICLES_DEDUPED, STORIES_ASSIGNMENTS, DedupedArticle


class AssignAgent:
    """Assigns each article to its story; the assigner's state lives in ``assign-state``."""

    def __init__(self, ss: Storystream, assigner: StatefulStage) -> None:
        self.ss = ss
        self.assigner = assigner

    @staticmethod
    def stage_object(ss: Storystream) -> StatefulStage:
        """The story assigner, rebuilt from its table after a rebalance.

        It reads back from the table what it let go (sleeping stories, old links), so its
        memory follows the live window of the stream, not its history.
        """
        config = ss.cluster_config
        table = ss.tables["assign-state"]
        return StatefulStage(lambda: StoryAssigner(config, lookup=table.get), table)

    def register(self) -> None:
        self.ss.app.agent(self.ss.topics[ARTICLES_DEDUPED], name="assign")(self.run)

    async def run(self, stream: faust.StreamT) -> None:
        ss = self.ss
        batch, within = ss.settings.batch_size, ss.settings.batch_within_seconds
        async for events in take_drained(stream, batch, within=within):
            started = time.perf_counter()
            stage = self.assigner.current()
            for event in events:
                try:
                    item = DedupedArticle.from_json(event.message.value)
                    assignment = stage.assign(
                        item.article, item.verdict, delivery_of(event), terms=item.terms
                    )
                except Exception as exc:  # noqa: BLE001
                    await ss.dead_letter("assign", f"{type(exc).__name__}: {exc}", event)
                    continue
                await ss.topics[STORIES_ASSIGNMENTS].send(
                    key=assignment.story_id.encode(), value=assignment.to_json()
                )
            # One partition feeds this stage: its state is written once per batch, after the
            # assignments went out (a crash in between replays the batch to the same answers).
            with event_context(events[-1]):
                self.assigner.flush()
            ss.metrics.observe_batch("assign", len(events), time.perf_counter() - started)
