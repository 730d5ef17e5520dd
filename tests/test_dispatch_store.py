"""The versioned list and the dispatch record, on SQLite and on a real PostgreSQL (same Core code)."""

from __future__ import annotations

import threading
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import delete

from assistant.dispatch import store as store_mod
from assistant.dispatch.listfile import read_list
from assistant.dispatch.store import DispatchStore
from shegong import db
from shegong.errors import UserError

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parent.parent / "assistant" / "dispatch" / "data" / "权责清单（示例）.csv"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, shegong_home):
    url = db.database_url() if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    s = DispatchStore(url)
    with s.engine.begin() as conn:  # the PostgreSQL server is shared by the session's tests
        for t in (store_mod.records, store_mod.items, store_mod.lists):
            conn.execute(delete(t))
    yield s
    db.dispose_engines()


def test_versions_replace_the_list_whole(store):
    items = read_list(SAMPLE).items
    assert store.current() is None and store.items() == []
    v1 = store.import_list(items, title="权责清单（示例）", source_file="a.csv", user="王督导")
    v2 = store.import_list(items[:10], title="新清单", source_file="b.xlsx", user="李督导")
    assert (v1.version, v2.version) == (1, 2)
    assert store.current().version == 2 and store.current().imported_by == "李督导"
    assert [it.code for it in store.items()] == [it.code for it in items[:10]]
    assert [it.to_json() for it in store.items(v1)] == [it.to_json() for it in items]  # old versions are kept
    assert [v.version for v in store.versions()] == [2, 1]
    assert "第 2 版《新清单》，10 项" in store.current().describe()


def test_a_failed_import_leaves_the_old_list(store):
    items = read_list(SAMPLE).items
    store.import_list(items[:5], title="旧", source_file="a.csv", user="王督导")
    broken = items[5:8] + [items[5]]  # the same 编号 twice violates the unique constraint mid-insert
    with pytest.raises(UserError, match="原来的清单不变"):
        store.import_list(broken, title="坏", source_file="b.csv", user="王督导")
    assert store.current().title == "旧" and [it.code for it in store.items()] == [it.code for it in items[:5]]
    with pytest.raises(UserError, match="没有可以导入"):
        store.import_list([], title="空", source_file="c.csv", user="王督导")


def test_readers_never_see_half_a_list(store):
    """While a 73-item list is replaced over and over, every read of the current list is one whole version."""
    items = read_list(SAMPLE).items
    store.import_list(items, title="v", source_file="a.csv", user="甲")
    sizes = {len(items), 20}
    seen, stop = set(), threading.Event()

    def read():
        while not stop.is_set():
            seen.add(len(store.items()))

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(6):
        store.import_list(items[:20] if i % 2 == 0 else items, title="v", source_file="a.csv", user="甲")
    stop.set()
    reader.join()
    assert seen <= sizes and seen


def test_records_reviews_corrections_and_export(store, tmp_path):
    items = read_list(SAMPLE).items
    v = store.import_list(items, title="权责清单（示例）", source_file="a.csv", user="王督导")
    first = store.add_record(user="李社工", list_version=v.version, ticket="楼下饭店油烟大",
                             codes=["A-008"], result={"无匹配": False, "matches": [{"事项": "餐饮油烟", "社区职责": "告知转办"}]})
    second = store.add_record(user="李社工", list_version=v.version, ticket="=1+1 楼上天天跺脚",
                              codes=["A-004"], result={"无匹配": False, "matches": [{"事项": "广场舞", "社区职责": "协助"}]})
    third = store.add_record(user="张社工", list_version=v.version, ticket="想问问彩票怎么兑奖",
                             codes=[], result={"无匹配": True, "matches": []})
    assert store.get(first).status == "pending" and store.get(first).final_codes is None
    store.review(first, user="李社工", accepted=True)
    rec = store.review(second, user="王督导", accepted=False, codes=["A-002"], note="住宅内噪声")
    assert (rec.status, rec.final_codes, rec.reviewed_by) == ("corrected", ["A-002"], "王督导")
    assert store.review(third, user="王督导", accepted=False, codes=[]).status == "accepted"  # unchanged: accepted
    assert [r.id for r in store.corrections()] == [second]
    assert [r.id for r in store.records(username="张社工")] == [third]
    with pytest.raises(UserError, match="没有编号为 999"):
        store.review(999, user="王督导", accepted=True)

    out = store.export_xlsx(tmp_path / "派单记录.xlsx")
    sheet = openpyxl.load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("记录号", "时间", "派单人", "清单版本", "工单", "派给（编号）")
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id[first][9] == "已确认" and by_id[second][9] == "已纠正" and by_id[second][10] == "A-002"
    assert by_id[second][4] == "=1+1 楼上天天跺脚"  # a resident's words, not a formula
    assert by_id[third][8] == "是" and not by_id[third][5]
