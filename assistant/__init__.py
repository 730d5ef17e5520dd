"""Stages 6-7: answer from retrieved sources with an LLM, then verify the answer.

    assistant/llm/      LLM backends (llama.cpp in process, OpenAI-compatible HTTP) + model assembly
    assistant/prompts/  prompt templates (Chinese), one file per mode
    assistant/answer.py retrieve -> select context -> generate -> verify -> Answer
    assistant/verify.py citation / law-article / number checks
"""
