import numpy as np

from hashret.data.features import (TOKENIZER_VERSION, ImageFeaturizer, ImageRows, TfidfFeaturizer,
                              tokenize)


def test_tokenize_drops_stop_words_and_numbers():
    assert tokenize("The OIL price rose 5 pct in 1987, Reuters said") == ["oil", "price",
                                                                           "rose", "pct"]


def test_tfidf_vocabulary_counts_and_weights():
    docs = ["apple apple banana", "banana cherry", "apple banana", "durian"]
    f = TfidfFeaturizer(max_features=2).fit(docs)
    assert f.vocabulary == ["banana", "apple"]        # the two terms in most documents
    counts = f.transform(["apple apple banana kiwi", "", "the of"])
    dense = counts.toarray()
    assert dense.tolist() == [[1, 2], [0, 0], [0, 0]]
    w = f.weight(counts).toarray()
    assert np.isclose(np.linalg.norm(w[0]), 1) and not w[1:].any()
    assert w[0, 1] > w[0, 0]          # apple: more occurrences, rarer


def test_featurizer_roundtrip_dict():
    f = TfidfFeaturizer().fit(["a cat sat", "a dog sat"])
    g = TfidfFeaturizer.from_dict(f.to_dict())
    assert g.vocabulary == f.vocabulary and np.allclose(g.idf, f.idf)


def test_image_featurizer_scales_and_resizes():
    imgs = np.full((3, 8, 6, 1), 255, np.uint8)
    f = ImageFeaturizer().fit(imgs)
    assert f.shape == (8, 6, 1) and f.scale == 255
    x = f.transform(imgs)
    assert x.shape == (3, 1, 8, 6) and np.allclose(x, 1.0)
    big_rgb = np.zeros((16, 12, 3), np.uint8)
    big_rgb[..., 0] = 255
    y = f.transform([big_rgb])
    assert y.shape == (1, 1, 8, 6) and np.allclose(y, 1 / 3, atol=1e-3)
    assert f.resized == 1


def test_images_larger_than_the_cap_are_scaled_down_keeping_their_aspect():
    from hashret import defaults
    rng = np.random.default_rng(0)
    side = defaults.MAX_IMAGE_SIDE
    big = rng.integers(0, 256, (3, side * 3 // 2, side * 2, 3), dtype=np.uint8)
    f = ImageFeaturizer().fit(big)
    assert f.shape == (side * 3 // 4, side, 3)
    small = f.conform_all(big)
    assert small.shape == (3,) + f.shape and small.dtype == np.uint8
    # a flat image stays flat, and the mean brightness is kept
    flat = np.full((1, side * 3 // 2, side * 2, 3), 77, np.uint8)
    assert (f.conform_all(flat) == 77).all()
    assert abs(small.mean() - big.mean()) < 1.0
    assert ImageFeaturizer().fit(big[:, :side // 2, :side // 2]).shape == (side // 2, side // 2, 3)


def test_image_rows_scale_each_batch_as_the_whole_transform_does():
    """Training keeps images as read and scales them a batch at a time; any batch must be
    exactly what transforming all images at once gives for those rows, whatever the input
    (uint8 at the model's shape, or images of another size that are resized)."""
    rng = np.random.default_rng(0)
    same = rng.integers(0, 256, (20, 6, 5, 3), dtype=np.uint8)
    f = ImageFeaturizer().fit(same)
    other = [rng.integers(0, 256, (9, 7, 3), dtype=np.uint8) for _ in range(4)]
    for images in (same, other):
        rows = ImageRows(f, images)
        whole = f.transform(images)
        pick = np.array([3, 0, 2]) if len(images) > 3 else np.array([1, 3])
        np.testing.assert_array_equal(rows[pick], whole[pick])
        assert len(rows) == len(images) and rows[pick].dtype == np.float32
    assert ImageRows(f, same).raw.dtype == np.uint8            # not a float copy


def test_text_without_spaces_is_read_as_character_bigrams():
    """Chinese and Japanese runs become overlapping bigrams, so two sentences about the
    same thing share terms; as whole runs they would share none."""
    assert tokenize("東京は首都") == ["東京", "京は", "は首", "首都"]
    assert tokenize("ipad用 the café") == ["ipad", "用", "café"]
    docs = ["東京の天気は晴れです", "東京の天気は雨です", "株価が上昇した", "株価が下落した"]
    f = TfidfFeaturizer().fit(docs)
    w = f.weight(f.transform(docs)).toarray()
    sim = w @ w.T
    assert sim[0, 1] > 0.3 and sim[2, 3] > 0.3 and sim[0, 2] == 0


def test_indexes_built_by_earlier_tokenizers_keep_their_tokens():
    f = TfidfFeaturizer().fit(["東京は首都", "大阪は都市"])
    assert f.tokenizer == TOKENIZER_VERSION
    assert TfidfFeaturizer.from_dict(f.to_dict()).tokenizer == TOKENIZER_VERSION
    before_versions = {k: v for k, v in f.to_dict().items() if k != "tokenizer"}
    assert TfidfFeaturizer.from_dict(before_versions).tokenizer == 1       # before bigrams
    assert TfidfFeaturizer.from_dict({**before_versions, "cjk_bigrams": True}).tokenizer == 2
    assert tokenize("東京は首都", 1) == ["東京は首都"]
    assert tokenize("हिन्दी भाषा", 2) == []          # how version 2 read Hindi: stray letters


def test_words_keep_their_combining_marks_and_unicode_variants_are_one_term():
    # Hindi and Tamil vowel signs are combining marks: words keep them
    assert tokenize("हिन्दी भाषा का इतिहास") == ["हिन्दी", "भाषा", "का", "इतिहास"]
    assert tokenize("தமிழ் மொழி") == ["தமிழ்", "மொழி"]
    # Thai has no spaces: bigrams of characters with their marks
    assert tokenize("ภาษาไทย") == ["ภา", "าษ", "ษา", "าไ", "ไท", "ทย"]
    assert tokenize("เป็น")[0] == "เป็"
    # ligatures, full-width letters and decomposed accents read as the plain word
    assert tokenize("ﬁnance ＯＩＬ cafe\u0301 Mastermind™") == ["finance", "oil", "café",
                                                                "mastermind"]
    docs = ["भारत में बारिश का मौसम", "भारत में बारिश तेज़", "शेयर बाजार की गिरावट"]
    f = TfidfFeaturizer().fit(docs)
    w = f.weight(f.transform(docs)).toarray()
    assert (w @ w.T)[0, 1] > 0.3 and (w @ w.T)[0, 2] == 0
