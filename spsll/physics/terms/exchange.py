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
    """κ(k) = Ms ω(k) on the ``rfftn`` grid, float64, shape :attr:`Grid.rfft_shape`: the ideal
    (``psll``) kernel, ω(k) = 2 (λex/a)² Σ_d [1 − cos k_d a] (the nearest-neighbour lattice Laplacian,
    the finite-difference exchange of a cubic mesh)."""
    require_int_at_least("n_cells", grid.n_cells, MIN_CELLS)
    if grid.ndim == 1:
        return material.Ms * exchange_dispersion(grid.rfft_wavenumbers(device=device), material)
    symbol = sum(1 - torch.cos(k * material.a) for k in grid.rfft_wavevectors(device=device))
    return material.Ms * (material.exchange_prefactor * symbol)


class ExchangeTerm:
    """H_ex(m) = −Ms F⁻¹{ω(k) W(k)} for a batch m of shape (B, 3, *shape).

    ``kernel`` is Ms ω(k) [· F(k)] on the rfftn grid, shape (B or 1, 1, *rfft_shape); ``weight`` is
    g(x) of the convolution reading, shape (B, 1, *shape), or ``None``. ``mask`` (B, 1, *shape) of
    0./1., or ``None``, is the explicit-vacancy occupation r (:func:`masked_exchange`): the whole
    effective field is multiplied by it, so vacant cells feel no field (and, holding m = 0, keep
    m = 0).
    """

    def __init__(self, name: str, kernel: torch.Tensor, weight: torch.Tensor | None, shape: tuple[int, ...],
                 mask: torch.Tensor | None = None):
        self.name = name
        self.kernel = kernel
        self.weight = weight
        self.shape = tuple(shape)
        self.mask = mask

    @property
    def batch_size(self) -> int:
        return max(self.kernel.shape[0], 1 if self.weight is None else self.weight.shape[0])

    def field(self, m: torch.Tensor) -> torch.Tensor:
        """H_ex(m) in A/m, shape of m (B, 3, *shape)."""
        h = exchange_field(m, self.kernel, self.weight)
        return h if self.mask is None else h * self.mask

    def energy(self, m: torch.Tensor, cell_volume: float, mu0_ms: float) -> torch.Tensor:
        """E_ex = −½ μ0 Ms a^d Σ_j m_j·H_ex,j per sample (J/m² in 1D, J/m in 2D, J in 3D): the energy
        whose gradient is H_ex for the symmetric readings; the convolution reading has none."""
        return (-0.5 * mu0_ms * (m * self.field(m)).sum(1)).flatten(1).sum(-1) * cell_volume

    def rate_bound(self) -> torch.Tensor:
        """Upper bound of the operator's field scale per sample (A/m): max κ · max|g|.

        For the symmetric filters this is the largest eigenvalue; for the convolution it bounds
        ‖C_κ diag(g)‖ ≤ max κ · max|g|, which is what makes that reading stiff.
        """
        kmax = self.kernel.abs().flatten(1).amax(dim=1)
        if self.weight is not None:
            kmax = kmax * self.weight.abs().flatten(1).amax(dim=1)
        return kmax

    def select(self, index: torch.Tensor) -> ExchangeTerm:
        """The operator restricted to the samples ``index`` (shared kernels, weights and masks stay shared)."""
        kernel, weight, mask = (None if t is None else t if t.shape[0] == 1 else t[index]
                                for t in (self.kernel, self.weight, self.mask))
        return ExchangeTerm(self.name, kernel, weight, self.shape, mask)

    def restricted_to(self, occupation: torch.Tensor) -> ExchangeTerm:
        """The term on a finite sample: the field is multiplied by ``occupation`` (*shape) of 0./1.
        (with any vacancy mask already there), the free boundary of a finite-difference code."""
        r = occupation.to(dtype=self.kernel.dtype, device=self.kernel.device).reshape(1, 1, *self.shape)
        return ExchangeTerm(self.name, self.kernel, self.weight, self.shape, r if self.mask is None else self.mask * r)

    def to(self, dtype=None, device=None) -> ExchangeTerm:
        w = None if self.weight is None else self.weight.to(dtype=dtype, device=device)
        r = None if self.mask is None else self.mask.to(dtype=dtype, device=device)
        return ExchangeTerm(self.name, self.kernel.to(dtype=dtype, device=device), w, self.shape, r)


def exchange_field(m: torch.Tensor, kernel: torch.Tensor, weight: torch.Tensor | None):
    """−F⁻¹{kernel · F{weight·m}} over the spatial axes (Eqs. 2, 4, 5); ``weight=None`` is g ≡ 1.

    A chain takes the 1D ``rfft`` (the same arithmetic as ever); films and bulk ``rfftn``. A film's
    k_y = 0 line (shape (N, 1), :func:`spsll.physics.solvers.line_system`) takes the 1D ``rfft`` along x
    with the non-negative half of its kernel: every exchange kernel is even in k_x (a function of
    cos k_x a and |k|), and ``irfftn`` over a length-1 axis is an order of magnitude slower.
    """
    src = m if weight is None else weight * m
    d = kernel.ndim - 2
    if d == 1:
        return -torch.fft.irfft(kernel * torch.fft.rfft(src, dim=-1), n=m.shape[-1], dim=-1)
    if d == 2 and m.shape[-1] == 1 and kernel.shape[-1] == 1:
        n = m.shape[-2]
        half = kernel[..., : n // 2 + 1, 0]
        return -torch.fft.irfft(half * torch.fft.rfft(src[..., 0], dim=-1), n=n, dim=-1)[..., None]
    dims = tuple(range(-d, 0))
    return -torch.fft.irfftn(kernel * torch.fft.rfftn(src, dim=dims), s=m.shape[-d:], dim=dims)


def masked_exchange(material: Material, mask, *, grid: Grid | None = None, dtype=torch.float64,
                    device=None) -> ExchangeTerm:
    """Exchange of explicit-vacancy samples (solver ``rtn_ensemble``), one sample per mask row.

    ``mask`` r, (M, *shape) or (M, 1, *shape) (``grid`` gives the shape; without it a chain (M, N)),
    holds 1 on occupied and 0 on vacant cells. The field is

        H_ex,i = −r_i F⁻¹{κ(k) F{r m}(k)}_i = r_i Σ_j K(x_i − x_j) r_j m_j,   K = −F⁻¹{κ},

    the PS-LL kernel sandwiched between the masks: the pair interaction K_ij between cells i and j
    exists only if both are occupied (for the lattice Laplacian, K is the nearest-neighbour stencil,
    so a bond exists only if both cells hold a moment). It is symmetric, so it derives from the
    energy E = −½ μ0 Ms a^d Σ_ij r_i r_j m_i·K_ij m_j. The self term K_ii m_i is kept whatever the
    neighbours: it is parallel to m_i, exerts no torque and does not change the dynamics or the
    relaxed state; it only shifts the energy by a constant (|m_i| = 1). With every cell occupied
    (τ = 0) r ≡ 1, the multiplications by 1 are exact and the operator is the ``psll`` one to the
    bit. Vacant cells hold m = 0 (the integrators keep them there); the local field is masked as
    well (:func:`spsll.physics.llg.effective_field`).
    """
    r = torch.as_tensor(mask, dtype=dtype, device=device)
    shape = tuple(grid.shape) if grid is not None else tuple(r.shape[-1:])
    if r.ndim == 1 + len(shape):
        r = r.unsqueeze(1)
    if r.ndim != 2 + len(shape) or r.shape[1] != 1 or tuple(r.shape[2:]) != shape:
        raise ValueError(f"mask must have shape (M, *{shape}) or (M, 1, *{shape}), got {tuple(r.shape)}")
    grid = grid if grid is not None else Grid(shape, material.a)
    require_int_at_least("n_cells", grid.n_cells, MIN_CELLS)
    if not bool(((r == 0) | (r == 1)).all()):
        raise ValueError("mask must hold only 0 (vacancy) and 1 (occupied cell)")
    kappa = exchange_kernel(material, grid, device=device).reshape(1, 1, *grid.rfft_shape).to(dtype)
    return ExchangeTerm("rtn_ensemble", kappa, r, grid.shape, r)
