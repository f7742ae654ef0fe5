"""Records of the band-partitioned dedup stage: probes, watermarks, decisions and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from schemas.records import SCHEMA_VERSION, Record, SchemaError


@dataclass(slots=True)
class BandProbe(Record):
    """An article's band keys, sent by its home partition to the partition owning them.

    ``order`` is the global order key the home gave the article (ties go to the smaller id);
    ``signature`` is the MinHash signature as base64 of little-endian uint32 values. An
    ``index_only`` probe (the new text of a revised article) is stored for later articles to
    match against but gets no answer; its ``root`` is known unless the article itself is still
    undecided (a decision with its ``version`` follows). Version 0 is the article's own probe.
    """

    article_id: str
    home: int
    order: float
    published: float
    size: int
    signature: str
    keys: list[int]
    index_only: bool = False
    root: str | None = None
    version: int = 0
    type: str = "probe"
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class BandWatermark(Record):
    """A home partition has sent every probe with an order key at or below ``order``."""

    home: int
    order: float
    type: str = "watermark"
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class BandDecision(Record):
    """An article's root original (itself for an original), sent to the owners it probed."""

    article_id: str
    root: str
    version: int = 0  # which indexed text of the article (0: the article as first probed)
    type: str = "decision"
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class BandMatch(Record):
    """A verified copy candidate: an earlier article sharing a band key with the probe."""

    candidate_id: str
    root: str | None
    jaccard: float
    order: float
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class BandAnswer(Record):
    """A band owner's answer to one probe: the value on ``dedup.matches``."""

    article_id: str
    owner: int  # the band partition that answers
    home: int  # the home partition that asked
    matches: list[BandMatch] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION


BandMessage = BandProbe | BandWatermark | BandDecision
_BAND_TYPES: dict[str, Any] = {
    "probe": BandProbe,
    "watermark": BandWatermark,
    "decision": BandDecision,
}


def decode_band_message(payload: bytes | str) -> BandMessage:
    """The record on ``dedup.bands`` that ``payload`` holds, chosen by its ``type`` field."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise SchemaError(f"band message: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SchemaError("band message: expected a JSON object")
    cls = _BAND_TYPES.get(data.get("type", ""))
    if cls is None:
        raise SchemaError(f"band message: unknown type {data.get('type')!r}")
    return cls.from_dict(data)
