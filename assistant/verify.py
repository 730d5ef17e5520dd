"""Check a generated answer against its sources before it is shown.

0. Attribution: every sentence is compared word by word with the sources; a
   sentence without a marker gets the source it overlaps most, a sentence no
   source supports is removed, and filler lines ("资料中没有提到" next to real
   content, template debris) are dropped.
1. ``[n]`` markers must point to a numbered source; others are removed.
2. Every 《…法》第N条 (or "…法第N条") must exist in the knowledge base; otherwise
   the article number is removed from the shown text and a warning is added.
   Every other 《…》 must name a document in the knowledge base (or appear in the
   sources); an unknown one is removed with the phrase that introduces it.
3. Numbers with a unit (ages, amounts, deadlines, percentages) and hotlines must appear
   in the cited sources (or the question) with the same value and kind of unit (list
   numbers and article labels are no evidence); unsupported ones are marked 〔待核实〕.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from shegong.chinese import cn_to_int, halfwidth_digits, short_law_name, to_cn_numeral

CITE = re.compile(r"\[(\d{1,2})\]")
_NUM = r"[0-9０-９]+(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千万]+"
# 《民法典》第十八条 / 老年人权益保障法第18条 / 《民法典》第三编合同第十二章借款合同第六百六十七条 (a 编/章/节
# path between the title and the article, as the sources' own locations read, may be copied by the model)
# (possessive quantifiers and names without 第: no backtracking blow-up on a long run of chapter headings)
_PATH = r"(?:\s*+(?:›\s*+)?第[零〇一二三四五六七八九十百千\d]+[编分章节](?:(?!第)[\u4e00-\u9fff、 ]){0,24}+)*+\s*+(?:›\s*+)?"
# One article or several: 第十四条 / 第十四、十五条 / 第14至16条 / 第十四条和第十五条 (every number is checked);
# a 款/项 after it belongs to the reference too, so it goes with an unknown article's number.
_AND = r"\s*(?:[、，,]|和|及|以及|与|或者|或|至|到|-|—|~|～)\s*"
_ARTICLES = rf"第\s*(?:{_NUM})(?:{_AND}(?:{_NUM}))*\s*条(?:{_AND}第\s*(?:{_NUM})(?:{_AND}(?:{_NUM}))*\s*条)*"
LAW_ARTICLE = re.compile(
    rf"(《[^《》]{{2,40}}》|[\u4e00-\u9fff]{{1,24}}?(?:法典|法|条例))(?:(?<=》)(?:的|中|{_PATH}))?\s*({_ARTICLES})"
    rf"(?:\s*第\s*(?:{_NUM})\s*[款项])*")
# A number is checked with its kind of unit: "80元" is not supported by "80周岁", nor "3个工作日" by a list's "3.".
UNIT_KINDS = {"周岁": "age", "岁": "age", "万元": "money", "元": "money", "块钱": "money", "个工作日": "workday",
              "工作日": "workday", "日内": "day", "日": "day", "天": "day", "号": "day", "小时": "hour", "个星期": "week",
              "星期": "week", "周": "week", "个月": "month", "月": "month", "年": "year", "%": "percent", "％": "percent",
              "倍": "times", "人": "people", "名": "people", "次": "count", "平方米": "area", "平米": "area"}
_DIGITS = r"[0-9０-９]+(?:,[0-9]{3})*(?:\.[0-9]+)?"  # 15000, 20,000, 1.5
_AMOUNT = rf"{_DIGITS}|[零〇一二两三四五六七八九十百千万]+"
_TO = r"\s*(?:至|到|-|—|~|～|或者|或)\s*"
# "3-5个工作日" checks both ends; "百分之五" is a percentage too; a bare run of 3+ digits is a hotline or a
# document number ("拨打12349"), also a fact to find in the sources
# Words that only look like a number with a unit: 房屋四周 (around), 三天两头 (often), 千万不要 (by all means)
_NOT_QUANTITY = r"(?!四周(?=的)|三天两头|千万(?=[不别要]))"
NUMBER_WITH_UNIT = re.compile(
    rf"百分之({_AMOUNT})|{_NOT_QUANTITY}((?:{_AMOUNT})(?:{_TO}(?:{_AMOUNT}))*)\s*({'|'.join(map(re.escape, UNIT_KINDS))})"
    r"|(?<![\d.,第])(?<!第\s)([0-9]{3,})(?![\d.,]|\s*[条款项章节编])")  # "第1067条" is an article, checked above
# List numbers, headings and article labels in a source are no evidence for an amount or a deadline
STRUCTURAL = re.compile(rf"第\s*(?:{_NUM})\s*[条款项章节编]|(?<![\d.])\d{{1,2}}\s*[.、．](?!\d)|[（(]\s*\d{{1,2}}\s*[)）]")

TITLE_PHRASE = re.compile(r"(根据|依据|依照|按照|参照)?《([^《》]{2,40})》(相关规定|的规定|规定|明确)?([，,]?)")

# Article lookup: (law name without 《》, "第十八条") -> True if it exists in the KB
ArticleLookup = Callable[[str, str], bool]
# (law, 第N条) -> the article's chunks in the KB, each with .location ("第一编 总则 › … › 第N条") and .text
ArticleFinder = Callable[[str, str], list]
# Title lookup: "民法典" / "中华人民共和国个人所得税法" -> True if a KB document has that title
TitleLookup = Callable[[str], bool]


@dataclass
class Verification:
    text: str  # the answer as it may be shown
    warnings: list[str] = field(default_factory=list)
    removed_markers: list[str] = field(default_factory=list)
    invalid_articles: list[str] = field(default_factory=list)
    wrong_paths: list[str] = field(default_factory=list)  # a real article under 编/章 it is not in
    wrong_clauses: list[str] = field(default_factory=list)  # a real article with a 款/项 it does not have
    unknown_bare_articles: list[str] = field(default_factory=list)  # "第四条" with no law named, in no source
    invalid_titles: list[str] = field(default_factory=list)
    unsupported_numbers: list[str] = field(default_factory=list)
    used_sources: list[int] = field(default_factory=list)

    @property
    def severe(self) -> bool:
        """The answer should not be shown as generated (fall back to extractive)."""
        return len(self.invalid_articles) >= 2 or (not self.used_sources) or len(self.text.strip()) < 8


def article_numbers(label: str) -> list[str]:
    """'第十四、十五条' / '第14条至第16条' -> ['第十四条', '第十五条'] / ['第十四条', '第十六条'] (a range's ends)."""
    return [normalise_article(f"第{n}条") for n in re.findall(_NUM, label)]


def normalise_article(label: str) -> str:
    """'第 18 条' / '第十八条' -> '第十八条' (how the law database numbers articles); of a list, the first."""
    label = re.match(rf"第\s*(?:{_NUM})\s*", label).group(0) + "条"
    inner = re.sub(r"\s+", "", label)[1:-1]
    if inner.isdigit():
        return f"第{to_cn_numeral(int(inner))}条"
    digits = halfwidth_digits(inner)
    return f"第{to_cn_numeral(int(digits))}条" if digits.isdigit() else f"第{inner}条"


def _law_names(named: str) -> list[str]:
    """The names a LAW_ARTICLE's law part may be: 《…》 as written, otherwise its tails."""
    law = short_law_name(named)
    # Without 《》 the match may start with unrelated words ("依据老年人权益保障法"): try its tails.
    return [law] if named.startswith("《") else [law[i:] for i in range(len(law) - 1)]


def article_known(m: re.Match, article_exists: ArticleLookup, quoted: set[str] = frozenset()) -> bool:
    """Does a LAW_ARTICLE match name an article that is in the knowledge base?

    "本法/该法第N条" is either quoted article text referring to its own law ("依照本法第五十一条", then a
    source has that number: ``quoted``) or the model's "该法" for the law it named last; that law must have it.
    """
    articles = list(dict.fromkeys(article_numbers(m.group(2))))  # a looping "第十四条和第十四条和…": one lookup
    names = _law_names(m.group(1))
    if any(name in ("本法", "该法") for name in names):
        if set(articles) <= quoted:
            return True
        laws = [(n.start(), n.group(1)) for n in LAW_ARTICLE.finditer(m.string, 0, m.start())
                if not n.group(1).endswith(("本法", "该法"))]
        laws += [(t.start(), f"《{t.group(2)}》") for t in TITLE_PHRASE.finditer(m.string, 0, m.start())]
        if not laws:
            return False
        names = _law_names(max(laws)[1])
    return all(any(article_exists(name, article) for name in names) for article in articles)


def _found(m: re.Match, find_article: ArticleFinder) -> list:
    """The KB's chunks of a LAW_ARTICLE match's (first) article."""
    article = article_numbers(m.group(2))[0]
    return [hit for name in _law_names(m.group(1)) for hit in find_article(name, article)]


def path_matches(m: re.Match, found: list) -> bool:
    """The 编/章/节 written between a law's name and its article ("《民法典》第一编…第二章…第九十九条") must be
    in that article's own location in the KB; a reference written without them matches."""
    path = re.sub(r"\d+", lambda d: to_cn_numeral(int(d.group(0))), halfwidth_digits(m.string[m.end(1) : m.start(2)]))
    written = re.findall(r"第[零〇一二三四五六七八九十百千]+[编分章节]", path)  # "第2章" is the KB's "第二章"
    if not written:
        return True
    locations = [hit.location for hit in found]
    return not locations or any(all(label in loc for label in written) for loc in locations)


_ITEM_LINE = re.compile(r"^\s*[（(][零〇一二三四五六七八九十]+[）)]")
_CLAUSE = re.compile(rf"第\s*({_NUM})\s*([款项])")


def clauses_exist(m: re.Match, found: list) -> bool:
    """"第十四条第九款" / "第三十条第二款第二项": the article's text in the KB must have that 款 (a paragraph)
    and 项 (an item "（二）" of that paragraph). Checked for a single article only."""
    wanted = {kind: _value(n) for n, kind in _CLAUSE.findall(m.string[m.end(2) : m.end()])}
    if not wanted or len(article_numbers(m.group(2))) != 1:
        return True
    texts = [hit.text for hit in found]
    for text in texts:
        items_per_clause: list[int] = []
        for line in text.split("\n"):
            if _ITEM_LINE.match(line) and items_per_clause:
                items_per_clause[-1] += 1
            elif line.strip():
                items_per_clause.append(0)
        clause = wanted.get("款")
        if clause is not None and not 1 <= clause <= len(items_per_clause):
            continue
        items = items_per_clause[int(clause) - 1] if clause is not None else max(items_per_clause, default=0)
        if "项" not in wanted or 1 <= wanted["项"] <= items:
            return True
    return not texts


def article_labels(text: str) -> set[str]:
    """The article numbers a text mentions, normalised: {"第三十七条", …}."""
    return {normalise_article(m.group(0).rstrip(":：")) for m in BARE_ARTICLE.finditer(halfwidth_digits(text))}


def unknown_titles(text: str, title_exists: TitleLookup, evidence: str = "") -> list[str]:
    """Names in 《…》 that are neither a KB document nor quoted in the evidence (sources, question)."""
    return [m.group(2) for m in TITLE_PHRASE.finditer(text)
            if f"《{m.group(2)}》" not in evidence and not title_exists(m.group(2))]


def remove_unknown_titles(text: str, title_exists: TitleLookup, evidence: str, found: list[str]) -> str:
    """Drop 《unknown》 with its lead-in: "根据《X》规定，应当…" -> "应当…", "按《X》办" -> "按有关规定办"."""
    bad = set(unknown_titles(text, title_exists, evidence))

    def repl(m: re.Match) -> str:
        if m.group(2) not in bad:
            return m.group(0)
        found.append(m.group(2))
        return "" if m.group(1) else "有关规定" + m.group(4)

    return TITLE_PHRASE.sub(repl, text)


SENTENCE_END = re.compile(r"(?<=[。！？；])")
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


_REPEAT_MIN_CHARS = 6
# All list marks before a sentence: "- 1.5. 通知…" and "2. 2. 通知…" repeat "1. 通知…" too.
_ALL_ITEM_MARKS = re.compile(r"^\s*(?:(?:结论[:：]|\d+(?:[.．]\d+)*[.、．]|[-•·])\s*)*")


def repetition_start(text: str) -> int | None:
    """Where the text starts repeating sentences it already wrote (two in a row), or None.

    A small model sometimes loops ("7. 联系社区居民，了解社区的政策和流程。8. 联系社区居民……")
    until it runs out of tokens. Sentences are compared without list numbers, markers and spaces;
    only complete sentences of at least six characters count. The answer keeps everything before
    the first repeat, so stopping the generation there loses nothing. Point 1 restating the
    conclusion is not a loop: the conclusion line is not compared.
    """
    seen: set[str] = set()
    offset = 0
    first_repeat: int | None = None  # where a run of repeated sentences began
    for line in text.splitlines(keepends=True):
        pos = offset
        # the conclusion line is checked against itself only (a whole loop can sit on that one line)
        compare = set() if line.lstrip().startswith("结论") else seen
        for sentence in SENTENCE_END.split(line):
            if not sentence:
                continue
            complete = bool(re.search(r"[。！？；]\s*$", sentence))
            key = re.sub(r"\s+", "", CITE.sub("", _ALL_ITEM_MARKS.sub("", sentence, count=1)))
            if complete and len(key) >= _REPEAT_MIN_CHARS:
                if key not in compare:
                    compare.add(key)
                    first_repeat = None
                elif first_repeat is None:  # one repeat may be a stock phrase ("具体以当地规定为准。")
                    first_repeat = pos + len(sentence) - len(sentence.lstrip())
                else:  # two in a row: a loop
                    return first_repeat
            pos += len(sentence)
        offset += len(line)
    return None


def cut_repetition(text: str) -> str:
    """The text before its first repeated sentence (a trailing list number is dropped too)."""
    at = repetition_start(text)
    if at is None:
        return text
    return re.sub(r"\s*(?:\d+[.、．])?\s*$", "", text[:at])


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


def verify_answer(text: str, sources: list[str], article_exists: ArticleLookup, question: str = "",
                  title_exists: TitleLookup | None = None, source_titles: list[str] | None = None,
                  find_article: ArticleFinder | None = None) -> Verification:
    v = Verification(text=text)
    n_sources = len(sources)

    # 1. citation markers
    def check_marker(m: re.Match) -> str:
        n = int(m.group(1))
        if 1 <= n <= n_sources:
            if n not in v.used_sources:
                v.used_sources.append(n)
            return m.group(0)
        v.removed_markers.append(m.group(0))
        return ""

    v.text = CITE.sub(check_marker, v.text)
    if v.removed_markers:
        v.warnings.append(f"已删除 {len(v.removed_markers)} 个指向不存在资料的引用标记：{'、'.join(v.removed_markers)}")

    # 2. law articles
    quoted = article_labels(" ".join(sources))

    def check_article(m: re.Match) -> str:
        if article_known(m, article_exists, quoted):
            if find_article is None or (m.start(2) == m.end(1) and m.end() == m.end(2)):
                return m.group(0)  # no 编/章 before the article and no 款/项 after it: nothing more to check
            shown, found = m.group(0), _found(m, find_article)
            if not clauses_exist(m, found):
                v.wrong_clauses.append(shown)
                shown = shown[: m.end(2) - m.start()]  # the article is real; its 款/项 are not
            if not path_matches(m, found):
                v.wrong_paths.append(m.group(0))
                shown = m.group(1) + shown[m.start(2) - m.start() :]  # the article is real; its 编/章 are not
            return shown
        v.invalid_articles.append(f"{m.group(1)}{m.group(2)}")
        return m.group(0)[: m.start(2) - m.start()] + "相关规定"  # the number goes, any chapter path stays

    v.text = re.sub(r"相关规定(?:的)?规定", "相关规定", LAW_ARTICLE.sub(check_article, v.text))
    if v.invalid_articles:
        v.warnings.append("以下法条在知识库中查不到，已从回答中删除条号，请勿引用："
                          + "、".join(dict.fromkeys(v.invalid_articles)))
    if v.wrong_clauses:
        v.warnings.append("以下法条的款、项在法律原文中没有，已删去，只保留条号：" + "、".join(dict.fromkeys(v.wrong_clauses)))
    if v.wrong_paths:
        v.warnings.append("以下法条写的编、章与法律原文不符，已删去编章，只保留条号：" + "、".join(dict.fromkeys(v.wrong_paths)))

    # 2a. "第四条：…" with no law named: the number must be one a source or the question has
    v.text = remove_unknown_bare_articles(v.text, " ".join(sources) + question, v.unknown_bare_articles)
    if v.unknown_bare_articles:
        v.warnings.append("以下条号没有写明出自哪部法律，资料中也没有，已删除：" + "、".join(dict.fromkeys(v.unknown_bare_articles)))

    if title_exists is not None:
        v.text = remove_unknown_titles(v.text, title_exists, " ".join(sources) + question, v.invalid_titles)
        if v.invalid_titles:
            v.warnings.append("以下法律或文件不在知识库中，已从回答中删除，请勿引用："
                              + "、".join(f"《{t}》" for t in dict.fromkeys(v.invalid_titles)))

    # 0. attribution runs after the checks above so their findings are reported as such
    v.text, removed, declared = attribute(v.text, sources, question)
    if removed:
        v.warnings.append(f"已删除 {len(removed)} 句在资料中找不到依据的内容")
    v.used_sources = sorted({int(n) for n in CITE.findall(v.text)} | set(declared))

    # 2b. "根据…第六百六十七条，<the text of 第六百七十七条>[3]": the number must be that of the article quoted
    v.text = fix_article_numbers(v.text, sources, v, article_exists, source_titles)

    # 3. numbers must come from the sources their sentence cites (or from the question itself); a sentence
    # without a marker may use any cited source
    cited = [sources[n - 1] for n in v.used_sources] or sources
    evidence_of: dict[tuple[int, ...], tuple[set, set]] = {}  # cited sources -> (quantities, their values)

    def check_numbers(sentence: str) -> str:
        own = tuple(sorted({int(n) for n in CITE.findall(sentence) if 1 <= int(n) <= n_sources}))
        if own not in evidence_of:
            found = quantities(" ".join([sources[n - 1] for n in own] or cited) + " " + question)
            evidence_of[own] = found, {value for value, _ in found}
        evidence, values = evidence_of[own]

        def check_number(m: re.Match) -> str:
            if all(q in evidence or (q[0], None) in evidence or (q[1] is None and q[0] in values)
                   for q in _quantities(m)):
                return m.group(0)
            v.unsupported_numbers.append(m.group(0))
            return m.group(0) + "〔待核实〕"

        return NUMBER_WITH_UNIT.sub(check_number, sentence)

    v.text = "\n".join("".join(check_numbers(s) for s in SENTENCE_END.split(line)) for line in v.text.split("\n"))
    if v.unsupported_numbers:
        v.warnings.append("以下数字在引用的资料中找不到依据，请核实：" + "、".join(dict.fromkeys(v.unsupported_numbers)))
    v.text = re.sub(r"[ \t]+\n", "\n", v.text).strip()
    return v


BARE_ARTICLE = re.compile(rf"第\s*(?:{_NUM})\s*条[:：]?")


def remove_unknown_bare_articles(text: str, evidence: str, removed: list[str]) -> str:
    """Drop article numbers that name no law and appear in no source ("[3] 第四条：<a handbook passage>")."""
    known = article_labels(evidence)
    named = [range(m.start(), m.end()) for m in LAW_ARTICLE.finditer(text)]  # checked against the KB above

    def check(m: re.Match) -> str:
        label = normalise_article(m.group(0).rstrip(":："))
        if label in known or any(m.start() in r for r in named):
            return m.group(0)
        removed.append(label)
        return ""

    return re.sub(r"（\s*）|\(\s*\)", "", BARE_ARTICLE.sub(check, text))  # "（第四条）" leaves no "（）"


SOURCE_ARTICLE = re.compile(r"^\s*(第[零〇一二三四五六七八九十百千]+条)")


def fix_article_numbers(text: str, sources: list[str], v: Verification, article_exists: ArticleLookup,
                        source_titles: list[str] | None = None) -> str:
    """A sentence citing one article number and one law source [k] must use that source's own number.

    Small models copy a law article's text correctly and give it a neighbour's number; the number
    exists, so the existence check passes. When the sentence is mostly that source's words, the
    source's own number replaces the wrong one (with a warning) — unless the written number is one the
    source itself refers to ("依照本法第二十条"), or the law named has no article with the source's number,
    or (when ``source_titles`` are known) the source is an article of another law.
    """
    def fix(sentence: str) -> str:
        refs = list(LAW_ARTICLE.finditer(sentence))
        markers = set(CITE.findall(sentence))
        if len(refs) != 1 or len(markers) != 1 or len(article_numbers(refs[0].group(2))) != 1:
            return sentence
        ref, k = refs[0], int(markers.pop())
        if not 1 <= k <= len(sources) or "本法" in ref.group(1) or "该法" in ref.group(1):
            return sentence
        source = sources[k - 1]
        if source_titles and not _names_law(ref.group(1), source_titles[k - 1]):
            return sentence  # 《民法典》 on 老年人权益保障法's words: its 第十四条 would be another article
        label = SOURCE_ARTICLE.match(source)
        said = normalise_article(ref.group(2))
        if not label or label.group(1) == said:
            return sentence
        if said in source or re.sub(r"\s+", "", ref.group(2)) in source:
            return sentence  # the source itself refers to that article: a quote, not a wrong number
        if support(sentence[:ref.start()] + sentence[ref.end():], source) < 0.5:
            return sentence
        fixed = sentence[:ref.start(2)] + label.group(1) + sentence[ref.end(2):]
        new_ref = LAW_ARTICLE.search(fixed, ref.start())
        if new_ref is None or not article_known(new_ref, article_exists):
            return sentence
        v.warnings.append(f"“{ref.group(0)}”与所引原文的条号不符，已改为原文的{label.group(1)}。")
        return fixed

    return "\n".join("".join(fix(s) for s in SENTENCE_END.split(line)) for line in text.split("\n"))


def _names_law(named: str, title: str) -> bool:
    """Does a reference's law part ("《民法典》", "根据老年人权益保障法") name the document titled ``title``?"""
    bare = short_law_name(title)
    return bool(bare) and any(name.endswith(bare) for name in _law_names(named))


def _value(num: str) -> float | None:
    num = halfwidth_digits(num).replace(",", "")
    return float(num) if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", num) else cn_to_int(num)


def _quantities(m: re.Match) -> list[tuple[float | None, str]]:
    """A NUMBER_WITH_UNIT match as (value, kind of unit) pairs: "1.5万元" -> [(15000, "money")]."""
    if m.group(1):
        return [(_value(m.group(1)), "percent")]
    if m.group(4):
        return [(_value(m.group(4)), None)]
    scale = 10000 if m.group(3) == "万元" else 1
    return [(None if (x := _value(n)) is None else x * scale, UNIT_KINDS[m.group(3)])
            for n in re.findall(_AMOUNT, m.group(2))]


def quantities(text: str) -> set[tuple[float | None, str | None]]:
    """What a text can support: its numbers with their kind of unit, and its bare digits (a table's "100")
    with the kind None; list numbers and article labels do not count."""
    text = STRUCTURAL.sub(" ", text)
    found = {q for m in NUMBER_WITH_UNIT.finditer(text) for q in _quantities(m)}
    bare = NUMBER_WITH_UNIT.sub(" ", text)
    return found | {(_value(n), None) for n in re.findall(_DIGITS, bare)}
