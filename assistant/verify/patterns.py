"""Patterns every check shares: citation markers, numbers as the sources and models write them, sentence ends."""

from __future__ import annotations

import re

from shegong.chinese import halfwidth_digits

CITE = re.compile(r"\[(\d{1,2})\]")
NUM = r"[0-9０-９]+(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千万]+"
SENTENCE_END = re.compile(r"(?<=[。！？；])")

_MARKER_NUMBERS = r"[0-9０-９]{1,2}(?:\s*(?:[,，、]|-|–|~|～)\s*[0-9０-９]{1,2})*"
MARKER_VARIANT = re.compile(rf"[【［\[]\s*(?:资料|来源)?\s*({_MARKER_NUMBERS})\s*[】］\]]"
                            rf"|[（(](?:资料|来源)\s*({_MARKER_NUMBERS})\s*[)）]")


def normalise_markers(text: str) -> str:
    """Small models write 【1】, ［１］, [1,2,3], [1-3], [资料1] or （资料1） variants; bring them to [1][2]….

    Every number must reach the marker check: "[1,2,7]" left as written showed a 7 that points to no source.
    """
    def repl(m: re.Match) -> str:
        inner = halfwidth_digits(m.group(1) or m.group(2))
        numbers = []
        for part in re.split(r"\s*[,，、]\s*", inner):
            ends = [int(n) for n in re.findall(r"\d+", part)]
            numbers += list(range(ends[0], ends[-1] + 1)) if 0 < ends[-1] - ends[0] < 10 else ends
        return "".join(f"[{n}]" for n in numbers)

    return MARKER_VARIANT.sub(repl, text)
