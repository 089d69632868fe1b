"""Per-sample flags: when an inverse answer must not be read as a confident number.

evaluate.py reports them per test sample (and their fractions as metrics); ``python -m spsll.predict``
prints them under its table. A flagged answer is still given, marked.

* ``misfit``: the refined answer's residual is more than the measurement noise explains. With σ_n the
  stated noise (evaluate's level, predict's ``noise_ghz``/``noise_mz``) or, when none is stated,
  :data:`DEFAULT_NOISE` (10 GHz per peak; 0.01 per m_z cell), χ²/dof = Σ (y − F(p̂))² / σ_n² / (K − 2)
  over the K peaks (dispersions) or the N m_z cells (walls; the width, measured from the profile, adds
  nothing); flagged above the 99.9 % quantile of χ²_dof/dof (≈ 1.2 for K = 500): a sample that follows
  the model with that noise is flagged once in a thousand. Scale: the generator's own noiseless
  refined peaks sit ≈ 1 GHz from the closed form (χ²/dof ≈ 0.01 at 10 GHz), explicit vacancies
  differ from the statistical model by 0.1–3 THz (docs/validation.md), χ²/dof ≫ 100.
* ``outside_training_range``: the network's or the refined σ or τ lies outside the ranges the run
  was trained on (its config's dataset ``sigma_nm``, ``tau_nm``) by more than its own stated 2 sd
  (calibrated where the scales are known), and at least :data:`RANGE_MARGIN` of the range's width:
  the answer with its interval excludes the training range. Not a bare "outside": σ and τ separately
  are poorly determined (docs/physics.md#identifiability): with 10 GHz of noise a bare "outside"
  fired on 16 of 100 in-range test samples (a network's or refined σ or τ just past an edge, inside
  its interval), at 50 GHz on 50; this rule on 0 and 6 (a 40-epoch inverse CNN on the paper-size
  dispersions, refined).
* ``on_bound``: the refinement stopped on its box (the training ranges widened 2×,
  :func:`spsll.evaluation.refine.refine_box_nm`): the answer is the box, not the data. τ = 0 is a
  physical limit, not the box's, and is not flagged.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

FLAGS = ("misfit", "on_bound", "outside_training_range")  # the order a user reads them in
DEFAULT_NOISE = {"dispersion": 10e-3, "domain_wall": 0.01}  # THz per peak; per m_z cell
MISFIT_QUANTILE = 0.999
RANGE_MARGIN = 0.02  # of the range's width
N_FIT = 2  # parameters fitted: σ, τ
QUANTITY_NAMES = {"sigma_nm": ("σ", "nm"), "tau_nm": ("τ", "nm")}


def chi2_per_dof(misfit_rms, n_rows: int, noise: float) -> np.ndarray:
    """χ²/dof of residuals with RMS ``misfit_rms`` over ``n_rows`` values, each with noise sd ``noise``."""
    rms = np.asarray(misfit_rms, dtype=np.float64)
    return n_rows * rms**2 / noise**2 / max(n_rows - N_FIT, 1)


def chi2_threshold(n_rows: int) -> float:
    dof = max(n_rows - N_FIT, 1)
    return float(chi2.ppf(MISFIT_QUANTILE, dof) / dof)


def _outside(params_nm: np.ndarray, ranges: dict[str, tuple[float, float]], estimate: str,
             sd_nm: np.ndarray | None = None) -> list[list[dict]]:
    out: list[list[dict]] = [[] for _ in range(len(params_nm))]
    for j, q in enumerate(("sigma_nm", "tau_nm")):
        lo, hi = ranges[q]
        margin = np.full(len(params_nm), RANGE_MARGIN * (hi - lo))
        if sd_nm is not None:
            margin = np.maximum(margin, 2 * np.nan_to_num(np.asarray(sd_nm)[:, j], nan=np.inf))
        for i in np.flatnonzero((params_nm[:, j] < lo - margin) | (params_nm[:, j] > hi + margin)):
            entry = {"flag": "outside_training_range", "estimate": estimate, "quantity": q,
                     "value": float(params_nm[i, j]), "range": [float(lo), float(hi)]}
            if sd_nm is not None:
                entry["sd"] = float(np.asarray(sd_nm)[i, j])
            out[i].append(entry)
    return out


def sample_flags(network_nm: np.ndarray, ranges: dict[str, tuple[float, float]], *, network_sd_nm=None,
                 refined=None, refined_sd_nm=None, n_rows: int | None = None, noise: float | None = None,
                 default_noise: float | None = None, box_nm=None) -> list[list[dict]]:
    """The flags of each sample: a list of dicts ({"flag": name, ...details}) per sample, [] when none.

    ``network_nm`` (B, 2) [σ, τ] with their stated sd ``network_sd_nm`` (B, 2) or None; ``ranges``
    {"sigma_nm": (lo, hi), "tau_nm": (lo, hi)}; ``refined`` a
    :class:`~spsll.evaluation.refine.RefineResult` of the first n ≤ B samples (or None), with the sd
    ``refined_sd_nm`` (n, 2) to judge it by (None: its own Laplace sd), whose misfit is judged against
    ``noise`` (stated; in the data's units) or else ``default_noise``, over ``n_rows`` values per
    sample; ``box_nm`` the refinement's ((σ_lo, τ_lo), (σ_hi, τ_hi)).
    """
    flags = _outside(np.asarray(network_nm), ranges, "network", network_sd_nm)
    if refined is None:
        return flags
    n = len(refined.params_nm)
    sd = refined.std_nm if refined_sd_nm is None else refined_sd_nm
    for i, f in enumerate(_outside(np.asarray(refined.params_nm), ranges, "refined", sd)):
        flags[i] += f
    sd = noise if noise is not None else default_noise
    c2 = chi2_per_dof(refined.misfit_after, n_rows, sd)
    limit = chi2_threshold(n_rows)
    for i in np.flatnonzero(c2 > limit):
        flags[i].append({"flag": "misfit", "chi2_per_dof": float(c2[i]), "threshold": limit, "noise": float(sd),
                         "noise_stated": noise is not None})
    if refined.bound_side is not None:
        for i, j in zip(*np.nonzero(refined.bound_side[:n]), strict=True):
            q = ("sigma_nm", "tau_nm")[j]
            side = "lower" if refined.bound_side[i, j] < 0 else "upper"
            entry = {"flag": "on_bound", "quantity": q, "value": float(refined.params_nm[i, j]), "bound": side}
            if box_nm is not None:
                entry["box"] = [float(box_nm[0][j]), float(box_nm[1][j])]
            flags[i].append(entry)
    return flags


def summarise(flags: list[list[dict]], rows, n_checked: int, *, refined=None, n_rows: int | None = None,
              noise: float | None = None, default_noise: float | None = None) -> dict:
    """Counts and fractions of each flag over the ``n_checked`` samples every flag was checked on
    (the refined ones, or all without refinement), and the flagged samples with their file ``rows``."""
    head = flags[:n_checked]
    counts = {name: sum(any(f["flag"] == name for f in s) for s in head) for name in FLAGS}
    any_flag = sum(bool(s) for s in head)
    out = {"checked": FLAGS if refined is not None else ("outside_training_range",), "n_checked": n_checked,
           "counts": counts, "counts_any": any_flag,
           "fraction": {k: v / max(n_checked, 1) for k, v in counts.items()},
           "flagged_fraction": any_flag / max(n_checked, 1),
           "samples": [{"row": int(rows[i]), "flags": s} for i, s in enumerate(flags) if s]}
    if refined is not None:
        sd = noise if noise is not None else default_noise
        c2 = chi2_per_dof(refined.misfit_after, n_rows, sd)
        out.update(misfit_noise=float(sd), misfit_noise_stated=noise is not None,
                   chi2_threshold=chi2_threshold(n_rows), chi2_per_dof_median=float(np.median(c2)))
    return out


def flag_metrics(summary: dict) -> dict[str, float]:
    """``flagged_fraction``, ``flagged_fraction_<flag>`` (and the median χ²/dof) for MLflow."""
    out = {"flagged_fraction": summary["flagged_fraction"]}
    out.update({f"flagged_fraction_{k}": v for k, v in summary["fraction"].items() if k in summary["checked"]})
    if "chi2_per_dof_median" in summary:
        out["misfit_chi2_per_dof_median"] = summary["chi2_per_dof_median"]
    return out


def message(flag: dict, noise_text: str = "") -> str:
    """One line a user reads: what is wrong, and what not to do with the number."""
    if flag["flag"] == "misfit":
        return (f"⚠ refined fit does not explain the data: χ²/dof = {flag['chi2_per_dof']:.3g} (limit "
                f"{flag['threshold']:.3g}) with a noise of {noise_text} — the sample may not follow the "
                "statistical model; do not trust these numbers")
    sym, unit = QUANTITY_NAMES[flag["quantity"]]
    if flag["flag"] == "outside_training_range":
        lo, hi = flag["range"]
        sd = f" (± {2 * flag['sd']:.2g} {unit} at 2 sd)" if "sd" in flag else ""
        return (f"⚠ {flag['estimate']} {sym} = {flag['value']:.3g} {unit}{sd} lies outside the training range "
                f"[{lo:g}, {hi:g}] {unit}: an extrapolation the network never saw")
    box = f" of its box [{flag['box'][0]:g}, {flag['box'][1]:g}] {unit}" if "box" in flag else ""
    return (f"⚠ the refinement stopped on the {flag['bound']} bound{box}: {sym} = {flag['value']:.3g} {unit} is "
            "the box's edge, not a value the data determine")
