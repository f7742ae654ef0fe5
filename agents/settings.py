"""The one configuration object, read from environment variables with documented defaults."""

from __future__ import annotations

import os
import typing
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One environment variable: the setting it fills and its documentation (README table)."""

    env: str
    field: str
    doc: str

    @property
    def default(self) -> str:
        """The default as written in the environment (empty for "not set")."""
        value = next(f.default for f in fields(Settings) if f.name == self.field)
        return "" if value is None or value is MISSING else str(value)


class SettingsError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def _parse(setting: Setting, raw: str, kind: Any) -> Any:
    """Convert one variable's text to its field's type, or say which variable is wrong."""
    optional = type(None) in typing.get_args(kind)
    if optional:
        if raw.strip() == "":
            return None
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    try:
        if kind is bool:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        return kind(raw)
    except ValueError as exc:
        wanted = {int: "an integer", float: "a number", bool: "true or false"}.get(kind, "text")
        raise SettingsError(f"{setting.env} must be {wanted}, not {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Everything a worker, the demo and the CLI need; built by :meth:`from_env`."""

    broker_url: str = "kafka://localhost:9092"
    broker_profile: str = "production"
    store_url: str = "rocksdb://"
    data_dir: Path = Path("storystream-data")
    app_id: str = "storystream"
    raw_partitions: int = 4
    story_partitions: int = 4
    dedup_partitions: int = 1
    dedup_watermark_seconds: float = 0.1
    dedup_batch_within_seconds: float = 0.02
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    web_enabled: bool = True
    batch_size: int = 200
    batch_within_seconds: float = 0.25
    summary_debounce_seconds: float = 1.0
    fetch_wait_seconds: float | None = None
    summary_max_wait_seconds: float = 10.0
    helper_processes: int = 1
    standby_replicas: int = 0
    table_cache_mb: int = 32
    table_write_buffer_mb: int = 16
    dedup_window_days: float | None = None
    story_dormant_days: float | None = None
    max_body_bytes: int = 2_000_000
    api_token: str = ""
    intake_ack_seconds: float = 10.0
    stop_deadline_seconds: float = 6.0
    log_level: str = "warn"
    llm_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_seconds: float = 20.0
    feed_partitions: int = 4
    feeds_file: str = ""
    feed_interval_seconds: float = 300.0
    feed_min_interval_seconds: float = 60.0
    feed_max_interval_seconds: float = 3600.0
    feed_concurrency: int = 64
    feed_full_text_chars: int = 400
    feed_user_agent: str = (
        "storystream-feed-fetcher/0.1 (+https://github.com/storystream/storystream)"
    )
    fetch_timeout_seconds: float = 15.0
    fetch_max_bytes: int = 2_000_000
    fetch_max_redirects: int = 5
    fetch_host_delay_seconds: float = 1.0

    DOCS = (
        Setting("BROKER_URL", "broker_url", "Kafka bootstrap servers (faust URL form)."),
        Setting(
            "STORYSTREAM_BROKER_PROFILE",
            "broker_profile",
            "`production` (normal Kafka timeouts and batching) or `embedded` (the demo broker: "
            "3 s session timeout, 0.5 s heartbeat, 2 s rebalance timeout, one record per batch).",
        ),
        Setting("STORE_URL", "store_url", "Table store: `rocksdb://` or `memory://`."),
        Setting("STORYSTREAM_DATA_DIR", "data_dir", "Where table stores live."),
        Setting("STORYSTREAM_APP_ID", "app_id", "Consumer group and changelog prefix."),
        Setting(
            "STORYSTREAM_RAW_PARTITIONS",
            "raw_partitions",
            "Partitions of articles.raw (normalize scales out).",
        ),
        Setting(
            "STORYSTREAM_STORY_PARTITIONS",
            "story_partitions",
            "Partitions of stories.assignments and stories.updates (summaries scale out by story).",
        ),
        Setting(
            "STORYSTREAM_DEDUP_PARTITIONS",
            "dedup_partitions",
            "Partitions of articles.normalized, dedup.bands and dedup.matches. With 1, one "
            "worker decides every article in place (well over 1,000 articles/s); more "
            "spreads dedup over workers with home and band-owner partitions, at several "
            "messages per article (see docs/dedup-scaleout.md).",
        ),
        Setting(
            "STORYSTREAM_DEDUP_BATCH_WITHIN",
            "dedup_batch_within_seconds",
            "Longest the dedup home and band-owner agents hold a batch open (short: an "
            "article passes them three times, and a copy of a copy waits for its original).",
        ),
        Setting(
            "STORYSTREAM_DEDUP_WATERMARK_SECONDS",
            "dedup_watermark_seconds",
            "How often each dedup home tells the band owners how far it has sent probes.",
        ),
        Setting("STORYSTREAM_WEB_HOST", "web_host", "Web server bind address."),
        Setting("STORYSTREAM_WEB_PORT", "web_port", "Web server port."),
        Setting("STORYSTREAM_BATCH_SIZE", "batch_size", "Events an agent takes per batch."),
        Setting(
            "STORYSTREAM_BATCH_WITHIN",
            "batch_within_seconds",
            "Longest an agent holds a batch open; a batch closes as soon as no further "
            "message is waiting.",
        ),
        Setting(
            "STORYSTREAM_FETCH_WAIT",
            "fetch_wait_seconds",
            "Longest a consumer fetch waits for new records (empty: 0.05 with the embedded "
            "profile, whose broker answers a fetch only when the wait ends; 1.5 otherwise, as "
            "Kafka answers as soon as records arrive).",
        ),
        Setting(
            "STORYSTREAM_SUMMARY_DEBOUNCE",
            "summary_debounce_seconds",
            "Seconds without a new article after which a story's summary is refreshed (one "
            "update per burst).",
        ),
        Setting(
            "STORYSTREAM_TABLE_CACHE_MB",
            "table_cache_mb",
            "RocksDB block cache of each table partition, in MiB (the store's own default is "
            "2 GiB each: the assign stage reads its sleeping stories back through it).",
        ),
        Setting(
            "STORYSTREAM_TABLE_WRITE_BUFFER_MB",
            "table_write_buffer_mb",
            "RocksDB write buffer of each table partition, in MiB (two at most are held).",
        ),
        Setting(
            "STORYSTREAM_SUMMARY_MAX_WAIT",
            "summary_max_wait_seconds",
            "Seconds after its first unpublished article by which a story that keeps changing "
            "is refreshed anyway.",
        ),
        Setting(
            "STORYSTREAM_HELPER_PROCESSES",
            "helper_processes",
            "Helper processes for the stages' pure work (normalizing, term statistics, story "
            "summaries), on other cores than the worker's event loop (0: in the worker "
            "process itself).",
        ),
        Setting(
            "STORYSTREAM_STANDBY_REPLICAS",
            "standby_replicas",
            "Workers that keep a standby copy of each table partition they do not own, so "
            "that one taking it over after a failure need not read its changelog first. A "
            "standby replays every state record of the other workers (about eight per "
            "article): a tenth of the CPU of two workers on one small machine.",
        ),
        Setting(
            "STORYSTREAM_DEDUP_WINDOW_DAYS",
            "dedup_window_days",
            "Event-time window of the dedup index (empty: the stage default, 14).",
        ),
        Setting(
            "STORYSTREAM_STORY_DORMANT_DAYS",
            "story_dormant_days",
            "Event-time inactivity after which a story leaves the candidate index "
            "(empty: the stage default).",
        ),
        Setting(
            "STORYSTREAM_MAX_BODY_BYTES", "max_body_bytes", "Larger raw bodies are dead-lettered."
        ),
        Setting(
            "STORYSTREAM_API_TOKEN", "api_token", "Bearer token required by POST /api/articles."
        ),
        Setting(
            "STORYSTREAM_INTAKE_ACK_SECONDS",
            "intake_ack_seconds",
            "Seconds POST /api/articles waits for the broker to acknowledge the articles before "
            "it answers 503 (202 means the broker has them).",
        ),
        Setting(
            "STORYSTREAM_STOP_DEADLINE",
            "stop_deadline_seconds",
            "Seconds after SIGTERM or SIGINT by which a worker has exited, whatever the broker "
            "does (2 when the broker is known not to answer; unacknowledged messages are read "
            "again by the next worker).",
        ),
        Setting(
            "STORYSTREAM_LOG_LEVEL", "log_level", "Worker log level (crit/error/warn/info/debug)."
        ),
        Setting(
            "STORYSTREAM_LLM_URL",
            "llm_url",
            "Base URL of an OpenAI-compatible API (e.g. `http://host:8000/v1`); when set, "
            "summaries are rewritten by it and kept only if every citation is grounded.",
        ),
        Setting("STORYSTREAM_LLM_MODEL", "llm_model", "Model name sent to that API."),
        Setting("STORYSTREAM_LLM_API_KEY", "llm_api_key", "Bearer key for that API."),
        Setting("STORYSTREAM_LLM_TIMEOUT", "llm_timeout_seconds", "Seconds to wait for a rewrite."),
        Setting(
            "STORYSTREAM_FEED_PARTITIONS",
            "feed_partitions",
            "Partitions of the feeds topic (feed polling scales out).",
        ),
        Setting(
            "STORYSTREAM_FEEDS_FILE",
            "feeds_file",
            "Feeds to poll, one URL a line or OPML; sent to the feeds topic when a worker starts.",
        ),
        Setting(
            "STORYSTREAM_FEED_INTERVAL",
            "feed_interval_seconds",
            "Seconds between polls of a new feed; the interval then halves after a poll with "
            "new entries and grows by half after one without.",
        ),
        Setting(
            "STORYSTREAM_FEED_MIN_INTERVAL",
            "feed_min_interval_seconds",
            "Shortest interval between polls of one feed.",
        ),
        Setting(
            "STORYSTREAM_FEED_MAX_INTERVAL",
            "feed_max_interval_seconds",
            "Longest interval between polls of one feed (errors back off beyond it, up to 6 h).",
        ),
        Setting(
            "STORYSTREAM_FEED_CONCURRENCY",
            "feed_concurrency",
            "Feeds a worker polls at the same time (one request at a time per host).",
        ),
        Setting(
            "STORYSTREAM_FEED_FULL_TEXT_CHARS",
            "feed_full_text_chars",
            "An entry whose feed text is shorter has its page fetched.",
        ),
        Setting(
            "STORYSTREAM_FEED_USER_AGENT",
            "feed_user_agent",
            "User-Agent of feed and page requests.",
        ),
        Setting(
            "STORYSTREAM_FETCH_TIMEOUT",
            "fetch_timeout_seconds",
            "Seconds a feed or page request may take in all.",
        ),
        Setting(
            "STORYSTREAM_FETCH_MAX_BYTES",
            "fetch_max_bytes",
            "Larger feeds and pages are not read.",
        ),
        Setting(
            "STORYSTREAM_FETCH_MAX_REDIRECTS",
            "fetch_max_redirects",
            "Redirects a request may follow.",
        ),
        Setting(
            "STORYSTREAM_FETCH_HOST_DELAY",
            "fetch_host_delay_seconds",
            "Seconds between the end of one request to a host and the start of the next.",
        ),
    )

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Read every documented variable from the environment; keyword overrides win.

        Raises:
            SettingsError: a variable's value does not fit its setting.
        """
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for setting in cls.DOCS:
            raw = os.environ.get(setting.env)
            if raw is not None:
                values[setting.field] = _parse(setting, raw, hints[setting.field])
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        values.update(overrides)
        settings = cls(**values)
        for setting in cls.DOCS:
            least = _LEAST.get(setting.field)
            value = getattr(settings, setting.field)
            if least is not None and value < least:
                raise SettingsError(f"{setting.env} must be at least {least}, not {value!r}")
        if settings.broker_profile not in ("production", "embedded"):
            raise SettingsError(
                f"STORYSTREAM_BROKER_PROFILE must be 'production' or 'embedded', "
                f"not {settings.broker_profile!r}"
            )
        return settings

    @property
    def embedded(self) -> bool:
        return self.broker_profile == "embedded"

    @property
    def fetch_wait(self) -> float:
        """The consumer's longest fetch wait, the profile's default unless set."""
        if self.fetch_wait_seconds is not None:
            return self.fetch_wait_seconds
        return 0.05 if self.embedded else 1.5


# The least value of the counts a worker cannot run with fewer of.
_LEAST = {
    "raw_partitions": 1,
    "story_partitions": 1,
    "dedup_partitions": 1,
    "batch_size": 1,
    "helper_processes": 0,
    "standby_replicas": 0,
}


def settings_table() -> str:
    """The README's configuration table, generated from the documented settings."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for setting in Settings.DOCS:
        default = f"`{setting.default}`" if setting.default else "(empty)"
        rows.append(f"| `{setting.env}` | {default} | {setting.doc} |")
    return "\n".join(rows)
