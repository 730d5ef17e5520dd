"""The 走访 tab in a real browser (headless Chromium): a jotting becomes a record whose words are marked in the
jotting, the form is corrected and saved. Saves test-output/browser_visit.png."""

from __future__ import annotations

import pytest


from appserver import app_over, client
from test_browser import OUT, browser, sign_in  # noqa: F401  (the browser fixture)

pytestmark = pytest.mark.slow

JOTTING = "上周三下午去的 补记 刘德顺 七十九岁 现在一个人 说晚上睡不着 不想吃饭 儿子在深圳 电话139 0000 4521"


@pytest.fixture(scope="module")
def server(tmp_path_factory, sample_kbs_dir):
    with app_over(tmp_path_factory, sample_kbs_dir, "visitbrowserhome") as srv:
        client(srv, "admin").predict("shegong", "幸福社区", api_name="/set_community")
        yield srv


def test_a_social_worker_turns_a_jotting_into_a_record_and_saves_it(server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    sign_in(page, server.url, "shegong")
    assert page.get_by_role("tab", name="知识库").count() == 0  # a 社工 sees 走访, 台账, 总结 but not this
    page.get_by_role("tab", name="走访").click()
    page.fill("#sg-visit-jotting textarea", JOTTING)
    date_box = page.get_by_label("走访日期（“昨天”“上周三”据此推算）")
    date_box.fill("2026-03-12")
    page.get_by_role("button", name="整理成走访记录").click()
    subject = page.locator('#sg-visit-source mark[data-field="走访对象"]')
    subject.wait_for(state="visible", timeout=60_000)
    assert subject.inner_text() == "刘德顺" and subject.get_attribute("title") == "走访对象"
    assert page.locator('#sg-visit-source mark[data-field="走访时间"]').inner_text() == "上周三下午"
    assert "“上周三下午”" in page.locator('#sg-visit-record tr[data-field="走访时间"]').inner_text()
    page.locator(".sg-suggestion").first.wait_for(state="visible", timeout=60_000)
    subject.hover()
    page.wait_for_timeout(500)
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / "browser_visit.png"), full_page=True)
    page.get_by_role("button", name="保存到台账", exact=True).click()
    page.get_by_text("已保存到台账，走访编号 1").wait_for(timeout=30_000)
    page.close()
