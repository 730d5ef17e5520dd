"""The shared Chinese text helpers: numerals as laws number articles, full-width digits, law names."""

from __future__ import annotations

import pytest

from shegong.chinese import PRC, cn_to_int, halfwidth_digits, short_law_name, to_cn_numeral

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("n,cn", [(1, "一"), (10, "十"), (18, "十八"), (20, "二十"), (105, "一百零五"), (110, "一百一十"),
                                  (1040, "一千零四十"), (1042, "一千零四十二"), (1260, "一千二百六十"), (1001, "一千零一")])
def test_numerals_as_laws_number_their_articles(n, cn):
    assert to_cn_numeral(n) == cn
    assert cn_to_int(cn) == n


def test_amounts_of_ten_thousand_and_more():
    """'15000元' made the converter index past its digit table (IndexError): the whole answer check failed."""
    assert to_cn_numeral(15000) == "一万五千" and to_cn_numeral(20005) == "二万零五" and to_cn_numeral(10010) == "一万零一十"
    assert to_cn_numeral(100000) == "十万" and cn_to_int("十万") == 100000
    assert cn_to_int("两千") == 2000 and cn_to_int("一千二百六十") == 1260


def test_what_is_not_a_numeral():
    assert cn_to_int("十八岁") is None and cn_to_int("abc") is None


def test_full_width_digits_and_law_names():
    assert halfwidth_digits("第１８条，１５０００元") == "第18条，15000元"
    assert short_law_name("《中华人民共和国民法典》") == "民法典" == short_law_name(PRC + "民法典")
    assert short_law_name("老年人权益保障法") == "老年人权益保障法"
