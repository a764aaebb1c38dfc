"""Documents as files: plain text (UTF-8 or latin-1), Markdown, HTML and PDF, a folder of
them labelled by sub-folder, and what a listing calls each (its title)."""

from __future__ import annotations

import io
import logging
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Sequence

from ..errors import CorpusError
from .corpus import TEXT, Corpus, walk_labelled_folder

log = logging.getLogger("hashret")

HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
PDF_SUFFIX, EPUB_SUFFIX = ".pdf", ".epub"
# Formats whose text is extracted, not just decoded: costly, and able to fail on a damaged
# file, so a folder holding them has every document's text extracted once, when it is read.
EXTRACTED_SUFFIXES = {PDF_SUFFIX, EPUB_SUFFIX}
TEXT_SUFFIXES = {"", ".txt", ".text", ".md", ".markdown", ".rst", ".eml"} | HTML_SUFFIXES | \
    EXTRACTED_SUFFIXES
EPUB_MAX_BYTES = 256 << 20        # an e-book's pages, uncompressed; more is a zip bomb


def decode_text(raw: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else latin-1 (which never fails); a byte-order
    mark is dropped (spreadsheets write one before a CSV's header) and one of UTF-16 decodes
    as UTF-16 ("Unicode text" exports)."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _HtmlText(HTMLParser):
    """The text a browser shows for a page: its title on the first line, then the body's
    text, a line per block; scripts, styles and the head's other content left out."""

    _HIDDEN = {"script", "style", "noscript", "template", "head", "svg"}
    _BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
               "article", "blockquote", "pre", "table", "ul", "ol", "dd", "dt", "header",
               "footer", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title, self.parts, self.hidden, self.in_title = [], [], 0, False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        elif tag in self._HIDDEN:
            self.hidden += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        elif tag in self._HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif not self.hidden:
            self.parts.append(data)


def html_text(markup: str) -> str:
    """An HTML page as plain text: the ``<title>`` as its first line, then the visible text,
    one line per block, entities decoded."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    title = " ".join("".join(parser.title).split())
    return "\n".join([title] * bool(title) + [line for line in lines if line])


def pdf_text(raw: bytes, name) -> str:
    """The text of a PDF's pages, a page after another (pypdf reads it; a PDF locked with an
    empty password, as many are, is opened)."""
    from pypdf import PdfReader
    logging.getLogger("pypdf").setLevel(logging.ERROR)    # its notes on damaged objects
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("it is encrypted with a password")
        return "\n".join((page.extract_text() or "").strip() for page in reader.pages).strip()
    except Exception as e:  # noqa: BLE001 - a damaged PDF raises many kinds
        raise CorpusError(f"{name}: not a readable PDF ({str(e)[:100]}); remove or replace "
                          "the file") from None


_OPF_PATH = re.compile(r'full-path="([^"]+)"')
_OPF_TITLE = re.compile(r"<dc:title[^>]*>(.*?)</dc:title>", re.S)
_OPF_ITEM = re.compile(r"<item\b[^>]*>")
_OPF_SPINE = re.compile(r'<itemref\b[^>]*idref="([^"]+)"')
_ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')


def epub_text(raw: bytes, name) -> str:
    """An EPUB e-book's text: its title (from the package file), then its pages' visible
    text in reading order (the spine; the archive's order when there is none)."""
    import html as _html
    import posixpath
    import zipfile
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            if sum(i.file_size for i in z.infolist()) > EPUB_MAX_BYTES:
                raise ValueError(f"it unpacks to more than {EPUB_MAX_BYTES >> 20} MB")
            names = set(z.namelist())
            title, pages = "", []
            container = "META-INF/container.xml"
            opf = _OPF_PATH.search(decode_text(z.read(container))) if container in names \
                else None
            if opf and opf.group(1) in names:
                package = decode_text(z.read(opf.group(1)))
                found = _OPF_TITLE.search(package)
                title = _html.unescape(found.group(1)).strip() if found else ""
                items = {a.get("id"): a.get("href", "") for a in
                         (dict(_ATTRIBUTE.findall(m)) for m in _OPF_ITEM.findall(package))}
                base = posixpath.dirname(opf.group(1))
                pages = [posixpath.normpath(posixpath.join(base, items[i])) for i in
                         _OPF_SPINE.findall(package) if items.get(i)]
            pages = [p for p in pages if p in names] or sorted(
                n for n in names if Path(n).suffix.lower() in HTML_SUFFIXES)
            text = "\n".join(html_text(decode_text(z.read(p))) for p in pages)
    except Exception as e:  # noqa: BLE001 - zip and its codecs raise many kinds
        raise CorpusError(f"{name}: not a readable EPUB ({str(e)[:100]}); remove or replace "
                          "the file") from None
    return "\n".join([title] * bool(title) + [text]).strip()


def document_text(name, raw: bytes) -> str:
    """A text file's bytes as its document's text (``name``'s suffix says if it is an HTML
    page, a PDF or an EPUB)."""
    suffix = Path(str(name)).suffix.lower()
    if suffix == PDF_SUFFIX:
        return pdf_text(raw, name)
    if suffix == EPUB_SUFFIX:
        return epub_text(raw, name)
    text = decode_text(raw)
    return html_text(text) if suffix in HTML_SUFFIXES else text


def read_text_file(path: Path) -> str:
    try:
        return document_text(path, Path(path).read_bytes())
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror}; check the file exists and is "
                          "readable") from None


class _LazyMap(Sequence):
    """``fn`` of each element of ``base``, computed when accessed: the texts of a folder's
    files (``fn`` reads a path), so large folders stream, or their titles."""

    def __init__(self, fn, base: Sequence):
        self.fn, self.base = fn, base

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.fn(x) for x in self.base[i]]
        return self.fn(self.base[i])


_HEADER_LINE = re.compile(r"[A-Za-z][A-Za-z0-9-]*:\s")


def text_title(text: str, limit: int = 80) -> str:
    """What a listing shows for a document: the ``Subject`` of a mail or news message (a
    text that opens with ``Key: value`` header lines), else its first non-empty line, at
    most ``limit`` characters."""
    lines = text.splitlines()
    for line in lines:                       # the header block ends at its first blank line
        if not _HEADER_LINE.match(line):
            break
        key, _, value = line.partition(":")
        if key.lower() == "subject" and value.strip():
            return value.strip()[:limit]
    first = next((line.strip() for line in lines if line.strip()), "")
    return first.lstrip("#").strip()[:limit]    # a Markdown heading without its marks


def is_text_file(p: Path) -> bool:
    return p.suffix.lower() in TEXT_SUFFIXES or p.suffix[1:].isdigit()


def read_text_folder(root: Path) -> Corpus:
    """One file per document, one sub-folder per label (20-Newsgroups layout); a document's
    title is its Subject header or first line (:func:`text_title`).

    ``train``/``test`` sub-folders define the split (see :func:`walk_labelled_folder`).
    """
    paths, ids, labels, splits = walk_labelled_folder(root, is_text_file)
    if not paths:
        raise CorpusError(f"no text files in {root}: expected .txt, .md, .html, .pdf, .epub "
                          "or extension-less files, one sub-folder per label")
    if any(p.suffix.lower() in EXTRACTED_SUFFIXES for p in paths):
        # extracting a PDF's text costs far more than reading a file, and may fail: do it
        # once for every document, before a model is fitted, not at each pass over them
        from ..progress import progress_bar
        texts = [read_text_file(p) for p in progress_bar(paths, desc="reading", unit="doc",
                                                         leave=False)]
    else:
        texts = _LazyMap(read_text_file, paths)
    return Corpus(TEXT, ids, texts, labels, splits, _LazyMap(text_title, texts), str(root))
