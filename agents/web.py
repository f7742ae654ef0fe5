"""Web views on the worker's aiohttp server: health, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from agents.app import Storystream


def is_ready(ss: Storystream) -> bool:
    """Ready when table recovery has completed and the worker owns partitions."""
    app = ss.app
    recovery = app.tables.recovery
    consumer = app.consumer
    return bool(
        recovery.completed.is_set()
        and not app.rebalancing
        and consumer is not None
        and consumer.assignment()
    )


def register_views(ss: Storystream) -> None:
    """Attach the health and metrics views to the app's web server."""
    app = ss.app

    @app.page("/livez")
    class Livez(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "alive"})

    @app.page("/readyz")
    class Readyz(View):
        async def get(self, request: Request) -> Response:
            ready = is_ready(ss)
            return self.json(
                {"status": "ready" if ready else "starting"}, status=200 if ready else 503
            )

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(ss.metrics.render(), content_type=CONTENT_TYPE_LATEST)
