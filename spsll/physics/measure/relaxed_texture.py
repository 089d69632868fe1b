"""Relax a texture and measure it: the state, its energy, charge, radius, width and edge moments.

One batch of samples (a few textures, or the realisations of one) is relaxed by the torque-stopped
minimiser of :mod:`spsll.physics.relax` from :func:`spsll.physics.textures.initial_texture` and
measured: the energy of the sample (J: the energy per unit cross-section or thickness of the model
times the film thickness t, and times a for a chain, whose cross-section is a × t), the topological
charge Q and the skyrmion radius (films), the wall width (the tanh fit of the profile along x,
averaged over rows), and the moments of the first and last cell of the sample along x (wires).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.texture import skyrmion_radius, topological_charge
from spsll.physics.measure.width import tanh_fit_width
from spsll.physics.relax import relax_bb
from spsll.physics.solvers import SolverConfig, build_system
from spsll.physics.textures import initial_texture

SURVIVAL_Q_TOL = 0.1  # a skyrmion survives while |Q − Q0| < 0.1 and its core is still reversed


@dataclass
class TextureResult:
    m: torch.Tensor  # (B, 3, *shape) relaxed state
    converged: torch.Tensor  # (B,) bool
    max_torque: torch.Tensor  # (B,) A/m
    energy_J: torch.Tensor  # (B,)
    topological_charge: torch.Tensor | None  # (B,) films
    initial_charge: torch.Tensor | None  # (B,) films
    radius: torch.Tensor | None  # (B,) m, skyrmions (NaN: no core)
    survived: torch.Tensor | None  # (B,) bool, skyrmions
    width: torch.Tensor | None  # (B,) m, walls
    m_edge: torch.Tensor | None  # (B, 2, 3) first and last sample cell along x (centre row), wires


def sample_cross_section(material: Material, grid: Grid) -> float:
    """What turns the model's energy (J/m² on a chain, J/m in a film, J in bulk) into joules."""
    t = material.film_thickness
    return {1: material.a * t, 2: t, 3: 1.0}[grid.ndim]


def relax_texture(material: Material, grid: Grid, texture: str, *, solver: SolverConfig | None = None,
                  sigma=None, tau=None, geometry: torch.Tensor | None = None, radius: float | None = None,
                  width: float | None = None, torque_tol: float = 1e-6, max_iter: int = 50_000,
                  mask: torch.Tensor | None = None) -> TextureResult:
    """Relax ``texture`` on ``grid`` (batched over (σ, τ) or explicit-defect ``mask`` rows) and measure it."""
    solver = solver or SolverConfig(name="psll")
    system = build_system(solver, material, grid, sigma, tau, alpha=1.0, mask=mask, geometry=geometry)
    # one sample per mask row or per (σ, τ), also for psll, whose kernel is shared by the batch
    batch = mask.shape[0] if mask is not None else 1 if sigma is None else int(torch.as_tensor(sigma).numel())
    occupied = geometry if mask is None else (mask if geometry is None else mask * geometry)
    m0 = initial_texture(texture, grid, batch=batch, radius=radius, width=width, dmi=material.D,
                         geometry=occupied if occupied is not None and occupied.ndim == grid.ndim else None,
                         finite_x=geometry is not None, dtype=solver.torch_dtype, device=solver.torch_device)
    if occupied is not None and occupied.ndim == grid.ndim + 1:  # per-sample masks
        m0 = m0 * occupied[:, None].to(m0)
    res = relax_bb(system, m0, torque_tol=torque_tol, max_iter=max_iter, compile=solver.compile)
    m = res.m
    energy = system.energy(m).to(torch.float64) * sample_cross_section(material, grid)
    q = q0 = radius_out = survived = width_out = edge = None
    if grid.ndim == 2:
        q, q0 = topological_charge(m), topological_charge(m0)
    if texture == "skyrmion":
        radius_out = skyrmion_radius(m, grid)
        core_down = m[:, 2].flatten(1).amin(dim=1) < 0
        survived = ((q - q0).abs() < SURVIVAL_Q_TOL) & core_down.cpu()
    if texture == "wall":
        profile = m[:, 2] if grid.ndim == 1 else m[:, 2].flatten(2).mean(-1) if grid.ndim == 2 else None
        if profile is None:
            raise ValueError("wall widths are measured on chains and films")
        width_out = _wall_width(profile.to(torch.float64), grid, geometry)
    if geometry is not None:
        edge = _edge_moments(m, geometry, grid)
    return TextureResult(m, res.converged, res.max_torque, energy, q, q0, radius_out, survived, width_out, edge)


def _wall_width(profile: torch.Tensor, grid: Grid, geometry: torch.Tensor | None) -> torch.Tensor:
    """tanh-fit width πΔ of the wall in the profile along x (B, N) (the first wall in a periodic box)."""
    n = profile.shape[-1]
    if geometry is None:  # walls at ±L/4: fit the left one, from 0 to N/2, oriented +1 → −1
        profile = profile[:, : n // 2]
    else:
        inside = geometry.reshape(n, -1)[:, 0] > 0 if grid.ndim == 2 else geometry > 0
        profile = profile[:, inside.cpu()]
    return tanh_fit_width(profile, grid.a)


def _edge_moments(m: torch.Tensor, geometry: torch.Tensor, grid: Grid) -> torch.Tensor:
    """m of the first and last cell of the sample along x on the centre row (B, 2, 3)."""
    line = m if grid.ndim == 1 else m[(slice(None), slice(None), slice(None), *[s // 2 for s in grid.shape[1:]])]
    occ = geometry if grid.ndim == 1 else geometry[(slice(None), *[s // 2 for s in grid.shape[1:]])]
    idx = torch.nonzero(occ > 0).flatten()
    return torch.stack([line[:, :, int(idx[0])], line[:, :, int(idx[-1])]], dim=1)
