"""Dead letters keep a failed message's bytes, and only the head of an oversized one."""

from __future__ import annotations

import base64
from types import SimpleNamespace

from agents.runtime import MAX_DEAD_LETTER_ORIGINAL, make_dead_letter


def _event(value: bytes) -> SimpleNamespace:
    message = SimpleNamespace(value=value, topic="articles.raw", key=b"k", partition=1, offset=9)
    return SimpleNamespace(message=message)


def test_a_small_message_is_kept_whole_and_invalid_utf8_as_base64():
    letter = make_dead_letter("normalize", "not JSON", _event(b"{broken"))
    assert (letter.original, letter.original_encoding, letter.reason) == (
        "{broken",
        "utf-8",
        "not JSON",
    )
    assert (letter.topic, letter.key, letter.partition, letter.offset) == (
        "articles.raw",
        "k",
        1,
        9,
    )
    # an invalid last byte of a whole message is kept, not trimmed
    letter = make_dead_letter("normalize", "bad", _event(b"abc\xc3"))
    assert letter.original_encoding == "base64"
    assert base64.b64decode(letter.original) == b"abc\xc3"


def test_an_oversized_message_keeps_its_head_and_says_so():
    # a two-byte character straddles the cut: the head ends before it
    value = b"a" * (MAX_DEAD_LETTER_ORIGINAL - 1) + "é".encode() * 1000
    letter = make_dead_letter("normalize", "body over 2000000 bytes", _event(value))
    assert letter.original_encoding == "utf-8"
    assert letter.original == "a" * (MAX_DEAD_LETTER_ORIGINAL - 1)
    assert letter.reason.startswith("body over 2000000 bytes (original cut to its first")
    assert str(len(value)) in letter.reason
    assert len(letter.to_json()) < 2 * MAX_DEAD_LETTER_ORIGINAL


def test_an_oversized_binary_message_keeps_its_head_as_base64():
    value = b"\xff" * (3 * MAX_DEAD_LETTER_ORIGINAL)
    letter = make_dead_letter("dedup", "SchemaError", _event(value))
    assert letter.original_encoding == "base64"
    assert base64.b64decode(letter.original) == value[:MAX_DEAD_LETTER_ORIGINAL]
