"""Errors a stage raises for input it cannot process; the agents route them to dead letters."""


class BadInput(ValueError):
    """Input that no retry can fix: the message goes to the dead-letter topic with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
