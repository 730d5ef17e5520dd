"""Stages 6-7: answer from retrieved sources with an LLM, then verify the answer.

    assistant/llm/      LLM backends (llama.cpp in process, OpenAI-compatible HTTP) + model assembly
    assistant/prompts/  prompt templates (Chinese), one file per mode
    assistant/answer.py retrieve -> gate -> select context -> generate -> verify -> Answer
    assistant/gate.py   the relevance gate (refuse when the sources are not about the question)
    assistant/context.py the sources and sentences the model reads
    assistant/verify/   citation, law-article, title and number checks, attribution

The coming features' domain code (visit records, exam drills) belongs here too, one module each.
"""
