"""End-to-end answer eval: key facts, citation validity, invented law articles, refusals, speed.

    shegong eval answers [--model qwen2.5-coder-1.5b|qwen2.5-coder-0.5b|none] [--limit N] [--out FILE]
    shegong eval answers --replay FILE    # the recorded answers of FILE through today's checks, no LLM
    shegong eval answers --replay FILE --rejudge
                                          # same, but today's judge decides the gate's band again (loads the
                                          # model; questions it newly lets through are generated live)
    shegong eval answers --inscope eval/data/holdout_in.jsonl --oos eval/data/holdout_oos.jsonl
                                          # another question set (in-scope items may lack key_facts)
    shegong eval answers --inscope eval/data/retrieval.jsonl --oos /dev/null --band-only
                                          # refusal rates only: the model answers just the gate's band

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
from assistant.verify import CITE, LAW_ARTICLE, article_known, article_labels, unknown_titles
from eval.common import DATA_DIR, load_jsonl


def has_key_facts(text: str, groups: list[list[str]]) -> bool:
    return all(any(alt in text for alt in group) for group in groups)


def invented_articles(text: str, exists, sources: str = "") -> list[str]:
    """"本法第N条" counts as quoted when a shown source mentions that article, as the verifier decides."""
    quoted = article_labels(sources)
    return [m.group(0) for m in LAW_ARTICLE.finditer(text) if not article_known(m, exists, quoted)]


def invented_titles(answer, title_exists) -> list[str]:
    """Stricter than the verifier on purpose: only KB document titles and names quoted by a shown source count."""
    return unknown_titles(answer.answer, title_exists, " ".join(s.hit.text for s in answer.sources))


def score(a, item: dict, answerer: Answerer) -> dict:
    """One answer against its eval item (in-scope items have ``key_facts``; out-of-scope ones do not)."""
    markers = [int(n) for n in CITE.findall(a.answer)]
    return {
        "id": item["id"], "q": item["q"], "mode": a.mode, "refused": a.refused, "extractive": a.extractive,
        "key_facts": has_key_facts(a.answer, item["key_facts"]) if "key_facts" in item else None,
        "citations_valid": all(1 <= n <= len(a.sources) for n in markers),
        "invented": invented_articles(a.answer, answerer.retriever.article_exists,
                                      " ".join(s.hit.text for s in a.sources)),
        "invented_titles": invented_titles(a, answerer.retriever.title_exists),
        "ttft_ms": a.timings.get("ttft_ms"), "tokens_per_s": a.timings.get("tokens_per_s"), "warnings": a.warnings,
        # kept so the checks after generation can be replayed without the LLM (``replay``)
        "raw": a.raw, "relevance": round(a.relevance, 3), "judge_p": a.judge_p,
    }


def summarise(rows: list[dict], oos_rows: list[dict]) -> dict:
    n = max(len(rows), 1)
    with_facts = [r["key_facts"] for r in rows if r["key_facts"] is not None]
    ttfts = [r["ttft_ms"] for r in rows if r["ttft_ms"]]
    tps = [r["tokens_per_s"] for r in rows if r["tokens_per_s"]]
    totals = [r["total_ms"] for r in rows if r.get("total_ms")]
    return {
        "in_scope": len(rows), "out_of_scope": len(oos_rows),
        "key_facts_rate": round(sum(with_facts) / len(with_facts), 3) if with_facts else None,
        "citation_validity": round(sum(r["citations_valid"] for r in rows) / n, 3),
        "invented_law_citations": sum(len(r["invented"]) for r in rows + oos_rows),
        "invented_titles": sum(len(r["invented_titles"]) for r in rows + oos_rows),
        "false_refusal_rate": round(sum(r["refused"] for r in rows) / n, 3),
        "oos_refusal_rate": round(sum(r["refused"] for r in oos_rows) / max(len(oos_rows), 1), 3),
        "extractive_rate": round(sum(r["extractive"] for r in rows) / n, 3),
        "median_ttft_ms": round(statistics.median(ttfts)) if ttfts else None,
        "median_total_ms": round(statistics.median(totals)) if totals else None,
        "median_tokens_per_s": round(statistics.median(tps), 1) if tps else None,
    }


def report(summary: dict, oos_rows: list[dict]) -> None:
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    for r in oos_rows:
        if not r["refused"]:
            print("  未拒答（范围外）：", r["q"])


def mode_of(item: dict) -> str:
    """An item's answer mode; retrieval items have none: handbook and case questions are 搜方案."""
    return item.get("mode") or ("solution" if item.get("kind") in ("handbook", "case") else "policy")


def gate_only(answerer: Answerer, item: dict) -> dict | None:
    """The row of a question the relevance gate decides without the LLM, or None if it is in the judge's band.

    For refusal rates on a large set (``--band-only``): below ``low`` it is refused, at or above ``high``
    it is answered; only the band needs the model. Nothing is generated, so there are no key facts.
    """
    result = answerer.retriever.retrieve(item["q"], k=8)
    rel = answerer.relevance(result)
    if answerer.gate.in_band(rel):
        return None
    return {"id": item["id"], "q": item["q"], "mode": mode_of(item), **_not_generated(),
            "refused": rel < answerer.gate.low, "key_facts": None, "relevance": round(rel, 3), "judge_p": None}


def _not_generated() -> dict:
    """The fields of a row whose question the model never answered (nothing shown, nothing to check)."""
    return {"extractive": False, "citations_valid": True, "invented": [], "invented_titles": [],
            "warnings": [], "raw": "", "ttft_ms": None, "tokens_per_s": None}


def run(answerer: Answerer, inscope: list[dict], oos: list[dict], verbose: bool = True,
        band_only: bool = False) -> dict:
    rows = []
    for item in inscope:
        decided = gate_only(answerer, item) if band_only else None
        if decided is not None:
            rows.append(decided)
            continue
        t = time.perf_counter()
        a = answerer.ask(item["q"], mode=mode_of(item))
        row = score(a, item, answerer)
        row["total_ms"] = round((time.perf_counter() - t) * 1000)
        rows.append(row)
        if verbose:
            mark = {True: "✓", False: "✗", None: "·"}[row["key_facts"]]
            print(f"{mark} {item['id']} {item['q']}  ({row['total_ms']} ms{'，拒答' if a.refused else ''})", flush=True)
            if row["key_facts"] is False or (row["key_facts"] is None and a.refused):
                print("   " + a.answer[:300].replace("\n", " / "), flush=True)
    oos_rows = [(gate_only(answerer, item) if band_only else None) or score(answerer.ask(item["q"]), item, answerer)
                for item in oos]
    summary = summarise(rows, oos_rows)
    if verbose:
        report(summary, oos_rows)
    return {"summary": summary, "in_scope": rows, "out_of_scope": oos_rows}


def replay(answerer: Answerer, recorded: dict, verbose: bool = True, rejudge: bool = False) -> dict:
    """Score a recorded run again with today's checks after generation.

    Without ``rejudge`` no LLM is needed, and it is exact as long as nothing before generation changed
    (retrieval, gate, judge, sources): the model's recorded text goes through verification and the
    refusal rules again. With ``rejudge`` (the answerer needs its LLM) the judge is asked again about
    every question in the gate's band: below the threshold the question is refused; above it the
    recorded text is replayed, or, where the old judge had refused it, the question is answered live.
    Speeds are the recorded ones, except for answers generated live.
    """
    items = {x["id"]: x for x in load_jsonl(DATA_DIR / "answers.jsonl") + load_jsonl(DATA_DIR / "out_of_scope.jsonl")}
    for part in ("in_scope", "out_of_scope"):  # runs of other question sets carry their items' fields
        items.update({r["id"]: {k: r[k] for k in ("id", "q", "mode") if k in r} for r in recorded[part]
                      if r["id"] not in items})
    out = {}
    for part in ("in_scope", "out_of_scope"):
        out[part] = []
        for old in recorded[part]:
            item = items[old["id"]]
            judge_p = old.get("judge_p")
            if rejudge and judge_p is not None:
                judge_p = answerer.judge_retrieved(old["q"], answerer.retriever.retrieve(old["q"], k=8))
                if judge_p < answerer.gate.judge_threshold:
                    out[part].append(_judged_out(old, judge_p))
                    continue
                if not old.get("raw"):  # the old judge refused it: answer it now
                    t = time.perf_counter()
                    row = score(answerer.ask(item["q"], mode=mode_of(item)), item, answerer)
                    row["total_ms"] = round((time.perf_counter() - t) * 1000)
                    out[part].append(row)
                    continue
            if not old.get("raw"):  # refused before generation: nothing after generation to replay
                out[part].append(old)
                continue
            a = answerer.replay(old["q"], mode_of(item), old["raw"], judge_p is not None)
            row = score(a, item, answerer)
            row.update({k: old.get(k) for k in ("ttft_ms", "tokens_per_s", "total_ms", "relevance")})
            row["judge_p"] = judge_p
            out[part].append(row)
    out["summary"] = summarise(out["in_scope"], out["out_of_scope"])
    if verbose:
        report(out["summary"], out["out_of_scope"])
    return out


def _judged_out(old: dict, judge_p: float) -> dict:
    """A recorded row as the judge's refusal before generation."""
    return {**old, **_not_generated(), "refused": True, "judge_p": judge_p, "total_ms": None,
            "key_facts": None if old.get("key_facts") is None else False}


def main(model: str = "qwen2.5-coder-1.5b", limit: int | None = None, out: Path | None = None,
         replay_file: Path | None = None, inscope_file: Path | None = None, oos_file: Path | None = None,
         band_only: bool = False, rejudge: bool = False) -> dict:
    from assistant.llm import make_llm
    from knowledge.library import get_library
    from knowledge.retrieve.hybrid import HybridRetriever
    from shegong.config import get_settings

    settings = get_settings()
    if model == "none" or (replay_file and not rejudge):
        llm = None
    else:
        settings = settings.model_copy(update={"llm_backend": "llama_cpp", "llm_default_model": model})
        llm = make_llm(settings)
    lib = get_library()
    if lib.needs_setup():
        lib.install_defaults()
    answerer = Answerer.from_settings(HybridRetriever(lib), llm, settings)
    if replay_file:
        result = replay(answerer, json.loads(Path(replay_file).read_text(encoding="utf-8")), rejudge=rejudge)
        if out:
            Path(out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        return result
    inscope = load_jsonl(inscope_file or DATA_DIR / "answers.jsonl")[:limit]
    oos = load_jsonl(oos_file or DATA_DIR / "out_of_scope.jsonl")[:limit]
    result = run(answerer, inscope, oos, band_only=band_only)
    result["model"] = model
    if out:
        Path(out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return result


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--replay", type=Path, help="a JSON written by --out: score its answers again, no LLM")
    ap.add_argument("--inscope", type=Path)
    ap.add_argument("--oos", type=Path)
    ap.add_argument("--band-only", action="store_true")
    ap.add_argument("--rejudge", action="store_true", help="with --replay: today's judge decides the band again")
    a = ap.parse_args()
    main(a.model, a.limit, a.out, a.replay, a.inscope, a.oos, a.band_only, a.rejudge)
