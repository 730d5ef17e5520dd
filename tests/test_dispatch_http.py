"""The 派单 tab of the real app over HTTP (gradio_client): dispatch, accept, correct, a correction used next
time, the 督导 import form, and the roles checked on the server."""

from __future__ import annotations

import csv

import pytest
from gradio_client import Client, handle_file

from appserver import app_over, client

pytestmark = pytest.mark.integration

OIL = "楼下烧烤店每天晚上油烟熏得我家开不了窗，找过老板没用"
ALARM = "小区里停的车半夜防盗报警器一直响，吵得我们整栋楼都睡不着"


@pytest.fixture(scope="module")
def server(tmp_path_factory, sample_kbs_dir):
    # its accounts include a 学员, who may not dispatch
    with app_over(tmp_path_factory, sample_kbs_dir, "dispatchhome") as srv:
        yield srv


def shown(markdown: str) -> str:
    """A message as the page shows it: the Markdown escapes (ui.md) removed."""
    return markdown.replace("\\", "")


def dispatch(c: Client, ticket: str) -> tuple[str, dict, int]:
    html, data, record, _codes, _msg = c.predict(ticket, api_name="/dispatch")
    return html, data, int(record)


def test_a_worker_dispatches_accepts_and_corrects(server):
    worker = client(server, "shegong")
    html, data, record = dispatch(worker, OIL)
    assert data["matches"][0]["编号"] == "A-008" and not data["无匹配"]  # the bundled 示例 list
    assert "餐饮服务业油烟污染" in html and "示例清单" in html and "&lt;" not in data["结论"]
    assert "记录 %d 已确认" % record in worker.predict(record, api_name="/dispatch_accept")

    _, first, rec2 = dispatch(worker, ALARM)
    target = "A-007" if first["matches"][:1] and first["matches"][0]["编号"] != "A-007" else "A-005"
    msg = shown(worker.predict(rec2, [target], "本区把车辆报警器算交通噪声", api_name="/dispatch_correct"))
    assert f"记录 {rec2} 已纠正：{target}" in msg
    _, again, _ = dispatch(worker, "半夜楼下停着的那辆车防盗器老是叫，一响就是十几分钟")
    assert again["matches"][0]["编号"] == target and again["参考的纠正记录"][0]["应派"] == [target]

    _, no_fit, rec3 = dispatch(worker, "想问一下福利彩票中了五千块钱去哪里兑奖，要带什么证件")
    msg = shown(worker.predict(rec3, ["无匹配"], "", api_name="/dispatch_correct"))
    # "corrected" to what it already said is an acceptance: nothing to learn from
    assert msg.endswith(("已确认：无匹配" if no_fit["无匹配"] else "已纠正：无匹配"))


def test_bad_tickets_and_missing_choices_get_chinese_errors(server):
    worker = client(server, "shegong")
    for bad, words in [("   ", "工单内容是空的"), ("工单" * 5000, "工单太长了")]:
        with pytest.raises(Exception, match=words):
            dispatch(worker, bad)
    with pytest.raises(Exception, match="请先派单"):
        worker.predict(None, api_name="/dispatch_accept")
    _, _, record = dispatch(worker, OIL)
    with pytest.raises(Exception, match="请先在“应派事项”中选择"):
        worker.predict(record, [], "", api_name="/dispatch_correct")
    with pytest.raises(Exception, match="清单里没有这些编号：Z-999"):
        worker.predict(record, ["Z-999"], "", api_name="/dispatch_correct")


def test_roles_are_checked_on_the_server(server, tmp_path):
    worker, student, supervisor = client(server, "shegong"), client(server, "xueyuan"), client(server, "dudao")
    listed = tmp_path / "清单.csv"
    with open(listed, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["编号", "事项", "主责部门", "配合部门", "社区职责", "依据", "说明"],
                                 ["Q-1", "餐饮油烟", "执法队", "", "告知转办", "", ""]])
    with pytest.raises(Exception) as refused:  # refused at Gradio's upload route already, before any file is kept
        worker.predict(handle_file(str(listed)), "", api_name="/dispatch_import")
    assert "403" in str(refused.value) or "没有权限" in str(refused.value)
    with pytest.raises(Exception, match="没有权限执行此操作：导入权责清单或导出派单记录"):
        worker.predict(api_name="/dispatch_export")
    with pytest.raises(Exception, match="没有权限执行此操作：12345 工单派单"):
        dispatch(student, OIL)
    _, _, theirs = dispatch(supervisor, OIL)
    with pytest.raises(Exception, match="只能确认或纠正自己派的单"):
        worker.predict(theirs, api_name="/dispatch_accept")
    exported = supervisor.predict(api_name="/dispatch_export")
    assert str(exported.get("value", exported) if isinstance(exported, dict) else exported).endswith(".xlsx")


def test_a_supervisor_imports_a_list_with_the_form(server, tmp_path):
    supervisor = client(server, "dudao")
    path = tmp_path / "东湖街道权责清单.csv"
    with open(path, "w", encoding="gbk", newline="") as f:
        csv.writer(f).writerows([
            ["编号", "事项", "主责部门", "配合部门", "社区职责", "依据", "说明"],
            *[[f"E-{i:02d}", m, "某部门", "", "告知转办", "", ""] for i, m in enumerate(
                ["餐饮服务业油烟污染", "工业企业废气", "邻里生活噪声", "建筑施工噪声", "路灯损坏"], 1)],
            ["E-03", "重复", "某部门", "", "协助", "", ""]])
    report, cleared = supervisor.predict(handle_file(str(path)), "东湖街道", api_name="/dispatch_import")
    assert report.startswith("已导入第 2 版「东湖街道」：可导入 5 项") and "第 7 行：编号 E-03 重复" in report
    assert cleared is None
    _, data, _ = dispatch(supervisor, OIL)
    assert data["清单版本"] == 2 and data["matches"][0]["编号"] == "E-01"
    assert not any("示例清单" in w for w in data["提示"])
