"""Work done in a helper process equals the inline work; a dead helper is replaced, and one
failing item spoils no other."""

from __future__ import annotations

import os
import signal
from functools import partial

from agents.helpers import HelperPool
from pipeline.common.errors import BadInput
from pipeline.engine import summarize_request
from pipeline.normalization.normalize import normalize_message
from pipeline.summaries.book import StoryBook
from pipeline.summaries.summarize import SummaryConfig
from tests.agent.conftest import story_article


def _request() -> dict:
    book = StoryBook({}, {}, {})
    for i in range(3):
        book.add(
            story_article(
                i,
                "p",
                "Harbor bridge reopens after eight months of repairs",
                "The harbor bridge reopened on Monday after eight months of repairs",
                "Officials expect traffic to return to normal within a week.",
            )
        )
    request = book.summary_request("s-1", now=1_700_000_100.0)
    assert isinstance(request, dict)
    return request


async def test_a_helper_process_gives_the_inline_summary_and_survives_a_dead_helper():
    request = _request()
    summarize = partial(summarize_request, SummaryConfig())
    inline = HelperPool(processes=0)
    await inline.start()
    expected = [u.to_json() for u in await inline.each(summarize, [request, request])]
    await inline.stop()
    pool = HelperPool(processes=1)
    await pool.start()
    try:
        assert pool.executor is not None
        assert [u.to_json() for u in await pool.each(summarize, [request, request])] == expected
        for pid in list(pool.executor._processes):  # the helper dies
            os.kill(pid, signal.SIGKILL)
        again = await pool.each(summarize, [request, request])  # inline, then a new helper
        assert [u.to_json() for u in again] == expected
        assert [u.to_json() for u in await pool.each(summarize, [request, request])] == expected
        failed = await pool.each(summarize, [{**request, "members": []}, request])
        assert isinstance(failed[0], BadInput) and failed[1].to_json() == expected[0]
        normalize = partial(normalize_message, received_at=1_700_000_000.0)
        good = b'{"id": "n1", "url": "https://x.example/n1", "text": "Bridge reopens today."}'
        article, bad = await pool.each(normalize, [good, b"{not json"])
        assert article.id == "n1" and isinstance(bad, BadInput) and bad.reason
    finally:
        await pool.stop()
    assert pool.executor is None


def _blas_threads(_: object) -> list[int]:
    """The thread count of every BLAS library loaded in the calling process."""
    from threadpoolctl import threadpool_info

    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


async def test_helpers_run_their_blas_calls_on_one_thread():
    """Idle BLAS threads spin after each call: a helper keeps them to one, as it starts."""
    pool = HelperPool(processes=1)
    await pool.start()
    try:
        [counts] = await pool.each(_blas_threads, [None])
    finally:
        await pool.stop()
    assert counts and all(n == 1 for n in counts)  # numpy's and scipy's, both loaded
