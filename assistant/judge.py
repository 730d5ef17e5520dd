"""The relevance gate's LLM judge: how sure the model is that retrieved sources answer a question.

Used by ``Answerer`` when the gate's score (assistant/gate.py) falls in its unsure band.
"""

from __future__ import annotations

import logging
import math

from assistant.context import Source
from assistant.llm.base import LLM, ChoiceScorer, Message, complete
from shegong.errors import ModelUnavailable

log = logging.getLogger(__name__)


def judge_probability(llm: LLM | None, question: str, sources: list[Source], system: str, template: str) -> float:
    """How sure the LLM is that the sources answer the question (0..1); it is asked nothing else.

    Each source is judged on its own (one short passage is an easier question for a small model
    than three at once) and the mean is returned. The question comes before the source, so
    llama.cpp evaluates the system prompt and the question once and only the source after.
    With log-probabilities (llama.cpp, in process or in its worker): P(能) / (P(能) + P(不能)) of the
    first reply token. Otherwise (an OpenAI-compatible server) each source gets a vote, 1.0 only when
    the reply starts with 能, and the result is the share of 能: at the default threshold one 能 among
    three sources lets the question through (the threshold is calibrated on log-probabilities, not on
    servers' words). Without an LLM the sources are shown (1.0); if the model fails midway, the sources
    judged so far decide. ``system``/``template``: the system prompt and judge.txt (with {question}, {source}).
    """
    if llm is None or not sources:
        return 1.0 if sources else 0.0
    scores = []
    for src in sources:
        text = template.format(question=question, source=src.prompt_line())
        try:
            scores.append(judge_one(llm, [{"role": "system", "content": system}, {"role": "user", "content": text}]))
        except ModelUnavailable as exc:
            log.warning("relevance judge failed after %d of %d sources: %s", len(scores), len(sources), exc)
            break
    return sum(scores) / len(scores) if scores else 1.0


def judge_one(llm: LLM, messages: list[Message]) -> float:
    """P(能) for one judgement: from log-probabilities when the backend has them, else the word it says."""
    if isinstance(llm, ChoiceScorer):
        lp = llm.choice_logprobs(messages, ["能", "不能"])
        top = max(lp.values())
        yes, no = math.exp(lp["能"] - top), math.exp(lp["不能"] - top)
        return yes / (yes + no)
    verdict = complete(llm, messages, max_tokens=3, temperature=0.0)
    return 1.0 if verdict.strip().startswith("能") else 0.0
