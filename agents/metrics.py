"""Prometheus metrics of the worker: per-stage throughput and latency, dead letters, dups."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    """One registry per app, so several apps (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.processed = Counter(
            "storystream_stage_messages",
            "Messages processed by a stage.",
            ["stage"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "storystream_stage_batch_duration_seconds",
            "Time a stage spent on one batch.",
            ["stage"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.dead_letters = Counter(
            "storystream_dead_letters",
            "Messages sent to the dead-letter topic.",
            ["stage"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "storystream_dedup_verdicts",
            "Dedup verdicts by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.story_updates = Counter(
            "storystream_story_updates",
            "Story updates published.",
            registry=self.registry,
        )

    def observe_batch(self, stage: str, count: int, seconds: float) -> None:
        self.processed.labels(stage=stage).inc(count)
        self.batch_seconds.labels(stage=stage).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
