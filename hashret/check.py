"""``hashret check``: verify a bundle end to end."""

from __future__ import annotations

import numpy as np

from .bundle import Bundle
from .errors import HashretError, MissingBundleError
from .search.bits import unpack_bits

SAMPLE = 256
ROUNDING = 1e-4     # how far a re-derived code value may move from the stored one by rounding


def check_bundle(path, sample: int = SAMPLE) -> tuple[list[str], list[str]]:
    """``(problems, notes)`` for the bundle at ``path``; no problems means it is sound.

    Checks every file's size and SHA-256 against the manifest; that the index, the item
    table and the manifest agree on the item count and the codes; and that the model,
    given a random sample of the corpus' items again, reproduces the stored codes (which
    catches silent drift across library versions), and so does the numpy encoder that
    answers queries by example.
    """
    problems, notes = [], []
    try:
        manifest = Bundle.read_manifest(path)
    except MissingBundleError:
        raise                      # no index at that path: the command line is wrong
    except HashretError as e:
        return [str(e)], notes
    problems += Bundle.verify_files(path, manifest, hashes=True)
    if problems:
        return problems, notes
    try:
        bundle = Bundle.load(path)
    except HashretError as e:
        return [str(e)], notes
    n = manifest["counts"]["items"]
    if bundle.index.ntotal != n or len(bundle.items) != n:
        problems.append(f"item counts disagree: manifest {n}, index {bundle.index.ntotal}, "
                        f"items.parquet {len(bundle.items)}")
        return problems, notes
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    if not np.array_equal(bundle.index.reconstruct(rows), bundle.codes[rows]):
        problems.append("the faiss index holds other codes than items.parquet")
    try:
        from .sources import reopen_corpus
        corpus = reopen_corpus(bundle)
    except HashretError as e:
        notes.append(f"codes not re-derived: the corpus cannot be read again ({e})")
        return problems, notes
    items = corpus.take(rows)
    stored = (bundle.codes[rows], np.asarray(bundle.embeddings()[rows], np.float32))
    differ, rounding = _compare(bundle.model.encode(items), stored)
    if differ:
        problems.append(f"the model gives other codes than stored for {differ} of {len(rows)} "
                        "sampled items (library versions changed?); rebuild the index")
    else:
        notes.append(f"model reproduces the stored codes of {len(rows)} sampled items"
                     + (f" ({rounding} differ only in bits within {ROUNDING:g} of their "
                        "threshold, as rounding on another machine flips them)"
                        if rounding else ""))
    # queries by example run the encoder in numpy: it must give the same codes
    numpy_encoder = bundle.numpy_encoder()
    if numpy_encoder is not None:
        differ, _ = _compare(numpy_encoder.encode(bundle.featurizer, items)[:2], stored)
        if differ:
            problems.append(f"the numpy encoder that answers queries gives other codes than "
                            f"stored for {differ} of {len(rows)} sampled items; query through "
                            "the network (Retriever.load(DIR) in Python) and report it")
        else:
            notes.append("the numpy encoder that answers queries gives the same codes")
    return problems, notes


def _compare(found, stored) -> tuple[int, int]:
    """How many items' re-derived codes differ from the stored ones, and how many differ
    only in bits whose value sat within rounding of its threshold: a bit may flip on
    another machine or thread count (floating-point sums in another order), which is not
    drift."""
    (codes, emb), (stored_codes, stored_emb) = found, stored
    flipped = unpack_bits(codes) != unpack_bits(stored_codes)
    moved = np.abs(emb - stored_emb) > ROUNDING
    differ = int((flipped & moved).any(1).sum())
    return differ, int(flipped.any(1).sum()) - differ
