"""Retrieval quality on a bundle's own corpus: test items query training items.

Protocol (docs/TARGETS): every test item queries the training items by Hamming distance;
a retrieved item is relevant when it shares at least one label with the query;
precision@k and mAP@1000 are averaged over the queries. Hamming rankings come straight from
faiss' ``IndexBinaryFlat`` (as an independent checker would compute them), so ties are
ordered as faiss orders them.

Baselines computed in the same run on the same features: random-projection LSH
(faiss ``IndexLSH``: the sign of the first K dimensions after a random rotation), PCA + ITQ
(faiss ``ITQTransform`` on a PCA of the features) and exact float search on the features
(cosine on TF-IDF for documents and on vectors, L2 on pixels for images). Vector indexes
also get the sign of every dimension (what "binary quantization" of embeddings keeps, one
bit a dimension), and every method's recall@10: the share of each query's exact float
top-10 among its first 10 results.
"""

from __future__ import annotations

import time

import numpy as np

from . import defaults
from .errors import UsageError
from .search.bits import pack_bits
# the ranking, its relevance and AP are shared with the scores that stop a model's run
from .search.metrics import average_precision, hamming_ranking, relevance
from .search.health import code_health, health_warnings
from .search.rerank import asymmetric_order
from .data.features import dense_rows
from .data.sentences import MINILM, TFIDF_MINILM, SentenceFeaturizer, remember

MAP_DEPTH = 1000


def label_matrix(labels_list, vocab=None):
    """Items' labels as a boolean (n, L) incidence matrix over a shared label vocabulary."""
    if vocab is None:
        vocab = {l: i for i, l in enumerate(sorted({l for ls in labels_list for l in ls}))}
    m = np.zeros((len(labels_list), max(len(vocab), 1)), bool)
    for i, ls in enumerate(labels_list):
        for l in ls:
            if l in vocab:
                m[i, vocab[l]] = True
    return m, vocab


def scores(rel: np.ndarray, k: int = 100) -> dict:
    """precision@k and mAP over the ranking depth of ``rel`` (AP normalised by the relevant
    items retrieved within that depth)."""
    return {f"precision@{k}": float(rel[:, :k].mean()),
            f"mAP@{rel.shape[1]}": float(average_precision(rel).mean())}


# --- baselines --------------------------------------------------------------------------

def dense_features(model, corpus, rows, batch: int = 2048) -> np.ndarray:
    """The model's input features as a dense float32 matrix: TF-IDF, pixels, or vectors
    of unit length (as users compare them, not centred)."""
    out = []
    for _, items in corpus.batches(batch, rows):
        if model.config.network_input == "vector":
            out.append(model.featurizer.unit(items))
            continue
        out.append(dense_rows(model.featurizer, model.features(items)))
    return np.concatenate(out).astype(np.float32, copy=False)


def pipeline_features(model, corpus, rows) -> np.ndarray:
    """What the label pipeline reads of ``rows``: :func:`dense_features`, beside the
    documents' sentence vectors when the model's own pipeline targets read them too
    (``tfidf+minilm``), so that the baseline knows what the model was taught from."""
    c = model.config
    if c.features != TFIDF_MINILM:
        return dense_features(model, corpus, rows)
    texts = corpus.take(rows)                  # read once for both parts
    return np.hstack([dense_rows(model.featurizer, model.features(texts)),
                      SentenceFeaturizer(c.text_encoder or MINILM).embed(texts)])


BASELINE_CHUNK = 8_192      # items whose features are made dense at a time for the baselines
LSH_TRAIN_ITEMS = 10_000
ITQ_TRAIN_ITEMS = 20_000


def lsh_encoder(x_train, bits):
    """Random-projection LSH: sign of a random rotation (faiss ``IndexLSH``), trained on
    ``x_train``; returns a function from dense features to packed codes."""
    import faiss
    lsh = faiss.IndexLSH(x_train.shape[1], bits, True, False)
    lsh.train(np.ascontiguousarray(x_train))
    return lambda x: lsh.sa_encode(np.ascontiguousarray(x))


def pca_itq_encoder(sample, bits, seed=0):
    """PCA to ``bits`` dimensions, then ITQ's learned rotation (faiss ``ITQTransform``),
    then the sign, all fitted on ``sample``; returns ``(encode, used)``: a function from
    dense features to packed codes, and how many of the ``bits`` it sets. Features of fewer
    dimensions than ``bits`` (or fewer sample rows) have no more principal directions:
    PCA+ITQ then codes ``used`` of them and the other bits stay 0, which leaves every
    Hamming distance as ``used`` bits give it. PCA runs in torch (low-rank), which copes
    with 10,000-d TF-IDF."""
    import faiss
    import torch
    n, d = sample.shape
    used = max(1, min(bits, n, d))
    mean = sample.mean(0)
    torch.manual_seed(seed)
    _, _, v = torch.pca_lowrank(torch.from_numpy(sample - mean), q=min(used + 10, n, d),
                                center=False, niter=4)
    proj = v[:, :used].numpy()
    itq = faiss.ITQTransform(used, used, False)
    itq.train(np.ascontiguousarray((sample - mean) @ proj, np.float32))
    shift = mean @ proj               # (x - mean) P without an (n, d) temporary

    def encode(x):
        z = np.ascontiguousarray(x @ proj - shift, np.float32)
        signs = np.zeros((len(z), bits), bool)
        signs[:, :used] = itq.apply(z) > 0
        return pack_bits(signs)
    return encode, used


def label_pipeline_encoder(model, corpus, bits: int, seed: int = 0):
    """The baseline a ``semi`` model must beat, from the labels it saw: the label pipeline
    (:class:`hashret.training.targets.LabelPipeline`) trained on what the model's pipeline
    targets read (:func:`pipeline_features`) of the labelled training items it used, then
    PCA+ITQ of its representation to ``bits``. Returns a function from those features to
    packed codes."""
    import copy
    from .training.targets import LabelPipeline
    from .training.teacher import label_targets
    train = corpus.training_indices()
    config = copy.deepcopy(model.config)
    y, mask = label_targets(config, [corpus.labels[i] for i in train])
    sample = train[np.random.default_rng(seed).permutation(len(train))[:ITQ_TRAIN_ITEMS]]
    xs = pipeline_features(model, corpus, sample)
    pipe = LabelPipeline(pipeline_features(model, corpus, train[mask]), y[mask],
                         bool(config.learned.multilabel), xs, seed=seed)
    encode, _ = pca_itq_encoder(pipe.represent(xs), bits, seed)
    return lambda x: encode(pipe.represent(x))


def sign_encoder(d: int):
    """The sign of each of ``d`` dimensions, one bit each (zero bits pad to a whole
    byte)."""
    pad = -d % 8
    return lambda x: pack_bits(np.pad(np.asarray(x) > 0, ((0, 0), (0, pad))))


COLOUR_IMAGES = 2_000   # colorize indexes: images whose colours are measured, at most
RECALL_DEPTH = 10       # vector indexes: recall of each query's exact float top-10


def encode_in_chunks(encode, model, corpus, rows, chunk: int = BASELINE_CHUNK,
                     features=dense_features) -> np.ndarray:
    """``encode`` applied to the ``features`` (dense) of ``rows``, ``chunk`` items at a
    time, so a large corpus never needs all its features dense at once."""
    return np.concatenate([encode(features(model, corpus, rows[s:s + chunk]))
                           for s in range(0, len(rows), chunk)])


def float_ranking_in_chunks(model, corpus, q_rows, db_rows, depth, metric,
                            chunk: int = BASELINE_CHUNK) -> np.ndarray:
    """Exact float search of ``db_rows`` for each of ``q_rows`` (positions in ``db_rows``),
    with only ``chunk`` queries' and ``chunk`` database items' features dense at a time:
    each database chunk's best ``depth`` are merged into the queries' running top lists."""
    import faiss
    depth = min(depth, len(db_rows))
    maximise = metric == "cosine"
    faiss_metric = faiss.METRIC_INNER_PRODUCT if maximise else faiss.METRIC_L2
    out = np.empty((len(q_rows), depth), np.int64)
    for qs in range(0, len(q_rows), chunk):
        xq = np.ascontiguousarray(dense_features(model, corpus, q_rows[qs:qs + chunk]))
        heap = faiss.ResultHeap(len(xq), depth, keep_max=maximise)
        for ds in range(0, len(db_rows), chunk):
            xb = np.ascontiguousarray(dense_features(model, corpus, db_rows[ds:ds + chunk]))
            dist, ids = faiss.knn(xq, xb, min(depth, len(xb)), metric=faiss_metric)
            heap.add_result(np.ascontiguousarray(dist, np.float32),
                            np.ascontiguousarray(ids + ds, np.int64))
        heap.finalize()
        out[qs:qs + len(xq)] = heap.I
    return out


def float_ranking(x_q, x_db, depth, metric):
    import faiss
    index = faiss.IndexFlatIP(x_db.shape[1]) if metric == "cosine" else \
        faiss.IndexFlatL2(x_db.shape[1])
    index.add(np.ascontiguousarray(x_db))
    return index.search(np.ascontiguousarray(x_q), min(depth, len(x_db)))[1]


def relevant_totals(q_labels: np.ndarray, db_labels: np.ndarray, chunk: int = 1024):
    """For each query, how many database items share a label with it."""
    db = db_labels.astype(np.float32).T
    return np.concatenate([((q_labels[s:s + chunk].astype(np.float32) @ db) > 0).sum(1)
                           for s in range(0, len(q_labels), chunk)])


QUERY_SAMPLE = 1_000       # training items that query the others when there is no test split


def query_rows(bundle, queries: str = "auto", max_queries: int = QUERY_SAMPLE,
               seed: int = 0):
    """``(query rows, database rows, leave_one_out)`` of a bundle's items.

    ``test``: every test item queries the training items (the protocol of
    TARGETS.md). ``train``: up to ``max_queries`` labelled training items, drawn at random,
    each query every other training item (leave-one-out), for corpora without a test split;
    those items trained the model, so this measures how well the codes group what the model
    saw, not how they generalise. ``auto``: ``test`` when there is a test split, else
    ``train``."""
    splits = np.asarray(bundle.items.column("split").to_pylist())
    labels = bundle.items.column("labels").to_pylist()
    train, test = np.flatnonzero(splits == "train"), np.flatnonzero(splits == "test")
    if queries not in ("auto", "test", "train"):
        raise UsageError(f"{{queries:{queries}}}: use auto, test or train", option="queries")
    if queries == "auto":
        queries = "test" if len(test) else "train"
    if queries == "test":
        if not len(test) or not len(train):
            raise UsageError(f"{bundle.path}: the index has {len(train)} train and {len(test)} "
                             "test items; test queries need both (use {queries:train} to "
                             "let training items query each other)", option="queries")
        if not any(labels[i] for i in test):
            raise UsageError(f"{bundle.path}: the test items have no labels; eval needs labels")
        # every test item queries, as an independent check on an export computes it
        return test, train, False
    labelled = np.array([i for i in train if labels[i]], np.int64)
    if not len(labelled):
        raise UsageError(f"{bundle.path}: eval needs labelled items; none of the "
                         f"{len(train):,} training items has a label (build from a corpus "
                         "with labels: see {label_column})")
    if len(train) < 2:
        raise UsageError(f"{bundle.path}: leave-one-out queries need at least 2 training "
                         f"items; the index has {len(train)}")
    if len(labelled) > max_queries:
        labelled = np.sort(np.random.default_rng(seed).choice(labelled, max_queries,
                                                              replace=False))
    return labelled, train, True


def evaluate_bundle(bundle, corpus, k: int = 100, baselines: bool = True,
                    curves: bool = False, queries: str = "auto",
                    max_queries: int = QUERY_SAMPLE) -> dict:
    """Run the protocol on a bundle and the corpus it was built from (see
    :func:`query_rows` for ``queries``); ``curves`` adds, per method, mean precision and
    recall at every rank up to the ranking depth."""
    from .training.neighbours import drop_self
    q, db, leave_one_out = query_rows(bundle, queries, max_queries)
    labels = bundle.items.column("labels").to_pylist()
    lab, vocab = label_matrix(labels)
    depth = min(MAP_DEPTH, len(db) - leave_one_out)
    own = np.searchsorted(db, q) if leave_one_out else None
    bits = bundle.bits
    result = {"queries": int(len(q)), "database": int(len(db)), "bits": bits, "k": k,
              "query_split": "train" if leave_one_out else "test",
              "leave_one_out": leave_one_out, "methods": {},
              # items without labels are relevant to nothing: a test query without labels
              # scores 0, an unlabelled training item (IMDB's unsup reviews) is never a hit
              "unlabelled_queries": sum(not labels[i] for i in q),
              "unlabelled_database": sum(not labels[i] for i in db)}
    if depth < k:
        # every method then ranks the whole database within its first k: the same precision
        result["notes"] = [f"each query ranks {depth:,} items, fewer than k = {k}: "
                           f"precision@{k} counts all of them for every method (use a "
                           "smaller -k)"]

    totals = None
    if curves:
        # a leave-one-out query is not among its own relevant items
        totals = relevant_totals(lab[q], lab[db]) - int(leave_one_out)

    def ranked(search):
        """The top ``depth`` database positions of each query; ``search(depth)`` ranks the
        whole database, so a leave-one-out query asks one more and drops itself."""
        if not leave_one_out:
            return search(depth)
        return drop_self(search(depth + 1), depth, own)

    truth = None           # vectors: each query's exact float top-10, for recall@10

    def record(name, ranking, seconds=None):
        rel = relevance(ranking, lab[q], lab[db])
        r = scores(rel, k)
        if truth is not None:
            r[f"recall@{RECALL_DEPTH}"] = neighbour_recall(ranking, truth)
        if curves:
            hits = np.cumsum(rel, 1)
            result.setdefault("curves", {})[name] = {
                "precision_at": (hits / np.arange(1, rel.shape[1] + 1)).mean(0).tolist(),
                "recall_at": (hits / np.maximum(totals, 1)[:, None]).mean(0).tolist()}
        if seconds is not None:
            r["seconds"] = round(seconds, 2)
        result["methods"][name] = {m: (round(v, 4) if isinstance(v, float) else v)
                                   for m, v in r.items()}

    def hamming(c):
        return ranked(lambda d: hamming_ranking(c[q], c[db], d))

    codes = bundle.codes
    # collapsed codes explain poor figures: their health comes with them
    result["health"] = bundle.manifest.get("health") or code_health(codes)
    result["health_warnings"] = health_warnings(result["health"])
    if baselines and corpus is None:
        raise UsageError("baselines need the corpus the index was built from")
    model = bundle.model if corpus is not None else None
    modality = model.config.network_input if model is not None else None
    metric = "cosine" if modality in ("text", "vector") else "l2"
    floats, float_seconds = None, None
    if baselines:
        t = time.perf_counter()
        floats = ranked(lambda d: float_ranking_in_chunks(model, corpus, q, db, d, metric))
        float_seconds = time.perf_counter() - t
        if modality == "vector":
            truth = floats[:, :RECALL_DEPTH]
            result["recall_of"] = f"each query's exact top-{RECALL_DEPTH} by {metric}"
    name = f"hashret-{bundle.manifest['model']['kind']}"
    candidates = hamming(codes)
    record(name, candidates)
    if corpus is not None:
        # queries by example are re-ranked by their logits against the items' bits
        # (hashret.search.rerank): the same candidates, the top ``depth`` by Hamming distance
        logits = np.concatenate([
            model.encode(items)[1]
            for _, items in corpus.batches(defaults.ENCODE_BATCH_SIZE, q)])
        order = asymmetric_order(logits, np.where(candidates >= 0, db[candidates], -1),
                                 codes)
        record(f"{name}, re-ranked", np.take_along_axis(candidates, order, 1))
    if baselines:
        everything = np.arange(len(corpus))
        t = time.perf_counter()
        encode = lsh_encoder(dense_features(model, corpus, db[:LSH_TRAIN_ITEMS]), bits)
        record("lsh", hamming(encode_in_chunks(encode, model, corpus, everything)),
               time.perf_counter() - t)
        t = time.perf_counter()
        sample = db[np.random.default_rng(0).permutation(len(db))[:ITQ_TRAIN_ITEMS]]
        encode, used = pca_itq_encoder(dense_features(model, corpus, sample), bits)
        record("pca-itq", hamming(encode_in_chunks(encode, model, corpus, everything)),
               time.perf_counter() - t)
        if used < bits:
            result.setdefault("notes", []).append(
                f"pca-itq sets {used} of the {bits} bits: the features of its training sample "
                f"span at most {used} dimensions")
        if model.has_classifier:
            # what the labels the model saw give a plain pipeline
            t = time.perf_counter()
            encode = label_pipeline_encoder(model, corpus, bits)
            record("classifier + pca-itq (same labels)",
                   hamming(encode_in_chunks(encode, model, corpus, everything,
                                            features=pipeline_features)),
                   time.perf_counter() - t)
        if modality == "vector":
            t = time.perf_counter()
            d = model.featurizer.n_features
            encode = sign_encoder(d)
            record(f"sign-all ({d} bits)",
                   hamming(encode_in_chunks(encode, model, corpus, everything)),
                   time.perf_counter() - t)
        record(f"float-{metric}", floats, float_seconds)
    return result


def colour_of_split(model, corpus, most: int = COLOUR_IMAGES) -> dict:
    """A colorize model's ΔE (:func:`hashret.colorize.colour_errors`) on up to ``most``
    test images (training images, which the model saw, without a test split), the mean
    chroma taken over up to ``most`` training images, both drawn seeded."""
    from .colorize import colour_errors
    rng = np.random.default_rng(0)
    train, test = corpus.training_indices(), corpus.indices("test")

    def drawn(rows):
        return corpus.take(np.sort(rng.permutation(rows)[:most]))
    out = colour_errors(model, drawn(train), drawn(test if len(test) else train))
    out["images_from"] = "test" if len(test) else "train"
    return out


def neighbour_recall(ranking: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's ``truth`` (its exact top positions) among the first
    ``truth.shape[1]`` positions of ``ranking``."""
    depth = truth.shape[1]
    top = ranking[:, :depth]
    hits = [len(np.intersect1d(a[a >= 0], b[b >= 0])) for a, b in zip(top, truth)]
    return float(np.mean(hits) / depth) if hits else 0.0


def evaluate_index(path, k: int = 100, baselines: bool = True, queries: str = "auto",
                   max_queries: int = QUERY_SAMPLE, plot=None) -> dict:
    """:func:`evaluate_bundle` of the index at ``path``, its corpus read again for the
    baselines; ``plot`` draws precision@k and precision-recall into that PNG."""
    from .bundle import Bundle
    from .sources import reopen_corpus
    bundle = Bundle.load(path)
    corpus = reopen_corpus(bundle) if baselines else None
    kept = bundle.sentence_vectors()
    if corpus is not None and kept is not None:
        # the documents' sentence vectors as the build computed them: the encoder is not
        # run over the corpus again
        remember(bundle.featurizer.encoder, corpus.items, kept)
    res = evaluate_bundle(bundle, corpus, k=k, baselines=baselines, curves=plot is not None,
                          queries=queries, max_queries=max_queries)
    if corpus is not None and bundle.model.colorizes:
        res["colour"] = colour_of_split(bundle.model, corpus)
    if plot is not None:
        from .pictures import eval_plot
        eval_plot(res, plot)
        del res["curves"]
    return res
