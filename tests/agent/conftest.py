"""Shared fixtures of the agent tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents.app import build_app
from agents.settings import Settings


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
