"""Deduplication with MinHash-LSH: resends, revisions, wire copies and light edits.

``minhash`` signs texts, ``index`` is the single-process deduplicator (the LSH index and the
verdicts), ``bands`` is the same decision spread over partitions (dedup homes and band owners).
"""
