"""Building an index: fit a model on a corpus, encode every item, write the bundle."""

from __future__ import annotations

import logging
import time

import numpy as np

from .bundle import Bundle
from .data.corpus import Corpus
from .index import BinaryCodeIndex, check_index_kind
from .models import HashModel, check_bits

log = logging.getLogger("hashret")


def build_index(corpus: Corpus, out, bits: int = 64, model: str = "deep", epochs=None,
                device: str = "auto", seed: int = 0, index_kind: str = "flat",
                index_params: dict | None = None, model_options: dict | None = None,
                progress: bool = True) -> Bundle:
    """Train a ``model`` on the corpus' training split, index every item (both splits) and
    write the bundle to ``out``. Nothing at ``out`` changes unless the build succeeds."""
    check_bits(bits)
    Bundle.check_destination(out)      # fail before training, not after
    check_index_kind(index_kind, index_params)
    start = time.perf_counter()
    hm = HashModel(kind=model, bits=bits, epochs=epochs, seed=seed,
                   extra=dict(model_options or {}))
    hm.fit(corpus, device=device, progress=progress)
    fit_seconds = time.perf_counter() - start
    t = time.perf_counter()
    codes, emb = hm.encode_corpus(corpus, progress=progress)
    encode_seconds = time.perf_counter() - t
    if hm.empty_items:
        log.warning("%d document(s) hold no word of the vocabulary (empty or only stop "
                    "words); they all get the same code", hm.empty_items)
    t = time.perf_counter()
    index = BinaryCodeIndex.build(codes, kind=index_kind, **(index_params or {}))
    index_seconds = time.perf_counter() - t
    build = {"train": hm.report.to_dict(), "fit_seconds": round(fit_seconds, 2),
             "encode_seconds": round(encode_seconds, 2),
             "items_per_second_encode": round(len(corpus) / max(encode_seconds, 1e-9), 1),
             "index_seconds": round(index_seconds, 2), "seed": seed}
    if hm.has_classifier:
        test = np.flatnonzero(np.asarray(corpus.splits) == "test")
        rows = test if len(test) else corpus.training_indices()
        acc = hm.classifier_accuracy(corpus, rows, codes[rows])
        build["classifier_accuracy"] = None if acc is None else round(acc, 4)
        build["classifier_accuracy_on"] = "test split" if len(test) else "training split"
        build["labelled_training_items"] = hm.config.extra.get("labelled_items")
    Bundle.write(out, hm, codes, emb, corpus, index, extra={"build": build})
    return Bundle.load(out)
