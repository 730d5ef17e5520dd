"""Law articles an answer cites: that they exist, their 编/章 path and 款/项, bare numbers, and numbers
the model took from a neighbouring article."""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.verify.attribution import support
from assistant.verify.numbers import number_value
from assistant.verify.patterns import CITE, NUM, SENTENCE_END
from assistant.verify.titles import TITLE_PHRASE
from shegong.chinese import halfwidth_digits, short_law_name, to_cn_numeral

# 《民法典》第十八条 / 老年人权益保障法第18条 / 《民法典》第三编合同第十二章借款合同第六百六十七条 (a 编/章/节
# path between the title and the article, as the sources' own locations read, may be copied by the model)
# (possessive quantifiers and names without 第: no backtracking blow-up on a long run of chapter headings)
_PATH = r"(?:\s*+(?:›\s*+)?第[零〇一二三四五六七八九十百千\d]+[编分章节](?:(?!第)[\u4e00-\u9fff、 ]){0,24}+)*+\s*+(?:›\s*+)?"
# One article or several: 第十四条 / 第十四、十五条 / 第14至16条 / 第十四条和第十五条 (every number is checked);
# a 款/项 after it belongs to the reference too, so it goes with an unknown article's number.
_AND = r"\s*(?:[、，,]|和|及|以及|与|或者|或|至|到|-|—|~|～)\s*"
_ARTICLES = rf"第\s*(?:{NUM})(?:{_AND}(?:{NUM}))*\s*条(?:{_AND}第\s*(?:{NUM})(?:{_AND}(?:{NUM}))*\s*条)*"
LAW_ARTICLE = re.compile(
    rf"(《[^《》]{{2,40}}》|[\u4e00-\u9fff]{{1,24}}?(?:法典|法|条例))(?:(?<=》)(?:的|中|{_PATH}))?\s*({_ARTICLES})"
    rf"(?:\s*第\s*(?:{NUM})\s*[款项])*")

# Article lookup: (law name without 《》, "第十八条") -> True if it exists in the KB
ArticleLookup = Callable[[str, str], bool]
# (law, 第N条) -> the article's chunks in the KB, each with .location ("第一编 总则 › … › 第N条") and .text
ArticleFinder = Callable[[str, str], list]


def article_numbers(label: str) -> list[str]:
    """'第十四、十五条' / '第14条至第16条' -> ['第十四条', '第十五条'] / ['第十四条', '第十六条'] (a range's ends)."""
    return [normalise_article(f"第{n}条") for n in re.findall(NUM, label)]


def normalise_article(label: str) -> str:
    """'第 18 条' / '第十八条' -> '第十八条' (how the law database numbers articles); of a list, the first."""
    label = re.match(rf"第\s*(?:{NUM})\s*", label).group(0) + "条"
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


def found_in_kb(m: re.Match, find_article: ArticleFinder) -> list:
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
_CLAUSE = re.compile(rf"第\s*({NUM})\s*([款项])")


def clauses_exist(m: re.Match, found: list) -> bool:
    """"第十四条第九款" / "第三十条第二款第二项": the article's text in the KB must have that 款 (a paragraph)
    and 项 (an item "（二）" of that paragraph). Checked for a single article only."""
    wanted = {kind: number_value(n) for n, kind in _CLAUSE.findall(m.string[m.end(2) : m.end()])}
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


BARE_ARTICLE = re.compile(rf"第\s*(?:{NUM})\s*条[:：]?")


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


def fix_article_numbers(text: str, sources: list[str], warnings: list[str], article_exists: ArticleLookup,
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
        warnings.append(f"“{ref.group(0)}”与所引原文的条号不符，已改为原文的{label.group(1)}。")
        return fixed

    return "\n".join("".join(fix(s) for s in SENTENCE_END.split(line)) for line in text.split("\n"))


def _names_law(named: str, title: str) -> bool:
    """Does a reference's law part ("《民法典》", "根据老年人权益保障法") name the document titled ``title``?"""
    bare = short_law_name(title)
    return bool(bare) and any(name.endswith(bare) for name in _law_names(named))
