"""The resident ledger on SQLite and on a real PostgreSQL: roster import with bad rows, visits, named
queries, the question box, per-community visibility, masking."""

from __future__ import annotations

import csv
import datetime as dt
import random

import openpyxl
import pytest

from assistant.visits.ledger import Ledger, mask_id, mask_phone
from assistant.visits.parsers import id_card_problem
from assistant.visits.queries import ask_ledger, parse_question, run_query
from assistant.visits.writer import make_record
from shegong import db
from shegong.errors import UserError

pytestmark = pytest.mark.integration

TODAY = dt.date(2026, 3, 20)
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def make_id(area: str, born: dt.date, seq: int) -> str:
    body = f"{area}{born:%Y%m%d}{seq:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, shegong_home):
    url = db.database_url() if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    led = Ledger(url)
    if request.param == "postgresql":  # the server lives for the session: start from empty tables
        from assistant.visits.ledger import metadata

        with led.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    yield led
    db.dispose_engines()


def roster_rows(n: int, bad_every: int, seed: int = 7):
    rng = random.Random(seed)
    rows, bad_lines = [], {}
    for i in range(n):
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 70))
        number = make_id("320102", born, i % 1000)
        phone = f"139{i:08d}"
        name = f"居民{i:04d}"
        line = i + 2
        if i % bad_every == 0:
            kind = (i // bad_every) % 3
            if kind == 0:
                number = number[:-1] + ("0" if number[-1] != "0" else "1")  # wrong check digit
                bad_lines[line] = "校验位"
            elif kind == 1:
                phone = "1390000"  # too short
                bad_lines[line] = "电话号码格式不对"
            else:
                name = ""
                bad_lines[line] = "没有填姓名"
        rows.append([name, number, phone, f"幸福路{i}号", "独居老人" if i % 5 == 0 else "", "是" if i % 5 == 0 else "否"])
    return rows, bad_lines


HEADER = ["姓名", "身份证号", "联系电话", "住址", "人员类别", "是否独居"]


def test_5000_row_roster_imports_good_rows_and_lists_bad_ones(ledger, tmp_path):
    rows, bad_lines = roster_rows(5000, 33)  # every 33rd row is bad: 152 rows, 3 %
    path = tmp_path / "花名册.xlsx"
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    for row in rows:
        book.active.append(row)
    book.save(path)

    report = ledger.import_roster(path, "幸福社区")
    assert len(report.bad) == len(bad_lines) == 152
    assert report.imported == 5000 - 152
    assert {b.line for b in report.bad} == set(bad_lines)
    for b in report.bad:
        assert bad_lines[b.line] in b.reason, (b.line, b.reason)
    assert len(ledger.residents("幸福社区")) == 5000 - 152
    # importing the same roster again updates, never duplicates
    again = ledger.import_roster(path, "幸福社区")
    assert again.imported == 0 and again.updated == 5000 - 152
    assert len(ledger.residents("幸福社区")) == 5000 - 152


def test_reimporting_a_roster_without_id_numbers_updates_instead_of_duplicating(ledger, tmp_path):
    path = tmp_path / "无身份证号.csv"
    path.write_text("姓名,出生日期,联系电话,住址\n王秀英,1941-03-15,,幸福路1号\n王秀英,1950-07-01,,幸福路9号\n"
                    "刘德顺,,139 0000 4521,幸福路2号\n陈桂英,,,幸福路3号\n", encoding="utf-8")
    assert ledger.import_roster(path, "幸福社区").imported == 4
    again = ledger.import_roster(path, "幸福社区")
    assert (again.imported, again.updated) == (0, 4)
    assert len(ledger.residents("幸福社区")) == 4
    # a changed address updates the person; a new phone for a resident known by birth date too
    path.write_text("姓名,出生日期,联系电话,住址\n王秀英,1941-03-15,13900001111,幸福路5号\n"
                    "刘德顺,,13900004521,幸福路2号\n刘德顺,,13900009999,和平路8号\n", encoding="utf-8")
    third = ledger.import_roster(path, "幸福社区")
    assert (third.imported, third.updated) == (1, 2)  # the second 刘德顺 (another phone) is another person
    people = {(r["name"], r["address"]) for r in ledger.residents("幸福社区")}
    assert people == {("王秀英", "幸福路5号"), ("王秀英", "幸福路9号"), ("刘德顺", "幸福路2号"), ("刘德顺", "和平路8号"),
                      ("陈桂英", "幸福路3号")}
    assert ledger.import_roster(path, "桂花社区").imported == 3  # another community: its own residents


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_roster_in_each_encoding_excel_writes(ledger, tmp_path, encoding):
    path = tmp_path / "名单.csv"
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerow(["陈桂英", make_id("320102", dt.date(1942, 5, 1), 12), "139 0000 1234", "桂花里3栋", "独居老人", "是"])
        w.writerow(["刘德顺", "320102194205011234", "13900004521", "", "", ""])  # bad check digit
    report = ledger.import_roster(path, "桂花社区")
    assert report.imported == 1
    assert [(b.line, b.name) for b in report.bad] == [(3, "刘德顺")]
    assert "校验位" in report.bad[0].reason
    person = ledger.residents("桂花社区")[0]
    assert person["name"] == "陈桂英" and person["birth_date"] == dt.date(1942, 5, 1) and person["lives_alone"]
    assert person["phone"] == "13900001234"


def test_bad_roster_files_get_chinese_errors(ledger, tmp_path):
    (tmp_path / "x.xls").write_bytes(b"old")
    with pytest.raises(UserError, match="xlsx"):
        ledger.import_roster(tmp_path / "x.xls", "社区")
    (tmp_path / "no_name.csv").write_text("电话,住址\n13900001234,幸福路\n", encoding="utf-8")
    with pytest.raises(UserError, match="姓名"):
        ledger.import_roster(tmp_path / "no_name.csv", "社区")
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(UserError, match="无法读取"):
        ledger.import_roster(tmp_path / "broken.xlsx", "社区")
    assert ledger.residents(None) == []


def test_named_queries_and_the_question_box(ledger, tmp_path):
    path = tmp_path / "r.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerow(["将满九十", make_id("320102", dt.date(1936, 5, 2), 1), "", "", "高龄老人", "否"])  # 90 on 2026-05-02
        w.writerow(["刚满九十", make_id("320102", dt.date(1936, 1, 2), 2), "", "", "高龄老人", "否"])  # already 90
        w.writerow(["吴秀兰", make_id("320102", dt.date(1945, 1, 2), 3), "", "", "独居老人", "是"])
        w.writerow(["郑国强", make_id("320102", dt.date(1946, 1, 2), 4), "", "", "独居老人", "是"])
        w.writerow(["九十还早", make_id("320102", dt.date(1936, 8, 2), 5), "", "", "", "否"])  # 90 in August
    ledger.import_roster(path, "幸福社区")
    other = tmp_path / "o.csv"
    other.write_text("姓名,身份证号,是否独居\n别处独居,%s,是\n" % make_id("320102", dt.date(1936, 4, 9), 6), encoding="utf-8")
    ledger.import_roster(other, "桂花社区")

    turning = run_query(ledger, "未来三个月年满90岁的老人", "幸福社区", TODAY)
    assert [r[0] for r in turning.rows] == ["将满九十"]

    # 吴秀兰 was visited last month, 郑国强 a year ago: only 乙 is "半年未走访"
    rec = make_record("入户 吴秀兰 一个人住 挺好", dt.date(2026, 2, 10))
    ledger.add_visit(rec, "幸福社区")
    rec = make_record("入户 郑国强 一个人住 挺好", dt.date(2025, 3, 1))
    ledger.add_visit(rec, "幸福社区")
    lonely = run_query(ledger, "半年未走访的独居老人", "幸福社区", TODAY)
    assert [r[0] for r in lonely.rows] == ["郑国强"]
    assert "别处独居" in [r[0] for r in run_query(ledger, "半年未走访的独居老人", None, TODAY).rows]

    high = make_record("今天上门 吴秀兰 85岁 一个人住 降压药快吃完了", TODAY)
    visit_id = ledger.add_visit(high, "幸福社区")
    assert [r[0] for r in run_query(ledger, "本月高风险对象", "幸福社区", TODAY).rows] == ["吴秀兰"]
    assert run_query(ledger, "本月高风险对象", "桂花社区", TODAY).rows == []  # another community sees nothing
    ledger.set_resolved(visit_id, "幸福社区")
    assert run_query(ledger, "尚未处理的高风险对象", "幸福社区", TODAY).rows == []
    with pytest.raises(UserError):
        ledger.set_resolved(visit_id, "桂花社区")  # not theirs to change

    # the question box maps words onto the same filters
    assert parse_question("接下来三个月要满90岁的有哪些") == ("turning_age", {"age": 90, "months": 3})
    assert parse_question("半年没走访的独居老人") == ("not_visited", {"months": 6, "group": "独居老人"})
    assert ask_ledger(ledger, "未来半年年满九十岁的老人", "幸福社区", TODAY).rows[0][0] == "将满九十"
    assert ask_ledger(ledger, "还没处理的高风险", "幸福社区", TODAY).title == "尚未处理的高风险对象"
    with pytest.raises(UserError, match="可以这样问"):
        ask_ledger(ledger, "今天天气怎么样", "幸福社区", TODAY)


def test_community_of_an_account(ledger):
    # keyed by the account's uid (issue 16: uids are never reused, row ids are)
    uid = "4f1c0de5a9b24c11b3f0c2d6e8a7b901"
    assert ledger.community_of(uid) is None
    ledger.set_community(uid, "幸福社区")
    ledger.set_community(uid, "桂花社区")
    assert ledger.community_of(uid) == "桂花社区"
    assert ledger.community_of("another-accounts-uid") is None
    with pytest.raises(UserError):
        ledger.set_community(uid, " ")


def test_a_name_created_again_does_not_inherit_the_old_accounts_community(shegong_home, tmp_path):
    """Probe from issue 16: delete a 社工 (the highest row id, which SQLite hands out again) and create the name
    again. Keyed by row id or name, the new account saw and wrote the old one's community ledger."""
    from service import Service, accounts

    svc = Service()
    accounts.create_user("admin", "secret-123", "管理员")
    accounts.create_user("zhang", "secret-123", "社工")
    svc.set_user_community(accounts.SYSTEM_USER, "zhang", "幸福社区")
    assert svc.user_community(accounts.get_user("zhang")) == "幸福社区"
    accounts.delete_user("zhang")
    again = accounts.create_user("zhang", "secret-123", "社工")
    assert svc.user_community(again) is None
    with pytest.raises(UserError, match="还没有设置所属社区"):
        svc.visits(again)
    db.dispose_engines()


def test_who_may_upload_files_is_who_may_add_documents_or_rosters(shegong_home, tmp_path):
    """Gradio's upload route lets in the "upload" roles (webapp/sessions.py): a roster import needs it, a 社工's
    visit records and ledger do not; the service refuses a 社工's roster import whatever the route."""
    from service import Service, accounts
    from shegong.errors import PermissionDenied

    assert accounts.PERMISSIONS["upload"] == accounts.PERMISSIONS["kb.write"] | accounts.PERMISSIONS["visit.roster"]
    assert accounts.PERMISSIONS["visit.roster"] <= accounts.PERMISSIONS["upload"]
    assert "社工" in accounts.PERMISSIONS["visit"] and "社工" not in accounts.PERMISSIONS["upload"]
    worker = accounts.create_user("li", "secret-123", "社工")
    roster = tmp_path / "花名册.csv"
    roster.write_text("姓名\n王秀英\n", encoding="utf-8")
    with pytest.raises(PermissionDenied, match="当前账号（社工）没有权限执行此操作：导入居民花名册"):
        Service().import_roster(worker, roster, "幸福社区")
    db.dispose_engines()


def test_masking_and_id_checks():
    number = make_id("320102", dt.date(1941, 3, 15), 2)
    assert id_card_problem(number) is None
    assert "校验位" in id_card_problem(number[:-1] + ("1" if number[-1] != "1" else "2"))
    body = "320102" + "19411399" + "002"  # 13th month, 99th day
    assert "出生日期" in id_card_problem(body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11])
    assert mask_id(number) == number[:4] + "*" * 10 + number[-4:]
    assert mask_phone("139 0000 4521") == "139****4521"
