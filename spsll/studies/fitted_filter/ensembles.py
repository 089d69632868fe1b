"""Explicit mosaic ensembles of the fitted-filter study, one (σ, τ) point at a time, cached on disk.

Each point is the validation's film ensemble (:mod:`spsll.studies.validation.film_compute`): R films
N × M in two independent halves (seeds ``seed`` and ``seed + 1``), the realisation-averaged power
spectrum, its arg-max peaks per k_x and those of each half (the noise). A point is saved as soon as it
is done, under a name that holds everything that decides it, so an interrupted study resumes and a
re-run with the same settings reuses the work; the cropped spectrum is kept for the branch analysis.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import torch

from spsll.physics.measure.dispersion import pick_peaks
from spsll.studies.validation.film_compute import _ensemble_halves
from spsll.studies.validation.film_config import FilmValidationConfig

SPECTRUM_MAX_HZ = 14e12  # the kept part of the spectrum (FePt's branch ends at 10.7 THz)


def cache_name(cfg: FilmValidationConfig, point: tuple[float, float], seed: int) -> str:
    """The file name of one point: σ, τ, seed, realisations, box, time record and dtype."""
    d = cfg.dispersion
    return (f"s{point[0]:g}_t{point[1]:g}_seed{seed}_R{cfg.realisations}_{d.n_cells}x{cfg.n_rows}"
            f"_{d.duration * 1e12:g}ps_{d.sample_interval * 1e15:g}fs_{cfg.dispersion_dtype}_{cfg.material.name}.pt")


def ensemble_point(cfg: FilmValidationConfig, point: tuple[float, float], seed: int, cache: Path | None,
                   log=print) -> dict:
    """Arg-max peaks (Hz) of the ensemble at ``point`` (nm) with base seed ``seed``: ``f`` (N,), ``f_halves``
    (2, N), the frequency step ``df``, the amplitude spectrum below 14 THz ``spectrum`` (F, N) and ``seconds``."""
    path = None if cache is None else Path(cache) / cache_name(cfg, point, seed)
    if path is not None and path.exists():
        try:
            return torch.load(path, weights_only=False)
        except Exception as err:  # a file cut short by an interruption is recomputed, not trusted
            log(f"ensemble cache {path.name} unreadable ({err}); recomputing")
    one = replace(cfg, points_nm=(point,), seed=seed, box_check_points_nm=(), wall_points_nm=())
    s = torch.tensor([point[0]], dtype=torch.float64)
    t = torch.tensor([point[1]], dtype=torch.float64)
    t0 = time.perf_counter()
    halves, df = _ensemble_halves(one, s, t, log)
    P = sum(r * p for r, p in halves) / cfg.realisations
    n_f = min(P.shape[1], int(math.ceil(SPECTRUM_MAX_HZ / df)) + 1)
    out = {"point_nm": point, "seed": seed, "f": pick_peaks(P.sqrt(), df)[1][0],
           "f_halves": torch.stack([pick_peaks(p.sqrt(), df)[1][0] for _, p in halves]), "df": df,
           "spectrum": P[0, :n_f].sqrt().to(torch.float32), "seconds": time.perf_counter() - t0}
    return _save(out, path)


def _save(out: dict, path: Path | None) -> dict:
    """Write atomically (a killed run leaves no half-written point)."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        torch.save(out, tmp)
        tmp.replace(path)
    return out


def wall_point(cfg: FilmValidationConfig, point: tuple[float, float], seed: int, cache: Path | None,
               log=print) -> dict:
    """Film walls (2N × ``wall_rows``) of the mosaic ensemble at ``point`` (nm), ``wall_realisations`` films with
    seed ``seed``: widths (m) of the row-averaged profile, of the unpinned rows (with its standard error across
    realisations), the pinned fraction and the converged fraction."""
    from spsll.physics.measure.domain_wall import relax_domain_walls
    from spsll.physics.solvers import SolverConfig
    from spsll.studies.validation.film_walls import unpinned_standard_error

    w = cfg.walls
    name = (f"wall_s{point[0]:g}_t{point[1]:g}_seed{seed}_R{cfg.wall_realisations}_{2 * w.n_cells}x{cfg.wall_rows}"
            f"_it{w.max_iter}_{cfg.wall_dtype}_{cfg.material.name}.pt")
    path = None if cache is None else Path(cache) / name
    if path is not None and path.exists():
        try:
            return torch.load(path, weights_only=False)
        except Exception as err:
            log(f"wall cache {path.name} unreadable ({err}); recomputing")
    t0 = time.perf_counter()
    solver = SolverConfig.of("rtn_ensemble", dtype=cfg.wall_dtype, device=cfg.device, compile=cfg.compile,
                             realisations=cfg.wall_realisations, seed=seed)
    ens = relax_domain_walls(cfg.material, torch.tensor([point[0]]) * 1e-9, torch.tensor([point[1]]) * 1e-9,
                             solver=solver, settings=replace(w, n_rows=cfg.wall_rows))
    se, n_free = unpinned_standard_error(ens)
    out = {"point_nm": point, "seed": seed, "width": float(ens.width[0]), "width_err": float(ens.width_err[0]),
           "width_unpinned": float(ens.width_unpinned[0]), "width_unpinned_err": float(se[0]),
           "n_unpinned": int(n_free[0]), "pinned_fraction": float(ens.pinned_fraction[0]),
           "row_width_mean": float(ens.row_width_mean[0]), "converged_fraction": float(ens.converged_fraction[0]),
           "seconds": time.perf_counter() - t0}
    log(f"film walls: ensemble at {point} nm ({cfg.wall_realisations} films) in {out['seconds']:.0f} s")
    return _save(out, path)
