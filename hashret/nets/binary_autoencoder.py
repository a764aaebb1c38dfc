""":class:`BinaryAutoencoder`: encoder -> binary code layer -> decoder, for text or images."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
import torch.nn.functional as F
import numpy as np

from .networks import (BinaryCodeLayer, ImageDecoder, ImageEncoder, OrientationHistograms,
                       TextEncoder, VectorDecoder, VectorEncoder, WordDecoder,
                       bernoulli_kl_to_uniform, corrupt, parse_noise)


@dataclass
class TextBatch:
    """A batch of documents: TF-IDF input (sparse) and the word counts to reconstruct."""

    x: tuple                   # TF-IDF as (word indices, row offsets, weights)
    rows: torch.Tensor         # row of each non-zero count
    cols: torch.Tensor         # word of each non-zero count
    counts: torch.Tensor       # the counts
    n: int


@dataclass
class VectorBatch:
    """A batch of vectors: the encoder's input and what the decoder reconstructs (the
    vectors themselves, or their neighbourhoods' mean)."""

    x: torch.Tensor            # (n, d)
    target: torch.Tensor       # (n, d)


@dataclass
class Supervision:
    """What guides a batch besides its own reconstruction: labels for the classifier head
    (multi-hot targets and which items have labels; unlabelled items train only the
    autoencoder) and target bits for the code layer."""

    targets: torch.Tensor | None = None     # (n, C) float
    mask: torch.Tensor | None = None        # (n,) bool
    code: torch.Tensor | None = None        # (n, bits) float in {0, 1}
    # a teacher's predicted class probabilities, the classification targets of the items
    # without labels (see HashModel._teach)
    taught: torch.Tensor | None = None      # (n, C) float


class BinaryAutoencoder(nn.Module):
    """A deep autoencoder whose code is ``bits`` binary units.

    Documents: a ReLU MLP over TF-IDF encodes, a softmax over the vocabulary decodes, and the
    reconstruction loss is the negative log-likelihood of the document's word counts.
    Vectors (embeddings): a ReLU MLP encodes and decodes, and the loss is the squared error
    (a unit-variance Gaussian's negative log-likelihood, up to a constant).
    Images: strided convolutions encode, transposed convolutions decode, and the loss is the
    per-pixel binary cross-entropy; with ``gradient_weight`` > 0 a second decoder head also
    reconstructs the image's histograms of oriented gradients (squared error, times that
    weight). Pixels alone make codes that keep what costs most pixels to get wrong
    (brightness, filled areas); the histograms make them keep shape and edges, which is what
    images of one kind share. Both modalities add a KL term pulling each bit's probability
    toward 1/2, which keeps bits in use and balanced.
    """

    log_prob_decoder = True

    def __init__(self, modality: str, bits: int, n_features: int = 0, hidden: int = 512,
                 shape=None, channels=(32, 64), kl_weight: float = 1.0,
                 balance_weight: float = 0.0, word_dropout: float = 0.0,
                 noise: str | None = None, n_classes: int = 0, multilabel: bool = False,
                 class_weight: float = 1.0, gradient_weight: float = 0.0,
                 gradient_cells=(7,), code_target_weight: float = 0.0,
                 convs_per_scale: int = 0, centre_weight: float = 0.0,
                 label_smoothing: float = 0.0):
        super().__init__()
        self.modality = modality
        self.kl_weight = kl_weight
        self.balance_weight = balance_weight
        self.noise = parse_noise(noise, modality) if noise else None
        if self.noise and modality == "text":       # text corruption: drop whole words
            word_dropout = self.noise[1]
        self.multilabel = multilabel
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing      # softmax head only
        self.code_target_weight = code_target_weight
        self.classifier = nn.Linear(bits, n_classes) if n_classes else None
        # labelled items' bits are also pulled toward their classes' hash centres (not
        # saved: a function of the number of classes and the code length)
        self.centre_weight = centre_weight if n_classes else 0.0
        if self.centre_weight:
            self.register_buffer("centres", hash_centres(n_classes, bits), persistent=False)
        if modality == "text":
            self.encoder = TextEncoder(n_features, hidden, bits, word_dropout=word_dropout)
            self.decoder = WordDecoder(bits, n_features)
        elif modality == "vector":
            self.encoder = VectorEncoder(n_features, hidden, bits)
            self.decoder = VectorDecoder(bits, hidden, n_features)
        else:
            self.encoder = ImageEncoder(shape, bits, channels, convs_per_scale=convs_per_scale)
            self.decoder = ImageDecoder(shape, bits, channels)
        self.code = BinaryCodeLayer()
        self.gradient_weight = gradient_weight if modality == "image" else 0.0
        if self.gradient_weight:
            self.gradients = OrientationHistograms(shape, cells=gradient_cells)
            self.gradient_decoder = nn.Sequential(nn.Linear(bits, hidden), nn.ReLU(),
                                                  nn.Linear(hidden, self.gradients.n_out))

    def logits(self, x) -> torch.Tensor:
        """Pre-binarisation code: a bit is 1 where its logit is positive."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Word log-probabilities (text), featurized vectors, or pixel intensities in [0, 1]
        (images)."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.modality == "image" else out

    def class_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.classifier(z)

    def loss(self, batch) -> torch.Tensor:
        terms = self.loss_terms(batch)
        loss = self.reconstruction_loss(terms) + self.kl_weight * terms["kl"]
        if "balance" in terms:
            loss = loss + self.balance_weight * terms["balance"]
        if "classification" in terms:
            loss = loss + self.class_weight * terms["classification"]
        if "centre" in terms:
            # per bit and labelled item, against the classification term's per-item nats
            loss = loss + self.class_weight * self.centre_weight * terms["centre"]
        if "code_target" in terms:
            loss = loss + self.code_target_weight * terms["code_target"]
        return loss

    def reconstruction_loss(self, terms: dict) -> torch.Tensor:
        """All of the reconstruction: the input's, plus (images) the weighted histograms'."""
        if "gradients" in terms:
            return terms["reconstruction"] + self.gradient_weight * terms["gradients"]
        return terms["reconstruction"]

    def loss_terms(self, batch) -> dict:
        """Each term of the loss: reconstruction of the clean input from the (possibly
        corrupted) input's code, KL of the bits to a fair coin, and, where configured,
        bit balance, classification of the labelled items from the code, the cross-entropy
        of labelled items' bits against their classes' hash centres and the cross-entropy
        of the bits' probabilities against target bits."""
        sup = None
        if isinstance(batch, tuple):
            batch, sup = batch
        x = batch_input(batch)
        x_in = x
        if self.noise and self.training and self.modality != "text":
            x_in = corrupt(x, *self.noise, bounded=self.modality == "image")
        logits = self.logits(x_in)
        z = self.code(logits)
        if isinstance(batch, TextBatch):
            logp = self.decoder(z)
            rec = -(logp[batch.rows, batch.cols] * batch.counts).sum() / batch.n
        elif isinstance(batch, VectorBatch):
            rec = 0.5 * ((self.decoder(z) - batch.target) ** 2).sum() / len(x)
        else:
            rec = F.binary_cross_entropy_with_logits(self.decoder(z), batch,
                                                     reduction="sum") / batch.shape[0]
        terms = {"reconstruction": rec, "kl": bernoulli_kl_to_uniform(logits)}
        if self.gradient_weight:
            with torch.no_grad():
                target = self.gradients(x)                    # of the clean image
            terms["gradients"] = ((self.gradient_decoder(z) - target) ** 2).sum() / len(x)
        if self.balance_weight:
            # each bit should split the batch in half: (mean probability - 1/2)^2 per bit
            p = torch.sigmoid(logits)
            terms["balance"] = ((p.mean(0) - 0.5) ** 2).sum()
        if sup is not None and sup.code is not None:
            terms["code_target"] = F.binary_cross_entropy_with_logits(
                logits, sup.code, reduction="sum") / len(logits)
        if self.classifier is not None and sup is not None and sup.mask is not None:
            terms.update(self._label_terms(logits, z, sup))
        return terms

    def _label_terms(self, logits, z, sup: Supervision) -> dict:
        """Classification of the items with a target (labelled ones against their labels;
        with a teacher, the others against its probabilities) and, for labelled items, the
        pull of their bits toward their classes' hash centres."""
        terms = {}
        if sup.taught is not None:
            rows = torch.ones_like(sup.mask)
            target = torch.where(sup.mask[:, None], sup.targets, sup.taught)
        else:
            rows, target = sup.mask, sup.targets[sup.mask]
        if bool(rows.any()):
            out = self.class_logits(z[rows])
            if self.multilabel:
                terms["classification"] = F.binary_cross_entropy_with_logits(
                    out, target, reduction="sum") / len(target)
            elif sup.taught is not None:
                # class probabilities as targets: a labelled item's one-hot row is its class
                terms["classification"] = F.cross_entropy(
                    out, target, label_smoothing=self.label_smoothing)
            else:
                terms["classification"] = F.cross_entropy(
                    out, target.argmax(1), label_smoothing=self.label_smoothing)
        if self.centre_weight and bool(sup.mask.any()):
            # an item with several labels: the mean of their centres, as soft bits
            target = sup.targets[sup.mask]
            share = target / target.sum(1, keepdim=True).clamp_min(1)
            terms["centre"] = F.binary_cross_entropy_with_logits(
                logits[sup.mask], share @ self.centres)
        return terms

    def label_loss(self, batch) -> torch.Tensor:
        """The label terms alone, encoder and classifier only (no decoder): what a
        teacher trained on batches of labelled items minimises."""
        x, sup = batch
        x = batch_input(x)
        logits = self.logits(x)
        terms = self._label_terms(logits, self.code(logits), sup)
        loss = terms["classification"]
        if "centre" in terms:
            loss = loss + self.centre_weight * terms["centre"]
        return loss


def hash_centres(n_classes: int, bits: int) -> torch.Tensor:
    """``(n_classes, bits)`` target bits in {0, 1}, one code per class, far apart.

    When ``bits`` is a power of two above ``n_classes`` the centres are rows of a Sylvester
    Hadamard matrix (its constant first row left out): every centre has ``bits / 2`` ones
    and every two differ in exactly ``bits / 2`` bits. Otherwise they are fair random bits
    (two differ in about ``bits / 2``) from a fixed seed, so the same classes and length
    always get the same centres (after central similarity quantization, Yuan et al. 2020).
    """
    if bits & (bits - 1) == 0 and n_classes < bits:
        h = torch.ones(1, 1)
        while len(h) < bits:
            h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)])
        return (h[1:n_classes + 1] > 0).float()
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 2, (n_classes, bits), generator=g).float()


def predicted_classes(class_logits: torch.Tensor, multilabel: bool) -> np.ndarray:
    """(n, C) booleans: each item's most likely class and, when multi-label, every class
    above probability 1/2 as well."""
    on = torch.zeros_like(class_logits, dtype=torch.bool)
    on[torch.arange(len(class_logits)), class_logits.argmax(1)] = True
    if multilabel:
        on |= torch.sigmoid(class_logits) > 0.5
    return on.cpu().numpy()


def batch_input(batch) -> torch.Tensor | tuple:
    """What the encoder reads of a batch of any modality."""
    return batch.x if isinstance(batch, (TextBatch, VectorBatch)) else batch


def batch_tensors(featurizer, feats, device, targets=None):
    """Tensors for a batch of features; ``targets`` replaces the documents' own counts as
    what the decoder reconstructs (used for neighbour reconstruction)."""
    kind = getattr(featurizer, "network_input", featurizer.modality)
    if kind == "text":
        w = featurizer.weight(feats)
        x = tuple(torch.from_numpy(a).to(device)
                  for a in (feats.indices, feats.indptr[:-1], w.data))
        t = feats if targets is None else targets
        return TextBatch(x, torch.from_numpy(t.row_ids()).to(device),
                         torch.from_numpy(t.indices).to(device),
                         torch.from_numpy(t.data).to(device), len(feats))
    x = torch.from_numpy(np.ascontiguousarray(feats)).to(device)
    if kind == "vector":
        return VectorBatch(x, x if targets is None else
                           torch.from_numpy(np.ascontiguousarray(targets)).to(device))
    return x
