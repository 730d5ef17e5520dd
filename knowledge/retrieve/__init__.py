"""Retrieval: rewrite the question, search BM25 + FAISS in every KB, fuse, optionally rerank."""

from knowledge.retrieve.hybrid import HybridRetriever, RetrievalConfig, search

__all__ = ["HybridRetriever", "RetrievalConfig", "search"]
