"""Records decode from JSON with their declared types, and say where a payload is wrong."""

from __future__ import annotations

import orjson
import pytest

from schemas.records import (
    Article,
    ArticleTerms,
    DedupedArticle,
    DedupVerdict,
    SchemaError,
)


def _article(**over: object) -> dict:
    data = {
        "id": "a1",
        "url": None,
        "outlet": "example.org",
        "title": "Harbour bridge reopens",
        "text": "The bridge reopened on Monday.",
        "lang": "en",
        "published": 1_700_000_000,
    }
    data.update(over)
    return data


def test_a_deduped_article_round_trips() -> None:
    terms = ArticleTerms(
        terms=["bridge", "harbour"],
        term_counts=[2.0, 1.0],
        entities=["e:harbour"],
        entity_counts=[1.0],
        title=["harbour", "bridge"],
        lede=["the", "bridge"],
        ids=[7, 11, 13],
    )
    message = DedupedArticle(
        article=Article.from_dict(_article()),
        verdict=DedupVerdict(article_id="a1", kind="original"),
        terms=terms,
    )
    back = DedupedArticle.from_json(message.to_json())
    assert back == message
    assert back.terms is not None and back.terms.ids == [7, 11, 13]


def test_whole_numbers_become_floats_where_a_float_is_declared() -> None:
    article = Article.from_dict(_article(published=1_700_000_000))
    assert isinstance(article.published, float)
    terms = ArticleTerms.from_dict(
        {"terms": ["a"], "term_counts": [3], "entities": [], "entity_counts": [],
         "title": [], "lede": []}
    )
    assert terms.term_counts == [3.0] and isinstance(terms.term_counts[0], float)


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        (_article(outlet=5), "Article.outlet: expected str, got int"),
        (_article(published="monday"), "Article.published: expected float, got str"),
        (_article(authors="someone"), "Article.authors: expected a list, got str"),
        (_article(authors=["one", 2]), "Article.authors[1]: expected str, got int"),
        ({"id": "a1"}, "Article: missing field 'url'"),
    ],
)
def test_a_wrong_payload_names_the_field(payload: dict, where: str) -> None:
    with pytest.raises(SchemaError) as err:
        Article.from_dict(payload)
    assert where in str(err.value)


def test_a_wrong_item_deep_in_a_message_is_located() -> None:
    payload = {
        "article": _article(),
        "verdict": {"article_id": "a1", "kind": "original"},
        "terms": {"terms": ["a"], "term_counts": [True], "entities": [],
                  "entity_counts": [], "title": [], "lede": []},
    }
    with pytest.raises(SchemaError) as err:
        DedupedArticle.from_json(orjson.dumps(payload))
    assert "DedupedArticle.terms.term_counts[0]: expected float, got bool" in str(err.value)


def test_not_json_is_a_schema_error() -> None:
    with pytest.raises(SchemaError):
        DedupVerdict.from_json(b"{not json")
