import numpy as np
import pytest
import torch

from hashret import HashModel, defaults
from hashret.data.corpus import Corpus
from hashret.data import as_corpus
from hashret.errors import CorpusError, UsageError
from hashret.data.features import TfidfFeaturizer
from hashret.training.neighbours import NeighbourhoodCounts, tfidf_neighbours
from hashret.training.selection import epoch_scorer
from hashret.training.teacher import label_targets
from hashret.nets.networks import BinaryCodeLayer, bernoulli_kl_to_uniform


@pytest.mark.parametrize("bits", [0, 7, 12, 264])
def test_bits_must_be_whole_bytes(bits):
    with pytest.raises(UsageError, match="multiple of 8"):
        HashModel(bits=bits)


@pytest.mark.parametrize("modality", ["text", "image"])
@pytest.mark.parametrize("n_train", [6_298, 54_000, 300_000])
def test_default_run_length_aims_at_the_modality_step_budget(modality, n_train):
    epochs = defaults.epochs_for(n_train, modality)
    steps_per_epoch = -(-defaults.epoch_items(n_train, modality) // defaults.BATCH_SIZE)
    target = defaults.target_steps(modality, n_train=n_train)
    if defaults.MIN_EPOCHS < epochs < defaults.MAX_EPOCHS:
        # rounding to whole epochs misses the budget by at most half an epoch
        assert abs(epochs * steps_per_epoch - target) <= steps_per_epoch / 2
    else:
        assert epochs == defaults.MIN_EPOCHS and steps_per_epoch * epochs >= target


def test_code_layer_straight_through_and_threshold():
    layer = BinaryCodeLayer()
    logits = torch.tensor([[-3.0, 0.5, 4.0]], requires_grad=True)
    layer.train()
    z = layer(logits)
    assert set(z.detach().flatten().tolist()) <= {0.0, 1.0}
    z.sum().backward()
    p = torch.sigmoid(logits.detach())
    assert torch.allclose(logits.grad, p * (1 - p))        # gradient of the probability
    layer.eval()
    assert layer(logits).tolist() == [[0.0, 1.0, 1.0]]


def test_kl_to_uniform_is_zero_at_one_half_and_positive_elsewhere():
    assert abs(float(bernoulli_kl_to_uniform(torch.zeros(4, 8)))) < 1e-6
    assert float(bernoulli_kl_to_uniform(torch.full((4, 8), 3.0))) > 0.5


def test_neighbour_targets_add_the_nearest_documents_counts():
    docs = ["apple banana", "apple banana cherry", "dog cat", "dog cat mouse"]
    f = TfidfFeaturizer().fit(docs)
    c = f.transform(docs)
    t = NeighbourhoodCounts(c, tfidf_neighbours(f, c, k=1), weight=0.5).toarray()
    dense = c.toarray()
    np.testing.assert_allclose(t[0], dense[0] + 0.5 * dense[1])
    np.testing.assert_allclose(t[3], dense[3] + 0.5 * dense[2])


def test_latent_space_neighbours_link_documents_through_co_occurring_words():
    """In the truncated-SVD space, "car" and "auto" are near (they co-occur elsewhere), so
    every neighbour of a one-word vehicle document is a vehicle document; by raw TF-IDF
    cosine "car" shares nothing with "auto" and its third neighbour is a zero-similarity
    tie."""
    vehicles = ["car", "auto", "car auto road", "car auto engine"]
    pets = ["cat", "kitten", "cat kitten milk", "cat kitten fur"]
    docs = vehicles + pets
    f = TfidfFeaturizer().fit(docs)
    c = f.transform(docs)
    t = NeighbourhoodCounts(c, tfidf_neighbours(f, c, k=3, rank=2), weight=1.0).toarray()
    pet_words = [f.vocabulary.index(w) for w in ("cat", "kitten", "milk", "fur")]
    car_words = [f.vocabulary.index(w) for w in ("car", "auto", "road", "engine")]
    for i in range(4):
        assert t[i, pet_words].sum() == 0 and t[i + 4, car_words].sum() == 0
    assert t[0, f.vocabulary.index("auto")] > 0          # reached through co-occurrence


def _topic_corpus(n=120, seed=0):
    rng = np.random.default_rng(seed)
    topics = {"sport": "match goal team player score league coach win",
              "money": "bank rate loan interest dollar market stock bond",
              "food": "bread cheese wine recipe cook kitchen oven sauce"}
    texts, labels = [], []
    for i in range(n):
        name = list(topics)[i % 3]
        words = rng.choice(topics[name].split(), 12)
        texts.append(" ".join(words))
        labels.append([name])
    return Corpus("text", list(range(n)), texts, labels, ["train"] * n, texts)


def test_training_reduces_loss_and_codes_separate_topics():
    corpus = _topic_corpus()
    model = HashModel(bits=16, epochs=30, seed=0).fit(corpus, progress=False)
    hist = model.report.history
    assert hist[-1][0] < hist[0][0]
    codes, emb = model.encode(corpus.items)
    bits = np.unpackbits(codes, axis=1)
    lab = np.array([l[0] for l in corpus.labels])
    d = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    same = lab[:, None] == lab[None, :]
    assert d[same].mean() + 2 < d[~same].mean()


def test_seeded_training_is_reproducible():
    corpus = _topic_corpus(60)
    a = HashModel(bits=8, epochs=3, seed=5).fit(corpus, progress=False).encode(corpus.items)
    b = HashModel(bits=8, epochs=3, seed=5).fit(corpus, progress=False).encode(corpus.items)
    np.testing.assert_array_equal(a[1], b[1])


def test_fit_takes_a_list_of_texts_or_an_image_array_as_a_corpus():
    corpus = _topic_corpus(60)
    from_list = HashModel(bits=8, epochs=3, seed=5).fit(list(corpus.items), progress=False)
    from_corpus = HashModel(bits=8, epochs=3, seed=5).fit(corpus, progress=False)
    np.testing.assert_array_equal(from_list.encode(corpus.items)[1],
                                  from_corpus.encode(corpus.items)[1])
    images = np.random.default_rng(0).random((30, 3, 8, 8)).astype(np.float32)  # (n, c, h, w)
    model = HashModel(bits=8, epochs=1).fit(images, progress=False)
    assert model.config.shape == [8, 8, 3]
    assert model.encode(images.transpose(0, 2, 3, 1))[0].shape == (30, 1)
    listed = as_corpus(list(images.transpose(0, 2, 3, 1)))         # a list of (h, w, c)
    np.testing.assert_array_equal(model.encode_corpus(listed, progress=False)[1],
                                  model.encode(images.transpose(0, 2, 3, 1))[1])
    with pytest.raises(CorpusError, match="one shape"):
        as_corpus([images[0], images[1, :, :4]])
    labelled = as_corpus(list(corpus.items), labels=[lab[0] for lab in corpus.labels])
    assert labelled.labels == corpus.labels and labelled.modality == "text"
    for bad in ([1, 2, 3], np.zeros((5, 2, 2, 2, 2)), "one string"):
        with pytest.raises(CorpusError, match="corpus|must have shape"):
            HashModel(bits=8).fit(bad)
    with pytest.raises(CorpusError, match="2 labels for 60 items"):
        as_corpus(list(corpus.items), labels=["a", "b"])


def test_following_a_fit_epoch_by_epoch_leaves_the_run_as_it_was():
    """``fit(on_epoch=...)`` lets a caller encode after every epoch; the model it returns
    must be the one a fit without the callback gives (mode and random state restored)."""
    corpus = _topic_corpus(60)
    seen = []

    def follow(model):
        seen.append(model.encode(corpus.items[:5])[1])
        torch.rand(3)                     # a caller's own random draws change nothing

    a = HashModel(bits=8, epochs=4, seed=5).fit(corpus, progress=False, on_epoch=follow)
    b = HashModel(bits=8, epochs=4, seed=5).fit(corpus, progress=False)
    np.testing.assert_array_equal(a.encode(corpus.items)[1], b.encode(corpus.items)[1])
    assert len(seen) == a.report.epochs_run == 4
    assert not np.array_equal(seen[0], seen[-1])              # it saw the model change


def test_save_load_roundtrip(tmp_path):
    corpus = _topic_corpus(60)
    m = HashModel(bits=8, epochs=2).fit(corpus, progress=False)
    m.save(tmp_path)
    m2 = HashModel.load(tmp_path)
    np.testing.assert_array_equal(m.encode(corpus.items)[1], m2.encode(corpus.items)[1])
    assert m2.decode(m.encode(corpus.items[:2])[0]).shape == (2, m.featurizer.n_features)


def test_optimizers_update_sparse_rows_only_and_fuse_dense_adam_where_supported():
    from hashret.training.loop import make_optimizers
    from hashret.nets.networks import TextEncoder
    torch.manual_seed(0)
    enc = TextEncoder(n_features=50, hidden=64, bits=8).eval()     # eval: no dropout
    opts = make_optimizers(enc, 1e-2)
    assert [type(o).__name__ for o in opts] == ["Adam", "SparseAdam"]
    major, minor = (int(v) for v in torch.__version__.split(".")[:2])
    assert bool(opts[0].defaults.get("fused")) == ((major, minor) >= (2, 4))
    # one step on a batch that uses words 0 and 3 moves only those rows of the embedding
    before = enc.inp.bag.weight.detach().clone()
    x = (torch.tensor([0, 3]), torch.tensor([0]), torch.tensor([1.0, 0.5]))
    for o in opts:
        o.zero_grad()
    enc(x).sum().backward()
    for o in opts:
        o.step()
    moved = (enc.inp.bag.weight.detach() != before).any(1)
    assert moved.nonzero().flatten().tolist() == [0, 3]


def test_training_calls_after_epoch_once_per_epoch_until_it_stops():
    from hashret.training.loop import train
    torch.manual_seed(0)
    lin = torch.nn.Linear(2, 1)
    lin.loss = lambda batch: ((lin(batch) - 1.0) ** 2).mean()
    x = torch.randn(40, 2)
    calls = []
    report = train(lin, lambda r: x[torch.from_numpy(r)], np.arange(32), np.arange(32, 40),
                   epochs=7, batch_size=8, device=torch.device("cpu"), progress=False,
                   after_epoch=lambda: calls.append(lin.training))
    assert len(calls) == report.epochs_run == 7


def test_images_encoded_in_small_chunks_get_the_codes_of_one_pass(fashion_index, monkeypatch):
    """Encoding runs an image model over a few images at a time on a CPU (for speed); every
    image must get the embedding one pass over the whole batch gives it, in its place."""
    from hashret import Bundle
    from hashret import defaults
    model = Bundle.load(fashion_index[0]).model
    images = fashion_index[1].take(range(150))
    monkeypatch.setattr(defaults, "IMAGE_FORWARD_CHUNK", 10_000)
    whole = model.embed(images)
    monkeypatch.setattr(defaults, "IMAGE_FORWARD_CHUNK", 7)       # 150 = 21 x 7 + 3
    chunked = model.embed(images)
    assert chunked.shape == whole.shape == (150, 32)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    assert np.array_equal(chunked > 0, whole > 0)


def test_a_deep_document_model_stops_by_retrieval_agreement_and_keeps_those_weights():
    corpus = _topic_corpus(200)
    model = HashModel(bits=16, epochs=12, seed=0).fit(corpus, progress=False)
    r = model.report
    assert r.score_name == "retrieval agreement"
    assert len(r.scores) == r.epochs_run and r.validation_items == 20
    assert r.scores[r.best_epoch - 1] == max(r.scores)
    assert r.kept_epoch == (r.best_epoch if r.stopped_early else r.epochs_run)
    # the weights kept are that epoch's: scoring them again gives its score
    val, tr = _fit_split(model, len(corpus))
    feats = model.features(corpus.items)
    again = epoch_scorer(model, "agreement", feats, tr, val, None, None).score(
        lambda rows: model.logits_of(feats, rows))
    assert abs(again - r.scores[r.kept_epoch - 1]) < 1e-6


def test_a_semi_document_model_stops_by_labelled_retrieval_and_keeps_those_weights():
    """A semi-supervised document model is chosen by how its labelled validation documents
    retrieve labelled training documents, not by its validation loss (which holds the
    classifier's); with no labelled document to hold out it runs its whole length."""
    corpus = _topic_corpus(200)
    semi = HashModel(kind="semi", bits=16, epochs=12, seed=0).fit(corpus, progress=False)
    s = semi.report
    assert s.score_name == "labelled retrieval mAP" and len(s.scores) == s.epochs_run
    assert s.scores[s.best_epoch - 1] == max(s.scores)
    assert s.kept_epoch == (s.best_epoch if s.stopped_early else s.epochs_run)
    val, tr = _fit_split(semi, len(corpus))
    feats = semi.features(corpus.items)
    scorer = epoch_scorer(semi, "labels", feats, tr, val, None,
                          label_targets(semi.config, corpus.labels))
    assert len(scorer.query_rows) == len(val) and len(scorer.database_rows) == len(tr)
    again = scorer.score(lambda rows: semi.logits_of(feats, rows))
    assert abs(again - s.scores[s.kept_epoch - 1]) < 1e-6
    # only training-part documents keep their labels: nothing to score, the whole run
    unlabelled_val = Corpus("text", corpus.ids, corpus.items,
                            [ls if i in set(tr) else [] for i, ls in enumerate(corpus.labels)],
                            corpus.splits, corpus.titles)
    whole = HashModel(kind="semi", bits=16, epochs=6, seed=0).fit(unlabelled_val,
                                                                  progress=False)
    w = whole.report
    assert w.scores == [] and w.score_name is None and not w.stopped_early
    assert w.epochs_run == w.kept_epoch == 6


def _fit_split(model, n):
    """The (validation, training) positions a fit cuts from n rows."""
    order = np.random.default_rng(model.config.seed).permutation(n)
    n_val = defaults.validation_size(n)
    return np.sort(order[:n_val]), np.sort(order[n_val:])


def test_semi_warns_when_every_labelled_item_has_the_same_label(caplog):
    corpus = _topic_corpus(20)
    one = Corpus("text", corpus.ids, corpus.items, [["x"] if ls else [] for ls in corpus.labels],
                 corpus.splits, corpus.titles)
    with caplog.at_level("WARNING", logger="hashret"):
        label_targets(HashModel(kind="semi", bits=8).config, one.labels)
    assert "has the label 'x'" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="hashret"):
        label_targets(HashModel(kind="semi", bits=8).config, corpus.labels)
    assert "learns nothing" not in caplog.text
