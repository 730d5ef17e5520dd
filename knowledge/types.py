"""Retrieval results, shared by the CLI, the answerer and the app."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Hit:
    chunk_id: int
    kb: str
    text: str
    score: float
    title: str
    source: str
    doc_type: str
    location: str
    doc_id: int = 0
    meta: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The public JSON shape (``shegong search --json``)."""
        d = asdict(self)
        d["score"] = round(float(self.score), 6)
        return d
