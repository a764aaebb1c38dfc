"""The model core: one binary autoencoder framework whose every kind yields K-bit codes."""

from .binary_autoencoder import BinaryAutoencoder
from .bits import pack_bits, unpack_bits
from .hash_model import MODEL_KINDS, HashModel, ModelConfig, check_bits

__all__ = ["BinaryAutoencoder", "HashModel", "ModelConfig", "MODEL_KINDS", "check_bits",
           "pack_bits", "unpack_bits"]
