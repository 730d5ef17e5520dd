"""Uploads that must not lose or leave anything.

- A same-name upload of a different document used to replace it silently ("已更新 1 段"): office names
  such as 附件1.docx and 通知.pdf collide all the time. Now it is replaced only when the user chose 替换,
  or when it is a revision of the same document (same title, at least half of the smaller one's
  sentences shared); otherwise both are kept, the new one under a distinct name, and the result says so.
- An identical file under another name is not imported a second time (it became a 0-chunk document).
- A failed upload into a new KB name leaves no KB behind.
- Staging copies (files/<kb>/.incoming/) left by a crash are removed; one in use is not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service import accounts
from shegong.config import reset_settings

pytestmark = pytest.mark.integration

DIBAO = """# 附件一：低保申请表

## 一、申请人基本情况

申请人姓名、身份证号码、户籍地址、现居住地址、联系电话，由申请人本人如实填写。

## 二、家庭成员及收入

共同生活的家庭成员逐一填写姓名、与申请人关系、工作单位和月收入，收入须附证明材料。

## 三、申请理由

简要写明家庭困难的原因，如因病、因残、失业等，社区工作人员核实后签署意见。
"""
JIUZHU = """# 附件一：临时救助审批表

## 一、救助对象

因火灾、交通事故等意外事件，或家庭成员突发重大疾病，导致基本生活暂时出现严重困难的家庭。

## 二、审批流程

申请人向街道提出申请，街道在五个工作日内完成审核，急难情形可先行救助后补办手续。
"""
NOTICE = """# 关于开展夏季燃气安全检查的通知

各楼组长：为做好夏季燃气安全工作，社区定于七月开展入户安全检查。

检查内容包括燃气软管是否老化、报警器是否正常、是否存在私自改装。

请各楼组长提前在楼道张贴告示，并协助联系独居老人和空关户。

检查人员统一佩戴工作证，居民可拨打社区值班电话核实身份。

检查中发现隐患的，由燃气公司出具整改通知，社区协助督促整改。
"""


@pytest.fixture
def supervisor(service):
    return accounts.create_user("dudao", "secret-123", "督导")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def titles(service, user, kb="手册") -> list[str]:
    return [d.doc.title for d in service.list_documents(user, kb)]


def test_a_same_name_upload_of_another_document_keeps_both(service, supervisor, tmp_path):
    first = write(tmp_path / "a" / "附件1.md", DIBAO)
    second = write(tmp_path / "b" / "附件1.md", JIUZHU)
    (one,) = service.upload(supervisor, [first], kb="手册")
    (two,) = service.upload(supervisor, [second], kb="手册")
    assert one.status == "added" and two.status == "added", two.summary()
    assert "附件一：低保申请表" in two.summary() and "附件1（2）.md" in two.summary()
    assert {"附件一：低保申请表", "附件一：临时救助审批表"} <= set(titles(service, supervisor))
    stored = service.settings.home / "files" / "手册"
    assert (stored / "附件1.md").read_text(encoding="utf-8") == DIBAO
    assert (stored / "附件1（2）.md").read_text(encoding="utf-8") == JIUZHU
    third = write(tmp_path / "c" / "附件1.md", JIUZHU.replace("临时救助审批表", "医疗救助申请表").replace("火灾", "大病"))
    (three,) = service.upload(supervisor, [third], kb="手册")
    assert three.status == "added" and "附件1（3）.md" in three.summary()
    # what is shown for the file is its own name, so the two are told apart in the list
    sources = {Path(d.doc.source).name for d in service.list_documents(supervisor, "手册")}
    assert {"附件1.md", "附件1（2）.md", "附件1（3）.md"} <= sources


def test_a_revision_of_the_same_document_replaces_it(service, supervisor, tmp_path):
    (one,) = service.upload(supervisor, [write(tmp_path / "a" / "通知.md", NOTICE)], kb="手册")
    revised = NOTICE.replace("七月", "六月下旬").replace("由燃气公司出具整改通知", "由燃气公司当场出具整改通知")
    (two,) = service.upload(supervisor, [write(tmp_path / "b" / "通知.md", revised)], kb="手册")
    assert two.status == "replaced", two.summary()
    assert titles(service, supervisor).count("关于开展夏季燃气安全检查的通知") == 1
    assert (service.settings.home / "files" / "手册" / "通知.md").read_text(encoding="utf-8") == revised
    assert not (service.settings.home / "files" / "手册" / "通知（2）.md").exists()


def test_the_same_title_with_little_in_common_is_not_a_revision(service, supervisor, tmp_path):
    service.upload(supervisor, [write(tmp_path / "a" / "通知.md", NOTICE)], kb="手册")
    other = "# 关于开展夏季燃气安全检查的通知\n\n本通知作废，改为十月统一组织消防演练，届时另行通知。\n"
    (two,) = service.upload(supervisor, [write(tmp_path / "b" / "通知.md", other)], kb="手册")
    assert two.status == "added" and "通知（2）.md" in two.summary()
    assert titles(service, supervisor).count("关于开展夏季燃气安全检查的通知") == 2


def test_a_similar_text_with_another_title_is_not_a_revision(service, supervisor, tmp_path):
    service.upload(supervisor, [write(tmp_path / "a" / "通知.md", NOTICE)], kb="手册")
    other = NOTICE.replace("夏季", "冬季").replace("七月", "十二月")  # another notice written from the same one
    (two,) = service.upload(supervisor, [write(tmp_path / "b" / "通知.md", other)], kb="手册")
    assert two.status == "added" and "通知（2）.md" in two.summary()


def test_the_replace_action_replaces_whatever_the_content(service, supervisor, tmp_path):
    (one,) = service.upload(supervisor, [write(tmp_path / "a" / "附件1.md", DIBAO)], kb="手册")
    result = service.replace_document(supervisor, "手册", one.doc_id, write(tmp_path / "b" / "附件1.md", JIUZHU))
    assert result.status in ("added", "replaced"), result.summary()
    names = titles(service, supervisor)
    assert "附件一：临时救助审批表" in names and "附件一：低保申请表" not in names
    assert (service.settings.home / "files" / "手册" / "附件1.md").read_text(encoding="utf-8") == JIUZHU


def test_an_identical_file_under_another_name_is_not_imported_again(service, supervisor, tmp_path):
    (one,) = service.upload(supervisor, [write(tmp_path / "通知.md", NOTICE)], kb="手册")
    before = len(service.list_documents(supervisor, "手册"))
    (two,) = service.upload(supervisor, [write(tmp_path / "通知（复制）.md", NOTICE)], kb="手册")
    assert "与《关于开展夏季燃气安全检查的通知》内容相同，未重复导入" in two.summary()
    assert two.status != "error" and len(service.list_documents(supervisor, "手册")) == before
    assert not (service.settings.home / "files" / "手册" / "通知（复制）.md").exists()


def test_a_failed_upload_into_a_new_kb_leaves_no_kb(service, supervisor, tmp_path):
    broken = tmp_path / "损坏.pdf"
    broken.write_bytes(b"%PDF-1.4\n not a pdf \x00\x01")
    (result,) = service.upload(supervisor, [broken], kb="新建的知识库")
    assert result.status == "error"
    assert "新建的知识库" not in service.kb_names(supervisor)
    assert not (service.settings.home / "files" / "新建的知识库").exists()
    assert not (service.library.root / "新建的知识库").exists()
    (ok,) = service.upload(supervisor, [write(tmp_path / "通知.md", NOTICE)], kb="新建的知识库")
    assert ok.status == "added" and "新建的知识库" in service.kb_names(supervisor)


def test_staging_copies_left_by_a_crash_are_removed(library, supervisor, tmp_path, monkeypatch):
    from filelock import FileLock

    from service import Service

    monkeypatch.setenv("SHEGONG_LLM_BACKEND", "none")
    reset_settings()
    home = Service(library=library).settings.home
    incoming = home / "files" / "手册" / ".incoming"
    crashed = write(incoming / "dead" / "大文件.pdf", "half a copy")
    busy = write(incoming / "busy" / "正在导入.pdf", "being imported")
    with FileLock(str(incoming / "busy.lock")):  # another process is importing this one right now
        Service(library=library).start(load_llm=False)
    assert not crashed.exists() and busy.exists()
