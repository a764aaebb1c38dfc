"""The autoencoder family: each kind proven by its defining property, and each served by the
CLI end to end."""
import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from hashret.data import limit_rows, load_dataset, read_corpus
from hashret.errors import UsageError
from hashret.eval import hamming_ranking, label_matrix, relevance, scores
from hashret.models import HashModel
from hashret.nets.classic import FactorAnalysis, FeatureMatrix, LinearAutoencoder, SparseCoder
from hashret.nets.networks import ImageEncoder, corrupt


def _spectrum_data(n=3000, d=20, k=4, seed=0):
    """Gaussian data with a clear gap after the k-th principal direction."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0]
    scales = np.concatenate([np.linspace(5, 3, k), np.linspace(1, 0.2, d - k)])
    return (rng.standard_normal((n, d)) * scales) @ basis.T + 3.0


def _principal_angles(a, b):
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    s = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1, 1)
    return np.arccos(s)


def test_linear_autoencoder_code_space_is_the_principal_subspace():
    x = _spectrum_data()
    model = LinearAutoencoder("image", 20, 4, (1, 20, 1)).double()
    history = model.fit(FeatureMatrix(torch.from_numpy(x)))
    xc = x - x.mean(0)
    eigvec = np.linalg.eigh(xc.T @ xc)[1][:, ::-1][:, :4]
    angles = _principal_angles(model.encoder.numpy().T, eigvec)
    assert angles.max() < 1e-4 and np.all(np.diff(history) <= 1e-9 * history[0])
    # the decoder's span is the same subspace, and reconstruction error is what PCA's is
    assert _principal_angles(model.decoder_matrix.numpy(), eigvec).max() < 1e-4
    lam = np.linalg.eigvalsh(xc.T @ xc / len(x))[::-1]
    assert history[-1] == pytest.approx(lam[4:].sum(), rel=1e-6)


def test_itq_rotates_the_principal_subspace_coordinates_without_skewing_them():
    # ITQ turns PCA scores by an orthogonal matrix, so distances between items' rotated
    # codes are their distances within the principal subspace; the linear autoencoder's
    # own code is in a skewed basis of that subspace and must be put right first
    x = _spectrum_data(n=1500)
    model = LinearAutoencoder("image", 20, 4, (1, 20, 1)).double()
    model.fit(FeatureMatrix(torch.from_numpy(x)))
    # a skewed basis of the same subspace (what alternating least squares may end in)
    skew = torch.tensor([[2.0, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 0.3, 0], [0.4, 0, 0, 1]],
                        dtype=torch.float64)
    model.encoder.copy_(torch.linalg.solve(skew, model.encoder))
    model.decoder_matrix.copy_(model.decoder_matrix @ skew)
    xt = torch.from_numpy(x)
    model.set_binarisation(model.code(xt), "itq")
    r = model.logits(xt).numpy()
    xc = x - x.mean(0)
    eigvec = np.linalg.eigh(xc.T @ xc)[1][:, ::-1][:, :4]
    scores = xc @ eigvec
    np.testing.assert_allclose(r @ r.T, scores @ scores.T, rtol=1e-6, atol=1e-5)
    # the rotation reduced the quantisation error below the scores' own
    def loss(v):
        return ((np.sign(v) - v) ** 2).sum()
    assert loss(r) < loss(scores)
    # and decoding inverts the rotation: encoding a decoded code (before pixels are clipped
    # to [0, 1]) gives back each bit's level on its side of the threshold
    model.output = lambda v: v
    z = torch.from_numpy((r > 0).astype(np.float64))
    levels = model.level0 + z * (model.level1 - model.level0)
    np.testing.assert_allclose(model.logits(model.decode(z)).numpy(), levels.numpy(),
                               atol=1e-8)


def test_factor_analysis_itq_keeps_the_geometry_of_the_reconstructions():
    x = _spectrum_data(n=1500)
    model = FactorAnalysis("image", 20, 4, (1, 20, 1)).double()
    model.fit(FeatureMatrix(torch.from_numpy(x)))
    xt = torch.from_numpy(x)
    h = model.code(xt)
    model.set_binarisation(h, "itq")
    r = model.logits(xt).numpy()
    signal = ((h - h.mean(0)) @ model.decoder_matrix.t()).numpy()     # W h, centred
    np.testing.assert_allclose(r @ r.T, signal @ signal.T, rtol=1e-6, atol=1e-5)


def _npy_corpus(tmp_path, images, name="imgs"):
    np.save(tmp_path / f"{name}.npy", images)
    return read_corpus(tmp_path / f"{name}.npy")


def test_linear_autoencoder_refuses_codes_as_wide_as_the_input(tmp_path):
    rng = np.random.default_rng(0)
    corpus = _npy_corpus(tmp_path, rng.integers(0, 255, (50, 4, 4), dtype=np.uint8))
    with pytest.raises(UsageError, match="can learn the identity"):
        HashModel(kind="linear", bits=16).fit(corpus, progress=False)
    with pytest.raises(UsageError, match="fewer factors"):
        HashModel(kind="fa", bits=16).fit(corpus, progress=False)


def test_factor_analysis_encoder_is_the_posterior_mean_and_em_never_decreases():
    rng = np.random.default_rng(1)
    w_true = rng.standard_normal((12, 3))
    z = rng.standard_normal((4000, 3))
    x = z @ w_true.T + rng.standard_normal((4000, 12)) * rng.uniform(0.2, 1.0, 12) + 1.0
    model = FactorAnalysis("image", 12, 3, (1, 12, 1)).double()
    ll = np.asarray(model.fit(FeatureMatrix(torch.from_numpy(x))))
    assert len(ll) > 5 and np.all(np.diff(ll) >= -1e-9 * np.abs(ll[:-1]))
    w, psi = model.decoder_matrix.numpy(), model.psi.numpy()
    direct = w.T @ np.linalg.inv(w @ w.T + np.diag(psi))       # E[z|x] = W^T Sigma^-1 (x - mu)
    np.testing.assert_allclose(model.encoder.numpy(), direct, rtol=1e-6, atol=1e-9)
    # the fitted covariance explains the sample covariance (the model is a real FA fit)
    cov = np.cov(x.T, bias=True)
    assert np.abs(w @ w.T + np.diag(psi) - cov).max() < 0.15 * np.abs(cov).max()


def test_sparse_codes_satisfy_the_lasso_conditions_are_sparse_and_reconstruct():
    rng = np.random.default_rng(2)
    atoms = rng.standard_normal((40, 32))
    coef = rng.standard_normal((3000, 32)) * (rng.random((3000, 32)) < 0.15)
    x = coef @ atoms.T
    model = SparseCoder("image", 40, 32, (1, 40, 1)).double()
    model.fit(FeatureMatrix(torch.from_numpy(x[:2500])), iters=8)
    w = model.dictionary
    assert w.shape == (16, 32)                                  # K = 32 atoms > D' = 16
    held = torch.from_numpy(x[2500:2700]).reshape(200, 1, 40, 1)
    y = model.project(held)
    h = model.fista(y, w, float(model.lam), iters=3000, tol=1e-12)
    lam = float(model.lam)
    r = (y - h @ w.t()) @ w                                     # W^T (y - W h)
    active = h != 0
    tol = 1e-6 * max(lam, 1.0)
    assert torch.all((r - lam * torch.sign(h))[active].abs() <= tol)   # stationarity
    assert torch.all(r[~active].abs() <= lam + tol)                    # subgradient bound
    assert 0.05 < float(active.float().mean()) < 0.5                   # sparse, not empty
    err = ((y - h @ w.t()) ** 2).sum(1).mean() / (y ** 2).sum(1).mean()
    assert float(err) < 0.25
    assert torch.equal(model.logits(held) > 0, model.code(held) != 0)   # bit = atom active


@pytest.mark.slow
def test_denoising_model_reconstructs_corrupted_items_closer_to_clean():
    corpus = limit_rows(load_dataset("fashion-mnist"), 20000, 0)
    model = HashModel(kind="denoising", bits=64, epochs=10).fit(corpus, progress=False)
    test = np.flatnonzero(np.asarray(corpus.splits) == "test")[:100]
    clean = model.features(corpus.take(test))
    noisy = corrupt(torch.from_numpy(clean), "gaussian", 0.3,
                    torch.Generator().manual_seed(0)).numpy()
    codes, _ = model.encode(list((noisy.transpose(0, 2, 3, 1) * 255).round().astype(np.uint8)))
    out = model.decode(codes).transpose(0, 3, 1, 2)
    mse_noisy = ((noisy - clean) ** 2).mean()
    mse_out = ((out - clean) ** 2).mean()
    assert mse_out < 0.5 * mse_noisy


def test_overcomplete_denoising_model_does_not_learn_the_identity(tmp_path):
    # 4x4 images (16 inputs) coded with 32 bits: without corruption an overcomplete model
    # could copy its input; with it, corrupted pixels must be repaired from the structure.
    rng = np.random.default_rng(3)
    protos = (rng.random((6, 16)) < 0.5).astype(np.float32)
    clean = protos[rng.integers(0, 6, 3000)]
    corpus = _npy_corpus(tmp_path, (clean.reshape(-1, 4, 4) * 255).astype(np.uint8))
    model = HashModel(kind="denoising", bits=32, epochs=40,
                      options={"noise": "saltpepper:0.2"}).fit(corpus, progress=False)
    held = protos[rng.integers(0, 6, 300)]
    noisy = corrupt(torch.from_numpy(held), "saltpepper", 0.2,
                    torch.Generator().manual_seed(1)).numpy()
    codes, _ = model.encode(list((noisy.reshape(-1, 4, 4, 1) * 255).astype(np.uint8)))
    out = model.decode(codes).reshape(300, 16)
    assert ((out - held) ** 2).mean() < 0.5 * ((noisy - held) ** 2).mean()
    assert ((out - noisy) ** 2).mean() > 0.02                 # not a copy of its input


def _precision(model, corpus, k=50):
    splits = np.asarray(corpus.splits)
    train, test = np.flatnonzero(splits == "train"), np.flatnonzero(splits == "test")
    codes, _ = model.encode(corpus.take(np.arange(len(corpus))))
    ranked = hamming_ranking(codes[test], codes[train], k)
    labels, _ = label_matrix(corpus.labels)
    return scores(relevance(ranked, labels[test], labels[train]), k)[f"precision@{k}"], codes


def test_semi_supervised_model_with_ten_percent_of_labels_beats_unsupervised():
    corpus = limit_rows(load_dataset("fashion-mnist"), 1500, 0)
    # 8 passes: the codes gain 0.11-0.16 precision@100 on deep's (seeds 0-2) and the
    # classifier on them, still learning from the teacher's targets, is right for 34-53%
    deep = HashModel(kind="deep", bits=32, epochs=8).fit(corpus, progress=False)
    semi = HashModel(kind="semi", bits=32, epochs=8,
                     options={"labels_fraction": 0.1}).fit(corpus, progress=False)
    p_deep, _ = _precision(deep, corpus)
    p_semi, codes = _precision(semi, corpus)
    assert p_semi > p_deep + 0.05
    train = corpus.training_indices()
    assert semi.config.learned.labelled_items == round(0.1 * len(train))
    test = np.flatnonzero(np.asarray(corpus.splits) == "test")
    acc = semi.classifier_accuracy([corpus.labels[r] for r in test], codes[test])
    assert acc > 0.3                                        # 10 classes: chance is 0.1


@pytest.mark.parametrize("kind", ["linear", "fa", "sparse"])
def test_epochs_caps_a_classic_fit_and_is_reported_as_iterations(kind, run, tmp_path):
    out = tmp_path / kind
    r = run("build", "--dataset", "fashion-mnist", "--limit", "300", "--bits", "16",
            "--model", kind, "--epochs", "2", "--out", out)
    assert r.code == 0, r.err
    assert "2 iterations;" in r.out and " epoch" not in r.out
    assert "training    2 iterations on cpu" in run("info", out).out
    # without the cap the fit goes on until it converges or its own limit
    corpus = limit_rows(load_dataset("fashion-mnist"), 300, 0)
    assert HashModel(kind=kind, bits=16).fit(corpus, progress=False).report.epochs_run > 2


def test_semi_image_encoder_is_the_deeper_one_and_reloads_with_its_batch_statistics(
        tmp_path):
    import json
    from hashret import defaults
    corpus = limit_rows(load_dataset("fashion-mnist"), 300, 0)
    rows = np.arange(12)
    semi = HashModel(kind="semi", bits=16, epochs=2).fit(corpus, progress=False)
    deep = HashModel(kind="deep", bits=16, epochs=1).fit(corpus, progress=False)
    assert semi.config.convs_per_scale == defaults.CLASSIFIER_CONVS_PER_SCALE > 0
    assert deep.config.convs_per_scale == 0

    def norms(model):
        return [m for m in model.module.encoder.modules()
                if isinstance(m, torch.nn.BatchNorm2d)]
    convs = [m for m in semi.module.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 2 * defaults.CLASSIFIER_CONVS_PER_SCALE
    assert len(norms(semi)) == len(convs) and not norms(deep)
    for shape in [(9, 13, 3), (31, 17, 1)]:        # odd sides pool to the strided geometry
        enc = ImageEncoder(shape, 16, (4, 8), 32, convs_per_scale=2)
        assert enc(torch.rand(2, shape[2], shape[0], shape[1])).shape == (2, 16)
    # the statistics the batches taught are what inference uses, and they are saved
    assert all(float(m.running_var.sub(1).abs().max()) > 1e-3 for m in norms(semi))
    semi.save(tmp_path / "semi")
    again = HashModel.load(tmp_path / "semi")
    np.testing.assert_array_equal(again.embed(corpus.take(rows)), semi.embed(corpus.take(rows)))
    # a bundle written before there was a choice of encoder loads the strided one
    deep.save(tmp_path / "deep")
    cfg = json.loads((tmp_path / "deep" / "config.json").read_text())
    del cfg["convs_per_scale"]
    (tmp_path / "deep" / "config.json").write_text(json.dumps(cfg))
    old = HashModel.load(tmp_path / "deep")
    np.testing.assert_array_equal(old.embed(corpus.take(rows)), deep.embed(corpus.take(rows)))


def test_semi_supervised_multilabel_head_predicts_label_sets():
    corpus = limit_rows(load_dataset("reuters"), 800, 0)
    semi = HashModel(kind="semi", bits=16, epochs=2).fit(corpus, progress=False)
    assert semi.config.learned.multilabel is True
    assert semi.module.label_smoothing == 0          # smoothing is for the softmax head
    codes, _ = semi.encode(corpus.take(np.arange(20)))
    pred = semi.predict_labels(codes)
    assert all(len(p) >= 1 and set(p) <= set(semi.config.learned.classes) for p in pred)
    with pytest.raises(UsageError, match="no classifier"):
        HashModel(kind="deep", bits=16, epochs=1).fit(corpus, progress=False) \
            .predict_labels(codes)


@pytest.mark.parametrize("kind", ["linear", "fa", "sparse", "denoising", "semi"])
def test_every_kind_builds_queries_exports_and_evaluates(run, tmp_path, kind):
    out = tmp_path / kind
    r = run("--quiet", "build", "--dataset", "fashion-mnist", "--bits", "16", "--epochs", "1",
            "--limit", "400", "--model", kind, "--out", out)
    assert r.code == 0, r.err
    r = run("info", out, "--json")
    assert r.json()["model"]["kind"] == kind
    if kind in ("linear", "fa", "sparse"):
        assert "no validation loss" in run("info", out).out
    r = run("export", out, tmp_path / "x.parquet", "--with-embeddings")
    assert r.code == 0, r.err
    t = pq.read_table(tmp_path / "x.parquet")
    assert t.num_rows == 400
    first = t.column("id")[0].as_py()
    r = run("query", out, "--id", first, "-k", "3", "--json")
    assert r.code == 0, r.err
    hits = r.json()
    assert hits[0]["distance"] == 0 and len(hits) == 3
    r = run("eval", out, "--no-baselines", "--json")
    assert r.code == 0, r.err
    assert 0 < r.json()["methods"][f"hashret-{kind}"]["precision@100"] <= 1


def test_linear_embeddings_are_explained_by_the_principal_component_scores(run, tmp_path):
    images = load_dataset("fashion-mnist").take(np.arange(5000))
    arr = np.stack([np.asarray(i) for i in images]).reshape(5000, 28, 28)
    np.save(tmp_path / "fm.npy", arr)
    out = tmp_path / "lin"
    assert run("--quiet", "build", tmp_path / "fm.npy", "--model", "linear", "--bits", "16",
               "--out", out).code == 0
    assert run("export", out, tmp_path / "e.parquet", "--with-embeddings").code == 0
    t = pq.read_table(tmp_path / "e.parquet")
    emb = np.asarray(t.column("embedding").to_pylist(), np.float64)
    x = arr.reshape(5000, -1).astype(np.float64) / 255
    xc = x - x.mean(0)
    scores_ = xc @ np.linalg.svd(xc, full_matrices=False)[2][:16].T
    design = np.column_stack([scores_, np.ones(5000)])
    fit = design @ np.linalg.lstsq(design, emb, rcond=None)[0]
    r2 = 1 - ((emb - fit) ** 2).sum(0) / ((emb - emb.mean(0)) ** 2).sum(0)
    assert r2.min() >= 0.98


def test_larger_images_get_a_third_scale_and_code_and_decode_at_their_own_size():
    """Images whose shorter side passes defaults.THIRD_SCALE_SIDE are halved three times
    before the dense layer, others twice; the decoder gives back every pixel of the input
    size, odd sides included, whatever the number of scales."""
    from hashret import defaults
    from hashret.nets.networks import ImageDecoder
    side = defaults.THIRD_SCALE_SIDE
    assert len(defaults.image_channels((28, 28, 1))) == 2
    assert len(defaults.image_channels((side, 64, 3))) == 2
    assert len(defaults.image_channels((side + 1, 64, 3))) == 3
    assert len(defaults.image_channels((64, 64, 3))) == 3
    for shape, channels in [((64, 64, 3), (4, 8, 8)), ((37, 35, 1), (4, 8, 8)),
                            ((13, 11, 3), (4, 8))]:
        for per_scale in (0, 2):
            enc = ImageEncoder(shape, 16, channels, 32, convs_per_scale=per_scale)
            convs = [m for m in enc.modules() if isinstance(m, torch.nn.Conv2d)]
            assert len(convs) == len(channels) * max(per_scale, 1)
            x = torch.rand(2, shape[2], shape[0], shape[1])
            assert enc(x).shape == (2, 16)
            # the dense layer reads the last scale: the sides halved once a scale, rounding up
            h, w = shape[0], shape[1]
            for _ in channels:
                h, w = -(-h // 2), -(-w // 2)
            assert enc.head[0].in_features == channels[-1] * h * w
        dec = ImageDecoder(shape, 16, channels, 32)
        assert dec(torch.rand(2, 16)).shape == (2, shape[2], shape[0], shape[1])
