"""Fitting models: takes items as arrays (texts, images) or feature batches and their labels
as lists, never corpora.

=================  ===========================================================================
``fit``            :func:`fit_model`: featurizer, derived sizes, targets, the run
``classic``        the closed-form kinds' fit (linear, fa, sparse)
``teacher``        a ``semi`` model's label targets, classifier weight and teacher
``targets``        target bits: ITQ of gradient histograms, neighbours' votes
``neighbours``     a document's nearest training documents in the latent semantic space
``selection``      the scores that choose the epoch a run keeps
``loop``           the training loop: optimisers, validation, early stopping, progress
=================  ===========================================================================
"""

from .fit import fit_model

__all__ = ["fit_model"]
