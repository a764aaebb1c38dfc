#!/usr/bin/env python3
"""Time and memory of building a document index as the corpus grows.

  python scripts/bench_build_scale.py --docs 1000000 [--bits 64] [--json-out F]

Writes a synthetic JSON-lines corpus of N documents (a topic model over made-up alphabetic
words: each document mixes a main topic, which is its label, a second topic and common
background words; 90% train, 10% test), builds a `deep` index of it with the default
settings through the library (`hashret.build_index`, the same path as `hashret build`), and
prints the time of each stage (reading, preparing: vocabulary, TF-IDF, neighbours; training;
encoding; indexing), the process' peak resident memory, and precision@100 of the test
documents querying the training documents (shared main topic = relevant). One N per run,
so the peak memory is that of one build.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from hashret import build_index, read_corpus
from hashret.eval import evaluate_bundle

SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]      # 80 syllables


def made_up_words(n: int, rng) -> list[str]:
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES, rng.integers(2, 5))))
    return sorted(words)


def write_corpus(path: Path, n_docs: int, vocab: int = 30_000, topics: int = 100,
                 words_per_doc: int = 50, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    words = np.array(made_up_words(vocab, rng))
    zipf = 1 / np.arange(1, vocab + 1)
    background = np.cumsum(zipf / zipf.sum())
    # each topic favours 300 words of the vocabulary, Zipf-weighted among themselves
    topic_words = np.stack([rng.permutation(vocab)[:300] for _ in range(topics)])
    topic_cum = np.cumsum(zipf[:300] / zipf[:300].sum())
    with open(path, "w") as f:
        for start in range(0, n_docs, 10_000):
            m = min(10_000, n_docs - start)
            main, second = rng.integers(0, topics, m), rng.integers(0, topics, m)
            u, source = rng.random((m, words_per_doc)), rng.random((m, words_per_doc))
            in_topic = np.minimum(np.searchsorted(topic_cum, u), 299)
            chosen = np.where(source < 0.5, topic_words[main][np.arange(m)[:, None], in_topic],
                              np.where(source < 0.7,
                                       topic_words[second][np.arange(m)[:, None], in_topic],
                                       np.minimum(np.searchsorted(background, u), vocab - 1)))
            split = np.where(rng.random(m) < 0.9, "train", "test")
            for i in range(m):
                f.write(json.dumps({"id": f"d{start + i}", "text": " ".join(words[chosen[i]]),
                                    "label": f"t{main[i]}", "split": split[i]}) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    result = {"docs": a.docs, "bits": a.bits}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.jsonl"
        t = time.perf_counter()
        write_corpus(path, a.docs, seed=a.seed)
        result["write_corpus_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        corpus = read_corpus(path)
        result["read_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        bundle = build_index(corpus, Path(tmp) / "index", bits=a.bits, seed=a.seed,
                             progress=False)
        result["build_s"] = round(time.perf_counter() - t, 1)
        build = bundle.manifest["build"]
        train = build["train"]
        result.update(prepare_s=train["prepare_seconds"], train_s=round(train["seconds"], 1),
                      epochs=train["epochs_run"], train_docs=train["train_items"],
                      encode_s=build["encode_seconds"], index_s=build["index_seconds"])
        t = time.perf_counter()
        ev = evaluate_bundle(bundle, corpus, baselines=False)
        result["precision_at_100"] = next(iter(ev["methods"].values()))["precision@100"]
        result["eval_s"] = round(time.perf_counter() - t, 1)
    result["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    print(json.dumps(result))
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
