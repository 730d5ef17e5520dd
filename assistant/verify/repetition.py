"""A small model sometimes writes the same sentences again and again: find where that starts and cut it."""

from __future__ import annotations

import re

from assistant.verify.patterns import CITE, SENTENCE_END

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
