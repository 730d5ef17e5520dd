"""Drills eval: 相关依据 on the 示例题库, and questions generated from the knowledge base.

    shegong eval drills [--model M] [--n 20] [--kind single|multiple] [--out F] [--related-only] [--bank F]
    python -m eval.drills …                      (the same)

1. 相关依据 (no LLM; the 示例题库, or ``--bank``, e.g. eval/data/drills/heldout_bank.jsonl): for every bank question whose 来源 cites a law article, is that article among its
   related passages, and first? How many questions of each subject get any passage at all?
2. Generation: ``n`` passages spread over the handbook, the 权责清单 and the laws of the default knowledge
   base (the same ones every run). The model drafts one question from each; the drafts go through the
   checks a 督导's drafts go through (against the bundled bank for duplicates). Then the second pass:
   the model, shown only the passage and the question, answers it; a draft is answerable when its
   answer is the draft's key. Reported: drafts, how many pass each check and all of them, and how many
   of the passing ones the second pass answers right (also for the format-valid drafts that failed, to
   see whether the checks keep the better ones).
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from pathlib import Path

from assistant.drills.bank import SUBJECTS
from assistant.drills.bankfile import read_bank
from assistant.drills.core import SAMPLE_BANK
from assistant.drills.generate import Passage, draft_question, solve, spread, usable
from assistant.drills.related import LAW_REF, RelatedPassages

CHECKS = ("correct_supported", "distractors_unsupported", "single_answer", "positive_stem", "answer_hidden")


def related_eval(retriever, questions) -> dict:
    related = RelatedPassages(retriever)
    cited = first = 0
    with_passage: Counter = Counter()
    per_subject: Counter = Counter()
    for q in questions:
        found = related(q)
        per_subject[q.subject] += 1
        with_passage[q.subject] += bool(found)
        refs = LAW_REF.findall(q.source)
        if not refs:
            continue
        law, articles = refs[0]
        article = re.findall(r"第[^、，,和及]+?条", articles)[0]
        law = law.removeprefix("中华人民共和国")
        match = [law in c["title"] and c["location"].endswith(article) for c in found]
        cited += 1
        first += bool(match and match[0])
        with_passage["cited_found"] += any(match)
    return {"questions": len(questions), "citing_an_article": cited, "article_found": with_passage["cited_found"],
            "article_first": first,
            "with_a_passage": {s: f"{with_passage[s]}/{per_subject[s]}" for s in SUBJECTS if per_subject[s]}}


def eval_passages(library, n: int, shift: bool = False) -> list[Passage]:
    """``n`` passages worth a question, spread over every handbook, policy and law document (fixed order);
    ``shift``: the passages halfway between those, a second set for checking changes made after the first."""
    hits = [h for kb in library.select() for d in kb.documents() if d.doc_type in ("handbook", "policy", "law")
            for h in kb.chunks_of(d.id) if usable(h.text)]
    hits.sort(key=lambda h: (h.kb, h.doc_id, h.meta.get("seq", 0)))
    return [Passage.from_hit(h) for h in spread(hits, n, 0.5 if shift else 0.0)]


def generation_eval(llm, passages: list[Passage], existing, kind: str = "single", verbose: bool = True) -> dict:
    rows = []
    for i, passage in enumerate(passages, 1):
        t = time.perf_counter()
        draft = draft_question(llm, passage, existing, kind, second_pass=False)
        seconds = time.perf_counter() - t
        c = draft.checks
        answerable = None
        if draft.question is not None:  # every format-valid draft, to compare passing and failing ones
            answerable = solve(llm, draft.question, passage.prompt_text()) == draft.question.answer
        row = {"passage": f"{passage.kb}:{passage.chunk_id}", "where": passage.label(), "seconds": round(seconds, 1),
               "format_ok": not c.format_error, "passed": c.passed, "answerable": answerable,
               "problems": c.problems(), "record": draft.record, "raw": draft.raw,
               **{name: getattr(c, name) for name in CHECKS}, "not_duplicate": not c.duplicate_of}
        rows.append(row)
        if verbose:
            verdict = "通过" if c.passed else "；".join(c.problems())
            print(f"[{i}/{len(passages)}] {passage.label()}（{seconds:.0f} 秒）：{verdict}"
                  + ("" if answerable is None else f"；复核{'答对' if answerable else '答错'}"), flush=True)
    valid = [r for r in rows if r["format_ok"]]
    passed = [r for r in rows if r["passed"]]
    failed_valid = [r for r in valid if not r["passed"]]
    return {
        "model": getattr(llm, "name", ""), "kind": kind, "drafts": len(rows), "format_ok": len(valid),
        **{name: sum(bool(r[name]) for r in valid) for name in (*CHECKS, "not_duplicate")},
        "passed": len(passed), "passed_answerable": sum(bool(r["answerable"]) for r in passed),
        "failed_valid": len(failed_valid), "failed_valid_answerable": sum(bool(r["answerable"]) for r in failed_valid),
        "median_draft_s": round(statistics.median(r["seconds"] for r in rows), 1) if rows else None,
        "rows": rows,
    }


def main(model: str | None = None, n: int = 20, kind: str = "single", out: Path | None = None,
         related_only: bool = False, verbose: bool = True, shift: bool = False, bank_file: Path | None = None) -> dict:
    from knowledge.library import get_library
    from knowledge.retrieve.hybrid import HybridRetriever

    library = get_library()
    if library.needs_setup():
        library.install_defaults()
    bank = read_bank(SAMPLE_BANK).questions  # the duplicate check of generated drafts runs against this one
    scored = read_bank(bank_file).questions if bank_file else bank  # 相关依据 on another bank, e.g. the held-out one
    result = {"related": related_eval(HybridRetriever(library), scored)}
    if verbose:
        r = result["related"]
        print(f"相关依据：{r['questions']} 题中 {r['citing_an_article']} 题的来源引了法条；"
              f"其中 {r['article_found']} 题的相关依据里有这一条，{r['article_first']} 题排在第一；"
              f"有相关依据的题：{json.dumps(r['with_a_passage'], ensure_ascii=False)}", flush=True)
    if not related_only:
        from assistant.llm import make_llm
        from shegong.config import get_settings

        settings = get_settings()
        update = {"llm_backend": "llama_cpp"} | ({"llm_default_model": model} if model else {})
        llm = make_llm(settings.model_copy(update=update))
        passages = eval_passages(library, n, shift)
        g = result["generation"] = generation_eval(llm, passages, bank, kind, verbose)
        if verbose:
            print(f"生成题（{g['model']}，{g['kind']}）：{g['drafts']} 道草稿，格式正确 {g['format_ok']}，"
                  + "，".join(f"{name} {g[name]}" for name in (*CHECKS, "not_duplicate"))
                  + f"；全部检查通过 {g['passed']}，其中复核答对 {g['passed_answerable']}；"
                  f"格式正确但未通过检查的 {g['failed_valid']} 道中复核答对 {g['failed_valid_answerable']}；"
                  f"每道草稿中位 {g['median_draft_s']} 秒")
    if out:
        Path(out).write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return result


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--kind", default="single", choices=["single", "multiple"])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--related-only", action="store_true")
    ap.add_argument("--shift", action="store_true", help="the passages halfway between the default ones")
    ap.add_argument("--bank", type=Path, help="相关依据 on this bank instead of the 示例题库")
    a = ap.parse_args()
    main(a.model, a.n, a.kind, a.out, a.related_only, shift=a.shift, bank_file=a.bank)
