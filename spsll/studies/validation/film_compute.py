"""The film validation's dispersions: the readings at several box heights and the explicit mosaic
ensemble, their errors, and the effective filter the ensemble implies.

A line excitation across the film (uniform along y) drives k_y = 0 only, so a k-diagonal reading
sees the film's filter on the k_y = 0 line,

    F_M(k_x) = φ + √(S₂(|k_x|) Δk_x Δk_y),   Δk_x = 2π/(N a),  Δk_y = 2π/(M a),

(docs/physics.md#films; :func:`film_filter`, tested against ``SPSLL.defect_filter``). Its continuous
part fades as 1/√(N M): F → φ as the box grows. The ensemble's effective filter is

    F_eff(k_x) = (f_ens − f_gap) / (f_ideal − f_gap),

the factor that the ideal dispersion's exchange part needs to put the ensemble's peaks on the branch.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import torch

from spsll.physics.defects.mosaic import mosaic_continuous_spectrum
from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.dispersion import ensemble_power_spectra, pick_peaks, simulate_dispersions
from spsll.physics.solvers import SOLVERS, SolverConfig
from spsll.studies.validation.compute import ENSEMBLE, PER_THZ, _mae_thz, branch_cutoff, fit_amplitude
from spsll.studies.validation.film_config import FilmValidationConfig, correlation_length_nm
from spsll.units import NM, material_fraction

SCAN_ROWS = tuple(2**j for j in range(1, 21))  # box heights of the closed-form scan (2 … 1 048 576 rows)
F_EFF_MIN_THZ = 0.2  # F_eff only where the ideal exchange part f_ideal − f_gap exceeds two frequency bins


def film_filter(material: Material, n_cells: int, n_rows, sigma, tau) -> torch.Tensor:
    """F_M(k_x) of ``spsll`` on the k_y = 0 line of an n_cells × n_rows box, k_x ascending: (B, N); σ, τ in m.

    ``n_rows=None`` is the infinite box, F = φ. Exactly 1 where τ = 0 (the solver's convention).
    """
    s, t = torch.as_tensor(sigma, dtype=torch.float64), torch.as_tensor(tau, dtype=torch.float64)
    k = Grid(n_cells, material.a).sorted_wavenumbers()
    phi = material_fraction(s, t)[:, None]
    if n_rows is None:
        filt = phi.expand(-1, n_cells).clone()
    else:
        dk2 = (2 * math.pi) ** 2 / (n_cells * n_rows * material.a**2)
        filt = phi + torch.sqrt(mosaic_continuous_spectrum(k.abs(), s, t, 2) * dk2)
    filt[t == 0] = 1.0
    return filt


def linear_peaks(material: Material, k: torch.Tensor, filt: torch.Tensor) -> torch.Tensor:
    """f = f_gap + X0 [1 − cos k a] F (Hz), the small-amplitude dispersion of a k-diagonal filter."""
    return material.f_gap + material.X0 * (1 - torch.cos(k * material.a)) * filt


def effective_filter(f_ens: torch.Tensor, f_ideal: torch.Tensor, material: Material) -> torch.Tensor:
    """F_eff = (f_ens − f_gap)/(f_ideal − f_gap), NaN where f_ideal − f_gap < :data:`F_EFF_MIN_THZ`."""
    ex = f_ideal - material.f_gap
    ok = ex >= F_EFF_MIN_THZ / PER_THZ
    return torch.where(ok, (f_ens - material.f_gap) / torch.where(ok, ex, torch.ones_like(ex)),
                       torch.full_like(f_ens, math.nan))


def convolution_spike(material: Material, n_cells: int, n_rows: int, sigma, tau) -> list[float]:
    """max g of the convolution reading on an n_cells × n_rows film, per (σ, τ) in metres: the factor by
    which its time step is smaller than the ideal film's (the spike g(0) = Σ_j √P_j)."""
    g = SOLVERS["spsll_convolution"].defect_weight(Grid((n_cells, n_rows), material.a), sigma, tau, "cpu")
    return g.flatten(1).amax(1).tolist()


def _solver(name, cfg: FilmValidationConfig, **options) -> SolverConfig:
    return SolverConfig.of(name, dtype=cfg.dispersion_dtype, device=cfg.device, compile=cfg.compile, **options)


def _film(cfg: FilmValidationConfig, rows: int):
    return replace(cfg.dispersion, n_rows=rows)


def _ensemble_halves(cfg: FilmValidationConfig, s, t, log, rows: int | None = None):
    """Mean power spectra of two independent halves of the film realisations (seeds seed, seed + 1) in
    the box N × ``rows`` (default: the ensemble's ``n_rows``)."""
    R, rows = cfg.realisations, rows or cfg.n_rows
    out, t0 = [], time.perf_counter()
    for i, r in enumerate((R // 2, R - R // 2)):
        ens = _solver(ENSEMBLE, cfg, realisations=r, seed=cfg.seed + i)
        _, df, P = ensemble_power_spectra(cfg.material, s * NM, t * NM, solver=ens, settings=_film(cfg, rows))
        out.append((r, P))
        log(f"film dispersions: ensemble half {i + 1}/2 ({r} films {cfg.dispersion.n_cells} x {rows} x "
            f"{len(s)} points) {time.perf_counter() - t0:.1f} s")
    return out, df


def _box_check(cfg: FilmValidationConfig, f_ens, inner, log) -> dict | None:
    """The ensemble again in the taller box N × ``box_check_rows`` at ``box_check_points_nm``: the MAE
    between the two boxes' peaks against their noises (an explicit ensemble should not depend on the
    box once L ≫ T)."""
    if not cfg.box_check_points_nm:
        return None
    idx = [cfg.points_nm.index(p) for p in cfg.box_check_points_nm]
    s = torch.tensor([p[0] for p in cfg.box_check_points_nm], dtype=torch.float64)
    t = torch.tensor([p[1] for p in cfg.box_check_points_nm], dtype=torch.float64)
    t0 = time.perf_counter()
    halves, df = _ensemble_halves(cfg, s, t, log, cfg.box_check_rows)
    P = sum(r * p for r, p in halves) / cfg.realisations
    f = pick_peaks(P.sqrt(), df)[1]
    f_h = [pick_peaks(p.sqrt(), df)[1] for _, p in halves]
    return {"rows": cfg.box_check_rows, "index": idx, "freq_ensemble_thz": (f * PER_THZ).tolist(),
            "mae_thz": _mae_thz(f, f_ens[idx]).tolist(), "mae_inner_thz": _mae_thz(f, f_ens[idx], inner).tolist(),
            "noise_thz": (0.5 * _mae_thz(f_h[0], f_h[1])).tolist(),
            "noise_inner_thz": (0.5 * _mae_thz(f_h[0], f_h[1], inner)).tolist(),
            "seconds": time.perf_counter() - t0}


def _errors(f, f_ens, inner, k, mat) -> dict:
    return {"mae_thz": _mae_thz(f, f_ens).tolist(), "mae_inner_thz": _mae_thz(f, f_ens, inner).tolist(),
            "X_thz": (fit_amplitude(f[:, inner], k[inner], mat) * PER_THZ).tolist()}


def _simulated(name, cfg, s, t, rows_list, f_ens, inner, k, log) -> dict:
    """A reading simulated at each box height: its peaks and errors against the ensemble."""
    out = {}
    for rows in rows_list:
        t0 = time.perf_counter()
        res = simulate_dispersions(cfg.material, s * NM, t * NM, solver=_solver(name, cfg), settings=_film(cfg, rows))
        f = res.freq_refined
        out[str(rows)] = {**_errors(f, f_ens, inner, k, cfg.material), "freq_thz": (f * PER_THZ).tolist(),
                          "seconds": time.perf_counter() - t0}
        log(f"film dispersions: {name} at {cfg.dispersion.n_cells} x {rows} in {out[str(rows)]['seconds']:.1f} s")
    return out


def _box_scan(mat, cfg, s, t, k, f_ens, inner) -> dict:
    """The closed-form spsll at every box height of :data:`SCAN_ROWS` and the infinite box (F = φ):
    its MAE against the ensemble, and the best height per point (inner half)."""
    rows = list(SCAN_ROWS) + [None]
    mae, mae_in = [], []
    for m in rows:
        f = linear_peaks(mat, k, film_filter(mat, cfg.dispersion.n_cells, m, s * NM, t * NM))
        mae.append(_mae_thz(f, f_ens))
        mae_in.append(_mae_thz(f, f_ens, inner))
    mae, mae_in = torch.stack(mae, 1), torch.stack(mae_in, 1)  # (B, len(rows))
    best = mae_in.argmin(1)
    label = [("inf" if m is None else m) for m in rows]
    at_best = best[:, None]
    return {"rows": label, "mae_thz": mae.tolist(), "mae_inner_thz": mae_in.tolist(),
            "best_rows": [label[int(j)] for j in best], "best_mae_inner_thz": mae_in.gather(1, at_best)[:, 0].tolist(),
            "best_mae_thz": mae.gather(1, at_best)[:, 0].tolist()}


def _f_eff_summary(F_eff, F_eff_h, filt_ens, k, k_cut, inner) -> dict:
    """F_eff against the ensemble box's F_M on the branch (k below k_cut) and on the inner half."""
    branch = ~torch.isnan(F_eff) & (k.abs()[None] < torch.nan_to_num(k_cut, nan=math.inf)[:, None])
    dev = (F_eff - filt_ens).abs()
    noise = 0.5 * (F_eff_h[0] - F_eff_h[1]).abs()

    def mean(x, sel):
        return torch.where(sel, x, torch.zeros_like(x)).sum(1) / sel.sum(1).clamp_min(1)

    rms = lambda x, sel: mean(torch.nan_to_num(x) ** 2, sel).sqrt()  # noqa: E731
    sel_in = branch & inner[None]
    return {"F_eff": [[None if math.isnan(v) else v for v in row] for row in F_eff.tolist()],
            "F_eff_noise": [[None if math.isnan(v) else v for v in row] for row in noise.tolist()],
            "F_eff_branch_mean": mean(torch.nan_to_num(F_eff), branch).tolist(),
            "F_eff_inner_mean": mean(torch.nan_to_num(F_eff), sel_in).tolist(),
            "F_eff_rms_dev_branch": rms(dev, branch).tolist(), "F_eff_rms_dev_inner": rms(dev, sel_in).tolist(),
            "F_eff_max_dev_branch": torch.where(branch, torch.nan_to_num(dev), torch.zeros_like(dev)).amax(1).tolist(),
            "F_eff_noise_branch": rms(noise, branch).tolist(), "n_branch": branch.sum(1).tolist()}


def validate_film_dispersions(cfg: FilmValidationConfig, log=print) -> dict:
    """Peaks of psll (a line excitation keeps an ideal film uniform along y: its k_y = 0 line), spsll at each
    box height (simulated, and its closed form on a scan of heights), the convolution reading at its
    heights, and the mosaic ensemble at ``n_rows``; errors, noise, k_cut, X and F_eff per point."""
    mat, N = cfg.material, cfg.dispersion.n_cells
    s = torch.tensor([p[0] for p in cfg.points_nm], dtype=torch.float64)
    t = torch.tensor([p[1] for p in cfg.points_nm], dtype=torch.float64)
    t0 = time.perf_counter()
    # the ideal film (its exact k_y = 0 line at the ensemble's box: the same time step, so τ = 0 is exact)
    ideal = simulate_dispersions(mat, None, None, solver=_solver("psll", cfg), settings=_film(cfg, cfg.n_rows))
    k, f_id = ideal.k, ideal.freq_refined[0]
    inner = k.abs() <= math.pi / (2 * mat.a)
    seconds_ideal = time.perf_counter() - t0

    t0 = time.perf_counter()
    halves, df = _ensemble_halves(cfg, s, t, log)
    P = sum(r * p for r, p in halves) / cfg.realisations
    f_ens = pick_peaks(P.sqrt(), df)[1]
    f_h = [pick_peaks(p.sqrt(), df)[1] for _, p in halves]
    seconds_ensemble = time.perf_counter() - t0

    k_cut = branch_cutoff(f_ens, f_id, k, mat)
    F_eff = effective_filter(f_ens, f_id, mat)
    F_eff_h = [effective_filter(f, f_id, mat) for f in f_h]
    filt_ens = film_filter(mat, N, cfg.n_rows, s * NM, t * NM)
    T = [correlation_length_nm(a, b) for a, b in cfg.points_nm]
    short = min(cfg.box_nm)
    out = {
        "sigma_grid_nm": s.tolist(), "tau_grid_nm": t.tolist(), "phi": material_fraction(s, t).tolist(),
        "T_nm": T, "box_over_T": [short / x if x > 0 else None for x in T],
        "n_cells": N, "n_rows": cfg.n_rows, "box_nm": list(cfg.box_nm), "reading_rows": list(cfg.reading_rows),
        "convolution_rows": list(cfg.convolution_rows), "realisations": cfg.realisations,
        "k_rad_per_nm": (k * NM).tolist(), "freq_ideal_thz": (f_id * PER_THZ).tolist(),
        "freq_ensemble_thz": (f_ens * PER_THZ).tolist(),
        "ensemble_noise_thz": (0.5 * _mae_thz(f_h[0], f_h[1])).tolist(),
        "ensemble_noise_inner_thz": (0.5 * _mae_thz(f_h[0], f_h[1], inner)).tolist(),
        "k_cut_rad_per_nm": (k_cut * NM).tolist(), "X_ensemble_thz": (fit_amplitude(f_ens[:, inner], k[inner], mat)
                                                                     * PER_THZ).tolist(),
        "X_ideal_thz": float(fit_amplitude(f_id[inner], k[inner], mat) * PER_THZ),
        "ideal": _errors(f_id.expand_as(f_ens), f_ens, inner, k, mat),
        "filter_ensemble_box": filt_ens.tolist(),
        "filter_infinite_box": film_filter(mat, N, None, s * NM, t * NM).tolist(),
        **_f_eff_summary(F_eff, F_eff_h, filt_ens, k, k_cut, inner),
        "scan": _box_scan(mat, cfg, s, t, k, f_ens, inner),
        "seconds_ideal": seconds_ideal, "seconds_ensemble": seconds_ensemble,
    }
    out["spsll"] = _simulated("spsll", cfg, s, t, cfg.reading_rows, f_ens, inner, k, log)
    for rows in cfg.reading_rows:
        out["spsll"][str(rows)]["filter"] = film_filter(mat, N, rows, s * NM, t * NM).tolist()
        out["spsll"][str(rows)]["convolution_spike"] = convolution_spike(mat, N, rows, s * NM, t * NM)
    out["box_check"] = _box_check(cfg, f_ens, inner, log)
    out["spsll_convolution"] = _simulated("spsll_convolution", cfg, s, t, cfg.convolution_rows, f_ens, inner, k, log)
    j = int(((s - 10) ** 2 + (t - 5) ** 2).argmin())  # the paper's Fig. 1d case (10, 5) nm, or the nearest point
    n_f = min(P.shape[1], int(math.ceil(14e12 / df)) + 1)
    out["spectrum_point"] = j
    out["spectrum_f_thz"] = (torch.arange(n_f, dtype=torch.float64) * df * PER_THZ).tolist()
    out["_spectrum"] = P[j, :n_f].sqrt().to(torch.float32)
    return out
