"""Exchange term of the (S)PS-LL model: H_ex = −F⁻¹{κ(k) Ŵ} (Eq. 2), and its energy.

κ(k) Ŵ = Ms ω(k) W(k) (Eq. 5) with ω(k) = 2 (λex/a)² [1 − cos ak] (Eq. 6). How the defect spectrum
enters W (the readings of Eq. 4) is a solver's choice (:mod:`spsll.physics.solvers`); the term
holds what the solver built: a kernel on the rfft grid, optionally a real-space weight g(x)
(W = F{g·m}, the convolution reading) and optionally an occupation mask r (explicit vacancies,
:func:`masked_exchange`). docs/physics.md#readings explains each reading.
"""

from __future__ import annotations

import torch

from spsll.physics.checks import require_int_at_least
from spsll.physics.grid import Grid
from spsll.physics.material import Material

MIN_CELLS = 8


def exchange_dispersion(k: torch.Tensor, material: Material) -> torch.Tensor:
    """Dimensionless magnon dispersion ω(k) = 2 (λex/a)² [1 − cos ak] (Eq. 6)."""
    return material.exchange_prefactor * (1 - torch.cos(k * material.a))


def exchange_kernel(material: Material, grid: Grid, *, device=None) -> torch.Tensor:
    """κ(k) = Ms ω(k) on the rfft grid, float64, shape (N//2 + 1,): the ideal (``psll``) kernel."""
    require_int_at_least("n_cells", grid.n_cells, MIN_CELLS)
    return material.Ms * exchange_dispersion(grid.rfft_wavenumbers(device=device), material)


class ExchangeTerm:
    """H_ex(m) = −Ms F⁻¹{ω(k) W(k)} for a batch m of shape (B, 3, N).

    ``kernel`` is Ms ω(k) [· F(k)] on the rfft grid, shape (B or 1, 1, N//2+1); ``weight`` is g(x)
    of the convolution reading, shape (B, 1, N), or ``None``. ``mask`` (B, 1, N) of 0./1., or
    ``None``, is the explicit-vacancy occupation r of ``rtn_ensemble`` (:func:`masked_exchange`):
    the whole effective field is multiplied by it, so vacant cells feel no field (and, holding
    m = 0, keep m = 0).
    """

    def __init__(self, name: str, kernel: torch.Tensor, weight: torch.Tensor | None, n_cells: int,
                 mask: torch.Tensor | None = None):
        self.name = name
        self.kernel = kernel
        self.weight = weight
        self.n_cells = n_cells
        self.mask = mask

    @property
    def batch_size(self) -> int:
        return max(self.kernel.shape[0], 1 if self.weight is None else self.weight.shape[0])

    def field(self, m: torch.Tensor) -> torch.Tensor:
        """H_ex(m) in A/m, shape of m (B, 3, N)."""
        h = exchange_field(m, self.kernel, self.weight)
        return h if self.mask is None else h * self.mask

    def energy(self, m: torch.Tensor, cell_size: float, mu0_ms: float) -> torch.Tensor:
        """E_ex = −½ μ0 Ms a Σ_j m_j·H_ex,j per sample (J/m²): the energy whose gradient is H_ex
        for the symmetric readings; the convolution reading is not symmetric and has none."""
        return (-0.5 * mu0_ms * (m * self.field(m)).sum(1)).sum(-1) * cell_size

    def rate_bound(self) -> torch.Tensor:
        """Upper bound of the operator's field scale per sample (A/m): max κ · max|g|.

        For the symmetric filters this is the largest eigenvalue; for the convolution it bounds
        ‖C_κ diag(g)‖ ≤ max κ · max|g|, which is what makes that reading stiff.
        """
        kmax = self.kernel.abs().amax(dim=(1, 2))
        if self.weight is not None:
            kmax = kmax * self.weight.abs().amax(dim=(1, 2))
        return kmax

    def select(self, index: torch.Tensor) -> ExchangeTerm:
        """The operator restricted to the samples ``index`` (shared kernels stay shared)."""
        kernel = self.kernel if self.kernel.shape[0] == 1 else self.kernel[index]
        weight = None if self.weight is None else self.weight[index]
        mask = None if self.mask is None else self.mask[index]
        return ExchangeTerm(self.name, kernel, weight, self.n_cells, mask)

    def to(self, dtype=None, device=None) -> ExchangeTerm:
        w = None if self.weight is None else self.weight.to(dtype=dtype, device=device)
        r = None if self.mask is None else self.mask.to(dtype=dtype, device=device)
        return ExchangeTerm(
            self.name, self.kernel.to(dtype=dtype, device=device), w, self.n_cells, r
        )


def exchange_field(m: torch.Tensor, kernel: torch.Tensor, weight: torch.Tensor | None):
    """−F⁻¹{kernel · F{weight·m}} along the last axis (Eqs. 2, 4, 5); ``weight=None`` is g ≡ 1."""
    src = m if weight is None else weight * m
    return -torch.fft.irfft(kernel * torch.fft.rfft(src, dim=-1), n=m.shape[-1], dim=-1)


def masked_exchange(material: Material, mask, *, dtype=torch.float64, device=None) -> ExchangeTerm:
    """Exchange of chains with explicit vacancies (solver ``rtn_ensemble``), one chain per mask row.

    ``mask`` r (M, N) or (M, 1, N) holds 1 on occupied and 0 on vacant cells. The field is

        H_ex,i = −r_i F⁻¹{κ(k) F{r m}(k)}_i = r_i Σ_j K(x_i − x_j) r_j m_j,   K = −F⁻¹{κ},

    the PS-LL kernel sandwiched between the masks: the pair interaction K_ij between cells i and j
    exists only if both are occupied (for Eq. 6, K is the nearest-neighbour stencil
    Ms (λex/a)² [1, −2, 1], so a bond i–i+1 exists only if both cells hold a moment; a longer-ranged
    κ(k) is diluted the same way, pair by pair). It is symmetric, so it derives from the energy
    E = −½ μ0 Ms a Σ_ij r_i r_j m_i·K_ij m_j. The self term K_ii m_i = −2 Ms (λex/a)² m_i is kept
    whatever the neighbours: it is parallel to m_i, so it exerts no torque (m × H and
    m × (m × H)) and does not change the dynamics or the relaxed state; it only shifts the energy by
    a constant (|m_i| = 1). With every cell occupied (τ = 0) r ≡ 1, the multiplications by 1 are
    exact and the operator is the ``psll`` one to the bit. Vacant cells hold m = 0 (the integrators
    keep them there); the local field is masked as well (:func:`spsll.physics.llg.effective_field`).
    """
    r = torch.as_tensor(mask, dtype=dtype, device=device)
    if r.ndim == 2:
        r = r[:, None, :]
    if r.ndim != 3 or r.shape[1] != 1:
        raise ValueError(f"mask must have shape (M, N) or (M, 1, N), got {tuple(r.shape)}")
    n_cells = require_int_at_least("n_cells", r.shape[-1], MIN_CELLS)
    if not bool(((r == 0) | (r == 1)).all()):
        raise ValueError("mask must hold only 0 (vacancy) and 1 (occupied cell)")
    kappa = exchange_kernel(material, Grid(n_cells, material.a), device=device).reshape(1, 1, -1).to(dtype)
    return ExchangeTerm("rtn_ensemble", kappa, r, n_cells, r)
