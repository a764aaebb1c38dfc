"""CIE Lab conversions of the colorize model."""
import numpy as np
import torch

from hashret.nets.colorize import lab_to_rgb, lightness, opaque_rgb, rgb_to_lab


def _pixels(values):
    return torch.tensor(values, dtype=torch.float32).T[None, :, :, None]   # (1, 3, n, 1)


def test_lab_of_known_colours():
    lab = rgb_to_lab(_pixels([[1, 1, 1], [0, 0, 0], [1, 0, 0], [0, 0, 1]]))[0, :, :, 0].T
    # white and black; sRGB red and blue (CIE L*a*b*, D65)
    np.testing.assert_allclose(lab[0], [100, 0, 0], atol=0.05)
    np.testing.assert_allclose(lab[1], [0, 0, 0], atol=0.05)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.1)
    np.testing.assert_allclose(lab[3], [32.30, 79.19, -107.86], atol=0.1)


def test_lab_round_trip_and_grey_has_no_chroma():
    rgb = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-4)
    grey = rgb[:, :1].expand(-1, 3, -1, -1)
    assert rgb_to_lab(grey)[:, 1:].abs().max() < 1e-3
    # a one-channel image and the same grey in three channels: one lightness
    np.testing.assert_allclose(lightness(rgb[:, :1]), lightness(grey), atol=1e-6)


def test_alpha_is_composited_on_white():
    x = torch.zeros(1, 4, 2, 2)
    x[0, 0] = 1                      # red where opaque
    x[0, 3, 0, 0] = 1                # one opaque pixel, the others transparent
    rgb = opaque_rgb(x)[0]
    assert rgb[:, 0, 0].tolist() == [1, 0, 0]
    assert rgb[:, 1, 1].tolist() == [1, 1, 1]
