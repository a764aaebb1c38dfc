"""The networks: torch modules that map features to code logits and codes back to
features. ``networks`` holds the layers (encoders, decoders, the binary code layer, noise),
``binary_autoencoder`` the deep, denoising and semi-supervised autoencoder with its losses,
``classic`` the closed-form kinds (linear, factor analysis, sparse coding), ``colorize``
the autoencoder from a grey image's code to its colours. This package
file imports no torch, so the kind names below are free to read."""

MODEL_KINDS = ("deep", "denoising", "semi", "linear", "fa", "sparse", "colorize")
# kinds fitted by iterations over the whole training split (alternating least squares, EM,
# dictionary rounds), not by epochs of gradient steps
CLASSIC_MODEL_KINDS = ("linear", "fa", "sparse")
