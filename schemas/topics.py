"""Topic names: the wiring between agents, and the contract with subscribers."""

ARTICLES_RAW = "articles.raw"
ARTICLES_NORMALIZED = "articles.normalized"
ARTICLES_DEDUPED = "articles.deduped"
STORIES_ASSIGNMENTS = "stories.assignments"
STORIES_UPDATES = "stories.updates"
DEADLETTER = "pipeline.deadletter"

ALL_TOPICS = (
    ARTICLES_RAW,
    ARTICLES_NORMALIZED,
    ARTICLES_DEDUPED,
    STORIES_ASSIGNMENTS,
    STORIES_UPDATES,
    DEADLETTER,
)
