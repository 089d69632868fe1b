"""Initial magnetic textures on a grid: the uniform state, an isolated skyrmion, a domain wall.

All are batched (B, 3, *shape), m = 0 outside a finite ``geometry`` (:mod:`spsll.physics.geometry`).

* ``uniform``: m = +ẑ.
* ``skyrmion`` (a film): the core reversed (m_z = −1 at the box centre) in a +ẑ background, with the
  profile θ(r) = 2 arctan[exp((r0 − r)/δ)] and a Néel in-plane part whose sense follows the sign of
  D: for w = D [m_z ∇·m − (m·∇) m_z] (docs/physics.md#dmi) the DMI energy of a radial Néel
  profile is ∫ D c θ'(r) dA with c = ±1 the in-plane sense along r̂; θ' < 0 from the core outwards,
  so c = sign(D) lowers it. D = 0 gives c = +1.
* ``wall``: a Néel wall across x, θ(x) = 2 arctan[exp(x/δ)] (m_z from +1 to −1), at the centre of a
  finite sample, or with its mirrored partner (walls at L/4 and 3L/4) in the periodic box, where a
  single wall cannot exist. The in-plane sense follows the sign of D as for the skyrmion.
"""

from __future__ import annotations

import torch

from spsll.physics.geometry import cell_centres
from spsll.physics.grid import Grid

TEXTURES = ("uniform", "skyrmion", "wall")


def _from_theta(theta: torch.Tensor, in_plane: list[torch.Tensor]) -> torch.Tensor:
    """m = (sin θ u, cos θ) with the in-plane unit vector u = (u_x, u_y): shape (3, *shape)."""
    s = torch.sin(theta)
    return torch.stack([s * in_plane[0], s * in_plane[1], torch.cos(theta)])


def initial_texture(kind: str, grid: Grid, *, batch: int = 1, radius: float | None = None,
                    width: float | None = None, dmi: float = 0.0, geometry: torch.Tensor | None = None,
                    finite_x: bool = False, dtype=torch.float64, device=None) -> torch.Tensor:
    """The texture ``kind`` as (B, 3, *shape); ``radius`` (m, skyrmion core), ``width`` δ (m, profile
    steepness; default 2 cells), ``dmi`` (J/m², only its sign is used), ``geometry`` (occupation)."""
    if kind not in TEXTURES:
        raise ValueError(f"texture must be one of {TEXTURES}, got {kind!r}")
    sense = 1.0 if dmi >= 0 else -1.0
    delta = width if width is not None else 2 * grid.a
    xs = cell_centres(grid, device=device)
    zero = torch.zeros(grid.shape, dtype=torch.float64, device=device)
    if kind == "uniform":
        m = torch.stack([zero, zero, zero + 1])
    elif kind == "skyrmion":
        if grid.ndim != 2:
            raise ValueError(f"a skyrmion needs a film grid (Nx, Ny), got shape {grid.shape}")
        if radius is None or radius <= 0:
            raise ValueError("a skyrmion needs its initial core radius > 0 (texture.radius_nm)")
        r = torch.sqrt(xs[0] ** 2 + xs[1] ** 2).expand(grid.shape)
        theta = 2 * torch.atan(torch.exp((radius - r) / delta))
        phi = torch.atan2(xs[1].expand(grid.shape), xs[0].expand(grid.shape))
        m = _from_theta(theta, [sense * torch.cos(phi), sense * torch.sin(phi)])
    else:  # the in-plane sense c = −sign(D)·sign(θ') lowers the DMI energy D c θ'
        x = xs[0].expand(grid.shape)
        if finite_x:  # m_z = +1 on the left, −1 on the right: θ' > 0
            theta, u_x = 2 * torch.atan(torch.exp(x / delta)), zero - sense
        else:  # the mirrored pair: m_z = −1 between the walls at ±L/4, +1 outside; θ' has the sign of −x
            quarter = grid.shape[0] * grid.a / 4
            theta, u_x = 2 * torch.atan(torch.exp((quarter - x.abs()) / delta)), sense * torch.sign(x)
        m = _from_theta(theta, [u_x, zero])
    m = m.to(dtype).unsqueeze(0).expand(batch, *m.shape).contiguous()
    if geometry is not None:
        m = m * geometry.to(dtype=dtype, device=m.device)
    return m
