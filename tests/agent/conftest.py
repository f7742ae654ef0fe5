"""Shared fixtures of the agent tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents.app import build_app
from agents.settings import Settings
from schemas import Article, DedupVerdict, StoryAssignment


def story_article(i: int, prefix: str, title: str, lede: str, more: str) -> StoryAssignment:
    """Story ``s-1``'s ``i``-th original article, from outlet ``o{i}``: ``lede`` (with the
    outlet named) and ``more`` are its two paragraphs."""
    article = Article(
        id=f"{prefix}{i}",
        url=f"https://o{i}.example/{prefix}",
        outlet=f"o{i}.example",
        title=title,
        text=f"{lede}, outlet {i} said.\n{more}",
        lang="en",
        published=1_700_000_000.0 + i,
        content_hash=f"h{i}",
    )
    verdict = DedupVerdict(article_id=article.id, kind="original")
    return StoryAssignment(story_id="s-1", article=article, verdict=verdict)


@pytest.fixture
def offline_app(tmp_path: Path) -> Callable[[], Any]:
    """Builds a worker's faust app configured for a broker nobody listens on."""

    def make() -> Any:
        settings = Settings.from_env(
            broker_url="kafka://127.0.0.1:1",
            store_url="memory://",
            data_dir=tmp_path,
            web_enabled=False,
        )
        return build_app(settings).app

    return make


@pytest.fixture
def offline_consumer(offline_app: Callable[[], Any]) -> Callable[[], Any]:
    """Builds such a worker's faust consumer (call it inside the test's loop)."""
    return lambda: offline_app().consumer
