"""Zip-bomb check for Word (.docx) and Excel (.xlsx) files, which are zip files.

python-docx loads every part of a .docx into memory and openpyxl loads
``xl/sharedStrings.xml`` whole, so a 1.5 MB file whose ``word/document.xml``
inflates to 1.5 GB takes gigabytes of memory. Before either library opens the
file, every member is checked:

- the number of members (read from the end of the file, before the listing is parsed);
- each member's declared size and compression ratio, from the zip's own listing;
- each member's real size, by inflating it with a cap (a member may declare
  200 bytes and inflate to gigabytes; zipfile would stop at the declared size,
  but the file is lying and is refused).

The limits are far above what real Office files reach: Word and Excel compress
their XML 5-20 times (~50 at the very most for a sheet of identical rows), a
1,000-page Word document's text is ~20 MB of XML, and a workbook that reaches
the 100 MB upload limit inflates to well under 1 GB.
"""

from __future__ import annotations

import copy
import struct
import zipfile
from pathlib import Path

from shegong.errors import BadDocument

MAX_MEMBERS = 10_000
MAX_RATIO = 100  # inflated / compressed, for members over RATIO_FROM bytes
RATIO_FROM = 1 << 20  # small parts (styles, settings) may compress better without harm
MAX_MEMBER = 256 << 20  # any one part, inflated
MAX_TOTAL = 1 << 30  # all parts together, inflated
_EOCD = b"PK\x05\x06"
_BLOCK = 1 << 20


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


def _member_count(path: Path) -> int | None:
    """The member count recorded in the end-of-central-directory record (None if not found)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - (1 << 16) - 22))
        tail = f.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) < at + 22:
        return None
    return struct.unpack_from("<H", tail, at + 10)[0]  # 0xFFFF means a zip64 count: more than any Office file has


def check_office_zip(path: Path, app: str) -> None:
    """Raise BadDocument (Chinese) if the zip at ``path`` could inflate far beyond a real Office file.

    A file that is not a zip at all is left to the loader, which says it is damaged.
    """
    name = path.name
    count = _member_count(path)
    if count is None:
        return
    bomb = (f"，可能是恶意构造的“压缩炸弹”文件，为保护系统未导入。"
            f"如果这是正常的文件，请用 {app} 或 WPS 打开后另存为新文件再上传")
    if count > MAX_MEMBERS:
        raise BadDocument(f"{name} 里的部件数量异常（{count} 个，正常的 {app} 文件远少于 {MAX_MEMBERS} 个）{bomb}")
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > MAX_MEMBERS:
                raise BadDocument(f"{name} 里的部件数量异常（{len(members)} 个）{bomb}")
            _check_sizes(name, members, bomb)  # what the listing declares: costs nothing
            total = 0
            for info in members:  # what the data really inflates to, with a cap
                real = _inflated_size(zf, info, min(MAX_MEMBER, MAX_TOTAL - total) + 1)
                if real != info.file_size:
                    raise BadDocument(f"{name} 中的部件 {info.filename} 解压后的实际大小与文件里记录的不符"
                                      f"（记录 {_mb(info.file_size)}，实际{'超过 ' if real > MAX_MEMBER else ''}"
                                      f"{_mb(real)}），文件已损坏或被改动过{bomb}")
                total += real
    except BadDocument:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise BadDocument(f"{app} 文件已损坏，无法读取（{name} 的压缩数据有误）。"
                          f"请用 {app} 或 WPS 打开后另存为新文件再上传") from exc


def _check_sizes(name: str, members: list[zipfile.ZipInfo], bomb: str) -> None:
    total = 0
    for info in members:
        size, packed = info.file_size, max(info.compress_size, 1)
        ratio = size / packed
        if size > MAX_MEMBER or (size > RATIO_FROM and ratio > MAX_RATIO):
            raise BadDocument(f"{name} 中的部件 {info.filename} 解压后异常地大（{_mb(size)}，压缩了 {ratio:.0f} 倍）{bomb}")
        total += size
        if total > MAX_TOTAL:
            raise BadDocument(f"{name} 解压后异常地大（超过 {_mb(MAX_TOTAL)}）{bomb}")


def _inflated_size(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> int:
    """How many bytes the member really inflates to, reading at most ``cap``."""
    probe = copy.copy(info)
    probe.file_size = cap  # zipfile stops at the declared size: declare the cap instead
    real = 0
    with zf.open(probe) as stream:
        while real < cap and (block := stream.read(min(_BLOCK, cap - real))):
            real += len(block)
    return real
