"""What a code review found in the visits feature: nothing private in the log, a record edited by a client
checked field by field, spreadsheet cells that stay text, community names an office and Excel accept."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import pytest

from assistant.visits import parsers

PHONE, ID_NUMBER = "13900004521", "320102194103150021"


@pytest.mark.unit
def test_a_time_extraction_error_logs_neither_phone_nor_id_number(monkeypatch, caplog):
    def broken(text, **_kw):
        raise ValueError(f"cannot parse {text}")

    monkeypatch.setattr(parsers, "jio", lambda: SimpleNamespace(ner=SimpleNamespace(extract_time=broken)))
    jotting = f"昨天上门 王秀英 电话{PHONE} 身份证{ID_NUMBER}"
    with caplog.at_level(logging.DEBUG, logger=parsers.__name__):
        assert parsers.time_points(jotting, dt.date(2026, 3, 12)) == []
    assert "ValueError" in caplog.text and str(len(jotting)) in caplog.text
    assert PHONE not in caplog.text and ID_NUMBER not in caplog.text
