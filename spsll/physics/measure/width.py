"""Domain-wall width from an m_z profile (paper Methods, Eq. 10; docs/physics.md#walls).

* :func:`cosine_series_width` — the paper's method. Duplicate and flip m_z (an even function on the
  doubled length L = 2N), θ = arccos m_z, expand θ in the cosine series of the DCT-II basis
  cos(nπx/L) (cell centres x_j = j + ½) up to n = 700, linearise at the wall and take the span of
  the linear approximation between 0 and π: w = π / |θ'(x_c)|. Eq. 10 linearises at L/4; we use the
  actual m_z = 0 crossing x_c (docs/physics.md#discretisation), which equals L/4 for a wall that has not moved. The
  error is the standard deviation of the widths of the truncated series over the last 100
  harmonics (n_max = 601 … 700), i.e. the truncation error the paper describes.
* :func:`tanh_fit_width` — independent check: least-squares fit of m_z = s·tanh((x − x0)/δ),
  w = πδ (the same width for an exact Bloch profile, θ'(x0) = 1/δ).
"""

from __future__ import annotations

import math

import torch


def zero_crossing(mz: torch.Tensor) -> torch.Tensor:
    """Sub-cell position (in cells, centres at j + ½) of the m_z = 0 crossing nearest the centre.

    Linear interpolation between the two samples that bracket the sign change. Raises if a
    profile has no sign change (no wall).
    """
    B, N = mz.shape
    sign_change = (mz[:, :-1] * mz[:, 1:] <= 0) & (mz[:, :-1] != mz[:, 1:])
    if not bool(sign_change.any(dim=1).all()):
        bad = torch.nonzero(~sign_change.any(dim=1)).flatten().tolist()
        raise ValueError(f"m_z profile has no zero crossing (no wall) for sample(s) {bad[:10]}")
    j = torch.arange(N - 1, device=mz.device, dtype=mz.dtype)
    dist = torch.where(sign_change, (j + 0.5 - (N - 1) / 2).abs(), torch.full_like(j, math.inf))
    jc = dist.argmin(dim=1)
    m0 = mz.gather(1, jc[:, None]).squeeze(1)
    m1 = mz.gather(1, jc[:, None] + 1).squeeze(1)
    return jc.to(mz.dtype) + 0.5 + m0 / (m0 - m1)


def _dct2(f: torch.Tensor) -> torch.Tensor:
    """DCT-II coefficients a_n = (2/L) Σ_j f_j cos(nπ(j+½)/L) along the last axis, via one FFT."""
    L = f.shape[-1]
    y = torch.cat([f, f.flip(-1)], dim=-1)
    Y = torch.fft.fft(y, dim=-1)[..., :L]
    n = torch.arange(L, device=f.device, dtype=f.dtype)
    phase = torch.exp(-1j * math.pi * n / (2 * L))
    return (phase * Y).real / L


def cosine_series_width(mz: torch.Tensor, cell_size: float, *, n_harmonics: int = 700,
                        n_error: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's width (m) and its truncation error (m) for profiles mz (B, N) of one wall."""
    B, N = mz.shape
    L = 2 * N
    if not (n_error < n_harmonics < L):
        raise ValueError(f"need n_error < n_harmonics < 2N = {L}, got {n_error}, {n_harmonics}")
    theta = torch.arccos(mz.clamp(-1.0, 1.0))
    coeff = _dct2(torch.cat([theta, theta.flip(-1)], dim=-1))  # even about L/2
    xc = zero_crossing(mz)  # in cells; the first wall of the doubled domain is in [0, N)
    n = torch.arange(1, n_harmonics + 1, device=mz.device, dtype=mz.dtype)
    k = n * math.pi / L
    terms = -coeff[:, 1 : n_harmonics + 1] * k * torch.sin(k * xc[:, None])  # dθ/dx terms
    slopes = terms.cumsum(dim=1)[:, n_harmonics - n_error :]  # n_max = 601..700 (cells⁻¹)
    widths = math.pi / slopes.abs() * cell_size
    return widths[:, -1], widths.std(dim=1)


def tanh_fit_width(mz: torch.Tensor, cell_size: float, *, iterations: int = 30) -> torch.Tensor:
    """πδ from a batched Gauss–Newton least-squares fit of m_z = s·tanh((x − x0)/δ) (m)."""
    B, N = mz.shape
    x = torch.arange(N, device=mz.device, dtype=mz.dtype) + 0.5
    s = torch.sign(mz[:, -1] - mz[:, 0])[:, None]
    x0 = zero_crossing(mz)[:, None]
    j = (x0 - 0.5).floor().long().clamp(0, N - 2)
    slope = (mz.gather(1, j + 1) - mz.gather(1, j)).abs().clamp_min(1e-6)
    delta = (1.0 / slope).clamp(0.3, N / 2.0)  # tanh slope at the centre is 1/δ
    for _ in range(iterations):
        u = (x - x0) / delta
        th = torch.tanh(u)
        r = s * th - mz
        sech2 = 1 - th * th
        j0 = -s * sech2 / delta
        j1 = -s * sech2 * u / delta
        a00, a01, a11 = (j0 * j0).sum(1, True), (j0 * j1).sum(1, True), (j1 * j1).sum(1, True)
        g0, g1 = (j0 * r).sum(1, True), (j1 * r).sum(1, True)
        det = a00 * a11 - a01 * a01
        dx0 = (a11 * g0 - a01 * g1) / det
        dd = (a00 * g1 - a01 * g0) / det
        x0 = x0 - dx0
        delta = (delta - dd).clamp_min(1e-3)
    return math.pi * delta.squeeze(1) * cell_size
