"""Target bits for models' codes: ITQ on the principal components of the images' gradient
histograms, the votes of a document's neighbours, the hash centres of labelled items'
classes, and the terms that pull the model's bits toward them."""

import json

import numpy as np
import pytest
import torch

from hashret import HashModel, defaults, load_dataset, read_corpus
from hashret.errors import UsageError
from hashret.data import limit_rows
from hashret.nets.binary_autoencoder import BinaryAutoencoder, Supervision, hash_centres
from hashret.training.targets import NeighbourCodeVotes, gradient_code_targets, spread_labels
from hashret.nets.networks import OrientationHistograms

SHAPE = (16, 16, 1)


def _kinds(n, seed=0):
    """Images of two kinds, vertical and horizontal stripes, each at a random phase,
    brightness and contrast: the kind is in the edges, not in the pixel values."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 2, n)
    imgs = np.empty((n, 1, 16, 16), np.float32)
    for i, k in enumerate(kind):
        on = ((np.arange(16) + rng.integers(0, 4)) % 4 < 2).astype(np.float32)
        img = np.tile(on, (16, 1)) if k else np.tile(on[:, None], (1, 16))
        lo = rng.uniform(0, 0.4)
        imgs[i, 0] = lo + rng.uniform(0.3, 0.6) * img
    return imgs, kind


def _hamming(a, b):
    return (a[:, None, :] != b[None, :, :]).sum(-1).float()


def test_target_bits_group_images_by_their_edges_not_their_brightness():
    imgs, kind = _kinds(200)
    t = gradient_code_targets(OrientationHistograms(SHAPE), imgs, 16, np.arange(200))
    assert t.shape == (200, 16) and set(t.unique().tolist()) <= {0.0, 1.0}
    d = _hamming(t, t)
    same = torch.from_numpy(kind[:, None] == kind[None, :])
    assert d[same].mean() + 4 < d[~same].mean()
    # ITQ rotates the principal components so that bits split the images: none is constant
    assert ((t.mean(0) > 0.05) & (t.mean(0) < 0.95)).all()


def test_target_bits_are_fitted_on_the_fitting_rows_only():
    imgs, _ = _kinds(120)
    layer = OrientationHistograms(SHAPE)
    fit = np.arange(80)
    a = gradient_code_targets(layer, imgs, 8, fit)
    other = imgs.copy()
    other[80:] = np.random.default_rng(5).random(other[80:].shape)   # change the rest
    b = gradient_code_targets(layer, other, 8, fit)
    torch.testing.assert_close(a[:80], b[:80])
    assert not torch.equal(a[80:], b[80:])


def test_an_image_gets_the_same_target_in_or_out_of_the_fitting_sample(monkeypatch):
    """The sample's histograms are reused for its own targets and the others' computed
    chunk by chunk: copies of an image, one drawn into the sample and one not, must still
    get the same bits."""
    import hashret.training.targets as ct
    monkeypatch.setattr(ct, "PCA_SAMPLE", 60)
    imgs, _ = _kinds(120)
    imgs[100:] = imgs[:20]
    t = gradient_code_targets(OrientationHistograms(SHAPE), imgs, 8, np.arange(120), chunk=7)
    torch.testing.assert_close(t[100:], t[:20])
    assert (t.mean(0) > 0).all() and (t.mean(0) < 1).all()


def test_more_bits_than_histogram_values_leave_the_rest_undecided():
    imgs, _ = _kinds(3)
    t = gradient_code_targets(OrientationHistograms(SHAPE), imgs, 16, np.arange(3))
    assert t.shape == (3, 16)
    assert (t[:, 3:] == 0.5).all()                    # 3 images span 3 directions at most


def test_code_target_term_pulls_the_bits_toward_the_targets():
    imgs, _ = _kinds(64)
    x = torch.from_numpy(imgs)
    target = (torch.rand(64, 8, generator=torch.Generator().manual_seed(1)) < 0.5).float()

    def agreement_after_training(weight):
        torch.manual_seed(0)
        module = BinaryAutoencoder("image", 8, shape=SHAPE, hidden=64, channels=(8, 16),
                                   code_target_weight=weight)
        opt = torch.optim.Adam(module.parameters(), lr=3e-3)
        module.train()
        for _ in range(150):
            batch = (x, Supervision(code=target))
            assert ("code_target" in module.loss_terms(batch)) \
                and "classification" not in module.loss_terms(batch)
            loss = module.loss(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
        module.eval()
        with torch.no_grad():
            return float(((module.logits(x) > 0).float() == target).float().mean())
    # any bits will do as targets: without the term the code has no reason to match them
    assert agreement_after_training(0.0) < 0.65
    assert agreement_after_training(50.0) > 0.85


def test_image_models_take_the_weight_from_the_image_shape_and_text_models_from_length(
        tmp_path):
    imgs, _ = _kinds(60)
    np.save(tmp_path / "imgs.npy", (imgs[:, 0] * 255).astype(np.uint8))
    corpus = read_corpus(tmp_path / "imgs.npy")
    model = HashModel(bits=8, epochs=1).fit(corpus, progress=False)
    assert model.config.code_target_weight == pytest.approx(defaults.code_target_weight(SHAPE))
    assert model.module.code_target_weight == model.config.code_target_weight > 0
    # the weight grows with the pixels, as the reconstruction term it is balanced against
    assert defaults.code_target_weight((56, 56, 3)) == pytest.approx(
        12 * defaults.code_target_weight((28, 28, 1)))
    assert defaults.code_target_weight((6, 6, 1)) == 0.0
    model.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["code_target_weight"] == model.config.code_target_weight
    del cfg["code_target_weight"]                  # as written before the term existed
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    again = HashModel.load(tmp_path / "m")
    np.testing.assert_array_equal(again.encode(corpus.take(np.arange(6)))[0],
                                  model.encode(corpus.take(np.arange(6)))[0])
    docs = tmp_path / "docs.jsonl"
    docs.write_text("\n".join(json.dumps({"text": f"apple banana {w} cherry"}) for w in
                              ["grape", "lemon", "melon", "peach"] * 10))
    text = HashModel(bits=8, epochs=1).fit(read_corpus(docs), progress=False)
    # a document's targets: its 4 words plus the mean of its neighbours' 4
    assert text.config.code_target_weight == pytest.approx(defaults.neighbour_code_weight(8))
    assert text.module.code_target_weight == text.config.code_target_weight > 0
    assert defaults.neighbour_code_weight(288) == pytest.approx(
        2 * defaults.neighbour_code_weight(144))


def test_a_semi_supervised_image_model_uses_labels_and_target_bits_together(tmp_path):
    from PIL import Image
    imgs, kind = _kinds(80)
    for i, (img, k) in enumerate(zip(imgs, kind)):
        folder = tmp_path / "imgs" / ("vertical" if k else "horizontal")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((img[0] * 255).astype(np.uint8)).save(folder / f"{i}.png")
    corpus = read_corpus(tmp_path / "imgs")
    model = HashModel(kind="semi", bits=8, epochs=150, seed=0).fit(corpus, progress=False)
    assert model.module.code_target_weight > 0 and model.has_classifier
    rows = np.arange(len(corpus))
    codes, _ = model.encode(corpus.take(rows))
    assert model.classifier_accuracy([corpus.labels[r] for r in rows], codes) > 0.9


@pytest.mark.parametrize("bits", [8, 64, 128])
def test_hash_centres_of_a_power_of_two_length_are_balanced_and_half_the_bits_apart(bits):
    c = hash_centres(min(10, bits - 1), bits)
    assert c.shape == (min(10, bits - 1), bits) and set(c.unique().tolist()) == {0.0, 1.0}
    assert (c.sum(1) == bits / 2).all()
    d = _hamming(c, c)
    off = ~torch.eye(len(c), dtype=torch.bool)
    assert (d[off] == bits / 2).all()


def test_hash_centres_otherwise_are_fixed_random_bits():
    for n, bits in ((114, 64), (10, 24)):          # more classes than bits; not 2^k bits
        c = hash_centres(n, bits)
        assert c.shape == (n, bits) and torch.equal(c, hash_centres(n, bits))
        d = _hamming(c, c)[~torch.eye(n, dtype=torch.bool)]
        assert d.min() > 0 and abs(float(d.mean()) - bits / 2) < bits / 8


def test_centre_term_pulls_labelled_items_bits_toward_their_class_centre():
    imgs, kind = _kinds(64)
    x = torch.from_numpy(imgs)
    y = torch.nn.functional.one_hot(torch.from_numpy(kind), 2).float()
    mask = torch.zeros(64, dtype=torch.bool)
    mask[::2] = True                        # half the items labelled
    sup = Supervision(targets=y, mask=mask)

    def distance_after_training(weight):
        torch.manual_seed(0)
        module = BinaryAutoencoder("image", 8, shape=SHAPE, hidden=64, channels=(8, 16),
                                   n_classes=2, centre_weight=weight)
        opt = torch.optim.Adam(module.parameters(), lr=3e-3)
        module.train()
        for _ in range(150):
            assert ("centre" in module.loss_terms((x, sup))) == (weight > 0)
            loss = module.loss((x, sup))
            opt.zero_grad()
            loss.backward()
            opt.step()
        module.eval()
        with torch.no_grad():
            bits = (module.logits(x) > 0).float()
        centres = hash_centres(2, 8)[torch.from_numpy(kind)]
        return float((bits != centres).sum(1).float().mean())
    # the classifier alone can separate the kinds with any bits; it has no reason to use
    # the centres' (about half of the 8 bits away), the term makes the codes the centres
    assert distance_after_training(0.0) > 2.5
    assert distance_after_training(100.0) < 0.5


def _head_fitted_on_fixed_codes(logits, sup, **options):
    """Class probabilities of a two-class head trained to convergence on its
    classification term, the code logits fixed by hand so that only the head learns."""
    torch.manual_seed(0)
    module = BinaryAutoencoder("image", 8, shape=SHAPE, hidden=64, channels=(8, 16),
                               n_classes=2, **options).eval()
    module.logits = lambda _: logits
    x = torch.zeros(len(logits), *SHAPE[::-1])
    opt = torch.optim.Adam(module.classifier.parameters(), lr=0.05)
    for _ in range(1000):
        loss = module.loss_terms((x, sup))["classification"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return torch.softmax(module.class_logits(module.code(logits)), 1)


def test_label_smoothing_keeps_the_softmax_head_from_certainty():
    """With smoothed targets the classification term is lowest where the true class gets
    probability 1 - e + e / C (0.95 for two classes and e = 0.1), not 1: a head trained to
    convergence on items whose codes tell the classes apart stops there, while an
    unsmoothed one goes on toward 1."""
    kind = torch.arange(64) % 2
    y = torch.nn.functional.one_hot(kind, 2).float()
    sup = Supervision(targets=y, mask=torch.ones(64, dtype=torch.bool))
    # codes fixed by hand (bit 0 = the class, the others random), so only the head learns
    logits = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))
    logits[:, 0] = 4.0 * (2 * kind - 1)

    def true_class_probability(smoothing):
        p = _head_fitted_on_fixed_codes(logits, sup, label_smoothing=smoothing)
        return p[torch.arange(64), kind]
    assert torch.allclose(true_class_probability(0.1), torch.tensor(0.95), atol=0.005)
    assert (true_class_probability(0.0) > 0.99).all()


def test_semi_models_train_with_hash_centres_and_smoothed_labels_and_reload(tmp_path):
    """The centres are not stored (a function of the classes and code length); the
    label smoothing of the single-label head is, in the config."""
    imgs, kind = _kinds(60)
    np.save(tmp_path / "imgs.npy", (imgs[:, 0] * 255).astype(np.uint8))
    np.save(tmp_path / "imgs_labels.npy", kind)
    corpus = read_corpus(tmp_path / "imgs.npy")
    model = HashModel(kind="semi", bits=8, epochs=1).fit(corpus, progress=False)
    assert model.config.options.centre_weight == defaults.SEMI_CENTRE_WEIGHT > 0
    assert torch.equal(model.module.centres, hash_centres(2, 8))
    model.save(tmp_path / "m")
    again = HashModel.load(tmp_path / "m")
    assert torch.equal(again.module.centres, model.module.centres)
    assert model.module.label_smoothing == defaults.SEMI_LABEL_SMOOTHING > 0
    assert model.config.options.label_smoothing == defaults.SEMI_LABEL_SMOOTHING
    assert again.module.label_smoothing == model.module.label_smoothing
    np.testing.assert_array_equal(again.encode(corpus.take(np.arange(6)))[0],
                                  model.encode(corpus.take(np.arange(6)))[0])
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    # as written before the term existed, when options and learned state were one "extra"
    cfg["extra"] = {**cfg.pop("options"), **cfg.pop("learned")}
    del cfg["extra"]["centre_weight"]
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    old = HashModel.load(tmp_path / "m")
    np.testing.assert_array_equal(old.encode(corpus.take(np.arange(6)))[0],
                                  model.encode(corpus.take(np.arange(6)))[0])


def test_neighbour_votes_are_each_bit_as_most_neighbours_have_it():
    votes = NeighbourCodeVotes(np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]))
    assert votes[np.array([0, 1])] is None                  # nothing to vote on yet
    p = torch.tensor([[0.9, 0.9, 0.1],      # document 0
                      [0.8, 0.2, 0.1],
                      [0.7, 0.4, 0.9],
                      [0.1, 0.3, 0.8]])
    votes.update(p)
    # document 0's neighbours 1, 2, 3: bit 0 mean 0.53 -> 1, bit 1 mean 0.3 -> 0,
    # bit 2 mean 0.6 -> 1; its own bits do not vote
    assert votes[np.array([0])].tolist() == [[1.0, 0.0, 1.0]]
    # document 3's neighbours 0, 1, 2: bit 0 0.8 -> 1, bit 1 0.5 -> 0 (not above half)
    assert votes[np.array([3, 0])].tolist() == [[1.0, 0.0, 0.0], [1.0, 0.0, 1.0]]


def test_neighbour_votes_gathered_a_chunk_at_a_time_are_the_votes_of_all_at_once():
    g = torch.Generator().manual_seed(0)
    nbrs = torch.randint(0, 50, (50, 5), generator=g).numpy()
    p = torch.rand(50, 16, generator=g)
    whole = p[torch.from_numpy(nbrs)].mean(1) > 0.5
    votes = NeighbourCodeVotes(nbrs)
    votes.CHUNK = 7                                  # 50 documents in 8 chunks
    votes.update(p)
    assert torch.equal(votes[np.arange(50)], whole.float())


def test_neighbour_votes_bring_a_documents_bits_closer_to_its_neighbours():
    from hashret.data.corpus import Corpus
    from hashret.training.neighbours import tfidf_neighbours
    rng = np.random.default_rng(0)
    vocab = [f"term{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(60)]
    # documents drawn from overlapping windows of words: TF-IDF neighbours share a window
    texts = [" ".join(rng.choice(vocab[s:s + 12], 8)) for s in rng.integers(0, 48, 150)]
    corpus = Corpus("text", list(range(150)), texts, [[] for _ in texts], ["train"] * 150,
                    texts)

    def distances(weight):
        """Mean Hamming distance to the 10 neighbours that vote, and to every document."""
        model = HashModel(bits=16, epochs=30, batch_size=16, seed=0,
                          code_target_weight=weight).fit(corpus, progress=False)
        assert model.report.epochs_run == 30           # votes do not stop training early
        bits = np.unpackbits(model.encode(texts)[0], axis=1)
        d = (bits[:, None, :] != bits[None, :, :]).sum(-1)
        nbrs = tfidf_neighbours(model.featurizer, model.featurizer.transform(texts), 10,
                                rank=defaults.TEXT_NEIGHBOUR_RANK)
        return float(np.take_along_axis(d, nbrs, 1).mean()), float(d.mean())
    near_without, all_without = distances(0.0)
    near_with, all_with = distances(None)                     # the default weight
    assert near_with < near_without - 0.15
    assert all_with > 0.95 * all_without                      # the codes did not collapse


def test_items_without_labels_learn_the_teachers_probabilities():
    """With a teacher, every item has a classification target: a labelled item its label,
    the others the teacher's class probabilities. A head trained to convergence on codes
    that set the unlabelled items apart predicts the teacher's 0.7 / 0.3 for them; without
    the teacher's targets they do not count, and the head has no reason to."""
    labelled = torch.arange(64) < 32
    kind = torch.arange(64) % 2
    y = torch.nn.functional.one_hot(kind, 2).float()
    taught = torch.tensor([0.7, 0.3]).repeat(64, 1)
    # bit 0 = the class of a labelled item, bit 1 = unlabelled; the other bits off
    logits = torch.full((64, 8), -4.0)
    logits[:32, 0] = 4.0 * (2 * kind[:32] - 1)
    logits[32:, 1] = 4.0

    def unlabelled_probability(teacher):
        sup = Supervision(targets=y, mask=labelled, taught=taught if teacher else None)
        p = _head_fitted_on_fixed_codes(logits, sup)
        assert (p[torch.arange(32), kind[:32]] > 0.95).all()    # labelled: their labels
        return p[32:, 0]
    assert torch.allclose(unlabelled_probability(True), torch.tensor(0.7), atol=0.01)
    assert not torch.allclose(unlabelled_probability(False), torch.tensor(0.7), atol=0.05)


def test_a_semi_model_with_unlabelled_items_learns_a_teachers_targets_for_them(
        tmp_path, monkeypatch):
    imgs, kind = _kinds(80)
    np.save(tmp_path / "imgs.npy", (imgs[:, 0] * 255).astype(np.uint8))
    np.save(tmp_path / "imgs_labels.npy", kind)
    corpus = read_corpus(tmp_path / "imgs.npy")
    seen = []
    label_terms = BinaryAutoencoder._label_terms
    monkeypatch.setattr(BinaryAutoencoder, "_label_terms", lambda self, logits, z, sup: (
        seen.append(None if sup.taught is None else sup.taught.detach().clone()),
        label_terms(self, logits, z, sup))[1])
    model = HashModel(kind="semi", bits=8, epochs=1,
                      options={"labels_fraction": 0.5}).fit(corpus, progress=False)
    teacher = model.report.teacher
    assert teacher == model.config.learned.teacher
    assert 0 < teacher["labelled_items"] < model.config.learned.labelled_items  # less held out
    assert teacher["epochs"] <= defaults.teacher_epochs(teacher["labelled_items"])
    assert 0 <= teacher["validation_accuracy"] <= 1
    # the teacher's own steps have no taught targets; the model's all do: probabilities
    taught = [t for t in seen if t is not None]
    assert taught and len(taught) < len(seen)
    assert all(torch.allclose(t.sum(1), torch.ones(len(t))) for t in taught)
    # every training item labelled: nothing to teach (the same model fitted again keeps no
    # trace of its earlier teacher)
    seen.clear()
    model.config.options.labels_fraction = None
    model.fit(corpus, progress=False)
    assert model.report.teacher is None and model.config.learned.teacher is None
    assert seen and all(t is None for t in seen)


def test_document_models_train_without_a_teacher_unless_asked():
    corpus = limit_rows(load_dataset("reuters"), 400, 0)
    plain = HashModel(kind="semi", bits=8, epochs=1,
                      options={"labels_fraction": 0.5}).fit(corpus, progress=False)
    assert plain.config.options.distil is defaults.SEMI_TEACHER["text"] is False
    assert plain.report.teacher is None and plain.options()["teacher"] is False
    taught = HashModel(kind="semi", bits=8, epochs=1,
                       options={"labels_fraction": 0.5, "distil": True}).fit(corpus,
                                                                          progress=False)
    assert taught.options()["teacher"] is True
    assert taught.report.teacher["labelled_items"] > 0
    assert 0 <= taught.report.teacher["validation_accuracy"] <= 1


def test_the_teacher_takes_more_passes_over_fewer_labelled_items():
    assert defaults.teacher_epochs(100) == defaults.SEMI_TEACHER_EPOCHS
    assert defaults.teacher_epochs(1_000_000) == defaults.MIN_EPOCHS
    n = 20_000       # the steps cap binds between the two
    epochs = defaults.teacher_epochs(n)
    assert defaults.MIN_EPOCHS < epochs < defaults.SEMI_TEACHER_EPOCHS
    assert abs(epochs * n / defaults.SEMI_TEACHER_BATCH_SIZE - defaults.SEMI_TEACHER_STEPS) \
        <= n / defaults.SEMI_TEACHER_BATCH_SIZE


def test_only_the_models_own_training_batches_are_mirrored_after_the_teacher_and_it_codes_both_views(
        tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    # noise images: no image is the mirror image of another, or of itself
    np.save(tmp_path / "imgs.npy", rng.integers(0, 256, (60, 8, 8), dtype=np.uint8))
    np.save(tmp_path / "imgs_labels.npy", rng.integers(0, 2, 60))
    corpus = read_corpus(tmp_path / "imgs.npy")
    seen = []                   # (network, training?, its input batch) for every forward pass
    logits = BinaryAutoencoder.logits
    monkeypatch.setattr(BinaryAutoencoder, "logits", lambda self, x: (
        seen.append((self, self.training, x.detach().numpy().copy())), logits(self, x))[1])

    model = None

    def mirrored_share(share):
        nonlocal model
        seen.clear()
        model = HashModel(kind="semi", bits=8, epochs=2,
                          options={"labels_fraction": 0.5, "mirror": share}).fit(corpus,
                                                                                progress=False)
        images = model.features(corpus.take(np.arange(len(corpus))))
        plain = {im.tobytes() for im in images}
        flipped = {np.ascontiguousarray(im[..., ::-1]).tobytes() for im in images}
        first_teacher = next(i for i, (net, _, _) in enumerate(seen) if net is not model.module)
        student, other = [], []
        for i, (net, training, x) in enumerate(seen):
            assert all(im.tobytes() in plain | flipped for im in x)
            is_mirrored = [im.tobytes() in flipped for im in x]
            (student if net is model.module and training and i > first_teacher
             else other).extend(is_mirrored)
        assert student and other and not any(other)   # teacher, validation: never
        return np.mean(student)

    def embeddings_of_both_views():
        images = model.features(corpus.take(np.arange(len(corpus))))
        return model.embed_features(images), model.embed_features(images[..., ::-1].copy())

    assert 0.3 < mirrored_share(0.5) < 0.7
    assert model.options()["mirror"] == model.report.teacher["mirror"] == 0.5
    assert "mirror image" in model.bits_from()
    # such a model codes the mean of an image's logits and its mirror image's: one code
    # for both views
    one, other = embeddings_of_both_views()
    np.testing.assert_allclose(one, other, atol=1e-5)
    x = torch.from_numpy(model.features(corpus.take(np.arange(len(corpus)))))
    with torch.no_grad():
        mean = (logits(model.module, x) + logits(model.module, x.flip(-1))) / 2
    np.testing.assert_allclose(one, mean.numpy(), atol=1e-5)
    assert mirrored_share(0.0) == 0
    assert model.bits_from() == "logit > 0"
    one, other = embeddings_of_both_views()
    assert not np.allclose(one, other, atol=1e-3)
    with pytest.raises(UsageError, match=r"share in \[0, 1\]"):
        mirrored_share(1.5)


def _chain_of_two_groups():
    """Neighbours (each item's 2) of 12 items: items 0-5 a ring, 6-11 another ring,
    unconnected; one labelled item in each ring."""
    ring = lambda base: [[base + (i + 1) % 6, base + (i - 1) % 6] for i in range(6)]
    neighbours = np.array(ring(0) + ring(6))
    seeds = np.zeros((12, 2), np.float32)
    seeds[0, 0] = seeds[6, 1] = 1
    return neighbours, seeds


def test_spread_labels_reach_every_item_of_their_group_and_fade_with_distance():
    neighbours, seeds = _chain_of_two_groups()
    f = spread_labels(neighbours, seeds, alpha=0.8, iterations=40)
    assert (f[:6].argmax(1) == 0).all() and (f[6:].argmax(1) == 1).all()
    assert np.allclose(f[:6, 1], 0) and np.allclose(f[6:, 0], 0)  # no edge between rings
    # around the ring from the seed (item 0): items 1 and 5 are one step away, 3 is three
    assert f[0, 0] > f[1, 0] > f[2, 0] > f[3, 0]
    assert np.isclose(f[1, 0], f[5, 0])


def test_spread_labels_without_spreading_are_the_seeds():
    neighbours, seeds = _chain_of_two_groups()
    assert np.array_equal(spread_labels(neighbours, seeds, alpha=0.0), seeds)


def test_semi_document_targets_spread_only_the_labels_of_the_training_rows(monkeypatch):
    """The pipeline's target bits take the labels spread over the neighbour graph from the
    labelled items of the rows it trains on: the labels of the held-out rows stay out."""
    from hashret.training import fit as fitting
    from hashret.training.neighbours import tfidf_neighbours
    from hashret.training.teacher import label_targets
    rng = np.random.default_rng(0)
    texts = [" ".join(f"{t}word{chr(97 + w)}" for w in rng.integers(0, 12, 8))
             for t in "ab" for _ in range(40)]
    labels = [[t] for t in "ab" for _ in range(40)]
    model = HashModel(kind="semi", bits=8)
    model.config.modality = "text"
    fitting.fit_featurizer(model, texts)
    feats = model.features(texts)
    sup = label_targets(model.config, labels)
    nbrs = tfidf_neighbours(model.featurizer, feats, 5)
    tr = np.arange(0, 80, 2)                 # every other document; the rest held out
    seen = {}

    def spy(neighbours, seeds, alpha):
        seen.update(neighbours=neighbours, seeds=seeds, alpha=alpha)
        return spread_labels(neighbours, seeds, alpha)
    monkeypatch.setattr(fitting, "spread_labels", spy)
    codes = fitting.pipeline_code_targets(model, feats, sup, tr, neighbours=nbrs, alpha=0.7)
    assert codes.shape == (80, 8)
    assert seen["neighbours"] is nbrs and seen["alpha"] == 0.7
    assert np.array_equal(np.flatnonzero(seen["seeds"].any(1)), tr)
    assert np.array_equal(seen["seeds"][tr], sup[0][tr])
    # the two topics' documents get apart target codes
    a, b = codes[:40].numpy(), codes[40:].numpy()
    assert np.abs(a.mean(0) - b.mean(0)).sum() > 2
    seen.clear()
    fitting.pipeline_code_targets(model, feats, sup, tr)
    assert not seen
