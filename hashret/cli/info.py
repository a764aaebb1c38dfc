"""``info`` and ``check``: what an index is, and whether it is whole."""

from __future__ import annotations

import sys

import click

from .app import cli
from .format import echo_json, info_lines
from .options import index_dir_argument


@cli.command()
@index_dir_argument
def check(index_dir):
    """Verify the index at DIR: every file's checksum, the item counts, and that the model
    still reproduces the stored codes for a sample of items. Prints OK (exit 0) or each
    problem (exit 1)."""
    from ..check import check_bundle
    problems, notes = check_bundle(index_dir)
    for n in notes:
        click.echo(f"note: {n}")
    if problems:
        for p in problems:
            click.echo(f"problem: {p}")
        sys.exit(1)
    click.echo("OK")


@cli.command()
@index_dir_argument
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@click.option("--verify", is_flag=True,
              help="Check every file's SHA-256 checksum even if the index was built not to "
                   "be checked on every open (--no-verify-on-open).")
def info(index_dir, as_json, verify):
    """Show the manifest of the index at DIR: sizes, bits, model, build metrics, code
    health, versions."""
    from ..bundle import Bundle
    bundle = Bundle.load(index_dir, verify=True if verify else None, with_model=False)
    summary = bundle.summary()
    if as_json:
        echo_json({**bundle.manifest, "health": summary.health,
                   "health_warnings": summary.health_warnings, "verified": summary.verified})
        return
    click.echo("\n".join(info_lines(index_dir, summary)))
