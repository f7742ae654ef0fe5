"""The optional abstractive backend, against a local fake chat-completions server."""

from __future__ import annotations

import orjson
import pytest
from aiohttp import web

from agents.abstractive import AbstractiveBackend
from pipeline.summaries.grounding import apply_rewrite, cite, unsupported_sentences
from pipeline.summaries.summarize import summarize_story
from schemas import Article, DedupVerdict, Section

TEXTS = {
    "a1": (
        "Harbor City opened its new light rail line on Saturday after six years of work.\n"
        "Mayor Dana Ruiz rode the first train from Pier Station to the university campus.\n"
        "The line has nine stations and cost 1.2 billion dollars."
    ),
    "a2": (
        "Thousands of riders tried the Harbor City light rail line on its opening day.\n"
        "Officials said trains will run every eight minutes during rush hour.\n"
        "The nine-station line links Pier Station with the university campus."
    ),
    "a3": (
        "Businesses near Pier Station reported brisk sales as the light rail opened.\n"
        "Mayor Dana Ruiz said the line would cut commutes across Harbor City.\n"
        "Transit planners expect 40,000 daily riders within two years."
    ),
}


def _members():
    members = []
    for i, (article_id, text) in enumerate(TEXTS.items()):
        article = Article(
            id=article_id,
            url=f"https://o{i}.example/rail",
            outlet=f"o{i}.example",
            title="Harbor City opens light rail line",
            text=text,
            lang="en",
            published=1_760_000_000.0 + i * 600,
            content_hash=article_id,
        )
        members.append((article, DedupVerdict(article_id=article_id, kind="original")))
    return members


@pytest.fixture
def extractive():
    members = _members()
    update = summarize_story("s-rail", members, version=1, previous=None, now=1_760_010_000.0)
    return update, members


def _n_of(update, article_id: str) -> int:
    return next(s.n for s in update.sources if s.article_id == article_id)


def _answer(update, *, grounded: bool = True) -> str:
    n1, n3 = _n_of(update, "a1"), _n_of(update, "a3")
    opening = {"text": "Harbor City opened its light rail line on Saturday.", "citations": [n1]}
    second = (
        {"text": "Mayor Dana Ruiz rode the first train to the campus.", "citations": [n1, n3]}
        if grounded
        else {"text": "The governor cancelled the subway tunnel project.", "citations": [n3]}
    )
    return orjson.dumps(
        {
            "headline": "Harbor City light rail opens",
            "sections": [
                {"heading": "Opening day", "sentences": [opening]},
                {"heading": "The mayor's ride", "sentences": [second]},
            ],
        }
    ).decode()


def test_grounded_rewrite_is_applied_with_markers(extractive):
    update, members = extractive
    rewritten = apply_rewrite(update, members, _answer(update))
    assert rewritten is not None
    assert rewritten.headline == "Harbor City light rail opens"
    assert [s.heading for s in rewritten.sections] == ["Opening day", "The mayor's ride"]
    n1 = _n_of(update, "a1")
    assert (
        rewritten.sections[0].text == f"Harbor City opened its light rail line on Saturday [{n1}]."
    )
    assert rewritten.article_count == update.article_count


def test_unsupported_sentence_rejects_the_rewrite(extractive):
    update, members = extractive
    assert apply_rewrite(update, members, _answer(update, grounded=False)) is None
    assert apply_rewrite(update, members, "not json") is None
    assert (
        apply_rewrite(update, members, '{"sections": [{"heading": "x", "sentences": []}]}') is None
    )


def test_citation_of_an_unlisted_source_is_unsupported(extractive):
    update, members = extractive
    bad = Section(heading="h", text=cite("Harbor City opened its light rail line", [99]))
    assert unsupported_sentences([bad], update, members)


async def _serve(answer_for):
    async def completions(request: web.Request) -> web.Response:
        body = await request.json()
        assert body["messages"][0]["role"] == "system"
        content = answer_for(body)
        if content is None:
            return web.Response(status=500, text="boom")
        return web.json_response({"choices": [{"message": {"content": content}}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/v1"


async def test_backend_uses_a_grounded_answer_and_falls_back_otherwise(extractive):
    update, members = extractive
    replies = iter([_answer(update), _answer(update, grounded=False), None])
    runner, url = await _serve(lambda body: next(replies))
    try:
        backend = AbstractiveBackend(url, "fake-model", timeout=5)
        accepted = await backend.refine(update, members)
        rejected = await backend.refine(update, members)
        failed = await backend.refine(update, members)
    finally:
        await runner.cleanup()
    assert accepted.headline == "Harbor City light rail opens"
    assert rejected.sections == update.sections
    assert failed.sections == update.sections
    assert backend.outcomes == {"accepted": 1, "rejected": 1, "failed": 1}
