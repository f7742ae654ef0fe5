"""Property test of the HTTP API from its own OpenAPI document: generated requests, no 5xx."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web as aioweb
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from agents.app import build_app
from agents.broker import free_port
from agents.settings import Settings
from agents.web import feed_of
from agents.web.openapi import openapi_document
from tests.unit.web.test_web import make_assignment, make_update, xss_update


class ServerThread:
    """The app's aiohttp server on 127.0.0.1 in a thread of its own (calls here are blocking)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.sent: list[bytes] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.started.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        ss = build_app(
            Settings(
                broker_url=f"kafka://127.0.0.1:{free_port()}",
                store_url="memory://",
                data_dir=self.data_dir,
                web_port=self.port,
                max_body_bytes=20_000,
            )
        )

        async def send_raw(payload: bytes, key: str | None = None) -> None:
            self.sent.append(payload)

        ss.send_raw = send_raw  # type: ignore[method-assign]

        async def send_feed(url: str) -> None:
            self.sent.append(url.encode())

        ss.send_feed = send_feed  # type: ignore[method-assign]
        model = feed_of(ss).model
        model.apply_update(make_update("s-harbour", version=1))
        model.apply_update(make_update("s-harbour", version=2, count=3))
        model.apply_update(xss_update())
        model.apply_assignment(make_assignment("a1", "s-harbour"))
        self.runner = aioweb.AppRunner(ss.app.web.web_app)
        await self.runner.setup()
        await aioweb.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def start(self) -> ServerThread:
        self.thread.start()
        if not self.started.wait(30):
            raise RuntimeError("API server did not start")
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path_factory.mktemp("api")).start()
    yield server
    server.stop()


# The event stream never ends by itself, and /readyz is 503 by design on a server that never
# joined a broker; their own tests cover them.
schema = (
    schemathesis.openapi.from_dict(openapi_document())
    .exclude(path="/api/updates")
    .exclude(path="/readyz")
)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)
def test_api_answers_generated_requests_without_server_errors(case, api_server):
    response = case.call(base_url=api_server.base_url, timeout=10)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


def test_known_ids_are_found_by_the_same_server(api_server: ServerThread):
    import httpx

    for path in ("/api/stories/s-harbour", "/api/articles/a1", "/api/stories/s-xss/versions"):
        assert httpx.get(api_server.base_url + path).status_code == 200


def test_generated_requests_reached_the_intake(api_server: ServerThread):
    # Runs after the property test: some generated articles were valid and queued.
    assert api_server.sent
