"""HyDE: the real small model writes the search passage; without a model, retrieval is unchanged."""

from __future__ import annotations

import re

import pytest

from appserver import free_port
from assistant.llm.openai_compat import OpenAICompatLLM
from knowledge.retrieve.hybrid import HybridRetriever
from knowledge.retrieve.hyde import HydeExpander

QUESTION = "居委会多久换一届？"


@pytest.mark.slow
def test_the_model_writes_a_passage_and_it_steers_the_dense_search(library, small_llm):
    expander = HydeExpander(small_llm, max_tokens=60)
    passage = expander.passage(QUESTION)
    assert re.search(r"[\u4e00-\u9fff]{4}", passage), passage
    assert expander.passage(QUESTION) == passage  # temperature 0: the same search key every time

    plain = HybridRetriever(library).retrieve(QUESTION, 10)
    hyde = HybridRetriever(library, expander=expander).retrieve(QUESTION, 10)
    assert hyde.timings["hyde_ms"] > 0 and hyde.hits
    plain_dense = [round(h.meta["dense"], 5) for h in plain.hits]
    hyde_dense = [round(h.meta["dense"], 5) for h in hyde.hits]
    assert plain_dense != hyde_dense  # the query vector changed


@pytest.mark.integration
def test_without_a_model_the_search_is_the_plain_one(library):
    dead = OpenAICompatLLM(f"http://127.0.0.1:{free_port()}/v1", "local", "", timeout=5)  # nothing listens there
    expander = HydeExpander(dead)
    assert expander.passage(QUESTION) == ""
    plain = HybridRetriever(library).search(QUESTION, 5)
    with_dead = HybridRetriever(library, expander=expander).search(QUESTION, 5)
    assert [(h.kb, h.chunk_id) for h in with_dead] == [(h.kb, h.chunk_id) for h in plain]


@pytest.mark.integration
def test_cli_search_hyde_without_a_model_says_so_and_still_searches(library):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = dict(os.environ, SHEGONG_LLM_BACKEND="none")
    out = subprocess.run([sys.executable, "-m", "cli", "search", QUESTION, "--hyde", "--json", "-k", "3"],
                         cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "不使用假想原文检索" in out.stderr
    assert len(json.loads(out.stdout.strip().splitlines()[-1])["hits"]) == 3
