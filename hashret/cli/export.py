"""``export`` and ``encode``: codes as Parquet features."""

from __future__ import annotations

from pathlib import Path

import click

from .app import cli
from .options import corpus_options, index_dir_argument, parquet_out

_EMBEDDINGS = "Add the continuous code before binarisation as 'embedding'."


@cli.command()
@index_dir_argument
@click.argument("out", metavar="OUT.parquet", type=click.Path(path_type=Path),
                callback=parquet_out)
@click.option("--with-embeddings", is_flag=True, help=_EMBEDDINGS)
def export(index_dir, out, with_embeddings):
    """Write one Parquet row per indexed item: id, code, labels, split, title."""
    from ..export import export_index
    n = export_index(index_dir, out, with_embeddings)
    click.echo(f"wrote {n:,} rows to {out}")


@cli.command()
@index_dir_argument
@click.argument("corpus", type=click.Path(path_type=Path))
@click.argument("out", metavar="OUT.parquet", type=click.Path(path_type=Path),
                callback=parquet_out)
@click.option("--with-embeddings", is_flag=True, help=_EMBEDDINGS)
@corpus_options
@click.pass_context
def encode(ctx, index_dir, corpus, out, with_embeddings, columns):
    """Encode another CORPUS with the model at DIR into OUT (Parquet); the index is not
    changed."""
    from ..export import encode_to_parquet
    n = encode_to_parquet(index_dir, corpus, out, with_embeddings, columns,
                          progress=not ctx.obj["quiet"])
    click.echo(f"wrote {n:,} rows to {out}")
