"""Embedding backends. ``make_embedder(spec)`` picks one by config string."""

from knowledge.embed.base import Embedder, make_embedder

__all__ = ["Embedder", "make_embedder"]
