"""The model core: one binary autoencoder framework whose every kind yields K-bit codes.

The configuration imports without torch; the networks and
:class:`HashModel` import it on first use, so opening an index to query it by id, export
or prune it does not pay for loading torch."""

from .config import MODEL_KINDS, ModelConfig, check_bits

__all__ = ["BinaryAutoencoder", "HashModel", "ModelConfig", "MODEL_KINDS", "check_bits"]


def __getattr__(name):
    if name == "HashModel":
        from .hash_model import HashModel
        return HashModel
    if name == "BinaryAutoencoder":
        from ..nets.binary_autoencoder import BinaryAutoencoder
        return BinaryAutoencoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
