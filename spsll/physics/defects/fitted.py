"""The fitted film filter: what explicit mosaic ensembles of vacancies do to a film's spin waves.

Explicit coloured-Poisson mosaics in films (docs/validation-2d.md) keep the ideal spin-wave branch:
where its peak is the strongest, the exchange part of the frequency is the perfect film's times
F0 ≈ 1 (not the φ + √P_cont of ``spsll``); beyond a wavenumber k_cut that rises with σ the branch
survives only as a weaker secondary maximum and the realisation-averaged spectrum peaks at the
localised modes near the gap. The filter that reproduces the ensembles' peaks (docs/fitted-filter.md) is

    F(k; σ, τ) = F0(σ, τ) · Θ(k_cut(σ, τ) − |k|),
    F0       = 1 − c (1 − φ),                        φ = σ/(σ + τ),
    k_cut    = A (σ / 1 nm)^p (τ / 1 nm)^q,

with |k| the length of the wavevector (the film's k_x on a line excitation) and (c, A, p, q) fitted to
ensembles by ``python -m spsll.studies.fitted_filter``. τ = 0 is the perfect film, F ≡ 1, exactly.
It is box independent: unlike ``spsll`` it has no continuous part that fades with the box area.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from spsll.physics.defects.rtn import material_fraction

NM = 1e-9


@dataclass(frozen=True)
class FittedFilterParams:
    """(c, A, p, q) of the fitted filter; A in rad/nm (the value the study writes)."""

    stiffness_slope: float  # c: F0 = 1 − c (1 − φ)
    k_cut_rad_per_nm: float  # A: k_cut at σ = τ = 1 nm
    k_cut_sigma_exponent: float  # p
    k_cut_tau_exponent: float  # q

    def __post_init__(self):
        for key, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                raise ValueError(f"solver.{key} must be a number, got {value!r}")
        if self.k_cut_rad_per_nm <= 0:
            raise ValueError(f"solver.k_cut_rad_per_nm must be > 0, got {self.k_cut_rad_per_nm}")
        if not 0 <= self.stiffness_slope < 1:
            raise ValueError(f"solver.stiffness_slope must be in [0, 1) so that F0 > 0, got {self.stiffness_slope}")

    def stiffness(self, sigma: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """F0 (B,) for σ, τ in metres; exactly 1 where τ = 0."""
        return 1 - self.stiffness_slope * (1 - material_fraction(sigma, tau))

    def k_cut(self, sigma: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """k_cut (rad/m) (B,), infinite where τ = 0 (no vacancies, no cut)."""
        s, t = sigma / NM, tau / NM
        safe = torch.where(t > 0, t, torch.ones_like(t))
        kc = self.k_cut_rad_per_nm / NM * s**self.k_cut_sigma_exponent * safe**self.k_cut_tau_exponent
        return torch.where(t > 0, kc, torch.full_like(kc, float("inf")))

    def filter(self, k_abs: torch.Tensor, sigma: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """F at wavenumber lengths ``k_abs`` (rad/m, any shape S) for a batch (B,): (B, *S), float64."""
        sigma, tau = sigma.to(torch.float64), tau.to(torch.float64)
        view = (-1,) + (1,) * k_abs.ndim
        f0 = self.stiffness(sigma, tau).view(view)
        inside = k_abs[None].to(torch.float64) <= self.k_cut(sigma, tau).view(view)
        return torch.where(inside, f0, torch.zeros_like(f0)).expand(sigma.shape[0], *k_abs.shape).clone()
