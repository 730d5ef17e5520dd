"""Exports and the annual summary: real DOCX/XLSX files; the summary DOCX converted to PDF by LibreOffice."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess

import openpyxl
import pytest
from docx import Document

from assistant.visits import export, summary
from assistant.visits.ledger import Ledger
from assistant.visits.writer import make_record

pytestmark = pytest.mark.integration

JOTTINGS = [
    ("2026-01-15", "今天上午上门 陈桂英 84岁 一个人住 降压药快吃完了 电话139 0000 4521"),
    ("2026-03-02", "今天下午去的 刘德顺 79岁 现在一个人 晚上睡不着 不想吃饭"),
    ("2026-03-20", "入户 何丽萍 低保 房租欠了三个月 房东催"),
    ("2026-06-08", "今天上门 小宇 10岁 爸妈在浙江打工 奶奶住院了 这几天小宇自己在家"),
]


@pytest.fixture
def ledger(shegong_home, tmp_path):
    led = Ledger()
    roster = tmp_path / "r.csv"
    roster.write_text("姓名,人员类别,是否独居\n陈桂英,独居老人,是\n刘德顺,独居老人,是\n王秀英,独居老人,是\n何丽萍,低保对象,否\n",
                      encoding="utf-8")
    led.import_roster(roster, "幸福社区")
    for day, text in JOTTINGS:
        led.add_visit(make_record(text, dt.date.fromisoformat(day)), "幸福社区")
    return led


def test_visit_record_docx_and_xlsx_are_masked_unless_full(tmp_path):
    data = make_record("今天上午上门 陈桂英 84岁 一个人住 降压药快吃完了 电话139 0000 4521 身份证320000194103150021",
                       dt.date(2026, 3, 16)).to_json()
    docx_path = export.record_to_docx(data, tmp_path / "记录.docx", "幸福社区")
    text = "\n".join(c.text for t in Document(docx_path).tables for r in t.rows for c in r.cells)
    assert "陈桂英（84岁）" in text and "139****4521" in text and "13900004521" not in text
    assert "0000 4521" not in text and "320000194103150021" not in text and "3200**********0021" in text
    full = export.record_to_docx(data, tmp_path / "完整.docx", full=True)
    assert "13900004521" in "\n".join(c.text for t in Document(full).tables for r in t.rows for c in r.cells)
    xlsx = export.record_to_xlsx(data, tmp_path / "记录.xlsx")
    cells = {row[0]: row[1] for row in openpyxl.load_workbook(xlsx).active.iter_rows(values_only=True)}
    assert cells["走访对象"] == "陈桂英（84岁）" and cells["联系电话"] == "139****4521"
    assert "独居" in cells["风险等级"] and cells["风险等级"].startswith("高")


def test_ledger_export_masks_ids_and_phones(ledger, tmp_path):
    columns, rows = export.ledger_rows(ledger.residents("幸福社区"))
    rows[0][4], rows[0][5] = "320000194103150021", "13900004521"
    path = export.table_to_xlsx("幸福社区台账", columns, rows, tmp_path / "台账.xlsx")
    values = [list(r) for r in openpyxl.load_workbook(path).active.iter_rows(values_only=True)]
    assert values[0][0] == "幸福社区台账" and values[1] == columns
    assert values[2][4] == "3200**********0021" and values[2][5] == "139****4521"
    docx_path = export.table_to_docx("幸福社区台账", columns, rows, tmp_path / "台账.docx", full=True)
    assert Document(docx_path).tables[0].rows[1].cells[4].text == "320000194103150021"


def test_year_statistics_from_the_ledger(ledger):
    stats = summary.compute(ledger, 2026, "幸福社区")
    assert stats.visits == 4 and stats.people == 4
    assert stats.by_month[3] == 2 and stats.by_month[1] == 1 and stats.by_month[6] == 1 and stats.by_month[2] == 0
    assert stats.by_risk == {"高": 2, "中": 2}  # 陈桂英 (独居+高龄+药品将尽), 小宇 (监护缺失)
    assert stats.high_found == 2 and stats.high_resolved == 0
    assert stats.coverage["独居老人"] == (2, 3)  # 王秀英 was not visited
    assert "街道民政（社会救助）" in stats.referrals
    assert summary.compute(ledger, 2025, "幸福社区").visits == 0
    assert summary.compute(ledger, 2026, "别的社区").visits == 0


def test_narrative_numbers_are_checked_against_the_statistics(ledger):
    stats = summary.compute(ledger, 2026, "幸福社区")
    text, removed = summary.checked_narrative(
        "2026年共走访4次，走访4人。独居老人覆盖2/3人，覆盖率67%。全年还组织了15次集体活动。发现高风险2次。", stats)
    assert "15次" not in text and "走访4次" in text and "67%" in text and "高风险2次" in text
    assert len(removed) == 1 and "15" in removed[0]


def test_chart_uses_a_cjk_font(ledger, tmp_path):
    font = summary.cjk_font()
    if font is None:
        if os.environ.get("CI") == "true":
            pytest.fail("没有中文字体（scripts/setup.sh 安装 fonts-wqy-microhei）")
        pytest.skip("no CJK font installed (bash scripts/setup.sh installs fonts-wqy-microhei)")
    from matplotlib import font_manager

    # the font really has the glyphs of the labels (no tofu boxes)
    from matplotlib.ft2font import FT2Font

    face = FT2Font(font)
    assert all(face.get_char_index(ord(ch)) for ch in "每月走访次数风险等级高中低")
    png = summary.chart_png(summary.compute(ledger, 2026, "幸福社区"), tmp_path / "c.png")
    assert png.stat().st_size > 10_000
    assert font_manager.FontProperties(fname=font).get_name() in summary.CJK_FONTS


def test_summary_docx_opens_in_libreoffice_with_text_and_chart(ledger, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is not installed (bash scripts/setup.sh --dev installs it)")
        pytest.skip("LibreOffice is not installed (bash scripts/setup.sh --dev installs it)")
    if summary.cjk_font() is None:
        pytest.skip("no CJK font")
    stats = summary.compute(ledger, 2026, "幸福社区")
    text = summary.composed_narrative(stats)
    path = summary.summary_docx(stats, text, tmp_path / "总结.docx")
    env = dict(os.environ, HOME=str(tmp_path))  # LibreOffice writes its profile under HOME
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=240, env=env)
    from pypdf import PdfReader

    pdf = PdfReader(tmp_path / "总结.pdf")
    content = "".join(page.extract_text() for page in pdf.pages)
    assert "幸福社区2026年度走访工作总结" in content.replace(" ", "")
    assert "走访总次数" in content and "2026年，社区共开展走访4次" in content.replace(" ", "")
    images = [img for page in pdf.pages for img in page.images]
    assert images, "the chart image is missing from the PDF"
