"""``build``, ``add`` and ``remove``: make an index and change its items."""

from __future__ import annotations

from pathlib import Path

import click

from .. import defaults
from ..models.config import MODEL_KINDS
from ..search.index import INDEX_KINDS
from .app import cli
from .format import build_lines, count, echo_json
from .options import corpus_options, index_dir_argument, index_params, spark_master_option


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
                   "sparse (sparse overcomplete coding), colorize (colour images: codes of their "
                   "grey versions, decoded into colours by hashret colorize).")
@click.option("--noise", metavar="KIND:LEVEL",
              help="Corruption for --model denoising: gaussian:SIGMA, mask:P or saltpepper:P "
                   "(documents: mask:P drops words). Default gaussian:0.3 for images, mask:0.3 "
                   "for documents, gaussian:0.5 for vectors.")
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
@click.option("--index-param", "index_param", multiple=True, metavar="NAME=VALUE",
              help="Index parameter, repeatable: mih substrings; hnsw M, ef_search, "
                   "ef_construction; ivf nlist, nprobe.")
@click.option("--shards", type=click.IntRange(min=1),
              help="Split the index into N shards of contiguous rows, searched in turn and "
                   "answering as one index (the same hits, in the same order). "
                   "Default 1; with --spark, Spark's default parallelism.")
@click.option("--spark", is_flag=True,
              help="Build on Apache Spark (pip install \"hashret[spark]\", and Java 17 or "
                   "later): CORPUS is Parquet, JSON lines or CSV, a file or a folder of them, "
                   "with an id column; the model trains on the driver on --sample rows, the "
                   "executors encode every row, and the index is written in shards. The index "
                   "keeps no embeddings.")
@spark_master_option
@click.option("--sample", type=click.IntRange(min=1),
              help="With --spark: rows drawn at random for training (default 100,000).")
@click.option("--no-verify-on-open", is_flag=True,
              help="Record that opening the index checks its files' sizes and the index "
                   "file, not every file's SHA-256 checksum: for an index too large to hash "
                   "at every open. hashret info shows it; hashret check still verifies all.")
@click.option("--features", type=click.Choice(["tfidf", "minilm", "tfidf+minilm"]),
              help="Documents: what the model reads. tfidf (default): TF-IDF; minilm: the "
                   "all-MiniLM-L6-v2 sentence encoder's vectors (long documents in windows, "
                   "mean-pooled; pip install \"hashret[minilm]\", read offline); "
                   "tfidf+minilm: TF-IDF, its neighbours found with the encoder's vectors too "
                   "(queries then need no encoder).")
@click.option("--text-encoder", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="With --features minilm or tfidf+minilm: a local sentence-transformers "
                   "model folder to use instead of the packaged MiniLM (the index keeps its "
                   "path and needs it for queries).")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@corpus_options
@click.pass_context
def build(ctx, corpus, dataset, out, bits, model_kind, noise, labels_fraction, mirror, rotation,
          epochs, device, seed, limit, index_kind, index_param, shards, spark, spark_master,
          sample, no_verify_on_open, features, text_encoder, as_json, columns):
    """Train a model on CORPUS and index every item.

    CORPUS is a folder (text files or images, one sub-folder per label, under train/ and
    test/ when split; IDX train-*/t10k-* files; Reuters reut2-*.sgm files; CIFAR-10/100
    binary or python batches; STL-10's binary files; .mat files; .jsonl, .csv, .tsv,
    .parquet or .arrow tables split by file name, as train.csv and test.csv or a Hugging
    Face dataset's parquet or save_to_disk files, of documents or of images), such a
    folder as a .tar.gz, .tgz, .tar or .zip archive (read without unpacking; Reuters',
    CIFAR's and STL-10's distributions too), one such table or .json file, a .txt file of
    one document per line (fastText __label__ prefixes as labels; label TAB text lines as
    a table), a Reuters .sgm, a .npy, .npz or .mat image array (channels last or first) or
    an IDX file; or vectors (embeddings): a 2-D .npy or .npz array, an .fvecs file, or a
    table's column of number lists (--embedding-column). docs/FORMATS.md lists every
    layout. Without CORPUS, --dataset (default
    reuters) picks an embedded corpus. The model trains on the training split when the
    corpus has one; the index holds all items.
    """
    from ..build import check_build
    options = {k: v for k, v in (("noise", noise), ("labels_fraction", labels_fraction),
                                 ("mirror", mirror), ("rotation", rotation)) if v is not None}
    params = index_params(index_param)
    check_build(out, bits, model_kind, options, index_kind, params, features)   # before reading
    quiet = ctx.obj["quiet"]
    if spark:
        bundle = _build_on_spark(corpus, out, bits, model_kind, options, epochs, device, seed,
                                 index_kind, params, shards, spark_master, sample, limit,
                                 dataset, features, columns, quiet)
    else:
        if sample is not None:
            raise click.UsageError("--sample goes with --spark; on one machine --limit N "
                                   "samples the corpus")
        bundle = _build_here(corpus, dataset, out, bits, model_kind, options, epochs, device,
                             seed, limit, index_kind, params, shards or 1, no_verify_on_open,
                             features, text_encoder, columns, quiet)
    if as_json:
        echo_json(bundle.manifest)
        return
    click.echo("\n".join(build_lines(out, bundle.summary())))


def _build_on_spark(corpus, out, bits, model_kind, options, epochs, device, seed, index_kind,
                    params, shards, spark_master, sample, limit, dataset, features, columns,
                    quiet):
    from ..spark.build import SAMPLE, build_index
    from ..spark.encode import session
    if corpus is None or dataset or limit or features:
        given = "--dataset" if dataset else "--limit" if limit else \
            "--features" if features else "no CORPUS"
        raise click.UsageError(f"--spark builds from a CORPUS of Parquet, JSON lines or CSV "
                               f"files and reads no {given}")
    if not quiet:
        click.echo(f"building a {bits}-bit {model_kind} index of {corpus} on Spark "
                   f"({spark_master})", err=True)
    return build_index(session(spark_master, progress=not quiet), corpus, out, bits=bits,
                       model=model_kind, sample=sample or SAMPLE, shards=shards,
                       epochs=epochs, seed=seed, device=device, model_options=options,
                       index_kind=index_kind, index_params=params, progress=not quiet,
                       **columns)


def _build_here(corpus, dataset, out, bits, model_kind, options, epochs, device, seed, limit,
                index_kind, params, shards, no_verify_on_open, features, text_encoder,
                columns, quiet):
    from ..build import build_index
    from ..sources import read_source
    c = read_source(corpus, dataset, columns, limit, seed)
    if not quiet:
        click.echo(f"read {count(len(c), c.modality + ' item')} from {c.source}; training a "
                   f"{bits}-bit {model_kind} model", err=True)
    return build_index(c, out, bits=bits, model=model_kind, epochs=epochs, device=device,
                       seed=seed, index_kind=index_kind, index_params=params,
                       model_options=options, progress=not quiet,
                       verify_on_open=not no_verify_on_open, features=features,
                       text_encoder=text_encoder, shards=shards)


@cli.command()
@index_dir_argument
@click.argument("corpus", type=click.Path(path_type=Path))
@corpus_options
@click.option("--json", "as_json", is_flag=True, help="Print the updated manifest as JSON.")
@click.pass_context
def add(ctx, index_dir, corpus, as_json, columns):
    """Add the items of CORPUS (any layout build reads) to the index at DIR.

    The items are encoded by the index's model, which is not trained again: items already
    indexed keep their codes. Their ids must be new to the index; items a reader numbers
    by row (a table without --id-column or an 'id' column, an array, IDX or CIFAR file) are
    numbered on from the index's largest id. eval and check read the added corpora again
    with the first one. The index is replaced only when the whole update succeeds."""
    from ..build import add_corpus
    bundle, ids = add_corpus(index_dir, corpus, columns, progress=not ctx.obj["quiet"])
    if as_json:
        echo_json(bundle.manifest)
        return
    s = bundle.summary()
    taken = f"id {ids[0]}" if len(ids) == 1 else f"ids {ids[0]} to {ids[-1]}"
    click.echo(f"added {count(len(ids), 'item')} to {index_dir} (now {s.counts['items']:,}; "
               f"{taken}); encoded in {s.last_added['encode_seconds']:.1f} s")


@cli.command()
@index_dir_argument
@click.argument("ids", nargs=-1)
@click.option("--ids-file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="A text file of ids to remove, one per line.")
def remove(index_dir, ids, ids_file):
    """Remove the items with the given IDS from the index at DIR.

    The model and the other items' codes do not change. Every id must be in the index; if
    one is not, nothing is removed. The index is replaced only when the whole update
    succeeds."""
    from ..build import remove_from_index
    ids = list(ids)
    if ids_file:
        ids += [line.strip() for line in ids_file.read_text().splitlines() if line.strip()]
    bundle = remove_from_index(index_dir, ids)
    removed = len(dict.fromkeys(ids))          # every id was in the index, or none went
    click.echo(f"removed {count(removed, 'item')} from {index_dir} (now "
               f"{len(bundle.items):,})")
