"""The knowledge base as a LangChain retriever, inside a real LCEL chain (retriever | formatting -> prompt)."""

from __future__ import annotations

import pytest
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from knowledge.retrieve import HybridRetriever
from knowledge.retrieve.langchain_retriever import ShegongRetriever

pytestmark = pytest.mark.integration

QUESTION = "居民来开无犯罪记录证明，社区能开吗"


def as_sources(docs) -> str:
    return "\n".join(f"《{d.metadata['title']}》{d.metadata['location']}：{d.page_content}" for d in docs)


def test_the_retriever_feeds_a_prompt_in_an_lcel_chain(library):
    retriever = ShegongRetriever(retriever=HybridRetriever(library), k=3)
    prompt = ChatPromptTemplate.from_messages([("system", "只根据资料回答，写明出处。"),
                                               ("user", "【资料】\n{context}\n\n【问题】{question}")])
    chain = {"context": retriever | RunnableLambda(as_sources), "question": RunnablePassthrough()} | prompt
    text = chain.invoke(QUESTION).to_messages()[-1].content
    assert "无犯罪记录" in text.split("【问题】")[0] and text.endswith(f"【问题】{QUESTION}")

    docs = retriever.invoke(QUESTION)
    assert len(docs) == 3 and all(d.metadata["kb"] and d.metadata["location"] for d in docs)
    assert "text" not in docs[0].metadata  # the passage is the page content, once
    assert [len(found) for found in retriever.batch(["独居老人好几天没出门", "楼上漏水到我家"])] == [3, 3]


def test_the_type_and_kb_filters_reach_the_search(library):
    laws = ShegongRetriever(retriever=HybridRetriever(library), k=2, doc_types=["law"]).invoke("子女不赡养老人怎么办")
    assert laws and all(d.metadata["doc_type"] == "law" for d in laws)
    cases = ShegongRetriever(retriever=HybridRetriever(library), k=2, kbs=["案例库"]).invoke("楼上漏水到我家")
    assert cases and all(d.metadata["kb"] == "案例库" for d in cases)
