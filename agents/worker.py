"""Running a worker: faust's Worker, with a stop that ends in bounded time and quiet retries.

With the broker gone, faust's stop waits on commits and flushes that never finish and the
Kafka client logs every retry. Here a stop signal arms a deadline after which the process
ends (nothing is lost: unacknowledged messages are not committed, so they are read again),
and a repeated log message is written once per condition and interval, with its count.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import faust

from agents.runtime import Storystream

log = logging.getLogger(__name__)

STOP_DEADLINE_SECONDS = 6.0  # a stop signal ends the process within this, whatever the broker does
UNREACHABLE_STOP_SECONDS = 2.0  # the same when the broker is known not to answer
REPEAT_WINDOW_SECONDS = 60.0  # a repeated warning is written once per this interval


class OncePerCondition(logging.Filter):
    """Lets a warning or error through once per ``window`` seconds per logger and message.

    The message's template (before its arguments are filled in) names the condition, so a
    client retrying every 100 ms against a dead broker writes one line a minute, saying how
    many it held back, instead of a megabyte. Lower levels pass untouched.
    """

    def __init__(self, window: float = REPEAT_WINDOW_SECONDS) -> None:
        super().__init__()
        self.window = window
        self.seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        last, held = self.seen.get(key, (float("-inf"), 0))
        if now - last < self.window:
            self.seen[key] = (last, held + 1)
            return False
        self.seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self.window:.0f} s)"
        return True


class BoundedStopWorker(faust.Worker):
    """faust's Worker whose stop, once signalled, ends within ``stop_deadline`` seconds."""

    def __init__(
        self,
        *args: Any,
        stop_deadline: float = STOP_DEADLINE_SECONDS,
        on_deadline: Callable[[], None] | None = None,
        broker_answers: Callable[[], bool] = lambda: True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.stop_deadline = stop_deadline
        self.broker_answers = broker_answers
        self.on_deadline = on_deadline or self._exit_now
        self._deadline: threading.Timer | None = None

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if self._deadline is None:
            if not self.broker_answers():  # nothing to commit or flush: no point waiting
                self.stop_deadline = min(self.stop_deadline, UNREACHABLE_STOP_SECONDS)
            self._deadline = threading.Timer(self.stop_deadline, self.on_deadline)
            self._deadline.daemon = True
            self._deadline.start()
        super()._schedule_shutdown(signum)

    def _exit_now(self) -> None:
        log.error(
            "stop did not finish within %.0f s (the broker does not answer); exiting now."
            " Unacknowledged messages were not committed: the next worker reads them again",
            self.stop_deadline,
        )
        logging.shutdown()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(1)

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        quiet = OncePerCondition()
        for handler in logger.handlers:
            handler.addFilter(quiet)


def run_worker(ss: Storystream, on_deadline: Callable[[], None] | None = None) -> None:
    """Run a faust worker for the app until it is stopped (signal or crash)."""
    worker = BoundedStopWorker(
        ss.app,
        loglevel=ss.settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        stop_deadline=ss.settings.stop_deadline_seconds,
        on_deadline=on_deadline,
        broker_answers=lambda: ss.broker_health.reachable,
    )
    if not worker.stdout.isatty():
        worker.spinner = None  # its cursor-control codes would end up in logs and pipes
    with contextlib.suppress(SystemExit):
        worker.execute_from_commandline()
