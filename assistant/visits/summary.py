"""一表做总结: a year's statistics from the ledger, charts, and a narrative whose every number is checked.

The numbers come from the ledger only. The LLM writes the 年度工作总结 paragraph from them; a clause
with a number that is not one of the computed statistics is removed (and reported), like the visit
checker does. Charts: plotly figures for the app, one static PNG (matplotlib, a CJK font installed by
scripts/setup.sh) for the DOCX, so Chinese labels never show as boxes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from assistant.llm.base import LLM, complete
from assistant.visits.ledger import SEP, Ledger
from assistant.visits.numbers import numbers
from shegong.errors import ModelUnavailable, UserError

log = logging.getLogger(__name__)
KEY_GROUPS = ("独居老人", "孤寡老人", "高龄老人", "易走失人员", "残疾人", "低保对象", "困难家庭", "留守儿童", "困境儿童",
              "精神障碍患者")
CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "SimHei",
             "Microsoft YaHei")


@dataclass
class YearStats:
    year: int
    community: str | None
    visits: int = 0
    people: int = 0
    by_month: dict[int, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_risk: dict[str, int] = field(default_factory=dict)
    high_found: int = 0
    high_resolved: int = 0
    referrals: dict[str, int] = field(default_factory=dict)
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)  # group -> (visited, on the roster)

    def numbers(self) -> set[float]:
        """Every number the narrative may state (and the percentages they make)."""
        values = {float(self.year), float(self.visits), float(self.people), float(self.high_found),
                  float(self.high_resolved), float(len(self.referrals))}
        values |= {float(v) for v in self.by_month.values()} | {float(m) for m in self.by_month}
        values |= {float(v) for d in (self.by_category, self.by_risk, self.referrals) for v in d.values()}
        for visited, total in self.coverage.values():
            values |= {float(visited), float(total)}
            if total:
                values |= {float(round(visited / total * 100)), round(visited / total * 100, 1)}
        if self.high_found:
            values |= {float(round(self.high_resolved / self.high_found * 100)),
                       round(self.high_resolved / self.high_found * 100, 1)}
        values |= {1.0, 12.0}  # 1月至12月
        return values

    def facts(self) -> str:
        lines = [f"年度：{self.year}年", f"走访总次数：{self.visits}次", f"走访人数：{self.people}人",
                 "每月走访次数：" + "，".join(f"{m}月{n}次" for m, n in sorted(self.by_month.items())),
                 "按对象类别：" + "，".join(f"{k}{v}次" for k, v in self.by_category.items()),
                 "按风险等级：" + "，".join(f"{k}风险{v}次" for k, v in self.by_risk.items()),
                 f"发现高风险：{self.high_found}次，其中已处理{self.high_resolved}次",
                 "建议转介：" + ("，".join(f"{k}{v}次" for k, v in self.referrals.items()) or "无"),
                 "重点人群走访覆盖：" + ("，".join(f"{g}{v}/{t}人" for g, (v, t) in self.coverage.items()) or "台账中无名册")]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"年度": self.year, "社区": self.community or "全部", "走访总次数": self.visits, "走访人数": self.people,
                "每月走访次数": {f"{m}月": n for m, n in sorted(self.by_month.items())},
                "按对象类别": self.by_category, "按风险等级": self.by_risk,
                "高风险": {"发现": self.high_found, "已处理": self.high_resolved}, "建议转介": self.referrals,
                "重点人群覆盖": {g: {"已走访": v, "名册人数": t} for g, (v, t) in self.coverage.items()}}


def compute(ledger: Ledger, year: int, community: str | None) -> YearStats:
    if not 2000 <= year <= 2100:
        raise UserError(f"年份 {year} 不对，请写四位数的年份，例如 2026")
    rows = ledger.visits(community, dt.date(year, 1, 1), dt.date(year, 12, 31))
    stats = YearStats(year, community, visits=len(rows))
    stats.by_month = {m: 0 for m in range(1, 13)}
    people = set()
    for v in rows:
        stats.by_month[v["visit_date"].month] += 1
        people.add(v["resident_id"] or f"name:{v['subject']}")
        for cat in filter(None, (v["categories"] or "").split(SEP)):
            stats.by_category[cat] = stats.by_category.get(cat, 0) + 1
        stats.by_risk[v["risk"]] = stats.by_risk.get(v["risk"], 0) + 1
        if v["risk"] == "高":
            stats.high_found += 1
            stats.high_resolved += bool(v["resolved"])
        for dept in filter(None, (v["referrals"] or "").split(SEP)):
            stats.referrals[dept] = stats.referrals.get(dept, 0) + 1
    stats.people = len(people)
    stats.by_category = dict(Counter(stats.by_category).most_common())
    stats.by_risk = {k: stats.by_risk[k] for k in ("高", "中", "低") if k in stats.by_risk}
    stats.referrals = dict(Counter(stats.referrals).most_common())
    visited = {v["resident_id"] for v in rows if v["resident_id"]}
    residents = ledger.residents(community)
    for group in KEY_GROUPS:
        members = [r for r in residents if group in (r["categories"] or "") or
                   (group == "独居老人" and r["lives_alone"])]
        if members:
            stats.coverage[group] = (sum(r["id"] in visited for r in members), len(members))
    return stats


# ---------------------------------------------------------------- charts
def cjk_font() -> str | None:
    """The file of an installed CJK font, or None."""
    from matplotlib import font_manager

    for name in CJK_FONTS:
        path = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False) \
            if _has_font(name) else None
        if path:
            return path
    return None


def _has_font(name: str) -> bool:
    from matplotlib import font_manager

    return any(f.name == name for f in font_manager.fontManager.ttflist)


def chart_png(stats: YearStats, path: Path) -> Path:
    """Visits per month and risks found, one image for the DOCX. Fails in Chinese without a CJK font."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    font = cjk_font()
    if font is None:
        raise UserError("没有找到中文字体，图表里的中文会显示成方框。请运行 bash scripts/setup.sh 安装字体（fonts-wqy-microhei）")
    prop = font_manager.FontProperties(fname=font)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    months = list(range(1, 13))
    left.bar([f"{m}月" for m in months], [stats.by_month.get(m, 0) for m in months], color="#4472C4")
    left.set_title(f"{stats.year}年每月走访次数", fontproperties=prop)
    for label in left.get_xticklabels():
        label.set_fontproperties(prop)
    risks = [k for k in ("高", "中", "低")]
    right.bar([f"{k}风险" for k in risks], [stats.by_risk.get(k, 0) for k in risks], color=["#C00000", "#ED7D31", "#70AD47"])
    right.set_title("走访发现的风险等级", fontproperties=prop)
    for label in right.get_xticklabels():
        label.set_fontproperties(prop)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plotly_figures(stats: YearStats) -> list:
    import plotly.graph_objects as go

    months = list(range(1, 13))
    figs = [go.Figure(go.Bar(x=[f"{m}月" for m in months], y=[stats.by_month.get(m, 0) for m in months]),
                      layout={"title": f"{stats.year}年每月走访次数"}),
            go.Figure(go.Bar(x=list(stats.by_category), y=list(stats.by_category.values())),
                      layout={"title": "按对象类别的走访次数"}),
            go.Figure(go.Bar(x=[f"{k}风险" for k in stats.by_risk], y=list(stats.by_risk.values())),
                      layout={"title": "风险等级"})]
    if stats.coverage:
        figs.append(go.Figure(go.Bar(x=list(stats.coverage), y=[round(v / t * 100, 1) for v, t in stats.coverage.values()]),
                              layout={"title": "重点人群走访覆盖率（%）"}))
    return figs


# ---------------------------------------------------------------- narrative
SYSTEM = ("你是社区社工站的文字秘书，根据给出的年度走访统计写“年度工作总结”。只能使用给出的数字，不得编造任何数字、"
          "人名或事件；不写给出的统计里没有的内容；写成两到三段，不加标题，不分条，300字以内。")


def checked_narrative(text: str, stats: YearStats) -> tuple[str, list[str]]:
    """Remove each sentence with a number that is not one of the statistics (or a percentage of them)."""
    allowed = stats.numbers()
    kept, removed = [], []
    for sentence in re.findall(r"[^。！？\n]+[。！？]?\n?", text):
        bad = [n.text for n in numbers(sentence) if not set(n.values) <= allowed]
        if bad:
            removed.append(f"“{sentence.strip()}”（数字{'、'.join(bad)}不在统计结果中）")
        else:
            kept.append(sentence)
    return "".join(kept).strip(), removed


def composed_narrative(stats: YearStats) -> str:
    text = f"{stats.year}年，社区共开展走访{stats.visits}次，走访{stats.people}人。"
    if stats.by_category:
        text += "走访对象以" + "、".join(list(stats.by_category)[:3]) + "为主。"
    if stats.high_found:
        text += f"走访中发现高风险情况{stats.high_found}次，已处理{stats.high_resolved}次。"
    if stats.referrals:
        text += "建议转介的部门主要有" + "、".join(list(stats.referrals)[:3]) + "。"
    return text


def narrative(stats: YearStats, llm: LLM | None) -> tuple[str, list[str]]:
    if llm is not None and stats.visits:
        try:
            raw = complete(llm, [{"role": "system", "content": SYSTEM},
                                 {"role": "user", "content": f"【年度走访统计】\n{stats.facts()}\n\n年度工作总结："}],
                           max_tokens=400, temperature=0.1)
            text, removed = checked_narrative(re.sub(r"[#*`]", "", raw), stats)
            if len(text) >= 40:
                return text, removed
        except ModelUnavailable as e:
            log.warning("summary narrative failed: %s", e)
    return composed_narrative(stats), []


# ---------------------------------------------------------------- DOCX
def summary_docx(stats: YearStats, text: str, path: Path, chart: Path | None = None) -> Path:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    from assistant.visits.export import _docx_fonts

    path = Path(path)
    chart = chart or chart_png(stats, path.with_suffix(".png"))
    doc = Document()
    _docx_fonts(doc)
    title = doc.add_heading(f"{stats.community or ''}{stats.year}年度走访工作总结", level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_heading("一、工作概况", level=2)
    for para in filter(None, text.split("\n")):
        doc.add_paragraph(para.strip())
    doc.add_heading("二、主要数据", level=2)
    table = doc.add_table(rows=1, cols=2)
    table.style = "Table Grid"
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "项目", "数值"
    rows = [("走访总次数", f"{stats.visits}次"), ("走访人数", f"{stats.people}人"),
            ("发现高风险", f"{stats.high_found}次（已处理{stats.high_resolved}次）")]
    rows += [(f"{k}风险", f"{v}次") for k, v in stats.by_risk.items()]
    rows += [(f"走访{k}", f"{v}次") for k, v in stats.by_category.items()]
    rows += [(f"转介：{k}", f"{v}次") for k, v in stats.referrals.items()]
    rows += [(f"{g}覆盖", f"{v}/{t}人") for g, (v, t) in stats.coverage.items()]
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    doc.add_heading("三、图表", level=2)
    doc.add_picture(str(chart), width=Cm(16))
    doc.add_paragraph("图：每月走访次数与走访发现的风险等级")
    doc.save(path)
    return path


def stats_json(stats: YearStats) -> str:
    return json.dumps(stats.to_json(), ensure_ascii=False, indent=1)
