"""The linear theory the sweeps are checked against (docs/hysteresis.md#theory).

A soft layer (anisotropy κK, same A and Ms) of thickness d in a hard chain (K), saturated along +z,
reverse field H along −z. Small transverse deviations u(x) cost

    E₂ = ∫ [A u'² + (κ(x) K − μ0 Ms H / 2) u²] dx,

so the saturated state is stable until μ0 Ms H / 2 reaches the lowest eigenvalue of −A ∂² + κ(x) K:
h_N = H_N/H_K (H_K = 2K/(μ0 Ms)) is the lowest eigenvalue of −δ² ∂² + κ(x), δ = √(A/K). For κ = 0
in |x| < d/2 the bound state gives

    √h tan(√h d / (2δ)) = √(1 − h)        (continuum),

and on the nearest-neighbour lattice of spacing a (the exchange of this code) ∂² is the lattice
Laplacian (u_{j+1} − 2u_j + u_{j−1})/a²: :func:`lattice_nucleation_field`. A wall pinned at a sharp
interface to a thick soft region (equal A and Ms) depins at H_K (1 − κ)/4 (Kronmüller's formula with
ε_A = ε_Ms = 1).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import eigh_tridiagonal

from spsll.physics.checks import require_int_at_least, require_scalar_nonnegative, require_scalar_positive


def continuum_nucleation_field(d_over_delta: float) -> float:
    """h_N of a κ = 0 layer of thickness d (units of δ) in the continuum: the root in (0, 1] of
    √h tan(√h d/2δ) = √(1 − h) (bisection to 1e-14)."""
    x = require_scalar_positive("d_over_delta", d_over_delta) / 2

    def f(h):
        return math.sqrt(h) * math.tan(math.sqrt(h) * x) - math.sqrt(1 - h)

    lo, hi = 0.0, min(1.0, (math.pi / (2 * x)) ** 2 * (1 - 1e-15))  # f < 0 at 0, f > 0 before the tan pole
    while hi - lo > 1e-14:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return (lo + hi) / 2


def lattice_nucleation_field(n_cells: int, delta_over_a: float, *, kappa: float = 0.0) -> float:
    """h_N of a layer of ``n_cells`` cells with anisotropy factor ``kappa`` on the nearest-neighbour lattice:
    the lowest eigenvalue of (δ/a)² (2u_j − u_{j+1} − u_{j−1}) + κ_j u_j on the infinite chain.

    The bound state decays into the hard chain as λ^|j|, cosh ln(1/λ) = 1 + (1 − h)/(2 (δ/a)²), slowly
    when h → 1 (a thin layer: 6.5 δ for one cell); the chain is lengthened until λ^side < e⁻³⁰ on each side.
    ``kappa`` is the layer's *effective* anisotropy in units of the hard chain's and may be negative: with
    the thin-film shape term a κ = 0 layer has K_eff = −μ0 Ms²/2, i.e. κ_eff = −Ms/(Hk − Ms), and δ, H_K
    are then those of K_eff = Ku − μ0 Ms²/2 (docs/hysteresis.md#theory). A layer with κ ≥ 1 binds no
    state: h_N = 1 (coherent rotation of the chain).
    """
    n = require_int_at_least("n_cells", n_cells, 1)
    r = require_scalar_positive("delta_over_a", delta_over_a)
    k = float(kappa)
    if not math.isfinite(k):
        raise ValueError(f"kappa must be finite, got {kappa}")
    if k >= 1:
        return 1.0
    side = math.ceil(10 * r)
    while True:
        diag = np.full(n + 2 * side, 2 * r * r + 1.0)
        diag[side:side + n] = 2 * r * r + k
        h = float(eigh_tridiagonal(diag, np.full(diag.size - 1, -r * r), select="i", select_range=(0, 0),
                                   eigvals_only=True)[0])
        need = math.ceil(30 / math.acosh(1 + max(1 - h, 1e-12) / (2 * r * r)))
        if side >= need or side >= 10**6:
            return h
        side = need


def thick_layer_depinning_field(kappa: float = 0.0) -> float:
    """H_p/H_K = (1 − κ)/4 of a wall at a sharp interface to a thick soft region with equal A and Ms."""
    return (1 - require_scalar_nonnegative("kappa", kappa)) / 4
