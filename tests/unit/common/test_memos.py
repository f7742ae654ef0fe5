"""Delivery memos: a record per drained batch, deleted once all its answers expired."""

from __future__ import annotations

import orjson

from pipeline.common.memos import DeliveryMemos


def replay(memos: DeliveryMemos, table: dict[str, bytes]) -> None:
    """Apply the memos' drained records to ``table`` as a changelogged table would."""
    for key, value in memos.drain():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value


def test_the_answers_of_a_batch_share_one_record_and_restore_as_given() -> None:
    memos, table = DeliveryMemos("d:"), {}
    for n in range(5):
        memos.add(f"t/0/{n}", orjson.dumps({"n": n}), 10.0 + n)
    replay(memos, table)
    assert list(table) == ["d:t/0/0"]
    memos.add("t/0/5", b"[5]", 20.0)
    replay(memos, table)
    assert sorted(table) == ["d:t/0/0", "d:t/0/5"]
    assert memos.drain() == []  # nothing new: no record

    restored = DeliveryMemos("d:")
    for key, value in table.items():
        assert restored.restore(key, value, legacy=lambda v: (v, 0.0))
    assert not restored.restore("a:x", b"{}", legacy=lambda v: (v, 0.0))
    for n in range(5):
        assert orjson.loads(restored.get(f"t/0/{n}")) == {"n": n}
    assert restored.get("t/0/5") == b"[5]"
    assert restored.get("t/0/6") is None
    assert len(restored) == 6


def test_a_record_is_deleted_once_every_answer_in_it_is_past_the_cutoff() -> None:
    memos, table = DeliveryMemos("d/"), {}
    memos.add("t/0/0", b"0", 1.0)
    memos.add("t/0/1", b"1", 5.0)
    replay(memos, table)
    memos.add("t/0/2", b"2", 9.0)
    replay(memos, table)
    memos.expire(3.0)  # the first record still holds an answer given at 5
    replay(memos, table)
    assert sorted(table) == ["d/t/0/0", "d/t/0/2"] and memos.get("t/0/0") == b"0"
    memos.expire(6.0)
    replay(memos, table)
    assert list(table) == ["d/t/0/2"]
    assert memos.get("t/0/0") is None and memos.get("t/0/1") is None
    assert memos.get("t/0/2") == b"2"


def test_records_of_one_answer_each_are_read_and_expired_too() -> None:
    """Tables written when each answer had its own record are taken over as they are."""
    memos = DeliveryMemos("d:")
    old = orjson.dumps({"t": 4.0, "story": "s-1"})
    assert memos.restore("d:t/0/9", old, legacy=lambda v: (v, orjson.loads(v)["t"]))
    assert memos.get("t/0/9") == old
    memos.expire(5.0)
    assert memos.drain() == [("d:t/0/9", None)]
    assert memos.get("t/0/9") is None
