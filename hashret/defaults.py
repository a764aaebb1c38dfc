"""Every default that depends on the corpus, derived from the data in this one place.

hashret never switches settings per named dataset: a new corpus gets its hyperparameters
from its size, vocabulary and image shape through the functions below. The constants were
chosen on validation splits carved out of training splits, never on a test split; each says
in one line why it is what it is, and where the study that chose it is (docs/studies/).
"""

from __future__ import annotations

import math

# --- featurizers ---------------------------------------------------------------------------
VOCABULARY_SIZE = 10_000          # TF-IDF over the 10,000 most frequent training terms
MAX_IMAGE_SIDE = 64               # larger images are resized to this longest side


def capped_image_size(h: int, w: int) -> tuple[int, int]:
    """(h, w) scaled down, aspect kept, so that the longer side is at most MAX_IMAGE_SIDE."""
    scale = min(1.0, MAX_IMAGE_SIDE / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


# --- the training run ---------------------------------------------------------------------
DEFAULT_BITS = 64
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
VALIDATION_FRACTION = 0.1         # carved out of the training split for early stopping
MAX_VALIDATION_ITEMS = 5_000
# Epochs without improvement before a run stops; documents wait at least PATIENCE_STEPS
# steps, since they can sit on a plateau first (2026-11-30-early-stopping-on-small-corpora).
PATIENCE = 5
PATIENCE_STEPS = {"text": 500, "image": 0, "vector": 0}
# Steps a run aims for: document precision peaks near 2,000, images still gain at 4,000
# (2026-11-27-choosing-the-run-length).
TARGET_STEPS = {"text": 2_000, "image": 4_000, "vector": 4_000}
# Document codes under 32 bits are still improving at 2,000 steps: twice as many
# (2026-11-27-choosing-the-run-length).
SHORT_TEXT_CODE_BITS = 32
SHORT_TEXT_CODE_STEP_FACTOR = 2
# Large document corpora go on gaining with passes: at least 10, capped in steps
# (2026-12-01-wordnet-definitions).
MIN_TEXT_PASSES = 10
MAX_TEXT_STEPS = 10_000
# The epoch a run keeps, by (modality, kind); others stop on the validation loss. Document
# models' loss does not follow their retrieval: "agreement" scores held-out documents'
# retrieval in the latent space (2026-12-01-choosing-the-epoch-without-labels), "labels"
# their labelled retrieval mAP (2026-12-02-stopping-semi-document-models-by-labelled-retrieval).
EPOCH_CHOICE = {("text", "deep"): "agreement", ("text", "semi"): "labels"}
AGREEMENT_QUERIES = 1_000         # held-out documents that query, at most
AGREEMENT_DATABASE = 20_000       # training documents they query, at most
AGREEMENT_DEPTH = 100             # top ranks scored (a tenth of a smaller database)
MIN_EPOCHS, MAX_EPOCHS = 5, 200
ENCODE_BATCH_SIZE = 1_024
# Convolutions over 64 images at a time stay in cache when encoding on a CPU: 2-4x as fast
# (2026-11-30-encoding-images-in-small-chunks).
IMAGE_FORWARD_CHUNK = 64

# --- document neighbours ------------------------------------------------------------------
# Neighbours whose words the decoder also reconstructs and whose bits vote; 20 beat 10 on
# most validation corpora (2026-11-30-twenty-neighbours).
TEXT_NEIGHBOURS = 20
# Neighbours by cosine in a rank-64 latent semantic space, not raw TF-IDF (Reuters +0.004,
# short descriptions +0.08 validation P@100; 2026-11-30-neighbours-in-a-latent-semantic-space).
TEXT_NEIGHBOUR_RANK = 64
# The neighbours' share of what the decoder reconstructs, against the item's own
# (documents: as much as their own, as NbrReg weighs them; vectors: see
# VECTOR_CODE_TARGET_WEIGHT).
NEIGHBOUR_WEIGHT = {"text": 1.0, "vector": 0.3}
# Exact neighbour search up to 200,000 documents, an inverted-file index beyond (its lists,
# training sample and probes: 2026-11-30-building-large-document-indexes).
EXACT_NEIGHBOUR_ITEMS = 200_000
NEIGHBOUR_LISTS_PER_SQRT = 4
NEIGHBOUR_TRAIN_PER_LIST = 50
NEIGHBOUR_PROBES = 16

# --- semi-supervised models ---------------------------------------------------------------
SEMI_CLASS_WEIGHT = 1.0           # classification term / reconstruction term at the start
# Labelled items' bits pulled toward their class's hash centre (2026-11-30-hash-centres-for-semi).
SEMI_CENTRE_WEIGHT = 1.0
# Smoothed single-label targets stop pushing right logits further (2026-11-30-label-smoothing-for-semi).
SEMI_LABEL_SMOOTHING = 0.1
# A teacher on the labelled images gives the others targets; documents lost with one
# (2026-11-30-a-teacher-for-semi). ``SemiOptions.distil`` overrides.
SEMI_TEACHER = {"image": True, "text": False, "vector": False}
SEMI_TEACHER_EPOCHS = 30
SEMI_TEACHER_BATCH_SIZE = 64
SEMI_TEACHER_STEPS = 3_000
# After the teacher, half of each image batch mirrored, and codes from both views
# (2026-11-30-mirrored-batches-after-the-teacher). ``SemiOptions.mirror`` sets it; 0 turns it off.
SEMI_MIRROR = 0.5
# The label pipeline (a logistic regression on the labelled items' input features, its class
# probabilities beside the features' top principal components, then PCA+ITQ): eval's
# baseline for semi, and, where SEMI_PIPELINE_TARGET says, the target bits semi's code layer
# is pulled toward (2026-12-07-a-label-pipeline-baseline-for-semi). Its principal
# components, its inverse L2 strength (scikit-learn's C) and the probabilities' weight.
PIPELINE_COMPONENTS = 64
PIPELINE_C = 100.0
PIPELINE_LABEL_WEIGHT = 2.0
SEMI_PIPELINE_TARGET = {"image": False, "text": True, "vector": False}
# the weight of that pull, per bit and item, in place of the neighbours' votes' (chosen on
# validation in the same study)
SEMI_PIPELINE_TARGET_WEIGHT = 4.0
# The pipeline's class probabilities of each training document, for those targets, are
# averaged with the labels spread to it over the documents' neighbour graph (label
# spreading's alpha; 0: the classifier alone), LABEL_SPREAD_ITERATIONS steps; alpha chosen
# on validation (2026-12-07-label-spreading-for-semi-targets).
SEMI_LABEL_SPREAD = 0.5
LABEL_SPREAD_ITERATIONS = 20


def teacher_epochs(n_labelled: int) -> int:
    """Passes of a semi model's teacher over its labelled items (see SEMI_TEACHER_EPOCHS)."""
    steps_per_epoch = max(1, math.ceil(n_labelled / SEMI_TEACHER_BATCH_SIZE))
    return int(min(SEMI_TEACHER_EPOCHS,
                   max(MIN_EPOCHS, round(SEMI_TEACHER_STEPS / steps_per_epoch))))


# --- queries --------------------------------------------------------------------------------
# A query by example re-ranks its 10 x k nearest by Hamming distance (at least 100) by its
# code logits (2026-12-01-re-ranking-by-an-asymmetric-distance).
RERANK_CANDIDATES_PER_RESULT = 10
RERANK_MIN_CANDIDATES = 100

# --- denoising --------------------------------------------------------------------------------
IMAGE_NOISE = "gaussian:0.3"      # denoising corruption of pixels in [0, 1]
TEXT_NOISE = "mask:0.3"           # denoising corruption of documents: drop 30% of the words
VECTOR_NOISE = "gaussian:0.5"     # of vectors, whose dimensions have unit variance on average

# --- image models ---------------------------------------------------------------------------
# Gradient-histogram reconstruction, per value against one pixel's cross-entropy
# (Fashion-MNIST validation mAP 0.698 -> 0.744; 2026-11-27-oriented-gradient-reconstruction-for-images).
GRADIENT_WEIGHT = 64.0
# Histograms at 7 and 10 cells to the shorter side, whatever the image size (same study).
GRADIENT_CELLS = (7, 10)
# Bits pulled toward the ITQ code of the histograms, per bit against a whole image's
# reconstruction (0.747 -> 0.772; 2026-11-27-gradient-histogram-code-targets-for-images).
CODE_TARGET_WEIGHT = 10.0 / (28 * 28)

# --- document code votes ------------------------------------------------------------------
# Bits pulled toward the neighbours' vote, per bit against one target word
# (Reuters 0.752 -> 0.761; 2026-11-29-neighbour-code-votes-for-documents).
NEIGHBOUR_CODE_WEIGHT = 0.5 / 144
# Steps before the first vote, while bits hardly differ between documents (same study).
VOTE_WARM_UP_STEPS = 50


def vote_warm_up_epochs(n_train: int, batch_size: int = BATCH_SIZE) -> int:
    """Epochs a document model trains before its neighbours' bits first vote."""
    return max(1, math.ceil(VOTE_WARM_UP_STEPS / max(1, math.ceil(n_train / batch_size))))


def neighbour_code_weight(mean_target_words: float) -> float:
    """Weight of each bit's pull toward its neighbours' vote, for documents whose decoder
    targets hold ``mean_target_words`` words on average."""
    return NEIGHBOUR_CODE_WEIGHT * max(mean_target_words, 0.0)


def code_target_weight(shape) -> float:
    """Weight of each bit's pull toward its gradient-histogram target bit for images of
    ``shape`` (h, w, c); none for images too small for cells of gradients."""
    h, w, c = shape
    return 0.0 if min(h, w) < 8 else CODE_TARGET_WEIGHT * h * w * c


def gradient_weight(shape, n_gradient_features: int) -> float:
    """Total weight of the oriented-gradient term for images of ``shape`` (h, w, c) whose
    histograms have ``n_gradient_features`` values; none for images under 8 pixels a side,
    too small for cells of gradients."""
    h, w, c = shape
    if min(h, w) < 8 or n_gradient_features <= 0:
        return 0.0
    return GRADIENT_WEIGHT * h * w * c / n_gradient_features


def denoising_noise(modality: str) -> str:
    """The default corruption of a denoising model."""
    return {"text": TEXT_NOISE, "vector": VECTOR_NOISE}.get(modality, IMAGE_NOISE)


def validation_size(n_train: int) -> int:
    """Items held out of the training split for early stopping (none for tiny corpora)."""
    if n_train < 20:
        return 0
    return min(MAX_VALIDATION_ITEMS, max(1, round(n_train * VALIDATION_FRACTION)))


def epoch_items(n_train: int, modality: str, batch_size: int = BATCH_SIZE) -> int:
    """Items one epoch visits: the whole training part, up to ``TARGET_STEPS[modality] /
    MIN_EPOCHS`` batches of it (51,200 documents, 102,400 images); beyond, each epoch is a
    fresh random sample of that many. So a run's length is set in steps
    (:func:`target_steps`), whatever the corpus size: whole epochs of a million documents
    would take 35,000 steps at the least (2026-11-30-building-large-document-indexes)."""
    return int(min(n_train, math.ceil(TARGET_STEPS[modality] / MIN_EPOCHS) * batch_size))


def target_steps(modality: str, bits: int = DEFAULT_BITS, n_train: int = 0,
                 batch_size: int = BATCH_SIZE) -> int:
    """Optimisation steps a default run aims for: ``TARGET_STEPS[modality]``, more for
    short document codes (see SHORT_TEXT_CODE_BITS), and for documents enough for
    MIN_TEXT_PASSES passes over the ``n_train`` training documents, up to MAX_TEXT_STEPS."""
    steps = TARGET_STEPS[modality]
    if modality == "text" and bits < SHORT_TEXT_CODE_BITS:
        steps *= SHORT_TEXT_CODE_STEP_FACTOR
    if modality == "text":
        passes = MIN_TEXT_PASSES * math.ceil(n_train / batch_size)
        steps = max(steps, min(MAX_TEXT_STEPS, passes))
    return steps


def epochs_for(n_train: int, modality: str, batch_size: int = BATCH_SIZE,
               bits: int = DEFAULT_BITS) -> int:
    """Epochs so that a run takes about :func:`target_steps` steps: small corpora get more
    passes, large ones fewer (of at most :func:`epoch_items` items each); early stopping
    ends it sooner when validation stops improving."""
    steps = target_steps(modality, bits, n_train, batch_size)
    steps_per_epoch = max(1, math.ceil(epoch_items(n_train, modality, batch_size) / batch_size))
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, round(steps / steps_per_epoch))))


def epoch_choice(modality: str, kind: str) -> str:
    """How a model's run chooses the epoch it keeps: ``agreement``, ``labels`` or ``loss``
    (see EPOCH_CHOICE)."""
    return EPOCH_CHOICE.get((modality, kind), "loss")


def agreement_depth(n_database: int) -> int:
    """How many of the retrieved training documents the agreement score averages over."""
    return max(1, min(AGREEMENT_DEPTH, n_database // 10))


def patience_for(n_train: int, modality: str, batch_size: int = BATCH_SIZE) -> int:
    """Epochs without validation improvement before training stops (see PATIENCE)."""
    steps_per_epoch = max(1, math.ceil(epoch_items(n_train, modality, batch_size)
                                       / batch_size))
    return max(PATIENCE, math.ceil(PATIENCE_STEPS[modality] / steps_per_epoch))


# --- long documents ---------------------------------------------------------------------------
# Beyond 150 vocabulary words a document on average the KL weight grows with the length, or
# long documents all get one code (2026-12-01-long-documents).
KL_REFERENCE_WORDS = 150


def text_kl_weight(mean_words: float) -> float:
    """Weight of a document model's KL term for training documents of ``mean_words``
    vocabulary words on average (see KL_REFERENCE_WORDS)."""
    return max(1.0, float(mean_words) / KL_REFERENCE_WORDS)


def text_hidden_size(n_features: int) -> int:
    """Width of the document encoder's hidden layers: grows with the vocabulary, 128-512."""
    return int(min(512, max(128, 2 ** round(math.log2(max(n_features, 1) / 20)))))


# --- vectors (embeddings) ----------------------------------------------------------------------
VECTOR_FIT_SAMPLE = 100_000       # training vectors the featurizer's mean and scale come from
# Vectors: the code layer is pulled toward the PCA + ITQ bits of the vectors (a cross-entropy
# summed over bits, weight 2), while the decoder reconstructs each vector and, at 0.3 of its weight, the
# mean of its 20 nearest neighbours (TEXT_NEIGHBOURS): beats PCA+ITQ on label precision and
# on recall of the exact top-10, where neighbour votes (as for documents) lose on recall
# (2026-12-07-codes-for-vectors).
VECTOR_CODE_TARGET_WEIGHT = 2.0


# Documents through a sentence encoder (--features minilm): windows read of a long document,
# windows a forward pass, and texts whose vectors a process keeps (a build reads its
# training documents twice)
SENTENCE_MAX_WINDOWS = 16
SENTENCE_BATCH_SIZE = 32
SENTENCE_MEMO_ITEMS = 200_000


def vector_hidden_size(dim: int) -> int:
    """Width of the vector encoder's and decoder's hidden layers: twice the dimension,
    256-1,024."""
    return int(min(1024, max(256, 2 * dim)))


# --- image encoders ---------------------------------------------------------------------------
# Models with a classifier (semi) take two batch-normalised convolutions a scale; labels put
# the depth to use, unsupervised models do not gain (2026-11-29-a-deeper-image-encoder-for-semi).
CLASSIFIER_CONVS_PER_SCALE = 2


def image_convs_per_scale(has_classifier: bool) -> int:
    """Convolutions per scale of an image encoder; 0 = one strided convolution a scale."""
    return CLASSIFIER_CONVS_PER_SCALE if has_classifier else 0


# Images whose shorter side passes 32 pixels get a third scale, so the dense layer reads
# 8 x 8 maps (2026-12-02-a-third-scale-for-larger-images).
THIRD_SCALE_SIDE = 32


def image_channels(shape: tuple[int, int, int]) -> tuple[int, ...]:
    """Output channels of the image encoder's convolutions, one entry a scale (each scale
    halves the image; see THIRD_SCALE_SIDE)."""
    h, w, c = shape
    base = (32, 64) if h * w <= 64 * 64 else (16, 32)
    return base + base[-1:] if min(h, w) > THIRD_SCALE_SIDE else base
