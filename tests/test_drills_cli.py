"""``shegong drill …``: import with bad rows reported, export, practice and an exam at the terminal, progress;
through the service as the local system user."""

from __future__ import annotations

import json

import openpyxl
import pytest
from typer.testing import CliRunner

import knowledge.library as library_module
from assistant.drills import SAMPLE_BANK
from assistant.drills.bankfile import read_bank
from cli import app

pytestmark = pytest.mark.integration

runner = CliRunner()
KEY = {q.id: q for q in read_bank(SAMPLE_BANK).questions}


@pytest.fixture
def cli_library(library, monkeypatch):
    monkeypatch.setattr(library_module, "_library", library)
    monkeypatch.setenv("SHEGONG_LLM_BACKEND", "none")
    return library


def test_import_export_practice_exam_and_progress(cli_library, tmp_path):
    bank = tmp_path / "本区题库.jsonl"
    bank.write_text("\n".join([
        json.dumps({"id": "L-1", "stem": "本区网格员每月至少走访独居老人几次？", "options": {"A": "一次", "B": "两次"},
                    "answer": "B", "explanation": "本区规定每月至少两次。", "tags": ["本区规定"]}, ensure_ascii=False),
        json.dumps({"id": "L-2", "stem": "缺解析的题", "options": {"A": "甲", "B": "乙"}, "answer": "A"},
                   ensure_ascii=False)]) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["drill", "import", str(bank)])
    assert result.exit_code == 0, result.output
    assert "新增 1 题" in result.output and "第 2 行（L-2）：缺少“解析”" in result.output

    out = tmp_path / "全部.xlsx"
    result = runner.invoke(app, ["drill", "export", str(out)])
    assert result.exit_code == 0 and "已导出 180 道题" in result.output
    assert openpyxl.load_workbook(out).active.max_row == 181

    # Practice: a wrong answer, then a right one; each with its explanation and 相关依据.
    first = KEY["Q-FG-001"]
    wrong = next(ch for ch in first.options if ch != first.answer)
    result = runner.invoke(app, ["drill", "practice", "--tag", "老年人权益保障法", "--limit", "2"],
                           input=f"{wrong}\n{KEY['Q-FG-002'].answer}\n")
    assert result.exit_code == 0, result.output
    assert "✗ 回答错误，正确答案：B" in result.output and first.explanation in result.output
    assert "相关依据：《中华人民共和国老年人权益保障法》第一章 总则 › 第二条" in result.output
    assert "已记入错题本，明天复习" in result.output and "✓ 回答正确" in result.output
    assert "本次练习完成，共 2 题" in result.output

    # A short exam with nothing answered ("?" is no option letter): scored 0, every question reviewed.
    result = runner.invoke(app, ["drill", "exam", "--per-subject", "4", "--subject", "社会工作法规与政策"],
                           input="\n".join(["?"] * 4) + "\n")
    assert result.exit_code == 0, result.output
    assert "社会工作法规与政策：0/5 分，百分制 0，未及格" in result.output and "未作答" in result.output

    result = runner.invoke(app, ["drill", "progress"])
    assert "累计答题 2 道，答对 1 道" in result.output and "错题本 1 道" in result.output
    assert "老年人权益保障法 1/2（50%）" in result.output


def test_a_bad_bank_file_is_one_clear_error(cli_library, tmp_path):
    bad = tmp_path / "题库.docx"
    bad.write_text("x")
    result = runner.invoke(app, ["drill", "import", str(bad)])
    assert result.exit_code != 0 and "不支持的题库文件类型" in str(result.exception)
