"""Colorization: a colorize model learns colours from grey versions, beats the answers that
need no model, serves grey queries, and refuses what it cannot do."""
import numpy as np
import pytest
from PIL import Image

from hashret import Bundle
from hashret.nets.colorize import lightness

SIDE = 16
COLOURS = np.array([[210, 40, 40], [40, 70, 210], [40, 170, 60]])     # one per shape


def shapes(n: int, seed: int = 0):
    """White images each holding a disc, a square or a bar, coloured by its shape, its
    brightness jittered: colour follows from what the grey image shows."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    images = np.full((n, SIDE, SIDE, 3), 255, np.uint8)
    labels = rng.integers(0, 3, n)
    for img, k in zip(images, labels):
        r = rng.integers(3, SIDE // 3)
        cy, cx = rng.integers(r, SIDE - r, 2)
        mask = [(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r,
                (abs(yy - cy) <= r) & (abs(xx - cx) <= r),
                (abs(yy - cy) <= r) & (abs(xx - cx) <= max(1, r // 3))][k]
        img[mask] = np.clip(COLOURS[k] * rng.uniform(0.7, 1.1), 0, 255)
    return images, labels


def grey_of(images: np.ndarray) -> np.ndarray:
    """(n, h, w) uint8 grey versions: each pixel's CIE lightness as a grey level."""
    import torch
    from hashret.nets.colorize import lab_to_rgb
    lab = torch.zeros(len(images), 3, *images.shape[1:3])
    lab[:, :1] = lightness(torch.from_numpy(images / 255.0).float().permute(0, 3, 1, 2)) * 100
    return (lab_to_rgb(lab)[:, 0].numpy() * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def colour_index(tmp_path_factory):
    from hashret.cli import main
    tmp = tmp_path_factory.mktemp("colour")
    x, y = shapes(600)
    np.savez(tmp / "shapes.npz", x_train=x[:500], y_train=y[:500], x_test=x[500:],
             y_test=y[500:])
    try:
        main(["-q", "build", str(tmp / "shapes.npz"), "--model", "colorize", "--bits", "16",
              "--epochs", "80", "--out", str(tmp / "idx")])
    except SystemExit as e:
        assert not e.code
    return tmp / "idx", x


def test_colours_beat_mean_chroma_and_grey_copy(run, colour_index):
    out, _ = colour_index
    r = run("eval", out, "--json")
    assert r.code == 0, r.err
    c = r.json()["colour"]
    assert c["images"] == 100 and c["images_from"] == "test"
    assert c["model"] < 0.6 * min(c["mean-chroma"], c["grey-copy"])
    text = run("eval", out).out
    assert "mean ΔE per pixel" in text and f"model {c['model']:.2f}" in text


def test_colorize_folder_writes_colour_pngs_with_the_input_lightness(run, tmp_path,
                                                                     colour_index):
    out, x = colour_index
    src = tmp_path / "grey"
    src.mkdir()
    greys = grey_of(x[500:506])
    for i, g in enumerate(greys):
        Image.fromarray(g).save(src / f"g{i}.png")
    r = run("colorize", out, src, tmp_path / "colour")
    assert r.code == 0, r.err
    made = np.stack([np.asarray(Image.open(tmp_path / "colour" / f"g{i}.png"))
                     for i in range(6)])
    assert made.shape == (6, SIDE, SIDE, 3)
    # coloured: the shapes' pixels are far from grey, and nearer the true colours than grey
    truth, grey3 = x[500:506].astype(float), np.repeat(greys[..., None], 3, -1).astype(float)
    shape_px = (x[500:506] != 255).any(-1)
    assert np.abs(made - truth)[shape_px].mean() < 0.6 * np.abs(grey3 - truth)[shape_px].mean()
    # the output keeps the input's lightness
    import torch
    l_made = lightness(torch.from_numpy(made / 255.0).float().permute(0, 3, 1, 2))[:, 0]
    l_in = lightness(torch.from_numpy(greys / 255.0).float()[:, None])[:, 0]
    assert float((l_made - l_in).abs().mean()) * 100 < 2.0


def test_colorize_arrays_and_grey_queries_find_the_colour_items(run, tmp_path, colour_index):
    out, x = colour_index
    greys = grey_of(x[:8])
    np.save(tmp_path / "g.npy", greys)
    assert run("colorize", out, tmp_path / "g.npy", tmp_path / "c.npy").code == 0
    made = np.load(tmp_path / "c.npy")
    assert made.shape == (8, SIDE, SIDE, 3) and made.dtype == np.uint8
    # a grey image has the code of its colour original
    model = Bundle.load(out).model
    assert np.array_equal(model.encode(greys[..., None])[0], model.encode(x[:8])[0])
    Image.fromarray(greys[3]).save(tmp_path / "q.png")
    r = run("query", out, "--image", tmp_path / "q.png", "-k", "5", "--json")
    assert r.code == 0, r.err
    assert r.json()[0]["distance"] == 0


def test_what_colorize_refuses(run, tmp_path, colour_index, fashion_index):
    out, x = colour_index
    Image.fromarray(grey_of(x[:1])[0]).save(tmp_path / "q.png")
    for args in (("denoise", out, tmp_path / "q.png", tmp_path / "d.png"),
                 ("generate", out, "--sample", "2", "--out", tmp_path / "g.png")):
        r = run(*args)
        assert r.code != 0 and "hashret colorize" in r.err
    r = run("colorize", fashion_index[0], tmp_path / "q.png", tmp_path / "c.png")
    assert r.code != 0 and "--model colorize" in r.err
    assert not (tmp_path / "c.png").exists()
    (tmp_path / "doc.txt").write_text("words")
    r = run("colorize", out, tmp_path / "doc.txt", tmp_path / "c.png")
    assert r.code != 0 and "not an image" in r.err
    # grey images have no colours to learn
    np.savez(tmp_path / "grey.npz", x_train=grey_of(x[:50]))
    r = run("build", tmp_path / "grey.npz", "--model", "colorize", "--epochs", "1",
            "--out", tmp_path / "gidx")
    assert r.code != 0 and "colour images" in r.err and not (tmp_path / "gidx").exists()
