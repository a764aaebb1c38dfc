"""``export`` and ``encode``: codes as Parquet features."""

from __future__ import annotations

from pathlib import Path

import click

from .app import cli
from .options import corpus_options, index_dir_argument, parquet_out, spark_master_option

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
@click.option("--spark", is_flag=True,
              help="Encode on Apache Spark (pip install \"hashret[spark]\", and Java 17 or "
                   "later): CORPUS is Parquet, JSON lines or CSV, a file or a folder of them "
                   "(images: a column of encoded image bytes); OUT becomes a folder of "
                   "Parquet parts of id, code and --with-embeddings' embedding.")
@spark_master_option
@click.option("--image-column", help="With --spark: the column of encoded image bytes "
              "(default: 'image', or the only binary column).")
@corpus_options
@click.pass_context
def encode(ctx, index_dir, corpus, out, with_embeddings, spark, spark_master, image_column,
           columns):
    """Encode another CORPUS with the model at DIR into OUT (Parquet); the index is not
    changed."""
    quiet = ctx.obj["quiet"]
    if spark:
        from ..spark.encode import encode_files, session
        if "label_column" in columns:
            raise click.UsageError("--spark writes no labels: leave out --label-column")
        n = encode_files(session(spark_master, progress=not quiet), index_dir, corpus, out,
                         image_column=image_column, with_embeddings=with_embeddings,
                         **columns)
        click.echo(f"wrote {n:,} rows to {out} (Parquet parts)")
        return
    if image_column:
        raise click.UsageError("--image-column goes with --spark; without it a table's "
                               "column of image bytes is found by its contents")
    from ..export import encode_to_parquet
    n = encode_to_parquet(index_dir, corpus, out, with_embeddings, columns,
                          progress=not quiet)
    click.echo(f"wrote {n:,} rows to {out}")
