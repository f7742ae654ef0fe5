"""Pure, synchronous stage logic: normalize, dedup, assign, summarize, and the engine.

Nothing in this package talks to Kafka, imports faust or reads the environment; every tuning
value is an argument. The same objects run inside the faust agents, inside ``storystream
replay`` and in the unit tests.

Layout, one package per stage:

- ``common``: word tokens and sentences, the bad-input error, compact JSON bytes.
- ``normalization``: ``normalize.parse_raw(payload: bytes) -> RawArticle`` and
  ``normalize.normalize(raw, *, received_at, config) -> Article``; bad input raises
  ``common.errors.BadInput`` with a reason.
- ``dedup``: ``index.Deduplicator.check(article, delivery=None) -> DedupVerdict``, and the same
  decision partitioned in ``bands``.
- ``assignment``: ``assigner.StoryAssigner.assign(article, verdict, delivery=None) ->
  StoryAssignment``, and ``fit``, the tool that fits its decision.
- ``summaries``: ``summarize.summarize_story(...) -> StoryUpdate`` and ``book``, each story's
  members and versions.
- ``engine``: every stage chained in one process; ``evaluation``: scores against gold labels.

Stateful stages (dedup, assign) keep their state in memory and expose it as key/value records:
``drain_changes()`` returns the ``(key, value_bytes | None)`` pairs written since the last call
(``None`` deletes the key) so that an agent can put them in a changelogged table, and
``restore(items)`` rebuilds the in-memory state from such records after a restart. ``delivery``
identifies one delivery of a message (topic/partition/offset, or a replay line number): the
same delivery seen twice is a redelivery and yields exactly the first answer again, while a new
delivery of known content is a resend.
"""
