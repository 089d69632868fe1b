"""The stray field above a film: what a magnetic-force microscope sees (docs/physics.md#stray-field).

The film fills −t < z < 0, magnetised uniformly through its thickness, z is the height above its top
surface. From the surface charges ±Ms m_z on its faces and the volume charge −Ms ∇·m_∥ (in-plane
Fourier transform, ∂ → ik):

    Ĥ_z(k, z) = (Ms/2) (1 − e^{−kt}) e^{−kz} [m̂_z − i k̂·m̂_∥],
    Ĥ_∥(k, z) = −i k̂ Ĥ_z,        ∂_z Ĥ_z = −k Ĥ_z   (the MFM contrast ∝ ∂_z H_z),

and zero at k = 0 (an infinite uniform film has no field outside). A chain is a film infinite along
y (k_y = 0). The cells are taken as band-limited samples (no cell-shape factor): at heights of a few
cells that costs O((a/z)²) (docs/physics.md#stray-field).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spsll.physics.checks import require_scalar_positive
from spsll.physics.grid import Grid
from spsll.physics.terms.magnetostatics import in_plane_wavevectors


@dataclass
class StrayField:
    hz: torch.Tensor  # (B, *shape) A/m
    dhz_dz: torch.Tensor  # (B, *shape) A/m², the MFM contrast up to a prefactor
    h_inplane: torch.Tensor  # (B, 2, *shape) A/m, (H_x, H_y); H_y = 0 above a chain


def stray_field(m: torch.Tensor, grid: Grid, Ms: float, thickness: float, height: float, *,
                cell_shape: bool = False) -> StrayField:
    """H_z, ∂_z H_z and (H_x, H_y) at ``height`` z > 0 (m) above a film of ``thickness`` t (m) and
    saturation magnetisation ``Ms`` (A/m), for a batch m (B, 3, *shape) on a chain or film ``grid``.

    ``cell_shape``: m uniform in each cell (a finite-difference magnetisation) rather than band-limited:
    the charges are multiplied by the cell's form factor Π_d sinc(k_d a/2), which removes the O((a/z)²)
    error; the aliases it leaves out are O(e^{−πz/a}).
    """
    z = require_scalar_positive("height", height)
    t = require_scalar_positive("thickness", thickness)
    if tuple(m.shape[2:]) != grid.shape or m.shape[1] != 3:
        raise ValueError(f"m must have shape (B, 3, *{grid.shape}), got {tuple(m.shape)}")
    ks = [k.to(m.dtype) for k in in_plane_wavevectors(grid, device=m.device)]
    k = torch.sqrt(sum(kd * kd for kd in ks))
    dims = tuple(range(-grid.ndim, 0))
    mk = torch.fft.rfftn(m, dim=dims)
    unit = _odd_unit_vector(ks, k, grid.a)
    charge = mk[:, 2] - 1j * sum(u * mk[:, d] for d, u in enumerate(unit))
    hz = 0.5 * Ms * (-torch.expm1(-k * t)) * torch.exp(-k * z) * charge  # 0 at k = 0
    if cell_shape:
        hz = hz * torch.prod(torch.stack(torch.broadcast_tensors(*[torch.sinc(kd * grid.a / (2 * torch.pi))
                                                                   for kd in ks])), dim=0)

    def back(x):
        return torch.fft.irfftn(x, s=grid.shape, dim=dims)

    inplane = [back(-1j * u * hz) for u in unit]
    if len(inplane) == 1:
        inplane.append(torch.zeros_like(inplane[0]))
    return StrayField(back(hz), back(-k * hz), torch.stack(inplane, dim=1))


def _odd_unit_vector(ks: list[torch.Tensor], k: torch.Tensor, a: float) -> list[torch.Tensor]:
    """k̂_d = k_d / k, 0 at k = 0 and on the Nyquist line k_d a = ±π (where ±k_d are one mode and an odd
    symbol has no real value)."""
    inv = torch.where(k > 0, 1 / torch.where(k > 0, k, torch.ones_like(k)), torch.zeros_like(k))
    return [torch.where((kd * a).abs() > torch.pi * (1 - 1e-12), torch.zeros_like(kd), kd) * inv for kd in ks]
