"""Plain ``nn.Module`` networks of the three models (docs/physics.md#models; paper Methods).

* :class:`ConvBlock` — Conv1d + BatchNorm + ReLU (+ MaxPool /2, + dropout): the building block.
* :class:`InverseCNN` — dispersion (B, 1, K) → normalised (σ, τ) (paper, "CNN for dispersion
  relation feature extraction").
* :class:`TFCConstrainedExpression` — the TFC constrained expression (paper Eq. 8) evaluated on any
  k tensor, with the bounded coefficient maps X = X_max·sigmoid(z₀), c_n = c_scale·tanh(z_n)
  (paper, "Implementation of TFC").
* :class:`TFCDispersionNet` — (σ, τ) features → CNN feature extractor → coefficient head →
  constrained expression (paper Fig. 2, "Prediction of dispersion relations").
* :class:`WidthRegressorNet` — dual-branch m_z profile + width → normalised (σ, τ) (paper Fig. 4,
  "Prediction of domain-wall widths").

Every length is "same"-padded, so the networks accept any input length fixed at construction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

BASES = ("poly", "harmonic")


def _check_lengths(name: str, *seqs: Sequence) -> None:
    n = {len(s) for s in seqs}
    if len(n) != 1:
        raise ValueError(f"{name}: the per-layer lists must have the same length, got {[len(s) for s in seqs]}")


class ConvBlock(nn.Sequential):
    """Conv1d("same" padding) → BatchNorm1d → ReLU [→ MaxPool1d(2)] [→ Dropout]."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, pool: bool, dropout: float = 0.0):
        layers: list[nn.Module] = [
            nn.Conv1d(c_in, c_out, kernel_size, padding="same", bias=False),
            nn.BatchNorm1d(c_out),
            nn.ReLU(inplace=True),
        ]
        if pool:
            layers.append(nn.MaxPool1d(2))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


def dense_stack(n_in: int, hidden: Sequence[int], n_out: int, dropout: float = 0.0) -> nn.Sequential:
    """Linear → ReLU [→ Dropout] for each hidden size, then a final Linear to ``n_out``."""
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        n_in = h
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class InverseCNN(nn.Module):
    """Dispersion → (σ, τ), paper Methods "CNN for dispersion relation feature extraction".

    Conv blocks 1→64 (k5), 64→128 (k5), 128→256 (k3), 256→128 (k3), each Conv+BatchNorm+ReLU, a
    MaxPool /2 after the first ``n_pooled`` (3) blocks; flatten; dense 512 → 256 → 64 → 2 with ReLU
    and dropout 0.3. Input (B, K) or (B, 1, K), already normalised; output (B, 2) normalised.
    """

    def __init__(self, in_length: int = 500, channels: Sequence[int] = (64, 128, 256, 128),
                 kernel_sizes: Sequence[int] = (5, 5, 3, 3), n_pooled: int = 3,
                 dense: Sequence[int] = (512, 256, 64), dropout: float = 0.3, conv_dropout: float = 0.0,
                 n_out: int = 2):
        super().__init__()
        _check_lengths("InverseCNN", channels, kernel_sizes)
        blocks, c_in, length = [], 1, int(in_length)
        for i, (c, k) in enumerate(zip(channels, kernel_sizes, strict=True)):
            pool = i < n_pooled
            blocks.append(ConvBlock(c_in, int(c), int(k), pool, conv_dropout))
            c_in, length = int(c), length // 2 if pool else length
        if length < 1:
            raise ValueError(f"InverseCNN: input length {in_length} too short for {n_pooled} poolings")
        self.in_length = int(in_length)
        self.features = nn.Sequential(*blocks)
        self.head = dense_stack(c_in * length, dense, n_out, dropout)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(1)
        if x.shape[-1] != self.in_length:
            raise ValueError(f"InverseCNN: expected length {self.in_length}, got {x.shape[-1]}")
        return self.head(self.features(x).flatten(1))


class TFCConstrainedExpression(nn.Module):
    """The TFC constrained expression, paper Eq. 8 (docs/physics.md#tfc-pinn):

        ω(k) = X [1 − cos(ka)] + f_gap + Σ_{n=1..n_corr} c_n b_n(k),

    with raw outputs z = (z₀, …, z_n) mapped to bounded coefficients (paper "Implementation of TFC")
    X = x_max·sigmoid(z₀) ∈ [0, x_max] and c_n = c_scale·tanh(z_n) ∈ [−c_scale, c_scale].

    Bases (``basis``):
      * ``poly`` (the paper): b_n = k̃^{n+1}, k̃ = ka/π — neither even (odd powers) nor flat at the
        zone boundary, so the physics residuals have something to do;
      * ``harmonic`` (lattice harmonics): b_n = 1 − cos((n+1)ka) — even, 2π/a periodic and with zero
        group velocity at k = ±π/a by construction.
    Both vanish at k = 0, so ω(0) = f_gap exactly. Frequencies in THz, k in rad/nm, a in nm.
    """

    def __init__(self, lattice_constant_nm: float, f_gap_thz: float, x_max_thz: float,
                 basis: str = "harmonic", n_corr: int = 5, c_scale_thz: float = 0.1):
        super().__init__()
        if basis not in BASES:
            raise ValueError(f"unknown TFC basis '{basis}'; allowed: {', '.join(BASES)}")
        if n_corr < 0:
            raise ValueError(f"n_corr must be ≥ 0, got {n_corr}")
        self.a = float(lattice_constant_nm)
        self.f_gap = float(f_gap_thz)
        self.x_max = float(x_max_thz)
        self.basis = basis
        self.n_corr = int(n_corr)
        self.c_scale = float(c_scale_thz)

    @property
    def n_raw(self) -> int:
        """Number of raw outputs z the coefficient head must produce (X and the c_n)."""
        return 1 + self.n_corr

    def coefficients(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Raw (B, 1 + n_corr) → X (B,) in [0, x_max] THz and c (B, n_corr) in [−c_scale, c_scale]."""
        return self.x_max * torch.sigmoid(z[:, 0]), self.c_scale * torch.tanh(z[:, 1:])

    def basis_functions(self, k: Tensor) -> Tensor:
        """b_n(k) for n = 1..n_corr, shape k.shape + (n_corr,)."""
        if self.basis == "poly":
            kt = k * (self.a / math.pi)
            return torch.stack([kt ** (n + 1) for n in range(1, self.n_corr + 1)], dim=-1)
        n = torch.arange(1, self.n_corr + 1, device=k.device, dtype=k.dtype)
        return 1.0 - torch.cos((n + 1) * (k * self.a).unsqueeze(-1))

    def ideal_part(self, k: Tensor, X: Tensor) -> Tensor:
        """φ(k) = X[1 − cos(ka)] + f_gap (the constrained, parameter-free form); k (K,) or (B, K)."""
        return X.unsqueeze(-1) * (1.0 - torch.cos(k * self.a)) + self.f_gap

    def correction(self, k: Tensor, c: Tensor) -> Tensor:
        """ψ(k) = Σ c_n b_n(k); k (K,) or (B, K), c (B, n_corr) → (B, K)."""
        if self.n_corr == 0:
            return torch.zeros(c.shape[0], k.shape[-1], dtype=k.dtype, device=k.device)
        return (self.basis_functions(k) * c.unsqueeze(-2)).sum(-1)

    def forward(self, k: Tensor, X: Tensor, c: Tensor) -> Tensor:
        """ω(k) in THz, (B, K) for k of shape (K,) (shared grid) or (B, K) (per sample)."""
        return self.ideal_part(k, X) + self.correction(k, c)


class TFCDispersionNet(nn.Module):
    """(σ, τ) features → ω(k), paper Fig. 2 (CNN block → coefficient predictor → TFC).

    The CNN input is (B, C, K): the ``reference`` channels (the normalised ideal dispersion of the
    material and optionally cos(ka) — the same for every sample) stacked with the per-sample scalar
    features broadcast along k. The sample's own dispersion is never an input. Conv blocks
    (Conv+BatchNorm+ReLU+MaxPool) → adaptive average pooling to ``pool_size`` → flatten → dense head
    → raw z → bounded (X, c) → :class:`TFCConstrainedExpression` on the k grid.
    """

    def __init__(self, k_rad_per_nm: Sequence[float], reference: Tensor, n_features: int,
                 expression: TFCConstrainedExpression, channels: Sequence[int] = (32, 64, 64),
                 kernel_sizes: Sequence[int] = (5, 5, 5), pool_size: int = 4,
                 head_hidden: Sequence[int] = (128, 64), dropout: float = 0.0):
        super().__init__()
        _check_lengths("TFCDispersionNet", channels, kernel_sizes)
        reference = torch.as_tensor(reference, dtype=torch.float32)
        if reference.dim() == 1:
            reference = reference.unsqueeze(0)
        self.register_buffer("k", torch.as_tensor(k_rad_per_nm, dtype=torch.float32), persistent=False)
        self.register_buffer("reference", reference, persistent=False)  # (C_ref, K)
        if self.reference.shape[-1] != self.k.shape[0]:
            raise ValueError(f"reference length {reference.shape[-1]} != number of k {self.k.shape[0]}")
        blocks, c_in = [], self.reference.shape[0] + int(n_features)
        for c, ks in zip(channels, kernel_sizes, strict=True):
            blocks.append(ConvBlock(c_in, int(c), int(ks), pool=True))
            c_in = int(c)
        self.n_features = int(n_features)
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool1d(int(pool_size)), nn.Flatten(1))
        self.expression = expression
        self.head = dense_stack(c_in * int(pool_size), head_hidden, expression.n_raw, dropout)

    def cnn_input(self, feats: Tensor) -> Tensor:
        """(B, F) scalar features → (B, C_ref + F, K) CNN input."""
        b, k = feats.shape[0], self.k.shape[0]
        ref = self.reference.to(feats.dtype).unsqueeze(0).expand(b, -1, -1)
        return torch.cat([ref, feats.unsqueeze(-1).expand(-1, -1, k)], dim=1)

    def coefficients(self, feats: Tensor) -> tuple[Tensor, Tensor]:
        """(B, F) → X (B,) THz, c (B, n_corr) THz."""
        return self.expression.coefficients(self.head(self.features(self.cnn_input(feats))))

    def forward(self, feats: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Returns ω on the k grid (B, K) THz, X (B,), c (B, n_corr)."""
        X, c = self.coefficients(feats)
        return self.expression(self.k.to(X.dtype), X, c), X, c


class WidthRegressorNet(nn.Module):
    """Dual-branch domain-wall regressor, paper Fig. 4 ("Prediction of domain-wall widths").

    Profile branch: m_z (B, 1, N) through 4 conv blocks (Conv+BatchNorm+ReLU+MaxPool, 1→16→32→64→64)
    and adaptive average pooling to ``pool_size``; width branch: normalised width (B, 1) through a
    small dense net (1→16→16); the two are concatenated (fused) → dense → normalised (σ, τ).
    """

    def __init__(self, in_length: int = 500, channels: Sequence[int] = (16, 32, 64, 64),
                 kernel_sizes: Sequence[int] = (5, 5, 5, 5), pool_size: int = 8,
                 width_hidden: Sequence[int] = (16, 16), fusion_hidden: Sequence[int] = (128, 64),
                 dropout: float = 0.1, n_out: int = 2):
        super().__init__()
        _check_lengths("WidthRegressorNet", channels, kernel_sizes)
        blocks, c_in = [], 1
        for c, k in zip(channels, kernel_sizes, strict=True):
            blocks.append(ConvBlock(c_in, int(c), int(k), pool=True))
            c_in = int(c)
        self.in_length = int(in_length)
        self.profile = nn.Sequential(*blocks, nn.AdaptiveAvgPool1d(int(pool_size)), nn.Flatten(1))
        w_layers: list[nn.Module] = []
        w_in = 1
        for h in width_hidden:
            w_layers += [nn.Linear(w_in, int(h)), nn.ReLU(inplace=True)]
            w_in = int(h)
        self.width = nn.Sequential(*w_layers)
        self.fusion = dense_stack(c_in * int(pool_size) + w_in, fusion_hidden, n_out, dropout)

    def forward(self, mz: Tensor, width: Tensor) -> Tensor:
        """mz (B, N) or (B, 1, N); width (B,) or (B, 1), normalised → (B, 2) normalised."""
        if mz.dim() == 2:
            mz = mz.unsqueeze(1)
        if mz.shape[-1] != self.in_length:
            raise ValueError(f"WidthRegressorNet: expected length {self.in_length}, got {mz.shape[-1]}")
        if width.dim() == 1:
            width = width.unsqueeze(1)
        return self.fusion(torch.cat([self.profile(mz), self.width(width)], dim=1))
