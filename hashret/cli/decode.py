"""``denoise``, ``colorize`` and ``generate``: what the decoder serves besides search."""

from __future__ import annotations

from pathlib import Path

import click

from .app import cli
from .options import index_dir_argument


@cli.command()
@index_dir_argument
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
    from ..applications import denoise_with_index
    summary = denoise_with_index(index_dir, inp, out, noise=noise, seed=seed)
    click.echo(f"wrote {summary['items']:,} reconstruction(s) to {summary['output']}")


@cli.command()
@index_dir_argument
@click.argument("inp", metavar="INPUT", type=click.Path(path_type=Path))
@click.argument("out", metavar="OUTPUT", type=click.Path(path_type=Path))
def colorize(index_dir, inp, out):
    """Write colour versions of the grey images of INPUT to OUTPUT, with an index built by
    --model colorize.

    INPUT is a grey (or colour, whose colours are ignored) image file, a folder of images, a
    .npy array or an IDX file; OUTPUT is of the same kind: PNGs named after the inputs for a
    folder, an (n, h, w, 3) array for an array. Each output keeps its input's lightness (at
    the model's image size); the colours come from the input's code and its lightness."""
    from ..colorize import colorize_with_index
    summary = colorize_with_index(index_dir, inp, out)
    click.echo(f"wrote {summary['items']:,} colour image(s) to {summary['output']}")


@cli.command()
@index_dir_argument
@click.option("--sample", type=click.IntRange(min=1),
              help="Decode N codes drawn from the per-bit frequencies of the indexed codes.")
@click.option("--code", "hex_code", help="Decode this code (hex, as in the Parquet export).")
@click.option("--interpolate", nargs=2, metavar="ID1 ID2",
              help="Decode the codes along a Hamming path between two indexed items.")
@click.option("--prompt", help="Decode codes for words: image indexes draw --sample N "
              "codes (default 8) from the per-bit frequencies of the items whose label (or "
              "title) the words name, e.g. --prompt \"ankle boot\"; document indexes decode "
              "the prompt's own code into top terms.")
@click.option("--steps", default=8, show_default=True, type=click.IntRange(min=2),
              help="Codes along the --interpolate path, end points included.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Image models: a PNG grid. Document models: .json, .jsonl or a text listing "
                   "of each decoded code's top terms.")
def generate(index_dir, sample, hex_code, interpolate, prompt, steps, seed, out):
    """Decode sampled codes, a given code, the codes between two items, or codes for a
    prompt."""
    from ..applications import generate_from_index
    n = generate_from_index(index_dir, out, sample=sample, code=hex_code,
                            interpolate=interpolate, steps=steps, seed=seed, prompt=prompt)
    click.echo(f"wrote {n} decoded code(s) to {out}")
