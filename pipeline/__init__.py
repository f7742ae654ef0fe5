"""Pure, synchronous stage logic: normalize, dedup, assign, summarize, and the engine.

Nothing in this package talks to Kafka, imports faust or reads the environment; every tuning
value is an argument. The same objects run inside the faust agents, inside ``storystream
replay`` and in the unit tests.

Stage contracts:

- ``normalize.parse_raw(payload: bytes) -> RawArticle`` and
  ``normalize.normalize(raw, *, received_at, config) -> Article``; bad input raises
  ``errors.BadInput`` with a reason.
- ``dedup.Deduplicator.check(article, delivery=None) -> DedupVerdict``.
- ``cluster.StoryAssigner.assign(article, verdict, delivery=None) -> StoryAssignment``.
- ``summarize.summarize_story(...) -> StoryUpdate``.

Stateful stages (dedup, assign) keep their state in memory and expose it as key/value records:
``drain_changes()`` returns the ``(key, value_bytes | None)`` pairs written since the last call
(``None`` deletes the key) so that an agent can put them in a changelogged table, and
``restore(items)`` rebuilds the in-memory state from such records after a restart. ``delivery``
identifies one delivery of a message (topic/partition/offset, or a replay line number): the
same delivery seen twice is a redelivery and yields exactly the first answer again, while a new
delivery of known content is a resend.
"""
