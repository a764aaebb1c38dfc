"""The oriented-gradient histograms the image models reconstruct besides their pixels."""

import numpy as np
import pytest
import torch

from hashret import HashModel, defaults, read_corpus
from hashret.nets.networks import OrientationHistograms


def _stripes(vertical: bool, n=28, period=6, offset=0) -> torch.Tensor:
    on = ((np.arange(n) + offset) % period < period // 2).astype(np.float32)
    img = np.tile(on, (n, 1)) if vertical else np.tile(on[:, None], (1, n))
    return torch.from_numpy(img)[None, None]


def _energy_by_orientation(layer: OrientationHistograms, h: torch.Tensor) -> np.ndarray:
    b = layer.scales[0][1]
    return h.view(len(h), -1, layer.bins, b * b).sum((0, 1, 3)).numpy()


def test_histograms_ignore_brightness_and_contrast_but_not_shape():
    layer = OrientationHistograms((28, 28, 1))
    img = torch.rand(3, 1, 28, 28) * 0.5
    h = layer(img)
    assert h.shape == (3, layer.n_out)
    torch.testing.assert_close(layer(0.4 * img + 0.3), h, atol=2e-3, rtol=1e-3)
    assert (layer(img.flip(-1)) - h).abs().max() > 0.05


def test_edges_vote_for_their_gradient_orientation():
    layer = OrientationHistograms((28, 28, 1))
    across_x = _energy_by_orientation(layer, layer(_stripes(vertical=True)))
    across_y = _energy_by_orientation(layer, layer(_stripes(vertical=False)))
    # vertical stripes change along x: gradient angle 0 -> bin 0; horizontal ones along y:
    # angle pi/2 -> halfway between bins 4 and 5 of 9
    assert across_x.argmax() == 0 and across_x[0] > 0.9 * across_x.sum()
    assert set(np.argsort(across_y)[-2:]) == {4, 5}
    assert across_y[4] + across_y[5] > 0.9 * across_y.sum()


def test_a_shift_that_inverts_the_pixels_leaves_the_histograms_alike():
    layer = OrientationHistograms((28, 28, 1))
    a, b = _stripes(True), _stripes(True, offset=3)           # half a period: pixels invert
    pixels = torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1]
    ha, hb = layer(a)[0], layer(b)[0]
    assert pixels < -0.9
    assert torch.nn.functional.cosine_similarity(ha, hb, dim=0) > 0.95


def test_colour_images_use_the_strongest_channel():
    layer = OrientationHistograms((28, 28, 3))
    grey = _stripes(True)
    colour = torch.cat([0.3 * grey, grey, torch.full_like(grey, 0.7)], 1)
    torch.testing.assert_close(layer(colour), OrientationHistograms((28, 28, 1))(grey),
                               atol=1e-5, rtol=1e-4)


def test_channels_of_equal_gradient_strength_give_the_first_one():
    """Where two channels' gradients are equally strong but point different ways, the
    pixel votes with the first channel's orientation."""
    layer = OrientationHistograms((28, 28, 3))
    grey = OrientationHistograms((28, 28, 1))
    y, x = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    # ramps along the two diagonals: gradients of the same length at every pixel, borders
    # included, at 45 and 135 degrees
    up, down = ((x + y) / 64)[None, None], ((x - y) / 64 + 0.5)[None, None]
    zero = torch.zeros_like(up)
    assert (grey(up) - grey(down)).abs().max() > 0.1
    for first, second in ((up, down), (down, up)):
        h = layer(torch.cat([first, second, zero], 1))
        torch.testing.assert_close(h, grey(first), atol=1e-6, rtol=1e-5)


def test_several_scales_are_the_histograms_of_each_scale_side_by_side():
    img = torch.rand(4, 1, 28, 28)
    both = OrientationHistograms((28, 28, 1), cells=(7, 10))
    coarse = OrientationHistograms((28, 28, 1), cells=7)
    fine = OrientationHistograms((28, 28, 1), cells=(10,))
    assert both.n_out == coarse.n_out + fine.n_out > coarse.n_out
    torch.testing.assert_close(both(img), torch.cat([coarse(img), fine(img)], 1))
    # every 2 x 2 block of each scale has unit length
    blocks = both(img).view(4, -1, both.bins * 4).norm(dim=2)
    torch.testing.assert_close(blocks, torch.ones_like(blocks), atol=1e-4, rtol=0)
    # on a small image both scales come to 2-pixel cells: one set of histograms, not two
    small = OrientationHistograms((9, 9, 1), cells=(7, 10))
    assert small.n_out == OrientationHistograms((9, 9, 1), cells=7).n_out


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 48, 3), (8, 8, 1)])
def test_gradient_weight_keeps_its_share_per_value_across_image_sizes(shape):
    n = OrientationHistograms(shape, cells=defaults.GRADIENT_CELLS).n_out
    w = defaults.gradient_weight(shape, n)
    h, wd, c = shape
    assert w * n / (h * wd * c) == pytest.approx(defaults.GRADIENT_WEIGHT)
    assert defaults.gradient_weight((4, 4, 1), 36) == 0.0


def test_image_model_learns_to_reconstruct_the_histograms(tmp_path):
    rng = np.random.default_rng(0)
    imgs = np.stack([(_stripes(bool(v), offset=int(o))[0, 0].numpy() * 255).astype(np.uint8)
                     for v, o in zip(rng.integers(0, 2, 200), rng.integers(0, 6, 200))])
    path = tmp_path / "stripes.npy"
    np.save(path, imgs)
    corpus = read_corpus(path)
    model = HashModel(bits=16, epochs=40, seed=0).fit(corpus, progress=False)
    layer = OrientationHistograms((28, 28, 1), cells=defaults.GRADIENT_CELLS)
    assert model.config.gradient_cells == list(defaults.GRADIENT_CELLS)
    assert model.config.gradient_weight == pytest.approx(
        defaults.gradient_weight((28, 28, 1), layer.n_out))
    hist = [h[0] for h in model.report.history]
    assert hist[-1] < hist[0]
    module = model.module
    x = torch.from_numpy(model.features(corpus.take(np.arange(50))))
    with torch.no_grad():
        z = module.code(module.logits(x))
        target = module.gradients(x)
        err = ((module.gradient_decoder(z) - target) ** 2).sum(1).mean()
        spread = ((target - target.mean(0)) ** 2).sum(1).mean()
    assert err < 0.5 * spread           # better than predicting the mean histogram
    model.save(tmp_path / "m")
    again = HashModel.load(tmp_path / "m")
    np.testing.assert_array_equal(again.encode(corpus.take(np.arange(5)))[0],
                                  model.encode(corpus.take(np.arange(5)))[0])


def test_a_bundle_without_histogram_scales_loads_with_the_single_scale_it_was_trained_with(
        tmp_path):
    import json
    imgs = (np.random.default_rng(1).random((60, 28, 28)) * 255).astype(np.uint8)
    np.save(tmp_path / "imgs.npy", imgs)
    corpus = read_corpus(tmp_path / "imgs.npy")
    model = HashModel(bits=16, epochs=1, gradient_cells=[7]).fit(corpus, progress=False)
    assert model.config.gradient_cells == [7]
    model.save(tmp_path / "m")
    cfg_path = tmp_path / "m" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    del cfg["gradient_cells"]                    # as written before scales could be chosen
    cfg_path.write_text(json.dumps(cfg))
    again = HashModel.load(tmp_path / "m")
    assert again.module.gradients.n_out == OrientationHistograms((28, 28, 1), 9, 7).n_out
    np.testing.assert_array_equal(again.encode(corpus.take(np.arange(8)))[0],
                                  model.encode(corpus.take(np.arange(8)))[0])


def test_a_chosen_gradient_weight_keeps_the_default_scales(tmp_path):
    imgs = (np.random.default_rng(2).random((40, 28, 28)) * 255).astype(np.uint8)
    np.save(tmp_path / "imgs.npy", imgs)
    model = HashModel(bits=8, epochs=1, gradient_weight=5.0).fit(
        read_corpus(tmp_path / "imgs.npy"), progress=False)
    assert model.config.gradient_cells == list(defaults.GRADIENT_CELLS)
    assert model.module.gradient_weight == 5.0
    assert model.module.gradients.n_out == OrientationHistograms(
        (28, 28, 1), cells=defaults.GRADIENT_CELLS).n_out
