"""Check a generated answer against its sources before it is shown (``verify_answer``).

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

One module per kind of check: attribution.py (0), articles.py and titles.py (2), numbers.py (3),
repetition.py (a model that loops); patterns.py holds what they share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.verify.articles import (LAW_ARTICLE, ArticleFinder, ArticleLookup, article_known,
                                       article_labels, article_numbers, clauses_exist, fix_article_numbers, found_in_kb,
                                       normalise_article, path_matches, remove_unknown_bare_articles)
from assistant.verify.attribution import (NOT_FOUND, attribute, drop_not_found, only_not_found, restates_question,
                                          support)
from assistant.verify.numbers import NUMBER_WITH_UNIT, match_quantities, quantities
from assistant.verify.patterns import CITE, SENTENCE_END, normalise_markers
from assistant.verify.repetition import cut_repetition, repetition_start
from assistant.verify.titles import TITLE_PHRASE, TitleLookup, remove_unknown_titles, unknown_titles


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
            shown, found = m.group(0), found_in_kb(m, find_article)
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
    v.text = fix_article_numbers(v.text, sources, v.warnings, article_exists, source_titles)

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
                   for q in match_quantities(m)):
                return m.group(0)
            v.unsupported_numbers.append(m.group(0))
            return m.group(0) + "〔待核实〕"

        return NUMBER_WITH_UNIT.sub(check_number, sentence)

    v.text = "\n".join("".join(check_numbers(s) for s in SENTENCE_END.split(line)) for line in v.text.split("\n"))
    if v.unsupported_numbers:
        v.warnings.append("以下数字在引用的资料中找不到依据，请核实：" + "、".join(dict.fromkeys(v.unsupported_numbers)))
    v.text = re.sub(r"[ \t]+\n", "\n", v.text).strip()
    return v


__all__ = ["CITE", "LAW_ARTICLE", "NOT_FOUND", "NUMBER_WITH_UNIT", "SENTENCE_END", "TITLE_PHRASE", "ArticleFinder",
           "ArticleLookup", "TitleLookup", "Verification", "article_known", "article_labels", "article_numbers",
           "attribute", "clauses_exist", "cut_repetition", "drop_not_found", "fix_article_numbers",
           "normalise_article", "normalise_markers", "only_not_found", "path_matches", "quantities",
           "remove_unknown_bare_articles", "remove_unknown_titles", "repetition_start", "restates_question", "support",
           "unknown_titles", "verify_answer"]
