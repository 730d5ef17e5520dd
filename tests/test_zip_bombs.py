"""Word and Excel files are zip files: a small one can inflate to gigabytes (a zip bomb).

Every member's declared size, its real size and its compression ratio are checked before
python-docx or openpyxl read anything, so a bomb is refused in Chinese without the memory
it would take.
"""

from __future__ import annotations

import io
import resource
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from ingest.loaders import load_file
from shegong.errors import BadDocument


DOCUMENT_XML = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                '<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>')


def make_docx(path: Path, text: str = "社区助浴服务说明：每周二上午上门。") -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    document.save(str(path))
    return path


XLSX_PARTS = {
    "[Content_Types].xml":
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels":
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml":
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="案例" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    "xl/worksheets/sheet1.xml":
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row></sheetData></worksheet>',
}
SHARED_HEAD = '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
SHARED_STRINGS = "".join(f"<si><t>{t}</t></si>" for t in ("标题", "做法", "楼道堆物", "楼组长上门劝导"))


def make_xlsx(path: Path) -> Path:
    """An Excel file as Excel writes it: text in xl/sharedStrings.xml (openpyxl writes inline strings)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, xml in XLSX_PARTS.items():
            z.writestr(name, xml)
        z.writestr("xl/sharedStrings.xml", SHARED_HEAD + SHARED_STRINGS + "</sst>")
    return path


def rewrite_member(path: Path, member: str, write) -> Path:
    """Copy the zip, with ``member`` replaced by what ``write(stream)`` writes (deflated, level 9)."""
    source = zipfile.ZipFile(path)
    out = path.with_name("bomb-" + path.name)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            if info.filename == member:
                bomb = zipfile.ZipInfo(member)
                bomb.compress_type, bomb._compresslevel = zipfile.ZIP_DEFLATED, 9
                with target.open(bomb, "w") as stream:
                    write(stream)
            else:
                target.writestr(info, source.read(info))
    source.close()
    return out


def repeated_xml(head: str, unit: str, tail: str, megabytes: int):
    """XML with ``unit`` repeated to ``megabytes`` MB: millions of small elements, as in the probe's 1.5 MB
    file that inflated to 1.5 GB (deflate shrinks such repetition ~1000x)."""

    def write(stream):
        stream.write(head.encode())
        block = unit.encode() * ((1 << 20) // len(unit.encode()))
        for _ in range(megabytes):
            stream.write(block)
        stream.write(tail.encode())
    return write


@pytest.mark.integration
def test_a_docx_whose_document_inflates_a_thousandfold_is_refused_before_reading(tmp_path):
    head, tail = DOCUMENT_XML.split("{text}")
    bomb = rewrite_member(make_docx(tmp_path / "附件1.docx"), "word/document.xml",
                          repeated_xml(head + "有字" + tail[:-len("</w:body></w:document>")],
                                       "<w:p><w:r><w:t>x</w:t></w:r></w:p>", "</w:body></w:document>", 300))
    assert bomb.stat().st_size < 2 * 2**20  # under 2 MB on disk, 300 MB inflated
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(BadDocument, match="压缩") as err:
        load_file(bomb)
    assert "word/document.xml" in str(err.value) and "异常" in str(err.value)
    assert time.monotonic() - started < 5
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"peak memory grew by {grown_mb:.0f} MB"


@pytest.mark.integration
def test_an_xlsx_whose_shared_strings_inflate_is_refused(tmp_path):
    book = make_xlsx(tmp_path / "案例.xlsx")
    with zipfile.ZipFile(book) as z:
        assert "xl/sharedStrings.xml" in z.namelist()
    bomb = rewrite_member(book, "xl/sharedStrings.xml",
                          repeated_xml(SHARED_HEAD + SHARED_STRINGS, "<si><t>x</t></si>", "</sst>", 300))
    with pytest.raises(BadDocument, match="xl/sharedStrings.xml"):
        load_file(bomb)


@pytest.mark.unit
def test_a_member_larger_than_it_declares_is_refused(tmp_path):
    """The central directory says 200 bytes; the data inflates to 5 MB. Sizes are read, not believed."""
    good = make_docx(tmp_path / "通知.docx")
    raw = DOCUMENT_XML.replace("{text}", "有字" + " " * (5 << 20)).encode()
    liar = tmp_path / "liar.docx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(liar, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "word/document.xml":
                target.writestr(info, source.read(info))
        target.writestr("word/document.xml", raw)
    data = bytearray(liar.read_bytes())
    # patch the declared uncompressed size in the local header and in the central directory
    name = b"word/document.xml"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while (at := data.find(signature, at)) >= 0:
            name_len = struct.unpack_from("<H", data, at + (26 if signature == b"PK\x03\x04" else 28))[0]
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if bytes(data[name_at:name_at + name_len]) == name:
                struct.pack_into("<I", data, at + size_at, 200)
            at += 4
    liar.write_bytes(bytes(data))
    with pytest.raises(BadDocument) as err:
        load_file(liar)
    assert "word/document.xml" in str(err.value)


@pytest.mark.unit
def test_a_zip_with_a_huge_number_of_members_is_refused(tmp_path):
    path = tmp_path / "很多部件.docx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        for i in range(20_001):
            z.writestr(f"x/{i}", b"")
    path.write_bytes(buffer.getvalue())
    with pytest.raises(BadDocument, match="部件"):
        load_file(path)


@pytest.mark.unit
def test_real_office_files_pass_the_check(tmp_path):
    doc = load_file(make_docx(tmp_path / "说明.docx"))
    assert "助浴" in doc.blocks[0].text
    table = load_file(make_xlsx(tmp_path / "案例.xlsx"))
    assert table.blocks[0].fields["做法"] == "楼组长上门劝导"


@pytest.mark.unit
def test_ordinary_compression_ratios_are_allowed(tmp_path):
    """A long Word document (3 MB of paragraph XML, as Word writes it) is not mistaken for a bomb: Word's
    XML compresses 5-20 times."""
    from ingest.loaders.zipcheck import MAX_RATIO, check_office_zip

    runs = "".join(f'<w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:rPr><w:rFonts w:hint="eastAsia"/></w:rPr>'
                   f"<w:t>第{i}条 社区居民委员会应当组织居民开展第{i % 37}项活动，于{i % 12 + 1}月{i % 28 + 1}日前"
                   f"做好记录并上报街道，涉及{i * 7 % 100}户居民。</w:t></w:r></w:p>" for i in range(12000))
    path = rewrite_member(make_docx(tmp_path / "长文档.docx"), "word/document.xml",
                          lambda stream: stream.write(DOCUMENT_XML.replace("<w:p><w:r><w:t>{text}</w:t></w:r></w:p>",
                                                                            runs).encode()))
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("word/document.xml")
        assert info.file_size > 2 << 20 and info.file_size / info.compress_size < MAX_RATIO / 2
    check_office_zip(path, "Word")  # passes
