"""Fitting a model: the featurizer, the sizes derived from the data, the neighbour and code
targets, the teacher of a ``semi`` model, and the run of the training loop whose epoch a
score chooses. Takes the items and their labels as arrays and lists, not corpora."""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from .. import defaults
from ..data.corpus import IMAGE, TEXT, VECTOR
from ..data.features import (ImageFeaturizer, ImageRows, TfidfFeaturizer, VectorFeaturizer,
                             dense_rows, take_rows)
from ..errors import UsageError
from ..data.sentences import MINILM, TFIDF_MINILM, SentenceFeaturizer
from ..nets.binary_autoencoder import Supervision, batch_tensors
from ..nets.networks import OrientationHistograms
from .classic import fit_classic
from .loop import pick_device, train
from .neighbours import (NeighbourhoodCounts, VectorNeighbourhood, cosine_neighbours,
                         latent_basis, tfidf_neighbours)
from .selection import epoch_scorer
from .targets import (PCA_SAMPLE, LabelPipeline, NeighbourCodeVotes,
                      gradient_code_targets, itq_code_targets, spread_labels, unit_rows)
from .teacher import balance_classifier, label_targets, teach

log = logging.getLogger("hashret")


def fit_featurizer(model, items, progress: bool = False) -> None:
    """Fit ``model``'s featurizer on its training items and derive the sizes its
    configuration leaves open (:mod:`hashret.defaults`)."""
    c = model.config
    if c.modality == TEXT and c.features == MINILM:
        log.info("reading %d training documents through the sentence encoder", len(items))
        model.featurizer = SentenceFeaturizer(c.text_encoder or MINILM).fit(items, progress)
    elif c.modality == TEXT:
        log.info("reading the vocabulary and word counts of %d training documents",
                 len(items))
        model.featurizer = TfidfFeaturizer().fit(items)
        c.n_features = model.featurizer.n_features
        c.hidden = c.hidden or defaults.text_hidden_size(c.n_features)
        return
    if c.network_input == VECTOR:
        if c.modality == VECTOR:
            model.featurizer = VectorFeaturizer().fit(items)
        c.n_features = model.featurizer.n_features
        c.hidden = c.hidden or defaults.vector_hidden_size(c.n_features)
        if c.code_target_weight is None and not model.is_classic:
            c.code_target_weight = defaults.VECTOR_CODE_TARGET_WEIGHT
        return
    model.featurizer = ImageFeaturizer().fit(items)
    if c.kind == "colorize":
        if model.featurizer.shape[2] == 1:
            raise UsageError("{model:colorize} learns the colours of colour images, but the "
                             "corpus's images are grey; give a corpus of colour images",
                             option="model")
        # colours are learnt on white: an alpha channel is composited away
        model.featurizer.shape = (*model.featurizer.shape[:2], 3)
    shape = model.featurizer.shape
    c.shape = list(shape)
    c.n_features = model.featurizer.n_features
    c.channels = c.channels or list(defaults.image_channels(shape))
    c.hidden = c.hidden or 512
    if c.kind == "colorize":
        # its bits are pulled toward the images' gradient-histogram ITQ code, as the deep
        # image model's are: without the pull the decoder leans on the lightness and the
        # codes collapse
        c.gradient_cells = list(c.gradient_cells or defaults.GRADIENT_CELLS)
        if c.code_target_weight is None:
            c.code_target_weight = defaults.code_target_weight(shape)
    elif not model.is_classic:
        if c.convs_per_scale is None:
            c.convs_per_scale = defaults.image_convs_per_scale(c.kind == "semi")
        c.gradient_cells = list(c.gradient_cells or defaults.GRADIENT_CELLS)
        if c.gradient_weight is None:
            c.gradient_weight = defaults.gradient_weight(
                shape, OrientationHistograms(shape, cells=c.gradient_cells).n_out)
        if c.code_target_weight is None:
            c.code_target_weight = defaults.code_target_weight(shape)


def fit_model(model, items, labels, device: str = "auto", progress: bool = True,
              on_epoch=None):
    """Train ``model`` (a :class:`~hashret.models.HashModel` whose ``config.modality`` is
    set) on ``items`` (a list of texts or an image array) with their ``labels`` (one list
    per item; used by ``semi``), holding out a validation part for early stopping.
    ``on_epoch(model)``, if given, is called after each epoch of the main run (to follow the
    model as it trains: it may encode, and training resumes where it was)."""
    c = model.config
    started = time.perf_counter()
    weight_given = c.code_target_weight is not None
    fit_featurizer(model, items, progress)
    # images stay as read until a batch is drawn (a float32 copy of a large image
    # corpus would take four times its memory)
    feats = ImageRows(model.featurizer, items) \
        if c.network_input == IMAGE and not model.is_classic else model.features(items)
    if c.kl_weight is None:
        c.kl_weight = defaults.text_kl_weight(float(feats.data.sum()) / max(len(feats), 1)) \
            if c.network_input == TEXT else 1.0
    model.device = pick_device(device)
    torch.manual_seed(c.seed)
    if model.is_classic:
        return fit_classic(model, feats)
    o = c.options
    targets, votes, basis, nbrs, joint = None, None, None, None, None
    if c.network_input == TEXT and o.neighbours and len(items) >= 2:
        t = time.perf_counter()
        basis = latent_basis(model.featurizer, feats, o.neighbour_rank) \
            if o.neighbour_rank else None
        if c.features == TFIDF_MINILM:
            log.info("reading %d training documents through the sentence encoder",
                     len(items))
            joint = SentenceFeaturizer(c.text_encoder or MINILM).embed(items, progress)
        nbrs = tfidf_neighbours(model.featurizer, feats, o.neighbours, basis=basis,
                                joint=joint)
        log.info("found the %d nearest neighbours of %d training documents in %.1f s",
                 nbrs.shape[1], len(nbrs), time.perf_counter() - t)
        if o.neighbour_weight is None:
            o.neighbour_weight = defaults.NEIGHBOUR_WEIGHT[TEXT]
        targets = NeighbourhoodCounts(feats, nbrs, float(o.neighbour_weight))
        if c.code_target_weight is None:
            c.code_target_weight = defaults.neighbour_code_weight(targets.mean_words())
        if c.code_target_weight:
            votes = NeighbourCodeVotes(nbrs)
    if c.network_input == VECTOR and o.neighbours and len(items) >= 2:
        t = time.perf_counter()
        nbrs = cosine_neighbours(model.featurizer.unit(items), o.neighbours)
        log.info("found the %d nearest neighbours of %d training vectors in %.1f s",
                 nbrs.shape[1], len(nbrs), time.perf_counter() - t)
        if o.neighbour_weight is None:
            o.neighbour_weight = defaults.NEIGHBOUR_WEIGHT[VECTOR]
        targets = VectorNeighbourhood(feats, nbrs, float(o.neighbour_weight))
    supervision, taught, pipeline = None, None, None
    c.learned.teacher = None           # a teacher of an earlier fit does not apply
    if c.kind == "semi":
        supervision = label_targets(c, labels)
        if o.pipeline_target is None:
            o.pipeline_target = defaults.SEMI_PIPELINE_TARGET[c.network_input]
        if o.pipeline_target and not weight_given:
            c.code_target_weight = defaults.SEMI_PIPELINE_TARGET_WEIGHT
    rng = np.random.default_rng(c.seed)
    order = rng.permutation(len(items))
    n_val = defaults.validation_size(len(items))
    val, tr = np.sort(order[:n_val]), np.sort(order[n_val:])
    epochs = c.epochs or defaults.epochs_for(len(tr), c.network_input, c.batch_size, c.bits)
    model.module = model.new_network()
    code_targets = None
    if c.network_input == IMAGE and c.code_target_weight:
        log.info("computing the target bits of %d images from their gradient histograms",
                 len(feats))
        code_targets = gradient_code_targets(
            OrientationHistograms(tuple(c.shape), cells=c.gradient_cells), feats,
            c.bits, tr, seed=c.seed)
    if c.network_input == VECTOR and c.code_target_weight:
        log.info("computing the target bits of %d vectors by PCA and ITQ", len(feats))
        step = defaults.ENCODE_BATCH_SIZE
        code_targets = itq_code_targets(
            lambda rows: (torch.from_numpy(feats[rows[s:s + step]])
                          for s in range(0, len(rows), step)),
            len(feats), c.bits, tr, seed=c.seed)

    if supervision is not None:
        if o.pipeline_target and c.code_target_weight:
            log.info("computing the target bits of %d items from the label pipeline",
                     len(feats))
            if o.label_spread is None:
                o.label_spread = defaults.SEMI_LABEL_SPREAD
            t = time.perf_counter()
            spread = float(o.label_spread) if nbrs is not None else 0.0
            code_targets = pipeline_code_targets(
                model, feats, supervision, tr, c.seed, sentences=joint,
                neighbours=nbrs if spread else None, alpha=spread)
            pipeline = {"labelled_items": int(supervision[1][tr].sum()), "spread": spread,
                        "sentence_vectors": joint is not None,
                        "seconds": round(time.perf_counter() - t, 2)}
            votes = None

    after_epoch = None
    if votes is not None:
        code_targets = votes
        first_vote = defaults.vote_warm_up_epochs(len(tr), c.batch_size)
        epochs_done = 0

        def after_epoch():
            # the bits every training document has now, for its neighbours' next votes;
            # none in the first epochs, while bits hardly differ from one document to
            # the next and a vote would pull every code toward the same one
            nonlocal epochs_done
            epochs_done += 1
            if epochs_done < first_vote:
                return
            logits = model.logits_of(feats, np.arange(len(items)))
            votes.update(torch.sigmoid(torch.from_numpy(logits)).to(model.device))

    mirror_rng = torch.Generator().manual_seed(c.seed)

    def make_batch(r):
        batch = batch_tensors(model.featurizer, take_rows(feats, r), model.device,
                              None if targets is None else targets.rows(r))
        # mirror_share is 0 until the teacher is trained
        if model.mirror_share and model.module.training:
            batch = mirrored(batch, model.mirror_share, mirror_rng)
        if supervision is None and code_targets is None:
            return batch
        sup = Supervision()
        if supervision is not None:
            y, mask = supervision
            sup.targets = torch.from_numpy(y[r]).to(model.device)
            sup.mask = torch.from_numpy(mask[r]).to(model.device)
            if taught is not None:
                sup.taught = torch.from_numpy(taught[r]).to(model.device)
        # the votes move every epoch: they stay out of the validation loss, or early
        # stopping would compare losses against different targets
        if code_targets is not None and (votes is None or model.module.training):
            code = code_targets[r]          # votes: none before the first vote
            sup.code = None if code is None else code.to(model.device)
        return batch, sup
    if supervision is not None:
        balance_classifier(model, make_batch, tr)
        if o.distil is None:
            o.distil = defaults.SEMI_TEACHER[c.network_input]
        if o.distil and not supervision[1].all() and supervision[1][tr].any():
            taught = teach(model, make_batch, tr, val, supervision, progress)
            if c.network_input == IMAGE and o.mirror is None:
                o.mirror = defaults.SEMI_MIRROR
            c.learned.teacher["mirror"] = float(o.mirror) if c.network_input == IMAGE else 0.0
    prepare_seconds = time.perf_counter() - started
    choice = defaults.epoch_choice(c.network_input, c.kind)
    scorer = epoch_scorer(model, choice, feats, tr, val, basis, supervision)
    score = None if scorer is None else \
        (lambda: scorer.score(lambda r: model.logits_of(feats, r)))
    if on_epoch is not None:
        after_epoch = _with_callback(model, after_epoch, on_epoch)
    model.report = train(model.module, make_batch,
                         tr, val, epochs=epochs, batch_size=c.batch_size, lr=c.lr,
                         device=model.device, seed=c.seed, progress=progress,
                         after_epoch=after_epoch,
                         epoch_items=defaults.epoch_items(len(tr), c.network_input,
                                                          c.batch_size),
                         patience=defaults.patience_for(len(tr), c.network_input,
                                                        c.batch_size),
                         score=score, score_name=getattr(scorer, "name", "score"),
                         # too few (labelled) documents to hold some out for the score:
                         # the whole run, last weights
                         stop_early=score is not None or choice == "loss")
    model.report.train_items, model.report.validation_items = len(tr), len(val)
    model.report.teacher = c.learned.teacher
    model.report.pipeline = pipeline
    model.report.prepare_seconds = round(prepare_seconds, 2)
    model.module.to("cpu").eval()
    model.device = torch.device("cpu")
    return model


def pipeline_code_targets(model, feats, supervision, tr: np.ndarray, seed: int = 0,
                          sentences: np.ndarray | None = None,
                          neighbours: np.ndarray | None = None,
                          alpha: float = defaults.SEMI_LABEL_SPREAD):
    """Target bits from the label pipeline (:class:`~hashret.training.targets.LabelPipeline`)
    trained on the labelled items of ``tr``: PCA+ITQ of its representation of every item.
    The pipeline reads the items' ``sentences`` vectors beside their features when given;
    with ``neighbours`` (n, k), its class probabilities are averaged with the labels of
    ``tr`` spread over their graph (:func:`~hashret.training.targets.spread_labels`)."""
    c = model.config
    y, mask = supervision
    labelled = tr[mask[tr]]

    def dense(rows):
        x = dense_rows(model.featurizer, take_rows(feats, rows))
        return x if sentences is None else np.hstack([x, sentences[rows]])
    sample = np.sort(np.random.default_rng(seed).permutation(tr)[:PCA_SAMPLE])
    pipe = LabelPipeline(dense(labelled), y[labelled], bool(c.learned.multilabel),
                         dense(sample), seed=seed)
    spread = None
    if neighbours is not None:
        seeds = np.zeros((len(feats), y.shape[1]), np.float32)
        seeds[labelled] = y[labelled]
        spread = unit_rows(spread_labels(neighbours, seeds, alpha))
    step = 4_096

    def represent(rows):
        x = dense(rows)
        if spread is None:
            return pipe.represent(x)
        return pipe.represent(x, spread[rows] + unit_rows(pipe.probabilities(x)))
    return itq_code_targets(
        lambda rows: (torch.from_numpy(represent(rows[s:s + step]))
                      for s in range(0, len(rows), step)),
        len(feats), c.bits, tr, seed=seed)


def _with_callback(model, after_epoch, on_epoch):
    """``after_epoch`` followed by ``on_epoch(model)``, the module's mode and the random
    state of torch kept across the call, so that the run goes on as without it."""
    def both():
        if after_epoch is not None:
            after_epoch()
        was_training = model.module.training
        with torch.random.fork_rng(devices=[model.device] if model.device.type == "cuda"
                                   else []):
            on_epoch(model)
        model.module.train(was_training)
    return both


def mirrored(images: torch.Tensor, share: float, rng: torch.Generator) -> torch.Tensor:
    """A copy of a (n, c, h, w) batch with a random ``share`` of its images mirrored left
    to right (see defaults.SEMI_MIRROR)."""
    flip = (torch.rand(len(images), generator=rng) < share).to(images.device)
    return torch.where(flip[:, None, None, None], images.flip(-1), images)
