"""JSON bytes kept in memory take no more room than their length."""

from __future__ import annotations

import tracemalloc

import orjson

from pipeline.common.jsonbytes import json_bytes

VALUE = {"story": "s-1f2e3d", "score": 0.75, "new": False, "related": ["s-a", "s-b"]}


def test_the_bytes_are_the_json_of_the_value() -> None:
    assert json_bytes(VALUE) == orjson.dumps(VALUE)
    assert orjson.loads(json_bytes(VALUE)) == VALUE


def test_a_thousand_kept_values_take_about_their_length() -> None:
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        kept = [json_bytes({**VALUE, "i": i}) for i in range(1000)]
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    length = sum(map(len, kept))
    # each bytes object has a small header; the encoder's working buffer would be KiBs each
    assert used < length + 1000 * 64 + 16_384
