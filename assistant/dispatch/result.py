"""What a dispatch returns: the matched items (stored items of the list, never text), runner-ups, next steps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.dispatch.judge import Example
from assistant.dispatch.listfile import DUTY_MEANING, Item
from shegong.errors import UserError

MAX_TICKET_CHARS = 2000  # a 12345 record is a few hundred characters; more is a pasted document
NO_MATCH_TEXT = "该事项不在本清单中，建议按一般程序转办"


@dataclass
class Match:
    item: Item
    score: float                  # 0..1, the share of the decision this item got
    reason: str = ""
    reason_by_model: bool = False  # the model's sentence (its quotes found in the ticket), not the fallback

    def to_json(self) -> dict:
        return {**self.item.to_json(), "匹配度": round(self.score, 3), "理由": self.reason}


@dataclass
class DispatchResult:
    ticket: str
    matches: list[Match] = field(default_factory=list)
    no_match: bool = False
    runner_ups: list[tuple[Item, float]] = field(default_factory=list)
    next_steps: list[dict] = field(default_factory=list)  # handbook / case excerpts with citations
    examples: list[Example] = field(default_factory=list)
    judged_by_model: bool = False
    judgement: dict[str, float] = field(default_factory=dict)  # the model's P(fits) per candidate
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    list_version: int = 0
    record_id: int | None = None
    ranking: list[str] = field(default_factory=list)  # retrieval order of 编号 (evaluation reference)
    margin: float = 0.0  # the best item's lead over the second in the ranking (z units)

    @property
    def codes(self) -> list[str]:
        return [m.item.code for m in self.matches]

    @property
    def message(self) -> str:
        if self.no_match:
            return NO_MATCH_TEXT
        first = self.matches[0].item
        return f"派给：{first.code} {first.matter}（{first.lead}）；社区职责：{first.duty}——{DUTY_MEANING[first.duty]}"

    def to_json(self) -> dict:
        return {
            "工单": self.ticket,
            "无匹配": self.no_match,
            "结论": self.message,
            "matches": [m.to_json() for m in self.matches],
            "备选": [{"编号": it.code, "事项": it.matter, "社区职责": it.duty, "匹配度": round(s, 3)}
                     for it, s in self.runner_ups],
            "下一步": self.next_steps,
            "参考的纠正记录": [{"工单": e.ticket, "应派": e.codes, "相似度": round(e.similarity, 3)}
                             for e in self.examples],
            "模型判断": {c: round(p, 3) for c, p in self.judgement.items()},
            "提示": self.warnings,
            "耗时毫秒": self.timings,
            "清单版本": self.list_version,
            "记录号": self.record_id,
        }


def check_ticket(ticket: str | None) -> str:
    text = (ticket or "").strip()
    if not text or not re.search(r"\w", text):
        raise UserError("工单内容是空的，请把居民反映的问题填进来")
    if len(text) > MAX_TICKET_CHARS:
        raise UserError(f"工单太长了（{len(text)} 字），请控制在 {MAX_TICKET_CHARS} 字以内："
                        "只保留居民反映的问题，附件和处理经过不用贴进来")
    return text
