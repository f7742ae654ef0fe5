"""The OpenAPI 3.1 document of the worker's HTTP API, with schemas derived from the records."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any

from schemas import (
    Article,
    DedupVerdict,
    RawArticle,
    StoryUpdate,
)

JSON = "application/json"


def record_schema(cls: type, components: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema reference for a record dataclass, adding it and its parts to components.

    The records are plain slotted dataclasses read by ``Record.from_dict``; walking their type
    hints here keeps the document in step with ``schemas/records.py`` without a second model.
    """
    name = cls.__name__
    if name not in components:
        components[name] = {}  # placeholder first: records may refer to each other
        hints = typing.get_type_hints(cls)
        props: dict[str, Any] = {}
        required: list[str] = []
        for f in dataclasses.fields(cls):
            props[f.name] = _type_schema(hints[f.name], components)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        if cls.__doc__:
            schema["description"] = " ".join(cls.__doc__.split())
        components[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def _type_schema(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _type_schema(args[0], components)
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is list:
        (item,) = typing.get_args(tp)
        return {"type": "array", "items": _type_schema(item, components)}
    if origin is dict:
        return {"type": "object"}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return record_schema(tp, components)
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if tp in simple:
        return {"type": simple[tp]}
    return {}


def _error() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"error": {"type": "string"}},
        "required": ["error"],
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error_response(description: str) -> dict[str, Any]:
    return _json({"$ref": "#/components/schemas/Error"}, description)


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
        "description": description,
    }


def raw_article_input() -> dict[str, Any]:
    """What ``POST /api/articles`` accepts: a RawArticle with an id or a url and some text."""
    non_blank = {"type": "string", "pattern": "\\S"}
    web_url = {"type": "string", "pattern": "^https?://[A-Za-z0-9.-]+(/\\S*)?$"}
    return {
        "description": "A RawArticle that names itself (`id`, else `url`) and has text "
        "(`text`, else `body`, plain text or HTML).",
        "allOf": [
            {"$ref": "#/components/schemas/RawArticle"},
            {
                "properties": {
                    "id": {"anyOf": [{"type": "string", "maxLength": 512}, {"type": "null"}]},
                    "url": {"anyOf": [web_url, {"type": "null"}]},
                }
            },
            {
                "anyOf": [
                    {"required": ["id"], "properties": {"id": non_blank}},
                    {"required": ["url"], "properties": {"url": web_url}},
                ]
            },
            {
                "anyOf": [
                    {"required": ["text"], "properties": {"text": non_blank}},
                    {
                        "required": ["body"],
                        "properties": {"text": {"type": "null"}, "body": non_blank},
                    },
                ]
            },
        ],
    }


def _story_summary() -> dict[str, Any]:
    """A story in a list: its latest version's headline and counts."""
    return {
        "type": "object",
        "properties": {
            "story_id": {"type": "string"},
            "version": {"type": "integer"},
            "headline": {"type": "string"},
            "status_line": {"type": "string"},
            "article_count": {"type": "integer"},
            "outlets": {"type": "array", "items": {"type": "string"}},
            "updated_at": {"type": "number"},
            "first_seen": {"type": "number"},
            "velocity": {
                "type": "integer",
                "description": "Articles published within the last day of event time.",
            },
            "dormant": {"type": "boolean"},
        },
        "required": ["story_id", "version", "headline", "status_line", "article_count"],
    }


def _story_paths(
    update: dict[str, Any], paging: list[dict[str, Any]], not_found: Any, bad: Any
) -> dict[str, Any]:
    """The story routes: lists, the latest version, the versions."""
    return {
        "/api/stories": {
            "get": {
                "summary": "Top stories",
                "description": "Live (not merged) stories, most recently updated first, or "
                "ranked by article velocity.",
                "operationId": "listStories",
                "parameters": [
                    _query(
                        "sort",
                        {"type": "string", "enum": ["recent", "velocity"], "default": "recent"},
                        "Ranking.",
                    ),
                    *paging,
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "stories": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/StorySummary"},
                                },
                                "total": {"type": "integer"},
                                "sort": {"type": "string"},
                                "limit": {"type": "integer"},
                                "offset": {"type": "integer"},
                                "next": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                            },
                            "required": ["stories", "total", "limit", "offset", "next"],
                        },
                        "One page of stories.",
                    ),
                    "400": bad,
                },
            }
        },
        "/api/stories/{story_id}": {
            "get": {
                "summary": "A story's latest update",
                "operationId": "getStory",
                "parameters": [_path("story_id", "Story id.")],
                "responses": {"200": _json(update, "The latest StoryUpdate."), "404": not_found},
            }
        },
        "/api/stories/{story_id}/versions": {
            "get": {
                "summary": "A story's versions, newest first",
                "operationId": "getStoryVersions",
                "parameters": [_path("story_id", "Story id."), *paging],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "story_id": {"type": "string"},
                                "total": {"type": "integer"},
                                "versions": {"type": "array", "items": update},
                            },
                            "required": ["story_id", "total", "versions"],
                        },
                        "Kept versions of the story.",
                    ),
                    "400": bad,
                    "404": not_found,
                },
            }
        },
    }


def _article_paths(
    article: dict[str, Any], verdict: dict[str, Any], raw: dict[str, Any], not_found: Any, bad: Any
) -> dict[str, Any]:
    """The article routes: look-up and intake."""
    return {
        "/api/articles/{article_id}": {
            "get": {
                "summary": "An article and the story it was placed in",
                "operationId": "getArticle",
                "parameters": [_path("article_id", "Article id.")],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "article_id": {"type": "string"},
                                "story_id": {
                                    "type": "string",
                                    "description": "Its story now (after splits and merges).",
                                },
                                "assigned_story_id": {"type": "string"},
                                "verdict": verdict,
                                "article": article,
                            },
                            "required": ["article_id", "story_id", "verdict", "article"],
                        },
                        "The normalized article with its dedup verdict.",
                    ),
                    "404": not_found,
                },
            }
        },
        "/api/articles": {
            "post": {
                "summary": "Ingest raw articles",
                "description": "One raw article or an array of up to 1000. Each needs an id or "
                "a url and a non-empty text or body. Accepted articles are put on "
                "`articles.raw`; later failures go to `pipeline.deadletter`.",
                "operationId": "postArticles",
                "security": [{}, {"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        JSON: {
                            "schema": {
                                "oneOf": [
                                    raw,
                                    {
                                        "type": "array",
                                        "items": raw,
                                        "minItems": 1,
                                        "maxItems": 1000,
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "properties": {
                                "accepted": {"type": "integer"},
                                "keys": {"type": "array", "items": {"type": "string"}},
                            },
                            "required": ["accepted", "keys"],
                        },
                        "Queued for the pipeline.",
                    ),
                    "400": bad,
                    "401": _error_response("A bearer token is configured and was not given."),
                    "413": _error_response(
                        "An article body over the size limit, or the request over four times it."
                    ),
                    "503": _error_response(
                        "The broker does not answer or did not acknowledge the articles in time;"
                        " nothing is lost by sending them again."
                    ),
                },
            }
        },
    }


def _feed_paths(bad: dict[str, Any]) -> dict[str, Any]:
    """Feeds to poll."""
    web_url = {"type": "string", "pattern": "^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/\\S*)?$"}
    return {
        "/api/feeds": {
            "post": {
                "summary": "Add feeds to poll",
                "description": "`{\"url\": U}` or `{\"urls\": [U, ...]}` (up to 1000 RSS/Atom "
                "feed urls). Each feed is put on the `feeds` topic; the feed fetcher polls it, "
                "fetches the pages of entries without full text and sends the articles to "
                "`articles.raw`. A feed already known keeps its state.",
                "operationId": "postFeeds",
                "security": [{}, {"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        JSON: {
                            "schema": {
                                "oneOf": [
                                    {
                                        "type": "object",
                                        "properties": {"url": web_url},
                                        "required": ["url"],
                                    },
                                    {
                                        "type": "object",
                                        "properties": {
                                            "urls": {
                                                "type": "array",
                                                "items": web_url,
                                                "minItems": 1,
                                                "maxItems": 1000,
                                            }
                                        },
                                        "required": ["urls"],
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "properties": {
                                "accepted": {"type": "integer"},
                                "feeds": {"type": "array", "items": {"type": "string"}},
                            },
                            "required": ["accepted", "feeds"],
                        },
                        "Queued for polling.",
                    ),
                    "400": bad,
                    "401": _error_response("A bearer token is configured and was not given."),
                    "413": _error_response("The request body is over 1,000,000 bytes."),
                    "503": _error_response(
                        "The broker does not answer or did not acknowledge the feeds in time."
                    ),
                },
            }
        },
    }


def _service_paths(update: dict[str, Any]) -> dict[str, Any]:
    """Live updates, the ops snapshot, health and metrics."""
    return {
        "/api/updates": {
            "get": {
                "summary": "Live story updates (Server-Sent Events)",
                "description": "Each event is `event: update`, `id: <story_id>:<version>` and "
                "`data:` one StoryUpdate as JSON. Repeat `story` to follow several stories; "
                "without it every update is sent. Streams close after five minutes and "
                "browsers reconnect on their own.",
                "operationId": "streamUpdates",
                "parameters": [
                    {
                        "name": "story",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "array", "items": {"type": "string"}},
                        "style": "form",
                        "explode": True,
                        "description": "Only updates of these stories (or stories merged in).",
                    }
                ],
                "responses": {
                    "200": {
                        "description": "An event stream.",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/api/ops": {
            "get": {
                "summary": "Dashboard data",
                "description": "Per-stage throughput and latency series, consumer lag per "
                "topic, dead letters, duplicate rates and story counts; `feeds`: feed health "
                "(polls by result, errors by kind, fetch latency, the failing feeds).",
                "operationId": "getOps",
                "responses": {"200": _json({"type": "object"}, "Ops snapshot.")},
            }
        },
        "/livez": {
            "get": {
                "summary": "Liveness",
                "operationId": "livez",
                "responses": {"200": _json({"type": "object"}, "The process is alive.")},
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness",
                "description": "200 once tables are recovered and partitions assigned.",
                "operationId": "readyz",
                "responses": {
                    "200": _json({"type": "object"}, "Ready."),
                    "503": _json(
                        {"type": "object"}, "Starting, rebalancing, or the broker does not answer."
                    ),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "operationId": "metrics",
                "responses": {
                    "200": {
                        "description": "Prometheus text format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document served at ``/openapi.json``."""
    components: dict[str, Any] = {"Error": _error()}
    update = record_schema(StoryUpdate, components)
    record_schema(RawArticle, components)
    components["RawArticleInput"] = raw_article_input()
    raw = {"$ref": "#/components/schemas/RawArticleInput"}
    article = record_schema(Article, components)
    verdict = record_schema(DedupVerdict, components)
    components["StorySummary"] = _story_summary()
    paging = [
        _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
            "Items per page.",
        ),
        _query(
            "offset",
            {"type": "integer", "minimum": 0, "maximum": 1_000_000_000, "default": 0},
            "Items to skip.",
        ),
    ]
    not_found = _error_response("Unknown id.")
    bad = _error_response("Invalid arguments; the reason is in `error`.")
    paths: dict[str, Any] = {
        **_story_paths(update, paging, not_found, bad),
        **_article_paths(article, verdict, raw, not_found, bad),
        **_service_paths(update),
        **_feed_paths(bad),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "storystream",
            "version": "1",
            "description": "Living news stories: the latest update and history of every "
            "story, article lookups, article intake and live updates. Kafka subscribers read "
            "the same StoryUpdate documents from the `stories.updates` topic (key: story id).",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
