"""What an index is, read from its manifest: the figures ``hashret info`` and a build's
report show, as plain values (no torch, no codes read)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .models.config import CLASSIC_MODEL_KINDS
from .search.health import code_health, health_warnings


@dataclass
class TrainingSummary:
    passes: int | None              # epochs, or iterations of a closed-form fit
    pass_word: str                  # "epoch" or "iteration"
    steps: int | None
    kept: str | None                # the epoch kept and, for a scored run, why
    device: str | None
    threads: int | None             # CPU threads, when trained on the CPU
    fit_seconds: float | None
    validation_loss: float | None
    encode_rate: float | None       # items per second when the index was encoded
    classifier_accuracy: float | None = None
    classifier_accuracy_on: str | None = None
    labelled_training_items: int | None = None
    teacher: dict | None = None     # a semi image model's teacher: items, epochs, accuracy
    pipeline: dict | None = None    # a semi document model's label pipeline (target bits)


@dataclass
class IndexSummary:
    path: str
    format: str
    format_version: int
    created: str
    bits: int
    bit_order: str
    bits_from: str
    model_kind: str
    modality: str
    model_hash: str
    options: dict
    features: str                   # what an item becomes before the model reads it
    index: str                      # the search structure, its parameters and size
    counts: dict                    # items, train, test, labelled
    id_type: str
    corpus: str                     # where the items came from, additions and removals
    versions: dict
    files: dict                     # name -> (size, sha256)
    training: TrainingSummary | None
    last_added: dict = field(default_factory=dict)     # source, items, encode_seconds
    verified: bool = False          # every file was hashed when the index was opened
    verify_on_open: bool = True     # the index was built to be hashed on every open
    health: dict = field(default_factory=dict)    # hashret.search.health.code_health
    health_warnings: list = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(size for size, _ in self.files.values())


def pass_word(model_kind: str) -> str:
    """What one pass of a model's training is called."""
    return "iteration" if model_kind in CLASSIC_MODEL_KINDS else "epoch"


def describe_features(featurizer, options: dict | None = None) -> str:
    """What an item becomes before the model reads it (``options``: the model's, which
    say whether a document model found its neighbours with a sentence encoder too)."""
    if (options or {}).get("features") == "tfidf+minilm":
        encoder = options.get("text_encoder") or "all-MiniLM-L6-v2"
        return (f"TF-IDF over {featurizer.n_features:,} terms, tokenizer version "
                f"{featurizer.tokenizer}; neighbours found with {encoder} sentence vectors "
                "too")
    if hasattr(featurizer, "describe"):
        return featurizer.describe()
    if featurizer.modality == "text":
        return (f"TF-IDF over {featurizer.n_features:,} terms, tokenizer version "
                f"{featurizer.tokenizer}")
    if featurizer.modality == "vector":
        return f"{featurizer.n_features:,}-dimensional vectors, compared by cosine"
    h, w, c = featurizer.shape
    return f"{h} x {w} pixels, {'grey' if c == 1 else 'RGB'}"


def describe_index(ix: dict) -> str:
    text = ix["kind"] + (" (exact)" if ix.get("exact", ix["kind"] == "flat") else
                         " (approximate)")
    if ix.get("requested", ix["kind"]) != ix["kind"]:
        text += f", chosen by {ix['requested']}"
    if ix.get("params"):
        text += ", " + ", ".join(f"{k}={v}" for k, v in ix["params"].items())
    if ix.get("shards"):
        text += f", in {ix['shards']} shards"
    if "bytes_per_item" in ix:
        text += f"; {ix['bytes_per_item']} B/item on disk"
    return text


def count(n, word: str) -> str:
    """``n`` and ``word``, in the plural unless n is 1 ("1 item", "1,200 items")."""
    shown = f"{n:,}" if isinstance(n, int) else f"{n}"
    return f"{shown} {word}{'' if n == 1 else 's'}"


def _corpus(m: dict) -> str:
    c = m["corpus"]
    return (c.get("dataset") or c["source"]) + "".join(
        f"; added {ch['add']['source']} ({count(ch['add']['items'], 'item')})"
        if "add" in ch else f"; removed {count(len(ch['remove']), 'item')}"
        for ch in c.get("changes", []))


def _training(m: dict) -> TrainingSummary | None:
    b = m.get("build", {})
    if not b:
        return None
    t = b.get("train", {})
    kept = t.get("kept_epoch") or t.get("best_epoch")
    # a document model stops by how its codes retrieve, not by the loss (an older index
    # records its score as "agreement", always retrieval agreement)
    scores = t.get("scores") or t.get("agreement")
    if scores:
        name = t.get("score_name") or "retrieval agreement"
        kept = f"{kept}; {name} {scores[kept - 1]:.3f}, highest " \
            f"{max(scores):.3f} at epoch {t.get('best_epoch')}"
    loss = t.get("best_val_loss")
    return TrainingSummary(
        passes=t.get("epochs_run"), pass_word=pass_word(m["model"]["kind"]),
        steps=t.get("steps") or None, kept=None if not kept else str(kept),
        device=t.get("device"),
        threads=t.get("threads") if t.get("device") == "cpu" else None,
        fit_seconds=b.get("fit_seconds"),
        validation_loss=loss if isinstance(loss, (int, float)) else None,
        encode_rate=b.get("items_per_second_encode"),
        classifier_accuracy=b.get("classifier_accuracy"),
        classifier_accuracy_on=b.get("classifier_accuracy_on"),
        labelled_training_items=b.get("labelled_training_items"),
        teacher=t.get("teacher") or None, pipeline=t.get("pipeline") or None)


def summarize(bundle, verified: bool | None = None) -> IndexSummary:
    """The summary of an opened :class:`~hashret.bundle.Bundle`; ``verified`` defaults to
    whether opening it hashed every file. An index written before code health was recorded
    has it measured from its codes."""
    m = bundle.manifest
    health = m.get("health") or code_health(bundle.codes)
    changes = m["corpus"].get("changes", [])
    last = changes[-1].get("add", {}) if changes else {}
    return IndexSummary(
        path=str(bundle.path), format=m["format"], format_version=m["format_version"],
        created=m["created"], bits=m["n_bits"], bit_order=m["bit_order"],
        bits_from=m["model"].get("bits_from", "logit > 0"), model_kind=m["model"]["kind"],
        modality=m["model"]["modality"], model_hash=m["model"]["hash"],
        options=dict(m["model"].get("options", {})),
        features=describe_features(bundle.featurizer, m["model"].get("options", {})),
        index=describe_index(m["index"]),
        counts=dict(m["counts"]), id_type=m["id_type"], corpus=_corpus(m),
        versions=dict(m["versions"]),
        files={name: (f["size"], f["sha256"]) for name, f in m["files"].items()},
        training=_training(m), last_added=dict(last),
        verified=bundle.verified if verified is None else verified,
        verify_on_open=m.get("verify_on_open", True) is not False,
        health=health, health_warnings=health_warnings(health))
