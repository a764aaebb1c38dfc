"""An index's corpus read again: from where, and as, its build and its additions read it."""

from __future__ import annotations

from .errors import CorpusError, UsageError


def read_recorded(info: dict):
    """A corpus read again the way a build (or an addition) read it."""
    from .data import limit_rows, load_dataset, read_corpus
    if info.get("spark"):
        raise CorpusError(f"the index was built on Spark from {info.get('source')}, which is "
                          "not read again on one machine; skip the baselines "
                          "({baselines:False})")
    if info.get("dataset"):
        corpus = load_dataset(info["dataset"])
    else:
        corpus = read_corpus(info["source"], **info.get("reader", {}))
    if info.get("limit"):
        corpus = limit_rows(corpus, info["limit"], info.get("limit_seed", 0))
    if info.get("first_id") is not None:        # numbered on after the index's ids
        corpus.ids = list(range(info["first_id"], info["first_id"] + len(corpus)))
    return corpus


def reopen_corpus(bundle):
    """The corpus a bundle was built from, read again the way the build read it, with the
    corpora added to the index since and the items removed from it (``hashret add`` and
    ``remove``), in the order they were."""
    from .data.corpus import concat_corpora
    info = bundle.manifest.get("corpus", {})
    corpus = read_recorded(info)
    for change in info.get("changes", []):
        if "add" in change:
            try:
                corpus = concat_corpora([corpus, read_recorded(change["add"])])
            except CorpusError as e:
                raise UsageError(f"the corpora of the index {bundle.path} cannot be read "
                                 f"again as one ({e}); skip the baselines "
                                 "({baselines:False})", option="baselines") from None
        else:
            gone = set(change["remove"])
            corpus = corpus.subset([r for r, i in enumerate(corpus.ids) if str(i) not in gone])
    ids = bundle.items.column("id").to_pylist()
    if [str(i) for i in corpus.ids] != [str(i) for i in ids]:
        raise UsageError(f"the corpus {info.get('source')} no longer matches the index "
                         f"{bundle.path}; rebuild the index or skip baselines "
                         "({baselines:False})", option="baselines")
    return corpus


def read_source(path=None, dataset: str | None = None, columns: dict | None = None,
                limit: int | None = None, seed: int = 0):
    """The corpus at ``path`` (any layout :func:`hashret.data.read_corpus` reads, with its
    table ``columns``: ``text_column``, ``label_column``, ``id_column``,
    ``embedding_column``) or the embedded ``dataset`` (the default one when neither is
    given), cut to a random ``limit`` of items that keeps the splits' proportions."""
    from .data import DEFAULT_DATASET, limit_rows, load_dataset, read_corpus
    if path and dataset:
        raise UsageError("give either a corpus path or {dataset}, not both", option="dataset")
    corpus = read_corpus(path, **(columns or {})) if path else \
        load_dataset(dataset or DEFAULT_DATASET)
    return limit_rows(corpus, limit, seed)
