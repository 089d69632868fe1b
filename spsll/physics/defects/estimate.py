"""Spectral estimate of sampled random telegraph noise (the discrete counterpart of the paper's SI Eq. 1).

Checks a sampler against the spectrum of :mod:`spsll.physics.defects.rtn`: the DC term estimates
φ², the total power φ, and the Wiener–Khinchin periodogram of the mean-removed signals the
continuous part of the discrete spectrum P_j.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spsll.physics.checks import require_int_at_least


@dataclass
class RTNSpectrumEstimate:
    """Ensemble spectral estimate of sampled RTN (discrete counterpart of the paper's SI Eq. 1).

    Attributes:
        dc: mean over realisations of ``mean(x)**2`` (estimates ``phi**2``), 0-d tensor.
        total_power: mean over realisations of ``mean(x**2)`` (estimates ``phi``), 0-d tensor.
        continuous: shape (n,), FFT order: ``|FFT(x - mean(x))|**2 / n**2`` averaged over
            realisations, the Wiener-Khinchin estimate of the continuous part of ``P_j``
            (index 0 is ~0 since the mean is removed).
        n_realisations: number of realisations averaged (for :meth:`merge`).
    """

    dc: torch.Tensor
    total_power: torch.Tensor
    continuous: torch.Tensor
    n_realisations: int = 1

    def merge(self, other: RTNSpectrumEstimate) -> RTNSpectrumEstimate:
        """Realisation-weighted average of two estimates of the same grid."""
        if other.continuous.shape != self.continuous.shape:
            raise ValueError(
                f"cannot merge estimates of different grids: {tuple(self.continuous.shape)} vs "
                f"{tuple(other.continuous.shape)}"
            )
        n1, n2 = self.n_realisations, other.n_realisations
        w1, w2 = n1 / (n1 + n2), n2 / (n1 + n2)
        return RTNSpectrumEstimate(
            dc=w1 * self.dc + w2 * other.dc,
            total_power=w1 * self.total_power + w2 * other.total_power,
            continuous=w1 * self.continuous + w2 * other.continuous,
            n_realisations=n1 + n2,
        )


def estimate_spectrum(signals: torch.Tensor) -> RTNSpectrumEstimate:
    """Estimate DC term, total power and continuous spectrum from realisations (R, n) or (n,)."""
    x = torch.as_tensor(signals)
    if not x.is_floating_point():
        x = x.to(torch.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"signals must have shape (R, n) or (n,), got {tuple(x.shape)}")
    R, n = x.shape
    require_int_at_least("n_realisations", R, 1)
    require_int_at_least("n_cells", n, 2)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("signals must be finite")
    mean = x.mean(dim=1)
    dc = (mean * mean).mean()
    total_power = (x * x).mean()
    # real input: |FFT|^2 is even in k, so use the half spectrum and mirror it
    half = torch.fft.rfft(x - mean[:, None], dim=1)
    power = (half.real**2 + half.imag**2).mean(dim=0) / float(n) ** 2
    continuous = torch.cat([power, power[1 : (n + 1) // 2].flip(0)])
    return RTNSpectrumEstimate(
        dc=dc, total_power=total_power, continuous=continuous, n_realisations=R
    )
