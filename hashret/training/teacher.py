"""The labels of a ``semi`` model: its training targets, the weight of its classification
term, and the teacher trained first on the labelled items whose class probabilities become
the targets of the unlabelled ones."""

from __future__ import annotations

import copy
import logging

import numpy as np
import torch

from .. import defaults
from ..errors import UsageError
from ..nets.binary_autoencoder import batch_input, predicted_classes
from .loop import train

log = logging.getLogger("hashret")


def label_targets(config, labels):
    """Multi-hot training labels and the mask of those the model may use (all labelled
    items, or a seeded random ``labels_fraction`` of them); records the classes in the
    configuration's learned state."""
    o, learned = config.options, config.learned
    classes = sorted({lab for ls in labels for lab in ls})
    if not classes:
        raise UsageError("{model:semi} needs labels, but the training items have none; "
                         "use a labelled corpus or another {model}", option="model")
    if len(classes) == 1:
        # a classifier over one class always predicts it: the labels shape nothing
        log.warning("every labelled training item has the label %r, so {model:semi} "
                    "learns nothing from it; give items of at least two labels, or use "
                    "{model:deep}", classes[0])
    index = {lab: i for i, lab in enumerate(classes)}
    y = np.zeros((len(labels), len(classes)), np.float32)
    for i, ls in enumerate(labels):
        for lab in ls:
            y[i, index[lab]] = 1
    mask = y.any(1)
    if o.labels_fraction is not None:
        rng = np.random.default_rng(config.seed + 1)
        labelled = np.flatnonzero(mask)
        keep = rng.choice(labelled, max(1, round(float(o.labels_fraction) * len(labelled))),
                          replace=False)
        mask = np.zeros_like(mask)
        mask[keep] = True
    learned.classes = classes
    if o.centre_weight is None:
        o.centre_weight = defaults.SEMI_CENTRE_WEIGHT
    learned.multilabel = bool((y.sum(1) > 1).any())
    if not learned.multilabel and o.label_smoothing is None:
        o.label_smoothing = defaults.SEMI_LABEL_SMOOTHING
    learned.labelled_items = int(mask.sum())
    return y, mask


def teach(model, make_batch, tr, val, supervision, progress: bool) -> np.ndarray:
    """Train a teacher on the labelled items alone and return its class probabilities
    for every training item: the classification targets of the items without labels
    (see defaults.SEMI_TEACHER_EPOCHS). The teacher is a copy of the untrained network
    fitting only the label terms; the held-out labelled items measure its accuracy."""
    c = model.config
    y, mask = supervision
    labelled_tr, labelled_val = tr[mask[tr]], val[mask[val]]
    teacher = copy.deepcopy(model.module)
    log.info("training a teacher on the %d labelled training items", len(labelled_tr))
    # no early stopping on held-out items (only once the training loss stops falling):
    # their cross-entropy turns up after a few passes while their accuracy still
    # climbs (docs/studies "A teacher for semi"); they only measure the teacher
    report = train(LabelTerms(teacher), make_batch, labelled_tr, labelled_val[:0],
                   epochs=defaults.teacher_epochs(len(labelled_tr)),
                   batch_size=defaults.SEMI_TEACHER_BATCH_SIZE, lr=c.lr,
                   device=model.device, seed=c.seed, progress=progress,
                   desc="training the teacher")
    out = []
    with torch.no_grad():
        for s in range(0, len(y), defaults.ENCODE_BATCH_SIZE):
            batch, _ = make_batch(np.arange(s, min(s + defaults.ENCODE_BATCH_SIZE, len(y))))
            x = batch_input(batch)
            out.append(teacher.class_logits((teacher.logits(x) > 0).float()).cpu())
    out = torch.cat(out)
    info = {"labelled_items": int(len(labelled_tr)), "epochs": report.epochs_run,
            "best_epoch": report.best_epoch, "seconds": round(report.seconds, 2)}
    if len(labelled_val):
        # right when a predicted class is a true one
        pred = predicted_classes(out[labelled_val], teacher.multilabel)
        info["validation_accuracy"] = round(float(
            (pred & (y[labelled_val] > 0)).any(1).mean()), 4)
    c.learned.teacher = info
    log.info("teacher: %s", info)
    probs = torch.sigmoid(out) if teacher.multilabel else torch.softmax(out, 1)
    return probs.numpy().astype(np.float32)


@torch.no_grad()
def balance_classifier(model, make_batch, rows) -> None:
    """Weight the classification term so that it starts equal to the reconstruction
    term (their scales differ by orders of magnitude and with the corpus: nats of a
    whole document or image against nats of one label), derived here from the data."""
    sample = np.sort(np.random.default_rng(model.config.seed).permutation(rows)[:1024])
    model.module.to(model.device).train()
    terms = model.module.loss_terms(make_batch(sample))
    if "classification" in terms:
        rec = float(model.module.reconstruction_loss(terms))
        w = rec / max(float(terms["classification"]), 1e-6)
        model.module.class_weight = w * defaults.SEMI_CLASS_WEIGHT
        model.config.learned.class_weight = model.module.class_weight


class LabelTerms(torch.nn.Module):
    """A network seen through its label terms only (what :func:`train` minimises for a
    teacher)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def loss(self, batch) -> torch.Tensor:
        return self.net.label_loss(batch)
