"""Optional abstractive rewrite of story summaries through an OpenAI-compatible endpoint."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import aiohttp

from pipeline.summaries.grounding import GroundingConfig, apply_rewrite, build_messages
from schemas import Article, DedupVerdict, StoryUpdate

log = logging.getLogger(__name__)


class AbstractiveBackend:
    """Asks a chat-completions endpoint for a rewrite and keeps it only when it is grounded.

    Any failure (timeout, HTTP error, an answer that is not the asked JSON, a sentence whose
    citations do not support it) leaves the extractive summary in place; ``outcomes`` counts
    what happened, for the metrics.
    """

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key: str = "",
        timeout: float = 20.0,
        grounding: GroundingConfig | None = None,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.grounding = grounding or GroundingConfig()
        self.outcomes: dict[str, int] = {"accepted": 0, "rejected": 0, "failed": 0}

    async def refine(
        self, update: StoryUpdate, members: Sequence[tuple[Article, DedupVerdict]]
    ) -> StoryUpdate:
        """The grounded rewrite of ``update``, or ``update`` itself."""
        if update.merged_into or not update.sections:
            return update
        body = {
            "model": self.model,
            "messages": build_messages(update, members, self.grounding),
            "temperature": 0,
            "response_format": {"type": "json_object"},
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(self.endpoint, json=body, headers=headers) as response,
            ):
                response.raise_for_status()
                data = await response.json(content_type=None)
            answer = data["choices"][0]["message"]["content"]
        except Exception as exc:  # noqa: BLE001 - any failure falls back to extractive
            self.outcomes["failed"] += 1
            log.warning("abstractive backend failed for %s: %s", update.story_id, exc)
            return update
        rewritten = apply_rewrite(update, members, str(answer), self.grounding)
        if rewritten is None:
            self.outcomes["rejected"] += 1
            log.info("abstractive rewrite of %s rejected: not grounded", update.story_id)
            return update
        self.outcomes["accepted"] += 1
        return rewritten
