"""Fitting the film filter F = F0 Θ(k_cut − |k|) to ensembles: per point, then over (σ, τ).

Per point (σ, τ) the ensemble's arg-max peaks f_ens(k) are compared with the ideal film's simulated
peaks f_id(k) at the same settings. A reading with filter F puts its peak at

    f(k) = f_id(0) + (f_id(k) − f_id(0)) F(k)

(exact for a k-diagonal reading on the film's k_y = 0 line, up to the peak refinement; f_id(0) is the
gap the simulation resolves). Per point: F0 is the mean of F_eff = (f_ens − f_id(0))/(f_id − f_id(0)) on
the branch (|k| ≤ k_cut, where the ideal exchange part exceeds two frequency bins), and k_cut is the
step that minimises the MAE of f over all k given F0 (scanned over the midpoints between the grid's
|k|; "none" when keeping the whole branch is best). Over (σ, τ): F0 = 1 − c (1 − φ) by least squares
(c clamped to [0, 1)), and log k_cut = log A + p log σ + q log τ by least squares over the points that
have a cut. The branch analysis asks whether, beyond k_cut, the branch survives as a secondary
maximum of the spectrum rather than vanishing.
"""

from __future__ import annotations

import math

import torch

from spsll.physics.defects.fitted import FittedFilterParams
from spsll.units import material_fraction

F_EFF_MIN_HZ = 0.2e12  # F_eff only where the ideal exchange part exceeds two 0.1 THz bins
BRANCH_WINDOW = 0.3  # a secondary maximum counts as the branch within ±30 % of the ideal frequency


def model_peaks(f_id: torch.Tensor, k: torch.Tensor, f0: float, k_cut: float) -> torch.Tensor:
    """f(k) of the step filter F0 Θ(k_cut − |k|) from the ideal peaks f_id (Hz) on wavenumbers k (rad/m)."""
    gap = f_id[k.abs().argmin()]
    F = torch.where(k.abs() <= k_cut, torch.full_like(f_id, f0), torch.zeros_like(f_id))
    return gap + (f_id - gap) * F


def fit_point(f_ens: torch.Tensor, f_id: torch.Tensor, k: torch.Tensor) -> dict:
    """F0, k_cut (rad/m, inf: no cut) and the MAE (Hz) of the best step at one point."""
    gap = f_id[k.abs().argmin()]
    ex = f_id - gap
    usable = ex >= F_EFF_MIN_HZ
    F_eff = torch.where(usable, (f_ens - gap) / torch.where(usable, ex, torch.ones_like(ex)), torch.nan)
    ks = torch.unique(k.abs())
    cuts = torch.cat([(ks[1:] + ks[:-1]) / 2, torch.tensor([math.inf], dtype=k.dtype)])
    best = None
    for _ in range(3):  # F0 from the branch below the current cut, the cut given F0: converges in 2
        kc = math.inf if best is None else best[1]
        sel = usable & (k.abs() <= kc)
        f0 = float(F_eff[sel].mean()) if bool(sel.any()) else 1.0
        maes = torch.stack([(model_peaks(f_id, k, f0, float(c)) - f_ens).abs().mean() for c in cuts])
        j = int(maes.argmin())
        best = (f0, float(cuts[j]), float(maes[j]))
    f0, kc, mae = best
    return {"F0": f0, "k_cut": kc, "mae": mae, "F_eff": F_eff}


def fit_smooth(points_nm, F0: list[float], k_cut: list[float]) -> tuple[FittedFilterParams, dict]:
    """(c, A, p, q) from per-point F0 and k_cut (rad/m); with the design's residuals."""
    s = torch.tensor([p[0] for p in points_nm], dtype=torch.float64)
    t = torch.tensor([p[1] for p in points_nm], dtype=torch.float64)
    one_minus_phi = 1 - material_fraction(s, t)
    y = 1 - torch.tensor(F0, dtype=torch.float64)
    c = float((one_minus_phi * y).sum() / (one_minus_phi**2).sum())
    c = min(max(c, 0.0), 0.99)
    kc = torch.tensor(k_cut, dtype=torch.float64)
    has = torch.isfinite(kc)
    if int(has.sum()) < 3:
        raise ValueError(f"the k_cut fit needs at least 3 points with a cut, got {int(has.sum())}")
    X = torch.stack([torch.ones_like(s), s.log(), t.log()], dim=1)[has]
    coef = torch.linalg.lstsq(X, (kc[has] * 1e-9).log()[:, None]).solution[:, 0]
    params = FittedFilterParams(stiffness_slope=c, k_cut_rad_per_nm=float(coef[0].exp()),
                                k_cut_sigma_exponent=float(coef[1]), k_cut_tau_exponent=float(coef[2]))
    pred_kc = params.k_cut(s * 1e-9, t * 1e-9)
    pred_f0 = params.stiffness(s * 1e-9, t * 1e-9)
    resid = {"F0_fit": pred_f0.tolist(), "k_cut_fit_rad_per_nm": (pred_kc * 1e-9).tolist(),
             "log_k_cut_rms": float(((pred_kc[has] / kc[has]).log() ** 2).mean().sqrt()),
             "F0_rms": float(((pred_f0 - torch.tensor(F0, dtype=torch.float64)) ** 2).mean().sqrt())}
    return params, resid


def branch_beyond_cut(spectrum: torch.Tensor, df: float, f_id: torch.Tensor, k: torch.Tensor, k_cut: float,
                      f0: float) -> dict:
    """Beyond k_cut: at how many k the amplitude spectrum (F, N) has a local maximum within ±30 % of the
    branch f_gap + F0 (f_id − f_gap), its height relative to the column's highest peak, its distance from
    that branch (Hz), and the same height at the last k before the cut (the arg-max branch)."""
    gap = f_id[k.abs().argmin()]
    f = torch.arange(spectrum.shape[0], dtype=torch.float64) * df
    beyond = (k.abs() > k_cut) & (f_id - gap >= F_EFF_MIN_HZ)
    found, heights, dist = 0, [], []
    idx = torch.nonzero(beyond).flatten().tolist()
    for j in idx:
        col = spectrum[:, j].to(torch.float64)
        target = gap + f0 * (f_id[j] - gap)
        win = (f > (1 - BRANCH_WINDOW) * target) & (f < (1 + BRANCH_WINDOW) * target) & (f < f[-1])
        if not bool(win.any()):
            continue
        i = int(torch.where(win, col, torch.full_like(col, -1.0)).argmax())
        if 0 < i < len(col) - 1 and col[i] > col[i - 1] and col[i] >= col[i + 1]:
            found += 1
            heights.append(float(col[i] / col.max()))
            dist.append(float(abs(f[i] - target)))
    n = len(idx)
    return {"n_beyond": n, "n_secondary": found, "fraction": found / n if n else math.nan,
            "height_median": float(torch.tensor(heights).median()) if heights else math.nan,
            "height_min": min(heights) if heights else math.nan,
            "distance_median_hz": float(torch.tensor(dist).median()) if dist else math.nan}
