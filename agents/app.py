"""The faust app: topics bound to schemas, changelogged tables and one thin agent per stage.

``build_app`` declares the topics and tables, builds the worker context (:class:`Storystream`)
and the stage objects, and registers each stage's agents (``agents.stages``) and the web side
(``agents.web``). The agents themselves live in their own modules.
"""

from __future__ import annotations

from typing import Any

from agents.abstractive import AbstractiveBackend
from agents.faust_app import (
    StorystreamApp,
    app_config,
    bound_fetch_wait,
    fetched_highwaters,
    keep_unprocessed_unacked,
    store_options,
)
from agents.fetch_guard import hand_back_undelivered_records
from agents.health import BrokerHealth
from agents.helpers import HelperPool
from agents.metrics import Metrics
from agents.offsets import GroupOffsets, bootstrap_of
from agents.runtime import Storystream, declare_topic
from agents.settings import Settings
from agents.stages.assign import AssignAgent
from agents.stages.dedup import DedupAgents
from agents.stages.dedup_single import SingleDedupAgent
from agents.stages.feeds import FeedAgent
from agents.stages.listeners import ListenerAgents
from agents.stages.normalize import NormalizeAgent
from agents.stages.stalls import StallTimer
from agents.stages.summarize import SummarizeAgent
from agents.web import register_views
from pipeline.assignment.assigner import ClusterConfig
from pipeline.dedup.index import DedupConfig
from pipeline.normalization.normalize import NormalizeConfig
from pipeline.summaries.summarize import SummaryConfig
from schemas import (
    ARTICLES_DEDUPED,
    ARTICLES_NORMALIZED,
    ARTICLES_RAW,
    DEADLETTER,
    DEDUP_BANDS,
    DEDUP_MATCHES,
    FEEDS,
    STORIES_ASSIGNMENTS,
    STORIES_UPDATES,
)

DAY = 86400.0
TABLES = (  # name, and whether it is partitioned like the dedup topics or the story topics
    ("dedup-index", "dedup"),
    ("dedup-homes", "dedup"),
    ("dedup-bands", "dedup"),
    ("assign-state", "single"),
    ("story-members", "stories"),
    ("story-index", "stories"),
    ("story-meta", "stories"),
    ("story-pending", "stories"),
    ("feed-state", "feeds"),
    ("feed-seen", "feeds"),
)


def build_app(
    settings: Settings | None = None, *, feeds_once: bool = False, **faust_overrides: Any
) -> Storystream:
    """Create the faust app, its topics, tables and the stage agents (``feeds_once``: the
    feed fetcher polls every feed a single time, for ``demo --feeds --once``)."""
    settings = settings or Settings.from_env()
    app = StorystreamApp(settings.app_id, **{**app_config(settings), **faust_overrides})
    keep_unprocessed_unacked(app)
    bound_fetch_wait(app, settings.fetch_wait)
    if settings.embedded:
        fetched_highwaters(app, bootstrap_of(settings.broker_url))
    hand_back_undelivered_records(app)

    dedup_parts, story_parts = settings.dedup_partitions, settings.story_partitions
    topics = {
        ARTICLES_RAW: declare_topic(app, ARTICLES_RAW, partitions=settings.raw_partitions),
        # Dedup homes (keyed by canonical url) and band owners scale out together: the three
        # dedup topics share one partition count, so a worker gets the same numbers of each.
        ARTICLES_NORMALIZED: declare_topic(app, ARTICLES_NORMALIZED, partitions=dedup_parts),
        DEDUP_BANDS: declare_topic(app, DEDUP_BANDS, partitions=dedup_parts),
        DEDUP_MATCHES: declare_topic(app, DEDUP_MATCHES, partitions=dedup_parts),
        # assign holds the global story index: one ordered partition (see README).
        ARTICLES_DEDUPED: declare_topic(app, ARTICLES_DEDUPED, partitions=1),
        STORIES_ASSIGNMENTS: declare_topic(app, STORIES_ASSIGNMENTS, partitions=story_parts),
        STORIES_UPDATES: declare_topic(app, STORIES_UPDATES, partitions=story_parts),
        DEADLETTER: declare_topic(app, DEADLETTER, partitions=1),
        FEEDS: declare_topic(app, FEEDS, partitions=settings.feed_partitions),
    }
    partitions = {
        "dedup": dedup_parts,
        "single": 1,
        "stories": story_parts,
        "feeds": settings.feed_partitions,
    }
    # bytes values get the raw codec: the stages' own encodings are stored as they are.
    tables = {
        name: app.Table(
            name,
            default=None,
            partitions=partitions[kind],
            key_type=str,
            value_type=bytes,
            options=store_options(settings),
        )
        for name, kind in TABLES
    }
    ss = Storystream(
        settings=settings,
        app=app,
        topics=topics,
        tables=tables,
        metrics=Metrics(),
        normalize_config=NormalizeConfig(max_body_bytes=settings.max_body_bytes),
        dedup_config=(
            DedupConfig()
            if settings.dedup_window_days is None
            else DedupConfig(window_seconds=settings.dedup_window_days * DAY)
        ),
        cluster_config=(
            ClusterConfig()
            if settings.story_dormant_days is None
            else ClusterConfig(dormant_after_seconds=settings.story_dormant_days * DAY)
        ),
        summary_config=SummaryConfig(),
        group_offsets=GroupOffsets(
            bootstrap_of(settings.broker_url), settings.app_id, fetched_ends=settings.embedded
        ),
        broker_health=BrokerHealth(bootstrap_of(settings.broker_url)),
    )
    app.service(ss.broker_health)
    ss.helpers = HelperPool(settings.helper_processes)
    app.service(ss.helpers)
    if settings.llm_url:
        ss.abstractive = AbstractiveBackend(
            settings.llm_url,
            settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout_seconds,
        )

    # One dedup partition decides in place; several run the home and band-owner protocol.
    dedup: SingleDedupAgent | DedupAgents
    if dedup_parts == 1:
        index = SingleDedupAgent.stage_object(ss)
        dedup = SingleDedupAgent(ss, index)
        ss.ownership.rebuilt.append(index)
    else:
        homes, owners = DedupAgents.stage_objects(ss)
        dedup = DedupAgents(ss, homes, owners)
        ss.ownership.rebuilt += [homes, owners]
    assigner = AssignAgent.stage_object(ss)
    ss.ownership.rebuilt.append(assigner)

    async def rebuild_after_rebalance(sender: Any, assigned: Any, **kwargs: Any) -> None:
        ss.ownership.assigned(assigned)

    app.on_partitions_assigned.connect(rebuild_after_rebalance)

    StallTimer(ss).register()
    NormalizeAgent(ss).register()
    dedup.register()
    AssignAgent(ss, assigner).register()
    SummarizeAgent(ss).register()
    ListenerAgents(ss).register()
    FeedAgent(ss, once=feeds_once).register()
    register_views(ss)
    return ss
