"""Every default that depends on the corpus, derived from the data in this one place.

hashret never switches settings per named dataset: a new corpus gets its hyperparameters
from its size, vocabulary and image shape through the functions below. The constants were
chosen on validation splits carved out of training splits (see docs/BENCHMARKS.md), never
on a test split.
"""

from __future__ import annotations

import math

# Featurizers
VOCABULARY_SIZE = 10_000          # TF-IDF over the 10,000 most frequent training terms
MAX_IMAGE_SIDE = 64               # larger images are resized to this longest side


def capped_image_size(h: int, w: int) -> tuple[int, int]:
    """(h, w) scaled down, aspect kept, so that the longer side is at most MAX_IMAGE_SIDE."""
    scale = min(1.0, MAX_IMAGE_SIDE / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))

# Training
DEFAULT_BITS = 64
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
VALIDATION_FRACTION = 0.1         # carved out of the training split for early stopping
MAX_VALIDATION_ITEMS = 5_000
# Early stopping: training ends after PATIENCE epochs without a lower validation loss or,
# for documents, after PATIENCE_STEPS[modality] steps without one when that is longer (short
# epochs of a small corpus). A document model can sit on a plateau for a few hundred steps
# before its bits start to carry information (docs/studies/2026-11-30-early-stopping-on-small-corpora.md: on 4,672 Japanese package descriptions, 33 steps an epoch, the validation loss
# rose for six epochs and then fell below its first minimum; stopping after five epochs
# left every document with the same code). Image models on small sets are not given more:
# on the 8 x 8 digits (10 steps an epoch) 1,000 steps' patience trained them about three
# times as long, to a lower validation loss and worse codes (validation mAP@1000, seeds
# 0 / 1 / 2: 0.749 / 0.727 / 0.751 with 5 epochs, 0.689 / 0.682 / 0.695 with 100). A `deep`
# document model counts its patience on another score than the validation loss
# (EPOCH_CHOICE below).
PATIENCE = 5
PATIENCE_STEPS = {"text": 500, "image": 0}
# Optimisation steps a default training run aims for, by modality (validation, docs/studies/2026-11-27-choosing-the-run-length.md): the document model's validation precision peaks at about
# 1,000-2,000 steps and falls after, while its validation loss still improves (it starts to
# fit the training documents' own words); the convolutional image model still gains at
# 4,000 steps, and more steps gain little against the training time they cost.
TARGET_STEPS = {"text": 2_000, "image": 4_000}
# Document codes shorter than SHORT_TEXT_CODE_BITS take SHORT_TEXT_CODE_STEP_FACTOR times
# as many steps: with few bits the validation precision is still rising at 2,000 steps
# (docs/studies/2026-11-27-choosing-the-run-length.md; Reuters validation P@100 at 16 bits, seeds
# 0 / 1 / 2: 0.7185 / 0.7447 / 0.7281 after 2,000 steps, 0.7312 / 0.7455 / 0.7395 after
# 4,000; at 32 bits 0.7550 / 0.7617 / 0.7590 after 2,000 and 0.7561 / 0.7611 / 0.7574
# after 2,850, no gain).
SHORT_TEXT_CODE_BITS = 32
SHORT_TEXT_CODE_STEP_FACTOR = 2
# A document model also passes over its training documents at least MIN_TEXT_PASSES times,
# up to MAX_TEXT_STEPS steps: 2,000 steps are 33 passes over Reuters' 7,000 training
# documents but under four over WordNet's 69,000 definitions, which go on gaining with
# passes (docs/studies/2026-12-01-wordnet-definitions.md, validation P@100 / mAP@1000 at 64 bits:
# 0.3291 / 0.3144 after 3.7 passes, 0.3536 / 0.3398 after 7.4, 0.3797 / 0.3586 after 15,
# 0.3975 / 0.3709 after 30); on Debian's 42,000 descriptions 6 / 12 / 24 passes give
# 0.4287 / 0.4169, 0.4281 / 0.4124, 0.4211 / 0.4008, so the floor is set low, where the
# one gains and the other hardly loses. The cap bounds the time on corpora of millions.
MIN_TEXT_PASSES = 10
MAX_TEXT_STEPS = 10_000
# How a run chooses the epoch whose weights it keeps, by (modality, model kind); every other
# model stops on its validation loss ("loss": PATIENCE epochs without a lower one end the
# run, which returns to its lowest).
# - "agreement", unsupervised document models: the run stops by retrieval agreement
#   (hashret.training.selection.RetrievalAgreement): up to AGREEMENT_QUERIES validation
#   documents query up to AGREEMENT_DATABASE training documents by Hamming distance, and the
#   score is the mean cosine, in the latent semantic space of the neighbours
#   (TEXT_NEIGHBOUR_RANK), between a query and its top AGREEMENT_DEPTH (a tenth of a smaller
#   database). PATIENCE epochs (PATIENCE_STEPS) without a higher score end the run and return
#   it to its highest epoch; a run that goes its whole length keeps its last weights. Their
#   validation loss does not follow their retrieval: on WordNet at 128 bits it turned up
#   after the third epoch while validation precision still rose (stopping on it kept
#   0.3261 / 0.3125 P@100 / mAP@1000, the whole run 0.3856 / 0.3652); on synthetic
#   documents of clean topics it goes on falling while precision falls from 0.97 to 0.86,
#   and the score stops that run at its eighth epoch and returns to its third (validation
#   0.8592 / 0.8164 -> 0.9696 / 0.9627, in half the time). Runs on the real corpora
#   measured go their whole length (docs/studies/2026-12-01-choosing-the-epoch-without-labels.md).
# - "labels", semi-supervised document models: the run stops by labelled retrieval
#   (hashret.training.selection.LabelledRetrieval): up to AGREEMENT_QUERIES validation
#   documents that carry a label the model may use query up to AGREEMENT_DATABASE such
#   training documents, and the score is their mean average precision over the top
#   AGREEMENT_DEPTH, relevant meaning sharing a label; patience and the weights kept as for
#   "agreement", and with no labelled document to hold out, the whole run, last weights.
#   Their validation loss holds the classifier's, which turns up once the classifier fits
#   its few labelled documents, long before the codes stop improving (stopping on it:
#   WordNet validation P@100 0.3566, fortunes 0.1137; the whole run 0.4234 and 0.1782).
#   Agreement with the unlabelled latent space is no guide either: the labels pull the
#   codes away from it, and on Debian's descriptions it was highest after the first epoch.
#   Labelled retrieval let five corpora run their whole length as before and stopped the
#   manual pages' long run (167 epochs on 2,207 pages) at its 66th, returning to the 24th:
#   validation P@100 0.7425 against 0.7197 for the whole run and 0.7306 for the loss; over
#   five seeds 0.7430 / 0.7168 P@100 / mAP@1000 against 0.7268 / 0.6772 for the whole run
#   (docs/studies/2026-12-02-stopping-semi-document-models-by-labelled-retrieval.md). Of epochs
#   that tie on the score the first is kept: keeping the latest lost on that mean. Image
#   `semi` models keep the loss: with a few labelled validation images the score stopped
#   the 8 x 8 digits and the Oxygen icons at noise (validation P@100 0.82 against 0.93,
#   0.17 against 0.28).
EPOCH_CHOICE = {("text", "deep"): "agreement", ("text", "semi"): "labels"}
AGREEMENT_QUERIES = 1_000
AGREEMENT_DATABASE = 20_000
AGREEMENT_DEPTH = 100
MIN_EPOCHS, MAX_EPOCHS = 5, 200
ENCODE_BATCH_SIZE = 1_024
# On a CPU an image model's convolutions run over IMAGE_FORWARD_CHUNK images at a time when
# encoding: their activations then stay in the processor's cache, 2-4 times as fast as a
# whole encoding batch of 1,024 (docs/studies/2026-11-30-encoding-images-in-small-chunks.md).
# Training is untouched.
IMAGE_FORWARD_CHUNK = 64
# Neighbours whose words the decoder also reconstructs and whose bits vote. Validation
# (docs/studies/2026-11-30-twenty-neighbours.md), P@100 with 20 against 10, 64 bits: Reuters seeds
# 0 / 1 / 2 +0.001 / +0.005 / +0.003 (16 bits +0.008), Japanese package descriptions
# +0.008, four 4,000-description samples of the English ones +0.004 / +0.015 / +0.009 /
# -0.002, the whole English set +0.000, the 825 Chinese descriptions -0.001.
TEXT_NEIGHBOURS = 20
# A document's neighbours are found by cosine in the top TEXT_NEIGHBOUR_RANK dimensions of
# a truncated SVD of the training TF-IDF (latent semantic space), not by raw TF-IDF cosine:
# documents that share no rare word but use co-occurring ones count as near. Validation
# (docs/studies/2026-11-30-neighbours-in-a-latent-semantic-space.md), P@100: Reuters 64 bits, seeds
# 0 / 1 / 2, 0.7634 / 0.7622 / 0.7563 by TF-IDF, 0.7665 / 0.7669 / 0.7671 at rank 64 (also
# ahead at 16 and 128 bits); on short documents (Debian package descriptions, by section),
# 0.349 by TF-IDF, where the nearest descriptions are mostly packages of the same project,
# 0.429 at rank 64. 0 = raw TF-IDF cosine.
TEXT_NEIGHBOUR_RANK = 64
# The neighbours are found exactly up to EXACT_NEIGHBOUR_ITEMS training documents (faiss
# flat inner-product search, which grows with the square of the corpus: 7.5 s for 100,000
# 64-d vectors on two cores); beyond, an inverted-file index finds them: about
# NEIGHBOUR_LISTS_PER_SQRT * sqrt(n) lists, k-means trained on NEIGHBOUR_TRAIN_PER_LIST
# documents a list, NEIGHBOUR_PROBES lists searched for each document (docs/studies/2026-11-30-building-large-document-indexes.md: recall and validation precision against the exact
# search).
EXACT_NEIGHBOUR_ITEMS = 200_000
NEIGHBOUR_LISTS_PER_SQRT = 4
NEIGHBOUR_TRAIN_PER_LIST = 50
NEIGHBOUR_PROBES = 16
SEMI_CLASS_WEIGHT = 1.0           # classification term / reconstruction term at the start
# A `semi` model also pulls each labelled item's bits toward its class's hash centre
# (hashret.nets.binary_autoencoder.hash_centres; central similarity quantization), the
# cross-entropy per bit weighted SEMI_CENTRE_WEIGHT times the classification term's weight.
# Validation (docs/studies/2026-11-30-hash-centres-for-semi.md), 64 bits, 10% of the labels, seeds
# 0 / 1: Fashion-MNIST mAP@1000 0.8637 / 0.8549 without, 0.8696 / 0.8635 with (0.8681 at
# weight 3, seed 0); Reuters precision@100 0.7826 / 0.7815 without, 0.7879 / 0.7811 with.
SEMI_CENTRE_WEIGHT = 1.0
# The softmax head of a `semi` model (one label per item) learns smoothed targets: 1 - e on
# the item's class plus e spread evenly over all classes (Szegedy et al. 2016), so it stops
# pushing the labelled items' logits, and with them their codes, ever further once they
# are right. Validation (docs/studies/2026-11-30-label-smoothing-for-semi.md), 64 bits, 10% of the
# labels, mAP@1000 at e = 0 / 0.1 / 0.2: Fashion-MNIST seed 0 0.8696 / 0.8733 / 0.8730,
# seeds 1 / 2 0.8635 / 0.8535 at 0 and 0.8689 / 0.8686 at 0.1; 8 x 8 digits (seeds 0-2,
# mean) 0.767 / 0.811 / 0.785; English and Japanese Debian descriptions within 0.002.
# A multi-label (sigmoid) head is unchanged.
SEMI_LABEL_SMOOTHING = 0.1
# An image `semi` model whose training items are not all labelled first trains a teacher: a
# copy of its untrained network fitting only the label terms on the labelled items (no
# decoder), SEMI_TEACHER_EPOCHS passes of batches of SEMI_TEACHER_BATCH_SIZE, about
# SEMI_TEACHER_STEPS steps at most for large labelled sets, no early stopping on held-out
# items (it ends sooner only once its training loss stops falling). Its class probabilities
# then become the classification targets of the items without labels (knowledge
# distillation, Hinton et al. 2015): a fixed teacher does not feed the model's own mistakes
# back, as self-training did (docs/studies/2026-11-29-a-deeper-image-encoder-for-semi.md), and the
# model, seeing every item with a target, classifies better than its teacher. Validation
# (docs/studies/2026-11-30-a-teacher-for-semi.md), 64 bits, 10% of the labels, mAP@1000 without /
# with: Fashion-MNIST seeds 0 / 1 / 2 0.8733 / 0.8689 / 0.8686 -> 0.8810 / 0.8761 / 0.8751;
# 8 x 8 digits 0.8814 / 0.7997 / 0.7519 -> 0.8825 / 0.8669 / 0.8703. Document models lost
# with it (P@100: Reuters 0.7879 -> 0.7737, English / Japanese Debian descriptions 0.5168 /
# 0.4421 -> 0.5133 / 0.4351; mAP@1000 down on Reuters and Japanese, up on English): their
# codes retrieve by the words and neighbours they reconstruct, which every unlabelled
# document pulled toward a weaker teacher's classes (55-80% right) then outweighs. So
# documents train without one (``extra["distil"]`` overrides either way).
SEMI_TEACHER = {"image": True, "text": False}
SEMI_TEACHER_EPOCHS = 30
SEMI_TEACHER_BATCH_SIZE = 64
SEMI_TEACHER_STEPS = 3_000
# After its teacher, an image `semi` model sees a random SEMI_MIRROR share of each training
# batch mirrored left to right, with the targets of the unmirrored image (Noisy Student, Xie
# et al. 2020: a student trained on noised inputs against a clean teacher's targets
# generalises past the teacher). Only the model's training batches: not the teacher's, not
# the validation loss, not encoding. A mirror image keeps its meaning for most photographs
# and objects; for characters it does not always (a mirrored 2 is no digit), yet 8 x 8 digits
# still gained on three seeds of five. Validation (docs/studies/2026-11-30-a-teacher-for-semi.md), 64
# bits, 10% of the labels, mAP@1000 without / with: Fashion-MNIST seeds 0 / 1 / 2 0.8776 /
# 0.8761 / 0.8751 -> 0.8846 / 0.8918 / 0.8844; 8 x 8 digits seeds 0-4 0.8825 / 0.8669 /
# 0.8703 / 0.9088 / 0.9055 -> 0.9043 / 0.8652 / 0.8872 / 0.8915 / 0.9212. Such a model then
# codes the mean of an image's logits and its mirror image's (HashModel.embed_features):
# Fashion-MNIST seeds 0 / 1 / 2 0.8846 / 0.8918 / 0.8844 -> 0.8879 / 0.8949 / 0.8858, digits
# seeds 0-4 +0.020 / +0.006 / +0.012 / +0.028 / -0.007. ``extra["mirror"]`` (``hashret build
# --mirror``) sets the share; 0 turns both off.
SEMI_MIRROR = 0.5


def teacher_epochs(n_labelled: int) -> int:
    """Passes of a semi model's teacher over its labelled items (see SEMI_TEACHER_EPOCHS)."""
    steps_per_epoch = max(1, math.ceil(n_labelled / SEMI_TEACHER_BATCH_SIZE))
    return int(min(SEMI_TEACHER_EPOCHS,
                   max(MIN_EPOCHS, round(SEMI_TEACHER_STEPS / steps_per_epoch))))


# A query by example is answered from its RERANK_CANDIDATES_PER_RESULT * k nearest items by
# Hamming distance (at least RERANK_MIN_CANDIDATES), re-ranked by the inner product of its
# code logits with their bits as +-1 (hashret.search.rerank). Validation (docs/studies/2026-12-01-re-ranking-by-an-asymmetric-distance.md), 64 bits, precision@10 Hamming -> 3 x k / 10 x k
# candidates: Reuters 0.8355 -> 0.8402 / 0.8414, Debian descriptions 0.4992 -> 0.5143 /
# 0.5146, 8 x 8 digits 0.9448 -> 0.9575 / 0.9560, fortunes 0.1553 -> 0.1617 / 0.1612, 32 x 32
# icons (79 queries) 0.5103 -> 0.5115 / 0.5057.
RERANK_CANDIDATES_PER_RESULT = 10
RERANK_MIN_CANDIDATES = 100


IMAGE_NOISE = "gaussian:0.3"      # denoising corruption of pixels in [0, 1]
TEXT_NOISE = "mask:0.3"           # denoising corruption of documents: drop 30% of the words


# Image models also reconstruct the picture's histograms of oriented gradients (see
# BinaryAutoencoder); their squared error counts GRADIENT_WEIGHT times per histogram value
# what one pixel value's cross-entropy counts, so the balance of the two terms does not move
# with the image size. Validation (docs/studies/2026-11-27-oriented-gradient-reconstruction-for-images.md): on
# Fashion-MNIST, 64 bits, mAP@1000 0.698 without the term, 0.744 with a total weight of 40;
# total weights 40 / 150 / 500 gave 0.740 / 0.736 / 0.739 in a variant model, a flat range.
# 64 per value is a total weight of about 39 for 28 x 28 grey images.
GRADIENT_WEIGHT = 64.0
# The histograms are taken at two scales, 7 and 10 cells to the shorter side of the image
# (4- and 3-pixel cells at 28 x 28), whatever its size. Validation, same setting, seeds 0 / 1:
# 7 alone 0.7438 / 0.7418, 7 and 10 0.7468 / 0.7451; 5 alone 0.724, 10 alone 0.746.
GRADIENT_CELLS = (7, 10)


# Image models' bits are also pulled toward the ITQ code of the images' gradient histograms
# (hashret.training.targets): each bit's cross-entropy against its target bit counts
# CODE_TARGET_WEIGHT times as much as one pixel value's reconstruction cross-entropy summed
# over the image, so the pull keeps its balance with the reconstruction at any image size
# (10 per bit for 28 x 28 grey images). Validation (docs/studies/2026-11-27-gradient-histogram-code-targets-for-images.md), Fashion-MNIST, 64 bits, mAP@1000: 0.747 without, 0.756 / 0.772 at 1 / 10.
CODE_TARGET_WEIGHT = 10.0 / (28 * 28)


# Document models' bits are also pulled toward the bits their neighbours have
# (hashret.training.targets.NeighbourCodeVotes): each bit's cross-entropy against its
# neighbours' vote counts NEIGHBOUR_CODE_WEIGHT times as much as one word of the decoder's
# targets (the document's and its neighbours' counts), so the pull keeps its balance with
# the reconstruction whatever the documents' length (0.5 per bit for Reuters, whose targets
# hold 144 words on average). Validation (docs/studies/2026-11-29-neighbour-code-votes-for-documents.md), Reuters 64
# bits, precision@100 over three seeds: 0.752 without, 0.761 at 0.5 per bit.
NEIGHBOUR_CODE_WEIGHT = 0.5 / 144


# Optimisation steps a document model takes before its neighbours' bits first vote (in
# whole epochs): before that, bits hardly differ from one document to the next and a vote
# would pull every code toward the same one. An epoch of Reuters' training split is 55
# steps.
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
    return TEXT_NOISE if modality == "text" else IMAGE_NOISE


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
    would take 35,000 steps at the least (docs/studies/2026-11-30-building-large-document-indexes.md)."""
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


# The KL term toward fair bits is one term per document while the reconstruction sums over
# its words: for long documents the reconstruction swamps it and the run never breaks
# symmetry (every document got the same code in 70 epochs of a synthetic corpus of
# 1,360-word documents, validation P@100 at chance, 0.026; docs/studies/2026-12-01-long-documents.md).
# Beyond KL_REFERENCE_WORDS words a document on average, its weight grows with their number,
# which keeps the balance of a 150-word document. Every corpus the other defaults were chosen
# on averages fewer (Reuters 72 words in the vocabulary, Japanese descriptions 134 bigrams),
# so for them the weight stays 1.
KL_REFERENCE_WORDS = 150


def text_kl_weight(mean_words: float) -> float:
    """Weight of a document model's KL term for training documents of ``mean_words``
    vocabulary words on average (see KL_REFERENCE_WORDS)."""
    return max(1.0, float(mean_words) / KL_REFERENCE_WORDS)


def text_hidden_size(n_features: int) -> int:
    """Width of the document encoder's hidden layers: grows with the vocabulary, 128-512."""
    return int(min(512, max(128, 2 ** round(math.log2(max(n_features, 1) / 20)))))


# Image encoders of models with a classifier on the code (``semi``) stack this many
# batch-normalised 3 x 3 convolutions at each of their scales, each scale max-pooled (a
# VGG-style block), where the other image models take one strided convolution a scale.
# Labels give a deeper encoder something to fill: validation (docs/studies/2026-11-29-a-deeper-image-encoder-for-semi.md), Fashion-MNIST, 64 bits, 10% of the labels, mAP@1000 0.833 / 0.847 /
# 0.864 with 0 / 1 / 2 (classifier accuracy 0.860 / 0.872 / 0.890; seed 1: 0.828 with 0,
# 0.855 with 2). Without labels it does not gain (the deep model: 0.771 strided, 0.766 with
# 2) and costs 2.5 times the training time, so unsupervised image models keep the strided
# encoder.
CLASSIFIER_CONVS_PER_SCALE = 2


def image_convs_per_scale(has_classifier: bool) -> int:
    """Convolutions per scale of an image encoder; 0 = one strided convolution a scale."""
    return CLASSIFIER_CONVS_PER_SCALE if has_classifier else 0


# The image encoder halves the image once a scale, and its dense layer reads what the last
# scale leaves: 64 channels of 7 x 7 for Fashion-MNIST, but of 16 x 16 for 64 x 64 images,
# whose dense layer and its mirror in the decoder (16,384 x 512 weights each) were most of
# a training step. Images whose shorter side exceeds THIRD_SCALE_SIDE get a third scale (8 x 8
# at 64 x 64), of as many channels as the second. Validation splits, seed 0 (docs/studies/2026-12-02-a-third-scale-for-larger-images.md), mAP@1000 with two scales against three, 64 bits:
# `deep` on Open Clip Art 0.3884 / 0.3850, emoji 0.3896 / 0.3918, 64 x 64 icons 0.4392 /
# 0.4440 (32 bits 0.4418 / 0.4275); `semi` with 10% of the labels on emoji 0.5194 / 0.5449,
# icons 0.3173 / 0.3744. A `deep` step at 64 x 64 takes 198 ms instead of 247, and the
# model has 6.6 million parameters instead of 19.1.
THIRD_SCALE_SIDE = 32


def image_channels(shape: tuple[int, int, int]) -> tuple[int, ...]:
    """Output channels of the image encoder's convolutions, one entry a scale (each scale
    halves the image; see THIRD_SCALE_SIDE)."""
    h, w, c = shape
    base = (32, 64) if h * w <= 64 * 64 else (16, 32)
    return base + base[-1:] if min(h, w) > THIRD_SCALE_SIDE else base
