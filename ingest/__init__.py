"""Stage 1-2 of the pipeline: load files into structured blocks, then cut them into chunks.

    load_file(path) -> LoadedDocument   (ingest/loaders/)
    chunk_document(doc) -> list[Chunk]  (ingest/chunking.py)
"""
