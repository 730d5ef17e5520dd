"""The LLM Protocol every backend implements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, TypedDict, runtime_checkable


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


@runtime_checkable
class LLM(Protocol):
    name: str
    n_ctx: int

    def stream(self, messages: list[Message], *, max_tokens: int = 512, temperature: float = 0.1,
               stop: list[str] | None = None) -> Iterator[str]:
        """Yield text pieces as they are generated. Raises ModelUnavailable on failure."""
        ...

    def count_tokens(self, text: str) -> int:
        ...


@runtime_checkable
class ChoiceScorer(Protocol):
    """Optional: backends that can score candidate replies without generating (llama.cpp in process)."""

    def choice_logprobs(self, messages: list[Message], options: list[str]) -> dict[str, float]:
        """Log-probability of each option's first token as the first token of the reply."""
        ...


def complete(llm: LLM, messages: list[Message], **kw) -> str:
    """Non-streaming convenience: join the stream."""
    return "".join(llm.stream(messages, **kw))
