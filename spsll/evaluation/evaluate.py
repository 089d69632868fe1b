"""Held-out evaluation of a trained run: rebuild model and data from the run itself,
score the **test** split only, log ``test/...`` metrics and figures to that run, return a summary.

Beyond the generator's own noiseless test split (where the refinement's forward model is the data
generator itself: an inverse crime):

* **measurement noise** (``noise_levels``, :mod:`.noise`): the inverse model is scored again on noisy
  copies of its test inputs, per level, with the calibration scales fitted on validation samples
  given noise of the same level and the refinement told the stated noise (``summary["noise"]``);
* **another model's data** (``test_data``): a dataset file made by another solver with the run's
  material, measurement and grid is scored instead of the run's test split (its test split, or every
  sample when it has none), calibrated on the run's own validation split (``summary["cross_model"]``);
* **flags** (:mod:`.flags`): per test sample, whether the refined fit explains the data, and whether
  an answer left the training ranges or stopped on the refinement's box (``summary["flags"]``).

The closed loop of the width regressor relaxes walls at the predicted (σ, τ) with the solver,
material and measurement settings recorded in the run's dataset file, through the physics API.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import torch

from spsll.data.datamodule import SPSLLDataModule
from spsll.data.hdf5 import MASK_KINDS, DatasetError
from spsll.data.provenance import physics_of_dataset
from spsll.data.reader import open_dataset
from spsll.evaluation import metrics as M
from spsll.evaluation.inputs import EvaluationError, check_cross_model, check_grid, write_json
from spsll.evaluation.mask_evaluate import evaluate_mask_model
from spsll.evaluation.noise import UNITS, NoiseLevel
from spsll.evaluation.paper_cases import PAPER_CASES_NM, case_figure
from spsll.evaluation.scoring import Scored, batches, predict, score_inverse
from spsll.evaluation.scoring import calibration as _calibration  # noqa: F401  (tests/models read it here)
from spsll.evaluation.skyrmion_evaluate import KIND as SKYRMION
from spsll.evaluation.skyrmion_evaluate import evaluate_skyrmion_model
from spsll.models.common import InverseModelBase
from spsll.physics.measure.domain_wall import relax_domain_walls
from spsll.tracking import figures as F
from spsll.tracking import runs
from spsll.tracking.runs import load_model
from spsll.units import NM

log = logging.getLogger("evaluate")
NAMES, UNITS_4 = ["σ", "τ", "φ", "T"], ["nm", "nm", "", "nm"]
VAL_FOLDER = "eval_val"  # MLflow folder of the validation metrics that evaluate.py recomputes (mask models)

__all__ = ["EvaluationError", "evaluate", "log_to_run", "loss_history_figure", "write_summary"]


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


def read_samples(path, task: str, rows: np.ndarray, input_field: str) -> dict[str, np.ndarray]:
    """Rows ``rows`` of a dataset file as the DataModule batches them (float32), with "rows"."""
    fields = (input_field,) if task == "dispersion" else ("mz", "width_nm")
    with open_dataset(path, kind=task) as f:
        data = {name: f[name][:][rows].astype(np.float32) for name in ("sigma_nm", "tau_nm", *fields)}
    out = {"params": np.stack([data.pop("sigma_nm"), data.pop("tau_nm")], 1), "rows": np.asarray(rows)}
    if task == "dispersion":
        out["dispersion"] = data[input_field]
    else:
        out.update(mz=data["mz"], width_nm=data["width_nm"])
    return out


def _test_rows(path, task: str) -> tuple[np.ndarray, str]:
    """The test split of a file, or every sample when it has none: (rows, "test" | "all")."""
    with open_dataset(path, kind=task) as f:
        split = f["split"][:]
    rows = np.flatnonzero(split == 2)
    if len(rows):
        return rows, "test"
    if len(split) == 0:
        raise DatasetError(f"{path} holds no samples; nothing to evaluate")
    return np.arange(len(split)), "all"


def _test_samples(summary: dict, model, dm, physics, data_path: str, test_data: str | None, input_field: str):
    """The samples to score: the run's test split, or another solver's file checked against the run
    (its test split, or all of it); what they are goes into ``summary``."""
    if test_data:
        summary["cross_model"] = check_cross_model(physics, model.data_info, test_data)
        rows, which = _test_rows(test_data, dm.kind)
        source = test_data
    else:
        rows, which = dm.indices["test"], "test"
        if len(rows) == 0:
            raise DatasetError(f"{data_path}: the test split is empty; nothing to evaluate")
        source = data_path
    summary.update(test_data=str(source), test_split=which, n_test=int(len(rows)))
    return read_samples(source, dm.kind, rows, input_field)


def evaluate(cfg: dict, ckpt: Path, data_path: str, *, batch_size: int = 256, closed_loop: bool = True,
             fig_dir: Path | None = None, cases_nm=PAPER_CASES_NM, refine: dict | None = None,
             noise_levels: list[NoiseLevel] = (), noise_seed: int = 0, test_data: str | None = None,
             ) -> tuple[dict, list[Path]]:
    """Test-split metrics (physical units) and figures for one trained model.

    For the forward model, ``cases_nm`` (σ, τ) are also simulated with their 2D spectrum and drawn
    with the prediction (paper Fig. 3a–b); their MAE goes to ``summary["cases"]``, not the test metrics.
    ``refine`` (inverse models): {"forward": "solver"|"surrogate", "surrogate": tfc_pinn or None,
    "prior_weight", "steps", "samples"} refines the predictions by physics (:mod:`refine`) and adds
    ``refined_*`` metrics for the same samples next to the network's. ``noise_levels`` (inverse
    models) and ``test_data``: the module docstring; for the skyrmion models (docs/skyrmion-models.md#evaluation)
    ``noise_levels`` are the ``noise_mz`` levels (floats) of :func:`spsll.evaluation.skyrmion_evaluate.noise_levels`.
    """
    name = cfg["model"]["name"]
    model = load_model(name, ckpt)
    task = model.task  # the instance's: a baseline (ridge, knn) fits dispersions or walls
    if task in MASK_KINDS:  # the coercivity models (docs/coercivity.md#models)
        return _evaluate_mask_model(name, model, ckpt, data_path, batch_size, fig_dir, refine, test_data)
    if task == SKYRMION:  # the skyrmion models (docs/skyrmion-models.md#evaluation)
        return _evaluate_skyrmion_model(name, model, ckpt, data_path, batch_size, fig_dir, refine, test_data,
                                        list(noise_levels), noise_seed)
    input_field = cfg.get("data", {}).get("input_field", "freq_refined_thz")
    dm = SPSLLDataModule(data_path, task, batch_size=batch_size, input_field=input_field)
    physics = physics_of_dataset(data_path)
    check_grid(model.data_info, task, physics, data_path)
    inverse = isinstance(model, InverseModelBase) or getattr(model, "direction", None) == "inverse"  # or a baseline
    if noise_levels and not inverse:
        raise EvaluationError(f"noise levels apply to inverse models (their input is the measurement); {name} "
                              "is a forward model")
    summary: dict = {"model": name, "checkpoint": str(ckpt), "dataset": str(data_path)}
    test = _test_samples(summary, model, dm, physics, data_path, test_data, input_field)
    save, figs = _figure_saver(fig_dir)

    if inverse:
        val = read_samples(data_path, task, dm.indices["val"], input_field)
        if refine is not None and task == "dispersion":
            refine = {**refine, "k_rad_per_nm": np.asarray(dm.data_info["k_rad_per_nm"])}
        args = {"batch_size": batch_size, "refine": refine}
        main = score_inverse(model, task, test, val, physics, **args)
        _inverse_summary(summary, save, main, task, data_path, closed_loop)
        for level in noise_levels:
            log.info("noise %s: scoring the test samples again with validation calibrated at that level",
                     level.describe())
            noisy = score_inverse(model, task, test, val, physics, level=level, noise_seed=noise_seed, **args)
            summary.setdefault("noise", {})[level.key] = {
                "level": level.value, "unit": UNITS[task], "label": level.label, "seed": noise_seed, **noisy.section}
            _pred_vs_true_figure(save, noisy, f"test_{level.label}_pred_vs_true.png")
    else:
        out = predict(model, batches(test, batch_size))
        _forward_summary(summary, save, model, out, dm, data_path, None if test_data else cases_nm)
    return summary, figs


def _figure_saver(fig_dir: Path | None):
    """``(save, figs)``: ``save(fig, name)`` writes a figure into ``fig_dir`` (a fresh temporary folder when
    None) and appends its path to ``figs``."""
    fig_dir = fig_dir or Path(tempfile.mkdtemp(prefix="spsll_eval_"))
    fig_dir.mkdir(parents=True, exist_ok=True)
    figs: list[Path] = []

    def save(fig, fname):
        figs.append(fig_dir / fname)
        fig.savefig(figs[-1], dpi=120)

    return save, figs


def _evaluate_mask_model(name, model, ckpt, data_path, batch_size, fig_dir, refine, test_data):
    save, figs = _figure_saver(fig_dir)
    summary = evaluate_mask_model(name, model, ckpt, data_path, batch_size=batch_size, save=save, refine=refine,
                                  test_data=test_data)
    return summary, figs


def _evaluate_skyrmion_model(name, model, ckpt, data_path, batch_size, fig_dir, refine, test_data, levels, seed):
    save, figs = _figure_saver(fig_dir)
    summary = evaluate_skyrmion_model(name, model, ckpt, data_path, batch_size=batch_size, save=save, refine=refine,
                                      test_data=test_data, noise_mz=levels, noise_seed=seed)
    return summary, figs


def _four(params_nm: np.ndarray) -> np.ndarray:
    phi, T = M.phi_T(params_nm)
    return np.stack([params_nm[:, 0], params_nm[:, 1], phi, T], 1)


def _pred_vs_true_figure(save, scored: Scored, fname: str) -> None:
    """Refined answers against the truth when refined, else the network's."""
    pred = scored.refined.params_nm if scored.refined is not None else scored.out["params_nm"]
    save(F.predicted_vs_true(_four(pred), _four(scored.out["true_params"][: len(pred)]), NAMES, UNITS_4), fname)


def _inverse_summary(summary: dict, save, scored: Scored, task: str, data_path: str, closed_loop: bool) -> None:
    """The noiseless scoring's sections and figures: σ, τ, φ, T; closed-loop widths; calibration; refinement."""
    out = scored.out
    summary.update(scored.section)
    pred, true = out["params_nm"], out["true_params"]
    p4, t4 = _four(pred), _four(true)
    save(F.error_histograms(p4, t4, NAMES, UNITS_4), "test_error_hist.png")
    save(F.predicted_vs_true(p4, t4, NAMES, UNITS_4), "test_pred_vs_true.png")
    if task == "domain_wall" and closed_loop:
        w_pred = closed_loop_widths(data_path, pred)
        w_true = out["true_width_nm"]
        err = w_pred - w_true
        summary["metrics"].update(width_error_mean_nm=float(err.mean()), width_error_std_nm=float(err.std()),
                                  width_error_mae_nm=float(np.abs(err).mean()))
        save(F.error_histograms(w_pred[:, None], w_true[:, None], ["closed-loop width"], ["nm"]),
             "test_width_error_hist.png")
        save(F.width_over_T(t4[:, 3], w_true, w_pred), "test_width_over_T.png")
    if scored.z_net is not None:
        save(F.reliability(scored.z_net, scored.scales_net, title="network"), "test_reliability.png")
    if scored.refined is not None:
        _pred_vs_true_figure(save, scored, "test_refined_pred_vs_true.png")
        save(F.reliability(scored.z_refined, scored.scales_refined, title="physics-refined (Laplace)"),
             "test_refined_reliability.png")


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


def loss_history_figure(run_id: str, uri: str, out: Path) -> Path | None:
    """Train/val loss per epoch from the run's metric history (paper Fig. 3c, 5c)."""
    run_name, hist = runs.loss_history(run_id, uri)
    if not any(hist.values()):
        return None
    fig = F.loss_curves(hist, title=run_name)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    return out


def metrics_folder(summary: dict) -> str:
    """``test`` for the run's own test split, ``test_<solver>`` for another solver's data."""
    return f"test_{summary['cross_model']['solver']}" if summary.get("cross_model") else "test"


def flat_metrics(summary: dict) -> dict[str, float]:
    """The summary's metrics, and each noise level's as ``<label>_<metric>`` (``noise10ghz_mae_phi``)."""
    out = dict(summary["metrics"])
    for section in (summary.get("noise") or {}).values():
        out.update({f"{section['label']}_{k}": v for k, v in section["metrics"].items()})
    return out


def _scales(section: dict, suffix: str) -> dict:
    scales = {}
    if (section.get("calibration") or {}).get("scales"):
        scales[f"network{suffix}"] = section["calibration"]["scales"]
    if ((section.get("refine") or {}).get("calibration") or {}).get("scales"):
        scales[f"refined_{section['refine']['forward']}{suffix}"] = section["refine"]["calibration"]["scales"]
    return scales


def log_to_run(run_id: str, uri: str, summary: dict, figs: list[Path], output: Path | None) -> None:
    runs.log_results(run_id, uri, flat_metrics(summary), [*figs, *([output] if output is not None else [])],
                     metrics_folder(summary))
    if summary.get("val_metrics"):  # the coercivity models: the scored checkpoint's validation numbers too
        runs.log_results(run_id, uri, summary["val_metrics"], [], VAL_FOLDER)
    if summary.get("cross_model"):
        return  # the run's calibration comes from its own data; another solver's data only tests it
    scales = _scales(summary, "")
    for section in (summary.get("noise") or {}).values():  # predict picks the level a user states
        scales.update(_scales(section, "_" + section["label"]))
    if scales:  # read back by ``python -m spsll.predict`` to state calibrated intervals
        runs.log_calibration(run_id, uri, scales)


def write_summary(summary: dict, output: Path) -> Path:
    """The summary as JSON, written whole or not at all."""
    return write_json(summary, output)
