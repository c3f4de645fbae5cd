"""Hybrid retrieval: full text (BM25) and dense vectors fused into one ranking, and the embedding model."""
