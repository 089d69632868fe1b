"""Measurements of 2D textures: the topological charge and the radius of a skyrmion.

* Q = (1/4π) ∫ m · (∂x m × ∂y m) dx dy on the lattice by Berg and Lüscher's triangulation: each
  plaquette is split into two triangles (m1, m2, m3) whose signed solid angle Ω obeys
  tan(Ω/2) = m1·(m2 × m3) / (1 + m1·m2 + m2·m3 + m3·m1); Q = Σ Ω / 4π is an integer for any
  smooth periodic texture, not only in the continuum limit. Cells outside a finite sample or on a
  vacancy hold m = 0 and their triangles add nothing (so a texture cut by vacancies has a
  non-integer charge: the part carried by the material). A core-down skyrmion in a +ẑ background
  has Q = −1 in this orientation.
* The radius is the mean distance from the core to the m_z = 0 contour, along 64 rays: m_z is
  interpolated bilinearly along each ray (steps of a/8) and the first sign change is located
  linearly. The core is the m_z-weighted centroid of the reversed region, refined to sub-cell
  precision, so that a drifted skyrmion is measured where it is.
"""

from __future__ import annotations

import math

import torch

from spsll.physics.grid import Grid

N_RAYS = 64


def _solid_angle(m1, m2, m3):
    """Signed solid angle of the triangle (m1, m2, m3); 0 where a corner is empty (m = 0: a vacancy or
    outside the sample), which atan2(0, den < 0) would otherwise count as 2π."""
    num = (m1 * torch.linalg.cross(m2, m3, dim=1)).sum(1)
    den = 1 + (m1 * m2).sum(1) + (m2 * m3).sum(1) + (m3 * m1).sum(1)
    full = (m1.abs().sum(1) > 0) & (m2.abs().sum(1) > 0) & (m3.abs().sum(1) > 0)
    return torch.where(full, 2 * torch.atan2(num, den), torch.zeros_like(num))


def topological_charge(m: torch.Tensor) -> torch.Tensor:
    """Q per sample of films m (B, 3, Nx, Ny), periodic (Berg–Lüscher)."""
    if m.ndim != 4:
        raise ValueError(f"the topological charge needs films (B, 3, Nx, Ny), got shape {tuple(m.shape)}")
    m00 = m
    m10 = torch.roll(m, -1, dims=2)
    m01 = torch.roll(m, -1, dims=3)
    m11 = torch.roll(m10, -1, dims=3)
    omega = _solid_angle(m00, m10, m11) + _solid_angle(m00, m11, m01)
    return omega.flatten(1).sum(1) / (4 * math.pi)


def _bilinear(field: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """field (Nx, Ny) at fractional cell indices x, y (periodic)."""
    nx, ny = field.shape
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = x - x0, y - y0
    i0, j0 = x0.long() % nx, y0.long() % ny
    i1, j1 = (i0 + 1) % nx, (j0 + 1) % ny
    return (field[i0, j0] * (1 - fx) * (1 - fy) + field[i1, j0] * fx * (1 - fy)
            + field[i0, j1] * (1 - fx) * fy + field[i1, j1] * fx * fy)


def core_centre(mz: torch.Tensor) -> tuple[float, float]:
    """(x, y) in cell indices of the reversed core of one film m_z (Nx, Ny): the centroid of
    max(0, −m_z), taken on the periodic circle so that a core across the box edge is found."""
    w = (-mz).clamp_min(0)
    if float(w.sum()) == 0:
        raise ValueError("no reversed core (m_z < 0 nowhere): no skyrmion to measure")
    out = []
    for axis, n in ((0, mz.shape[0]), (1, mz.shape[1])):
        ang = 2 * math.pi * torch.arange(n, dtype=mz.dtype, device=mz.device) / n
        profile = w.sum(dim=1 - axis)
        c = complex(float((profile * torch.cos(ang)).sum()), float((profile * torch.sin(ang)).sum()))
        out.append((math.atan2(c.imag, c.real) % (2 * math.pi)) * n / (2 * math.pi))
    return out[0], out[1]


def skyrmion_radius(m: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Mean radius (m) of the m_z = 0 contour around each sample's core; NaN where there is no core
    or a ray finds no crossing within half the box."""
    out = torch.full((m.shape[0],), math.nan, dtype=torch.float64)
    reach = min(grid.shape) / 2
    steps = torch.arange(1, int(reach * 8) + 1, dtype=torch.float64, device=m.device) / 8  # cells
    ang = 2 * math.pi * torch.arange(N_RAYS, dtype=torch.float64, device=m.device) / N_RAYS
    for b in range(m.shape[0]):
        mz = m[b, 2].to(torch.float64)
        if float(mz.min()) >= 0:
            continue
        cx, cy = core_centre(mz)
        # cell indices are centres at i + 0.5 in cell units; the centroid is in index units already
        xs = cx + torch.cos(ang)[:, None] * steps[None, :]
        ys = cy + torch.sin(ang)[:, None] * steps[None, :]
        vals = _bilinear(mz, xs, ys)  # (rays, steps)
        start = _bilinear(mz, torch.tensor([cx]), torch.tensor([cy]))
        prev = torch.cat([start.expand(N_RAYS, 1), vals[:, :-1]], dim=1)
        crossing = (prev < 0) & (vals >= 0)
        if not bool(crossing.any(dim=1).all()):
            continue
        j = crossing.float().argmax(dim=1)
        v0, v1 = prev.gather(1, j[:, None])[:, 0], vals.gather(1, j[:, None])[:, 0]
        r0 = torch.where(j > 0, steps[(j - 1).clamp_min(0)], torch.zeros_like(j, dtype=torch.float64))
        r = r0 + (steps[j] - r0) * (-v0) / (v1 - v0)
        out[b] = float(r.mean()) * grid.a
    return out
