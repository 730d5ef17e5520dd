"""Document names in 《…》: each must be a KB document's title or be quoted by a source."""

from __future__ import annotations

import re
from collections.abc import Callable

TITLE_PHRASE = re.compile(r"(根据|依据|依照|按照|参照)?《([^《》]{2,40})》(相关规定|的规定|规定|明确)?([，,]?)")

# Title lookup: "民法典" / "中华人民共和国个人所得税法" -> True if a KB document has that title
TitleLookup = Callable[[str], bool]


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
