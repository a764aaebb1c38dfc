"""Folders of images labelled by a table rather than by sub-folders, as many image sets are
published: ``labels.csv`` naming each image (by file name, name without suffix, or path)
beside a folder of the images, e.g. ``train.csv`` with columns ``id,breed`` and
``train/<id>.jpg``."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path, PurePosixPath

from ..errors import CorpusError, UsageError
from .corpus import IMAGE, Corpus, named_split
from .images import images_from_sources
from .tables import label_list, read_table_rows, table_file_split

log = logging.getLogger("hashret")

# A table names the images when at least this share of one column's values are image files.
MIN_MATCHED_SHARE = 0.5
LABEL_COLUMNS = ("label", "labels", "class", "category", "target")


def _image_keys(rels: list[PurePosixPath]) -> dict[str, int]:
    """What a table may call each image: its path, its path without suffix, its file name,
    its name without suffix; names two images share are left out."""
    keys: dict[str, set[int]] = {}
    for i, rel in enumerate(rels):
        for key in {str(rel), str(rel.with_suffix("")), rel.name, rel.stem}:
            keys.setdefault(key, set()).add(i)
    return {k: next(iter(v)) for k, v in keys.items() if len(v) == 1}


def _image_column(rows: list[dict], keys: dict[str, int]) -> str | None:
    """The column whose values name the most images, if they name enough."""
    best, best_share = None, 0.0
    for col in (c for c in rows[0] if isinstance(c, str)):
        named = sum(str(r.get(col)).strip().lstrip("./") in keys for r in rows)
        if named / len(rows) > best_share:
            best, best_share = col, named / len(rows)
    return best if best_share >= MIN_MATCHED_SHARE else None


def _label_column(columns: list[str], image_col: str, label_column: str | None,
                  table: Path) -> str | None:
    if label_column is not None:
        if label_column not in columns:
            raise UsageError(f"{table}: --label-column {label_column!r} is not a column; "
                             f"columns are {columns}")
        return label_column
    by_name = next((c for c in columns if c.lower() in LABEL_COLUMNS), None)
    if by_name:
        return by_name
    others = [c for c in columns if c != image_col and c.lower() not in ("split", "id")]
    return others[0] if len(others) == 1 else None       # "id,breed": the one other column


def read_image_table_folder(root: Path, images: list[Path], tables: list[Path],
                            label_column: str | None = None) -> Corpus | None:
    """The images of ``root`` named and labelled by its tables, split by them (a ``split``
    column, else the table's file name, ``test.csv`` being test); None when no table names
    and labels the images. Images no table names are left out (and counted in a log
    line)."""
    rels = [PurePosixPath(p.relative_to(root).as_posix()) for p in images]
    keys = _image_keys(rels)
    chosen: dict[int, tuple[str, list[str], str]] = {}
    used = []
    for table in tables:
        if "submission" in table.name.lower():   # a competition's answer template, not labels
            continue
        try:
            rows = read_table_rows(table)
        except CorpusError:
            continue                               # not a table of this folder's images
        if not rows:
            continue
        image_col = _image_column(rows, keys)
        if image_col is None:
            continue
        columns = [c for c in rows[0] if isinstance(c, str)]   # not a CSV row's extra fields
        label_col = _label_column(columns, image_col, label_column, table)
        if label_col is None:           # a listing of the files (sizes, sources), no labels:
            continue                    # the sub-folders label the images, if anything does
        file_split = table_file_split(table, root)
        for r in rows:
            i = keys.get(str(r.get(image_col)).strip().lstrip("./"))
            if i is None or i in chosen:
                continue
            chosen[i] = (str(rels[i]), label_list(r.get(label_col)),
                         named_split(str(r.get("split") or file_split)) or "train")
        used.append(f"{table.name} (images {image_col!r}, labels {label_col!r})")
    if not chosen:
        return None
    order = sorted(chosen, key=lambda i: (chosen[i][2] != "train", str(rels[i])))
    left_out = len(images) - len(order)
    log.info("images named by %s%s", ", ".join(used),
             f"; {left_out} image(s) no table names were left out" if left_out else "")
    ids = [chosen[i][0] for i in order]
    items = images_from_sources([images[i] for i in order], [str(images[i]) for i in order])
    splits = [chosen[i][2] for i in order]
    if Counter(splits).get("train", 0) == 0:
        raise CorpusError(f"{root}: its tables put every image in the test split; name the "
                          "training images in a table too (train.csv)")
    return Corpus(IMAGE, ids, items, [chosen[i][1] for i in order], splits, list(ids),
                  str(root), {"shape": items.shape[1:]})
