"""Chinese text helpers every layer shares: numerals, full-width digits, law names.

Laws number their articles in Chinese numerals (第一千零四十二条) while people and models write digits
(第1042条, 第１０４２条), and the law database calls a law 中华人民共和国老年人权益保障法 while everyone
else says 老年人权益保障法. These helpers are the one place that knows each of those spellings.
"""

from __future__ import annotations

import re

PRC = "中华人民共和国"

_DIGITS = "零一二三四五六七八九"
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_NOT_WORDS = re.compile(r"[\W_]+")


def to_cn_numeral(n: int) -> str:
    """18 -> 十八, 1042 -> 一千零四十二 (how law articles are numbered), 10010 -> 一万零一十."""
    if n >= 10000:  # a question's "第12345条" reaches here: no law has it, but it must not crash
        high, low = divmod(n, 10000)
        tail = "" if not low else ("零" if low < 1000 else "") + ("一" if 10 <= low < 20 else "") + to_cn_numeral(low)
        return to_cn_numeral(high) + "万" + tail
    if n < 10:
        return _DIGITS[n]
    out, zero = "", False
    for value, name in ((1000, "千"), (100, "百"), (10, "十")):
        d, n = divmod(n, value)
        if d:
            if zero:
                out += "零"
            out += ("" if (value == 10 and d == 1 and not out) else _DIGITS[d]) + name
            zero = False
        elif out:
            zero = True
    if n:
        out += ("零" if zero else "") + _DIGITS[n]
    return out


def cn_to_int(text: str) -> int | None:
    """十八 -> 18, 两千 -> 2000, 十万 -> 100000; None when ``text`` is not a Chinese numeral."""
    total, section, current = 0, 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            if unit == 10000:
                total += (section + current) * unit
                section = current = 0
            else:
                section += (current or 1) * unit
                current = 0
        else:
            return None
    return total + section + current


def halfwidth_digits(text: str) -> str:
    """'第１８条' -> '第18条': input methods type full-width digits, the checks compare ASCII ones."""
    return text.translate(_FULLWIDTH_DIGITS)


def words_only(text: str) -> str:
    """'居委会能代他申请吗？[1]' -> '居委会能代他申请吗1': the characters, without punctuation or spaces, for comparing
    texts that differ only in how they are punctuated."""
    return _NOT_WORDS.sub("", text)


def short_law_name(name: str) -> str:
    """'《中华人民共和国民法典》' -> '民法典': the name people use, without the state's name."""
    return name.strip("《》").removeprefix(PRC)
