"""Chinese text helpers: index normalisation, tokenising, sentences, decoding, headings."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple
from pathlib import Path

from shegong.errors import BadDocument

USERDICT = Path(__file__).with_name("userdict.txt")

# Kept short on purpose: only words that carry no meaning in a question.
STOPWORDS = frozenset(
    "的 地 得 了 着 过 是 在 和 与 及 或 也 都 就 还 又 吗 呢 吧 啊 呀 嘛 么 "
    "怎么 怎么办 怎样 如何 什么 哪些 哪里 为什么 请问 一下 我 你 他 她 我们 你们 他们 "
    "这 那 这个 那个 这些 那些 有 没有 要 会 能 可以 应该 需要 把 被 对 从 向 给 让".split()
)

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_SPACES = re.compile(r"\s+")


# --- normalisation (for index text only; users always see the original) ---


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """Full-width ASCII to half-width, one space between words, traditional to simplified."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    text = _SPACES.sub(" ", text).strip()
    return _t2s().convert(text) if text else text


# --- tokenising (BM25) ---


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(60)  # silence "Building prefix dict..." on every start
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(USERDICT))
    return tokenizer


def _is_noise(token: str) -> bool:
    # whitespace, punctuation and symbols (unicode categories Z*, P*, S*)
    return all(unicodedata.category(ch)[0] in "ZPS" for ch in token)


def tokenize(text: str) -> list[str]:
    """jieba search-mode tokens (long words plus their parts) of ``normalize(text)``.

    Search mode helps recall: 无犯罪记录证明 also yields 犯罪, 记录, 证明.
    """
    tokens = (t.strip().lower() for t in _jieba().cut_for_search(normalize(text)))
    return [t for t in tokens if t and not _is_noise(t) and t not in STOPWORDS]


# --- sentences ---

_SENTENCE = re.compile(r"[^。！？；!?\n]*[。！？；!?]+[”’\"」』）)]*|[^。！？；!?\n]+")


def split_sentences(text: str) -> list[str]:
    """Split on 。！？；!? and newlines, keeping the punctuation (and a closing quote)."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


# --- headings ---

NUMERALS = "零〇一二三四五六七八九十百千两"
_CN = "一二三四五六七八九十"
_HEADING_PATTERNS: list[tuple[re.Pattern, int]] = [
    (re.compile(rf"^第[{NUMERALS}\d]+编"), 1),
    (re.compile(rf"^第[{NUMERALS}\d]+章"), 2),
    (re.compile(rf"^第[{NUMERALS}\d]+节"), 3),
    (re.compile(rf"^[{_CN}]+、"), 1),
    (re.compile(rf"^[（(][{_CN}]+[）)]"), 2),
    (re.compile(r"^(\d{1,2}[.．、](?!\d)|[（(]\d{1,2}[）)])"), 3),
]
# The line that starts an attachment of a 通知 or 办法: "附件", "附件1", "附件二：". Not the list of
# attachments in the body ("附件：1．…"), which has a colon and no number.
ATTACHMENT = re.compile(rf"^附\s*件(?:\s*[{_CN}\d]+\s*[：:]?)?$")
ARTICLE_START = re.compile(rf"^(第[{NUMERALS}\d]+条(?:之[{_CN}]+)?)(?:[\s\u3000]+|$)")
SENTENCE_END = re.compile(r"[。；;…]|[！？!?](?!$)")
_LIST_ITEM = re.compile(r"[，,、？?！!]|[：:](?!$)")
MAX_HEADING_CHARS = 40


def heading_level(line: str) -> int | None:
    """Level of a Chinese-numbered heading line (第X编/章/节, 一、, （一）, 1.), else None.

    Only short lines without sentence punctuation count, so a numbered step such
    as "1. 立即拨打110报警，并通知家属。" stays a paragraph. Levels 1-2 may end
    with a question mark ("（三）遇到家暴怎么办？"); level 3 (1. / （1）) is stricter, since
    numbered list items look alike: no comma, 、 or question mark, and a colon only at the end.
    """
    line = line.strip()
    if not line or len(line) > MAX_HEADING_CHARS or SENTENCE_END.search(line):
        return None
    if ATTACHMENT.match(line):
        return 1
    for pattern, level in _HEADING_PATTERNS:
        match = pattern.match(line)
        if match:
            if level == 3 and not line.startswith("第") and _LIST_ITEM.search(line[match.end() :]):
                return None
            return level
    return None


def is_structural_heading(level: int | None, line: str) -> bool:
    """编/章/节 headings and the start of an attachment: the only ones that break a law article."""
    return level is not None and (line.strip().startswith("第") or bool(ATTACHMENT.match(line.strip())))


# --- decoding ---


def _looks_like_text(text: str) -> bool:
    if not text.strip():
        return True
    bad = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Co", "Cn") and ch not in "\r\n\t\f")
    return bad / len(text) < 0.01 and "\ufffd" not in text


def _mostly_common_hanzi(text: str) -> bool:
    """Big5 bytes also decode as GBK, but into rare characters; real GBK text is mostly GB2312."""
    hanzi = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    if len(hanzi) < 20:
        return True
    common = 0
    for ch in hanzi:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common / len(hanzi) >= 0.8


class Decoded(NamedTuple):
    text: str
    encoding: str
    replaced: int = 0  # bytes that could not be read and became U+FFFD

    @property
    def warnings(self) -> list[str]:
        if not self.replaced:
            return []
        return [f"文件按 {self.encoding.upper()} 编码读取，其中 {self.replaced} 处字节无法识别（文件可能不完整，或混用了编码），"
                "已用 � 代替，其余内容照常导入。请核对原文件"]


def detect_decode(data: bytes) -> Decoded:
    """Decode file bytes: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030, then a guess.

    Raises BadDocument when nothing gives readable text.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Windows Notepad "Unicode"
        try:
            return Decoded(data.decode("utf-16"), "utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text) and (encoding != "gb18030" or _mostly_common_hanzi(text)):
            return Decoded(text, "utf-8" if encoding == "utf-8-sig" else encoding)
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        text = str(best)
        if _looks_like_text(text):
            return Decoded(text, best.encoding)
    # A file cut off mid-character, or a few stray bytes pasted in from another encoding: keep the text,
    # mark the bytes, and say so (Decoded.warnings) instead of refusing the whole file.
    for encoding in ("utf-8-sig", "gb18030"):
        text = data.decode(encoding, errors="replace")
        bad = text.count("\ufffd")
        if bad <= max(3, len(text) // 500) and _looks_like_text(text.replace("\ufffd", "")) \
                and (encoding != "gb18030" or _mostly_common_hanzi(text)):
            return Decoded(text, "utf-8" if encoding == "utf-8-sig" else encoding, bad)
    raise BadDocument("文件编码无法识别，或者这不是文本文件。请用记事本或 WPS 另存为 UTF-8 编码后再上传")
