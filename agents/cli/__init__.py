"""The ``storystream`` command line: one module per command, wired together in ``commands``."""

from agents.cli.commands import main

__all__ = ["main"]
