"""The command group, logging to stderr, and the entry point that turns errors into one line
and an exit code."""

from __future__ import annotations

import logging
import sys

import click

from ..errors import HashretError
from .options import spell_flag, spell_message

log = logging.getLogger("hashret")


class _OneLine(logging.Formatter):
    def format(self, record):
        return f"hashret: {record.levelname.lower()}: {spell_message(record.getMessage())}"


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    log.handlers[:] = [handler]
    log.setLevel(logging.ERROR if quiet else logging.INFO)
    log.propagate = False


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
        click.echo(f"hashret: error: {e.render(spell_flag)}", err=True)
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

