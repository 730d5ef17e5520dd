"""File loaders: ``load_file(path)`` picks one by extension and returns a LoadedDocument."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shegong.config import get_settings
from shegong.errors import BadDocument, UnsupportedFile
from ingest.loaders.docx import load_docx
from ingest.loaders.pdf import Progress as PdfProgress, load_pdf
from ingest.loaders.table import load_csv, load_xlsx
from ingest.loaders.text import load_markdown, load_txt
from ingest.loaders.zipcheck import check_office_zip
from ingest.types import LoadedDocument, check_doc_type

LOADERS: dict[str, Callable[[Path], LoadedDocument]] = {
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".txt": load_txt,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".xlsx": load_xlsx,
    ".csv": load_csv,
}
SUPPORTED_SUFFIXES = frozenset(LOADERS)
SUPPORTED = "PDF、Word(.docx)、TXT、Markdown、Excel(.xlsx)、CSV"
_OLD_FORMATS = {".doc": ".docx", ".wps": ".docx", ".xls": ".xlsx", ".et": ".xlsx"}
POLICY_NAME_HINTS = ("法", "条例", "办法", "规定")


def load_file(path: str | Path, doc_type: str | None = None, title: str | None = None,
              progress: PdfProgress | None = None) -> LoadedDocument:
    """Load one file. Raises UnsupportedFile / BadDocument with a message for the user.

    ``progress(done, total, what)`` hears about each page of a PDF (the slow kind: OCR) and may raise
    ImportCancelled to stop the import.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in LOADERS:
        message = f"不支持的文件类型：{ext or '（无扩展名）'}。支持：{SUPPORTED}"
        if ext in _OLD_FORMATS:
            message += f"。请先用 Word/WPS/Excel 另存为 {_OLD_FORMATS[ext]} 再上传"
        raise UnsupportedFile(message)
    check_doc_type(doc_type)
    if not path.is_file():
        raise BadDocument(f"找不到文件：{path.name}")

    if path.stat().st_size == 0:  # checked before reading anything
        raise BadDocument(f"文件是空的：{path.name}")
    check_size(path)

    _check_office_container(path, ext)
    doc = load_pdf(path, progress) if ext == ".pdf" else LOADERS[ext](path)
    if not any(block.text.strip() for block in doc.blocks):
        raise BadDocument(f"没有从 {path.name} 中读出任何文字")
    doc.title = title or doc.title or path.stem
    doc.doc_type = doc_type or guess_doc_type(path)
    if _is_sample(path):
        doc.meta["sample"] = True
    return doc


def check_size(path: Path, name: str | None = None, limit_mb: int | None = None) -> None:
    """Refuse a file over the upload limit (SHEGONG_MAX_UPLOAD_MB) before anything copies or reads it."""
    size, limit_mb = path.stat().st_size, limit_mb or get_settings().max_upload_mb
    if size > limit_mb * 1024 * 1024:
        raise BadDocument(f"文件太大：{name or path.name} 有 {size / 2**20:.1f} MB，超过了 {limit_mb} MB 的上限。"
                          "请拆分成几个小文件再上传")


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of old Office files and of password-protected new ones
_OFFICE_NAMES = {".docx": ("Word", ".doc", ".docx"), ".xlsx": ("Excel", ".xls", ".xlsx")}


def _check_office_container(path: Path, ext: str) -> None:
    """A .docx/.xlsx is a zip file: it is checked for a zip bomb (see zipcheck.py). One in the old binary container is either protected by a
    password (Office keeps the encrypted zip in a stream named EncryptedPackage) or an old
    .doc/.xls renamed; each gets its own advice instead of "damaged"."""
    if ext not in _OFFICE_NAMES:
        return
    app, old, new = _OFFICE_NAMES[ext]
    with path.open("rb") as f:
        if f.read(len(_OLE_MAGIC)) != _OLE_MAGIC:
            check_office_zip(path, app)  # before python-docx/openpyxl inflate anything
            return
    if "EncryptedPackage".encode("utf-16-le") in path.read_bytes():
        raise BadDocument(f"{path.name} 设置了打开密码，无法读取。请在 {app} 或 WPS 中取消密码后另存，再上传")
    raise BadDocument(f"{path.name} 实际是旧版 {old} 文件（只是扩展名为 {new}）。请用 {app} 或 WPS 打开后另存为 {new} 再上传")


def guess_doc_type(path: Path) -> str:
    if path.suffix.lower() in (".xlsx", ".csv"):
        return "case"
    if any(hint in path.stem for hint in POLICY_NAME_HINTS):
        return "policy"
    return "handbook"


def _is_sample(path: Path) -> bool:
    parts = path.resolve().parts
    return any(parts[i : i + 2] == ("knowledge", "samples") for i in range(len(parts) - 1))


__all__ = ["LOADERS", "SUPPORTED", "SUPPORTED_SUFFIXES", "check_size", "guess_doc_type", "load_file"]
