"""The normalize agent: ``articles.raw`` → clean Article on ``articles.normalized``."""

from __future__ import annotations

import time

import faust

from agents.batching import take_drained
from agents.runtime import Storystream
from pipeline.common.errors import BadInput
from pipeline.normalization.normalize import normalize, parse_raw
from schemas import ARTICLES_NORMALIZED, ARTICLES_RAW


class NormalizeAgent:
    """Parses and normalizes raw articles a batch at a time; bad input is dead-lettered."""

    def __init__(self, ss: Storystream) -> None:
        self.ss = ss

    def register(self) -> None:
        self.ss.app.agent(self.ss.topics[ARTICLES_RAW], name="normalize")(self.run)

    async def run(self, stream: faust.StreamT) -> None:
        ss = self.ss
        config = ss.normalize_config
        batch, within = ss.settings.batch_size, ss.settings.batch_within_seconds
        async for events in take_drained(stream, batch, within=within):
            started = time.perf_counter()
            for event in events:
                try:
                    raw = parse_raw(event.message.value)
                    article = normalize(raw, received_at=time.time(), config=config)
                except BadInput as exc:
                    await ss.dead_letter("normalize", exc.reason, event)
                    continue
                except Exception as exc:  # noqa: BLE001 - the next message must still run
                    await ss.dead_letter("normalize", f"{type(exc).__name__}: {exc}", event)
                    continue
                # Keyed by canonical url: every version and resend of an article meets at
                # one dedup home partition.
                await ss.topics[ARTICLES_NORMALIZED].send(
                    key=(article.url or article.id).encode(), value=article.to_json()
                )
            ss.metrics.observe_batch("normalize", len(events), time.perf_counter() - started)
