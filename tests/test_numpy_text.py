"""A query by text runs the document encoder in numpy, without torch."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hashret.bundle import Bundle
from hashret.errors import BundleError
from hashret.retriever import Retriever


def _texts(corpus, n):
    return [corpus.items[i] for i in range(n)]


def test_numpy_encoder_gives_the_networks_logits_and_codes(reuters_index):
    out, corpus = reuters_index
    texts = _texts(corpus, 300) + ["", "the of and", "oil oil oil opec " * 50]
    bundle = Bundle.load(out, with_model=False)
    encoder = bundle.numpy_text_encoder()
    assert encoder is not None and not bundle.model_loaded
    codes, logits, empty = encoder.encode(bundle.featurizer, texts)
    torch_codes, torch_logits = bundle.model.encode(texts)
    np.testing.assert_allclose(logits, torch_logits, rtol=1e-4, atol=1e-5)
    assert empty == bundle.model.empty_items >= 2          # "" and the stop words alone
    sure = np.abs(torch_logits) > 1e-4                     # bits not on a rounding edge
    from hashret.models import unpack_bits
    assert (unpack_bits(codes)[sure] == unpack_bits(torch_codes)[sure]).all()
    # the stored codes of the indexed documents come back from the numpy encoder
    rows = [bundle.row_of(corpus.ids[i]) for i in range(300)]
    assert (unpack_bits(codes[:300]) == unpack_bits(bundle.codes[rows])).mean() > 0.999


def test_query_by_text_imports_no_torch_and_answers_as_the_network(reuters_index):
    out, corpus = reuters_index
    text = _texts(corpus, 3)[2]
    script = (f"import sys; from hashret.retriever import Retriever; "
              f"r = Retriever.load({str(out)!r}, with_model=False); "
              f"print([h.id for h in r.query({text!r}, k=15)]); "
              f"print('torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent, timeout=120)
    assert run.returncode == 0, run.stderr
    ids, torch_loaded = run.stdout.strip().splitlines()
    assert torch_loaded == "False"
    with_network = Retriever.load(out)                      # the network's own encoder
    assert ids == str([h.id for h in with_network.query(text, k=15)])


def test_other_models_keep_the_network(tmp_path, reuters_corpus):
    from hashret import build_index
    from hashret.data import limit_rows
    corpus = limit_rows(reuters_corpus, 300)
    build_index(corpus, tmp_path / "lin", bits=16, model="linear", progress=False)
    r = Retriever.load(tmp_path / "lin", with_model=False)
    assert r.bundle.numpy_text_encoder() is None
    hits = r.query(corpus.items[0], k=5)
    assert r.bundle.model_loaded and len(hits) == 5


def test_damaged_weights_are_reported_when_a_text_query_reads_them(reuters_index, tmp_path):
    import shutil
    out, _ = reuters_index
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    weights = copy / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[8:40] = b"x" * 32                  # same size (checked on opening), broken header
    weights.write_bytes(bytes(raw))
    r = Retriever.load(copy, with_model=False)           # the weights are read by the query
    with pytest.raises(BundleError, match="model.safetensors"):
        r.query("oil prices", k=3)
