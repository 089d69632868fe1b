"""Scoring an inverse model on one set of samples: the network's metrics, the stated intervals'
coverage (raw and validation-calibrated), the physics-refined answers, and the per-sample flags.

evaluate.py scores the noiseless test samples this way, and again at each measurement-noise level
(:mod:`.noise`: the validation samples get noise of the same level, so the calibration scales are
fitted at that level, never on test), and samples of another solver's data the same way.

Samples are dicts of arrays as the DataModule batches them ({"dispersion": (n, K) THz} or {"mz":
(n, N), "width_nm": (n,)}, with "params": (n, 2) [σ, τ] nm) plus "rows": (n,) their rows in the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from spsll.data.provenance import DataPhysics
from spsll.evaluation import flags as FL
from spsll.evaluation import metrics as M
from spsll.evaluation.noise import NoiseLevel, add_noise, rng_for
from spsll.evaluation.refine import RefineResult, refine_box_nm, refine_predictions

log = logging.getLogger("evaluate")
TEST, VAL = 2, 1  # split codes: the noise of the two splits is drawn independently


def predict(model, batches) -> dict[str, np.ndarray]:
    """The model's physical predictions over ``batches``, with each batch's inputs as ``true_<key>``."""
    outs: dict[str, list] = {}
    with torch.no_grad():
        for batch in batches:
            pred = model.predict_physical(batch)
            for k, v in list(pred.items()) + [(f"true_{k}", v) for k, v in batch.items()]:
                if torch.is_tensor(v) and v.ndim >= 1 and v.shape[0] == len(batch["params"]):
                    outs.setdefault(k, []).append(v.cpu().numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}


def batches(samples: dict, batch_size: int):
    """Float32 tensor batches of a samples dict (its "rows" stay behind)."""
    n = len(samples["params"])
    for lo in range(0, n, batch_size):
        yield {k: torch.as_tensor(np.asarray(v[lo : lo + batch_size]), dtype=torch.float32)
               for k, v in samples.items() if k != "rows"}


@dataclass
class Scored:
    """One scoring: the JSON section and what the figures are drawn from."""

    section: dict  # {"metrics", "calibration"?, "refine"?, "flags"}
    out: dict  # network predictions and the (possibly noisy) inputs and truths
    refined: RefineResult | None = None
    z_net: dict | None = None
    scales_net: dict | None = None
    z_refined: dict | None = None
    scales_refined: dict | None = None


def score_inverse(model, task: str, test: dict, val: dict | None, physics: DataPhysics, *, batch_size: int,
                  refine: dict | None, level: NoiseLevel | None = None, noise_seed: int = 0) -> Scored:
    """Score ``model`` on ``test`` (calibrating on ``val``), at noise ``level`` (None: as stored).

    ``refine``: None, or evaluate's options {"forward", "surrogate", "prior_weight", "steps",
    "samples" (None: all), "k_rad_per_nm" (dispersions: the grid the peaks were taken at)}."""
    if level is not None:
        test = add_noise(test, level, physics, rng_for(noise_seed, TEST, level))
        val = None if val is None else add_noise(val, level, physics, rng_for(noise_seed, VAL, level))
    out = predict(model, batches(test, batch_size))
    n_all = len(out["params_nm"])
    section: dict = {"metrics": M.inverse_metrics(out["params_nm"], out["true_params"])}
    scored = Scored(section, out)
    val_out = None
    if val is not None and len(val["params"]) and ("std_nm" in out or refine is not None):
        val_out = predict(model, batches(val, batch_size))
    if "std_nm" in out:
        section["calibration"], scored.z_net, scored.scales_net = calibration(out, val_out, n_all)
        section["metrics"].update(calibration_metrics("net", section["calibration"]))
    noise = None if level is None else level.observation_sd
    if refine is not None:
        section["refine"], scored.refined, scored.z_refined, scored.scales_refined = _refine(
            task, physics, out, val_out, refine, noise)
        r = section["refine"]
        section["metrics"].update({f"refined_{k}": v for k, v in r["after"].items()},
                                  refine_seconds_per_sample=r["seconds_per_sample"],
                                  **calibration_metrics("refined", r["calibration"]))
    ranges = {"sigma_nm": physics.sigma_range_nm, "tau_nm": physics.tau_range_nm}
    n_rows = out["true_dispersion" if task == "dispersion" else "true_mz"].shape[1]
    args = {"n_rows": n_rows, "noise": noise, "default_noise": FL.DEFAULT_NOISE[task]}
    per_sample = FL.sample_flags(
        out["params_nm"], ranges, network_sd_nm=scaled_sd(out.get("std_nm"), scored.scales_net),
        refined=scored.refined, refined_sd_nm=scaled_sd(getattr(scored.refined, "std_nm", None),
                                                        scored.scales_refined),
        box_nm=refine_box_nm(physics.sigma_range_nm, physics.tau_range_nm), **args)
    n_checked = len(scored.refined.params_nm) if scored.refined is not None else n_all
    section["flags"] = FL.summarise(per_sample, test["rows"], n_checked, refined=scored.refined, **args)
    section["metrics"].update(FL.flag_metrics(section["flags"]))
    return scored


def scaled_sd(std_nm, scales: dict | None) -> np.ndarray | None:
    """Stated sd of [σ, τ] (B, 2), times the validation-fitted scales when there are any."""
    if std_nm is None:
        return None
    return np.asarray(std_nm) * (np.array([scales["sigma"], scales["tau"]]) if scales else 1.0)


def _spreads(d: dict, n: int) -> dict[str, np.ndarray]:
    """Stated standard deviations of σ, τ, φ, T of the first ``n`` samples of a prediction dict."""
    sd = np.asarray(d["std_nm"])[:n]
    return {"sigma": sd[:, 0], "tau": sd[:, 1], "phi": np.asarray(d["std_phi"])[:n],
            "T": np.asarray(d["std_T_nm"])[:n]}


def _z(d: dict, n: int) -> dict[str, np.ndarray]:
    s = _spreads(d, n)
    return M.z_scores(np.asarray(d["params_nm"])[:n], np.asarray(d["true_params"])[:n],
                      np.stack([s["sigma"], s["tau"]], 1), s["phi"], s["T"])


def calibration(test: dict, val: dict | None, n: int) -> tuple[dict, dict, dict | None]:
    """Coverage of stated intervals on the first ``n`` test samples, raw and after scaling by the
    factors fitted on the validation split (``val``, same keys; None or empty: no calibration)."""
    zt = _z(test, n)
    m = 0 if val is None else min(n, len(val["true_params"]))
    scales = M.fit_scales(_z(val, m)) if m else None
    info = {"n_test": n, "n_val": m, "scales": scales, "coverage_raw": M.coverage_from_z(zt),
            "coverage": M.coverage_from_z(zt, scales) if scales else None,
            "median_sd": {q: float(np.median(v)) * (scales[q] if scales else 1.0)
                          for q, v in _spreads(test, n).items()}}
    return info, zt, scales


def calibration_metrics(prefix: str, info: dict) -> dict[str, float]:
    out = {f"{prefix}_coverage_raw_{k}": v for k, v in info["coverage_raw"].items()}
    if info["scales"]:
        out.update({f"{prefix}_coverage_{k}": v for k, v in info["coverage"].items()})
        out.update({f"{prefix}_interval_scale_{k}": v for k, v in info["scales"].items()})
    out.update({f"{prefix}_median_sd_{k}": v for k, v in info["median_sd"].items()})
    return out


def _refine_split(task: str, physics: DataPhysics, out: dict, n: int, opts: dict, noise: float | None):
    if task == "dispersion":
        observed = {"dispersion": out["true_dispersion"][:n], "k_rad_per_nm": np.asarray(opts["k_rad_per_nm"])}
    else:
        observed = {"mz": out["true_mz"][:n], "width_nm": out["true_width_nm"][:n]}
    return refine_predictions(task, physics, observed, out["params_nm"][:n],
                              forward=opts.get("forward", "solver"), surrogate=opts.get("surrogate"),
                              prior_weight=float(opts.get("prior_weight", 0.01)), steps=opts.get("steps"),
                              noise=noise)


def _refine(task: str, physics: DataPhysics, out: dict, val: dict | None, opts: dict, noise: float | None):
    """Refine the first n test samples, and as many validation samples to calibrate the intervals."""
    n = len(out["params_nm"]) if not opts.get("samples") else min(int(opts["samples"]), len(out["params_nm"]))
    r = _refine_split(task, physics, out, n, opts, noise)
    m = 0 if val is None else min(n, len(val["params_nm"]))
    rv = _refine_split(task, physics, val, m, opts, noise) if m else None

    def as_dict(res, d, k):
        return {"params_nm": res.params_nm, "std_nm": res.std_nm, "std_phi": res.std_phi, "std_T_nm": res.std_T_nm,
                "true_params": d["true_params"][:k]}

    calib, zt, scales = calibration(as_dict(r, out, n), as_dict(rv, val, m) if rv else None, n)
    true = out["true_params"][:n]
    info = {"forward": opts.get("forward", "solver"), "n": n, "steps": r.steps,
            "seconds_per_sample": r.seconds / n, "prior_weight": float(opts.get("prior_weight", 0.01)),
            "stated_noise": noise, "misfit_before_median": float(np.median(r.misfit_before)),
            "misfit_after_median": float(np.median(r.misfit_after)),
            "before": M.inverse_metrics(out["params_nm"][:n], true), "after": M.inverse_metrics(r.params_nm, true),
            "calibration": calib}
    log.info("refined %d test samples (%s forward model, %.3f s each): phi MAE %.5f -> %.5f", n, info["forward"],
             info["seconds_per_sample"], info["before"]["mae_phi"], info["after"]["mae_phi"])
    return info, r, zt, scales
