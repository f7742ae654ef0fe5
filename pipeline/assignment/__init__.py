"""Story assignment: each article joins its story online, in one pass.

``assigner`` holds the assigner, its features and the learned join decision; ``fit`` is the
tool that fits that decision on labelled corpora; ``sorted_vectors`` the compiled sparse-vector
arithmetic; ``doc_freq`` the online document frequencies; ``splits`` the story splitting.
"""
