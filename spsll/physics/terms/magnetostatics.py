"""Thin-film magnetostatics: the thickness-averaged demagnetising field of a film of thickness t
(docs/physics.md#magnetostatics).

    Ĥ_d(k) = −Ms [f(k) m̂_z ẑ + (1 − f(k)) k̂ (k̂·m̂_∥)],   f(k) = (1 − e^{−kt}) / (kt),  f(0) = 1,
    E = −½ μ0 Ms a^d Σ_j m_j·H_d,j,

k the in-plane wavevector: (k_x) on a chain (a film infinite along y), (k_x, k_y) on a film. Its
k → 0 limit is the local shape term −Ms m_z ẑ, which this term replaces. The kernel is a real
symmetric 3×3 matrix at every k and even in k, so the field is minus the energy gradient. It is
dipolar, not filtered by the defect filter; vacant cells hold m = 0 and carry no moment.
"""

from __future__ import annotations

import torch

from spsll.physics.grid import Grid
from spsll.physics.material import Material


def in_plane_wavevectors(grid: Grid, *, device=None) -> list[torch.Tensor]:
    """(k_x) of a chain or (k_x, k_y) of a film on the ``rfftn`` grid (rad/m), float64; bulk is refused."""
    if grid.ndim == 3:
        raise ValueError("thin-film magnetostatics and the stray field need a chain or a film grid, not bulk")
    return grid.rfft_wavevectors(device=device)


def thickness_factor(k: torch.Tensor, t: float) -> torch.Tensor:
    """f(k) = (1 − e^{−kt})/(kt) for |k| ≥ 0 (rad/m), with f(0) = 1."""
    kt = k * t
    positive = kt > 0
    safe = torch.where(positive, kt, torch.ones_like(kt))
    return torch.where(positive, -torch.expm1(-safe) / safe, torch.ones_like(kt))


def demag_tensor(grid: Grid, t: float, *, device=None) -> dict[str, torch.Tensor]:
    """The thickness-averaged demagnetising tensor N(k) on the ``rfftn`` grid, float64, H_d = −Ms N m̂.

    Keys ``zz`` = f, ``xx`` = (1 − f) k̂x² and, on a film, ``xy``, ``yy``. On a Nyquist line (k_d a = π
    of an even axis, where ±k are one mode) the odd xy element is 0, so the kernel stays even.
    """
    ks = in_plane_wavevectors(grid, device=device)
    k2 = sum(k * k for k in ks)
    k = torch.sqrt(k2)
    f = thickness_factor(k, t)
    inv = torch.where(k2 > 0, 1 / torch.where(k2 > 0, k2, torch.ones_like(k2)), torch.zeros_like(k2))
    out = {"zz": f, "xx": (1 - f) * ks[0] ** 2 * inv}
    if len(ks) == 2:
        nyquist = sum((kd * grid.a).abs() > torch.pi * (1 - 1e-12) for kd in ks) > 0
        out["xy"] = torch.where(nyquist, torch.zeros_like(f), (1 - f) * ks[0] * ks[1] * inv)
        out["yy"] = (1 - f) * ks[1] ** 2 * inv
    return out


class ThinFilmMagnetostatics:
    """H_d(m) for a batch m (B, 3, *shape) of a chain or a film."""

    def __init__(self, tensor: dict[str, torch.Tensor], Ms: float, mu0: float, cell_size: float,
                 shape: tuple[int, ...]):
        self.tensor = tensor
        self.Ms = Ms
        self.mu0 = mu0
        self.cell_size = cell_size
        self.shape = tuple(shape)

    @classmethod
    def of(cls, material: Material, grid: Grid, *, dtype=torch.float64, device=None) -> ThinFilmMagnetostatics:
        tensor = {key: n.to(dtype) for key, n in demag_tensor(grid, material.film_thickness, device=device).items()}
        return cls(tensor, material.Ms, material.mu0, grid.a, grid.shape)

    def field(self, m: torch.Tensor) -> torch.Tensor:
        """H_d(m) in A/m, shape of m."""
        n = self.tensor
        dims = tuple(range(-len(self.shape), 0))
        mk = torch.fft.rfftn(m, dim=dims)
        hk = torch.zeros_like(mk)
        hk[:, 2] = n["zz"] * mk[:, 2]
        if "xy" in n:
            hk[:, 0] = n["xx"] * mk[:, 0] + n["xy"] * mk[:, 1]
            hk[:, 1] = n["xy"] * mk[:, 0] + n["yy"] * mk[:, 1]
        else:
            hk[:, 0] = n["xx"] * mk[:, 0]
        return -self.Ms * torch.fft.irfftn(hk, s=self.shape, dim=dims)

    def energy(self, m: torch.Tensor) -> torch.Tensor:
        """E = −½ μ0 Ms a^d Σ m·H_d per sample (J/m² on a chain, J/m in a film)."""
        e = -0.5 * self.mu0 * self.Ms * (m * self.field(m)).sum(1)
        return e.flatten(1).sum(-1) * self.cell_size ** len(self.shape)

    def rate_bound(self) -> float:
        """Ms (A/m): the eigenvalues of N(k) lie in [0, 1]."""
        return self.Ms

    def select(self, index: torch.Tensor) -> ThinFilmMagnetostatics:
        return self
