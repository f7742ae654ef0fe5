"""The summarize agent and its refresh timer: assignments → story versions on ``stories.updates``.

The agent records each assignment in the story book and marks the story for a refresh; the
timer refreshes the stories whose changes went quiet (debounced) and publishes their next
version. Both share the book under one lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial

import faust

from agents.batching import take_drained
from agents.runtime import PartitionEvent, Storystream, event_context
from pipeline.engine import summarize_request
from pipeline.summaries.book import RefreshSchedule, StoryBook
from schemas import STORIES_ASSIGNMENTS, STORIES_UPDATES, StoryAssignment, StoryUpdate

log = logging.getLogger(__name__)


class SummarizeAgent:
    """Keeps the story book and publishes each changed story's next version."""

    def __init__(self, ss: Storystream) -> None:
        self.ss = ss
        settings, tables = ss.settings, ss.tables
        self.book = StoryBook(tables["story-members"], tables["story-index"], tables["story-meta"])
        self.refreshes = RefreshSchedule(
            tables["story-pending"],
            quiet=settings.summary_debounce_seconds,
            longest=settings.summary_max_wait_seconds,
            lead=True,
        )
        self.lock = asyncio.Lock()  # the agent and the publishing timer share the book
        self.tick = min(0.25, max(0.05, settings.summary_debounce_seconds / 4))

    def register(self) -> None:
        ss = self.ss
        ss.app.agent(ss.topics[STORIES_ASSIGNMENTS], name="summarize")(self.run)
        ss.app.timer(self.tick)(self.refresh_tick)
        ss.publish_due_summaries = self.publish_due

    async def run(self, stream: faust.StreamT) -> None:
        ss = self.ss
        batch, within = max(ss.settings.batch_size, 1000), ss.settings.batch_within_seconds
        async for events in take_drained(stream, batch, within=within):
            started = time.perf_counter()
            async with self.lock:
                now = time.time()
                for event in events:
                    with event_context(event):
                        try:
                            assignment = StoryAssignment.from_json(event.message.value)
                            changed = self.book.add(assignment)
                        except Exception as exc:  # noqa: BLE001
                            await ss.dead_letter("summarize", f"{type(exc).__name__}: {exc}", event)
                            continue
                        for story_id in changed:
                            self.refreshes.touch(
                                event.message.partition, story_id, now, assignment.related
                            )
                    for listener in ss.assignment_listeners:
                        listener(assignment)
            ss.metrics.observe_batch("summarize", len(events), time.perf_counter() - started)
            # A new story's first version goes out now rather than at the next tick; the
            # changes still waiting are then recorded, before the batch is acknowledged.
            await self.publish_due(ss.ownership.partitions_of(STORIES_ASSIGNMENTS), time.time())
            async with self.lock:
                for partition in self.refreshes.staged_partitions():
                    with event_context(PartitionEvent(STORIES_ASSIGNMENTS, partition)):
                        self.refreshes.persist(partition)

    async def publish_due(self, partitions: set[int], now: float) -> None:
        """Refresh and publish the stories of ``partitions`` whose changes have gone quiet.

        The due stories are summarized together (one round trip to the summary helper),
        their updates sent together, and each version recorded once the broker has it: a
        crash in between republishes the same version instead of losing it.
        """
        async with self.lock:
            due = self.refreshes.due(now, partitions)
            if not due:
                return
            updates = await self.next_versions([(story, related) for _, story, related in due])
            sent = []
            for (partition, story_id, _), update in zip(due, updates, strict=True):
                if update is None:  # unchanged, or its summary failed: until its next change
                    self.refreshes.done(partition, story_id, now)
                    continue
                try:
                    ack = await self.ss.topics[STORIES_UPDATES].send(
                        key=story_id.encode(), value=update.to_json()
                    )
                except Exception as exc:  # noqa: BLE001 - kept pending, tried next tick
                    log.warning("update of story %s not published: %r", story_id, exc)
                    continue
                sent.append((partition, update, ack))
            for partition, update, ack in sent:
                # Table writes go to the changelog partition of the assignments that touched
                # the story, as if made while processing one of them.
                with event_context(PartitionEvent(STORIES_ASSIGNMENTS, partition)):
                    try:
                        await ack
                    except Exception as exc:  # noqa: BLE001 - kept pending, tried next tick
                        log.warning("update of story %s not published: %r", update.story_id, exc)
                        continue
                    self.book.commit(update)
                    self.ss.metrics.story_updates.inc()
                    self.refreshes.done(partition, update.story_id, now)

    async def refresh_tick(self) -> None:
        app = self.ss.app
        if app.rebalancing or app.in_recovery:
            return
        mine = self.ss.ownership.partitions_of(STORIES_ASSIGNMENTS)
        await self.publish_due(mine, time.time())

    async def next_versions(self, stories: list[tuple[str, list[str]]]) -> list[StoryUpdate | None]:
        """Each story's next version: None when unchanged or when its summary failed (a
        failing summary must not block the others; it is tried again on the next change)."""
        ss, book, now = self.ss, self.book, time.time()
        out: list[StoryUpdate | None] = []
        requests: dict[int, dict] = {}
        for story_id, related in stories:
            try:
                request = book.summary_request(
                    story_id, now=now, related=book.related_stories(related)
                )
            except Exception:  # noqa: BLE001
                log.exception("summary of story %s failed; retried on its next change", story_id)
                request = None
            if isinstance(request, dict):  # a summary to compute, not a skip or a merge
                requests[len(out)] = request
                request = None
            out.append(request)
        computed = await ss.helpers.each(
            partial(summarize_request, ss.summary_config), list(requests.values())
        )
        for i, result in zip(requests, computed, strict=True):
            if isinstance(result, Exception):
                log.error(
                    "summary of story %s failed; retried on its next change: %r",
                    requests[i]["story_id"],
                    result,
                )
                continue
            out[i] = result
        if ss.abstractive is not None:
            for i, update in enumerate(out):
                if update is not None:
                    try:
                        members = book.story_members(update.story_id)
                        out[i] = await ss.abstractive.refine(update, members)
                    except Exception:  # noqa: BLE001 - the extractive version stands
                        log.exception("rewrite of story %s failed", update.story_id)
        return out
