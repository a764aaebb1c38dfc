"""The classic members of the autoencoder family, fitted in closed form or by EM rather
than by stochastic gradients: a linear autoencoder, factor analysis and sparse
overcomplete coding. Each is an ``nn.Module`` with the same two faces as the deep model —
``logits(x)`` (a bit is 1 where its logit is positive) and ``decode(z)`` — so the index,
export, eval and CLI serve them unchanged; their parameters are buffers saved as
safetensors.

Continuous codes (linear, fa) become bits by a per-unit threshold learnt on the training
set: the median (each bit splits the corpus in half), or, with ``rotation="itq"``, the mean
followed by an ITQ rotation (Gong & Lazebnik 2011) that minimises quantisation error.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import CLASSIC_MODEL_KINDS

ROTATIONS = ("none", "itq")


class FeatureMatrix:
    """The training features as an (n, D) matrix, dense (images) or sparse (TF-IDF), with
    the products a closed-form fit needs, centred implicitly (a sparse matrix stays sparse)."""

    def __init__(self, x: torch.Tensor):
        self.x = x.coalesce() if x.is_sparse else x
        self.n, self.d = x.shape
        ones = torch.ones(self.n, 1, dtype=x.dtype)
        self.mean = (torch.sparse.mm(self.x.t(), ones) if x.is_sparse else
                     x.t() @ ones).squeeze(1) / max(self.n, 1)
        sq = self.x.pow(2) if x.is_sparse else x * x
        sq_sum = (torch.sparse.mm(sq.t(), ones) if x.is_sparse else sq.t() @ ones).squeeze(1)
        self.var = (sq_sum / max(self.n, 1) - self.mean ** 2).clamp_min(0)   # per feature

    def mm(self, b: torch.Tensor) -> torch.Tensor:
        """Centred X @ b, (n, K)."""
        xb = torch.sparse.mm(self.x, b) if self.x.is_sparse else self.x @ b
        return xb - self.mean @ b

    def tmm(self, h: torch.Tensor) -> torch.Tensor:
        """Centred X^T @ h, (D, K)."""
        xh = torch.sparse.mm(self.x.t(), h) if self.x.is_sparse else self.x.t() @ h
        return xh - torch.outer(self.mean, h.sum(0))

    @property
    def total_variance(self) -> float:
        return float(self.var.sum())


def orthonormal(a: torch.Tensor) -> torch.Tensor:
    return torch.linalg.qr(a)[0]


def principal_subspace(x: FeatureMatrix, k: int, iters: int = 60, seed: int = 0):
    """Orthonormal basis (D, k) of the top-k principal subspace by subspace iteration."""
    g = torch.Generator().manual_seed(seed)
    q = orthonormal(torch.randn(x.d, k, generator=g, dtype=x.mean.dtype))
    for _ in range(iters):
        q = orthonormal(x.tmm(x.mm(q)))
    return q


def feature_output(x: torch.Tensor, modality: str, shape) -> torch.Tensor:
    """A reconstructed feature vector as the decoder's output: term weights become a
    distribution over words; vectors stay as they are; pixels are clipped to [0, 1] in
    (n, c, h, w)."""
    if modality == "text":
        w = x.clamp_min(0)
        return w / w.sum(1, keepdim=True).clamp_min(1e-12)
    if modality == "vector":
        return x
    h, w, c = shape
    return x.reshape(len(x), c, h, w).clamp(0, 1)


# --- binarisation -------------------------------------------------------------------------

def itq_rotation(v: torch.Tensor, iters: int = 50, seed: int = 0) -> torch.Tensor:
    """ITQ: the orthogonal R minimising ||sign(V R) - V R||_F for zero-centred V (n, K),
    alternating the codes B = sign(V R) and the Procrustes solution for R."""
    g = torch.Generator().manual_seed(seed)
    r = orthonormal(torch.randn(v.shape[1], v.shape[1], generator=g, dtype=v.dtype))
    for _ in range(iters):
        b = torch.sign(v @ r)
        b[b == 0] = 1
        u, _, wt = torch.linalg.svd(v.t() @ b)
        r = u @ wt
    return r


class ThresholdedLinearCode(nn.Module):
    """Shared face of the linear models: code h = (x - mean) V^T, bit = ((h - offset) R > 0);
    decode maps each bit to the mean of its unit on each side of the threshold, then back
    through the decoder matrix W: x = W h + mean."""

    log_prob_decoder = False

    def __init__(self, modality: str, n_features: int, bits: int, shape=None):
        super().__init__()
        self.modality, self.shape, self.bits = modality, shape, bits
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("encoder", torch.zeros(bits, n_features))     # V
        self.register_buffer("decoder_matrix", torch.zeros(n_features, bits))  # W
        self.register_buffer("offset", torch.zeros(bits))
        self.register_buffer("rotation", torch.eye(bits))
        self.register_buffer("level0", torch.zeros(bits))    # mean rotated unit, bit 0
        self.register_buffer("level1", torch.zeros(bits))    # mean rotated unit, bit 1

    def code(self, x) -> torch.Tensor:
        """The continuous code h (n, K)."""
        v = self.encoder.t()
        if isinstance(x, tuple):                          # sparse text rows
            indices, offsets, values = x
            xv = nn.functional.embedding_bag(indices, v, offsets, mode="sum",
                                             per_sample_weights=values)
        else:
            xv = x.reshape(len(x), -1) @ v
        return xv - self.mean @ v

    def logits(self, x) -> torch.Tensor:
        return (self.code(x) - self.offset) @ self.rotation

    def set_binarisation(self, h: torch.Tensor, rotation: str, seed: int = 0) -> None:
        """Learn thresholds (and the ITQ rotation) from training codes h, and the decoding
        level of each bit."""
        h = h.to(self.offset.dtype)
        if rotation == "itq":
            # ITQ rotates orthonormal coordinates (as it rotates PCA scores); a code in a
            # skewed basis would have its distances distorted first
            self.offset.copy_(h.mean(0))
            basis = self.orthonormal_basis().to(h.dtype)
            rot = itq_rotation(((h - self.offset) @ basis).double(), seed=seed)
            self.rotation.copy_((basis.double() @ rot).to(self.rotation.dtype))
        else:
            self.offset.copy_(h.median(0).values)
            self.rotation.copy_(torch.eye(self.bits))
        r = (h - self.offset) @ self.rotation
        on = r > 0
        cnt1 = on.sum(0).clamp_min(1)
        cnt0 = (~on).sum(0).clamp_min(1)
        self.level1.copy_((r * on).sum(0) / cnt1)
        self.level0.copy_((r * ~on).sum(0) / cnt0)

    def orthonormal_basis(self) -> torch.Tensor:
        """``(K, K)`` matrix T such that ``h @ T`` are the coordinates of the code's
        reconstruction W h in an orthonormal basis of W's columns: with W = Q R (Q
        orthonormal), W h = Q (R h), so for row vectors T = Rᵀ. W's columns are not
        orthonormal (the linear autoencoder's basis of the principal subspace is whatever
        alternating least squares ends in; factor loadings are neither orthogonal nor of
        one length), so the code itself has a skewed geometry."""
        # QR's signs are arbitrary; the coordinates' geometry is not
        return torch.linalg.qr(self.decoder_matrix).R.t()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        r = self.level0 + z * (self.level1 - self.level0)
        # (h - offset) R = r; R is orthogonal for a median threshold, not always for ITQ
        h = torch.linalg.solve(self.rotation.t(), r.t()).t() + self.offset
        return self.output(h @ self.decoder_matrix.t() + self.mean)

    def output(self, x: torch.Tensor) -> torch.Tensor:
        return feature_output(x, self.modality, self.shape)


class LinearAutoencoder(ThresholdedLinearCode):
    """Undercomplete linear autoencoder f(x) = V (x - mean), g(h) = W h + mean, trained on
    the squared reconstruction error by alternating least squares: W is the least-squares
    decoder for the current codes, V the least-squares encoder (pseudo-inverse) for the
    current decoder. Each round is one step of subspace iteration, so the code space
    converges to the top-K principal subspace (Baldi & Hornik 1989; Roweis 1998)."""

    def fit(self, x: FeatureMatrix, iters: int = 300, tol: float = 1e-9, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        v = torch.randn(self.bits, x.d, generator=g, dtype=x.mean.dtype) / math.sqrt(x.d)
        total = x.total_variance * x.n
        history = []
        for _ in range(iters):
            h = x.mm(v.t())                                   # codes (n, K)
            hth = h.t() @ h
            xth = x.tmm(h)                                    # X^T H (D, K)
            w = torch.linalg.solve(hth, xth.t()).t()          # decoder (D, K)
            loss = (total - 2 * (w * xth).sum() + ((w.t() @ w) * hth).sum()) / x.n
            history.append(float(loss))
            v = torch.linalg.solve(w.t() @ w, w.t())          # encoder (K, D)
            if len(history) > 1 and history[-2] - history[-1] <= tol * max(history[0], 1e-30):
                break
        self.mean.copy_(x.mean)
        self.encoder.copy_(v)
        self.decoder_matrix.copy_(w)
        return history


class FactorAnalysis(ThresholdedLinearCode):
    """Factor analysis x = W z + mean + e, z ~ N(0, I), e ~ N(0, Psi) with Psi diagonal,
    fitted by EM (Rubin & Thayer 1982; Ghahramani & Hinton 1996), used as an autoencoder:
    encoder = the posterior mean E[z|x] = V (x - mean), V = (I + W^T Psi^-1 W)^-1 W^T Psi^-1;
    decoder = W. ``psi`` is kept above a floor (a fraction of the mean variance) so constant
    features (blank image borders) cannot make the likelihood unbounded."""

    PSI_FLOOR = 1e-3

    def __init__(self, modality, n_features, bits, shape=None):
        super().__init__(modality, n_features, bits, shape)
        self.register_buffer("psi", torch.ones(n_features))

    @staticmethod
    def posterior_matrix(w: torch.Tensor, psi: torch.Tensor):
        a = w.t() / psi                                      # W^T Psi^-1 (K, D)
        m = torch.eye(w.shape[1], dtype=w.dtype) + a @ w
        return torch.linalg.solve(m, a), m                    # V (K, D), M

    def fit(self, x: FeatureMatrix, iters: int = 200, tol: float = 1e-7, seed: int = 0):
        k = self.bits
        floor = self.PSI_FLOOR * float(x.var.mean()) + 1e-12
        q = principal_subspace(x, k, iters=10, seed=seed)    # start near the PCA solution
        var_q = (x.mm(q) ** 2).mean(0)
        psi = x.var.clamp_min(floor)
        w = q * torch.sqrt(var_q).unsqueeze(0) * 0.9
        history = []
        d = x.d
        for _ in range(iters):
            v, m = self.posterior_matrix(w, psi)
            ez = x.mm(v.t())                                  # E[z|x] (n, K)
            # log-likelihood of the current parameters (before the update)
            b = x.mm((w.t() / psi).t())                       # (n, K) = Xc Psi^-1 W
            g = torch.linalg.inv(m)
            quad = (x.var / psi).sum() - (g * (b.t() @ b)).sum() / x.n
            logdet = torch.log(psi).sum() + torch.linalg.slogdet(m)[1]
            ll = -0.5 * (d * math.log(2 * math.pi) + logdet + quad)
            history.append(float(ll))
            if len(history) > 1 and abs(history[-1] - history[-2]) <= tol * abs(history[-2]):
                break
            szz = x.n * g + ez.t() @ ez                       # sum of E[z z^T | x]
            xez = x.tmm(ez)                                   # (D, K)
            w = torch.linalg.solve(szz, xez.t()).t()
            psi = (x.var - (w * xez).sum(1) / x.n).clamp_min(floor)
        v, _ = self.posterior_matrix(w, psi)
        self.mean.copy_(x.mean)
        self.encoder.copy_(v)
        self.decoder_matrix.copy_(w)
        self.psi.copy_(psi)
        return history


class SparseCoder(nn.Module):
    """Sparse overcomplete coding: K atoms for a D' = K / 2 dimensional input, so the code
    is overcomplete (K > D'). The input is the projection of the centred features on their
    top-D' principal subspace (``basis``), scaled to unit mean variance. Encoder:
    h = argmin ||y - W h||^2 / 2 + lambda ||h||_1 solved by FISTA (Beck & Teboulle 2009);
    dictionary W (unit-norm atoms) learnt by alternating FISTA with least-squares updates
    (MOD). Bit i = atom i active (h_i != 0). ``lambda`` is tuned while learning so that
    about ``ACTIVE_FRACTION`` of the atoms are active per item."""

    ACTIVE_FRACTION = 0.25
    log_prob_decoder = False

    def __init__(self, modality: str, n_features: int, bits: int, shape=None):
        super().__init__()
        self.modality, self.shape, self.bits = modality, shape, bits
        self.dim = max(1, bits // 2)
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("basis", torch.zeros(n_features, self.dim))
        self.register_buffer("scale", torch.ones(()))
        self.register_buffer("dictionary", torch.zeros(self.dim, bits))      # W (D', K)
        self.register_buffer("lam", torch.ones(()))
        self.register_buffer("level", torch.zeros(bits))     # mean coefficient when active

    def project(self, x) -> torch.Tensor:
        if isinstance(x, tuple):
            indices, offsets, values = x
            xb = nn.functional.embedding_bag(indices, self.basis, offsets, mode="sum",
                                             per_sample_weights=values)
        else:
            xb = x.reshape(len(x), -1) @ self.basis
        return (xb - self.mean @ self.basis) / self.scale

    @staticmethod
    def fista(y, w, lam, iters: int = 500, tol: float = 1e-6):
        """Solve min_h ||y - h W^T||^2 / 2 + lam ||h||_1 row by row (y: (n, D'), W: (D', K))."""
        lip = torch.linalg.matrix_norm(w, ord=2) ** 2 + 1e-12
        wtw, ywt = w.t() @ w, y @ w
        h = torch.zeros(len(y), w.shape[1], dtype=y.dtype)
        z, t = h, 1.0
        for _ in range(iters):
            grad = z @ wtw - ywt
            u = z - grad / lip
            h_new = torch.sign(u) * (u.abs() - lam / lip).clamp_min(0)
            t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
            z = h_new + ((t - 1) / t_new) * (h_new - h)
            change = (h_new - h).abs().max() if len(h) else torch.zeros(())
            h, t = h_new, t_new
            if float(change) <= tol:
                break
        return h

    def code(self, x, iters: int = 500) -> torch.Tensor:
        return self.fista(self.project(x), self.dictionary, float(self.lam), iters)

    def logits(self, x) -> torch.Tensor:
        return self.code(x).abs()

    def fit(self, x: FeatureMatrix, iters: int = 15, sample: int = 8192, seed: int = 0):
        """``iters`` rounds of codes by FISTA, then the dictionary by least squares."""
        g = torch.Generator().manual_seed(seed)
        basis = principal_subspace(x, self.dim, seed=seed)
        y_all = x.mm(basis)
        scale = torch.sqrt((y_all ** 2).sum(1).mean()).clamp_min(1e-12)
        y_all = y_all / scale
        rows = torch.randperm(len(y_all), generator=g)[:sample]
        y = y_all[rows]
        w = y[torch.randint(len(y), (self.bits,), generator=g)].t().clone()
        w = w + 0.01 * torch.randn(w.shape, generator=g, dtype=w.dtype)
        w = w / w.norm(dim=0, keepdim=True).clamp_min(1e-12)
        lam = 0.1 * float((y @ w).abs().max(1).values.mean())
        history = []
        for _ in range(iters):
            h = self.fista(y, w, lam, iters=200)
            active = float((h != 0).float().mean())
            history.append({"lambda": lam, "active": active,
                            "error": float(((y - h @ w.t()) ** 2).sum(1).mean())})
            lam *= math.exp(0.7 * (active - self.ACTIVE_FRACTION) / self.ACTIVE_FRACTION)
            used = (h != 0).any(0)
            hth = h.t() @ h + 1e-6 * torch.eye(self.bits, dtype=h.dtype)
            w_new = torch.linalg.solve(hth, h.t() @ y).t()
            dead = ~used | (w_new.norm(dim=0) < 1e-8)
            if dead.any():                      # re-seed unused atoms with random items
                w_new[:, dead] = y[torch.randint(len(y), (int(dead.sum()),),
                                                 generator=g)].t()
            w = w_new / w_new.norm(dim=0, keepdim=True).clamp_min(1e-12)
        self.mean.copy_(x.mean)
        self.basis.copy_(basis)
        self.scale.copy_(scale)
        self.dictionary.copy_(w)
        self.lam.fill_(lam)
        h = self.fista(y, w, lam)
        on = h != 0
        self.level.copy_((h * on).sum(0) / on.sum(0).clamp_min(1))
        return history

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = z * self.level
        x = (h @ self.dictionary.t()) * self.scale @ self.basis.t() + self.mean
        return feature_output(x, self.modality, self.shape)


CLASSIC_KINDS = dict(zip(CLASSIC_MODEL_KINDS, (LinearAutoencoder, FactorAnalysis, SparseCoder)))
