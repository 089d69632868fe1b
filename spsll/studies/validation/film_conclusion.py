"""The film report's Conclusion, written from the numbers (so that a rerun cannot contradict it)."""

from __future__ import annotations

import math

K_LOW, K_HIGH = (0.5, 2.0), (6.0, 8.0)  # rad/nm: where F_eff's k-trend is read (low and high |k_x|)
WALL_RESOLUTION_NM = 0.02  # "below the ideal" only beyond this (the unpinned widths' standard errors are 0.01–0.05)


def _mean(values) -> float:
    v = [x for x in values if x is not None and not math.isnan(x)]
    return sum(v) / len(v) if v else math.nan


def _num(x) -> float:
    return math.nan if x is None else x


def _band(curve, k, lo, hi, k_cut=None) -> float:
    """Mean of a curve over lo ≤ |k| ≤ hi, on the branch (|k| < k_cut)."""
    top = math.inf if k_cut is None or math.isnan(k_cut) else k_cut
    return _mean([c for c, kk in zip(curve, k, strict=True) if lo <= abs(kk) <= hi and abs(kk) < top])


def _pts(d, idx) -> str:
    return ", ".join(f"({d['sigma_grid_nm'][j]:g}, {d['tau_grid_nm'][j]:g})" for j in idx) or "none"


def _ens_rows(d: dict) -> str:
    return str(d["n_rows"]) if str(d["n_rows"]) in d["spsll"] else next(iter(d["spsll"]))


def _head(d: dict) -> str:
    v = d["verdicts"]["spsll"]
    ens = _ens_rows(d)
    n = len(d["phi"])
    inner, whole = v[ens]["inner"]["n_agree"], v[ens]["all"]["n_agree"]
    box = f"{d['n_cells']} × {ens}"
    agree = [j for j, a in enumerate(v[ens]["inner"]["agree"]) if a]
    if inner == n and whole == n:
        return (f"**Yes: in films `spsll` reproduces the explicit mosaic ensembles** at all {n} points, over the whole "
                f"zone, in the ensemble's own box {box}.")
    where = f" (it agrees on the inner half only at {_pts(d, agree)})" if agree else ""
    per_box = {m: x["inner"]["n_agree"] for m, x in v.items()}
    best = d["verdicts"]["best_box"]["inner"]["n_agree"]
    boxes = ", ".join(f"{c} at M = {m}" for m, c in per_box.items())
    return (f"**No: the statistical model does not hold in these films either.** In the ensemble's own box {box}, "
            f"`spsll` fails at {n - inner} of {n} points on the inner half of the zone and at {n - whole} of {n} over "
            f"all k{where}. The box hardly matters (inner-half agreement: {boxes}; {best} at the most favourable "
            f"height of the closed-form scan, a box 2–4 rows tall). The explicit film ensembles do what the chains "
            f"did: the spin-wave branch keeps the ideal stiffness, with no softening by φ, and beyond a cut-off k_cut "
            f"the peak drops to the gap.")


def _dispersion_bullets(d: dict, a_nm: float) -> list[str]:
    n, k = len(d["phi"]), d["k_rad_per_nm"]
    v, out = d["verdicts"], []
    ens = _ens_rows(d)
    sp = d["spsll"][ens]
    ideal_in = v["ideal"]["inner"]["n_agree"]
    out.append(f"* **Dispersions, box {d['n_cells']} × {ens}.** Mean MAE against the ensemble, all k / inner half: "
               f"`spsll` {_mean(sp['mae_thz']):.2f} / {_mean(sp['mae_inner_thz']):.2f} THz, the defect-free curve "
               f"{_mean(d['ideal']['mae_thz']):.2f} / {_mean(d['ideal']['mae_inner_thz']):.2f} THz (within the "
               f"threshold on the inner half at {ideal_in} of {n} points, `spsll` at "
               f"{v['spsll'][ens]['inner']['n_agree']}), ensemble noise {_mean(d['ensemble_noise_thz']):.3f} / "
               f"{_mean(d['ensemble_noise_inner_thz']):.3f} THz.")
    kc = [_num(x) for x in d["k_cut_rad_per_nm"]]
    k_half = math.pi / (2 * a_nm)
    inside = [j for j in range(n) if kc[j] < k_half]
    order = sorted(range(n), key=lambda j: d["sigma_grid_nm"][j])
    by_sigma = ", ".join(f"{kc[j]:.1f} (σ = {d['sigma_grid_nm'][j]:g})" for j in order)
    out.append(f"* **Where it fails, and why.** On the branch the ensemble's peaks lie on the ideal curve; the peak "
               f"leaves the branch at k_cut = {by_sigma} rad/nm and drops to the low-frequency background near f_gap "
               f"(the branch is still visible in the averaged spectrum, only weaker: figure above). Every reading "
               f"with a smooth filter therefore fails beyond k_cut (all-k MAE), and on the inner half wherever "
               f"k_cut < π/2a = {k_half:.2f} rad/nm: {_pts(d, inside)}. Below k_cut `spsll` is too soft by "
               f"1 − φ (its X {min(sp['X_thz']):.2f}–{max(sp['X_thz']):.2f} THz against the ideal "
               f"{d['X_ideal_thz']:.2f}), which fails wherever 1 − φ exceeds the threshold.")
    by_rows = "; ".join(f"M = {m}: {_mean(r['mae_inner_thz']):.2f}" for m, r in d["spsll"].items())
    sc = d["scan"]
    agree = [j for j, a in enumerate(v["best_box"]["inner"]["agree"]) if a]
    excess = [max(f) - p for f, p in zip(d["filter_ensemble_box"], d["phi"], strict=True)]
    out.append(f"* **The box.** `spsll`'s mean inner-half MAE by box height: {by_rows} THz; M → ∞ (F = φ): "
               f"{_mean([r[-1] for r in sc['mae_inner_thz']]):.2f} THz. In a film the continuous part of the filter "
               f"is small (F_M(0) − φ ≤ {max(excess):.3f} in the ensemble's box) and only lowers F towards φ as the "
               f"box grows, whereas the ensembles need F ≈ 1; the best height of the closed-form scan is the "
               f"smallest one ({', '.join(str(b) for b in sorted(set(sc['best_rows']), key=str))} rows) and it makes "
               f"`spsll` agree at {len(agree)} of {n} points ({_pts(d, agree)}). The explicit ensemble has no box "
               f"parameter.{_box_check(d)}")
    lo = [_band(d["F_eff"][j], k, *K_LOW, kc[j]) for j in range(n)]
    hi = [_band(d["F_eff"][j], k, *K_HIGH, kc[j]) for j in range(n)]
    trend = _mean([h - low for h, low in zip(hi, lo, strict=True)])  # pairs with both bands on the branch
    shape = ("has no k-trend to read (the branch ends below the high band)" if math.isnan(trend) else
             "rises with |k_x|" if trend > 0.02 else "falls with |k_x|" if trend < -0.02 else "is flat in k_x")
    dphi = [_num(d["F_eff_branch_mean"][j]) - d["phi"][j] for j in range(n)]
    ema = [max(0.0, 2 - 1 / p) for p in d["phi"]]
    out.append(f"* **What would reproduce the ensembles: the effective filter.** F_eff on the branch is "
               f"{min(d['F_eff_branch_mean']):.3f}–{max(d['F_eff_branch_mean']):.3f} per point (noise "
               f"{_mean(d['F_eff_noise_branch']):.3f}), i.e. 1, against φ = {min(d['phi']):.3f}–{max(d['phi']):.3f} "
               f"(F_eff − φ = {min(dphi):+.3f} to {max(dphi):+.3f}); it {shape} on the branch (mean "
               f"{_mean(lo):.3f} at {K_LOW[0]:g}–{K_LOW[1]:g} rad/nm, {_mean(hi):.3f} at {K_HIGH[0]:g}–{K_HIGH[1]:g} "
               f"rad/nm; a 2D effective medium would give (2φ−1)/φ = {min(ema):.2f}–{max(ema):.2f} at long "
               f"wavelengths). Beyond k_cut it is ≈ 0 (the peak at the gap). So the film ensembles are described by "
               f"the ideal exchange up to k_cut(σ, τ) and by the gap background beyond: a step in k, not a low-pass "
               f"φ + √P_cont. RMS |F_eff − F_M| on the branch: {_mean(d['F_eff_rms_dev_branch']):.3f}.")
    return out


def _box_check(d: dict) -> str:
    b = d.get("box_check")
    if not b:
        return ""
    parts = ", ".join(f"({d['sigma_grid_nm'][j]:g}, {d['tau_grid_nm'][j]:g}): {b['mae_thz'][i]:.2f} / "
                      f"{b['mae_inner_thz'][i]:.2f} THz (noise {b['noise_thz'][i]:.2f} / {b['noise_inner_thz'][i]:.2f} "
                      f"and {d['ensemble_noise_thz'][j]:.2f} / {d['ensemble_noise_inner_thz'][j]:.2f})"
                      for i, j in enumerate(b["index"]))
    ok = [b["mae_inner_thz"][i] <= 3 * (b["noise_inner_thz"][i] + d["ensemble_noise_inner_thz"][j])
          for i, j in enumerate(b["index"])]
    verdict = ("within 3 × the sum of the two ensembles' noises" if all(ok) else
               "not within 3 × the sum of the two ensembles' noises at " + _pts(d, [j for j, o in
                                                                                   zip(b["index"], ok, strict=True)
                                                                                   if not o]))
    return (f" Checked: the ensemble in a box twice as tall ({d['n_cells']} × {b['rows']}) against the "
            f"{d['n_cells']} × {d['n_rows']} one, MAE all k / inner half: {parts}; inner half {verdict}.")


def _wall_bullet(w: dict | None, missing: str | None) -> list[str]:
    if not w:
        return [f"* **Walls**: not computed ({missing})."]
    n = len(w["phi"])
    m = str(w["n_rows"]) if str(w["n_rows"]) in w["spsll"] else str(w["reading_rows"][0])
    sp = w["spsll"][m]
    v = w["verdicts"]["spsll"][m]
    unp = [x for x in w["width_unpinned_ensemble_nm"] if x is not None and not math.isnan(x)]
    spread = w.get("crossing_spread_nm", [math.nan] * n)
    below = ", below the ideal" if unp and max(unp) < \
        w["width_ideal_nm"] - WALL_RESOLUTION_NM else ""
    ratio = [a / b for a, b in zip(w["width_ensemble_nm"], w["row_width_mean_ensemble_nm"], strict=True)]
    return [f"* **Walls, box {2 * w['n_cells']} × {w['n_rows']}.** The row-averaged width of the ensemble is "
            f"{min(w['width_ensemble_nm']):.2f}–{max(w['width_ensemble_nm']):.2f} nm, {min(ratio):.1f}–"
            f"{max(ratio):.1f}× the rows' own mean width ({min(w['row_width_mean_ensemble_nm']):.2f}–"
            f"{max(w['row_width_mean_ensemble_nm']):.2f} nm): the walls meander across the film (the rows' "
            f"crossings spread by {min(map(_num, spread)):.2f}–{max(map(_num, spread)):.2f} nm), and a row average "
            f"measures that roughness as much as the profile. `spsll`'s straight wall ({min(sp['width_nm']):.2f}–"
            f"{max(sp['width_nm']):.2f} nm at M = {m}; ideal {w['width_ideal_nm']:.3f} nm) agrees with the "
            f"row-averaged width at {v['all']['n_agree']} of {n} points, with the unpinned rows' width "
            f"({min(unp):.2f}–{max(unp):.2f} nm{below}) at {v['unpinned']['n_agree']}. Pinned fraction of rows "
            f"{min(w['pinned_fraction']):.2f}–{max(w['pinned_fraction']):.2f}."]


def conclusion(raw: dict, disp_tol: float, width_tol: float) -> str:
    d = raw["dispersion"]
    bullets = _dispersion_bullets(d, raw["config"]["a_nm"]) + _wall_bullet(raw.get("walls"), raw.get("walls_missing"))
    conv = d["convolution_rows"]
    if conv:
        v = d["verdicts"]["spsll_convolution"]
        bullets.append("* **`spsll_convolution`** (whole films): agrees on the inner half at " + "; ".join(
            f"M = {m}: {x['inner']['n_agree']} of {len(d['phi'])}" for m, x in v.items()) + " points.")
    else:
        spikes = [x for r in d["spsll"].values() for x in r["convolution_spike"] if x > 1]
        stiff = f"{min(spikes):.0f}–{max(spikes):.0f}× " if spikes else ""
        bullets.append(f"* **`spsll_convolution`** was not run in films (see What is compared): its spike makes it "
                       f"{stiff}stiffer than a film ensemble realisation. Away from the spike g ≈ φ, so it too would "
                       f"soften the branch by ≈ φ, which the ensembles do not.")
    bullets.append(f"* **Next step.** F_eff(k_x) and k_cut per point are in the JSON for a fitted solver "
                   f"(tolerances {disp_tol} THz, {width_tol} nm); the points cover only T ≤ "
                   f"{min(d['box_nm']) / raw['config']['min_box_over_T']:.2f} nm (see Points, above).")
    return _head(d) + "\n\n" + "\n".join(bullets)
