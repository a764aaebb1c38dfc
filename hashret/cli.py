"""The ``hashret`` command line: a thin click layer over the library.

Errors a user can cause print one line on stderr and exit with 2 (usage) or 1 (runtime).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
import numpy as np

from . import defaults
from .errors import HashretError, UsageError
from .search.index import INDEX_KINDS, check_index_kind
from .models.config import CLASSIC_MODEL_KINDS, MODEL_KINDS

log = logging.getLogger("hashret")


class _OneLine(logging.Formatter):
    def format(self, record):
        return f"hashret: {record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    log.handlers[:] = [handler]
    log.setLevel(logging.ERROR if quiet else logging.INFO)
    log.propagate = False


def _echo_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="hashret")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or warnings.")
@click.pass_context
def cli(ctx, quiet):
    """Semantic hashing: learn K-bit binary codes for a corpus with an autoencoder, index
    them with Faiss, and find an item's nearest neighbours by Hamming distance.

    \b
    Typical use:
      hashret build --dataset reuters --out indexes/reuters
      hashret query indexes/reuters --text "opec cuts oil output" -k 5
      hashret export indexes/reuters codes.parquet
      hashret add indexes/reuters more_news.jsonl
    """
    ctx.obj = {"quiet": quiet}
    _setup_logging(quiet)


def _parquet_out(ctx, param, value):
    """OUT of export, encode and neighbours, checked before any work is done."""
    from .export import parquet_path
    return parquet_path(value)


def corpus_options(f):
    """Reader options shared by ``build``, ``add`` and ``encode``."""
    f = click.option("--id-column", help="Table corpora: the column holding item ids "
                     "(default: an 'id' column that names every row once, else row "
                     "numbers).")(f)
    f = click.option("--label-column", help="Table corpora: the column holding labels "
                     "(default: 'label' or 'labels'; a list value is multi-label).")(f)
    f = click.option("--text-column", help="Table corpora (.jsonl/.json/.csv/.tsv/.parquet): the "
                     "column holding the text (default: 'text'); several, comma-separated, are "
                     "joined (title,description). A CSV without a header row has its columns "
                     "numbered from 1.")(f)
    return f


def _read(corpus_path, dataset, text_column, label_column, id_column):
    from .data import DEFAULT_DATASET, load_dataset, read_corpus
    if corpus_path and dataset:
        raise UsageError("give either a CORPUS path or --dataset, not both")
    if corpus_path:
        return read_corpus(corpus_path, text_column, label_column, id_column)
    return load_dataset(dataset or DEFAULT_DATASET)


@cli.command()
@click.argument("corpus", required=False, type=click.Path(path_type=Path))
@click.option("--dataset", type=click.Choice(["reuters", "fashion-mnist"]),
              help="Build from a corpus embedded in the package (default with no CORPUS: "
                   "reuters).")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Folder to write the index to (replaced atomically if it is an index).")
@click.option("--bits", default=64, show_default=True, type=int,
              help="Code length: a multiple of 8 from 8 to 256.")
@click.option("--model", "model_kind", default="deep", show_default=True,
              type=click.Choice(MODEL_KINDS),
              help="Which autoencoder learns the codes: deep (binary autoencoder), denoising "
                   "(learns from corrupted inputs), semi (plus a classifier on the code, using "
                   "the labels present), linear (principal subspace), fa (factor analysis), "
                   "sparse (sparse overcomplete coding).")
@click.option("--noise", metavar="KIND:LEVEL",
              help="Corruption for --model denoising: gaussian:SIGMA, mask:P or saltpepper:P "
                   "(documents: mask:P drops words). Default gaussian:0.3 for images, mask:0.3 "
                   "for documents.")
@click.option("--labels-fraction", type=click.FloatRange(0, 1, min_open=True),
              help="--model semi: use only this random fraction of the training labels.")
@click.option("--mirror", type=click.FloatRange(0, 1),
              help="--model semi on images, some unlabelled: after the teacher, mirror this "
                   "share of each training batch left to right, and code each image from "
                   "its own and its mirror image's logits together (default "
                   f"{defaults.SEMI_MIRROR}; 0 for images whose mirror image means something "
                   "else, such as text).")
@click.option("--rotation", type=click.Choice(["none", "itq"]),
              help="--model linear/fa: threshold each unit at its median (none, default) or "
                   "rotate the centred code by ITQ before taking signs (linear: the code's "
                   "coordinates in an orthonormal basis of the principal subspace, so PCA "
                   "+ ITQ).")
@click.option("--epochs", type=click.IntRange(min=1),
              help="Maximum training epochs (default: about 2,000 optimisation steps for "
                   "documents, 4,000 for documents under 32 bits and for images; documents "
                   "also at least 10 passes over the training split, up to 10,000 steps; an "
                   "epoch is the whole training split, or a random 400 / 800 batches of a "
                   "larger one; early stopping on a validation split may end sooner: for an "
                   "unsupervised document model, when the codes of held-out documents stop "
                   "retrieving documents more like them). linear, fa and sparse: the most "
                   "iterations of their fit (least-squares rounds, EM steps, dictionary "
                   "rounds; by default until it converges, at most 300 / 200 / 15).")
@click.option("--device", default="auto", show_default=True,
              help="auto (CUDA when present), cpu or cuda.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Random seed: on one machine, with as many CPU threads (hashret info "
                   "shows them), the same seed trains the same model.")
@click.option("--limit", type=click.IntRange(min=1),
              help="Use a random sample of N items (keeping the split proportions).")
@click.option("--index", "index_kind", default="flat", show_default=True,
              type=click.Choice(INDEX_KINDS),
              help="Search structure: flat (exact scan), hash (Hamming-ball lookup, exact), "
                   "mih (multi-index hashing, exact), hnsw or ivf (approximate), auto (picked "
                   "from the corpus size).")
@click.option("--index-param", "index_params", multiple=True, metavar="NAME=VALUE",
              help="Index parameter, repeatable: mih substrings; "
                   "hnsw M, ef_search, "
                   "ef_construction; ivf nlist, nprobe.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@corpus_options
@click.pass_context
def build(ctx, corpus, dataset, out, bits, model_kind, noise, labels_fraction, mirror, rotation,
          epochs, device, seed, limit, index_kind, index_params, as_json, text_column,
          label_column, id_column):
    """Train a model on CORPUS and index every item.

    CORPUS is a folder (text files or images, one sub-folder per label, under train/ and
    test/ when split; IDX train-*/t10k-* files; Reuters reut2-*.sgm files; CIFAR-10/100
    binary or python batches; STL-10's binary files; .mat files; .jsonl, .csv, .tsv,
    .parquet or .arrow tables split by file name, as train.csv and test.csv or a Hugging
    Face dataset's parquet or save_to_disk files, of documents or of images), such a
    folder as a .tar.gz,
    .tgz, .tar or .zip archive (read without unpacking; Reuters', CIFAR's and STL-10's
    distributions too), one such table or .json file, a .txt file of one document per line
    (fastText __label__ prefixes as labels; label TAB text lines as a table), a Reuters
    .sgm, a .npy, .npz or .mat image array (channels last or first) or an IDX file. The
    README lists every layout. Without CORPUS, --dataset (default reuters) picks an
    embedded corpus. The model trains on the training split when the corpus has one; the
    index holds all items.
    """
    from .build import build_index
    from .data import limit_rows
    from .models import check_bits
    from .bundle import Bundle
    from .models import HashModel
    check_bits(bits)
    options = {k: v for k, v in (("noise", noise), ("labels_fraction", labels_fraction),
                                 ("mirror", mirror), ("rotation", rotation)) if v is not None}
    HashModel(kind=model_kind, bits=bits, extra=dict(options))   # refuse bad options now
    params = _index_params(index_params)
    check_index_kind(index_kind, params)
    Bundle.check_destination(out)          # refuse a bad --out before reading or training
    c = _read(corpus, dataset, text_column, label_column, id_column)
    c = limit_rows(c, limit, seed)
    quiet = ctx.obj["quiet"]
    if not quiet:
        click.echo(f"read {_count(len(c), c.modality + ' item')} from {c.source}; training a "
                   f"{bits}-bit {model_kind} model", err=True)
    bundle = build_index(c, out, bits=bits, model=model_kind, epochs=epochs, device=device,
                         seed=seed, index_kind=index_kind, index_params=params,
                         model_options=options, progress=not quiet)
    if as_json:
        _echo_json(bundle.manifest)
        return
    b = bundle.manifest["build"]
    click.echo(f"built {out}: {_count(len(c), 'item')}, {bits}-bit codes, {model_kind} model "
               f"(trained {b['fit_seconds']:.1f} s on {b['train']['device']}, "
               f"{_count(b['train']['epochs_run'], _pass_word(model_kind))}; encoded "
               f"{b['items_per_second_encode']:,.0f} "
               "items/s)")
    if b.get("classifier_accuracy") is not None:
        click.echo(f"classifier accuracy {b['classifier_accuracy']:.3f} on the "
                   f"{b['classifier_accuracy_on']} ({b['labelled_training_items']:,} labelled "
                   "training items used)")
    teacher = b["train"].get("teacher")
    if teacher:
        acc = teacher.get("validation_accuracy")
        click.echo(f"the targets of the unlabelled items came from a teacher trained first on "
                   f"{teacher['labelled_items']:,} labelled items ({teacher['epochs']} epochs, "
                   f"{teacher['seconds']:.0f} s"
                   + ("" if acc is None else f", accuracy {acc:.3f} on held-out labelled items")
                   + ")")
        if teacher.get("mirror"):
            click.echo(f"then the model trained with {teacher['mirror']:.0%} of each batch's "
                       "images mirrored left to right")


def _index_params(pairs) -> dict:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not value.strip().isdigit():
            raise UsageError(f"--index-param {pair!r}: write NAME=VALUE with a positive "
                             "integer value, e.g. nprobe=32")
        out[name.strip()] = int(value)
    return out


def _clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in "..." where something was cut."""
    return text if len(text) <= width else text[:width - 3] + "..."


def _format_hits(hits) -> str:
    rows = [("rank", "distance", "id", "labels", "title")]
    for i, h in enumerate(hits, 1):
        title = " ".join(str(h.title).split())
        rows.append((str(i), str(h.distance), str(h.id), _clip(",".join(h.labels), 30),
                     _clip(title, 70)))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    return "\n".join("  ".join(r[c].ljust(widths[c]) for c in range(4)) + "  " + r[4]
                     for r in rows)


@cli.command()
@click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--text", help="Query with this text (document indexes).")
@click.option("--file", "file_", type=click.Path(path_type=Path),
              help="Query with a file: a text document or an image.")
@click.option("--image", type=click.Path(path_type=Path), help="Query with an image file.")
@click.option("--id", "item_id", help="Query with an item already in the index.")
@click.option("-k", default=10, show_default=True, type=click.IntRange(min=1),
              help="Number of neighbours.")
@click.option("--radius", type=click.IntRange(min=0),
              help="Return every item within this many bits instead of the k nearest.")
@click.option("--no-rerank", is_flag=True,
              help="Order the neighbours of a --text, --file or --image query by Hamming "
                   "distance alone. By default the 10 x k nearest by Hamming distance are "
                   "re-ranked by the query's code logits against their bits (an asymmetric "
                   "distance: a bit the model is unsure of counts less), and each keeps its "
                   "Hamming distance. --id and --radius queries are by Hamming distance.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {id, distance, labels, title}.")
@click.option("--grid", type=click.Path(path_type=Path),
              help="Image indexes: also draw the query and its neighbours into this PNG, "
                   "each captioned with its distance and label.")
@click.option("--gpu", is_flag=True,
              help="Run the k-NN scan of a flat index on a CUDA GPU (faiss-gpu where it "
                   "works on the GPU, else torch).")
def query(index_dir, text, file_, image, item_id, k, radius, no_rerank, as_json, grid, gpu):
    """Find the nearest neighbours of an example in the index at DIR."""
    from .retriever import Retriever
    given = [n for n, v in (("--text", text), ("--file", file_), ("--image", image),
                            ("--id", item_id)) if v is not None]
    if len(given) != 1:
        raise UsageError("give exactly one of --text, --file, --image or --id "
                         f"(got {', '.join(given) or 'none'})")
    # a query by id reads the stored codes, and a query by example runs the model's encoder
    # in numpy where it can (hashret.models.numpy_encoder): torch need not be imported
    r = Retriever.load(index_dir, gpu=gpu, with_model=False)
    if item_id is not None:
        if radius is not None:
            row = r.bundle.row_of(item_id)
            hits = r.range(r.bundle.codes[row:row + 1], radius)
        else:
            hits = r.query_id(item_id, k)
    else:
        holds = "images" if r.modality == "image" else "documents"
        if (image is not None and holds == "documents") or (text is not None
                                                           and holds == "images"):
            raise UsageError(f"{given[0]} does not fit the index at {index_dir}, which holds "
                             f"{holds}; query it with "
                             + ("--image, --file" if holds == "images" else "--text, --file")
                             + " or --id")
        example = text if text is not None else r.load_example(file_ or image)
        hits = r.range(example, radius) if radius is not None else \
            r.query(example, k, rerank=not no_rerank)
    if grid is not None:
        _query_grid(r, hits, grid, item_id, None if item_id is not None else example)
    if as_json:
        _echo_json([{"id": h.id, "distance": h.distance, "labels": h.labels,
                     "title": h.title} for h in hits])
    else:
        click.echo(_format_hits(hits))


def _eval_plot(res: dict, path: Path) -> None:
    from PIL import Image
    from .pictures import line_plot, save_png
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
    save_png(both, path)


def _query_grid(r, hits, path: Path, item_id, example) -> None:
    from .eval import reopen_corpus
    from .pictures import image_grid, save_png
    if r.modality != "image":
        raise UsageError("--grid draws images; this index holds documents")
    corpus = reopen_corpus(r.bundle)
    feat = r.bundle.featurizer          # an --id query has not loaded the model
    if item_id is not None:
        query_img = corpus.take([r.bundle.row_of(item_id)])[0]
    else:
        query_img = example
    images = [query_img] + list(corpus.take([h.row for h in hits]))
    pixels = feat.transform(images).transpose(0, 2, 3, 1)
    captions = ["query"] + [f"d={h.distance} [{','.join(h.labels)}]" for h in hits]
    save_png(image_grid(pixels, cols=min(len(images), 11), captions=captions), path)


@cli.command()
@click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.argument("inp", metavar="INPUT", type=click.Path(path_type=Path))
@click.argument("out", metavar="OUTPUT", type=click.Path(path_type=Path))
@click.option("--noise", metavar="KIND:LEVEL",
              help="First corrupt the input (for demonstrations): gaussian:SIGMA, mask:P or "
                   "saltpepper:P; documents: mask:P drops words.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the noise.")
def denoise(index_dir, inp, out, noise, seed):
    """Write the model's clean reconstructions of INPUT to OUTPUT.

    INPUT is an image file, a folder of images, a .npy array or an IDX file; OUTPUT is of
    the same kind (8-bit PNGs named after the inputs for a folder). For a document model,
    INPUT is a text file, and OUTPUT lists the reconstruction's top weighted terms; or a
    corpus of documents (a table, a folder or an archive), and OUTPUT holds one JSON line
    per document: its id, title and top terms."""
    from .applications import denoise as run_denoise
    from .bundle import Bundle
    bundle = Bundle.load(index_dir)
    summary = run_denoise(bundle.model, inp, out, noise=noise, seed=seed)
    click.echo(f"wrote {summary['items']:,} reconstruction(s) to {summary['output']}")


@cli.command()
@click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--sample", type=click.IntRange(min=1),
              help="Decode N codes drawn from the per-bit frequencies of the indexed codes.")
@click.option("--code", "hex_code", help="Decode this code (hex, as in the Parquet export).")
@click.option("--interpolate", nargs=2, metavar="ID1 ID2",
              help="Decode the codes along a Hamming path between two indexed items.")
@click.option("--steps", default=8, show_default=True, type=click.IntRange(min=2),
              help="Codes along the --interpolate path, end points included.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Image models: a PNG grid. Document models: .json, .jsonl or a text listing "
                   "of each decoded code's top terms.")
def generate(index_dir, sample, hex_code, interpolate, steps, seed, out):
    """Decode sampled codes, a given code, or the codes between two items."""
    from .applications import hamming_path, parse_code, sample_codes, write_generated
    from .bundle import Bundle
    given = [n for n, v in (("--sample", sample), ("--code", hex_code),
                            ("--interpolate", interpolate)) if v]
    if len(given) != 1:
        raise UsageError("give exactly one of --sample, --code or --interpolate "
                         f"(got {', '.join(given) or 'none'})")
    bundle = Bundle.load(index_dir)
    if sample:
        codes, captions = sample_codes(bundle.codes, sample, seed), None
    elif hex_code:
        codes, captions = parse_code(hex_code, bundle.bits), None
    else:
        a, b = (bundle.codes[bundle.row_of(i)] for i in interpolate)
        codes = hamming_path(a, b, steps, seed)
        dist = [int(np.unpackbits(c ^ a).sum()) for c in codes]
        captions = [f"+{d} bits" for d in dist]
    write_generated(bundle.model, codes, out, captions)
    click.echo(f"wrote {len(codes)} decoded code(s) to {out}")


@cli.command()
@click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.argument("out", metavar="OUT.parquet", type=click.Path(path_type=Path),
                callback=_parquet_out)
@click.option("--with-embeddings", is_flag=True,
              help="Add the continuous code before binarisation as 'embedding'.")
def export(index_dir, out, with_embeddings):
    """Write one Parquet row per indexed item: id, code, labels, split, title."""
    from .bundle import Bundle
    from .export import export_bundle
    bundle = Bundle.load(index_dir, with_model=False)   # the codes; a classifier if any
    export_bundle(bundle, out, with_embeddings)
    click.echo(f"wrote {len(bundle.items):,} rows to {out}")


@cli.command()
@click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.argument("corpus", type=click.Path(path_type=Path))
@click.argument("out", metavar="OUT.parquet", type=click.Path(path_type=Path),
                callback=_parquet_out)
@click.option("--with-embeddings", is_flag=True,
              help="Add the continuous code before binarisation as 'embedding'.")
@corpus_options
@click.pass_context
def encode(ctx, index_dir, corpus, out, with_embeddings, text_column, label_column,
           id_column):
    """Encode another CORPUS with the model at DIR into OUT (Parquet); the index is not
    changed."""
    from .bundle import Bundle
    from .data import read_corpus
    from .export import encode_corpus_to_parquet
    bundle = Bundle.load(index_dir)
    c = read_corpus(corpus, text_column, label_column, id_column)
    encode_corpus_to_parquet(bundle, c, out, with_embeddings, progress=not ctx.obj["quiet"])
    click.echo(f"wrote {len(c):,} rows to {out}")


@cli.command()
@click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.argument("corpus", type=click.Path(path_type=Path))
@corpus_options
@click.option("--json", "as_json", is_flag=True, help="Print the updated manifest as JSON.")
@click.pass_context
def add(ctx, index_dir, corpus, text_column, label_column, id_column, as_json):
    """Add the items of CORPUS (any layout build reads) to the index at DIR.

    The items are encoded by the index's model, which is not trained again: items already
    indexed keep their codes. Their ids must be new to the index; items a reader numbers
    by row (a table without --id-column or an 'id' column, an array, IDX or CIFAR file) are
    numbered on from the index's largest id. eval and check read the added corpora again
    with the first one. The index is replaced only when the whole update succeeds."""
    from .build import add_to_index
    from .bundle import Bundle
    from .data import read_corpus
    Bundle.read_manifest(index_dir)          # a wrong DIR is said before CORPUS is read
    c = read_corpus(corpus, text_column, label_column, id_column)
    bundle = add_to_index(index_dir, c, progress=not ctx.obj["quiet"])
    if as_json:
        _echo_json(bundle.manifest)
        return
    added = bundle.manifest["corpus"]["changes"][-1]["add"]
    ids = bundle.items.column("id").to_pylist()[-len(c):]
    taken = f"id {ids[0]}" if len(ids) == 1 else f"ids {ids[0]} to {ids[-1]}"
    click.echo(f"added {_count(len(c), 'item')} to {index_dir} (now {len(bundle.items):,}; "
               f"{taken}); encoded in {added['encode_seconds']:.1f} s")


@cli.command()
@click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.argument("ids", nargs=-1)
@click.option("--ids-file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="A text file of ids to remove, one per line.")
def remove(index_dir, ids, ids_file):
    """Remove the items with the given IDS from the index at DIR.

    The model and the other items' codes do not change. Every id must be in the index; if
    one is not, nothing is removed. The index is replaced only when the whole update
    succeeds."""
    from .build import remove_from_index
    from .bundle import Bundle
    ids = list(ids)
    if ids_file:
        ids += [line.strip() for line in ids_file.read_text().splitlines() if line.strip()]
    before = Bundle.read_manifest(index_dir)["counts"]["items"]
    bundle = remove_from_index(index_dir, ids)
    click.echo(f"removed {_count(before - len(bundle.items), 'item')} from {index_dir} (now "
               f"{len(bundle.items):,})")


@cli.command()
@click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.argument("out", metavar="OUT.parquet", type=click.Path(path_type=Path),
                callback=_parquet_out)
@click.option("--corpus", "corpus_path", type=click.Path(path_type=Path),
              help="Query with every item of this corpus (any layout build reads), encoded "
                   "by the index's model. Default: every indexed item queries the others.")
@click.option("-k", "k", default=10, show_default=True, type=click.IntRange(min=1),
              help="Neighbours per query.")
@click.option("--no-rerank", is_flag=True,
              help="With --corpus: order each query's neighbours by Hamming distance alone "
                   "instead of re-ranking its 10 x k nearest by its code logits (as hashret "
                   "query does).")
@corpus_options
@click.pass_context
def neighbours(ctx, index_dir, out, corpus_path, k, no_rerank, text_column, label_column,
               id_column):
    """Write the k nearest neighbours of many queries to OUT (Parquet).

    One row per query: query_id, neighbour_ids (nearest first, ties in index order) and
    distances (Hamming). Without --corpus every indexed item queries the others (itself
    left out): a k-nearest-neighbour graph of the index, e.g. to find near-duplicates.
    With --corpus each item is a query by example, re-ranked as hashret query re-ranks
    (--no-rerank: by Hamming distance)."""
    from .bundle import Bundle
    from .data import read_corpus
    from .export import neighbours_to_parquet
    # the graph of the indexed items needs only their codes, not the network
    bundle = Bundle.load(index_dir, with_model=corpus_path is not None)
    c = read_corpus(corpus_path, text_column, label_column, id_column) if corpus_path \
        else None
    neighbours_to_parquet(bundle, out, k, c, progress=not ctx.obj["quiet"],
                          rerank=not no_rerank)
    n = len(c) if c is not None else len(bundle.items)
    click.echo(f"wrote the neighbours of {n:,} {'query' if n == 1 else 'queries'} to {out}")


@cli.command(name="eval")
@click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option("-k", "--k", "k", default=100, show_default=True, type=click.IntRange(min=1),
              help="Precision is measured at this rank.")
@click.option("--queries", type=click.Choice(["auto", "test", "train"]), default="auto",
              show_default=True,
              help="test: every test item queries the training items. train: up to "
                   "--max-queries labelled training items each query all the others "
                   "(leave-one-out), for a corpus without a test split; the model saw "
                   "them, so this shows how well the codes group the corpus, not how they "
                   "generalise. auto: test when there is a test split, else train.")
@click.option("--max-queries", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Training items drawn (seeded) to query with --queries train.")
@click.option("--no-baselines", is_flag=True,
              help="Skip the LSH, PCA+ITQ and exact float baselines.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--plot", type=click.Path(path_type=Path),
              help="Draw precision@k for k up to 1,000 and the precision-recall curve of every "
                   "method into this PNG.")
def eval_(index_dir, k, queries, max_queries, no_baselines, as_json, plot):
    """Measure retrieval quality: test items query training items by Hamming distance
    (or, without a test split, training items query the others); relevant = shares a
    label. Reports precision@k and mAP@1000 for the index's codes and, from the same
    features, random-projection LSH, PCA+ITQ and exact float search."""
    from .bundle import Bundle
    from .eval import evaluate_bundle, reopen_corpus
    bundle = Bundle.load(index_dir)
    corpus = None if no_baselines else reopen_corpus(bundle)
    res = evaluate_bundle(bundle, corpus, k=k, baselines=not no_baselines,
                          curves=plot is not None, queries=queries, max_queries=max_queries)
    if plot is not None:
        _eval_plot(res, plot)
        del res["curves"]
    if as_json:
        _echo_json(res)
        return
    if res["leave_one_out"]:
        click.echo(f"{res['queries']:,} training items each query the other "
                   f"{res['database'] - 1:,} (leave-one-out; the model trained on them), "
                   f"{res['bits']} bits")
    else:
        click.echo(f"{res['queries']:,} test queries, {res['database']:,} training items, "
                   f"{res['bits']} bits")
    unlabelled = [f"{res[key]:,} {many if res[key] > 1 else one}" for key, one, many in
                  (("unlabelled_queries", "query", "queries"),
                   ("unlabelled_database", "database item", "database items")) if res[key]]
    if unlabelled:
        click.echo(f"without labels, relevant to nothing: {' and '.join(unlabelled)}")
    names = list(res["methods"])
    cols = [c for c in next(iter(res["methods"].values())) if c != "seconds"]
    width = max(len(n) for n in names) + 2
    click.echo("method".ljust(width) + "".join(c.rjust(15) for c in cols))
    for n in names:
        click.echo(n.ljust(width) + "".join(f"{res['methods'][n][c]:15.4f}" for c in cols))
    for note in res.get("notes", []):
        click.echo(f"note: {note}")


@cli.command()
@click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))
def check(index_dir):
    """Verify the index at DIR: every file's checksum, the item counts, and that the model
    still reproduces the stored codes for a sample of items. Prints OK (exit 0) or each
    problem (exit 1)."""
    from .check import check_bundle
    problems, notes = check_bundle(index_dir)
    for n in notes:
        click.echo(f"note: {n}")
    if problems:
        for p in problems:
            click.echo(f"problem: {p}")
        sys.exit(1)
    click.echo("OK")


@cli.command()
@click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@click.option("--verify", is_flag=True, help="Also check every file's SHA-256 checksum.")
def info(index_dir, as_json, verify):
    """Show the manifest of the index at DIR: sizes, bits, model, build metrics, versions."""
    from .bundle import Bundle
    bundle = Bundle.load(index_dir, verify=verify, with_model=False)
    m = bundle.manifest
    if as_json:
        _echo_json(m)
        return
    c, b = m["counts"], m.get("build", {})
    lines = [
        f"index       {index_dir}",
        f"format      {m['format']} v{m['format_version']}, created {m['created']}",
        f"codes       {m['n_bits']} bits ({m['n_bits'] // 8} bytes/item), bit order "
        f"{m['bit_order']}, bit = {m['model'].get('bits_from', 'logit > 0')}",
        f"model       {m['model']['kind']} ({m['model']['modality']}), "
        f"sha256 {m['model']['hash'][:16]}"
        + "".join(f", {k} {v}" for k, v in m["model"].get("options", {}).items()),
        f"features    {_describe_features(bundle.featurizer)}",
        f"index kind  {_describe_index(m['index'])}",
        f"items       {c['items']:,} (train {c['train']:,}, test {c['test']:,}, "
        f"labelled {c['labelled']:,}), ids {m['id_type']}",
        f"corpus      {m['corpus'].get('dataset') or m['corpus']['source']}"
        + "".join(f"; added {c['add']['source']} ({_count(c['add']['items'], 'item')})"
                  if "add" in c else f"; removed {_count(len(c['remove']), 'item')}"
                  for c in m["corpus"].get("changes", [])),
    ]
    if b:
        t = b.get("train", {})
        steps = f", {_count(t['steps'], 'step')}" if t.get("steps") else ""
        kept = t.get("kept_epoch") or t.get("best_epoch")
        # a document model stops by how its codes retrieve, not by the loss (an older index
        # records its score as "agreement", always retrieval agreement)
        a = t.get("scores") or t.get("agreement")
        if a:
            name = t.get("score_name") or "retrieval agreement"
            kept = f"{kept}; {name} {a[kept - 1]:.3f}, highest " \
                f"{max(a):.3f} at epoch {t.get('best_epoch')}"
        kept = f" (kept {kept})" if kept else ""        # a classic fit keeps its last step
        threads = f" ({t['threads']} threads)" if t.get("threads") and \
            t.get("device") == "cpu" else ""
        lines.append(f"training    {_count(t.get('epochs_run'), _pass_word(m['model']['kind']))}"
                     f"{steps}{kept} on "
                     f"{t.get('device')}{threads}, {b.get('fit_seconds')} s; "
                     + _describe_validation_loss(t.get('best_val_loss')))
        lines.append(f"encoding    {b.get('items_per_second_encode'):,} items/s")
    lines.append("versions    " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))
    size = sum(f["size"] for f in m["files"].values())
    lines.append(f"files       {len(m['files'])} files, {size / 1e6:.1f} MB"
                 + (", checksums verified" if verify else ""))
    for name, f in m["files"].items():
        lines.append(f"  {name:<20} {f['size']:>12,} B  {f['sha256'][:16]}")
    click.echo("\n".join(lines))


def _pass_word(model_kind: str) -> str:
    """What one pass of a model's training is called."""
    return "iteration" if model_kind in CLASSIC_MODEL_KINDS else "epoch"


def _count(n, word: str) -> str:
    """``n`` and ``word``, in the plural unless n is 1 ("1 item", "1,200 items")."""
    shown = f"{n:,}" if isinstance(n, int) else f"{n}"
    return f"{shown} {word}{'' if n == 1 else 's'}"


def _describe_validation_loss(loss) -> str:
    if isinstance(loss, (int, float)):
        return f"validation loss {loss:.4f}"
    return "no validation loss (too few items to hold some out, or a closed-form fit)"


def _describe_features(featurizer) -> str:
    """What an item becomes before the model reads it."""
    if featurizer.modality == "text":
        return (f"TF-IDF over {featurizer.n_features:,} terms, tokenizer version "
                f"{featurizer.tokenizer}")
    h, w, c = featurizer.shape
    return f"{h} x {w} pixels, {'grey' if c == 1 else 'RGB'}"


def _describe_index(ix: dict) -> str:
    text = ix["kind"] + (" (exact)" if ix.get("exact", ix["kind"] == "flat") else
                         " (approximate)")
    if ix.get("requested", ix["kind"]) != ix["kind"]:
        text += f", chosen by {ix['requested']}"
    if ix.get("params"):
        text += ", " + ", ".join(f"{k}={v}" for k, v in ix["params"].items())
    if "bytes_per_item" in ix:
        text += f"; {ix['bytes_per_item']} B/item on disk"
    return text


def main(argv=None) -> None:
    """Console entry point: run the CLI, turning errors into one line and an exit code."""
    try:
        rv = cli.main(args=argv, prog_name="hashret", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("hashret: interrupted", err=True)
        sys.exit(130)
    except click.UsageError as e:
        hint = f" (see 'hashret {e.ctx.info_name} --help')" if e.ctx and e.ctx.parent else \
            " (see 'hashret --help')"
        click.echo(f"hashret: error: {e.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as e:
        click.echo(f"hashret: error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except HashretError as e:
        click.echo(f"hashret: error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("hashret: interrupted", err=True)
        sys.exit(130)
    except MemoryError:
        click.echo("hashret: error: out of memory; use --limit or a smaller corpus", err=True)
        sys.exit(1)
    except OSError as e:
        click.echo(f"hashret: error: {e.strerror or e}"
                   + (f": {e.filename}" if getattr(e, "filename", None) else ""), err=True)
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
