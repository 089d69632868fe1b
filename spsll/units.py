"""Units at the edges and the two derived defect quantities, defined once.

Inside the physics everything is SI (m, s, Hz, A/m); names that carry another unit say so
(``sigma_nm``, ``freq_thz``). These constants convert at the edges: ``x_nm = x_m / NM``.

The defect population of the random-telegraph-noise model is described by the mean material
length σ and the mean vacancy length τ. Two combinations are what the observables measure
(docs/physics.md#rtn):

* φ = σ / (σ + τ), the material fraction (1 for the perfect chain, τ = 0);
* T = σ τ / (σ + τ) = (1/σ + 1/τ)⁻¹, the correlation length of the telegraph signal (the paper's
  "defect density").

Both functions take Python floats, NumPy arrays or torch tensors alike and do not validate: the
physics validates σ > 0, τ ≥ 0 where they enter it. Scores of network predictions, which can be
negative, pass ``floor``: the denominator σ + τ is then at least ``floor``.
"""

from __future__ import annotations

import numpy as np

NM = 1e-9  # m
PS = 1e-12  # s
FS = 1e-15  # s
THZ = 1e12  # Hz
GHZ = 1e9  # Hz


def _total(sigma, tau, floor):
    total = sigma + tau
    if floor is None:
        return total
    return total.clamp_min(floor) if hasattr(total, "clamp_min") else np.maximum(total, floor)


def material_fraction(sigma, tau, floor: float | None = None):
    """φ = σ / (σ + τ)."""
    return sigma / _total(sigma, tau, floor)


def correlation_length(sigma, tau, floor: float | None = None):
    """T = σ τ / (σ + τ), in the unit of σ and τ."""
    return sigma * tau / _total(sigma, tau, floor)
