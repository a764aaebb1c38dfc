"""A query by example runs the model's encoder in numpy, without torch."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hashret.bundle import Bundle
from hashret.errors import BundleError
from hashret.search.bits import unpack_bits
from hashret.retriever import Retriever


def _agree(bundle, examples):
    """The numpy encoder's logits against the network's, and their codes where a logit is
    not on a rounding edge."""
    encoder = bundle.numpy_encoder()
    assert encoder is not None and not bundle.model_loaded
    codes, logits, empty = encoder.encode(bundle.featurizer, examples)
    torch_codes, torch_logits = bundle.model.encode(examples)
    np.testing.assert_allclose(logits, torch_logits, rtol=1e-4, atol=1e-4)
    sure = np.abs(torch_logits) > 1e-3
    assert (unpack_bits(codes)[sure] == unpack_bits(torch_codes)[sure]).all()
    return codes, empty


def test_numpy_text_encoder_gives_the_networks_logits_and_codes(reuters_index):
    out, corpus = reuters_index
    texts = [corpus.items[i] for i in range(300)] + ["", "the of and", "oil opec " * 50]
    bundle = Bundle.load(out, with_model=False)
    codes, empty = _agree(bundle, texts)
    assert empty == bundle.model.empty_items >= 2          # "" and the stop words alone
    # the stored codes of the indexed documents come back from the numpy encoder
    rows = [bundle.row_of(corpus.ids[i]) for i in range(300)]
    assert (unpack_bits(codes[:300]) == unpack_bits(bundle.codes[rows])).mean() > 0.999


@pytest.mark.parametrize("kind, options", [
    ("deep", {}),                                   # strided convolutions
    ("semi", {"labels_fraction": 0.3}),             # batch-normalised convolutions, mirror
])
def test_numpy_image_encoder_gives_the_networks_logits_and_codes(kind, options, tmp_path):
    from hashret import build_index, load_dataset
    from hashret.data import limit_rows
    corpus = limit_rows(load_dataset("fashion-mnist"), 300)
    build_index(corpus, tmp_path / kind, bits=16, model=kind, epochs=1, progress=False,
                model_options=options)
    bundle = Bundle.load(tmp_path / kind, with_model=False)
    images = np.stack([corpus.items[i] for i in range(40)])
    _agree(bundle, images)
    if kind == "semi":
        assert bundle.numpy_encoder().mirror and bundle.model.mirror_share > 0


def test_numpy_image_encoder_of_odd_and_tiny_images(tmp_path):
    """Odd sides (max-pooling rounds up), images under 8 pixels (no convolutions) and
    images large enough for a third scale."""
    from hashret import build_index
    rng = np.random.default_rng(0)
    for name, shape, kind in (("odd", (13, 11, 3), "semi"), ("tiny", (6, 6, 1), "deep"),
                              ("three", (37, 35, 3), "deep"), ("three-semi", (37, 35, 1),
                                                               "semi")):
        images = (rng.random((160,) + shape) * 255).astype(np.uint8)
        labels = [str(i % 4) for i in range(160)]
        from hashret.data import as_corpus
        build_index(as_corpus(images, labels), tmp_path / name, bits=8, model=kind, epochs=1,
                    progress=False)
        bundle = Bundle.load(tmp_path / name, with_model=False)
        _agree(bundle, images[:20])
        encoder = bundle.numpy_encoder()
        assert (encoder.conv, encoder.per_scale > 0, encoder.scales) == {
            "odd": (True, True, 2), "tiny": (False, False, 2), "three": (True, False, 3),
            "three-semi": (True, True, 3)}[name]


def _query_in_a_new_process(out, call):
    script = (f"import sys; from hashret.retriever import Retriever; "
              f"r = Retriever.load({str(out)!r}, with_model=False); "
              f"print([h.id for h in {call}]); print('torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=Path(__file__).parents[2], timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()


def test_query_by_text_imports_no_torch_and_answers_as_the_network(reuters_index):
    out, corpus = reuters_index
    text = corpus.items[2]
    ids, torch_loaded = _query_in_a_new_process(out, f"r.query({text!r}, k=15)")
    assert torch_loaded == "False"
    assert ids == str([h.id for h in Retriever.load(out).query(text, k=15)])


def test_query_by_image_file_imports_no_torch_and_answers_as_the_network(fashion_index,
                                                                         tmp_path):
    from PIL import Image
    out, corpus = fashion_index
    path = tmp_path / "q.png"
    Image.fromarray(np.asarray(corpus.items[5])[..., 0]).save(path)
    ids, torch_loaded = _query_in_a_new_process(out, f"r.query(__import__('pathlib')"
                                                     f".Path({str(path)!r}), k=15)")
    assert torch_loaded == "False"
    assert ids == str([h.id for h in Retriever.load(out).query(path, k=15)])


def test_other_models_keep_the_network(tmp_path, reuters_corpus):
    from hashret import build_index
    from hashret.data import limit_rows
    corpus = limit_rows(reuters_corpus, 300)
    build_index(corpus, tmp_path / "lin", bits=16, model="linear", progress=False)
    r = Retriever.load(tmp_path / "lin", with_model=False)
    assert r.bundle.numpy_encoder() is None
    hits = r.query(corpus.items[0], k=5)
    assert r.bundle.model_loaded and len(hits) == 5


def test_damaged_weights_are_reported_when_a_query_reads_them(reuters_index, tmp_path):
    out, _ = reuters_index
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    weights = copy / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[8:40] = b"x" * 32                  # same size (checked on opening), broken header
    weights.write_bytes(bytes(raw))
    with pytest.raises(BundleError, match="model.safetensors does not match its SHA-256"):
        Retriever.load(copy, with_model=False)            # every open hashes every file
    # opened without hashing (an index built not to be), the query that reads the weights
    # still refuses them
    r = Retriever.load(copy, with_model=False, verify=False)
    with pytest.raises(BundleError, match="model.safetensors"):
        r.query("oil prices", k=3)
