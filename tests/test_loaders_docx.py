"""Word files on real .docx made in tmp_path: headings, tables, numbering, footnotes, and bad files."""

from __future__ import annotations


import pytest

from ingest.chunking import chunk_document
from ingest.loaders import load_file
from shegong.errors import BadDocument

from sample_files import make_pdf

pytestmark = pytest.mark.unit


def test_docx_heading_styles_tables_and_numbered_lines(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("社区工作手册", level=0)  # Title style
    document.add_heading("家庭暴力处置", level=1)
    document.add_heading("接到求助", level=2)
    document.add_paragraph("先确认求助人是否安全。必要时协助申请人身安全保护令。")
    document.add_paragraph("（一）后续跟进")  # Normal style, Chinese numbering
    document.add_paragraph("一周内回访一次。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "机构", "电话"
    table.cell(1, 0).text, table.cell(1, 1).text = "妇联", "12338"
    path = tmp_path / "手册.docx"
    document.save(str(path))

    doc = load_file(path)
    assert doc.title == "社区工作手册"
    assert [(b.text, b.level) for b in doc.blocks if b.kind == "heading"] == [
        ("家庭暴力处置", 1),
        ("接到求助", 2),
        ("（一）后续跟进", 2),
    ]
    assert "机构 | 电话" in [b.text for b in doc.blocks] and "妇联 | 12338" in [b.text for b in doc.blocks]
    chunks = chunk_document(doc)
    assert chunks[0].location == "家庭暴力处置 › 接到求助" and "保护令" in chunks[0].text
    assert chunks[0].meta["path"] == ["家庭暴力处置", "接到求助"]
    assert chunks[1].location == "家庭暴力处置 › （一）后续跟进" and "12338" in chunks[1].text


def test_docx_table_of_contents_is_left_out(tmp_path):
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    toc = document.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)  # what Word names a contents line
    document.add_paragraph("一、证件遗失\t2", style=toc)
    document.add_paragraph("二、独居老人走访\t3", style=toc)
    document.add_paragraph("三、邻里纠纷…………………………4")  # typed by hand, Normal style
    document.add_paragraph("一、证件遗失")
    document.add_paragraph("居民身份证遗失的，到派出所申请补领。")
    document.add_paragraph("二、独居老人走访")
    document.add_paragraph("每周至少上门走访一次。")
    path = tmp_path / "手册.docx"
    document.save(str(path))

    chunks = chunk_document(load_file(path))
    assert [(c.location, c.text) for c in chunks] == [
        ("一、证件遗失", "居民身份证遗失的，到派出所申请补领。"),
        ("二、独居老人走访", "每周至少上门走访一次。"),
    ]


def ole_file(*stream_names: str) -> bytes:
    """The start of an OLE compound file (the container of .doc/.xls and of password-protected
    .docx/.xlsx) with its directory's stream names, as Office writes them in UTF-16."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    directory = b"".join(name.encode("utf-16-le").ljust(64, b"\0") + bytes(64) for name in ("Root Entry", *stream_names))
    return header + directory + bytes(2048)


@pytest.mark.parametrize("ext, app", [(".docx", "Word"), (".xlsx", "Excel")])
def test_password_protected_office_file_says_so(tmp_path, ext, app):
    path = tmp_path / f"加密{ext}"
    path.write_bytes(ole_file("\x06DataSpaces", "EncryptionInfo", "EncryptedPackage"))
    with pytest.raises(BadDocument, match=f"设置了打开密码.*{app}"):
        load_file(path)


def test_old_word_file_renamed_to_docx_says_so(tmp_path):
    path = tmp_path / "通知.docx"
    path.write_bytes(ole_file("WordDocument", "1Table"))
    with pytest.raises(BadDocument, match=r"旧版 \.doc 文件.*另存为 \.docx"):
        load_file(path)


def test_chapter_number_and_title_on_two_lines_are_one_heading(tmp_path):
    """A centred "第一章" with "总则" under it: before, the path said only "第一章" and "总则"
    became a chunk of its own."""
    import docx

    document = docx.Document()
    for line in ["某区困难群众临时救助实施办法", "第一章", "总则", "第一条　为了做好临时救助工作，制定本办法。",
                 "第二条　本办法适用于本区。", "第二章", "救助对象",
                 "第三条　因火灾等意外事件导致基本生活暂时出现严重困难的家庭，可以申请临时救助。"]:
        document.add_paragraph(line)
    path = tmp_path / "临时救助实施办法.docx"
    document.save(str(path))

    chunks = chunk_document(load_file(path))
    assert [c.location for c in chunks] == ["正文", "第一章 总则 › 第一条", "第一章 总则 › 第二条", "第二章 救助对象 › 第三条"]
    assert chunks[3].meta["path"] == ["第二章 救助对象"]


def test_short_numbered_lines_with_nothing_under_them_are_kept(tmp_path):
    """"1．身份证" with no punctuation reads as a level-3 heading; before, a list of them with no
    text under any was in no chunk at all, nor was a heading with nothing under it."""
    import docx

    document = docx.Document()
    for line in ["一、低保申请", "（一）所需材料", "1．身份证", "2．户口簿", "3．家庭收入证明", "（二）办理流程",
                 "居民向社区提出申请，社区受理后五个工作日内报街道审核。", "二、其他事项"]:
        document.add_paragraph(line)
    path = tmp_path / "手册.docx"
    document.save(str(path))

    chunks = chunk_document(load_file(path))
    assert [(c.location, c.text) for c in chunks] == [
        ("一、低保申请 › （一）所需材料", "1．身份证\n2．户口簿\n3．家庭收入证明"),
        ("一、低保申请 › （二）办理流程", "居民向社区提出申请，社区受理后五个工作日内报街道审核。"),
        ("正文", "二、其他事项"),
    ]


def test_docx_footnotes_are_kept_after_their_paragraph(tmp_path):
    """Before, footnotes (where a handbook names the law it relies on) were not read at all."""
    import docx
    from docx.opc.constants import CONTENT_TYPE as CT, RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml

    document = docx.Document()
    document.add_paragraph("一、低保申请")
    cited = document.add_paragraph("低保原则上向户籍所在地提出申请。")
    cited._p.append(parse_xml(f'<w:r {W_NS}><w:footnoteReference w:id="1"/></w:r>'))
    document.add_paragraph("二、临时救助")
    document.add_paragraph("因意外导致基本生活暂时困难的家庭可以申请临时救助。")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "临时救助热线", "12349"
    table.cell(0, 1).paragraphs[0]._p.append(parse_xml(f'<w:r {W_NS}><w:footnoteReference w:id="2"/></w:r>'))
    document.add_paragraph()._p.append(parse_xml(f'<w:r {W_NS}><w:footnoteReference w:id="3"/></w:r>'))  # a mark alone
    note = '<w:footnote w:id="{}"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t xml:space="preserve"> {}</w:t></w:r></w:p></w:footnote>'
    notes = (f'<w:footnotes {W_NS}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
             + note.format(1, "依据《社会救助暂行办法》第十一条。") + note.format(2, "工作日 8:30-17:30。")
             + note.format(3, "以上为示例。") + '</w:footnotes>')
    part = Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, notes.encode("utf-8"), document.part.package)
    document.part.relate_to(part, RT.FOOTNOTES)
    path = tmp_path / "手册.docx"
    document.save(str(path))

    chunks = chunk_document(load_file(path))
    assert [(c.location, c.text) for c in chunks] == [
        ("一、低保申请", "低保原则上向户籍所在地提出申请。\n注：依据《社会救助暂行办法》第十一条。"),
        ("二、临时救助", "因意外导致基本生活暂时困难的家庭可以申请临时救助。\n"
                        "临时救助热线 | 12349 （注：工作日 8:30-17:30。）\n注：以上为示例。"),
    ]


def test_docx_automatic_numbering_is_shown_as_in_word(tmp_path):
    """Word keeps the "一、" of a numbered heading in numbering.xml, not in the text. Before, the
    path said "总体要求" where the reader sees "一、总体要求", and "（一）开展入户核查" typed as a
    numbered list was no heading at all."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    numbering = document.part.numbering_part.element
    levels = [("chineseCounting", "%1、"), ("chineseCounting", "（%2）"), ("decimal", "%3.")]
    numbering.insert(0, parse_xml(f'<w:abstractNum {W_NS} w:abstractNumId="90">' + "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/></w:lvl>'
        for i, (fmt, text) in enumerate(levels)) + "</w:abstractNum>"))
    numbering.append(parse_xml(f'<w:num {W_NS} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))

    def numbered(text: str, level: int, style: str | None = None) -> None:
        paragraph = document.add_paragraph(text, style=style)
        paragraph._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {W_NS}><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>'))

    numbered("总体要求", 0, "Heading 1")
    document.add_paragraph("坚持应保尽保、应退尽退。")
    numbered("主要任务", 0, "Heading 1")
    numbered("开展入户核查", 1)
    document.add_paragraph("街道每季度对低保家庭开展一次入户核查。")
    numbered("加强动态调整", 1)
    document.add_paragraph("家庭状况发生变化的，应当在30日内调整保障金额。")
    # numbered lines in a table cell count in the same list, and so does an empty numbered line (Word shows "3.")
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    for text in ("身份证", "", "收入证明"):
        paragraph = cell.add_paragraph(text)
        paragraph._p.get_or_add_pPr().append(parse_xml(f'<w:numPr {W_NS}><w:ilvl w:val="2"/><w:numId w:val="90"/></w:numPr>'))
    path = tmp_path / "通知.docx"
    document.save(str(path))

    chunks = chunk_document(load_file(path))
    assert [c.location for c in chunks] == ["一、总体要求", "二、主要任务 › （一）开展入户核查", "二、主要任务 › （二）加强动态调整"]
    assert chunks[-1].text.endswith("30日内调整保障金额。\n1.身份证 3.收入证明")


def test_docx_articles_numbered_automatically_are_articles(tmp_path):
    """A 办法 whose "第%1条" comes from Word's numbering. Before, the label was glued to the text
    ("第一条为了规范…"), no paragraph started an article, and the 办法 was read as a handbook."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.insert(0, parse_xml(f'<w:abstractNum {W_NS} w:abstractNumId="91"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
                                  '<w:numFmt w:val="chineseCounting"/><w:lvlText w:val="第%1条"/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {W_NS} w:numId="91"><w:abstractNumId w:val="91"/></w:num>'))
    for text in ["为了规范社区网格管理，制定本办法。", "本办法适用于本市各街道。", "网格员应当每月走访辖区居民。"]:
        paragraph = document.add_paragraph(text)
        paragraph._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {W_NS}><w:ilvl w:val="0"/><w:numId w:val="91"/></w:numPr>'))
    path = tmp_path / "网格管理办法.docx"
    document.save(str(path))

    blocks = load_file(path).blocks
    assert [(b.kind, b.label) for b in blocks] == [("article", "第一条"), ("article", "第二条"), ("article", "第三条")]
    assert blocks[2].text == "网格员应当每月走访辖区居民。"


def test_a_list_of_hotlines_with_dotted_leaders_is_not_a_table_of_contents(tmp_path):
    """"匪警……………110" looks like a contents line; without a contents title or Word's contents style before it,
    and in a PDF without page numbers that fit the document, it is text."""
    import docx

    hotlines = ["匪警……………………110", "火警……………………119", "急救……………………120", "社区服务中心……………12345"]
    document = docx.Document()
    document.add_paragraph("一、常用电话")
    for line in hotlines:
        document.add_paragraph(line)
    path = tmp_path / "电话.docx"
    document.save(str(path))
    text = "\n".join(c.text for c in chunk_document(load_file(path)))
    assert all(line in text for line in hotlines)

    pages = [["一、常用电话", *hotlines], ["二、走访", "每周走访一次。"], ["三、调解", "先听双方诉求。"]]
    text = "\n".join(c.text for c in chunk_document(load_file(make_pdf(tmp_path / "电话.pdf", pages))))
    assert all(line in text for line in hotlines)


def test_corrupt_docx_is_bad_document(tmp_path):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip" * 10)
    with pytest.raises(BadDocument, match="Word"):
        load_file(path)


def test_docx_nested_table_text_is_kept(tmp_path):
    import docx

    document = docx.Document()
    outer = document.add_table(rows=2, cols=2)
    outer.cell(0, 0).text, outer.cell(0, 1).text = "事项", "联系方式"
    outer.cell(1, 0).text = "紧急求助"
    inner = outer.cell(1, 1).add_table(rows=2, cols=2)  # a table inside a cell
    inner.cell(0, 0).text, inner.cell(0, 1).text = "派出所", "110"
    inner.cell(1, 0).text, inner.cell(1, 1).text = "妇联", "12338"
    path = tmp_path / "联系表.docx"
    document.save(str(path))

    texts = [b.text for b in load_file(path).blocks]
    assert texts == ["事项 | 联系方式", "紧急求助 | （派出所 | 110；妇联 | 12338）"]


W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def test_docx_text_boxes_content_controls_tracked_insertions_and_fields_are_kept(tmp_path):
    """python-docx's paragraph.text reads only plain runs and hyperlinks: before, a text box, a
    content control (templates put 发文字号 and titles in them), text inserted with track changes
    on and a field's shown text were all dropped without a word."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    document.add_paragraph("X民发〔2024〕12号")
    anchor = document.add_paragraph("遇到紧急情况请先拨打热线。")
    # a text box as Word 2010+ saves it: the shape, and a VML copy of it for old readers
    box = '<w:txbxContent><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:txbxContent>'
    anchor._p.append(parse_xml(
        f'<w:r {W_NS} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:v="urn:schemas-microsoft-com:vml"><mc:AlternateContent>'
        f'<mc:Choice Requires="wps"><w:drawing><wps:txbx>{box.format("24小时救助热线：12345。")}</wps:txbx></w:drawing></mc:Choice>'
        f'<mc:Fallback><w:pict><v:shape><v:textbox>{box.format("24小时救助热线：12345。")}</v:textbox></v:shape></w:pict></mc:Fallback>'
        '</mc:AlternateContent></w:r>'))
    document.element.body.insert(0, parse_xml(  # a content control around a whole paragraph
        f'<w:sdt {W_NS}><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>某区民政局关于做好低保动态管理工作的通知</w:t></w:r></w:p>'
        '</w:sdtContent></w:sdt>'))
    tracked = document.add_paragraph("低保家庭每季度核查一次")
    tracked._p.append(parse_xml(
        f'<w:ins {W_NS} w:id="1" w:author="督导" w:date="2024-03-01T00:00:00Z"><w:r><w:t>，结果记入台账。</w:t></w:r></w:ins>'))
    tracked._p.append(parse_xml(
        f'<w:del {W_NS} w:id="2" w:author="督导" w:date="2024-03-01T00:00:00Z"><w:r><w:delText>已删去的旧规定。</w:delText></w:r></w:del>'))
    field = document.add_paragraph("详见")
    field._p.append(parse_xml(f'<w:fldSimple {W_NS} w:instr=" REF _Ref1 \\h "><w:r><w:t>附件2</w:t></w:r></w:fldSimple>'))
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    cell._tc.append(parse_xml(f'<w:sdt {W_NS}><w:sdtContent><w:p><w:r><w:t>表格里的内容控件</w:t></w:r></w:p></w:sdtContent></w:sdt>'))
    toc_heading = document.styles["TOC Heading"].style_id  # Word's contents list is a content control too
    document.element.body.insert(1, parse_xml(
        f'<w:sdt {W_NS}><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/></w:docPartObj></w:sdtPr>'
        f'<w:sdtContent><w:p><w:pPr><w:pStyle w:val="{toc_heading}"/></w:pPr><w:r><w:t>目录</w:t></w:r></w:p>'
        '<w:p><w:r><w:t>一、总体要求</w:t></w:r><w:r><w:tab/></w:r><w:r><w:t>2</w:t></w:r></w:p></w:sdtContent></w:sdt>'))
    path = tmp_path / "通知.docx"
    document.save(str(path))

    texts = [b.text for b in load_file(path).blocks]
    assert texts == [
        "某区民政局关于做好低保动态管理工作的通知",
        "X民发〔2024〕12号",
        "遇到紧急情况请先拨打热线。",
        "24小时救助热线：12345。",  # the text box once, after the paragraph it is anchored to
        "低保家庭每季度核查一次，结果记入台账。",  # the deleted words are not shown in Word either
        "详见附件2",
        "表格里的内容控件",
    ]


# --- tables ---
