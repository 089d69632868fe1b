"""Straight domain walls in films: the film's system and statistics (docs/physics.md#film-walls).

The film is (2N, M) periodic cells of size a: the chain's mirrored domain along x, M rows along y.
The initial state is the chain's Bloch ansatz in every row, so a straight wall along y at x = L/4 and
its flipped copy at 3L/4 (L = 2N). Relaxation, stopping and the results are the chain's
(:func:`~spsll.physics.measure.domain_wall.relax_domain_walls` runs films with the helpers here).

* **Ideal and statistical readings.** ``mz`` is the row average of the stored window,
  m̄_z(x) = (1/M) Σ_y m_z(x, y), and width / width_err / width_tanh are those of m̄_z (the paper's
  method on the row average); ``row_width_mean`` / ``row_width_std`` are the mean and the sample
  standard deviation of the per-row cosine-series widths. Under ``psll`` and ``spsll`` the film runs
  as its exact k_y = 0 line (:func:`~spsll.physics.solvers.line_system`): the ansatz is uniform along
  y and stays so, every row is the same, and the spread is 0.
* **Explicit defects** (``rtn_ensemble``): R films per (σ, τ) on mirrored mosaic masks (an (N, M)
  mosaic and its flip along x, so both walls see the same defects), relaxed from the ansatz times the
  mask, with the chain's tilt where a mask has holes (an island of atoms centred on the wall would
  otherwise start on the in-plane saddle). Each row is filled across its vacancies as a chain is
  (θ linear, :func:`~spsll.physics.measure.ensemble.filled_profiles`). A realisation's profile is the
  mean of its filled rows that hold material (a row with no atom carries no profile); ``widths`` (B, R)
  are the widths of those profiles and ``width`` their mean. Per row: a row's wall is pinned when
  its crossing touches a vacancy (either cell bracketing m_z = 0); ``pinned_fraction`` is the fraction
  of (realisation, row) crossings that are pinned, ``width_unpinned`` the mean per-row width of the
  others, ``row_width_mean`` / ``row_width_std`` over all rows with a wall.
"""

from __future__ import annotations

import torch

from spsll.physics.grid import Grid
from spsll.physics.llg import LLSystem
from spsll.physics.material import Material
from spsll.physics.measure.ensemble import filled_profiles, wall_statistics
from spsll.physics.solvers import SolverConfig, build_system, line_system


def film_ansatz(chain: torch.Tensor, n_rows: int) -> torch.Tensor:
    """The chain's state (B, 3, L) copied to every row: (B, 3, L, n_rows)."""
    return chain[..., None].expand(*chain.shape, n_rows).contiguous()


def film_system(solver: SolverConfig, material: Material, film: Grid, sigma, tau, *, alpha: float,
                line_reduction: bool = True) -> tuple[LLSystem, bool]:
    """The system a y-uniform state of ``film`` runs on, and whether it is the reduced k_y = 0 line
    (states (B, 3, Nx, 1)) rather than the whole film (B, 3, Nx, Ny)."""
    line = line_system(solver, material, film, sigma, tau, alpha=alpha) if line_reduction else None
    if line is not None:
        return line, True
    return build_system(solver, material, film, sigma, tau, alpha=alpha), False


def row_statistics(mz_full: torch.Tensor, masks: torch.Tensor, B: int, R: int, a: float, *, n_harmonics: int,
                   n_error: int) -> dict[str, torch.Tensor]:
    """:func:`~spsll.physics.measure.ensemble.wall_statistics` of the rows of films (B·R, 2N, rows): every
    row a mirrored chain, sample b owning R·rows rows (per-row widths and pinning)."""
    n, L, rows = mz_full.shape
    flat = mz_full.permute(0, 2, 1).reshape(n * rows, L)
    flat_masks = masks.permute(0, 2, 1).reshape(n * rows, L)
    return wall_statistics(flat, flat_masks, B, R * rows, a, n_harmonics=n_harmonics, n_error=n_error)


def film_wall_statistics(mz_full: torch.Tensor, masks: torch.Tensor, B: int, R: int, a: float, *,
                         n_harmonics: int, n_error: int) -> dict[str, torch.Tensor]:
    """The ensemble fields of B samples × R masked films, m_z and masks (B·R, 2N, M) (module docstring)."""
    n, L, M = mz_full.shape
    kw = {"n_harmonics": n_harmonics, "n_error": n_error}
    per_row = row_statistics(mz_full, masks, B, R, a, **kw)
    occ = masks.to(torch.float64).permute(0, 2, 1)  # (n, M, L)
    filled = filled_profiles(mz_full.permute(0, 2, 1).reshape(n * M, L), occ.reshape(n * M, L)).reshape(n, M, L)
    material_rows = occ.amax(dim=2)  # 1 where the row holds an atom
    profile = (filled * material_rows[..., None]).sum(dim=1) / material_rows.sum(dim=1).clamp_min(1)[:, None]
    stats = wall_statistics(profile, torch.ones_like(profile), B, R, a, **kw)
    stats.update(pinned_fraction=per_row["pinned_fraction"], pinned=per_row["pinned"].reshape(B, R, M),
                 width_unpinned=per_row["width_unpinned"], occupied_fraction=per_row["occupied_fraction"],
                 row_width_mean=per_row["width"], row_width_std=per_row["width_std"],
                 row_widths=per_row["widths"].reshape(B, R, M))
    return stats
