"""What the 走访 tab shows: the jotting with each field's words highlighted, the record beside where each
field came from, the editable form (rows of 栏目 / 内容) and back, knowledge suggestions with citations."""

from __future__ import annotations

from webapp.render import esc

# field -> colour of its words in the jotting (the same colour marks the field's row in the table)
FIELD_COLORS = {
    "走访对象": "#cfe2ff", "年龄": "#e2d9f3", "联系电话": "#d1e7dd", "走访时间": "#fff3cd", "走访方式": "#ffe5d0",
    "对象类别": "#f8d7da", "发现的问题": "#f5c2c7", "需求": "#cff4fc", "已采取措施": "#d1e7dd",
    "后续跟进": "#e2e3e5", "基本情况": "#f1f3f5", "风险等级": "#f8d7da",
}
PRIORITY = ["走访对象", "年龄", "联系电话", "走访时间", "走访方式", "发现的问题", "需求", "已采取措施", "后续跟进",
            "对象类别", "基本情况", "风险等级"]
LIST_SEP = "；"
PART_SEP = "｜"

# the form: one row per thing a social worker may correct before saving
FORM_ROWS = ["姓名", "年龄", "联系电话", "对象类别", "走访时间", "走访方式", "基本情况", "发现的问题", "风险等级",
             "需求", "已采取措施", "后续跟进", "建议转介", "走访记录"]
FORM_HEADERS = ["栏目", "内容"]
FORM_HINT = ("可以直接修改右列后再保存。多项用“；”隔开；后续跟进写成“事项｜负责人｜期限”，建议转介写成“部门｜事由”；"
             "风险等级只能是 低、中、高。")


def jotting_html(record) -> str:
    """The jotting, each word marked with the field it went to (hover shows every field that uses it)."""
    text = record.jotting
    owners: list[list[str]] = [[] for _ in text]
    for field in PRIORITY:
        for s, e in record.spans.get(field, []):
            for i in range(max(s, 0), min(e, len(text))):
                if field not in owners[i]:
                    owners[i].append(field)
    out, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and owners[j] == owners[i]:
            j += 1
        chunk = esc(text[i:j])
        if owners[i]:
            first = owners[i][0]
            title = "、".join(owners[i])
            out.append(f'<mark class="sg-field" data-field="{esc(first)}" title="{esc(title)}" '
                       f'style="background:{FIELD_COLORS.get(first, "#eee")}">{chunk}</mark>')
        else:
            out.append(chunk)
        i = j
    legend = " ".join(f'<span class="sg-legend" style="background:{FIELD_COLORS[f]}">{esc(f)}</span>'
                      for f in PRIORITY if record.spans.get(f))
    return (f'<div class="sg-jotting" id="sg-jotting">{"".join(out)}</div>'
            f'<div class="sg-legend-row">颜色表示这几个字填进了哪一栏（鼠标停在字上可看全部）：{legend}</div>')


def _quotes(record, field: str) -> str:
    words = list(dict.fromkeys(record.jotting[s:e] for s, e in record.spans.get(field, [])))
    return "、".join(f"“{esc(w)}”" for w in words) or '<span class="sg-none">原文没有写</span>'


def record_html(record, data: dict) -> str:
    """The record as a table: 栏目 | 内容 | 出自原文 (the words of the jotting it came from)."""
    subject = data["走访对象"]
    risk = data["风险等级"]
    rows = [
        ("走访对象", subject["姓名"]), ("年龄", "" if subject["年龄"] is None else str(subject["年龄"])),
        ("联系电话", "、".join(subject["联系电话"])), ("对象类别", "、".join(data["对象类别"])),
        ("走访时间", data["走访时间"]), ("走访方式", data["走访方式"]),
        ("基本情况", LIST_SEP.join(data["基本情况"])), ("发现的问题", LIST_SEP.join(data["发现的问题"])),
        ("风险等级", f"{risk['等级']}（{LIST_SEP.join(risk['理由'])}）"), ("需求", LIST_SEP.join(data["需求"])),
        ("已采取措施", LIST_SEP.join(data["已采取措施"])),
        ("后续跟进", LIST_SEP.join(f"{f['事项']}（负责人：{f['负责人'] or '待补充'}，期限：{f['期限'] or '待补充'}）"
                               for f in data["后续跟进"])),
        ("建议转介", LIST_SEP.join(f"{r['部门']}（{r['事由']}）" for r in data["建议转介"])),
    ]
    body = "".join(
        f'<tr data-field="{esc(k)}"><th style="background:{FIELD_COLORS.get(k, "#fff")}">{esc(k)}</th>'
        f'<td>{esc(v) if v else "<span class=sg-none>待补充</span>"}</td>'
        f'<td class="sg-from">{_quotes(record, k) if k != "建议转介" else "按风险规则"}</td></tr>'
        for k, v in rows)
    extra = f'<p><b>走访记录</b>：{esc(data["走访记录"])}</p>'
    if data["待补充"]:
        extra += f'<p class="sg-missing"><b>待补充</b>：{esc("、".join(data["待补充"]))}</p>'
    if data["已删除的无依据内容"]:
        extra += ('<p class="sg-removed"><b>已删除的无依据内容</b>（大模型写了原文没有的内容，已删去）：'
                  f'{esc("；".join(data["已删除的无依据内容"]))}</p>')
    return (f'<table class="sg-record"><tr><th>栏目</th><th>内容</th><th>出自原文</th></tr>{body}</table>{extra}')


def form_rows(data: dict) -> list[list[str]]:
    subject = data["走访对象"]
    values = {
        "姓名": subject["姓名"], "年龄": "" if subject["年龄"] is None else str(subject["年龄"]),
        "联系电话": LIST_SEP.join(subject["联系电话"]), "对象类别": LIST_SEP.join(data["对象类别"]),
        "走访时间": data["走访时间"], "走访方式": data["走访方式"], "风险等级": data["风险等级"]["等级"],
        "后续跟进": LIST_SEP.join(PART_SEP.join([f["事项"], f["负责人"], f["期限"]]) for f in data["后续跟进"]),
        "建议转介": LIST_SEP.join(PART_SEP.join([r["部门"], r["事由"]]) for r in data["建议转介"]),
        "走访记录": data["走访记录"],
    }
    for key in ("基本情况", "发现的问题", "需求", "已采取措施"):
        values[key] = LIST_SEP.join(data[key])
    return [[k, values[k]] for k in FORM_ROWS]


def _items(text: str) -> list[str]:
    return [t.strip() for t in str(text or "").replace(";", LIST_SEP).split(LIST_SEP) if t.strip()]


def form_to_json(rows, base: dict) -> dict:
    """The edited form back to the record's JSON (fields the form does not show are kept from ``base``)."""
    from shegong.errors import UserError

    if isinstance(rows, dict):  # {"headers", "data"}
        rows = rows.get("data") or []
    elif hasattr(rows, "to_numpy"):  # the pandas DataFrame Gradio hands a handler
        rows = rows.to_numpy().tolist()
    values = {str(r[0]).strip(): "" if r[1] is None else str(r[1]).strip() for r in rows if r and len(r) >= 2}
    data = {k: v for k, v in base.items() if k not in ("待补充", "已删除的无依据内容")}
    age = values.get("年龄", "")
    if age and not age.isdigit():
        raise UserError(f"年龄要写数字，现在是“{age}”")
    risk = values.get("风险等级") or base["风险等级"]["等级"]
    if risk not in ("低", "中", "高"):
        raise UserError(f"风险等级只能是 低、中、高，现在是“{risk}”")
    subject = dict(base["走访对象"])
    subject.update({"姓名": values.get("姓名", ""), "年龄": int(age) if age else None,
                    "联系电话": _items(values.get("联系电话"))})
    data["走访对象"] = subject
    data["对象类别"] = _items(values.get("对象类别"))
    data["走访时间"], data["走访方式"] = values.get("走访时间", ""), values.get("走访方式", "")
    for key in ("基本情况", "发现的问题", "需求", "已采取措施"):
        data[key] = _items(values.get(key))
    data["风险等级"] = {**base["风险等级"], "等级": risk}
    follow = []
    for item in _items(values.get("后续跟进")):
        parts = (item.split(PART_SEP) + ["", ""])[:3]
        follow.append({"事项": parts[0].strip(), "负责人": parts[1].strip(), "期限": parts[2].strip()})
    data["后续跟进"] = follow
    data["建议转介"] = [{"部门": (i.split(PART_SEP) + [""])[0].strip(), "事由": (i.split(PART_SEP) + [""])[1].strip()}
                    for i in _items(values.get("建议转介"))]
    data["走访记录"] = values.get("走访记录", "")
    return data


def suggestions_html(suggestions) -> str:
    if not suggestions:
        return '<div class="sg-suggest">知识库里没有找到与这次走访相关的政策或案例。</div>'
    items = "".join(
        f'<li class="sg-suggestion"><b>[{s.n}]</b> <span class="sg-why">针对：{esc(s.reason)}</span> '
        f'<b>{esc(s.title)}</b> · {esc(s.location)}（{esc(s.kb)}）<br><span class="sg-excerpt">{esc(s.text)}</span></li>'
        for s in suggestions)
    return f'<div class="sg-suggest"><b>相关政策、手册和相似案例</b>（摘自知识库原文，供参考）<ol>{items}</ol></div>'


CSS = """
.sg-jotting {font-size: 1.05em; line-height: 2; padding: 8px; border: 1px solid #ddd; border-radius: 6px}
.sg-jotting mark {padding: 1px 2px; border-radius: 3px; color: inherit}
.sg-legend {padding: 0 4px; border-radius: 3px; margin-right: 2px}
.sg-legend-row {font-size: 0.85em; color: #555; margin-top: 4px}
.sg-record {border-collapse: collapse; width: 100%}
.sg-record th, .sg-record td {border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left}
.sg-from {color: #555; font-size: 0.9em}
.sg-none {color: #b02a37}
.sg-removed {color: #b02a37}
.sg-excerpt {color: #444; font-size: 0.9em}
"""
