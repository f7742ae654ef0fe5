"""POST /api/articles over a real local socket: whole bodies, limits, broker acknowledgements."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from tests.unit.web.test_web import Web, make_web


def article(n: int, size: int) -> dict:
    words = ("harbor bridge reopens after months of repairs " * (size // 46 + 1))[:size]
    return {"id": f"a{n}", "url": f"https://example.com/{n}", "title": "Bridge", "text": words}


async def post(web: Web, body: bytes):
    r = await web.client.post(
        "/api/articles", data=body, headers={"Content-Type": "application/json"}
    )
    return r.status, await r.json()


async def test_bodies_far_larger_than_one_socket_read_are_read_whole(tmp_path: Path):
    web = await make_web(tmp_path)
    try:
        for size in (70_000, 1_900_000):
            body = orjson.dumps(article(size, size))
            assert len(body) > 65_536
            status, answer = await post(web, body)
            assert status == 202, answer
            assert answer["keys"] == [f"a{size}"]
            assert web.sent[-1][0] == body
    finally:
        await web.client.close()


async def test_an_article_over_the_body_limit_is_413_not_a_json_error(tmp_path: Path):
    web = await make_web(tmp_path)
    try:
        status, answer = await post(web, orjson.dumps(article(1, 3_000_000)))
        assert status == 413
        assert "body over 2000000 bytes" in answer["error"]
        assert web.sent == []
        # a request over four times the limit is refused before it is read whole
        status, answer = await post(web, b"[" + b" " * 8_200_000 + b"]")
        assert status == 413 and "request body over" in answer["error"]
    finally:
        await web.client.close()


async def test_a_batch_of_a_thousand_articles_is_accepted_whole(tmp_path: Path):
    web = await make_web(tmp_path)
    try:
        batch = [article(n, 2_000) for n in range(1000)]
        status, answer = await post(web, orjson.dumps(batch))
        assert status == 202, answer
        assert answer["accepted"] == 1000
        assert [key for _, key in web.sent] == [f"a{n}" for n in range(1000)]
    finally:
        await web.client.close()


async def test_202_waits_for_the_broker_and_503_when_it_does_not_acknowledge(tmp_path: Path):
    web = await make_web(tmp_path, intake_ack_seconds=0.3)
    loop = asyncio.get_running_loop()
    pending: list[asyncio.Future] = []

    async def never_acknowledged(payload: bytes, key: str | None = None) -> asyncio.Future:
        pending.append(loop.create_future())
        return pending[-1]

    try:
        web.ss.send_raw = never_acknowledged  # type: ignore[method-assign]
        status, answer = await post(web, orjson.dumps(article(1, 100)))
        assert status == 503 and "did not acknowledge" in answer["error"]

        async def acknowledged(payload: bytes, key: str | None = None) -> asyncio.Future:
            done = loop.create_future()
            loop.call_later(0.05, done.set_result, None)
            return done

        web.ss.send_raw = acknowledged  # type: ignore[method-assign]
        status, answer = await post(web, orjson.dumps(article(2, 100)))
        assert status == 202

        web.ss.broker_health.reachable = False
        status, answer = await post(web, orjson.dumps(article(3, 100)))
        assert status == 503 and "does not answer" in answer["error"]
        r = await web.get("/readyz")
        assert r.status == 503
    finally:
        await web.client.close()
