""":class:`HashModel`: the estimator users hold — ``fit``, ``encode``, ``decode``, ``save``,
``load`` — around a featurizer and a binary autoencoder."""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .. import defaults
from ..data import as_corpus
from ..data.corpus import IMAGE, TEXT, Corpus
from ..errors import BundleError, UsageError
from ..features import (ImageFeaturizer, ImageRows, SparseRows, TfidfFeaturizer,
                        featurizer_from_dict)
from ..progress import progress_bar
from ..train import TrainReport, pick_device, train
from ..search.bits import pack_bits, unpack_bits
from .binary_autoencoder import BinaryAutoencoder, Supervision, TextBatch
from .code_targets import NeighbourCodeVotes, gradient_code_targets
from .classic import CLASSIC_KINDS, ROTATIONS, FeatureMatrix
from .config import (CONFIG_FILE, FEATURIZER_FILE, MODEL_KINDS, WEIGHTS_FILE, ModelConfig,
                     check_bits, read_model_json)
from .neighbours import (NeighbourhoodCounts, latent_basis, latent_vectors, tfidf_neighbours,
                         torch_sparse)
from .networks import OrientationHistograms, parse_noise
from .selection import LabelledRetrieval, RetrievalAgreement

log = logging.getLogger("hashret")

class HashModel:
    """Learns K-bit binary codes for the items of a corpus.

    >>> model = HashModel(bits=64).fit(corpus)
    >>> codes, embeddings = model.encode(texts_or_images)
    """

    def __init__(self, config: ModelConfig | None = None, **overrides):
        self.config = config or ModelConfig()
        for k, v in overrides.items():
            if not hasattr(self.config, k):
                raise TypeError(f"unknown model setting {k!r}")
            setattr(self.config, k, v)
        check_bits(self.config.bits)
        c = self.config
        if c.kind not in MODEL_KINDS:
            raise UsageError(f"unknown model kind {c.kind!r}; choose one of "
                             f"{', '.join(MODEL_KINDS)}", option="model")
        if c.extra.get("noise") and c.kind != "denoising":
            raise UsageError("{noise} sets the corruption of a denoising model; add "
                             "{model:denoising}", option="noise")
        if c.extra.get("noise"):
            parse_noise(c.extra["noise"], c.modality or "image")
        frac = c.extra.get("labels_fraction")
        if frac is not None and (c.kind != "semi" or not 0 < float(frac) <= 1):
            raise UsageError("{labels_fraction} is a fraction in (0, 1] of the training labels "
                             "a semi-supervised model sees; use it with {model:semi}",
                             option="labels_fraction")
        mirror = c.extra.get("mirror")
        if mirror is not None and (c.kind != "semi" or not 0 <= float(mirror) <= 1):
            raise UsageError(f"{{mirror:{mirror}}}: the share in [0, 1] of each training batch "
                             "of a semi image model mirrored left to right; use it with "
                             "{model:semi}", option="mirror")
        rotation = c.extra.get("rotation", "none")
        if rotation not in ROTATIONS or (rotation != "none" and c.kind not in ("linear", "fa")):
            raise UsageError(f"{{rotation:{rotation}}}: choose none or itq, for the linear and "
                             "fa models (their codes are continuous before thresholding)",
                             option="rotation")
        self.featurizer = None
        self.module: BinaryAutoencoder | None = None
        self.report: TrainReport | None = None
        self.device = torch.device("cpu")
        self.empty_items = 0

    # --- features and batches ----------------------------------------------------------
    @property
    def modality(self) -> str:
        return self.config.modality

    def features(self, items):
        """Featurize raw items: term counts (text) or scaled pixels (images)."""
        if self.featurizer is None:
            raise UsageError("the model is not fitted; call fit() or load() first")
        return self.featurizer.transform(items)

    def _batch(self, feats, device, targets: SparseRows | None = None):
        """Tensors for a batch; ``targets`` replaces the documents' own counts as what the
        decoder reconstructs (used for neighbour reconstruction)."""
        if self.modality == TEXT:
            w = self.featurizer.weight(feats)
            x = tuple(torch.from_numpy(a).to(device)
                      for a in (feats.indices, feats.indptr[:-1], w.data))
            t = feats if targets is None else targets
            return TextBatch(x, torch.from_numpy(t.row_ids()).to(device),
                             torch.from_numpy(t.indices).to(device),
                             torch.from_numpy(t.data).to(device), len(feats))
        return torch.from_numpy(np.ascontiguousarray(feats)).to(device)

    @staticmethod
    def _rows(feats, rows):
        return feats.rows(rows) if isinstance(feats, SparseRows) else feats[rows]

    # --- fitting -------------------------------------------------------------------------
    def _build_module(self):
        c = self.config
        shape = tuple(c.shape) if c.shape else None
        if c.kind in CLASSIC_KINDS:
            return CLASSIC_KINDS[c.kind](c.modality, c.n_features, c.bits, shape)
        noise = None
        if c.kind == "denoising":
            noise = c.extra.get("noise") or defaults.denoising_noise(c.modality)
        classes = c.extra.get("classes") or []
        return BinaryAutoencoder(c.modality, c.bits, n_features=c.n_features, hidden=c.hidden,
                                 shape=shape,
                                 channels=tuple(c.channels) if c.channels else (32, 64),
                                 kl_weight=c.kl_weight,
                                 balance_weight=float(c.extra.get("balance", 0.0)),
                                 word_dropout=float(c.extra.get("word_dropout", 0.0)),
                                 noise=noise, n_classes=len(classes),
                                 multilabel=bool(c.extra.get("multilabel", False)),
                                 class_weight=float(c.extra.get("class_weight", 1.0)),
                                 gradient_weight=c.gradient_weight or 0.0,
                                 gradient_cells=tuple(c.gradient_cells or (7,)),
                                 code_target_weight=c.code_target_weight or 0.0,
                                 convs_per_scale=c.convs_per_scale or 0,
                                 centre_weight=float(c.extra.get("centre_weight", 0.0)),
                                 label_smoothing=float(c.extra.get("label_smoothing", 0.0)))

    def bits_from(self) -> str:
        """How a bit is read off the model, for manifests and ``hashret info``."""
        c = self.config
        if c.kind in ("linear", "fa"):
            return ("ITQ-rotated centred unit > 0" if c.extra.get("rotation") == "itq"
                    else "unit > its training median")
        if c.kind == "sparse":
            return "atom active (lasso coefficient != 0)"
        if self.mirror_share:
            return "mean logit of the image and its mirror image > 0"
        return "logit > 0"

    def options(self) -> dict:
        """The user-facing options of this model kind, defaults filled in."""
        c = self.config
        out = {}
        if c.kind == "denoising":
            out["noise"] = c.extra.get("noise") or defaults.denoising_noise(c.modality)
        if c.kind == "semi":
            out["labels_fraction"] = c.extra.get("labels_fraction", 1.0)
            out["classes"] = len(c.extra.get("classes") or [])
            out["multilabel"] = bool(c.extra.get("multilabel"))
            out["teacher"] = bool(c.extra.get("teacher"))
            out["mirror"] = self.mirror_share
        if c.kind in ("linear", "fa"):
            out["rotation"] = c.extra.get("rotation", "none")
        return out

    @property
    def is_classic(self) -> bool:
        return self.config.kind in CLASSIC_KINDS

    @property
    def has_classifier(self) -> bool:
        return getattr(self.module, "classifier", None) is not None

    def fit(self, corpus, rows=None, device: str = "auto",
            progress: bool = True, on_epoch=None) -> "HashModel":
        """Train on ``rows`` of ``corpus`` (default: its training split), holding out a
        validation part for early stopping. ``on_epoch(model)``, if given, is called after
        each epoch of the main run (to follow the model as it trains: it may encode, and
        training resumes where it was). ``corpus`` may also be a list of texts or an
        image array (:func:`hashret.data.as_corpus`)."""
        c = self.config
        started = time.perf_counter()
        corpus = as_corpus(corpus)
        rows = corpus.training_indices() if rows is None else np.asarray(rows)
        c.modality = corpus.modality
        items = corpus.take(rows)
        if c.modality == TEXT:
            log.info("reading the vocabulary and word counts of %d training documents",
                     len(items))
            self.featurizer = TfidfFeaturizer().fit(items)
            c.n_features = self.featurizer.n_features
            c.hidden = c.hidden or defaults.text_hidden_size(c.n_features)
        else:
            self.featurizer = ImageFeaturizer().fit(items)
            c.shape = list(self.featurizer.shape)
            c.n_features = self.featurizer.n_features
            c.channels = c.channels or list(defaults.image_channels(self.featurizer.shape))
            c.hidden = c.hidden or 512
            if not self.is_classic:
                if c.convs_per_scale is None:
                    c.convs_per_scale = defaults.image_convs_per_scale(c.kind == "semi")
                shape = self.featurizer.shape
                c.gradient_cells = list(c.gradient_cells or defaults.GRADIENT_CELLS)
                if c.gradient_weight is None:
                    c.gradient_weight = defaults.gradient_weight(
                        shape, OrientationHistograms(shape, cells=c.gradient_cells).n_out)
                if c.code_target_weight is None:
                    c.code_target_weight = defaults.code_target_weight(shape)
        # images stay as read until a batch is drawn (a float32 copy of a large image
        # corpus would take four times its memory)
        feats = ImageRows(self.featurizer, items) \
            if c.modality != TEXT and not self.is_classic else self.features(items)
        if c.kl_weight is None:
            c.kl_weight = defaults.text_kl_weight(float(feats.data.sum()) / max(len(feats), 1)) \
                if c.modality == TEXT else 1.0
        self.device = pick_device(device)
        torch.manual_seed(c.seed)
        if self.is_classic:
            return self._fit_classic(feats)
        targets, votes, basis = None, None, None
        n_neighbours = int(c.extra.get("neighbours", defaults.TEXT_NEIGHBOURS))
        rank = int(c.extra.get("neighbour_rank", defaults.TEXT_NEIGHBOUR_RANK))
        if c.modality == TEXT and n_neighbours and len(rows) >= 2:
            t = time.perf_counter()
            basis = latent_basis(self.featurizer, feats, rank) if rank else None
            nbrs = tfidf_neighbours(self.featurizer, feats, n_neighbours, basis=basis)
            log.info("found the %d nearest neighbours of %d training documents in %.1f s",
                     nbrs.shape[1], len(nbrs), time.perf_counter() - t)
            targets = NeighbourhoodCounts(feats, nbrs,
                                          float(c.extra.get("neighbour_weight", 1.0)))
            if c.code_target_weight is None:
                c.code_target_weight = defaults.neighbour_code_weight(targets.mean_words())
            if c.code_target_weight:
                votes = NeighbourCodeVotes(nbrs)
        supervision, taught = None, None
        c.extra.pop("teacher", None)      # a teacher of an earlier fit() does not apply
        if c.kind == "semi":
            supervision = self._label_targets(corpus, rows)
        rng = np.random.default_rng(c.seed)
        order = rng.permutation(len(rows))
        n_val = defaults.validation_size(len(rows))
        val, tr = np.sort(order[:n_val]), np.sort(order[n_val:])
        epochs = c.epochs or defaults.epochs_for(len(tr), c.modality, c.batch_size, c.bits)
        self.module = self._build_module()
        code_targets = None
        if c.modality != TEXT and c.code_target_weight:
            log.info("computing the target bits of %d images from their gradient histograms",
                     len(feats))
            code_targets = gradient_code_targets(
                OrientationHistograms(tuple(c.shape), cells=c.gradient_cells), feats,
                c.bits, tr, seed=c.seed)

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
                logits = self._logits_of(feats, np.arange(len(rows)))
                votes.update(torch.sigmoid(torch.from_numpy(logits)).to(self.device))

        mirror_rng = torch.Generator().manual_seed(c.seed)

        def make_batch(r):
            batch = self._batch(self._rows(feats, r), self.device,
                                None if targets is None else targets.rows(r))
            # mirror_share is 0 until the teacher is trained
            if self.mirror_share and self.module.training:
                batch = mirrored(batch, self.mirror_share, mirror_rng)
            if supervision is None and code_targets is None:
                return batch
            sup = Supervision()
            if supervision is not None:
                y, mask = supervision
                sup.targets = torch.from_numpy(y[r]).to(self.device)
                sup.mask = torch.from_numpy(mask[r]).to(self.device)
                if taught is not None:
                    sup.taught = torch.from_numpy(taught[r]).to(self.device)
            # the votes move every epoch: they stay out of the validation loss, or early
            # stopping would compare losses against different targets
            if code_targets is not None and (votes is None or self.module.training):
                code = code_targets[r]          # votes: none before the first vote
                sup.code = None if code is None else code.to(self.device)
            return batch, sup
        if supervision is not None:
            self._balance_classifier(make_batch, tr)
            c.extra.setdefault("distil", defaults.SEMI_TEACHER[c.modality])
            if c.extra["distil"] and not supervision[1].all() and supervision[1][tr].any():
                taught = self._teach(make_batch, tr, val, supervision, progress)
                c.extra["teacher"]["mirror"] = 0.0 if c.modality == TEXT else \
                    float(c.extra.setdefault("mirror", defaults.SEMI_MIRROR))
        prepare_seconds = time.perf_counter() - started
        choice = defaults.epoch_choice(c.modality, c.kind)
        scorer = self._epoch_scorer(choice, feats, tr, val, basis, supervision)
        score = None if scorer is None else \
            (lambda: scorer.score(lambda r: self._logits_of(feats, r)))
        if on_epoch is not None:
            after_epoch = self._with_callback(after_epoch, on_epoch)
        self.report = train(self.module, make_batch,
                            tr, val, epochs=epochs, batch_size=c.batch_size, lr=c.lr,
                            device=self.device, seed=c.seed, progress=progress,
                            after_epoch=after_epoch,
                            epoch_items=defaults.epoch_items(len(tr), c.modality,
                                                             c.batch_size),
                            patience=defaults.patience_for(len(tr), c.modality,
                                                           c.batch_size),
                            score=score, score_name=getattr(scorer, "name", "score"),
                            # too few (labelled) documents to hold some out for the score:
                            # the whole run, last weights
                            stop_early=score is not None or choice == "loss")
        self.report.train_items, self.report.validation_items = len(tr), len(val)
        self.report.teacher = self.config.extra.get("teacher")
        self.report.prepare_seconds = round(prepare_seconds, 2)
        self.module.to("cpu").eval()
        self.device = torch.device("cpu")
        return self

    def _logits_of(self, feats, rows: np.ndarray) -> np.ndarray:
        """The code logits of ``rows`` of ``feats`` as the model is now, encoded a batch at a
        time; the module's mode is kept."""
        was_training, step = self.module.training, defaults.ENCODE_BATCH_SIZE
        logits = [self.embed_features(self._rows(feats, rows[s:s + step]))
                  for s in range(0, len(rows), step)]
        self.module.train(was_training)
        return np.concatenate(logits) if logits else np.zeros((0, self.config.bits), np.float32)

    def _epoch_scorer(self, choice: str, feats, tr: np.ndarray, val: np.ndarray, basis,
                      supervision):
        """The score that chooses the epoch a run keeps (defaults.EPOCH_CHOICE), or None
        when the run is not chosen by a score or too few items can be held out for it."""
        if choice == "agreement" and len(val) and len(tr):
            return self._retrieval_agreement(feats, tr, val, basis)
        if choice == "labels" and supervision is not None:
            y, usable = supervision
            queries, database = self._score_sample(val[usable[val]], tr[usable[tr]])
            if len(queries) and len(database):
                return LabelledRetrieval(queries, y[queries] > 0, database, y[database] > 0,
                                         depth=defaults.agreement_depth(len(database)))
        return None

    def _score_sample(self, val: np.ndarray, tr: np.ndarray) -> tuple:
        """The seeded samples of validation rows (queries) and training rows (database)
        that an epoch's score is measured on, each in row order."""
        rng = np.random.default_rng(self.config.seed + 2)
        return (np.sort(rng.permutation(val)[:defaults.AGREEMENT_QUERIES]),
                np.sort(rng.permutation(tr)[:defaults.AGREEMENT_DATABASE]))

    def _retrieval_agreement(self, feats, tr: np.ndarray, val: np.ndarray,
                             basis) -> RetrievalAgreement:
        """The label-free score that stops a document model's run: a sample of the
        validation documents querying a sample of the training documents (see
        defaults.EPOCH_CHOICE), in the latent space the neighbours were found in."""
        if basis is None:
            basis = latent_basis(self.featurizer, feats, defaults.TEXT_NEIGHBOUR_RANK)
        queries, database = self._score_sample(val, tr)

        def vectors(r):
            counts = self._rows(feats, r)
            if basis is None:      # a corpus too small for a latent space: TF-IDF rows,
                return self.featurizer.weight(counts).toarray()      # already unit length
            return latent_vectors(self.featurizer, counts, basis)
        return RetrievalAgreement(queries, vectors(queries), database, vectors(database),
                                  depth=defaults.agreement_depth(len(database)))

    def _with_callback(self, after_epoch, on_epoch):
        """``after_epoch`` followed by ``on_epoch(self)``, the module's mode and the random
        state of torch kept across the call, so that the run goes on as without it."""
        def both():
            if after_epoch is not None:
                after_epoch()
            was_training = self.module.training
            with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda"
                                       else []):
                on_epoch(self)
            self.module.train(was_training)
        return both

    def _label_targets(self, corpus: Corpus, rows: np.ndarray):
        """Multi-hot training labels and the mask of those the model may use (all labelled
        items, or a seeded random ``labels_fraction`` of them)."""
        c = self.config
        labels = [corpus.labels[i] for i in rows]
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
        y = np.zeros((len(rows), len(classes)), np.float32)
        for i, ls in enumerate(labels):
            for lab in ls:
                y[i, index[lab]] = 1
        mask = y.any(1)
        frac = c.extra.get("labels_fraction")
        if frac is not None:
            rng = np.random.default_rng(c.seed + 1)
            labelled = np.flatnonzero(mask)
            keep = rng.choice(labelled, max(1, round(float(frac) * len(labelled))),
                              replace=False)
            mask = np.zeros_like(mask)
            mask[keep] = True
        c.extra["classes"] = classes
        c.extra.setdefault("centre_weight", defaults.SEMI_CENTRE_WEIGHT)
        c.extra["multilabel"] = bool((y.sum(1) > 1).any())
        if not c.extra["multilabel"]:
            c.extra.setdefault("label_smoothing", defaults.SEMI_LABEL_SMOOTHING)
        c.extra["labelled_items"] = int(mask.sum())
        return y, mask

    def _teach(self, make_batch, tr, val, supervision, progress: bool) -> np.ndarray:
        """Train a teacher on the labelled items alone and return its class probabilities
        for every training item: the classification targets of the items without labels
        (see defaults.SEMI_TEACHER_EPOCHS). The teacher is a copy of the untrained network
        fitting only the label terms; the held-out labelled items measure its accuracy."""
        c = self.config
        y, mask = supervision
        labelled_tr, labelled_val = tr[mask[tr]], val[mask[val]]
        teacher = copy.deepcopy(self.module)
        log.info("training a teacher on the %d labelled training items", len(labelled_tr))
        # no early stopping on held-out items (only once the training loss stops falling):
        # their cross-entropy turns up after a few passes while their accuracy still
        # climbs (BENCHMARKS.md "A teacher for semi"); they only measure the teacher
        report = train(_LabelTerms(teacher), make_batch, labelled_tr, labelled_val[:0],
                       epochs=defaults.teacher_epochs(len(labelled_tr)),
                       batch_size=defaults.SEMI_TEACHER_BATCH_SIZE, lr=c.lr,
                       device=self.device, seed=c.seed, progress=progress,
                       desc="training the teacher")
        out = []
        with torch.no_grad():
            for s in range(0, len(y), defaults.ENCODE_BATCH_SIZE):
                batch, _ = make_batch(np.arange(s, min(s + defaults.ENCODE_BATCH_SIZE, len(y))))
                x = batch.x if isinstance(batch, TextBatch) else batch
                out.append(teacher.class_logits((teacher.logits(x) > 0).float()).cpu())
        out = torch.cat(out)
        info = {"labelled_items": int(len(labelled_tr)), "epochs": report.epochs_run,
                "best_epoch": report.best_epoch, "seconds": round(report.seconds, 2)}
        if len(labelled_val):
            # right when a predicted class is a true one
            pred = predicted_classes(out[labelled_val], teacher.multilabel)
            info["validation_accuracy"] = round(float(
                (pred & (y[labelled_val] > 0)).any(1).mean()), 4)
        c.extra["teacher"] = info
        log.info("teacher: %s", info)
        probs = torch.sigmoid(out) if teacher.multilabel else torch.softmax(out, 1)
        return probs.numpy().astype(np.float32)

    @torch.no_grad()
    def _balance_classifier(self, make_batch, rows):
        """Weight the classification term so that it starts equal to the reconstruction
        term (their scales differ by orders of magnitude and with the corpus: nats of a
        whole document or image against nats of one label), derived here from the data."""
        sample = np.sort(np.random.default_rng(self.config.seed).permutation(rows)[:1024])
        self.module.to(self.device).train()
        terms = self.module.loss_terms(make_batch(sample))
        if "classification" in terms:
            rec = float(self.module.reconstruction_loss(terms))
            w = rec / max(float(terms["classification"]), 1e-6)
            self.module.class_weight = w * defaults.SEMI_CLASS_WEIGHT
            self.config.extra["class_weight"] = self.module.class_weight

    def _fit_classic(self, feats) -> "HashModel":
        """Closed-form / EM fit of the linear, fa and sparse models on all training rows."""
        c = self.config
        start = time.perf_counter()
        if c.modality == TEXT:
            w = self.featurizer.weight(feats)
            coo = torch_sparse(w).to_sparse_coo().double()
            x = FeatureMatrix(coo)
        else:
            x = FeatureMatrix(torch.from_numpy(np.ascontiguousarray(feats))
                              .reshape(len(feats), -1).double())
        if c.kind == "linear" and c.bits >= x.d:
            raise UsageError(f"a linear autoencoder with {c.bits} bits for {x.d}-dimensional "
                             "input can learn the identity; use fewer bits than input "
                             "dimensions")
        if c.kind == "fa" and c.bits >= x.d:
            raise UsageError(f"factor analysis needs fewer factors ({c.bits} bits) than input "
                             f"dimensions ({x.d}); use fewer bits")
        if c.kind == "sparse" and c.bits // 2 > x.d:
            raise UsageError(f"sparse coding of {c.bits} bits works on a {c.bits // 2}-"
                             f"dimensional projection of the input, but the input has {x.d} "
                             "dimensions; use fewer bits")
        self.module = self._build_module().double()
        # --epochs caps the fit's iterations (least-squares rounds, EM steps, dictionary
        # rounds); by default each runs until it converges or its own limit
        history = self.module.fit(x, seed=c.seed, **({} if c.epochs is None
                                                     else {"iters": int(c.epochs)}))
        if c.kind in ("linear", "fa"):
            h = x.mm(self.module.encoder.t())
            self.module.set_binarisation(h, c.extra.get("rotation", "none"), seed=c.seed)
        self.module = self.module.float().eval()
        self.report = TrainReport(device="cpu", threads=torch.get_num_threads(),
                                  epochs_run=len(history), seconds=time.perf_counter() - start,
                                  train_items=len(feats))
        self.report.objective = history
        return self

    # --- inference -----------------------------------------------------------------------
    def _require_module(self):
        if self.module is None:
            raise UsageError("the model is not fitted; call fit() or load() first")

    @torch.no_grad()
    def embed(self, items) -> np.ndarray:
        """The continuous code before binarisation (bit = embedding > 0), float32 (n, K)."""
        return self.embed_features(self.features(items))

    @torch.no_grad()
    def embed_features(self, feats) -> np.ndarray:
        self._require_module()
        self.module.eval()
        batch = self._batch(feats, self.device)
        x = batch.x if isinstance(batch, TextBatch) else batch
        logits = self._encoding_logits(x)
        if self.mirror_share:
            # a model trained on mirrored images too codes the mean of an image's logits and
            # its mirror image's (see defaults.SEMI_MIRROR): an image and its mirror image
            # get one code, and the two views' errors partly cancel
            logits = (logits + self._encoding_logits(x.flip(-1))) / 2
        return logits.float().cpu().numpy()

    def _encoding_logits(self, x) -> torch.Tensor:
        """The module's code logits of ``x``; images on a CPU a small chunk at a time (see
        defaults.IMAGE_FORWARD_CHUNK)."""
        step = defaults.IMAGE_FORWARD_CHUNK
        if isinstance(x, torch.Tensor) and x.dim() == 4 and x.device.type == "cpu" \
                and len(x) > step:
            return torch.cat([self.module.logits(x[s:s + step]) for s in range(0, len(x), step)])
        return self.module.logits(x)

    @property
    def mirror_share(self) -> float:
        """Share of each training batch that was mirrored (0: none)."""
        return float((self.config.extra.get("teacher") or {}).get("mirror", 0.0))

    def classifier_accuracy(self, corpus: Corpus, rows, codes: np.ndarray) -> float | None:
        """Share of labelled ``rows`` whose predicted labels include a true one (single-label:
        plain accuracy)."""
        if not self.has_classifier:
            return None
        labelled = [i for i, r in enumerate(rows) if corpus.labels[r]]
        if not labelled:
            return None
        pred = self.predict_labels(codes[labelled])
        hits = sum(bool(set(p) & set(corpus.labels[rows[i]]))
                   if self.config.extra.get("multilabel") else p == list(corpus.labels[rows[i]])
                   for p, i in zip(pred, labelled))
        return hits / len(labelled)

    def _embed_counting_empty(self, items) -> np.ndarray:
        """:meth:`embed`, adding the documents with no vocabulary word (coded from biases
        alone) to ``empty_items``."""
        feats = self.features(items)
        if isinstance(feats, SparseRows):
            self.empty_items += int((np.diff(feats.indptr) == 0).sum())
        return self.embed_features(feats)

    def encode(self, items, batch_size: int = defaults.ENCODE_BATCH_SIZE):
        """``(codes, embeddings)``: packed uint8 codes (n, K/8) and float32 (n, K).

        Counts ``empty_items``: documents with no vocabulary word."""
        self.empty_items = 0
        embs = [self._embed_counting_empty(items[s:s + batch_size])
                for s in range(0, len(items), batch_size)]
        emb = np.concatenate(embs) if embs else np.zeros((0, self.config.bits), np.float32)
        return pack_bits(emb > 0), emb

    def iter_encode(self, corpus: Corpus, batch_size: int = defaults.ENCODE_BATCH_SIZE,
                    progress: bool = True):
        """Encode a corpus batch by batch, yielding ``(rows, codes, embeddings)``: only
        one batch of items and features is held at a time.

        Counts ``empty_items``: documents with no vocabulary word (coded from biases
        alone)."""
        self.check_modality(corpus.modality)
        self.empty_items = 0
        with progress_bar(total=len(corpus), desc="encoding", unit="item", disable=not progress,
                  leave=False) as bar:
            for rows, items in corpus.batches(batch_size):
                emb = self._embed_counting_empty(items)
                yield rows, pack_bits(emb > 0), emb
                bar.update(len(rows))

    def encode_corpus(self, corpus: Corpus, batch_size: int = defaults.ENCODE_BATCH_SIZE,
                      progress: bool = True):
        """``(codes, embeddings)`` of a whole corpus, in memory."""
        codes = np.zeros((len(corpus), self.config.bits // 8), np.uint8)
        emb = np.zeros((len(corpus), self.config.bits), np.float32)
        for rows, c, e in self.iter_encode(corpus, batch_size, progress):
            codes[rows], emb[rows] = c, e
        return codes, emb

    def check_modality(self, modality: str):
        """Refuse input of the other modality (text for an image model, or images for a
        document model)."""
        if modality != self.modality:
            raise UsageError(f"this model encodes {self.modality} but the input is "
                             f"{modality}; give {self.modality} input or build another index")

    @torch.no_grad()
    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Decode packed codes: word probabilities (n, V) or images (n, h, w, c) in [0, 1]."""
        self._require_module()
        z = torch.from_numpy(unpack_bits(codes).astype(np.float32))
        out = self.module.decode(z)
        if self.modality == TEXT:
            return (out.exp() if self.module.log_prob_decoder else out).numpy()
        return out.permute(0, 2, 3, 1).numpy()

    @torch.no_grad()
    def predict_labels(self, codes: np.ndarray) -> list[list[str]]:
        """Labels the classifier head predicts from packed codes (semi-supervised models):
        the most likely class, or every class above 1/2 (at least one) when multi-label."""
        if not self.has_classifier:
            raise UsageError("this model has no classifier; build it with {model:semi}",
                             option="model")
        z = torch.from_numpy(unpack_bits(codes).astype(np.float32))
        on = predicted_classes(self.module.class_logits(z),
                               bool(self.config.extra.get("multilabel")))
        classes = self.config.extra["classes"]
        return [[classes[j] for j in np.flatnonzero(row)] for row in on]

    # --- persistence ---------------------------------------------------------------------
    def save(self, path) -> None:
        """Write ``config.json``, ``featurizer.json`` and ``model.safetensors`` into a folder.

        Weights are safetensors (tensors only), configs JSON: loading never runs code."""
        from safetensors.torch import save_file
        self._require_module()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()}
        save_file(state, str(path / WEIGHTS_FILE))
        (path / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2))
        (path / FEATURIZER_FILE).write_text(json.dumps(self.featurizer.to_dict()))

    @classmethod
    def load(cls, path, featurizer=None) -> "HashModel":
        """The model saved in ``path``; ``featurizer``, when given, is its
        ``featurizer.json`` already read (an index opened without its network has it)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        path = Path(path)
        cfg, feat = read_model_json(path, featurizer=featurizer is None)
        try:
            config = ModelConfig(**cfg)
            _check_sizes(config)
            model = cls(config)
            model.featurizer = featurizer if featurizer is not None else featurizer_from_dict(feat)
            model.module = model._build_module()
        except Exception as e:  # noqa: BLE001 - any field of the wrong kind or size
            raise BundleError(f"{path}: model configuration not understood "
                              f"({type(e).__name__}: {str(e)[:80]}); it was written by another "
                              "hashret version or damaged: rebuild the index") from None
        try:
            state = load_file(str(path / WEIGHTS_FILE))
            model.module.load_state_dict(state)
        except FileNotFoundError:
            raise BundleError(f"{path}: missing {WEIGHTS_FILE}; rebuild the index") from None
        except (SafetensorError, RuntimeError, OSError, ValueError) as e:
            raise BundleError(f"{path}: {WEIGHTS_FILE} is damaged or does not match the "
                              f"configuration ({str(e)[:100]}); rebuild the index") from None
        model.module.eval()
        return model


def mirrored(images: torch.Tensor, share: float, rng: torch.Generator) -> torch.Tensor:
    """A copy of a (n, c, h, w) batch with a random ``share`` of its images mirrored left
    to right (see defaults.SEMI_MIRROR)."""
    flip = (torch.rand(len(images), generator=rng) < share).to(images.device)
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def predicted_classes(class_logits: torch.Tensor, multilabel: bool) -> np.ndarray:
    """(n, C) booleans: each item's most likely class and, when multi-label, every class
    above probability 1/2 as well."""
    on = torch.zeros_like(class_logits, dtype=torch.bool)
    on[torch.arange(len(class_logits)), class_logits.argmax(1)] = True
    if multilabel:
        on |= torch.sigmoid(class_logits) > 0.5
    return on.cpu().numpy()


class _LabelTerms(torch.nn.Module):
    """A network seen through its label terms only (what :func:`train` minimises for a
    teacher)."""

    def __init__(self, net: BinaryAutoencoder):
        super().__init__()
        self.net = net

    def loss(self, batch) -> torch.Tensor:
        return self.net.label_loss(batch)


def _check_sizes(c: ModelConfig) -> None:
    """Refuse sizes no real model has before allocating them (a damaged config.json must
    not make the loader allocate terabytes)."""
    def ok(v, hi):
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= hi
    if c.modality not in (TEXT, IMAGE) or not ok(c.n_features, 50_000_000) \
            or not ok(c.hidden, 65_536):
        raise ValueError("modality, n_features or hidden out of range")
    if c.modality == IMAGE and (not isinstance(c.shape, list) or len(c.shape) != 3
                                or not all(ok(v, 8192) and v > 0 for v in c.shape)
                                or not isinstance(c.channels, list) or not 1 <= len(c.channels) <= 6
                                or not all(ok(v, 4096) and v > 0 for v in c.channels)
                                or not (c.convs_per_scale is None or ok(c.convs_per_scale, 8))):
        raise ValueError("image shape, channels or convolutions out of range")
