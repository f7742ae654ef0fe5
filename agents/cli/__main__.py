"""``python -m agents.cli``: the ``storystream`` command line."""

from agents.cli.commands import main

main()
