"""Story summaries: what a story's page says.

``summarize`` builds a StoryUpdate from a story's articles; ``clean`` decides which sentences
may be summary material; ``grounding`` checks rewritten summaries against their sources;
``book`` keeps each story's members and versions.
"""
