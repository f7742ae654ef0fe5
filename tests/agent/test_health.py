"""Broker health follows metadata round trips; repeated warnings are written once per interval."""

from __future__ import annotations

import logging

from agents.broker import free_port
from agents.health import BrokerHealth
from agents.worker import OncePerCondition


def test_broker_health_falls_after_failures_in_a_row_and_rises_after_one_success():
    health = BrokerHealth("127.0.0.1:1", failures=2)
    assert health.reachable  # judged by the rest of readiness until checked
    health.record(False)
    assert health.reachable
    health.record(True)
    health.record(False)
    assert health.reachable  # failures must come in a row
    health.record(False)
    assert not health.reachable
    health.record(True)
    assert health.reachable


async def test_a_check_against_no_broker_fails_within_its_timeout():
    health = BrokerHealth(f"127.0.0.1:{free_port()}", timeout=0.5)
    assert await health.check() is False


def _record(msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("aiokafka", level, __file__, 1, msg, args, None)


def test_a_repeated_condition_is_logged_once_per_window_with_its_count():
    quiet = OncePerCondition(window=60.0)
    assert quiet.filter(_record("Unable connect to %s", "a"))
    for n in range(50):
        assert not quiet.filter(_record("Unable connect to %s", f"b{n}"))
    assert quiet.filter(_record("Another condition"))
    assert quiet.filter(_record("detail", level=logging.INFO))  # below WARNING: untouched
    quiet.seen[("aiokafka", logging.ERROR, "Unable connect to %s")] = (-1e9, 50)
    again = _record("Unable connect to %s", "c")
    assert quiet.filter(again)
    assert "50 more like it" in again.getMessage()
