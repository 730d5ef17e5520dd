"""Dispatch one ticket: retrieval over the list's items, the model's judgement among the candidates,
the corrections of similar past tickets, and a check that the answer is one of the list's items.

    matcher = Matcher(items, embedder, llm, retriever=HybridRetriever(library))
    result = matcher.dispatch("楼下烧烤店油烟熏得开不了窗", examples=[...])

Decision: for each candidate, fused = log P_model(candidate) + beta * z(retrieval) (+ a boost for
the item a similar corrected ticket was corrected to); "none fits" competes with log P_model(none)
+ none_bias. The weights are set on the odd-numbered tickets of our own set (eval/dispatch.py
reports both halves and the held-out set separately).
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field

import numpy as np

from assistant.dispatch.judge import Example, judge, prompt
from assistant.dispatch.listfile import DUTY_MEANING, Item
from assistant.dispatch.ranking import ItemIndex, Ranked, scope_clauses
from assistant.llm.base import LLM, ChoiceScorer, Message, complete
from knowledge.index.bm25 import char_bigrams
from shegong.errors import ModelUnavailable, UserError

log = logging.getLogger(__name__)

MAX_TICKET_CHARS = 2000  # a 12345 record is a few hundred characters; more is a pasted document
NO_MATCH_TEXT = "该事项不在本清单中，建议按一般程序转办"
SEGMENT_SPLIT = re.compile(r"[。！？；!?\n]|(?:还有|另外|再就是|再一个|顺便|除此之外)")
HANDBOOK_KBS = ["手册", "案例库"]


@dataclass
class MatchConfig:
    candidates: int = 5           # shown to the model; top-5 retrieval holds the right item for ~99 % of own tickets
    beta: float = 0.5             # weight of the retrieval z-score against the model's log-probability
    none_bias: float = 0.0        # added to log P(none): > 0 flags 无匹配 more often
    no_llm_none_dense: float = 0.30  # without a model: 无匹配 when the best item's cosine is below this
    example_min_sim: float = 0.70  # a corrected ticket this similar (cosine) is shown to the model as an example
    example_boost: float = 2.0    # and its item gets this much (times the similarity) added
    example_decides_sim: float = 0.92  # near-identical to a corrected ticket: the person's decision stands
    max_examples: int = 2
    second_min_p: float = 0.5     # P(是) the model must give a second matter
    second_min_z: float = 1.5     # a segment's best item must stand this far (z) above the segment's mean
    runner_ups: int = 3


@dataclass
class Match:
    item: Item
    score: float                  # 0..1, the share of the decision this item got
    reason: str = ""
    reason_checked: bool = False  # the quoted words were found in the ticket

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
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    list_version: int = 0
    record_id: int | None = None
    ranking: list[str] = field(default_factory=list)  # retrieval order of 编号 (evaluation reference)

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
            "模型判断": self.judged_by_model,
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


class Matcher:
    def __init__(self, items: list[Item], embedder, llm: LLM | None = None, *, retriever=None,
                 config: MatchConfig | None = None, list_version: int = 0):
        if not items:
            raise UserError("还没有导入权责清单，请督导先导入本区的清单")
        self.index = ItemIndex(items, embedder)
        self.items = items
        self.by_code = self.index.by_code
        self.embedder = embedder
        self.llm = llm
        self.retriever = retriever
        self.config = config or MatchConfig()
        self.list_version = list_version
        self._example_vecs: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------ examples
    def similar_examples(self, qvec: np.ndarray, examples: list[Example]) -> list[Example]:
        """Corrected past tickets like this one (only those whose items are still on the list)."""
        usable = [e for e in examples if all(c in self.by_code for c in e.codes)]
        if not usable:
            return []
        missing = [e.ticket for e in usable if e.ticket not in self._example_vecs]
        if missing:
            for t, v in zip(missing, self.embedder.embed(missing, kind="query")):
                self._example_vecs[t] = v
        out = []
        for e in usable:
            sim = float(self._example_vecs[e.ticket] @ qvec)
            if sim >= self.config.example_min_sim:
                out.append(Example(e.ticket, list(e.codes), sim))
        out.sort(key=lambda e: -e.similarity)
        return out[: self.config.max_examples]

    # ------------------------------------------------------------ dispatch
    def dispatch(self, ticket: str, examples: list[Example] | None = None, *, with_reason: bool = True,
                 with_next_steps: bool = True) -> DispatchResult:
        text = check_ticket(ticket)
        cfg = self.config
        t0 = time.perf_counter()
        res = DispatchResult(ticket=text, list_version=self.list_version)
        qvec = self.index.query_vector(text)
        ranked = self.index.rank(text, qvec)
        res.ranking = [r.code for r in ranked]
        res.examples = self.similar_examples(qvec, examples or [])
        res.timings["retrieval_ms"] = _ms(t0)

        cands = self._candidates(ranked, res.examples)
        z = {r.code: r.score for r in ranked}
        decided = next((e for e in res.examples if e.similarity >= cfg.example_decides_sim), None)
        probs = None
        if self.llm is not None and decided is None:
            t = time.perf_counter()
            try:
                j = judge(self.llm, text, [self.by_code[c] for c in cands], self.index.texts, res.examples,
                          self.by_code)
                probs = j.probs
                res.judged_by_model = True
            except ModelUnavailable as e:
                log.warning("dispatch judgement failed: %s", e)
                res.warnings.append(f"大模型暂时不可用（{str(e).rstrip('。')}），本次只按检索排序派单，请人工核对。")
            res.timings["judge_ms"] = _ms(t)
        elif self.llm is None:
            res.warnings.append("没有可用的大模型，本次只按检索排序派单，请人工核对。")

        fused = self._fuse(cands, z, probs, ranked, res.examples)
        share = _softmax(fused)
        order = sorted(share, key=share.get, reverse=True)
        if decided is not None:
            res.warnings.append("与一条已纠正过的工单几乎相同，按当时的纠正结果派单。")
            chosen = [c for c in decided.codes if c in self.by_code]
        else:
            chosen = [order[0]] if order[0] else []
        if not chosen:
            res.no_match = True
        else:
            res.matches = [Match(self.by_code[c], share.get(c, 1.0)) for c in chosen]
            if decided is None:
                second = self._second_matter(text, chosen[0], share, probs is not None)
                if second:
                    res.matches.append(Match(self.by_code[second], share.get(second, 0.0)))
        shown = set(res.codes)
        res.runner_ups = [(self.by_code[c], share[c]) for c in order if c and c not in shown][: cfg.runner_ups]
        self._check(res)
        if with_reason:
            t = time.perf_counter()
            for m in res.matches:
                m.reason, m.reason_checked = self.reason(text, m.item)
            res.timings["reason_ms"] = _ms(t)
        if with_next_steps and self.retriever is not None:
            t = time.perf_counter()
            res.next_steps = self.next_steps(text, res.matches)
            res.timings["next_steps_ms"] = _ms(t)
        res.timings["total_ms"] = _ms(t0)
        return res

    def _candidates(self, ranked: list[Ranked], examples: list[Example]) -> list[str]:
        k = self.config.candidates
        cands = [r.code for r in ranked[:k]]
        for e in examples:  # the item a person chose for a similar ticket must be among the choices
            for c in e.codes:
                if c not in cands:
                    cands = cands[:-1] + [c] if len(cands) >= k else cands + [c]
        return cands

    def _fuse(self, cands: list[str], z: dict[str, float], probs: dict[str, float] | None,
              ranked: list[Ranked], examples: list[Example]) -> dict[str, float]:
        cfg = self.config
        boost: dict[str, float] = {}
        for e in examples:
            for c in e.codes or [""]:
                boost[c] = max(boost.get(c, 0.0), cfg.example_boost * e.similarity)
        if probs is not None:
            fused = {c: math.log(max(probs.get(c, 0.0), 1e-9)) + cfg.beta * z[c] + boost.get(c, 0.0) for c in cands}
            fused[""] = math.log(max(probs.get("", 0.0), 1e-9)) + cfg.none_bias + boost.get("", 0.0)
            return fused
        # Without a model: retrieval alone, with a weak cosine floor for 无匹配.
        fused = {c: z[c] + boost.get(c, 0.0) for c in cands}
        best = ranked[0]
        fused[""] = (fused[best.code] + 1.0) if best.dense < cfg.no_llm_none_dense else min(fused.values()) - 5.0
        fused[""] += boost.get("", 0.0)
        return fused

    # ------------------------------------------------------------ two matters
    def segments(self, ticket: str) -> list[str]:
        return [s.strip(" ，,") for s in SEGMENT_SPLIT.split(ticket) if len(s.strip(" ，,")) >= 6]

    def second_candidate(self, ticket: str, first: str) -> tuple[str, float] | None:
        """The item a part of the ticket points to clearly, when that part is not about the first item."""
        segs = self.segments(ticket)
        if len(segs) < 2:
            return None
        best: tuple[str, float] | None = None
        for seg in segs:
            ranked = self.index.rank(seg)
            top = ranked[0]
            near = {r.code for r in ranked[:3]}
            if top.code == first or first in near or _neighbours(self.index, first, top.code):
                continue
            gap = top.score - ranked[1].score
            if top.score >= self.config.second_min_z and (best is None or top.score > best[1]):
                best = (top.code, top.score + gap)
        return best

    def _second_matter(self, ticket: str, first: str, share: dict[str, float], with_model: bool) -> str | None:
        cand = self.second_candidate(ticket, first)
        if cand is None:
            return None
        code = cand[0]
        if not with_model or not isinstance(self.llm, ChoiceScorer):
            return code if share.get(code, 0.0) >= 0.15 else None
        item = self.by_code[code]
        scope = "；".join(scope_clauses(item.notes)[0])[:120]
        body = prompt("second.txt").format(first=self.by_code[first].matter, second=item.matter, scope=scope,
                                           ticket=ticket)
        try:
            lp = self.llm.choice_logprobs([{"role": "system", "content": prompt("system.txt")},
                                           {"role": "user", "content": body}], ["是", "否"])
        except ModelUnavailable:
            return None
        top = max(lp.values())
        yes, no = math.exp(lp["是"] - top), math.exp(lp["否"] - top)
        return code if yes / (yes + no) >= self.config.second_min_p else None

    # ------------------------------------------------------------ checks and words
    def _check(self, res: DispatchResult) -> None:
        """The answer is one of the list's items, as stored: never text the model made up."""
        for m in res.matches:
            if self.by_code.get(m.item.code) is not m.item:
                raise RuntimeError(f"dispatch chose {m.item.code}, which is not on the list")
        if res.no_match and res.matches:
            raise RuntimeError("a dispatch cannot be both 无匹配 and matched")

    def reason(self, ticket: str, item: Item) -> tuple[str, bool]:
        """One sentence quoting the ticket. The model writes it; every quoted phrase must be in the
        ticket, else (or without a model) the sentence is built from the ticket's closest clause."""
        if self.llm is not None:
            try:
                text = complete(self.llm, [
                    {"role": "system", "content": prompt("system.txt")},
                    {"role": "user", "content": f"【工单】{ticket}\n\n"
                                                + prompt("reason.txt").format(matter=item.matter)}],
                    max_tokens=80, temperature=0.0)
                sentence = first_sentence(text)
                if sentence and quotes_in(sentence, ticket):
                    return sentence, True
            except ModelUnavailable as e:
                log.warning("dispatch reason failed: %s", e)
        clause = closest_clause(ticket, item)
        return f"工单中说“{clause}”，属于清单中的“{item.matter}”。", True

    def next_steps(self, ticket: str, matches: list[Match]) -> list[dict]:
        """For items the 居委会 leads or assists: handbook and case passages on how, with citations."""
        out = []
        for m in matches:
            if m.item.duty not in ("牵头", "协助"):
                continue
            kbs = [k for k in HANDBOOK_KBS if k in self.retriever.library.names()]
            if not kbs:
                continue
            query = f"{m.item.matter} {ticket[:200]}"
            hits = self.retriever.retrieve(query, k=3, kbs=kbs).hits
            for h in hits:
                out.append({"编号": m.item.code, "出处": f"《{h.title}》{h.location}", "知识库": h.kb,
                            "摘录": h.text[:300], "chunk_id": h.chunk_id})
        return out


def _neighbours(index: ItemIndex, a: str, b: str) -> bool:
    """Items whose 说明 point at each other are alternatives for one matter, not two matters."""
    ta, tb = index.texts[a], index.texts[b]
    return any(b in c for c in ta.boundaries) or any(a in c for c in tb.boundaries)


QUOTE = re.compile(r"[“\"「『]([^”\"」』]{2,80})[”\"」』]")


def quotes_in(sentence: str, ticket: str) -> bool:
    """At least one quoted phrase, and every one of them word for word in the ticket."""
    quoted = QUOTE.findall(sentence)
    squash = lambda s: re.sub(r"[\s，,。！？!?、]", "", s)  # noqa: E731  punctuation may differ
    return bool(quoted) and all(squash(q) in squash(ticket) for q in quoted)


def first_sentence(text: str) -> str:
    text = text.strip().splitlines()[0].strip() if text.strip() else ""
    m = re.match(r"(.+?[。！？!?])", text)
    return (m.group(1) if m else text)[:120]


def closest_clause(ticket: str, item: Item) -> str:
    """The clause of the ticket sharing most character pairs with the item's matter and scope."""
    target = set(char_bigrams(item.matter + "".join(scope_clauses(item.notes)[0])))
    clauses = [c.strip(" ，,") for c in re.split(r"[。！？；!?\n，,]", ticket) if len(c.strip(" ，,")) >= 2]
    if not clauses:
        return ticket[:40]
    best = max(clauses, key=lambda c: len(set(char_bigrams(c)) & target))
    return best[:60]


def _softmax(scores: dict[str, float]) -> dict[str, float]:
    top = max(scores.values())
    w = {k: math.exp(v - top) for k, v in scores.items()}
    total = sum(w.values())
    return {k: v / total for k, v in w.items()}


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 1)


__all__ = ["Matcher", "MatchConfig", "DispatchResult", "Match", "Example", "check_ticket", "NO_MATCH_TEXT",
           "MAX_TICKET_CHARS", "Message"]
