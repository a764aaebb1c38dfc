"""Pictures drawn with Pillow (already a dependency for reading images): captioned image
grids and simple line plots, saved atomically as PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .fileio import atomic_file

COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14),
           (140, 86, 75)]


def to_uint8(images: np.ndarray) -> np.ndarray:
    """(n, h, w[, c]) floats in [0, 1] -> (n, h, w, c) uint8."""
    a = np.asarray(images, np.float32)
    if a.ndim == 3:
        a = a[..., None]
    return (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)


def image_grid(images, cols: int | None = None, captions=None, tile: int = 84,
               pad: int = 4):
    """Tiles of ``images`` (n, h, w[, c], floats in [0, 1]) in a grid, each scaled to about
    ``tile`` pixels and captioned underneath; returns a PIL image."""
    from PIL import Image, ImageDraw
    imgs = to_uint8(images)
    n = len(imgs)
    cols = cols or min(n, 8)
    rows = max(1, -(-n // cols))
    h, w = imgs.shape[1:3]
    zoom = max(1, tile // max(h, w))
    th, tw = h * zoom, w * zoom
    fonts = _caption_fonts()
    cap_h = 14 if captions else 0
    canvas = Image.new("RGB", (cols * (tw + pad) + pad, rows * (th + pad + cap_h) + pad),
                       (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for i, img in enumerate(imgs):
        r, c = divmod(i, cols)
        mode = "L" if img.shape[2] == 1 else "RGB"
        tile_img = Image.fromarray(img[..., 0] if mode == "L" else img, mode)
        tile_img = tile_img.resize((tw, th), Image.NEAREST).convert("RGB")
        x, y = pad + c * (tw + pad), pad + r * (th + pad + cap_h)
        canvas.paste(tile_img, (x, y))
        if captions:
            text, font = fit_caption(draw, str(captions[i]), tw, fonts)
            draw.text((x, y + th + 1), text, fill=(0, 0, 0), font=font)
    return canvas


def _caption_fonts() -> list:
    """Pillow's built-in font at its usual size, then smaller (a bitmap font where Pillow
    has no FreeType: one size)."""
    from PIL import ImageFont
    try:
        return [ImageFont.load_default(size=s) for s in (11, 9)]
    except TypeError:                   # Pillow before 10.1: one bitmap font
        return [ImageFont.load_default()]


def fit_caption(draw, text: str, width: int, fonts: list):
    """``(text, font)`` that fits ``width`` pixels: the text whole in the largest font that
    holds it, else in the smallest font cut after a whole word and ended with "..."
    (a first word too long is cut where it must be)."""
    for font in fonts:
        if draw.textlength(text, font=font) <= width:
            return text, font
    font = fonts[-1]
    words = text.split()
    while len(words) > 1:
        words.pop()
        cut = " ".join(words).rstrip(",;:[(") + "..."
        if draw.textlength(cut, font=font) <= width:
            return cut, font
    cut = text
    while cut and draw.textlength(cut + "...", font=font) > width:
        cut = cut[:-1]
    return cut + "...", font


def line_plot(series: dict, title: str, xlabel: str, ylabel: str, size=(640, 420),
              xlim=None, ylim=(0.0, 1.0)):
    """Lines ``{name: (x, y)}`` on labelled axes with a legend; returns a PIL image."""
    from PIL import Image, ImageDraw
    width, height = size
    left, right, top, bottom = 60, 20, 30, 45
    img = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(img)
    xs = np.concatenate([np.asarray(x, float) for x, _ in series.values()])
    x0, x1 = xlim or (float(xs.min()), float(xs.max()))
    y0, y1 = ylim
    x1 = x1 if x1 > x0 else x0 + 1

    def px(x, y):
        return (left + (x - x0) / (x1 - x0) * (width - left - right),
                height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom))
    d.rectangle([left, top, width - right, height - bottom], outline=(0, 0, 0))
    for t in np.linspace(y0, y1, 6):
        _, y = px(x0, t)
        d.line([left - 4, y, left, y], fill=(0, 0, 0))
        d.line([left, y, width - right, y], fill=(230, 230, 230))
        d.text((8, y - 6), f"{t:.2f}", fill=(0, 0, 0))
    for t in np.linspace(x0, x1, 6):
        x, _ = px(t, y0)
        d.line([x, height - bottom, x, height - bottom + 4], fill=(0, 0, 0))
        # a fractional axis (recall) gets two decimals, a rank axis whole numbers
        d.text((x - 12, height - bottom + 6), f"{t:.2f}" if x1 - x0 <= 10 else f"{t:.0f}",
               fill=(0, 0, 0))
    d.text((width // 2 - 4 * len(title), 8), title, fill=(0, 0, 0))
    d.text((width // 2 - 3 * len(xlabel), height - 18), xlabel, fill=(0, 0, 0))
    d.text((4, top - 16), ylabel, fill=(0, 0, 0))
    for i, (name, (x, y)) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        pts = [px(a, b) for a, b in zip(np.asarray(x, float), np.asarray(y, float))]
        if len(pts) > 1:
            d.line(pts, fill=colour, width=2)
        ly = top + 8 + 14 * i
        d.line([width - right - 150, ly + 6, width - right - 130, ly + 6], fill=colour, width=3)
        d.text((width - right - 125, ly), name, fill=(0, 0, 0))
    return img


def save_png(img, path) -> Path:
    path = Path(path)
    with atomic_file(path) as tmp:
        img.save(tmp, format="PNG")
    return path


def eval_plot(res: dict, path) -> Path:
    """Precision@k and the precision-recall curve of every method of an evaluation
    (:func:`hashret.eval.evaluate_bundle` with ``curves``), side by side."""
    from PIL import Image
    curves = res["curves"]
    ranks = {n: (np.arange(1, len(c["precision_at"]) + 1), c["precision_at"])
             for n, c in curves.items()}
    pr = {n: (c["recall_at"], c["precision_at"]) for n, c in curves.items()}
    left = line_plot(ranks, f"precision@k, {res['bits']} bits", "k (rank)", "precision")
    right = line_plot(pr, "precision-recall (to rank 1,000)", "recall", "precision",
                      xlim=(0.0, max(max(c["recall_at"]) for c in curves.values()) or 1.0))
    both = Image.new("RGB", (left.width + right.width, left.height), (255, 255, 255))
    both.paste(left, (0, 0))
    both.paste(right, (left.width, 0))
    return save_png(both, path)


def query_grid(retriever, hits, path, item_id=None, example=None) -> Path:
    """The query (an indexed item's id, or an image ``example``) and its ``hits``, each
    captioned with its distance and labels, drawn from the index's corpus read again."""
    from .errors import UsageError
    from .sources import reopen_corpus
    if retriever.modality != "image":
        raise UsageError("a grid draws images; this index holds documents")
    bundle = retriever.bundle
    corpus = reopen_corpus(bundle)
    feat = bundle.featurizer          # a query by id has not loaded the model
    query_img = corpus.take([bundle.row_of(item_id)])[0] if item_id is not None else example
    images = [query_img] + list(corpus.take([h.row for h in hits]))
    pixels = feat.transform(images).transpose(0, 2, 3, 1)
    captions = ["query"] + [f"d={h.distance} [{','.join(h.labels)}]" for h in hits]
    return save_png(image_grid(pixels, cols=min(len(images), 11), captions=captions), path)
