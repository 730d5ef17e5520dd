"""找政策 / 搜方案: retrieve -> gate -> select context -> generate -> verify -> Answer.

``Answerer.stream`` yields events so the app can show sources at once and
tokens as they come; ``Answerer.ask`` runs the same pipeline to the end.
Right after retrieval and the gate's score (well under a second, long before the
model's first word on a 2-core PC) it yields the source cards and the best source
sentences word for word (an ``extract`` event, shown as 原文摘录).
The LLM is optional: without one (not installed, still loading, failed) the
answer is composed extractively from the sources and labelled as such.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

from assistant.context import DIRECTIVES_LEFT_OUT, Source, drop_directives, pick_hits, query_terms, select_sources
from assistant.extract import EXTRACT_HEADING, EXTRACT_HEADING_UNSURE, key_sentences
from assistant.gate import RelevanceGate
from assistant.judge import judge_probability
from assistant.llm.base import LLM, Message
from assistant.verify import (cut_repetition, normalise_markers, only_not_found, repetition_start, restates_question,
                              verify_answer)
from ingest.injection import asked_for
from knowledge.retrieve.hybrid import HybridRetriever, RetrievalResult
from shegong.errors import ModelFailed, ModelUnavailable

Mode = Literal["policy", "solution"]
MODE_LABELS = {"policy": "找政策", "solution": "搜方案"}
PROMPTS = Path(__file__).parent / "prompts"
FOLLOW_UP_START = re.compile(r"^(那|这|它|他|她|还|要|如果|需要|然后|那么|其|该|此)")


@lru_cache(maxsize=None)
def prompt(name: str) -> str:
    return (PROMPTS / name).read_text(encoding="utf-8").strip()


@dataclass
class Answer:
    question: str
    mode: Mode
    answer: str = ""
    sources: list[Source] = field(default_factory=list)
    refused: bool = False
    extractive: bool = False
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    retrieval_query: str = ""
    relevance: float = 0.0
    judge_p: float | None = None  # the LLM's P(relevant) when the gate asked it
    raw: str = ""  # the model's unverified text (kept for evaluation, never shown)
    extract: list[dict] = field(default_factory=list)  # 原文摘录 shown before the model's answer
    model_error: str = ""  # the model's process crashed, hung or could not start during this answer

    @property
    def citations(self) -> list[dict]:
        return [s.citation() for s in self.sources]

    def to_json(self) -> dict:
        return {"question": self.question, "mode": self.mode, "answer": self.answer, "citations": self.citations,
                "refused": self.refused, "extractive": self.extractive, "warnings": self.warnings,
                "timings": self.timings, "retrieval_query": self.retrieval_query,
                "relevance": round(self.relevance, 3),
                "judge_p": None if self.judge_p is None else round(self.judge_p, 3),
                "extract": self.extract, "model_error": self.model_error}


@dataclass
class Event:
    """status: a progress line; sources: ``answer.sources`` are chosen; extract: ``answer.extract`` is ready
    and ``text`` is its heading; token: a piece of the model's text; final: ``answer`` is complete."""

    kind: Literal["status", "sources", "extract", "token", "final"]
    text: str = ""
    answer: Answer | None = None


# When only the LLM judge let a question through, which failures of the generated answer make it a refusal:
# it fails verification badly ("severe") or only says the sources do not mention it ("not_found"). A
# conclusion without support ("unsupported") is shown as "资料中没有直接回答…" with the checked points:
# refusing those too costs more in-scope questions than it saves out-of-scope ones (eval/README.md).
STRICT_REFUSAL = ("severe", "not_found")


class Answerer:
    def __init__(self, retriever: HybridRetriever, llm: LLM | None = None, *, max_sources: int = 5,
                 gate: RelevanceGate | None = None, max_tokens: int = 320, temperature: float = 0.1,
                 strict_refusal: tuple[str, ...] = STRICT_REFUSAL):
        self.retriever = retriever
        self.llm = llm
        self.max_sources = max_sources
        self.gate = gate or RelevanceGate.for_embedder(retriever.embedder.name)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.strict_refusal = strict_refusal  # () = an unsure question is never refused after generation
        self.no_llm_note = ""  # why there is no LLM, when known (e.g. the model's self-check failed)

    @classmethod
    def from_settings(cls, retriever: HybridRetriever, llm: LLM | None, settings=None) -> "Answerer":
        """The answerer the CLI, the app and the eval all use: limits come from the settings."""
        from shegong.config import get_settings

        settings = settings or get_settings()
        return cls(retriever, llm, max_tokens=settings.llm_max_tokens, temperature=settings.llm_temperature,
                   strict_refusal=STRICT_REFUSAL if settings.answer_strict else ())

    # ------------------------------------------------------------ public
    def ask(self, question: str, mode: Mode = "policy", history: list[Message] | None = None,
            kbs: list | None = None) -> Answer:
        final = None
        for ev in self.stream(question, mode, history, kbs):
            if ev.kind == "final":
                final = ev.answer
        assert final is not None
        return final

    def stream(self, question: str, mode: Mode = "policy", history: list[Message] | None = None,
               kbs: list | None = None) -> Iterator[Event]:
        """``kbs``: KB names in the library, or opened KnowledgeBase objects (``--kb DIR``); None = all."""
        t0 = time.perf_counter()
        ans = Answer(question=question.strip(), mode=mode)
        if not ans.question:
            ans.refused, ans.answer = True, "请先输入问题。"
            yield Event("final", answer=ans)
            return
        if not re.search(r"\w", ans.question):  # only punctuation or emoji: any "nearest" passage would be noise
            ans.refused, ans.answer = True, "问题里没有文字，请用文字描述要问的事情。"
            yield Event("final", answer=ans)
            return

        def retrieve(text: str) -> RetrievalResult:
            if kbs and not isinstance(kbs[0], str):
                return self.retriever.retrieve(text, k=8, kb_objects=list(kbs))
            return self.retriever.retrieve(text, k=8, kbs=kbs)

        query = ans.question
        result = None
        if history and self._is_follow_up(query):
            if not FOLLOW_UP_START.match(query):
                # A short question may be a new one ("居民身份证丢了怎么办？"): if the sources clearly answer it
                # on its own, the earlier turn must not be mixed in (a retrieval costs milliseconds).
                result = retrieve(query)
                if self.relevance(result) < self.gate.high:
                    result = None
            if result is None:
                yield Event("status", "正在理解追问……")
                t = time.perf_counter()
                query = self.condense(query, history)
                ans.timings["condense_ms"] = round((time.perf_counter() - t) * 1000, 1)
        ans.retrieval_query = query

        result = result or retrieve(query)
        ans.timings["retrieval_ms"] = round(result.timings["total_ms"], 1)
        hits = result.hits
        ans.relevance = self.relevance(result)
        # lines sending the reader to a phone number or a payment are quoted only if the question asks
        allowed = asked_for(ans.question) | asked_for(query)
        if ans.relevance < self.gate.low:
            self._refuse(ans, select_sources(hits, query, max_sources=3, allowed=allowed))
            ans.timings["first_content_ms"] = ans.timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            yield Event("sources", answer=ans)
            yield Event("final", answer=ans)
            return

        # Useful at once: the sources and their best sentences, word for word. In the gate's unsure band they
        # come before the judge (seconds on a 2-core PC) under a heading that says relevance is being checked.
        ans.sources = self.answer_sources(result, mode, allowed)
        unsure = self.gate.in_band(ans.relevance)
        terms = sorted(query_terms(query))
        ans.extract = key_sentences(ans.sources, self.retriever.idf(terms) if terms else {}, allowed)
        ans.timings["first_content_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        yield Event("sources", answer=ans)
        yield Event("extract", EXTRACT_HEADING_UNSURE if unsure else EXTRACT_HEADING, answer=ans)
        if unsure:
            yield Event("status", "正在判断资料是否相关……")
            t = time.perf_counter()
            ans.judge_p = self.judge_retrieved(query, result)
            ans.timings["judge_ms"] = round((time.perf_counter() - t) * 1000, 1)
            if ans.judge_p < self.gate.judge_threshold:
                ans.extract = []
                self._refuse(ans, select_sources(hits, query, max_sources=3, allowed=allowed))
                ans.timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
                yield Event("sources", answer=ans)
                yield Event("final", answer=ans)
                return

        if any(s.hit.meta.get("instructions_removed") for s in ans.sources):
            ans.warnings.append("资料中有像是对模型下指令的句子，已忽略，请督导检查该资料。")
        if any(s.hit.meta.get("directives_removed") for s in ans.sources):
            ans.warnings.append(DIRECTIVES_LEFT_OUT)

        if self.llm is None:
            ans.warnings.append(f"{self.no_llm_note}。以下是直接摘自知识库的原文，未经模型归纳。" if self.no_llm_note
                                else "没有可用的大模型（未启用或尚未就绪），以下是直接摘自知识库的原文，未经模型归纳。")
            self._extractive(ans)
        else:
            try:
                raw = yield from self._generate(ans, query)
                if not raw.strip():  # nothing came back: "未通过核验" would wrongly blame an answer
                    raise ModelUnavailable("模型没有生成任何内容")
                # When only the judge let the question through, the answer must hold up on its own as well.
                self._finish_generated(ans, raw, strict=ans.judge_p is not None)
            except ModelUnavailable as e:
                if isinstance(e, ModelFailed):  # the model's process crashed, hung or cannot start
                    ans.model_error = str(e)
                ans.warnings.append(f"大模型暂时不可用（{str(e).rstrip('。')}），以下是直接摘自知识库的原文。")
                self._extractive(ans)
            ans.answer, dropped = drop_directives(ans.answer, allowed)  # what the model wrote itself
            if dropped and DIRECTIVES_LEFT_OUT not in ans.warnings:
                ans.warnings.append(DIRECTIVES_LEFT_OUT)
        ans.timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        yield Event("final", answer=ans)

    # ----------------------------------------------------------- stages
    @staticmethod
    def _is_follow_up(question: str) -> bool:
        return len(question) <= 14 or bool(FOLLOW_UP_START.match(question))

    def condense(self, question: str, history: list[Message]) -> str:
        """Rewrite a follow-up into a standalone question using the previous user turn."""
        previous = next((m["content"] for m in reversed(history) if m["role"] == "user"), "")
        if not previous:
            return question
        fallback = f"{previous} {question}"
        if self.llm is None:
            return fallback
        try:
            from assistant.llm.base import complete

            text = complete(self.llm, [{"role": "user", "content": prompt("condense.txt").format(
                previous=previous, question=question)}], max_tokens=60, temperature=0.0)
        except ModelUnavailable:
            return fallback
        text = text.strip().splitlines()[0].strip() if text.strip() else ""
        text = re.sub(r"^(改写|问题)[:：]\s*", "", text).strip("“”\"' ")
        # A usable rewrite is a question of sensible length that kept something of the earlier topic.
        if not (4 <= len(text) <= 100) or not (query_terms(text) & query_terms(previous)):
            return fallback
        return text

    def answer_sources(self, result: RetrievalResult, mode: Mode, allowed: set[str] | None = None) -> list[Source]:
        return select_sources(pick_hits(result.hits, mode, self.max_sources), result.query.keyword_text,
                              self.max_sources, allowed=allowed)

    def replay(self, question: str, mode: Mode, raw: str, judged: bool) -> Answer:
        """The checks after generation run again on a recorded model text (evaluation, no LLM)."""
        ans = Answer(question=question, mode=mode, retrieval_query=question)
        ans.sources = self.answer_sources(self.retriever.retrieve(question, k=8), mode)
        self._finish_generated(ans, raw, strict=judged)
        return ans

    def relevance(self, result: RetrievalResult) -> float:
        """The gate's score for a retrieval result: below ``gate.low`` refuse, in the band ask the judge."""
        return self.gate.score(result.query.text, result.hits, self.retriever.idf)

    def judge_retrieved(self, query: str, result: RetrievalResult) -> float:
        """P(relevant) for a retrieval result: the LLM reads short excerpts of the gate's top hits."""
        return self.judge_probability(query, select_sources(result.hits, result.query.text, self.gate.top,
                                                            prompt_budget=120))

    def judge_probability(self, question: str, sources: list[Source]) -> float:
        """How sure the LLM is that the sources answer the question (0..1): see assistant/judge.py."""
        return judge_probability(self.llm, question, sources, prompt("system.txt"), prompt("judge.txt"))

    def build_messages(self, question: str, sources: list[Source], mode: Mode) -> list[Message]:
        # The system message never changes, so llama.cpp reuses its cached prefix between questions.
        body = (prompt(f"{mode}.txt") + "\n\n【资料】\n" + "\n".join(s.prompt_line() for s in sources)
                + f"\n\n【问题】{question}\n\n请按“结论：”开头作答，然后用 1. 2. 3. 分条，每条末尾写资料编号。")
        return [{"role": "system", "content": prompt("system.txt")}, {"role": "user", "content": body}]

    def _fit_context(self, question: str, ans: Answer) -> list[Message]:
        """Drop the weakest sources until the prompt fits the model's context window."""
        sources = list(ans.sources)
        while True:
            messages = self.build_messages(question, sources, ans.mode)
            count = getattr(self.llm, "count_prompt_tokens", None)
            used = count(messages) if count else sum(self.llm.count_tokens(m["content"]) + 8 for m in messages)
            if used + self.max_tokens <= self.llm.n_ctx or len(sources) == 1:
                ans.sources = sources
                return messages
            sources = sources[:-1]

    def _generate(self, ans: Answer, question: str):
        messages = self._fit_context(question, ans)
        t = time.perf_counter()
        pieces: list[str] = []
        first = None
        looped = False
        tokens = self.llm.stream(messages, max_tokens=self.max_tokens, temperature=self.temperature)
        for piece in tokens:
            if first is None:
                first = time.perf_counter()
                ans.timings["ttft_ms"] = round((first - t) * 1000, 1)
            pieces.append(piece)
            yield Event("token", piece)
            if re.search(r"[。！？；]", piece) and repetition_start("".join(pieces)) is not None:
                looped = True  # the model started writing the same sentence again: stop it early
                break
        if looped and hasattr(tokens, "close"):
            tokens.close()  # frees the backend now (llama.cpp's lock, an HTTP stream)
        end = time.perf_counter()
        raw = "".join(pieces)
        stats = None if looped else getattr(self.llm, "last_stats", None)
        if stats is not None and stats.decode_tps:
            ans.timings["tokens_per_s"] = round(stats.decode_tps, 2)
        elif first is not None and end > first:
            ans.timings["tokens_per_s"] = round(max(self.llm.count_tokens(raw) - 1, 0) / (end - first), 2)
        return raw

    def _finish_generated(self, ans: Answer, raw: str, strict: bool = False) -> None:
        """Verify the model's text and decide what is shown.

        ``strict``: the gate was unsure the sources are about the question (the LLM judge let it
        through). Then an answer that fails in one of the ways named in ``self.strict_refusal`` (by
        default: it fails verification badly, or it only says the sources do not mention it) means the
        sources do not answer the question: refuse and show the nearest sources instead of an extract.
        """
        ans.raw = raw
        cut = cut_repetition(raw)
        if cut != raw:
            ans.warnings.append("模型开始重复同样的内容，重复部分已删去。")
            raw = cut
        raw = normalise_markers(raw)
        texts = [s.hit.text for s in ans.sources]
        v = verify_answer(raw, texts, self.retriever.article_exists, ans.question, self.title_lookup(ans.sources),
                          [s.hit.title for s in ans.sources], self.retriever.find_article)
        ans.warnings += v.warnings
        text = v.text if v.text.startswith("结论") else f"结论：{v.text}"  # one fixed shape, whatever the model did
        head, _, rest = text.partition("\n")
        conclusion = head.removeprefix("结论").strip("：: ")
        # a conclusion that is only the question again answers nothing, whatever it cites
        unsupported = not conclusion or restates_question(conclusion, ans.question)
        says_not_found = only_not_found(raw)
        failed = {"severe": v.severe, "unsupported": unsupported, "not_found": says_not_found}
        if strict and any(failed[name] for name in self.strict_refusal):
            ans.warnings.append("资料与问题是否相关本来就不确定，模型的回答又在资料中找不到依据，因此不作回答。")
            # the sources the checked text still cites are the nearest ones: list them first
            nearest = sorted(ans.sources, key=lambda src: src.n not in v.used_sources)[:3]
            self._refuse(ans, [replace(src, n=i) for i, src in enumerate(nearest, 1)])
            return
        if v.severe:
            ans.warnings.append("模型回答未通过核验，改为直接展示知识库原文。")
            self._extractive(ans)
            return
        if unsupported:
            # The model's own conclusion had no support in the sources: say so instead of an empty line.
            text = f"结论：{NO_DIRECT_ANSWER}" + (f"\n{rest}" if rest.strip() else "")
            ans.warnings.append("资料没有直接回答这个问题，下面只列出相关原文，请核对后再使用。")
        cited = [s for s in ans.sources if s.n in v.used_sources]
        quotes = "\n".join(f"[{s.n}] 《{s.hit.title}》{s.hit.location}：“{s.excerpt}”" for s in cited)
        ans.answer = f"{text}\n\n依据原文：\n{quotes}"

    def title_lookup(self, sources: list[Source]):
        """A 《name》 is known when a KB document has that title or it names a shown source's section."""
        shown = " ".join(f"{s.hit.title} {s.hit.location}" for s in sources)
        return lambda name: name in shown or self.retriever.title_exists(name)

    def _refuse(self, ans: Answer, nearest: list[Source]) -> None:
        ans.refused, ans.extractive = True, False
        ans.sources = nearest
        ans.answer = self._refusal_text(ans.retrieval_query or ans.question, nearest)

    def _extractive(self, ans: Answer) -> None:
        ans.extractive = True
        lines = [f"[{s.n}] 《{s.hit.title}》{s.hit.location}：{s.excerpt}" for s in ans.sources[:3]]
        ans.answer = "（以下内容直接摘自知识库原文，未经模型归纳）\n" + "\n".join(lines)

    @staticmethod
    def _refusal_text(question: str, nearest: list[Source]) -> str:
        text = "知识库里没有找到能回答这个问题的内容，为避免误导，这里不作推测。"
        if nearest:
            text += "\n最接近的资料（可能不相关）：\n" + "\n".join(
                f"- 《{s.hit.title}》{s.hit.location}" for s in nearest)
        text += "\n建议：" + referral(question)
        return text


NO_DIRECT_ANSWER = "资料中没有直接回答这个问题的内容，以下是最相关的原文要点。"

def referral(question: str) -> str:
    for line in prompt("referrals.tsv").splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        key, where = line.split("\t", 1)
        if key in question:
            return f"可咨询{where}；也可以请督导补充相关资料到知识库。"
    return "可咨询街道相关科室、12345 政务服务便民热线，或请督导把相关资料补充到知识库。"
