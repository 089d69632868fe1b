"""The simulation grid: a periodic box of cubic cells of size a, and its wavenumbers.

SPS-LL is a chain today, a grid of shape (N,); films (Nx, Ny) and bulk (Nx, Ny, Nz) are planned
(docs/physics.md#next). Every k-space object of the model lives on this grid: the RTN spectrum is
discretised on its k_j = 2πj/(N a), so the grid size is part of the model
(docs/physics.md#discretisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from spsll.physics.checks import require_int_at_least, require_scalar_positive


@dataclass(frozen=True)
class Grid:
    """A periodic chain of ``n_cells`` cells of size ``a`` (m)."""

    n_cells: int
    a: float

    def __post_init__(self):
        object.__setattr__(self, "n_cells", require_int_at_least("n_cells", self.n_cells, 1))
        object.__setattr__(self, "a", require_scalar_positive("cell size a", self.a))

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n_cells,)

    @property
    def length(self) -> float:
        """Box length N a (m)."""
        return self.n_cells * self.a

    def rfft_wavenumbers(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """Non-negative wavenumbers of ``torch.fft.rfft`` (rad/m), shape (N//2 + 1,)."""
        return 2 * torch.pi * torch.fft.rfftfreq(self.n_cells, d=self.a, dtype=dtype, device=device)

    def sorted_wavenumbers(self, *, device=None) -> torch.Tensor:
        """k (rad/m) of the full FFT, ascending −π/a … π/a − Δk (``fftshift`` order), float64."""
        k = 2 * math.pi * torch.fft.fftfreq(self.n_cells, d=self.a, dtype=torch.float64, device=device)
        return torch.fft.fftshift(k)
