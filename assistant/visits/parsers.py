"""The Chinese parsers the visit code uses (jionlp: times, phone numbers, ID cards), imported quietly.

jionlp prints a banner on standard output when imported and logs an English traceback on the root
logger for every string its time parser cannot read ("六百八两个"); `shegong visit-note --json` must
print exactly one JSON object, and those tracebacks are not errors of ours. So the import sends
stdout to stderr, and a filter on the root logger drops the time parser's own tracebacks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import sys
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

_lock = threading.Lock()


class _DropJionlpTracebacks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "jionlp" not in (record.pathname or "")


@lru_cache(maxsize=1)
def jio():
    with _lock, contextlib.redirect_stdout(sys.stderr):
        import jionlp

        logging.getLogger().addFilter(_DropJionlpTracebacks())
        return jionlp


@dataclass(frozen=True)
class TimePoint:
    text: str
    start: int
    end: int
    first: dt.datetime
    last: dt.datetime

    @property
    def one_day(self) -> bool:
        return self.first.date() == self.last.date()


def _parse_dt(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return None


# jionlp misses a few colloquial words; they are rewritten to a form it knows, keeping the length
# where possible so that offsets still point into the original text.
_COLLOQUIAL = [("今早", "今晨"), ("昨早", "昨晨"), ("礼拜", "星期")]


def time_points(text: str, base: dt.date) -> list[TimePoint]:
    """Time points in ``text`` resolved against ``base`` (the visit date): 上周三下午, 前天晚上, 3号, 3/12."""
    normalised = text
    for old, new in _COLLOQUIAL:
        normalised = normalised.replace(old, new)
    base_ts = time.mktime(dt.datetime.combine(base, dt.time(12, 0)).timetuple())
    try:
        found = jio().ner.extract_time(normalised, time_base=base_ts, with_parsing=True)
    except Exception as e:  # jionlp raises on some odd inputs; a jotting must still produce a record
        # the jotting holds phone and ID numbers: only the error's type and the text's length go to the log
        logging.getLogger(__name__).debug("time extraction failed (%s) on a text of %d characters",
                                          type(e).__name__, len(text))
        return []
    out = []
    for item in found:
        detail = item.get("detail") or {}
        if detail.get("type") != "time_point" or not isinstance(detail.get("time"), list):
            continue
        first, last = (_parse_dt(v) for v in detail["time"][:2])
        if first is None or last is None:
            continue
        start, end = item["offset"]
        out.append(TimePoint(text[start:end], start, end, first, last))
    return out


@dataclass(frozen=True)
class Found:
    text: str
    start: int
    end: int
    value: str  # normalised: digits only


def phone_numbers(text: str) -> list[Found]:
    """Mobile and landline numbers, written with or without spaces."""
    seen, out = set(), []
    for item in jio().extract_phone_number(text, detail=True):
        start, end = item["offset"]
        raw = text[start:end]
        lead = len(raw) - len(raw.lstrip())
        raw = raw.strip()
        start += lead
        value = re.sub(r"\D", "", raw)
        if (start, value) in seen:
            continue
        seen.add((start, value))
        out.append(Found(raw, start, start + len(raw), value))
    return out


def id_cards(text: str) -> list[Found]:
    out = []
    for m in re.finditer(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])", text):
        out.append(Found(m.group(0), m.start(), m.end(), m.group(0).upper()))
    return out


_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"


def id_card_problem(number: str) -> str | None:
    """Why an 18-digit resident ID number (GB 11643) is not valid, in Chinese; None when it is."""
    number = (number or "").strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        return "身份证号应为18位（最后一位可以是X）"
    if _ID_CHECK[sum(int(d) * w for d, w in zip(number, _ID_WEIGHTS)) % 11] != number[-1]:
        return "身份证号校验位不对（可能抄错了一位）"
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "身份证号里的出生日期不存在"
    return None


def birth_date(number: str) -> dt.date | None:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except (ValueError, IndexError):
        return None


_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[1-9][0-9]{1,2}-?[0-9]{7,8}")


def phone_problem(number: str) -> str | None:
    """Why a phone number is not a valid mainland mobile or landline number; None when it is."""
    digits = re.sub(r"[\s-]", "", number or "")
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(re.sub(r"\s", "", number or "")) \
            or re.fullmatch(r"0[1-9][0-9]{9,10}", digits) or re.fullmatch(r"[2-9][0-9]{6,7}", digits):
        return None
    return "电话号码格式不对（手机号11位，以1开头；座机写区号加号码）"
