"""The simulation grid: a periodic box of cubic cells of size a, and its wavenumbers.

A chain (N,), a film (Nx, Ny) or bulk (Nx, Ny, Nz); magnetisations are batched as (B, 3, *shape).
Every k-space object of the model lives on this grid: the defect spectrum is discretised on its
k_d = 2πj/(N_d a), so the grid is part of the model (docs/physics.md#discretisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from spsll.physics.checks import require_int_at_least, require_scalar_positive


@dataclass(frozen=True, init=False)
class Grid:
    """A periodic box of ``shape`` cells (one to three dimensions) of size ``a`` (m)."""

    shape: tuple[int, ...]
    a: float

    def __init__(self, shape: int | tuple[int, ...] | list[int], a: float):
        dims = (shape,) if isinstance(shape, int) or not hasattr(shape, "__len__") else tuple(shape)
        if not 1 <= len(dims) <= 3:
            raise ValueError(f"grid shape must have 1 to 3 dimensions, got {tuple(dims)}")
        dims = tuple(require_int_at_least("grid size", n, 1) for n in dims)
        object.__setattr__(self, "shape", dims)
        object.__setattr__(self, "a", require_scalar_positive("cell size a", a))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def n_cells(self) -> int:
        """Number of cells (N for a chain)."""
        return math.prod(self.shape)

    @property
    def length(self) -> float:
        """Chain length N a (m); the box's lengths are :attr:`lengths`."""
        if self.ndim != 1:
            raise ValueError(f"length is the chain's; this grid is {self.ndim}-D: use lengths")
        return self.shape[0] * self.a

    @property
    def lengths(self) -> tuple[float, ...]:
        return tuple(n * self.a for n in self.shape)

    @property
    def cell_volume(self) -> float:
        """a^d: a sum over cells times this is an integral over the box (per unit cross-section in 1D)."""
        return self.a**self.ndim

    @property
    def spatial_dims(self) -> tuple[int, ...]:
        """The axes of a batched field (B, 3, *shape) that are space."""
        return tuple(range(2, 2 + self.ndim))

    @property
    def rfft_shape(self) -> tuple[int, ...]:
        return (*self.shape[:-1], self.shape[-1] // 2 + 1)

    def rfft_wavenumbers(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """Non-negative wavenumbers of ``torch.fft.rfft`` along the last axis (rad/m), (N//2 + 1,)."""
        return 2 * torch.pi * torch.fft.rfftfreq(self.shape[-1], d=self.a, dtype=dtype, device=device)

    def rfft_wavevectors(self, *, dtype=torch.float64, device=None) -> list[torch.Tensor]:
        """k_d (rad/m) on the ``rfftn`` grid, one tensor per axis, each broadcastable to :attr:`rfft_shape`."""
        ks = []
        for d, n in enumerate(self.shape):
            last = d == self.ndim - 1
            k = (torch.fft.rfftfreq if last else torch.fft.fftfreq)(n, d=self.a, dtype=dtype, device=device)
            view = [1] * self.ndim
            view[d] = -1
            ks.append((2 * torch.pi * k).view(view))
        return ks

    def sorted_wavenumbers(self, axis: int = -1, *, device=None) -> torch.Tensor:
        """k (rad/m) of the full FFT along ``axis``, ascending −π/a … π/a − Δk (``fftshift`` order), float64."""
        k = 2 * math.pi * torch.fft.fftfreq(self.shape[axis], d=self.a, dtype=torch.float64, device=device)
        return torch.fft.fftshift(k)
