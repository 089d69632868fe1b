"""Interfacial Dzyaloshinskii–Moriya interaction (docs/physics.md#dmi).

Energy density (mumax3's convention) and field:

    w = D [m_z ∇·m − (m·∇) m_z],
    H_DMI = (2D / (μ0 Ms)) (∂x m_z, ∂y m_z, −∂x m_x − ∂y m_y),

interfacial: only the in-plane derivatives (a chain has only ∂x; bulk has no ∂z terms). The
derivative is the central difference, spectral with the lattice symbol ∂_d → i sin(k_d a)/a on the
same ``rfft`` (chain) / ``rfftn`` (film, bulk) grid as exchange. The discrete energy

    E = a^d Σ_j w_j = −½ μ0 Ms a^d Σ_j m_j·H_DMI,j

is the bond sum D a^(d−1) Σ_<ij> (ẑ × ê_ij)·(m_i × m_j) of a lattice, so the field is exactly minus
its gradient / (μ0 Ms a^d); a vacancy (m = 0) removes its bonds. The defect filter of a reading
multiplies DMI as it multiplies exchange: ``filt`` F(k) (the ``spsll`` reading) or ``weight`` g(x)
(the convolution reading, DMI acts on F{g·m}).
"""

from __future__ import annotations

import math

import torch

from spsll.physics.grid import Grid
from spsll.physics.material import Material


def derivative_symbols(grid: Grid, *, device=None) -> list[torch.Tensor]:
    """sin(k_d a)/a (1/m) on the ``rfftn`` grid for the in-plane axes x (and y), float64, each
    broadcastable to :attr:`Grid.rfft_shape`; exactly 0 at a Nyquist wavenumber k_d a = ±π."""
    out = []
    for k in grid.rfft_wavevectors(device=device)[:2]:
        s = torch.sin(k * grid.a) / grid.a
        out.append(torch.where((k * grid.a).abs() > math.pi * (1 - 1e-12), torch.zeros_like(s), s))
    return out


class DMITerm:
    """H_DMI(m) for a batch m (B, 3, *shape); ``filt`` (B or 1, 1, *rfft_shape) or None,
    ``weight`` (B, 1, *shape) or None."""

    def __init__(self, prefactor: float, symbols: list[torch.Tensor], shape: tuple[int, ...], mu0_ms: float,
                 cell_size: float, filt: torch.Tensor | None = None, weight: torch.Tensor | None = None):
        self.prefactor = prefactor  # 2D / (μ0 Ms), A/m per (1/m)
        self.symbols = symbols
        self.shape = tuple(shape)
        self.mu0_ms = mu0_ms
        self.cell_size = cell_size
        self.filt = filt
        self.weight = weight

    @classmethod
    def of(cls, material: Material, grid: Grid, *, filt=None, weight=None, dtype=torch.float64,
           device=None) -> DMITerm:
        symbols = [s.to(dtype) for s in derivative_symbols(grid, device=device)]
        filt = None if filt is None else filt.to(dtype=dtype, device=device)
        weight = None if weight is None else weight.to(dtype=dtype, device=device)
        return cls(2 * material.D / (material.mu0 * material.Ms), symbols, grid.shape, material.mu0 * material.Ms,
                   grid.a, filt, weight)

    def field(self, m: torch.Tensor) -> torch.Tensor:
        """H_DMI(m) in A/m, shape of m."""
        dims = tuple(range(-len(self.shape), 0))
        src = m if self.weight is None else self.weight * m
        mk = torch.fft.rfft(src, dim=-1) if len(dims) == 1 else torch.fft.rfftn(src, dim=dims)
        if self.filt is not None:
            mk = mk * self.filt
        hk = torch.zeros_like(mk)
        for axis, s in enumerate(self.symbols):  # ∂_d → i sin(k_d a)/a
            hk[:, axis] = 1j * s * mk[:, 2]
            hk[:, 2] -= 1j * s * mk[:, axis]
        if len(dims) == 1:
            return self.prefactor * torch.fft.irfft(hk, n=self.shape[0], dim=-1)
        return self.prefactor * torch.fft.irfftn(hk, s=self.shape, dim=dims)

    def energy(self, m: torch.Tensor) -> torch.Tensor:
        """E = −½ μ0 Ms a^d Σ m·H_DMI per sample (J/m² on a chain, J/m in a film, J in bulk)."""
        return (-0.5 * self.mu0_ms * (m * self.field(m)).sum(1)).flatten(1).sum(-1) * self.cell_size ** len(self.shape)

    def rate_bound(self) -> float:
        """|2D/(μ0 Ms)| · max|sin(k a)/a|·√(axes) · max F · max|g| (A/m): bounds the operator norm."""
        bound = abs(self.prefactor) * math.sqrt(len(self.symbols)) / self.cell_size
        for t in (self.filt, self.weight):
            bound *= 1.0 if t is None else float(t.abs().max())
        return bound

    def select(self, index: torch.Tensor) -> DMITerm:
        """The term restricted to the samples ``index`` (a shared filter stays shared)."""
        filt = self.filt if self.filt is None or self.filt.shape[0] == 1 else self.filt[index]
        weight = None if self.weight is None else self.weight[index]
        return DMITerm(self.prefactor, self.symbols, self.shape, self.mu0_ms, self.cell_size, filt, weight)
