"""``python -m agents.cli``: the ``storystream`` command line."""

from agents.cli.commands import main

if __name__ == "__main__":  # not when a spawned helper process imports the main module
    main()
