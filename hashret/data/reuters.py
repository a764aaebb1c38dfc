"""Reuters-21578 (Distribution 1.0) with the ModApte split: its ``.tar.gz``, a
``reut2-*.sgm`` file or a folder of them."""

from __future__ import annotations

import html
import re
import tarfile
import zlib
from pathlib import Path

from ..errors import CorpusError
from .corpus import SPLITS, TEXT, Corpus


_DOC = re.compile(rb"<REUTERS(?P<attrs>[^>]*)>(?P<body>.*?)</REUTERS>", re.S)
_ATTR = re.compile(rb'(\w+)="([^"]*)"')
_TOPICS = re.compile(rb"<TOPICS>(.*?)</TOPICS>", re.S)
_D = re.compile(rb"<D>(.*?)</D>", re.S)
_TITLE = re.compile(rb"<TITLE>(.*?)</TITLE>", re.S)
_BODY = re.compile(rb"<BODY>(.*?)</BODY>", re.S)


def _clean(raw: bytes) -> str:
    text = raw.decode("latin-1")
    text = re.sub(r"&#\d+;", " ", text)          # control characters the SGML escapes
    return html.unescape(text).strip()


def parse_reuters_sgml(data: bytes, docs: list) -> None:
    """Append the ModApte documents of one ``reut2-*.sgm`` file to ``docs``.

    ModApte: ``TOPICS="YES"``, ``LEWISSPLIT`` TRAIN or TEST, at least one topic;
    text = TITLE + BODY. Over the 22 files this gives 7,775 train and 3,019 test documents.
    """
    for m in _DOC.finditer(data):
        attrs = dict(_ATTR.findall(m.group("attrs")))
        split = attrs.get(b"LEWISSPLIT", b"").decode("latin-1").lower()
        if attrs.get(b"TOPICS") != b"YES" or split not in SPLITS:
            continue
        body = m.group("body")
        topics_m = _TOPICS.search(body)
        topics = [_clean(t) for t in _D.findall(topics_m.group(1))] if topics_m else []
        if not topics:
            continue
        title = _TITLE.search(body)
        text = _BODY.search(body)
        title = _clean(title.group(1)) if title else ""
        try:
            newid = int(attrs[b"NEWID"])
        except (KeyError, ValueError):
            raise CorpusError(f"Reuters document without a numeric NEWID (near byte "
                              f"{m.start()}); the SGML file is damaged") from None
        docs.append((newid, title, title + "\n" + (_clean(text.group(1))
                                                                   if text else ""),
                     topics, split))


def read_reuters(path: Path) -> Corpus:
    """Reuters-21578 as ``.sgm`` file(s), a folder of them, or the distribution ``.tar.gz``."""
    path = Path(path)
    docs: list = []
    try:
        if path.is_dir():
            files = sorted(path.glob("*.sgm"))
            for f in files:
                parse_reuters_sgml(f.read_bytes(), docs)
        elif path.name.endswith((".tar.gz", ".tgz", ".tar")):
            try:
                with tarfile.open(path) as tar:
                    members = sorted((m for m in tar.getmembers()
                                      if m.isfile() and m.name.endswith(".sgm")),
                                     key=lambda m: m.name)
                    files = members
                    for m in members:
                        parse_reuters_sgml(tar.extractfile(m).read(), docs)
            except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as e:
                raise CorpusError(f"{path}: not a readable tar archive ({e}); re-download "
                                  "the Reuters-21578 distribution") from None
        else:
            files = [path]
            parse_reuters_sgml(path.read_bytes(), docs)
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror}") from None
    if not files:
        raise CorpusError(f"{path}: no reut2-*.sgm files found; point at the Reuters-21578 "
                          "folder or its .tar.gz")
    if not docs:
        raise CorpusError(f"{path}: no ModApte documents (TOPICS=\"YES\", LEWISSPLIT TRAIN/TEST "
                          "with a topic) found; is this Reuters-21578 SGML?")
    docs.sort(key=lambda d: d[0])
    ids, titles, texts, labels, splits = (list(x) for x in zip(*docs))
    return Corpus(TEXT, ids, texts, labels, splits, titles, str(path),
                  {"collection": "reuters21578-modapte"})
