"""The real `shegong` CLI as a subprocess: visit-note --json prints exactly one JSON object on standard output
(logs and the parsers' banners on standard error), a roster import lists its bad rows, a visit saved from the
command line shows up in a ledger query and in the year's summary and its Word file, eval visits runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.visits.record import EXTRA, FIELDS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
NOTE = "上周三下午去的 补记 刘德顺 七十九岁 现在一个人 说晚上睡不着 不想吃饭 儿子在深圳 电话139 0000 4521"


def shegong(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, SHEGONG_HOME=str(home), SHEGONG_LLM_BACKEND="none")
    out = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=300,
                         cwd=ROOT, env=env)
    if check:
        assert out.returncode == 0, out.stderr[-2000:]
    return out


def test_visit_note_json_is_exactly_one_object_on_stdout(shegong_home):
    out = shegong(shegong_home, "visit-note", NOTE, "--date", "2026-03-12", "--json")
    record = json.loads(out.stdout)  # the whole of stdout: one object, nothing before or after it
    assert out.stdout.count("\n") == 1 and out.stdout.startswith("{")
    assert list(record) == FIELDS + EXTRA
    assert record["走访对象"]["姓名"] == "刘德顺" and record["走访时间"] == "2026-03-04 下午"
    assert record["风险等级"]["风险标记"] == ["独居", "精神心理异常"] and "后续跟进" in record["待补充"]
    assert record["走访记录"] and record["已删除的无依据内容"] == []
    # a jotting that is not there: one Chinese line on stderr, nothing on stdout
    bad = shegong(shegong_home, "visit-note", "   ", "--json", check=False)
    assert bad.returncode == 1 and bad.stdout == "" and "请先输入走访时记下的内容" in bad.stderr


def test_ledger_and_summary_from_the_command_line(shegong_home, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("姓名,身份证号,联系电话,人员类别,是否独居\n刘德顺,,13900004521,独居老人,是\n"
                      "坏行,110101199003071234,123,,\n", encoding="utf-8")
    out = shegong(shegong_home, "ledger", "import", str(roster), "--community", "幸福社区")
    assert out.stdout.startswith("导入 1 人") and "第 3 行（坏行）：身份证号校验位不对" in out.stdout
    assert "电话号码格式不对" in out.stdout
    saved = shegong(shegong_home, "visit-note", NOTE, "--date", "2026-03-12", "--save", "--community", "幸福社区",
                    "--json")
    assert json.loads(saved.stdout)["走访对象"]["姓名"] == "刘德顺" and "已存入台账，走访编号 1" in saved.stderr
    from service import Service

    stored = Service().ledger.visit(1, "幸福社区")["record"]  # the record printed is the record stored
    assert json.loads(stored) == json.loads(saved.stdout) and json.loads(stored)["走访记录"]
    query = shegong(shegong_home, "ledger", "query", "一年没走访的独居老人", "--today", "2026-12-20", "--json")
    assert [row[0] for row in json.loads(query.stdout)["行"]] == []  # visited in March: within the year
    query = shegong(shegong_home, "ledger", "query", "两个月没走访的独居老人", "--today", "2026-12-20", "--json")
    assert [row[0] for row in json.loads(query.stdout)["行"]] == ["刘德顺"]
    shegong(shegong_home, "user", "add", "wangfang", "--role", "社工", "--password", "secret-123")
    assert "所属社区：和平社区" in shegong(shegong_home, "ledger", "community", "wangfang", "和平社区").stdout
    from service import accounts

    assert Service().user_community(accounts.get_user("wangfang")) == "和平社区"
    docx = tmp_path / "总结.docx"
    summary = shegong(shegong_home, "summary", "--year", "2026", "--docx", str(docx), "--json")
    data = json.loads(summary.stdout)
    assert data["统计"]["走访总次数"] == 1 and data["统计"]["每月走访次数"]["3月"] == 1
    assert "共开展走访1次" in data["年度工作总结"] and docx.stat().st_size > 10_000


def test_eval_visits_reports_the_figures(shegong_home):
    out = shegong(shegong_home, "eval", "visits", "--model", "none", "--set", "own")
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["指标", "own"]
    assert any(line.startswith("无依据事实数（须为 0）") and line.split()[-1] == "0" for line in lines)
    assert any(line.startswith("风险标记召回率") for line in lines)
