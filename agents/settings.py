"""The one configuration object, read from environment variables with documented defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    """Documentation of one environment variable (rendered into the README table)."""

    env: str
    default: str
    doc: str


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


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
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    web_enabled: bool = True
    batch_size: int = 200
    batch_within_seconds: float = 0.25
    summary_debounce_seconds: float = 1.0
    dedup_window_days: float = 14.0
    story_dormant_days: float = 3.0
    max_body_bytes: int = 2_000_000
    api_token: str = ""
    log_level: str = "warn"
    llm_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_seconds: float = 20.0

    DOCS = (
        Setting(
            "BROKER_URL", "kafka://localhost:9092", "Kafka bootstrap servers (faust URL form)."
        ),
        Setting(
            "STORYSTREAM_BROKER_PROFILE",
            "production",
            "`production` (normal Kafka timeouts and batching) or `embedded` (the demo broker: "
            "3 s session timeout, 0.5 s heartbeat, 2 s rebalance timeout, one record per batch).",
        ),
        Setting("STORE_URL", "rocksdb://", "Table store: `rocksdb://` or `memory://`."),
        Setting("STORYSTREAM_DATA_DIR", "storystream-data", "Where table stores live."),
        Setting("STORYSTREAM_APP_ID", "storystream", "Consumer group and changelog prefix."),
        Setting(
            "STORYSTREAM_RAW_PARTITIONS", "4", "Partitions of articles.raw (normalize scales out)."
        ),
        Setting(
            "STORYSTREAM_STORY_PARTITIONS",
            "4",
            "Partitions of stories.assignments and stories.updates (summaries scale out by story).",
        ),
        Setting("STORYSTREAM_WEB_HOST", "127.0.0.1", "Web server bind address."),
        Setting("STORYSTREAM_WEB_PORT", "6066", "Web server port."),
        Setting("STORYSTREAM_BATCH_SIZE", "200", "Events an agent takes per batch."),
        Setting("STORYSTREAM_BATCH_WITHIN", "0.25", "Seconds an agent waits to fill a batch."),
        Setting(
            "STORYSTREAM_SUMMARY_DEBOUNCE",
            "1.0",
            "Seconds a story's summary refresh waits for more articles (one update per burst).",
        ),
        Setting("STORYSTREAM_DEDUP_WINDOW_DAYS", "14", "Event-time window of the dedup index."),
        Setting(
            "STORYSTREAM_STORY_DORMANT_DAYS",
            "3",
            "Event-time inactivity after which a story leaves the candidate index.",
        ),
        Setting("STORYSTREAM_MAX_BODY_BYTES", "2000000", "Larger raw bodies are dead-lettered."),
        Setting("STORYSTREAM_API_TOKEN", "", "Bearer token required by POST /api/articles."),
        Setting("STORYSTREAM_LOG_LEVEL", "warn", "Worker log level (crit/error/warn/info/debug)."),
        Setting(
            "STORYSTREAM_LLM_URL",
            "",
            "Base URL of an OpenAI-compatible API (e.g. `http://host:8000/v1`); when set, "
            "summaries are rewritten by it and kept only if every citation is grounded.",
        ),
        Setting("STORYSTREAM_LLM_MODEL", "", "Model name sent to that API."),
        Setting("STORYSTREAM_LLM_API_KEY", "", "Bearer key for that API."),
        Setting("STORYSTREAM_LLM_TIMEOUT", "20", "Seconds to wait for a rewrite."),
    )

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Read every setting from the environment; keyword overrides win."""
        values: dict[str, Any] = {
            "broker_url": _env("BROKER_URL", cls.broker_url),
            "broker_profile": _env("STORYSTREAM_BROKER_PROFILE", cls.broker_profile),
            "store_url": _env("STORE_URL", cls.store_url),
            "data_dir": Path(_env("STORYSTREAM_DATA_DIR", str(cls.data_dir))),
            "app_id": _env("STORYSTREAM_APP_ID", cls.app_id),
            "raw_partitions": int(_env("STORYSTREAM_RAW_PARTITIONS", str(cls.raw_partitions))),
            "story_partitions": int(
                _env("STORYSTREAM_STORY_PARTITIONS", str(cls.story_partitions))
            ),
            "web_host": _env("STORYSTREAM_WEB_HOST", cls.web_host),
            "web_port": int(_env("STORYSTREAM_WEB_PORT", str(cls.web_port))),
            "batch_size": int(_env("STORYSTREAM_BATCH_SIZE", str(cls.batch_size))),
            "batch_within_seconds": float(
                _env("STORYSTREAM_BATCH_WITHIN", str(cls.batch_within_seconds))
            ),
            "summary_debounce_seconds": float(
                _env("STORYSTREAM_SUMMARY_DEBOUNCE", str(cls.summary_debounce_seconds))
            ),
            "dedup_window_days": float(
                _env("STORYSTREAM_DEDUP_WINDOW_DAYS", str(cls.dedup_window_days))
            ),
            "story_dormant_days": float(
                _env("STORYSTREAM_STORY_DORMANT_DAYS", str(cls.story_dormant_days))
            ),
            "max_body_bytes": int(_env("STORYSTREAM_MAX_BODY_BYTES", str(cls.max_body_bytes))),
            "api_token": _env("STORYSTREAM_API_TOKEN", cls.api_token),
            "log_level": _env("STORYSTREAM_LOG_LEVEL", cls.log_level),
            "llm_url": _env("STORYSTREAM_LLM_URL", cls.llm_url),
            "llm_model": _env("STORYSTREAM_LLM_MODEL", cls.llm_model),
            "llm_api_key": _env("STORYSTREAM_LLM_API_KEY", cls.llm_api_key),
            "llm_timeout_seconds": float(
                _env("STORYSTREAM_LLM_TIMEOUT", str(cls.llm_timeout_seconds))
            ),
        }
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        values.update(overrides)
        settings = cls(**values)
        if settings.broker_profile not in ("production", "embedded"):
            raise ValueError(
                f"STORYSTREAM_BROKER_PROFILE must be 'production' or 'embedded', "
                f"not {settings.broker_profile!r}"
            )
        return settings

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def embedded(self) -> bool:
        return self.broker_profile == "embedded"
