"""Search indexes: dense vectors (FAISS) and keywords (BM25). Both map to chunk ids."""
