"""Heteroscedastic uncertainty of the inverse models: a bivariate Gaussian over [σ, τ].

With ``uncertainty: gaussian`` a network's last layer gives 5 numbers per sample instead of 2: the
mean μ (normalised σ, τ) and a Cholesky factor of its covariance,

    L = [[e^a, 0], [c, e^b]],   Σ = L Lᵀ   (normalised units),

so Σ is positive definite for any output and the σ–τ correlation is free. That correlation is the
point: σ and τ are poorly determined separately but φ = σ/(σ+τ) is well determined
(docs/physics.md#identifiability), i.e. the errors lie along lines of constant φ, and only a full
covariance carries that to φ and T.

Training: the mean keeps the paper's loss; the covariance head adds the Gaussian negative
log-likelihood of the *detached* residual,

    NLL = a + b + ½ ‖L⁻¹ (y − μ)‖²   (+ const),

so the stated spread learns how wrong the mean is without pulling the mean (a plain NLL lets a
network buy a lower loss by inflating Σ where it is wrong, Seitzer et al. 2022). The NLL still
reaches the layers the two outputs share; it enters the loss with ``uncertainty_weight``: the
covariance outputs learn from it alone, at the same speed under Adam whatever the weight, while the
shared layers feel weight × its gradient. Measured (RESULTS.md): at weight 1 the inverse CNN's σ
error tripled and 0.01 keeps it (its configured default); the width regressor lost some accuracy
at both, less at 1 (its configured default).
"""

from __future__ import annotations

import torch
from torch import Tensor

UNCERTAINTIES = ("none", "gaussian")
LOG_SCALE_RANGE = (-9.0, 4.0)  # e^a, e^b in normalised units: 1e-4 .. 55 standard deviations of the targets


def n_outputs(uncertainty: str) -> int:
    if uncertainty not in UNCERTAINTIES:
        raise ValueError(f"uncertainty must be one of {UNCERTAINTIES}, got {uncertainty!r}")
    return 2 if uncertainty == "none" else 5


def split(out: Tensor) -> tuple[Tensor, Tensor | None]:
    """Network output (B, 2) or (B, 5) → mean (B, 2) and Cholesky factor (B, 2, 2) or None."""
    if out.shape[-1] == 2:
        return out, None
    a, b = (out[:, i].clamp(*LOG_SCALE_RANGE) for i in (2, 3))
    c = out[:, 4]
    zero = torch.zeros_like(c)
    chol = torch.stack([torch.stack([a.exp(), zero], -1), torch.stack([c, b.exp()], -1)], -2)
    return out[:, :2], chol


def gaussian_nll(mean: Tensor, chol: Tensor, target: Tensor) -> Tensor:
    """Mean NLL of ``target`` under N(mean, L Lᵀ) (without the constant log 2π)."""
    r = target - mean
    y1 = r[:, 0] / chol[:, 0, 0]
    y2 = (r[:, 1] - chol[:, 1, 0] * y1) / chol[:, 1, 1]
    return (chol[:, 0, 0].log() + chol[:, 1, 1].log() + 0.5 * (y1**2 + y2**2)).mean()


def physical_spread(params_nm: Tensor, chol: Tensor, params_std: Tensor) -> dict[str, Tensor]:
    """Covariance of [σ, τ] in nm² (B, 2, 2) and standard deviations of σ, τ (nm), φ and T (nm).

    ``params_nm`` (B, 2) is the (clamped) prediction at which φ and T are linearised."""
    cov_z = chol @ chol.transpose(1, 2)
    d = params_std.to(cov_z)
    cov = cov_z * d[:, None] * d[None, :]
    s, t = params_nm[:, 0], params_nm[:, 1]
    tot = (s + t).clamp_min(1e-6)
    g_phi = torch.stack([t, -s], 1) / tot[:, None] ** 2
    g_T = torch.stack([t**2, s**2], 1) / tot[:, None] ** 2

    def std(g):
        return torch.einsum("bi,bij,bj->b", g, cov, g).clamp_min(0).sqrt()

    return {"cov_nm": cov, "std_nm": torch.diagonal(cov, dim1=1, dim2=2).clamp_min(0).sqrt(),
            "std_phi": std(g_phi), "std_T_nm": std(g_T)}
