"""Knowledge for the needs a visit found: policy and handbook passages and a similar case, with citations.

The record's risk flags and stated needs become searches over the knowledge bases (the same hybrid
retriever the 问答 tab uses): 高龄 -> 高龄津贴, 经济困难 -> 社会救助 and 低保, 家庭暴力 -> 反家庭暴力法…
Each suggestion is a passage as stored, with its title and location, so a supervisor can open the source;
nothing is generated here.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.visits.record import VisitRecord

# flag (or population) -> what to look up, in the words the policies and the handbook use
TOPICS: dict[str, str] = {
    "高龄": "高龄津贴申请 八十周岁以上老年人",
    "高龄老人": "高龄津贴申请 八十周岁以上老年人",
    "经济困难": "社会救助 最低生活保障 临时救助申请",
    "低保对象": "最低生活保障 低保 社会救助",
    "困难家庭": "临时救助 社会救助申请",
    "独居": "独居老人 走访 关爱服务",
    "药品将尽": "家庭医生 慢性病 老人用药",
    "身体不适未就医": "社区卫生服务中心 家庭医生 就医",
    "走失风险": "认知障碍 老人走失 防走失",
    "近期走失": "老人走失 寻找 报警 防走失",
    "跌倒受伤": "老人跌倒 受伤 处置",
    "居住安全隐患": "燃气 用电 安全隐患 处置",
    "精神心理异常": "严重精神障碍患者 精神卫生 关爱帮扶",
    "自伤自杀风险": "自杀 心理危机干预",
    "家庭暴力": "家庭暴力 告诫书 人身安全保护令",
    "监护缺失": "未成年人 监护 留守儿童 困境儿童",
    "联系不上": "独居老人 联系不上 入户查看",
    "矛盾纠纷": "邻里纠纷 人民调解",
    "无人照料": "居家养老服务 生活照料",
    "残疾人": "残疾人 两项补贴 护理补贴",
}
POLICY_TYPES = ["handbook", "policy", "law"]
MAX_TOPICS = 4  # the most urgent flags first (the record lists them in the published order)


@dataclass
class Suggestion:
    n: int  # the citation number shown as [n]
    reason: str  # the flag, population or need it answers
    title: str
    location: str
    kb: str
    doc_type: str
    text: str
    is_case: bool = False

    def to_json(self) -> dict:
        return {"编号": self.n, "针对": self.reason, "标题": self.title, "位置": self.location, "知识库": self.kb,
                "类型": "案例" if self.is_case else "政策或手册", "摘录": self.text}


def queries_for(record: VisitRecord) -> list[tuple[str, str]]:
    """(reason, query) pairs: the flags and populations with a topic, then each stated need as written."""
    out: list[tuple[str, str]] = []
    for key in [*record.flags, *record.categories]:
        if key in TOPICS and all(q != TOPICS[key] for _, q in out):
            out.append((key, TOPICS[key]))
    out = out[:MAX_TOPICS]
    out += [(f"需求：{item.text}", item.text) for item in record.needs[:2]]
    return out


def excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "……"


def suggest(record: VisitRecord, search, per_query: int = 1) -> list[Suggestion]:
    """``search(query, k, doc_types)`` -> hits (the service's retriever). Passages already suggested are not
    repeated; the last suggestion is the case nearest to what the visit found."""
    seen: set[int] = set()
    found: list[Suggestion] = []

    def take(reason: str, hits, is_case: bool) -> None:
        for h in hits:
            if h.chunk_id in seen:
                continue
            seen.add(h.chunk_id)
            found.append(Suggestion(len(found) + 1, reason, h.title, h.location, h.kb, h.doc_type, excerpt(h.text),
                                    is_case))
            return

    for reason, query in queries_for(record):
        take(reason, search(query, per_query + 2, POLICY_TYPES), False)
    # the case nearest to who was visited and what was found (the populations and flags keep an old man's low
    # mood from matching a child left alone)
    found_words = "；".join(i.text for i in record.problems + record.needs) or "；".join(i.text for i in record.basic)
    situation = " ".join([*record.categories, *record.flags, found_words]).strip()
    if situation:
        take("相似案例", search(situation, 3, ["case"]), True)
    return found
