"""People named in a jotting: 陈桂英, 王阿婆, 老葛, 小宇, 赵家 (a household), and whether each is a relative
or a colleague rather than the person visited. Used by the extractor and by the checker (a name in a
generated text must be one the jotting has)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.visits import lexicon as lx

@lru_cache(maxsize=1)
def _name_patterns():
    sur = lx.surnames()
    honorific = re.compile(rf"([{sur}])(?:{lx.HONORIFIC})")
    old = re.compile(rf"(?<![\u4e00-\u9fff])老([{sur}])(?![\u4e00-\u9fff])")
    full = re.compile(rf"[{sur}][\u4e00-\u9fff]{{1,2}}")
    return sur, honorific, old, full


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba, jieba.posseg


def _common_word(word: str) -> bool:
    """A dictionary word that is not a person's name (周末, 高血压, 石头)."""
    jieba, posseg = _jieba()
    tag = posseg.dt.word_tag_tab.get(word)
    return tag is not None and not tag.startswith("nr")


# Where a person is placed right before their name: 一楼蒋大妈, 402曹大妈, 对门王阿姨
PLACE_BEFORE = r"楼|层|户|室|栋|单元|隔壁|对门|楼上|楼下"


@dataclass
class Name:
    text: str
    start: int
    end: int
    kind: str  # full | honorific | household | nickname
    relative: bool  # preceded by 儿子/老伴/邻居…: someone else than the person visited
    companion: bool = False  # 跟小李一起去的: a colleague


def _tokens(text: str) -> list[tuple[int, int]]:
    jieba, _ = _jieba()
    out, pos = [], 0
    for tok in jieba.cut(text, HMM=True):
        out.append((pos, pos + len(tok)))
        pos += len(tok)
    return out


def find_names(text: str, start: int = 0, end: int | None = None) -> list[Name]:
    """People named in ``text[start:end]``: 陈桂英, 王阿婆, 老葛, 小宇, 赵家 (a household)."""
    end = len(text) if end is None else end
    seg = text[start:end]
    sur, honorific, old, full = _name_patterns()
    found: list[Name] = []
    taken: list[range] = []

    def before(pos: int) -> str:
        return seg[max(0, pos - 6):pos]

    def add(s: int, e: int, kind: str) -> None:
        if any(s in r or (e - 1) in r for r in taken):
            return
        lead = before(s)
        relative = bool(re.search(rf"(?:{lx.RELATION})$", lead))
        companion = bool(re.search(rf"(?:{lx.COMPANION})$", lead)) and kind == "nickname"
        found.append(Name(seg[s:e], start + s, start + e, kind, relative, companion))
        taken.append(range(s, e))

    for m in honorific.finditer(seg):
        if m.start() and re.match(r"[\u4e00-\u9fff]", seg[m.start() - 1]) and not re.search(
                rf"(?:去|给|帮|看|找|叫|是|住|和|跟|说|问|反映|{lx.RELATION}|{PLACE_BEFORE}|\d)$", seg[:m.start()]):
            continue  # 周阿姨 inside a longer word is still a name; 邻居王大妈 too; 大姑妈 is not
        add(m.start(), m.end(), "honorific")
    for m in old.finditer(seg):
        add(m.start(), m.end(), "honorific")
    for m in re.finditer(rf"(?<![\u4e00-\u9fff])老[{sur}]头", seg):  # 老杨头
        add(m.start(), m.end(), "honorific")
    for m in re.finditer(r"(?:(?<![\u4e00-\u9fff])|(?<=叫|是))小([\u4e00-\u9fff])(?![\u4e00-\u9fff])", seg):
        if not _common_word(m.group(0)) and m.group(1) not in lx.NOT_GIVEN:
            add(m.start(), m.end(), "nickname")
    for m in re.finditer(rf"(?:{lx.COMPANION})(小[{sur}])", seg):
        add(m.start(1), m.end(1), "nickname")
    tokens = _tokens(seg)
    for s, ch in enumerate(seg):  # every position: rare surnames (人, 子) must not hide the real one after them
        if ch not in sur:
            continue
        if any(s in r for r in taken):
            continue
        if s and re.match(r"[\u4e00-\u9fff]", seg[s - 1]) and not re.search(
                rf"(?:去|给|帮|看|找|叫|是|住|访|{lx.RELATION}|盲人|聋哑人|孕妇|矫正|人员|儿童|五保户|低保户|独居|老人)$",
                seg[:s]):
            continue  # the surname character is inside another word
        for length in (3, 2):
            e = s + length
            if e > len(seg):
                continue
            cand = seg[s:e]
            given = cand[1:]
            # a name written on its own (杨有田, 王来福) may have characters that elsewhere end a name
            alone = s == 0 and e == len(seg)
            if any(c in lx.NOT_GIVEN and not (alone and c in lx.GIVEN_ALONE) for c in given) \
                    or not re.fullmatch(r"[\u4e00-\u9fff]+", given) or cand.endswith("家"):
                continue
            if re.match(r"[着了过]", seg[e:e + 1]):
                continue  # 门开着: a verb, not a name
            visited_home = length == 3 and seg[e:e + 1] == "家" and re.search(r"(?:去|到|在|住)$", seg[:s])
            if (_common_word(cand) and not visited_home) or (length == 3 and not alone and _common_word(cand[:2])):
                continue  # 周末, 高血压; 上次记的 starts with the word 上次; but 去马建国家 is a visit
            if any(s < ts < e < te and not (te == e + 1 and seg[e] == "家") for ts, te in tokens):
                continue  # the name would end inside a word that starts within it (魏磊|现在)
            if re.match(r"里|路|街|巷|村|小区|楼|栋|苑|园|院|厂|宿舍|社区|公寓|新村|花园", seg[e:]):
                continue  # 桂花里, 幸福路: a place
            if e < len(seg) and seg[e] == "家" and length == 2 and not re.search(rf"(?:住|去|在|{lx.RELATION})$", seg[:s]):
                continue  # 杨家 = the Yang household, not a person
            add(s, e, "full")
            break
    for m in re.finditer(rf"([{sur}])家(?![里人属庭务])", seg):
        if not any(m.start() in r for r in taken) and (m.start() == 0 or not re.match(r"[\u4e00-\u9fff]",
                                                                                    seg[m.start() - 1])
                                                       or re.search(r"(?:去|给|到|问了?)$", seg[:m.start()])):
            add(m.start(), m.end(), "household")
    found.sort(key=lambda n: n.start)
    return found
