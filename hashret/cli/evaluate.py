"""``eval``: retrieval quality against baselines."""

from __future__ import annotations

from pathlib import Path

import click

from .app import cli
from .format import echo_json, health_lines
from .options import index_dir_argument


@cli.command(name="eval")
@index_dir_argument
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
    from ..eval import evaluate_index
    res = evaluate_index(index_dir, k=k, baselines=not no_baselines, queries=queries,
                         max_queries=max_queries, plot=plot)
    if as_json:
        echo_json(res)
        return
    click.echo("\n".join(result_lines(res)))


def result_lines(res: dict) -> list[str]:
    if res["leave_one_out"]:
        lines = [f"{res['queries']:,} training items each query the other "
                 f"{res['database'] - 1:,} (leave-one-out; the model trained on them), "
                 f"{res['bits']} bits"]
    else:
        lines = [f"{res['queries']:,} test queries, {res['database']:,} training items, "
                 f"{res['bits']} bits"]
    unlabelled = [f"{res[key]:,} {many if res[key] > 1 else one}" for key, one, many in
                  (("unlabelled_queries", "query", "queries"),
                   ("unlabelled_database", "database item", "database items")) if res[key]]
    if unlabelled:
        lines.append(f"without labels, relevant to nothing: {' and '.join(unlabelled)}")
    names = list(res["methods"])
    cols = [c for c in next(iter(res["methods"].values())) if c != "seconds"]
    width = max(len(n) for n in names) + 2
    lines.append("method".ljust(width) + "".join(c.rjust(15) for c in cols))
    for n in names:
        lines.append(n.ljust(width) + "".join(f"{res['methods'][n][c]:15.4f}" for c in cols))
    if "colour" in res:
        c = res["colour"]
        lines.append(f"colours of {c['images']:,} {c['images_from']} images from their grey "
                     f"versions, mean ΔE per pixel (CIE76; lower is better): model "
                     f"{c['model']:.2f}, each pixel's mean training chroma "
                     f"{c['mean-chroma']:.2f}, grey copied {c['grey-copy']:.2f}")
    lines += health_lines(res["health"]) if "health" in res else []
    lines += [f"warning: {w}" for w in res.get("health_warnings", [])]
    lines += [f"note: {note}" for note in res.get("notes", [])]
    return lines
