"""Vector models: codes learned from embeddings keep their neighbourhoods better than
PCA + ITQ, and the numpy encoder answers as the network."""
import numpy as np
import pytest

from hashret import Bundle, build_index
from hashret.data import as_corpus
from hashret.eval import label_matrix, neighbour_recall, pca_itq_encoder, float_ranking
from hashret.models import HashModel
from hashret.search.metrics import average_precision, hamming_ranking, relevance

from test_numpy_encoder import _agree


def clustered(n=4000, d=48, clusters=20, rank=4, seed=0):
    """Vectors around ``clusters`` centres, each spread along a subspace of its own of
    ``rank`` dimensions: the labels are the clusters, the exact neighbours lie along the
    subspaces."""
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.normal(size=(clusters, d))
    basis = rng.normal(size=(clusters, d, rank))
    lab = rng.integers(0, clusters, n)
    z = rng.normal(size=(n, rank))
    x = centres[lab] + np.einsum("ndr,nr->nd", basis[lab], z) + 0.3 * rng.normal(size=(n, d))
    return x.astype(np.float32), [[str(v)] for v in lab]


@pytest.fixture(scope="module")
def vector_model():
    x, labels = clustered()
    model = HashModel(bits=32).fit(as_corpus(x[:3500], labels[:3500]), progress=False)
    return model, x, labels


def _quality(codes, x, labels):
    q, db = np.arange(3500, 4000), np.arange(3500)
    lab, _ = label_matrix(labels)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    truth = float_ranking(unit[q], unit[db], 10, "cosine")
    ranking = hamming_ranking(codes[q], codes[db], 500)
    rel = relevance(ranking, lab[q], lab[db])
    return float(average_precision(rel).mean()), neighbour_recall(ranking, truth)


def test_learned_codes_beat_pca_itq_on_a_clustered_set(vector_model):
    model, x, labels = vector_model
    learned = _quality(model.encode(x)[0], x, labels)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    itq = _quality(pca_itq_encoder(unit[:3500], 32)[0](unit), x, labels)
    assert learned[0] > itq[0] + 0.05, (learned, itq)      # label mAP
    assert learned[1] > itq[1], (learned, itq)             # recall of the exact top-10


def test_decoded_codes_are_near_their_vectors(vector_model):
    model, x, _ = vector_model
    codes, _ = model.encode(x[:200])
    unit = model.featurizer.unit(x[:200])
    back = model.decode(codes)
    back /= np.linalg.norm(back, axis=1, keepdims=True)
    own = (back * unit).sum(1)
    other = (back * np.roll(unit, 1, axis=0)).sum(1)
    assert own.mean() > other.mean() + 0.3


def test_numpy_vector_encoder_gives_the_networks_logits(vector_model, tmp_path):
    model, x, labels = vector_model
    out = tmp_path / "v"
    build_index(as_corpus(x[:500], labels[:500]), out, bits=32, epochs=2, progress=False)
    bundle = Bundle.load(out, with_model=False)
    codes, empty = _agree(bundle, x[:300])
    assert empty == 0
    assert (codes == bundle.codes[:300]).mean() > 0.99
