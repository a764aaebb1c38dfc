"""Images labelled by a table rather than by sub-folders, as many image sets are published:
``labels.csv`` naming each image (by file name, name without suffix, or path) beside a folder
of the images, e.g. ``train.csv`` with columns ``id,breed`` and ``train/<id>.jpg``; or
tables that hold the images themselves, as the Hugging Face Hub publishes every image set
(``plain_text/train-00000-of-00001.parquet`` with an ``img`` column of ``{bytes, path}``
and a ``label`` column, the class names in the dataset card's ``README.md``)."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path, PurePosixPath

from ..errors import CorpusError, UsageError
from .corpus import IMAGE, Corpus, below_wrappers, labelled_layout
from .images import images_from_sources
from .tables import (check_columns, class_names, label_list, named_classes,
                     read_table_rows, row_ids, row_split, table_file_split)

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


def _class_column(rows: list[dict], columns: list[str], image_col: str) -> str | None:
    """In a table without a header row (columns numbered), the first column after the
    image's whose values are words, not numbers, repeated as classes are (Tiny ImageNet's
    ``val_annotations.txt``: file, class id, box)."""
    sample = rows[:2_000]
    for col in columns:
        values = [str(r.get(col) or "").strip() for r in sample]
        if col != image_col and all(v and " " not in v and not v.lstrip("-").replace(".", "")
                                    .isdigit() for v in values) and \
                len(set(values)) <= max(2, len(sample) // 4):
            return col
    return None


def _label_column(columns: list[str], image_col: str, label_column: str | None,
                  table: Path) -> str | None:
    if label_column is not None:
        if label_column not in columns:
            raise UsageError(f"{table}: {{label_column:{label_column}}} is not a column; "
                             f"columns are {columns}", option="label_column")
        return label_column
    by_name = next((c for c in columns if c.lower() in LABEL_COLUMNS), None)
    if by_name:
        return by_name
    # CIFAR-100 on the Hub: fine_label and coarse_label; the finer one
    named = sorted((c for c in columns if c.lower().endswith(("_label", "_labels"))),
                   key=lambda c: not c.lower().startswith("fine"))
    if named:
        return named[0]
    others = [c for c in columns if c != image_col and c.lower() not in ("split", "id")]
    return others[0] if len(others) == 1 else None       # "id,breed": the one other column


def read_image_table_folder(root: Path, images: list[Path], tables: list[Path],
                            label_column: str | None = None) -> Corpus | None:
    """The images of ``root`` named and labelled by its tables, split by them (a ``split``
    column, else the table's file name, ``test.csv`` being test); None when no table names
    and labels the images. Images no table names keep their sub-folder's label and split
    when they have one (:func:`labelled_layout`); the others are left out (and counted in a
    log line)."""
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
        if label_col is None and label_column is None and \
                columns == [str(i + 1) for i in range(len(columns))]:
            label_col = _class_column(rows, columns, image_col)
        if label_col is None:           # a listing of the files (sizes, sources), no labels:
            continue                    # the sub-folders label the images, if anything does
        file_split = table_file_split(table, root)
        for r in rows:
            i = keys.get(str(r.get(image_col)).strip().lstrip("./"))
            if i is None or i in chosen:
                continue
            chosen[i] = (str(rels[i]), label_list(r.get(label_col)), row_split(r, file_split))
        used.append(f"{table.name} (images {image_col!r}, labels {label_col!r})")
    if not chosen:
        return None
    # images no table names keep the label of the sub-folder they are in, if any (Tiny
    # ImageNet: train/<class>/images/*.JPEG beside val/images labelled by a table)
    for i, rel_id, labels, split in labelled_layout(below_wrappers([r.parts for r in rels])):
        if i not in chosen and labels:
            chosen[i] = (str(rels[i]), labels, split)
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


# --- tables that hold the images ----------------------------------------------------------

_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF", b"II*\x00",
                b"MM\x00*", b"P5", b"P6")


def _image_bytes(value) -> bytes | None:
    """The encoded image a table cell holds: the Hub's ``{"bytes": ..., "path": ...}`` or
    the file's bytes themselves."""
    if isinstance(value, dict):
        value = value.get("bytes")
    return value if isinstance(value, bytes) and value.startswith(_IMAGE_MAGIC) else None


def embedded_image_column(rows: list[dict]) -> str | None:
    """The column whose cells hold encoded images, judged by the first rows, or None."""
    for col in rows[0]:
        cells = [r.get(col) for r in rows[:5] if r.get(col) is not None]
        if cells and all(_image_bytes(c) is not None for c in cells):
            return col
    return None


def embedded_images_corpus(rows: list[dict], source: str, image_col: str,
                           label_column: str | None, id_column: str | None,
                           file_splits: list[str] | None, folder: Path | None) -> Corpus:
    """A table of encoded images (see :func:`embedded_image_column`), one per row: labels from
    ``label_column`` or a label-named column (class numbers named by the dataset card when
    there is one), splits from a ``split`` column or the tables' file names."""
    columns = [c for c in rows[0] if isinstance(c, str)]
    label_col = _label_column(columns, image_col, label_column, Path(source))
    check_columns(source, columns, id_column=[id_column])
    classes = class_names(folder).get(label_col, []) if label_col else []
    sources, titles, labels, splits = [], [], [], []
    for i, r in enumerate(rows):
        encoded = _image_bytes(r.get(image_col))
        if encoded is None:
            raise CorpusError(f"{source}: row {i} of column {image_col!r} holds no image "
                              "(PNG, JPEG, GIF, BMP, WebP, TIFF or Netpbm bytes)")
        sources.append(encoded)
        cell = r.get(image_col)
        path = cell.get("path") if isinstance(cell, dict) else None
        titles.append(str(path) if path else f"row {i}")
        labels.append(named_classes(label_list(r.get(label_col)), classes)
                      if label_col else [])
        splits.append(row_split(r, file_splits[i] if file_splits else "train"))
    ids, id_meta = row_ids(rows, columns, id_column, source)
    items = images_from_sources(sources, [f"{source}: row {i}" for i in range(len(rows))])
    log.info("%s: images in column %r%s", source, image_col,
             f", labels in {label_col!r}" if label_col else "")
    return Corpus(IMAGE, ids, items, labels, splits, titles, source,
                  {"shape": items.shape[1:], **id_meta})
