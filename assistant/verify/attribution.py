"""Attribution: every sentence of an answer must be supported by a source's words, or it goes.

A sentence without a marker gets the source it overlaps most; filler lines ("资料中没有提到" next to
real content, template debris) are dropped; the list is numbered again afterwards.
"""

from __future__ import annotations

import re

from assistant.verify.patterns import CITE, SENTENCE_END
from shegong.chinese import words_only

NOT_FOUND = "资料中没有提到"
HEDGE = re.compile(r"资料中没有提到[^，,。；]{0,20}[，,]\s*(?:但是|但|不过)[，,]?\s*")


_ITEM_START = re.compile(r"^\s*(?:结论[:：]|\d+[.、．]|[-•·])?\s*")
# A list item written inline after a sentence: "流程是：1. 到县级残联申请…。2. …资料中没有提到。"
INLINE_ITEM = re.compile(r"(?<=[。；！？])\s*(?=\d+[.、．])")


def _items(text: str) -> list[str]:
    """The list items of a text: its lines, and the items a model wrote inline within one line."""
    return [item for line in text.splitlines() for item in INLINE_ITEM.split(line) if item.strip()]


def only_not_found(text: str) -> bool:
    """Every item says "资料中没有提到": the model found nothing in the sources."""
    return all(NOT_FOUND in HEDGE.sub("", item) for item in _items(text))


_ASKING = re.compile(r"^(?:请问|想问一下|想问)")


def restates_question(conclusion: str, question: str) -> bool:
    """The conclusion is the question written out again ("…需要多大比例的业主参与和同意[3]"): it answers nothing.

    Only the whole question counts, 吗 included: "…被公司辞退，这违法" answers "…这违法吗", and a conclusion that is
    part of the question ("要等满24小时才能报警") can be a claim.
    """
    said = words_only(CITE.sub("", conclusion))
    asked = _ASKING.sub("", words_only(question))
    return bool(said) and said == asked


def drop_not_found(line: str) -> str:
    """A line without the items that say "资料中没有提到" (and without the hedge before a real claim).

    "资料中没有提到，但根据《…》，居委会应当…": the hedge is filler, what follows is a claim checked
    like any other. An item that still says not found goes with everything it goes on to say
    ("…没有提到第X条。因此…违反了该条的规定"); the items beside it on the same line stay.
    """
    kept = []
    for item in INLINE_ITEM.split(line):
        if NOT_FOUND in item:
            item = HEDGE.sub("", item, count=1)
            if NOT_FOUND in item or not _ITEM_START.sub("", item).strip(" 。，,"):
                continue
        kept.append(item)
    return "".join(kept)




# Ways of saying "must not": a conclusion "不能担保" is supported by a source's "不得提供担保".
NEGATIONS = {"不能", "不得", "不可", "不可以", "不准", "不许", "禁止", "严禁", "不允许", "无权", "不应", "不应当", "不应该"}
# Words that only introduce a list ("要做好以下几点："); they claim nothing a source must support.
FILLER = {"以下", "如下", "下列", "几点", "几个", "方面", "包括", "主要", "做好", "采取", "措施", "采取措施", "具体"}
# Connectives and "yes": "是的，即使没砸到人也会被处罚" adds no fact to the question it answers.
# (Not 一定/肯定: the tokeniser drops the 不 of 不一定, which flips the verdict. Not 根据/按照: a
# conclusion that is only "按照《…》…的规定进行" must not pass as a restatement of the question.)
CONNECTIVES = {"确实", "的确", "即使", "就算", "虽然", "但是", "因此", "所以", "是的"}


def _content_tokens(text: str) -> set[str]:
    from ingest.textutil import tokenize

    words = {t for t in tokenize(CITE.sub("", text)) if len(t) > 1 or t.isdigit()}
    return {"〈不得〉" if t in NEGATIONS else t for t in words} - FILLER - CONNECTIVES


def support(sentence: str, source: str) -> float:
    """Share of a sentence's content words that occur in a source (0..1)."""
    words = _content_tokens(sentence)
    if not words:
        return 0.0
    return len(words & _content_tokens(source)) / len(words)


def attribute(text: str, sources: list[str], question: str = "",
              min_support: float = 0.3) -> tuple[str, list[str], list[int]]:
    """Add missing [n] markers by word overlap, drop unsupported sentences and filler lines.

    Returns the new text, the removed sentences, and the sources the model
    named on a line of their own ("依据的资料：[1]、[3]"; the line itself is dropped).
    """
    source_words = [_content_tokens(s) for s in sources]
    question_words = _content_tokens(question)
    removed: list[str] = []
    declared: list[int] = []
    lines_out = []
    lines = [ln for ln in text.splitlines()]
    has_content = not only_not_found(text)
    for line in lines:
        if not line.strip():
            lines_out.append(line)
            continue
        if NOT_FOUND in line and has_content:
            line = drop_not_found(line)
            if not line.strip():
                continue
        if CITE.search(line) and len(re.sub(r"[\s:：、,，。;；]|依据|资料|来源|参考|的|编号", "", CITE.sub("", line))) == 0:
            # "依据的资料：[1]、[3]": the model names its sources on a line of their own
            declared.extend(int(n) for n in CITE.findall(line))
            continue
        prefix = re.match(r"^\s*(?:结论[:：]|要点[:：]|步骤[:：]|\d+[.、．]|[-•·])?\s*", line).group(0)
        kept = []
        for sentence in filter(str.strip, SENTENCE_END.split(line[len(prefix):])):
            words = _content_tokens(sentence)
            if len(CITE.sub("", sentence).strip(" 。：:，,")) < 5:
                continue  # debris such as "[1] 第二点" or an empty item
            # Support is measured on what the sentence adds to the question: a conclusion that
            # restates the question is fine, "任期是五年，不能连任" needs "五年" in a source.
            added = words - question_words
            basis = added or words
            scores = [len(basis & sw) / max(len(basis), 1) for sw in source_words]
            best = max(range(len(scores)), key=scores.__getitem__) if scores else -1
            if added and (best < 0 or scores[best] < min_support) and NOT_FOUND not in sentence:
                removed.append(CITE.sub("", sentence).strip())
                continue
            if best >= 0 and scores[best] >= min_support:
                # A marker to a source that does not support the sentence goes (its quote would be shown as the
                # basis), and so do markers that all point to a weak source when another one says it (the
                # neighbouring article of the same law shares half its words).
                cited = [int(n) for n in CITE.findall(sentence) if 1 <= int(n) <= len(scores)]
                weak = {n for n in cited if scores[n - 1] < min_support}
                if cited and max(scores[n - 1] for n in cited) < scores[best] / 2:
                    weak = set(cited)
                sentence = CITE.sub(lambda m: "" if int(m.group(1)) in weak else m.group(0), sentence)
            if not CITE.search(sentence) and best >= 0 and scores[best] >= min_support:
                sentence = re.sub(r"([。！？；]?)\s*$", lambda m: f"[{best + 1}]{m.group(1)}", sentence, count=1)
            kept.append(sentence)
        if kept:
            lines_out.append(prefix + "".join(kept))
        elif prefix.strip() in ("结论:", "结论：", "要点：", "要点:", "步骤：", "步骤:"):
            lines_out.append(prefix.strip())
    out = "\n".join(_renumber(lines_out))
    out = re.sub(r"(要点|步骤)[:：]\s*$", "", out.strip()).strip()
    return out, removed, [n for n in dict.fromkeys(declared) if 1 <= n <= len(sources)]


def _renumber(lines: list[str]) -> list[str]:
    """Number list items 1. 2. 3. again after some were dropped."""
    n, out = 0, []
    for line in lines:
        m = re.match(r"^(\s*)\d+[.、．]\s*", line)
        if m:
            n += 1
            line = f"{m.group(1)}{n}. {line[m.end():]}"
        elif line.strip().startswith(("结论", "要点", "步骤")):
            n = 0
        out.append(line)
    return out
