"""How the command line spells the library's options, and the options several commands
share."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from ..errors import HashretError, UsageError

# library option -> flag, where the flag is not the option's name with dashes
_FLAGS = {"item_id": "--id", "index": "--index", "index_params": "--index-param"}
# options whose flag depends on the value named: (option, value) -> flag
_VALUE_FLAGS = {("baselines", "False"): "--no-baselines", ("rerank", "False"): "--no-rerank"}


def spell_flag(name: str, value: str | None) -> str:
    """A library option as its flag: ``epochs`` -> ``--epochs``, ``model='semi'`` ->
    ``--model semi``."""
    if (name, value) in _VALUE_FLAGS:
        return _VALUE_FLAGS[name, value]
    flag = _FLAGS.get(name, "--" + name.replace("_", "-"))
    return flag if value is None else f"{flag} {value}"


def spell_message(message: str) -> str:
    """A library message (a log line) with its option placeholders spelt as flags."""
    return HashretError(message).render(spell_flag)


def parquet_out(ctx, param, value):
    """OUT of export, encode and neighbours, checked before any work is done."""
    from ..export import parquet_path
    return parquet_path(value)


COLUMN_OPTIONS = ("text_column", "label_column", "id_column", "embedding_column")


def corpus_options(f):
    """Reader options shared by ``build``, ``add``, ``encode`` and ``neighbours``, passed
    to the command as one ``columns`` dict of those given."""
    run = f

    @functools.wraps(run)
    def command(*args, **kwargs):
        kwargs["columns"] = {k: v for k in COLUMN_OPTIONS
                             if (v := kwargs.pop(k)) is not None}
        return run(*args, **kwargs)

    f = click.option("--embedding-column", help="Table corpora: the column holding "
                     "embeddings, one list of numbers a row: the items are then vectors "
                     "(default: a column named 'embedding', 'vector' or 'emb' whose values "
                     "are number lists, when no --text-column is given).")(command)
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


def spark_master_option(f):
    """``--spark-master``, shared by the commands that run on Spark."""
    return click.option("--spark-master", default="local[*]", show_default=True,
                        help="With --spark: local[N] runs N cores of this machine; a cluster's "
                             "URL (spark://HOST:7077, yarn, k8s://...) runs there.")(f)


def index_dir_argument(f):
    return click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))(f)


def index_params(pairs) -> dict:
    """``--index-param NAME=VALUE`` pairs as a dict of positive integers."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not value.strip().isdigit():
            raise UsageError(f"{{index_params}} {pair!r}: write NAME=VALUE with a positive "
                             "integer value, e.g. nprobe=32", option="index_params")
        out[name.strip()] = int(value)
    return out
