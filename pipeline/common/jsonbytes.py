"""JSON bytes that are kept in memory: encoded, then trimmed to their length."""

from __future__ import annotations

from typing import Any

import orjson


def json_bytes(value: Any, option: int = 0) -> bytes:
    """``value`` as JSON bytes whose allocation is no larger than their length.

    The encoder returns its working buffer (4 KiB or more, however short the output), which is
    fine for bytes written out at once but costs that much per value kept in a table or memo;
    copying the output releases the buffer. Hand-written because the encoder has no option
    for it. ``option``: the encoder's options (e.g. to write numpy arrays).
    """
    return bytes(memoryview(orjson.dumps(value, option=option)))
