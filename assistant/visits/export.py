"""Exports as an office files them: a visit record (走访记录表) and a filtered ledger, to DOCX and XLSX.

ID and phone numbers are masked unless the caller asks for the full export explicitly (``full=True``).
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.visits.ledger import mask_id, mask_phone
from shegong.spreadsheet import keep_as_text

# Excel refuses these in a sheet's name (openpyxl raises ValueError), and a name is at most 31 characters.
_BAD_SHEET_CHARS = re.compile(r"[\\/?*\[\]:]")


def sheet_title(title: str) -> str:
    return _BAD_SHEET_CHARS.sub("", title).strip()[:31] or "台账"


def _masked_record(data: dict, full: bool) -> dict:
    if full:
        return data
    data = dict(data)
    subject = dict(data.get("走访对象") or {})
    subject["联系电话"] = [mask_phone(p) for p in subject.get("联系电话") or []]
    if subject.get("身份证号"):
        subject["身份证号"] = [mask_id(n) for n in subject["身份证号"]]
    data["走访对象"] = subject

    def scrub(text: str) -> str:  # a number written inside the notes is masked too
        text = re.sub(r"(?<!\d)[1-9]\d{5}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?!\d)", lambda m: mask_id(m.group(0)), text)
        return re.sub(r"(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)", lambda m: mask_phone(m.group(0)), text)

    for key in ("基本情况", "发现的问题", "需求", "已采取措施"):
        data[key] = [scrub(t) for t in data.get(key) or []]
    data["走访记录"] = scrub(data.get("走访记录", ""))
    return data


def record_rows(data: dict) -> list[tuple[str, str]]:
    subject = data.get("走访对象") or {}
    who = subject.get("姓名") or "（待补充）"
    if subject.get("年龄") is not None:
        who += f"（{subject['年龄']}岁）"
    risk = data.get("风险等级") or {}
    follow = "；".join(f"{f['事项']}（负责人：{f['负责人'] or '待补充'}，期限：{f['期限'] or '待补充'}）"
                      for f in data.get("后续跟进") or [])
    return [
        ("走访对象", who),
        ("联系电话", "、".join(subject.get("联系电话") or []) or "（待补充）"),
        ("对象类别", "、".join(data.get("对象类别") or []) or "（待补充）"),
        ("走访时间", data.get("走访时间") or "（待补充）"),
        ("走访方式", data.get("走访方式") or "（待补充）"),
        ("基本情况", "；".join(data.get("基本情况") or []) or "无"),
        ("发现的问题", "；".join(data.get("发现的问题") or []) or "无"),
        ("风险等级", f"{risk.get('等级', '')}　{'；'.join(risk.get('理由') or [])}"),
        ("需求", "；".join(data.get("需求") or []) or "无"),
        ("已采取措施", "；".join(data.get("已采取措施") or []) or "无"),
        ("后续跟进", follow or "（待补充）"),
        ("建议转介", "；".join(f"{r['部门']}（{r['事由']}）" for r in data.get("建议转介") or []) or "无"),
        ("走访记录", data.get("走访记录") or ""),
        ("待补充", "、".join(data.get("待补充") or []) or "无"),
    ]


def _docx_fonts(doc) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    style = doc.styles["Normal"]
    style.font.name = "宋体"
    style.font.size = Pt(11)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")


def record_to_docx(data: dict, path: Path, community: str = "", full: bool = False) -> Path:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    data = _masked_record(data, full)
    doc = Document()
    _docx_fonts(doc)
    title = doc.add_heading(f"{community}走访记录表" if community else "走访记录表", level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in record_rows(data):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
        cells[0].paragraphs[0].runs[0].bold = True
    doc.add_paragraph("")
    doc.add_paragraph("走访人：__________　　审核（督导）：__________　　日期：__________")
    path = Path(path)
    doc.save(path)
    return path


def record_to_xlsx(data: dict, path: Path, full: bool = False) -> Path:
    import openpyxl
    from openpyxl.styles import Alignment, Font

    data = _masked_record(data, full)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "走访记录"
    for label, value in record_rows(data):
        sheet.append([label, value])
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 80
    for row in sheet.iter_rows():
        row[0].font = Font(bold=True)
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    keep_as_text(sheet)  # a jotting's words starting with "=" are text, never a formula
    book.save(path)
    return Path(path)


def _mask_cell(column: str, value, full: bool):
    if full or value in (None, ""):
        return value
    if "身份证" in column:
        return mask_id(str(value))
    if "电话" in column:
        return mask_phone(str(value))
    return value


def table_to_xlsx(title: str, columns: list[str], rows: list[list], path: Path, full: bool = False) -> Path:
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = sheet_title(title)
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(columns)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center")
    for row in rows:
        sheet.append([_mask_cell(c, v, full) for c, v in zip(columns, row)])
    for i, column in enumerate(columns, 1):
        width = max([len(str(column))] + [len(str(r[i - 1] or "")) for r in rows[:200]]) * 2 + 2
        sheet.column_dimensions[openpyxl.utils.get_column_letter(i)].width = min(width, 50)
    keep_as_text(sheet)  # roster and record text starting with "=" stays text, never a formula
    sheet.freeze_panes = "A3"
    book.save(path)
    return Path(path)


def table_to_docx(title: str, columns: list[str], rows: list[list], path: Path, full: bool = False,
                  note: str = "") -> Path:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = Document()
    _docx_fonts(doc)
    section = doc.sections[0]
    if len(columns) > 5:  # wide ledgers are printed in landscape
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    heading = doc.add_heading(title, level=1)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if note:
        doc.add_paragraph(note)
    table = doc.add_table(rows=1, cols=len(columns))
    table.style = "Table Grid"
    for cell, column in zip(table.rows[0].cells, columns):
        cell.text = column
        cell.paragraphs[0].runs[0].bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, column, value in zip(cells, columns, row):
            cell.text = "" if value is None else str(_mask_cell(column, value, full))
    doc.add_paragraph(f"共 {len(rows)} 条")
    doc.save(path)
    return Path(path)


def ledger_rows(residents: list[dict]) -> tuple[list[str], list[list]]:
    columns = ["编号", "姓名", "性别", "出生日期", "身份证号", "联系电话", "住址", "人员类别", "是否独居"]
    rows = [[r["id"], r["name"], r["gender"], r["birth_date"].isoformat() if r["birth_date"] else "",
             r["id_number"] or "", r["phone"], r["address"], r["categories"], "是" if r["lives_alone"] else "否"]
            for r in residents]
    return columns, rows
