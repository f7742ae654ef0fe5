"""The demo's deadline guard fires from its own thread unless the run ends first."""

from __future__ import annotations

import threading
import time

from agents.cli.demo import DeadlineGuard


def test_the_guard_fires_while_the_caller_is_blocked() -> None:
    fired = threading.Event()
    with DeadlineGuard(0.05, fired.set):
        # a blocking call that no event loop could interrupt
        assert fired.wait(5.0)


def test_the_guard_stays_quiet_when_the_run_ends_in_time() -> None:
    fired = threading.Event()
    with DeadlineGuard(0.2, fired.set):
        pass
    time.sleep(0.4)
    assert not fired.is_set()
