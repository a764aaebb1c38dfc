"""What the decoder serves besides search: denoising (reconstruct clean items from corrupted
ones) and generation (decode sampled, given or interpolated codes)."""

from __future__ import annotations

import difflib
import json
import logging
from pathlib import Path

import numpy as np
import torch

from .bundle import Bundle
from .data import read_corpus
from .data.archives import is_archive
from .data.corpus import TEXT, VECTOR
from .data.features import tokenize
from .data.images import IMAGE_SUFFIXES, read_image_input
from .data.tables import JSON_TABLE_SUFFIX, TABLE_SUFFIXES
from .data.text import TEXT_SUFFIXES, read_text_file
from .errors import UsageError
from .fileio import atomic_file, safe_child
from .models import HashModel
from .nets.networks import corrupt, parse_noise
from .pictures import image_grid, save_png, to_uint8
from .progress import progress_bar
from .search.bits import pack_bits, unpack_bits

TOP_TERMS = 20
log = logging.getLogger("hashret")


# --- denoising -------------------------------------------------------------------------------

def reconstruct_features(model: HashModel, feats, noise: str | None = None, seed: int = 0):
    """Code features (after optional corruption) and decode them: (inputs used, output)."""
    if noise:
        kind, level = parse_noise(noise, model.modality)
        g = torch.Generator().manual_seed(seed)
        if model.modality == TEXT:
            keep = torch.rand(len(feats.data), generator=g).numpy() >= level
            feats = feats.mask_values(keep)
        else:
            feats = corrupt(torch.from_numpy(np.ascontiguousarray(feats)), kind, level,
                            g).numpy()
    codes = pack_bits(model.embed_features(feats) > 0)
    return feats, model.decode(codes)


def top_terms(model: HashModel, probs: np.ndarray, n: int = TOP_TERMS) -> list[list]:
    vocab = model.featurizer.vocabulary
    out = []
    for row in probs:
        top = np.argsort(-row, kind="stable")[:n]
        out.append([[vocab[j], round(float(row[j]), 5)] for j in top])
    return out


def denoise(model: HashModel, inp, out, noise: str | None = None, seed: int = 0) -> dict:
    """Write the model's clean reconstructions of INPUT to OUTPUT (same kind: an image file,
    a folder of images, a .npy array or an IDX file; for a document model, a text file
    becomes its reconstruction's top weighted terms, and a corpus of documents (a table,
    a folder or an archive) JSON lines of each document's). Returns a summary."""
    inp, out = Path(inp), Path(out)
    if not inp.exists():
        raise UsageError(f"input {inp} does not exist")
    if model.modality == TEXT and (inp.is_dir() or _is_document_table(inp)):
        return _denoise_documents(model, read_corpus(inp), out, noise, seed)
    if model.modality == TEXT:
        if not inp.is_file():
            raise UsageError(f"input {inp} is not a text file")
        if inp.suffix.lower() in IMAGE_SUFFIXES | {".npy", ".npz", ".mat"}:
            raise UsageError(f"input {inp} holds images, but this model encodes documents; "
                             "give a text file or a corpus of documents")
        feats = model.features([read_text_file(inp)])
        _, probs = reconstruct_features(model, feats, noise, seed)
        terms = top_terms(model, probs)[0]
        with atomic_file(out) as tmp:
            tmp.write_text("".join(f"{t}\t{w}\n" for t, w in terms))
        return {"items": 1, "output": str(out)}
    check_image_input(inp)
    kind, names, images, _ = read_image_input(inp)
    feats = model.features(images)
    _, rec = reconstruct_features(model, feats, noise, seed)
    write_images_like(kind, names, images, rec, out, model)
    return {"items": len(names), "output": str(out), "kind": kind}


def check_image_input(inp: Path) -> None:
    """Refuse an input of documents given to a tool that reads images."""
    # no suffix is an IDX file's (train-images-idx3-ubyte), not a document's
    if inp.is_file() and (_is_document_table(inp) or inp.suffix.lower() in TEXT_SUFFIXES - {""}):
        raise UsageError(f"input {inp} holds documents, not an image, but this model encodes "
                         "images; give an image file, a folder of images, a .npy array or an "
                         "IDX file")


def write_images_like(kind: str, names, images, rec: np.ndarray, out: Path,
                      model: HashModel) -> None:
    """Write images ``rec`` (n, h, w, c) in [0, 1] made from the input read by
    :func:`~hashret.data.images.read_image_input` as ``kind``, ``names``, ``images``, in
    the input's kind: PNGs named after a folder's files, one PNG, or an array in the
    input's layout, dtype and scale."""
    rec8 = to_uint8(rec)
    if kind == "folder":
        if out.exists() and not out.is_dir():
            raise UsageError(f"output {out} is a file; denoising a folder writes a folder")
        out.mkdir(exist_ok=True)
        for name, img in zip(names, rec8):
            target = safe_child(out, Path(name).stem, ".png")
            save_png(_pil(img), target)
    elif kind == "image":
        if out.is_dir():
            out = safe_child(out, Path(names[0]).stem, ".png")
        save_png(_pil(rec8[0]), out)
    elif kind == "npy":
        arr = _like(rec, np.asarray(images), model)
        with atomic_file(out) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, arr)
    else:
        arr = _like(rec, np.asarray(images), model)
        with atomic_file(out) as tmp:
            write_idx(tmp, arr)


def denoise_with_index(path, inp, out, noise: str | None = None, seed: int = 0) -> dict:
    """:func:`denoise` with the model of the index at ``path``."""
    bundle = Bundle.load(path)
    check_decodes(bundle, "denoise")
    return denoise(bundle.model, inp, out, noise=noise, seed=seed)


def check_decodes(bundle: Bundle, what: str) -> None:
    """Refuse to decode with a model whose decoder gives vectors (of a vector corpus, or
    documents read through a sentence encoder): there is no picture or word to show."""
    if bundle.model.colorizes:
        raise UsageError(f"the index {bundle.path} is a colorize model: its codes decode "
                         f"into colours only beside a grey image, so {what} does not apply; "
                         "use hashret colorize")
    if bundle.model.config.network_input == VECTOR:
        raise UsageError(f"the index {bundle.path} decodes codes into vectors, not images or "
                         f"words: {what} works with image indexes and TF-IDF document "
                         "indexes")


def _is_document_table(path: Path) -> bool:
    # a .txt file stays one document here: the text file that denoise has always read
    return path.is_file() and (path.suffix.lower() in TABLE_SUFFIXES + (JSON_TABLE_SUFFIX,)
                               or is_archive(path) or path.suffix.lower() == ".sgm")


def _denoise_documents(model: HashModel, corpus, out: Path, noise, seed: int,
                       chunk: int = 1000) -> dict:
    """One JSON line per document of ``corpus``: its id, title and the top weighted terms
    of its reconstruction, decoded a chunk at a time (a reconstruction is as wide as the
    vocabulary)."""
    if corpus.modality != TEXT:
        raise UsageError(f"{corpus.source} holds images, but this model encodes documents")
    with atomic_file(out) as tmp, open(tmp, "w", encoding="utf-8") as f, \
            progress_bar(total=len(corpus), desc="denoising", unit="doc", leave=False) as bar:
        for start in range(0, len(corpus), chunk):
            stop = min(start + chunk, len(corpus))
            feats = model.features(corpus.items[start:stop])
            _, probs = reconstruct_features(model, feats, noise, seed + start)
            for i, terms in zip(range(start, stop), top_terms(model, probs)):
                f.write(json.dumps({"id": corpus.ids[i], "title": corpus.titles[i],
                                    "terms": terms}, ensure_ascii=False) + "\n")
            bar.update(stop - start)
    return {"items": len(corpus), "output": str(out), "kind": "documents"}


def _like(rec: np.ndarray, source: np.ndarray, model: HashModel) -> np.ndarray:
    """Reconstructions in the source array's layout, dtype and scale."""
    arr = rec * model.featurizer.scale
    if source.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if np.issubdtype(source.dtype, np.integer):
        info = np.iinfo(source.dtype)
        arr = np.clip(np.rint(arr), info.min, info.max)
    return arr.astype(source.dtype)


def write_idx(path, arr: np.ndarray) -> None:
    """An IDX file (big-endian header; uint8 data, or float32 as type 0x0D)."""
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09}.get(arr.dtype, 0x0D)
    data = arr if code != 0x0D else arr.astype(">f4")
    with open(path, "wb") as f:
        f.write(bytes([0, 0, code, arr.ndim]))
        for s in arr.shape:
            f.write(int(s).to_bytes(4, "big"))
        f.write(np.ascontiguousarray(data).tobytes())


def _pil(img: np.ndarray):
    from PIL import Image
    return Image.fromarray(img[..., 0], "L") if img.shape[2] == 1 else Image.fromarray(img)


# --- generation ------------------------------------------------------------------------------

PROMPT_SAMPLES = 8          # codes a prompt draws unless told


def prompt_rows(bundle: Bundle, prompt: str) -> tuple[np.ndarray, list[str]]:
    """The rows of the indexed items a prompt names, and the label names it matched. The
    prompt is read with the documents' tokenizer, plurals folded: the labels all of whose
    words it holds; else those holding all its words; else the items whose titles hold all
    its words. None matching: a :class:`UsageError` that lists the nearest label names."""
    words = _folded(prompt)
    if not words:
        raise UsageError(f"{{prompt:{prompt}}} holds no word to match; give a label name, "
                         "e.g. one hashret info lists", option="prompt")
    labels = bundle.items.column("labels").to_pylist()
    names = sorted({name for ls in labels for name in ls})
    named = {n: _folded(n) for n in names}
    hit = [n for n, w in named.items() if w and w <= words] or \
        [n for n, w in named.items() if w and words <= w]
    if hit:
        wanted = set(hit)
        rows = [r for r, ls in enumerate(labels) if wanted.intersection(ls)]
        return np.asarray(rows, np.int64), hit
    titles = bundle.items.column("title").to_pylist()
    rows = [r for r, t in enumerate(titles) if words <= _folded(str(t))]
    if rows:
        return np.asarray(rows, np.int64), [f"titles with {prompt!r}"]
    near = difflib.get_close_matches(prompt.lower(), [n.lower() for n in names], 5, 0.3)
    shown = [next(n for n in names if n.lower() == m) for m in near] or names[:5]
    raise UsageError(f"{{prompt:{prompt}}} matches no label or title of the index at "
                     f"{bundle.path}; nearest label names: {', '.join(map(repr, shown))}",
                     option="prompt")


def _folded(text: str) -> set[str]:
    """A text's words as the documents' tokenizer reads them, a plural's final s dropped
    (so "boots" names "Ankle boot")."""
    return {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            for w in tokenize(text)}


def prompt_codes(bundle: Bundle, prompt: str, n: int, seed: int = 0):
    """``(codes, captions)`` for a prompt. An image index: ``n`` codes drawn bit by bit
    from the per-bit frequencies of the codes of the items it names
    (:func:`prompt_rows`), i.e. conditional generation from words. A document index: the
    prompt read as a document, its one code."""
    if bundle.modality == TEXT:
        codes, _ = bundle.model.encode([prompt])
        return codes, [prompt]
    rows, matched = prompt_rows(bundle, prompt)
    log.info("prompt %r: %d items (%s)", prompt, len(rows), ", ".join(matched[:5]))
    return sample_codes(bundle.codes[rows], n, seed), [", ".join(matched)[:24]] * n


def sample_codes(index_codes: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Codes drawn bit by bit from the per-bit frequencies of the indexed codes."""
    freq = unpack_bits(index_codes).mean(0)
    rng = np.random.default_rng(seed)
    return pack_bits(rng.random((n, len(freq))) < freq)


def hamming_path(a: np.ndarray, b: np.ndarray, steps: int, seed: int = 0) -> np.ndarray:
    """``steps`` codes from ``a`` to ``b``: the bits where they differ are flipped one group
    at a time (in a seeded random order), so consecutive codes are a few bits apart and the
    path starts at ``a`` and ends at ``b``."""
    if steps < 2:
        raise UsageError("{steps} must be at least 2 (the two end points)", option="steps")
    bits_a, bits_b = unpack_bits(a[None])[0], unpack_bits(b[None])[0]
    diff = np.flatnonzero(bits_a != bits_b)
    np.random.default_rng(seed).shuffle(diff)
    path = []
    for i in range(steps):
        cur = bits_a.copy()
        flip = diff[:round(i * len(diff) / (steps - 1))]
        cur[flip] = bits_b[flip]
        path.append(cur)
    return pack_bits(np.stack(path))


def parse_code(hex_code: str, bits: int) -> np.ndarray:
    try:
        raw = bytes.fromhex(hex_code.strip())
    except ValueError:
        raise UsageError(f"{{code}} {hex_code!r} is not hexadecimal; give {bits // 4} hex digits "
                         "(the code's bytes, as in the Parquet export)", option="code") from None
    if len(raw) * 8 != bits:
        raise UsageError(f"{{code}} has {len(raw) * 8} bits but the model makes {bits}-bit codes; "
                         f"give {bits // 4} hex digits", option="code")
    return np.frombuffer(raw, np.uint8)[None]


GENERATED_SUFFIXES = {"image": (".png",), "text": (".json", ".jsonl", ".txt")}


def check_generated_suffix(out, modality: str) -> None:
    """Refuse an output name whose suffix is not what a model of ``modality`` writes."""
    suffixes = GENERATED_SUFFIXES["text" if modality == TEXT else "image"]
    if Path(out).suffix.lower() not in suffixes:
        what = "documents: its decoded codes' top terms" if modality == TEXT else \
            "images: a PNG grid"
        raise UsageError(f"{{out:{out}}}: this index's model decodes {what}; name the output "
                         f"{' or '.join('*' + s for s in suffixes)}", option="out")


def write_generated(model: HashModel, codes: np.ndarray, out, captions=None) -> Path:
    """Decode ``codes`` and write them: a PNG grid for image models; for document models
    JSON (``.json``), JSON lines (``.jsonl``) or text listing each code's top terms."""
    out = Path(out)
    decoded = model.decode(codes)
    if model.modality == TEXT:
        terms = top_terms(model, decoded)
        rows = [{"code": c.tobytes().hex(), "caption": (captions or [""] * len(codes))[i],
                 "terms": t} for i, (c, t) in enumerate(zip(codes, terms))]
        with atomic_file(out) as tmp:
            if out.suffix.lower() == ".json":
                tmp.write_text(json.dumps(rows, indent=1, ensure_ascii=False))
            elif out.suffix.lower() == ".jsonl":
                tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
            else:
                tmp.write_text("\n".join(
                    " ".join(filter(None, (r["code"], r["caption"]))) + ": "
                    + " ".join(t for t, _ in r["terms"]) for r in rows) + "\n")
        return out
    save_png(image_grid(decoded, cols=min(len(codes), 8), captions=captions), out)
    return out


def generate_from_index(path, out, sample: int | None = None, code: str | None = None,
                        interpolate=None, steps: int = 8, seed: int = 0,
                        prompt: str | None = None) -> int:
    """Decode codes into ``out`` (see :func:`write_generated`): ``sample``
    codes drawn from the per-bit frequencies of the indexed codes, one given ``code`` (hex),
    the ``steps`` codes of a Hamming path between two indexed items (``interpolate``, a
    pair of ids), each captioned with its distance from the first, or codes for a
    ``prompt`` (:func:`prompt_codes`; ``sample`` of them, 8 by default), with the model of
    the index at ``path``. Returns the number of codes decoded."""
    given = [f"{{{n}}}" for n, v in (("sample", sample and not prompt), ("code", code),
                                      ("interpolate", interpolate), ("prompt", prompt)) if v]
    if len(given) != 1:
        raise UsageError("give exactly one of {sample}, {code}, {interpolate} or {prompt} "
                         f"(got {', '.join(given) or 'none'})")
    bundle = Bundle.load(path)
    check_decodes(bundle, "generate")
    check_generated_suffix(out, bundle.modality)
    captions = None
    if prompt:
        codes, captions = prompt_codes(bundle, prompt, sample or PROMPT_SAMPLES, seed)
    elif sample:
        codes = sample_codes(bundle.codes, sample, seed)
    elif code:
        codes = parse_code(code, bundle.bits)
    else:
        a, b = (bundle.codes[bundle.row_of(i)] for i in interpolate)
        codes = hamming_path(a, b, steps, seed)
        captions = [f"+{int(np.unpackbits(c ^ a).sum())} bits" for c in codes]
    write_generated(bundle.model, codes, out, captions)
    return len(codes)
