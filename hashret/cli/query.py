"""``query`` and ``neighbours``: nearest neighbours of one example, or of many into
Parquet."""

from __future__ import annotations

from pathlib import Path

import click

from .app import cli
from .format import echo_json, hits_json, hits_table
from .options import corpus_options, index_dir_argument, parquet_out


@cli.command()
@index_dir_argument
@click.option("--text", help="Query with this text (document indexes).")
@click.option("--file", "file_", type=click.Path(path_type=Path),
              help="Query with a file: a text document or an image.")
@click.option("--image", type=click.Path(path_type=Path), help="Query with an image file.")
@click.option("--vector", type=click.Path(path_type=Path),
              help="Query with a vector (vector indexes): a .npy file of one row, a JSON "
                   "list, or a text file of numbers.")
@click.option("--id", "item_id", help="Query with an item already in the index.")
@click.option("-k", default=10, show_default=True, type=click.IntRange(min=1),
              help="Number of neighbours.")
@click.option("--radius", type=click.IntRange(min=0),
              help="Return every item within this many bits instead of the k nearest.")
@click.option("--no-rerank", is_flag=True,
              help="Order the neighbours of a --text, --file, --image or --vector query by "
                   "Hamming "
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
def query(index_dir, text, file_, image, vector, item_id, k, radius, no_rerank, as_json, grid,
          gpu):
    """Find the nearest neighbours of an example in the index at DIR."""
    from ..retriever import Retriever
    # a query by id reads the stored codes, and a query by example runs the model's encoder
    # in numpy where it can (hashret.models.numpy_encoder): torch need not be imported
    r = Retriever.load(index_dir, gpu=gpu, with_model=False)
    hits, example = r.query_by(text=text, file=file_, image=image, vector=vector,
                               item_id=item_id, k=k, radius=radius, rerank=not no_rerank)
    if grid is not None:
        from ..pictures import query_grid
        query_grid(r, hits, grid, item_id, example)
    if as_json:
        echo_json(hits_json(hits))
    else:
        click.echo(hits_table(hits))


@cli.command()
@index_dir_argument
@click.argument("out", metavar="OUT.parquet", type=click.Path(path_type=Path),
                callback=parquet_out)
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
def neighbours(ctx, index_dir, out, corpus_path, k, no_rerank, columns):
    """Write the k nearest neighbours of many queries to OUT (Parquet).

    One row per query: query_id, neighbour_ids (nearest first, ties in index order) and
    distances (Hamming). Without --corpus every indexed item queries the others (itself
    left out): a k-nearest-neighbour graph of the index, e.g. to find near-duplicates.
    With --corpus each item is a query by example, re-ranked as hashret query re-ranks
    (--no-rerank: by Hamming distance)."""
    from ..export import neighbours_of_index
    n = neighbours_of_index(index_dir, out, k, corpus_path, columns, rerank=not no_rerank,
                            progress=not ctx.obj["quiet"])
    click.echo(f"wrote the neighbours of {n:,} {'query' if n == 1 else 'queries'} to {out}")
