"""The knowledge base as a LangChain ``BaseRetriever``, so it plugs into LangChain chains."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from knowledge.retrieve.hybrid import HybridRetriever


class ShegongRetriever(BaseRetriever):
    """``ShegongRetriever(retriever=HybridRetriever(library), k=5).invoke("问题")``"""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any  # HybridRetriever
    k: int = 5
    kbs: list[str] | None = None
    doc_types: list[str] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        r: HybridRetriever = self.retriever
        hits = r.search(query, self.k, kbs=self.kbs, doc_types=self.doc_types)
        return [Document(page_content=h.text, metadata={k: v for k, v in h.to_json().items() if k != "text"})
                for h in hits]
