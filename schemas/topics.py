"""Topic names: the wiring between agents, and the contract with subscribers."""

ARTICLES_RAW = "articles.raw"
ARTICLES_NORMALIZED = "articles.normalized"
ARTICLES_DEDUPED = "articles.deduped"
STORIES_ASSIGNMENTS = "stories.assignments"
STORIES_UPDATES = "stories.updates"
DEADLETTER = "pipeline.deadletter"
# The band-partitioned dedup stage (docs/dedup-scaleout.md): home partitions send probes,
# watermarks and decisions to band owners, which answer on dedup.matches.
DEDUP_BANDS = "dedup.bands"
DEDUP_MATCHES = "dedup.matches"
# Feeds to poll, keyed by feed url: polling scales out with its partitions.
FEEDS = "feeds"

ALL_TOPICS = (
    ARTICLES_RAW,
    ARTICLES_NORMALIZED,
    ARTICLES_DEDUPED,
    STORIES_ASSIGNMENTS,
    STORIES_UPDATES,
    DEADLETTER,
    DEDUP_BANDS,
    DEDUP_MATCHES,
    FEEDS,
)
