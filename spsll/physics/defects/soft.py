"""Soft defects: cells of reduced anisotropy κK in a hard chain (docs/hysteresis.md#defects).

A soft defect keeps the chain's exchange A and magnetisation Ms and is exchange-coupled to its
neighbours; only its uniaxial anisotropy is κK instead of K (κ = 0 by default: magnetically soft).
The defect cells of a chain are a 0/1 indicator d(x) (or a fraction in [0, 1], a graded defect), and
the anisotropy factor of :class:`~spsll.physics.terms.anisotropy.CellAnisotropy` is

    κ(x) = 1 − d(x) (1 − κ).

Two placements: one layer of n cells in the chain centre (the test geometry of the nucleation
theory), or the vacancy runs of the random telegraph noise (:mod:`spsll.physics.defects.rtn`, means
σ and τ), which hold soft cells instead of vacancies when the defects are soft.
"""

from __future__ import annotations

import torch

from spsll.physics.checks import require_int_at_least, require_scalar_nonnegative, require_scalar_positive
from spsll.physics.defects.masks import vacancy_masks

DEFECT_KINDS = ("vacancy", "soft")


def layer_cells(thickness: float, cell_size: float) -> int:
    """Cells n of a layer of ``thickness`` (m): the nearest whole number of cells, at least one cell."""
    d = require_scalar_positive("defect thickness", thickness)
    a = require_scalar_positive("cell size", cell_size)
    if d < a * (1 - 1e-9):
        raise ValueError(f"defect thickness {d / 1e-9:.4g} nm is below one cell ({a / 1e-9:.4g} nm): a layer "
                         "holds whole cells")
    return max(1, round(d / a))


def centre_layer(n_cells: int, thickness_cells: int, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """Defect indicator (N,) of 0./1.: one layer of ``thickness_cells`` cells in the chain centre (cells
    ⌊N/2⌋ − ⌊n/2⌋ … ⌊N/2⌋ − ⌊n/2⌋ + n − 1)."""
    N = require_int_at_least("n_cells", n_cells, 2)
    n = require_int_at_least("defect thickness (cells)", thickness_cells, 1)
    if n > N - 2:
        raise ValueError(f"defect thickness of {n} cells leaves no hard chain around it ({N} cells)")
    d = torch.zeros(N, dtype=dtype, device=device)
    start = N // 2 - n // 2
    d[start:start + n] = 1.0
    return d


def rtn_defect_cells(n_cells: int, cell_size: float, sigma: float, tau: float, count: int, seed: int = 0, *,
                     dtype=torch.float64, device=None) -> torch.Tensor:
    """Defect indicators (count, N) of 0./1.: the vacancy runs (mean length τ, m) between material runs
    (mean σ) of ``count`` telegraph chains, the masks of :func:`~spsll.physics.defects.masks.vacancy_masks`
    for (σ, τ, seed) turned over (d = 1 − occupation)."""
    s = require_scalar_positive("sigma", sigma)
    t = require_scalar_nonnegative("tau", tau)
    occupied = vacancy_masks(n_cells, cell_size, [s], [t], count, seed, dtype=dtype, device=device)
    return 1.0 - occupied


def check_fraction(name: str, d: torch.Tensor) -> torch.Tensor:
    """``d`` finite and within [0, 1] (a defect fraction or an occupation)."""
    if not bool(torch.isfinite(d).all()):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if bool(((d < 0) | (d > 1)).any()):
        raise ValueError(f"{name} values must be within [0, 1], got min {float(d.min()):.4g} and max "
                         f"{float(d.max()):.4g}")
    return d


def soft_anisotropy(defects, kappa: float = 0.0) -> torch.Tensor:
    """κ(x) = 1 − d(x)(1 − κ) of defect indicators ``defects`` (any shape, values in [0, 1]): the factor
    of the anisotropy K in every cell; κ ≥ 0 is the defects' anisotropy in units of K."""
    d = torch.as_tensor(defects)
    d = check_fraction("defect mask", d if d.is_floating_point() else d.to(torch.float64))
    k = require_scalar_nonnegative("defects.kappa", kappa)
    return 1.0 - d * (1.0 - k)
