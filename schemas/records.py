"""The records that cross a topic: plain dataclasses serialized with orjson."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import orjson

SCHEMA_VERSION = 1


class SchemaError(ValueError):
    """A payload that does not fit its record type."""


_Convert = Callable[[Any, str], Any]

#: A converter per type hint, built on first use (see :func:`_converter`).
_CONVERTERS: dict[Any, _Convert] = {}

#: Per record class: ``(field name, converter, required)`` for each field, built on first use.
_FIELDS: dict[type, list[tuple[str, _Convert, bool]]] = {}

_PRIMITIVES = (str, int, float, bool)


def _converter(tp: Any) -> _Convert:
    """The function that builds a value of type ``tp`` from decoded JSON (cached per type).

    Decoding runs once per message in every stage, and a message carries lists of hundreds of
    terms; working out the type hint once per type and checking a list of primitives in one
    pass keeps decoding a small share of a stage's time. Hand-written because the records
    are plain dataclasses read by orjson, with no validation library in between.
    """
    conv = _CONVERTERS.get(tp)
    if conv is None:
        conv = _CONVERTERS[tp] = _build_converter(tp)
    return conv


def _build_converter(tp: Any) -> _Convert:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = _converter(next(a for a in typing.get_args(tp) if a is not type(None)))

        def optional(value: Any, where: str) -> Any:
            return None if value is None else inner(value, where)

        return optional
    if origin is list:
        return _list_converter(typing.get_args(tp)[0])
    if origin is dict:

        def as_dict(value: Any, where: str) -> Any:
            if not isinstance(value, dict):
                raise SchemaError(f"{where}: expected an object, got {type(value).__name__}")
            return dict(value)

        return as_dict
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp.from_dict  # type: ignore[attr-defined]
    if tp in _PRIMITIVES:
        return _primitive_converter(tp)
    return _as_is


def _as_is(value: Any, where: str) -> Any:
    return value


def _primitive_converter(tp: type) -> _Convert:
    """A converter for str, int, float or bool; a float field also takes a JSON integer."""

    def primitive(value: Any, where: str) -> Any:
        if isinstance(value, tp):
            return value
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        raise SchemaError(f"{where}: expected {tp.__name__}, got {type(value).__name__}")

    return primitive


def _list_converter(item_tp: Any) -> _Convert:
    """A converter for ``list[item_tp]``; a list of primitives is checked in one pass."""
    item = _converter(item_tp)
    # a list of primitives whose items all have exactly the item type is taken as it is
    exact = {item_tp} if item_tp in _PRIMITIVES else None

    def as_list(value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise SchemaError(f"{where}: expected a list, got {type(value).__name__}")
        if exact is not None and set(map(type, value)) <= exact:
            return list(value)
        return [item(v, f"{where}[{i}]") for i, v in enumerate(value)]

    return as_list


def _record_fields(cls: type) -> list[tuple[str, _Convert, bool]]:
    """``(name, converter, required)`` of each field of a record class (cached per class)."""
    spec = _FIELDS.get(cls)
    if spec is None:
        hints = typing.get_type_hints(cls)
        spec = _FIELDS[cls] = [
            (
                f.name,
                _converter(hints[f.name]),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(cls)
        ]
    return spec


class Record:
    """Mixin: JSON round trip for a dataclass record."""

    schema_version: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> bytes:
        return orjson.dumps(self)

    @classmethod
    def from_dict(cls, data: Any, where: str | None = None) -> Self:
        """Build the record from a decoded JSON object; unknown fields are ignored."""
        where = where or cls.__name__
        if not isinstance(data, dict):
            raise SchemaError(f"{where}: expected a JSON object, got {type(data).__name__}")
        kwargs: dict[str, Any] = {}
        for name, convert, required in _record_fields(cls):
            if name in data:
                kwargs[name] = convert(data[name], f"{where}.{name}")
            elif required:
                raise SchemaError(f"{where}: missing field {name!r}")
        return cls(**kwargs)

    @classmethod
    def from_json(cls, payload: bytes | str) -> Self:
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise SchemaError(f"{cls.__name__}: not JSON ({exc})") from exc
        return cls.from_dict(data)


@dataclass(slots=True)
class RawArticle(Record):
    """An article as it arrives: text or HTML body, whatever metadata the source had."""

    id: str | None = None
    url: str | None = None
    outlet: str | None = None
    title: str | None = None
    text: str | None = None
    body: str | None = None
    content_type: str | None = None
    published: str | None = None
    authors: list[str] = field(default_factory=list)
    received_at: float | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def content(self) -> str:
        """The article's text, whichever field carries it."""
        return self.text if self.text is not None else (self.body or "")


@dataclass(slots=True)
class FeedRecord(Record):
    """A feed to poll (topic ``feeds``, keyed by its url)."""

    url: str
    title: str | None = None
    added_at: float | None = None
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class Article(Record):
    """A normalized article: clean paragraphs plus the metadata every later stage uses."""

    id: str
    url: str | None
    outlet: str
    title: str
    text: str
    lang: str
    published: float
    published_source: str = "given"
    subtitle: str | None = None
    lede: str = ""
    authors: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    word_count: int = 0
    content_hash: str = ""
    repairs: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class DedupVerdict(Record):
    """What the dedup stage decided about one article.

    ``kind`` is "original", "resend", "revision", "syndicated" or "light_edit".
    """

    article_id: str
    kind: str
    duplicate_of: str | None = None
    similarity: float = 0.0
    replaces: str | None = None
    schema_version: int = SCHEMA_VERSION

    KINDS: ClassVar[tuple[str, ...]] = (
        "original",
        "resend",
        "revision",
        "syndicated",
        "light_edit",
    )

    @property
    def counts(self) -> bool:
        """True when the article adds to a story's article count."""
        return self.kind not in ("resend", "revision")


@dataclass(slots=True)
class ArticleTerms(Record):
    """An article's term statistics for story assignment, computed before the assign stage.

    Tokenizing is per-article work that needs no shared state, so the partitioned dedup stage
    does it and the single-partition assign stage only weighs and compares. ``terms`` are the
    content words in first-seen order with their counts (title words weighted), ``entities``
    the name keys with their counts, ``title`` the title's content words, ``lede`` the body's
    opening tokens. ``ids`` are stable 32-bit ids of ``terms`` then ``entities`` (the assign
    stage counts document frequencies by them). ``title_at`` and ``lede_at`` are the positions
    in ``terms`` of the title's words and of the distinct lede words (the title's, then the
    opening tokens' in order), so the assign stage weighs them without looking words up.
    ``numbers`` are the numbers among the title's words and the opening tokens, four-digit
    years left out, sorted. ``ages`` are the ages the title and the read body give people
    ("a 25-year-old", "aged 25", "John Hale, 25,"), sorted. The last five are empty in
    messages of older workers.
    """

    terms: list[str]
    term_counts: list[float]
    entities: list[str]
    entity_counts: list[float]
    title: list[str]
    lede: list[str]
    ids: list[int] = field(default_factory=list)
    title_at: list[int] = field(default_factory=list)
    lede_at: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    ages: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class DedupedArticle(Record):
    """An article with its dedup verdict: the value on ``articles.deduped``.

    ``terms`` (optional) saves the assign stage from tokenizing the article again.
    """

    article: Article
    verdict: DedupVerdict
    terms: ArticleTerms | None = None
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class RelatedStory(Record):
    story_id: str
    headline: str = ""
    article_count: int = 0
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class StorySplit(Record):
    """Articles a story gave up to a new story: it had been telling two events as one.

    ``story_id`` keeps its id and the rest of its articles; ``article_ids`` (originals, their
    copies, resends and revisions) belong to ``new_story_id`` from now on.
    """

    story_id: str
    new_story_id: str
    article_ids: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class StoryAssignment(Record):
    """An article placed in a story: the value on ``stories.assignments``.

    ``merged_from``: stories absorbed into ``story_id`` on this article's arrival;
    ``split``: a story this arrival split in two (the article is in ``story_id``, which is
    either half; an arrival that merges stories does not also split one).
    """

    story_id: str
    article: Article
    verdict: DedupVerdict
    score: float = 0.0
    is_new_story: bool = False
    merged_from: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    split: StorySplit | None = None
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class Section(Record):
    heading: str
    text: str
    citations: list[int] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class Source(Record):
    n: int
    article_id: str
    outlet: str
    title: str
    url: str | None = None
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class CitedText(Record):
    text: str
    citations: list[int] = field(default_factory=list)
    outlets: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class TimelineEntry(Record):
    """One dated development of a story: when, what (an article's own headline), who said so."""

    time: float
    text: str
    citations: list[int] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class OutletCoverage(Record):
    outlet: str
    items: list[CitedText] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class StoryArticle(Record):
    article_id: str
    outlet: str
    title: str
    url: str | None = None
    published: float | None = None
    duplicate_of: str | None = None
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class StoryUpdate(Record):
    """One version of a story: the downstream contract (field names are part of it)."""

    story_id: str
    version: int
    updated_at: float
    first_seen: float
    headline: str
    status_line: str
    article_count: int
    outlets: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    whats_new: list[CitedText] = field(default_factory=list)
    minority_reports: list[CitedText] = field(default_factory=list)
    unique_by_outlet: list[OutletCoverage] = field(default_factory=list)
    related_stories: list[RelatedStory] = field(default_factory=list)
    articles: list[StoryArticle] = field(default_factory=list)
    merged_into: str | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)  # additive: older ones lack it
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class DeadLetter(Record):
    """A message a stage could not process, kept with the reason and its original bytes."""

    stage: str
    reason: str
    original: str
    original_encoding: str = "utf-8"
    topic: str | None = None
    key: str | None = None
    partition: int | None = None
    offset: int | None = None
    failed_at: float = 0.0
    schema_version: int = SCHEMA_VERSION
