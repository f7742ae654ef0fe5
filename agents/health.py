"""Whether the broker answers: the readiness probe and the article intake follow it.

A worker whose broker died keeps its partition assignment (the consumer only retries), so
readiness cannot be read off the consumer. :class:`BrokerHealth` asks the broker for its
cluster metadata, a real Kafka-protocol round trip, every ``interval`` seconds: a broker that is
gone, paused or unreachable fails it within ``timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka.client import AIOKafkaClient
from mode import Service

log = logging.getLogger(__name__)


class BrokerHealth(Service):
    """Tracks whether the broker answers a metadata request.

    ``reachable`` turns False after ``failures`` checks in a row fail and True again after one
    succeeds; each change is logged once. Until the first check it is True, so a worker that
    is starting is judged by the rest of its readiness.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        interval: float = 1.0,
        timeout: float = 2.0,
        failures: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bootstrap = bootstrap
        self.interval = interval
        self.timeout = timeout
        self.failures = failures
        self.reachable = True
        self.failed = 0
        self.since = time.time()
        self._client: AIOKafkaClient | None = None

    async def check(self) -> bool:
        """One metadata round trip within ``timeout``."""
        try:
            if self._client is None:
                client = AIOKafkaClient(
                    bootstrap_servers=self.bootstrap,
                    request_timeout_ms=int(self.timeout * 1000),
                    client_id="storystream-health",
                )
                try:
                    await asyncio.wait_for(client.bootstrap(), self.timeout)
                except BaseException:
                    await client.close()
                    raise
                self._client = client
            await asyncio.wait_for(self._client.fetch_all_metadata(), self.timeout)
            return True
        except Exception:  # noqa: BLE001 - every failure means "not answering"
            return False

    def record(self, ok: bool) -> None:
        """Count one check's result and log a change of state once."""
        if ok:
            self.failed = 0
            if not self.reachable:
                log.warning(
                    "broker %s answers again after %.0f s", self.bootstrap, time.time() - self.since
                )
                self.reachable, self.since = True, time.time()
            return
        self.failed += 1
        if self.reachable and self.failed >= self.failures:
            log.error(
                "broker %s does not answer: not ready, article intake answers 503 until it does",
                self.bootstrap,
            )
            self.reachable, self.since = False, time.time()

    @Service.task
    async def _watch(self) -> None:
        while not self.should_stop:
            self.record(await self.check())
            await self.sleep(self.interval)

    async def on_stop(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                await asyncio.wait_for(client.close(), self.timeout)
            except Exception as exc:  # noqa: BLE001 - closing a client of a dead broker
                log.debug("health client not closed cleanly: %r", exc)
