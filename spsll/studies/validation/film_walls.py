"""The film validation's walls: a straight wall across a film 2N × M (mirrored along x), relaxed
under ``spsll`` at each box height and as an explicit mosaic ensemble; widths of the row-averaged
profile (cosine series and tanh fit), the spread of the per-row widths, the pinned fraction.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import torch

from spsll.physics.measure.domain_wall import relax_domain_walls
from spsll.physics.measure.ensemble import filled_profiles
from spsll.physics.measure.width import zero_crossing
from spsll.physics.solvers import SolverConfig
from spsll.studies.validation.compute import ENSEMBLE
from spsll.studies.validation.film_config import FilmValidationConfig, correlation_length_nm
from spsll.units import NM, material_fraction


def _nm(x) -> list:
    return [None if x is None else v for v in (torch.as_tensor(x, dtype=torch.float64) / NM).tolist()]


def _opt_nm(res, name: str, n: int) -> list:
    v = getattr(res, name, None)
    return _nm(v) if v is not None else [math.nan] * n


def unpinned_standard_error(ens) -> tuple[torch.Tensor, torch.Tensor]:
    """(standard error (m) of the unpinned rows' mean width, number of unpinned rows) per point.

    Rows of one film are correlated over ≈ T, so the error is taken across the realisations: the
    spread of each realisation's mean unpinned-row width over √(realisations with such rows).
    """
    free = ~ens.pinned & ~torch.isnan(ens.row_widths)  # (B, R, M)
    n_r = free.sum(dim=2)
    per_real = torch.where(free, ens.row_widths, torch.zeros_like(ens.row_widths)).sum(2) / n_r.clamp_min(1)
    has = n_r > 0
    k = has.sum(dim=1)
    mean = torch.where(has, per_real, torch.zeros_like(per_real)).sum(1) / k.clamp_min(1)
    var = (torch.where(has, per_real - mean[:, None], torch.zeros_like(per_real)) ** 2).sum(1) / (k - 1).clamp_min(1)
    se = torch.where(k > 1, (var / k.clamp_min(1)).sqrt(), torch.full_like(var, math.nan))
    return se, free.flatten(1).sum(dim=1)


def crossing_spread(m: torch.Tensor, mask: torch.Tensor, B: int, R: int, n_cells: int, a: float) -> torch.Tensor:
    """Roughness of the relaxed walls (m), per point: the standard deviation over the rows of a film of
    the rows' m_z = 0 crossings (vacancies filled as for the widths), averaged over the realisations.

    A row-averaged profile is the rows' profiles convolved with the distribution of their crossings,
    so its width grows with this spread even when every row keeps its own width.
    """
    n, _, L, M = m.shape
    rows = m[:, 2].to(torch.float64).permute(0, 2, 1).reshape(n * M, L)
    occ = mask.to(torch.float64).permute(0, 2, 1).reshape(n * M, L)
    window = filled_profiles(rows, occ)[:, :n_cells]
    has = (window.amin(dim=1) < 0) & (window.amax(dim=1) > 0)
    pos = torch.full((n * M,), math.nan, dtype=torch.float64)
    if bool(has.any()):
        pos[has] = zero_crossing(window[has]) * a
    pos = pos.reshape(B, R, M)
    ok = ~torch.isnan(pos)
    cnt = ok.sum(2)
    mean = torch.where(ok, pos, torch.zeros_like(pos)).sum(2) / cnt.clamp_min(1)
    var = torch.where(ok, (pos - mean[..., None]) ** 2, torch.zeros_like(pos)).sum(2) / (cnt - 1).clamp_min(1)
    std = torch.where(cnt > 1, var.sqrt(), torch.full_like(var, math.nan))
    return std.nanmean(dim=1)


def _solver(name, cfg: FilmValidationConfig, **options) -> SolverConfig:
    return SolverConfig.of(name, dtype=cfg.wall_dtype, device=cfg.device, compile=cfg.compile, **options)


def validate_film_walls(cfg: FilmValidationConfig, log=print) -> dict:
    """Widths of the ideal wall, of ``spsll`` at each box height (and the convolution reading at its
    heights), and of the mosaic ensemble on 2N × ``wall_rows`` films; their errors."""
    mat = cfg.material
    s = torch.tensor([p[0] for p in cfg.wall_points_nm], dtype=torch.float64)
    t = torch.tensor([p[1] for p in cfg.wall_points_nm], dtype=torch.float64)
    n = len(s)
    t0 = time.perf_counter()
    ideal = relax_domain_walls(mat, None, None, solver=_solver("psll", cfg),
                               settings=replace(cfg.walls, n_rows=cfg.wall_rows))
    ens = relax_domain_walls(mat, s * NM, t * NM, solver=_solver(ENSEMBLE, cfg, realisations=cfg.wall_realisations,
                                                                 seed=cfg.seed),
                             settings=replace(cfg.walls, n_rows=cfg.wall_rows), keep_state=True)
    spread = crossing_spread(ens.m, ens.mask, n, cfg.wall_realisations, cfg.walls.n_cells, mat.a)
    ens.m = ens.mask = None  # the states were kept for the spread only
    seconds_ensemble = time.perf_counter() - t0
    log(f"film walls: ensemble ({cfg.wall_realisations} films 2 x {cfg.walls.n_cells} x {cfg.wall_rows} x {n} "
        f"points) in {seconds_ensemble:.1f} s")
    unpinned_se, n_free = unpinned_standard_error(ens)
    T = [correlation_length_nm(a, b) for a, b in cfg.wall_points_nm]
    short = min(2 * cfg.walls.n_cells, cfg.wall_rows) * mat.a / NM
    out = {
        "sigma_grid_nm": s.tolist(), "tau_grid_nm": t.tolist(), "phi": material_fraction(s, t).tolist(), "T_nm": T,
        "box_over_T": [short / x if x > 0 else None for x in T], "n_cells": cfg.walls.n_cells,
        "n_rows": cfg.wall_rows, "box_nm": [2 * cfg.walls.n_cells * mat.a / NM, cfg.wall_rows * mat.a / NM],
        "reading_rows": list(cfg.reading_rows), "convolution_rows": list(cfg.convolution_rows),
        "realisations": cfg.wall_realisations,
        "width_ideal_nm": float(ideal.width[0] / NM), "width_tanh_ideal_nm": float(ideal.width_tanh[0] / NM),
        "width_ensemble_nm": _nm(ens.width), "width_err_ensemble_nm": _nm(ens.width_err),
        "width_tanh_ensemble_nm": _nm(ens.width_tanh), "width_std_ensemble_nm": _nm(ens.width_std),
        "row_width_mean_ensemble_nm": _opt_nm(ens, "row_width_mean", n),
        "row_width_std_ensemble_nm": _opt_nm(ens, "row_width_std", n),
        "width_unpinned_ensemble_nm": _nm(ens.width_unpinned), "width_unpinned_err_nm": _nm(unpinned_se),
        "n_unpinned": n_free.tolist(), "crossing_spread_nm": _nm(spread),
        "pinned_fraction": ens.pinned_fraction.tolist(),
        "n_walls": ens.n_walls.tolist(), "converged_fraction": ens.converged_fraction.tolist(),
        "seconds_ensemble": seconds_ensemble,
    }
    for name, rows_list in (("spsll", cfg.reading_rows), ("spsll_convolution", cfg.convolution_rows)):
        out[name] = {}
        for rows in rows_list:
            t0 = time.perf_counter()
            r = relax_domain_walls(mat, s * NM, t * NM, solver=_solver(name, cfg),
                                   settings=replace(cfg.walls, n_rows=rows))
            out[name][str(rows)] = {
                "width_nm": _nm(r.width), "width_tanh_nm": _nm(r.width_tanh),
                "err_nm": _nm(r.width - ens.width), "err_tanh_nm": _nm(r.width_tanh - ens.width_tanh),
                "err_unpinned_nm": _nm(r.width - ens.width_unpinned), "converged": r.converged.tolist(),
                "row_width_std_nm": _opt_nm(r, "row_width_std", n), "seconds": time.perf_counter() - t0}
            log(f"film walls: {name} at 2 x {cfg.walls.n_cells} x {rows} in {out[name][str(rows)]['seconds']:.1f} s")
    return out
