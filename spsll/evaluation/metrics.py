"""Held-out metrics in physical units (docs/physics.md#scoring): MAE, RMSE, R² per target; φ and T;
per-k MAE."""

from __future__ import annotations

import numpy as np

from spsll.units import correlation_length, material_fraction


def regression_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    err = pred - true
    ss_res = float((err**2).sum())
    ss_tot = float(((true - true.mean()) ** 2).sum())
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err**2).mean())),
            "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")}


def phi_T(params_nm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Material fraction φ and correlation length T (nm) of predictions (σ + τ floored at 1e-12 nm)."""
    s, t = params_nm[:, 0], params_nm[:, 1]
    return material_fraction(s, t, floor=1e-12), correlation_length(s, t, floor=1e-12)


def inverse_metrics(pred_nm: np.ndarray, true_nm: np.ndarray) -> dict[str, float]:
    out = {}
    pphi, pT = phi_T(pred_nm)
    tphi, tT = phi_T(true_nm)
    for name, p, t in (("sigma_nm", pred_nm[:, 0], true_nm[:, 0]), ("tau_nm", pred_nm[:, 1], true_nm[:, 1]),
                       ("phi", pphi, tphi), ("T_nm", pT, tT)):
        for k, v in regression_metrics(p, t).items():
            out[f"{k}_{name}"] = v
    return out


def dispersion_metrics(pred_thz: np.ndarray, true_thz: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    per_k = np.abs(pred_thz - true_thz).mean(0)
    m = regression_metrics(pred_thz.ravel(), true_thz.ravel())
    return {"mae_thz": m["mae"], "rmse_thz": m["rmse"], "r2_thz": m["r2"], "max_mae_k_thz": float(per_k.max())}, per_k


QUANTITIES = ("sigma", "tau", "phi", "T")
ONE_SD = 0.6827  # probability within ±1 sd of a Gaussian


def z_scores(pred_nm: np.ndarray, true_nm: np.ndarray, std_nm: np.ndarray, std_phi: np.ndarray,
             std_T_nm: np.ndarray) -> dict[str, np.ndarray]:
    """|prediction − truth| / stated standard deviation per sample, for σ, τ, φ and T."""
    pphi, pT = phi_T(pred_nm)
    tphi, tT = phi_T(true_nm)
    return {name: np.abs(p - t) / np.maximum(s, 1e-300) for name, p, t, s in (
        ("sigma", pred_nm[:, 0], true_nm[:, 0], std_nm[:, 0]), ("tau", pred_nm[:, 1], true_nm[:, 1], std_nm[:, 1]),
        ("phi", pphi, tphi, std_phi), ("T", pT, tT, std_T_nm))}


def fit_scales(z: dict[str, np.ndarray]) -> dict[str, float]:
    """Calibration factors: the stated sd × scale covers 68.3 % of the samples ``z`` came from
    (fitted on the validation split, applied to the test split; > 1 means over-confident)."""
    return {name: float(np.quantile(v, ONE_SD)) for name, v in z.items()}


def coverage_from_z(z: dict[str, np.ndarray], scales: dict[str, float] | None = None) -> dict[str, float]:
    """Fraction of samples within ±1 and ±2 stated sd (times ``scales`` when given) per quantity;
    calibrated Gaussian intervals give 0.683 and 0.954."""
    out = {}
    for name, v in z.items():
        v = v / (scales[name] if scales else 1.0)
        out[f"{name}_1sd"] = float((v <= 1).mean())
        out[f"{name}_2sd"] = float((v <= 2).mean())
    return out


def coverage(pred_nm: np.ndarray, true_nm: np.ndarray, std_nm: np.ndarray, std_phi: np.ndarray,
             std_T_nm: np.ndarray, scales: dict[str, float] | None = None) -> dict[str, float]:
    """:func:`coverage_from_z` of the predictions' z-scores (σ, τ, φ, T)."""
    return coverage_from_z(z_scores(pred_nm, true_nm, std_nm, std_phi, std_T_nm), scales)
