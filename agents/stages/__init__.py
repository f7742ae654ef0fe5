"""One thin agent per stage, each handed the worker context and the stage objects it uses.

``normalize``, ``dedup`` (homes, band owners, watermarks), ``assign``, ``summarize`` (the
refresh and publication of story updates), ``listeners`` (in-process subscribers of updates
and dead letters) and ``stalls`` (re-reading partitions whose committed offset stopped).
"""
