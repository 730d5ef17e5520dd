"""Rewrite a colloquial question into the words the sources use.

1. A reviewed table (synonyms.tsv) maps everyday phrases to formal terms
   (口语 → 法言法语); the formal terms are added to the keyword query.
2. An explicit article reference ("老年人权益保障法第十八条") is parsed so the
   retriever can put that exact article first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ingest.textutil import normalize
from shegong.chinese import short_law_name, to_cn_numeral

SYNONYMS_FILE = Path(__file__).with_name("synonyms.tsv")

_CN_NUM = "零〇一二三四五六七八九十百千万两"
# The name may carry the words before it ("请问民法典…" gives 请问民法典): law_name_tails() tries its tails.
ARTICLE_REF = re.compile(rf"《?([\u4e00-\u9fff]{{1,30}}?(?:法典|法|条例|办法|规定))》?\s*第([{_CN_NUM}\d]+)条")


@dataclass
class RewrittenQuery:
    original: str
    text: str  # normalised original (simplified, half-width)
    expansions: list[str] = field(default_factory=list)  # formal terms added for keyword search
    article_refs: list[tuple[str, str]] = field(default_factory=list)  # (law name, "第十八条")

    @property
    def keyword_text(self) -> str:
        return " ".join([self.text, *self.expansions])


@lru_cache(maxsize=1)
def load_synonyms(path: Path = SYNONYMS_FILE) -> list[tuple[str, list[str]]]:
    rules = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        phrase, _, terms = line.partition("\t")
        rules.append((normalize(phrase.strip()), terms.split()))
    # longest phrase first so "不管老人" wins over "老人" when both match
    return sorted(rules, key=lambda r: -len(r[0]))


def rewrite(question: str, use_synonyms: bool = True) -> RewrittenQuery:
    text = normalize(question)
    q = RewrittenQuery(original=question, text=text)
    if use_synonyms:
        seen: set[str] = set()
        for phrase, terms in load_synonyms():
            if phrase in text:
                for t in terms:
                    if t not in seen and t not in text:
                        seen.add(t)
                        q.expansions.append(t)
    for law, num in ARTICLE_REF.findall(text):
        label = f"第{to_cn_numeral(int(num)) if num.isdigit() else num}条"
        q.article_refs.append((short_law_name(law), label))
    return q


def law_name_tails(name: str) -> list[str]:
    """'根据老年人权益保障法' -> ['根据老年人权益保障法', '据老年人权益保障法', '老年人权益保障法', …], longest first."""
    return [name[i:] for i in range(len(name) - 2)] or [name]  # tails of 3+ characters; 宪法 stays whole
