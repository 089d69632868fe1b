"""Held-out evaluation of a trained run: rebuild model and data from the run itself,
score the **test** split only, log ``test/...`` metrics and figures to that run, return a summary.

The closed loop of the width regressor relaxes walls at the predicted (σ, τ) with the solver,
material and measurement settings recorded in the dataset file, through the physics API.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import torch

from spsll.data.datamodule import SPSLLDataModule
from spsll.data.hdf5 import DatasetError
from spsll.data.provenance import physics_of_dataset
from spsll.evaluation import metrics as M
from spsll.evaluation.paper_cases import PAPER_CASES_NM, case_figure
from spsll.evaluation.refine import refine_predictions
from spsll.models import MODELS
from spsll.physics.measure.domain_wall import relax_domain_walls
from spsll.tracking import figures as F
from spsll.tracking import runs
from spsll.tracking.runs import load_model
from spsll.units import NM

log = logging.getLogger("evaluate")


class EvaluationError(RuntimeError):
    """The run, checkpoint or data to evaluate is missing or inconsistent."""


def predict(model, loader):
    outs: dict[str, list] = {}
    with torch.no_grad():
        for batch in loader:
            pred = model.predict_physical(batch)
            for k, v in list(pred.items()) + [(f"true_{k}", v) for k, v in batch.items()]:
                if torch.is_tensor(v) and v.ndim >= 1 and v.shape[0] == len(batch["params"]):
                    outs.setdefault(k, []).append(v.cpu().numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}


def closed_loop_widths(data_path: str, params_nm: np.ndarray, chunk: int = 500) -> np.ndarray:
    """Relax walls at predicted (σ, τ) with the dataset's own physics (:mod:`spsll.data.provenance`) → widths (nm)."""
    physics = physics_of_dataset(data_path)
    material, solver, settings = physics.material, physics.solver, physics.settings
    p = np.array(params_nm, dtype=np.float64)
    p[:, 0] = np.clip(p[:, 0], 1e-3, None)  # σ > 0: a predicted σ ≤ 0 is the smallest material length
    p[:, 1] = np.clip(p[:, 1], 0.0, None)
    widths = []
    for lo in range(0, len(p), chunk):
        s = torch.tensor(p[lo : lo + chunk, 0]) * NM
        t = torch.tensor(p[lo : lo + chunk, 1]) * NM
        widths.append(relax_domain_walls(material, s, t, solver=solver, settings=settings).width_nm.cpu().numpy())
    return np.concatenate(widths)


def evaluate(cfg: dict, ckpt: Path, data_path: str, *, batch_size: int = 256, closed_loop: bool = True,
             fig_dir: Path | None = None, cases_nm=PAPER_CASES_NM, refine: dict | None = None,
             ) -> tuple[dict, list[Path]]:
    """Test-split metrics (physical units) and figures for one trained model.

    For the forward model, ``cases_nm`` (σ, τ) are also simulated with their 2D spectrum and drawn
    with the prediction (paper Fig. 3a–b); their MAE goes to ``summary["cases"]``, not the test metrics.
    ``refine`` (inverse models): {"forward": "solver"|"surrogate", "surrogate": tfc_pinn or None,
    "prior_weight", "steps", "samples"} refines the predictions by physics (:mod:`refine`) and adds
    ``refined_*`` metrics for the same samples next to the network's.
    """
    name = cfg["model"]["name"]
    model = load_model(name, ckpt)
    task = MODELS[name].task
    dm = SPSLLDataModule(data_path, task, batch_size=batch_size,
                         input_field=cfg.get("data", {}).get("input_field", "freq_refined_thz"))
    if len(dm.indices["test"]) == 0:
        raise DatasetError(f"{data_path}: the test split is empty; nothing to evaluate")
    out = predict(model, dm.test_dataloader())
    fig_dir = fig_dir or Path(tempfile.mkdtemp(prefix="spsll_eval_"))
    fig_dir.mkdir(parents=True, exist_ok=True)
    figs: list[Path] = []

    def save(fig, fname):
        figs.append(fig_dir / fname)
        fig.savefig(figs[-1], dpi=120)

    summary: dict = {"model": name, "checkpoint": str(ckpt), "dataset": str(data_path),
                     "n_test": int(len(dm.indices["test"]))}
    if "params_nm" in out:
        _inverse_summary(summary, save, model, task, out, dm, data_path, closed_loop, refine)
    else:
        _forward_summary(summary, save, model, out, dm, data_path, cases_nm)
    return summary, figs


def _inverse_summary(summary, save, model, task, out, dm, data_path, closed_loop, refine) -> None:
    """Metrics and figures of an inverse model: σ, τ, φ, T; closed-loop widths; calibration; refinement."""
    pred, true = out["params_nm"], out["true_params"]
    summary["metrics"] = M.inverse_metrics(pred, true)
    pphi, pT = M.phi_T(pred)
    tphi, tT = M.phi_T(true)
    p4, t4 = np.stack([pred[:, 0], pred[:, 1], pphi, pT], 1), np.stack([true[:, 0], true[:, 1], tphi, tT], 1)
    names, units = ["σ", "τ", "φ", "T"], ["nm", "nm", "", "nm"]
    save(F.error_histograms(p4, t4, names, units), "test_error_hist.png")
    save(F.predicted_vs_true(p4, t4, names, units), "test_pred_vs_true.png")
    if task == "domain_wall" and closed_loop:
        w_pred = closed_loop_widths(data_path, pred)
        w_true = out["true_width_nm"]
        err = w_pred - w_true
        summary["metrics"].update(width_error_mean_nm=float(err.mean()), width_error_std_nm=float(err.std()),
                                  width_error_mae_nm=float(np.abs(err).mean()))
        save(F.error_histograms(w_pred[:, None], w_true[:, None], ["closed-loop width"], ["nm"]),
             "test_width_error_hist.png")
        save(F.width_over_T(tT, w_true, w_pred), "test_width_over_T.png")
    val = None
    if "std_nm" in out or refine is not None:
        val = predict(model, dm.val_dataloader())
    if "std_nm" in out:
        summary["calibration"], zt, scales = _calibration(out, val, len(out["params_nm"]))
        summary["metrics"].update(_calibration_metrics("net", summary["calibration"]))
        save(F.reliability(zt, scales, title="network"), "test_reliability.png")
    if refine is not None:
        summary["refine"], refined, zt, scales = _refine(task, data_path, out, val, dm, refine)
        summary["metrics"].update({f"refined_{k}": v for k, v in summary["refine"]["after"].items()},
                                  refine_seconds_per_sample=summary["refine"]["seconds_per_sample"],
                                  **_calibration_metrics("refined", summary["refine"]["calibration"]))
        n = len(refined)
        rphi, rT = M.phi_T(refined)
        r4 = np.stack([refined[:, 0], refined[:, 1], rphi, rT], 1)
        save(F.predicted_vs_true(r4, t4[:n], names, units), "test_refined_pred_vs_true.png")
        save(F.reliability(zt, scales, title="physics-refined (Laplace)"), "test_refined_reliability.png")


def _forward_summary(summary, save, model, out, dm, data_path, cases_nm) -> None:
    """Metrics and figures of the forward model: per-k MAE, examples, and the paper's Fig. 3a–b cases."""
    pred, true = out["dispersion_thz"], out["true_dispersion"]
    m, per_k = M.dispersion_metrics(pred, true)
    summary["metrics"] = m
    summary["mae_per_k_thz"] = per_k.tolist()
    k = np.asarray(dm.data_info["k_rad_per_nm"])
    save(F.mae_per_k(k, per_k, split="test"), "test_mae_per_k.png")
    save(F.error_histograms((pred - true).reshape(-1, 1), np.zeros((pred.size, 1)), ["f"], ["THz"]),
         "test_error_hist.png")
    n = min(3, len(pred))
    save(F.dispersion_examples(k, pred[:n], true[:n], [f"test #{i}" for i in range(n)]),
         "test_dispersion_examples.png")
    if cases_nm is not None and len(cases_nm):
        fig, maes = case_figure(model, data_path, cases_nm)
        save(fig, "cases_spectrum.png")
        summary["cases"] = [{"sigma_nm": float(c[0]), "tau_nm": float(c[1]), "mae_thz": e}
                            for c, e in zip(cases_nm, maes, strict=True)]


def _spreads(d: dict, n: int) -> dict[str, np.ndarray]:
    """Stated standard deviations of σ, τ, φ, T of the first ``n`` samples of a prediction dict."""
    sd = np.asarray(d["std_nm"])[:n]
    return {"sigma": sd[:, 0], "tau": sd[:, 1], "phi": np.asarray(d["std_phi"])[:n],
            "T": np.asarray(d["std_T_nm"])[:n]}


def _z(d: dict, n: int) -> dict[str, np.ndarray]:
    s = _spreads(d, n)
    return M.z_scores(np.asarray(d["params_nm"])[:n], np.asarray(d["true_params"])[:n],
                      np.stack([s["sigma"], s["tau"]], 1), s["phi"], s["T"])


def _calibration(test: dict, val: dict | None, n: int) -> tuple[dict, dict, dict | None]:
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


def _calibration_metrics(prefix: str, info: dict) -> dict[str, float]:
    out = {f"{prefix}_coverage_raw_{k}": v for k, v in info["coverage_raw"].items()}
    if info["scales"]:
        out.update({f"{prefix}_coverage_{k}": v for k, v in info["coverage"].items()})
        out.update({f"{prefix}_interval_scale_{k}": v for k, v in info["scales"].items()})
    out.update({f"{prefix}_median_sd_{k}": v for k, v in info["median_sd"].items()})
    return out


def _refine_split(task: str, physics, out: dict, n: int, dm, opts: dict):
    if task == "dispersion":
        observed = {"dispersion": out["true_dispersion"][:n], "k_rad_per_nm": np.asarray(dm.data_info["k_rad_per_nm"])}
    else:
        observed = {"mz": out["true_mz"][:n], "width_nm": out["true_width_nm"][:n]}
    return refine_predictions(task, physics, observed, out["params_nm"][:n],
                              forward=opts.get("forward", "solver"), surrogate=opts.get("surrogate"),
                              prior_weight=float(opts.get("prior_weight", 0.01)), steps=opts.get("steps"))


def _refine(task: str, data_path: str, out: dict, val: dict, dm, opts: dict):
    """Refine the first n test samples, and as many validation samples to calibrate the intervals."""
    n = len(out["params_nm"]) if not opts.get("samples") else min(int(opts["samples"]), len(out["params_nm"]))
    physics = physics_of_dataset(data_path)
    r = _refine_split(task, physics, out, n, dm, opts)
    m = min(n, len(val["params_nm"]))
    rv = _refine_split(task, physics, val, m, dm, opts) if m else None

    def as_dict(res, d, k):
        return {"params_nm": res.params_nm, "std_nm": res.std_nm, "std_phi": res.std_phi, "std_T_nm": res.std_T_nm,
                "true_params": d["true_params"][:k]}

    calib, zt, scales = _calibration(as_dict(r, out, n), as_dict(rv, val, m) if rv else None, n)
    true = out["true_params"][:n]
    info = {"forward": opts.get("forward", "solver"), "n": n, "steps": r.steps,
            "seconds_per_sample": r.seconds / n, "prior_weight": float(opts.get("prior_weight", 0.01)),
            "misfit_before_median": float(np.median(r.misfit_before)),
            "misfit_after_median": float(np.median(r.misfit_after)),
            "before": M.inverse_metrics(out["params_nm"][:n], true), "after": M.inverse_metrics(r.params_nm, true),
            "calibration": calib}
    log.info("refined %d test samples (%s forward model, %.3f s each): phi MAE %.5f -> %.5f", n, info["forward"],
             info["seconds_per_sample"], info["before"]["mae_phi"], info["after"]["mae_phi"])
    return info, r.params_nm, zt, scales


def loss_history_figure(run_id: str, uri: str, out: Path) -> Path | None:
    """Train/val loss per epoch from the run's metric history (paper Fig. 3c, 5c)."""
    run_name, hist = runs.loss_history(run_id, uri)
    if not any(hist.values()):
        return None
    fig = F.loss_curves(hist, title=run_name)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    return out


def log_to_run(run_id: str, uri: str, summary: dict, figs: list[Path], output: Path | None) -> None:
    runs.log_results(run_id, uri, summary["metrics"], [*figs, *([output] if output is not None else [])], "test")
    scales = {}
    if (summary.get("calibration") or {}).get("scales"):
        scales["network"] = summary["calibration"]["scales"]
    if ((summary.get("refine") or {}).get("calibration") or {}).get("scales"):
        scales[f"refined_{summary['refine']['forward']}"] = summary["refine"]["calibration"]["scales"]
    if scales:  # read back by ``python -m spsll.predict`` to state calibrated intervals
        runs.log_calibration(run_id, uri, scales)


def write_summary(summary: dict, output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2))
    return output
