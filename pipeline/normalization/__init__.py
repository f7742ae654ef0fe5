"""Normalization: raw article in, clean Article out.

``normalize`` is the stage (parse, extract, repair, clean, describe); ``encoding`` repairs
mojibake and legacy codecs, ``spam`` strips injected spam, ``furniture`` strips page furniture,
``html`` extracts a page's article text, ``metadata`` reads url, outlet, date and language.
"""
