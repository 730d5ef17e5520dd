"""`shegong dispatch` as a user runs it: a separate process on a fresh data dir, a list file in the documented
columns, then a batch of tickets as JSON lines. Bad input gets a Chinese message and loses nothing."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["编号", "事项", "主责部门", "配合部门", "社区职责", "依据", "说明"]
ROWS = [
    ["K-01", "餐饮服务业油烟污染", "街道城市管理综合执法队", "区生态环境局", "告知转办",
     "《中华人民共和国大气污染防治法》第八十一条", "限饭店、烧烤摊等餐饮服务单位；工厂、汽修喷漆废气见K-02"],
    ["K-02", "工业企业废气污染", "区生态环境局", "", "告知转办", "《中华人民共和国大气污染防治法》", "限工厂、工业企业"],
    ["K-03", "住宅内邻里生活噪声", "社区居委会", "物业服务企业", "牵头", "",
     "限居民家中跑跳、拍球、乐器、聚会喧哗；工地施工噪声见K-04"],
    ["K-04", "建筑施工噪声（含夜间施工）", "区城市管理综合行政执法局", "区住房和城乡建设局", "告知转办", "", "限建设工地"],
    ["K-05", "独居老人关爱探访", "社区居委会", "街道社区服务中心", "牵头", "", "限辖区内独居、高龄老人"],
]
TICKETS = ["楼下烧烤店每天晚上油烟熏得我家开不了窗，找过老板没用",
           "楼上邻居天天晚上十一点还在拍球跑跳，孩子没法睡觉",
           "工单" * 5000,  # a pasted 10,000-character text: its own error line, the others still dispatched
           "隔壁工地半夜两点还在打桩，吵得整栋楼睡不着"]


def write_list(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def shegong(home: Path, *args: str, timeout: float = 600, **env) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, SHEGONG_HOME=str(home), PYTHONUNBUFFERED="1", **env)
    full_env.setdefault("SHEGONG_LLM_BACKEND", "none")
    return subprocess.run([sys.executable, "-m", "cli", "dispatch", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.integration
def test_import_then_batch_json_on_a_fresh_data_dir(tmp_path):
    home = tmp_path / "fresh"
    bad_rows = ROWS + [["K-03", "重复的编号", "某部门", "", "协助", "", ""], ["K-09", "某事", "某部门", "", "主办", "", ""]]
    listed = shegong(home, "import", str(write_list(tmp_path / "东湖街道权责清单.csv", bad_rows, encoding="gbk")),
                     "--json")
    assert listed.returncode == 2, listed.stderr  # imported, with rows left out
    report = json.loads(listed.stdout)
    assert report["version"] == 1 and report["items"] == 5 and report["knowledge_base"] == "added"
    assert [e["line"] for e in report["errors"]] == [7, 8]
    assert report["errors"][0]["reason"].startswith("编号 K-03 重复") and "“主办”不认识" in report["errors"][1]["reason"]

    batch = tmp_path / "工单.txt"
    batch.write_text("\n".join(TICKETS) + "\n\n", encoding="utf-8")
    out = shegong(home, "--batch", str(batch), "--json")
    assert out.returncode == 1, out.stderr  # one line failed, and says so
    lines = [json.loads(line) for line in out.stdout.splitlines()]  # stdout is exactly the JSON lines
    assert len(lines) == 4
    assert "工单太长了（10000 字）" in lines[2]["错误"]
    codes = {r[0] for r in ROWS}
    firsts = [line["matches"][0]["编号"] if line["matches"] else None for line in lines if "错误" not in line]
    assert firsts == ["K-01", "K-03", "K-04"]
    for line in (x for x in lines if "错误" not in x):
        assert line["清单版本"] == 1 and isinstance(line["记录号"], int)
        assert {m["编号"] for m in line["matches"]} | {b["编号"] for b in line["备选"]} <= codes
        assert set(line["matches"][0]) >= {"编号", "事项", "主责部门", "配合部门", "社区职责", "依据", "理由"}
    assert lines[0]["matches"][0]["主责部门"] == "街道城市管理综合执法队"  # the stored item, not model text
    assert "“" in lines[0]["matches"][0]["理由"]  # quotes the ticket


@pytest.mark.integration
def test_bad_lists_and_tickets_get_chinese_errors_and_change_nothing(tmp_path):
    home = tmp_path / "home"
    good = write_list(tmp_path / "清单.csv", ROWS)
    assert shegong(home, "import", str(good)).returncode == 0
    missing = write_list(tmp_path / "缺列.csv", [r[:4] + r[5:] for r in ROWS], header=HEADER[:4] + HEADER[5:])
    out = shegong(home, "import", str(missing))
    assert out.returncode == 1 and "清单缺少这些列：社区职责" in out.stderr and "Traceback" not in out.stderr
    for args, words in [(["   "], "工单内容是空的"), (["x" * 10_000], "工单太长了（10000 字）"),
                        (["review", "999", "--accept"], "没有编号为 999 的派单记录")]:
        out = shegong(home, *args)
        assert out.returncode == 1 and words in out.stderr, out.stderr
    listed = shegong(home, "list")
    assert listed.returncode == 0 and listed.stdout.startswith("第 1 版《清单》，5 项")


@pytest.mark.slow
def test_the_default_model_writes_the_reason_and_a_correction_is_recorded(tmp_path, small_model_path):
    home = tmp_path / "home"
    env = {"SHEGONG_LLM_BACKEND": "llama_cpp", "SHEGONG_LLM_MODEL_PATH": str(small_model_path)}
    assert shegong(home, "import", str(write_list(tmp_path / "清单.csv", ROWS)), **env).returncode == 0
    out = shegong(home, TICKETS[0], "--json", **env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["matches"][0]["编号"] == "K-01" and data["matches"][0]["理由"]
    fixed = shegong(home, "review", str(data["记录号"]), "--correct", "K-02", "--note", "其实是隔壁汽修店喷漆", **env)
    assert fixed.returncode == 0 and "已纠正（K-02）" in fixed.stdout
    exported = shegong(home, "export", str(tmp_path / "记录.xlsx"), **env)
    assert exported.returncode == 0 and (tmp_path / "记录.xlsx").stat().st_size > 0
