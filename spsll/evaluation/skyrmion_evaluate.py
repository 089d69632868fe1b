"""Held-out evaluation of the skyrmion models (docs/skyrmion-models.md#evaluation): what ``evaluate.py`` does for a
run of ``skyrmion_forward``, ``skyrmion_forward_ridge``, ``skyrmion_inverse`` or ``skyrmion_inverse_ridge``.

The run's own file is read through :class:`spsll.data.skyrmion_datamodule.SkyrmionDataModule` with the
model's rows (every sample, or the survivors: spsll/training/skyrmion_tasks.py); the test split is scored and
the validation split the same way (``summary["val_metrics"]``).

* Forward: ``brier``, ``ece`` (10 bins), ``accuracy``, ``log_loss`` over the converged samples;
  ``radius_rel_mae``, ``radius_mae_nm``, ``radius_within_2pct`` over the survivors
  (:func:`spsll.models.skyrmion_forward.forward_metrics`); the reliability diagram's bins
  (``summary["reliability"]``). Figures: ``test_reliability.png`` (observed survival fraction against
  the predicted probability per bin, with the bins' counts), ``test_survival_vs_B.png`` and
  ``test_radius_pred_vs_true.png``.
* Inverse (survivors): ``mae``/``rmse``/``r2`` of σ, τ, φ, T (:func:`spsll.evaluation.metrics.inverse_metrics`)
  and, with a stated spread (the network's Gaussian head), the coverage of its intervals raw and scaled by
  factors fitted on the validation split (:func:`spsll.evaluation.scoring.calibration`). Figures
  ``test_pred_vs_true.png``, ``test_error_hist.png`` (and ``test_reliability.png``).
* **Measurement noise** (``noise_mz``, inverse only): the test images are scored again with N(0, ν²) per
  cell added and clipped to [−1, 1], and the radius re-measured from the noisy crop by the dataset's own
  method (:func:`spsll.physics.measure.texture.skyrmion_radius`); the validation images get noise of the
  same level for the calibration. A level's draws come from ``default_rng([noise_seed, split, ν in 1e-9
  units])``. A noisy crop whose contour is lost (no radius) is left out and counted. Sections
  ``summary["noise"]["<ν>"]``, MLflow ``test/noise<ν>mz_<metric>`` (``.`` written ``p``).
* **Another model's data** (``test_data``): a skyrmion file made by another solver (e.g. ``rtn_ensemble``, one
  explicit mosaic film per sample) with the run's material and measurement settings (only the solver may
  differ) is scored instead of the run's test split: its test split, or every sample when it has none, with
  the model's rows (the inverse models: that file's survivors, by its own relaxations). The calibration comes
  from the run's own validation split; ``summary["cross_model"]`` names the solver, so MLflow gets
  ``test_<solver>/<metric>`` (:func:`spsll.evaluation.evaluate.metrics_folder`); noise levels combine with it.
  The validation numbers are the run's own evaluation's and are not repeated (no ``val_metrics``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import h5py
import numpy as np
import torch
from matplotlib.figure import Figure
from torch.utils.data import DataLoader

from spsll.data.hdf5 import DatasetError
from spsll.data.provenance import physics_of_dataset
from spsll.data.reader import open_dataset
from spsll.data.skyrmion_datamodule import SkyrmionDataModule, SkyrmionSamples
from spsll.evaluation import metrics as M
from spsll.evaluation.inputs import EvaluationError, _differences
from spsll.evaluation.scoring import calibration, calibration_metrics
from spsll.models.skyrmion_forward import forward_metrics, reliability_bins
from spsll.physics.grid import Grid
from spsll.physics.measure.texture import skyrmion_radius
from spsll.tracking import figures as F
from spsll.units import NM

KIND = "skyrmion"
TEST, VAL = 2, 1  # split codes of the noise draws
NAMES, UNITS_4 = ["σ", "τ", "φ", "T"], ["nm", "nm", "", "nm"]


def noise_levels(name: str, direction: str, noise_ghz, noise_mz) -> list[float]:
    """The ``noise_mz`` levels (each finite, in (0, 1), once) of a skyrmion run; ``noise_ghz`` and any level for
    a forward model are refused."""
    def items(value):
        return [] if value is None else [value] if isinstance(value, int | float | str) else list(value)

    def as_list(value, key):
        out = []
        for v in items(value):
            try:
                if isinstance(v, bool):
                    raise TypeError
                f = float(v)
            except (TypeError, ValueError) as err:
                raise EvaluationError(f"{key} must be a number or a list of numbers, got {value!r}") from err
            if not (math.isfinite(f) and 0 < f < 1):
                raise EvaluationError(f"{key} levels must be finite, > 0 (the noiseless evaluation is always made) "
                                      f"and < 1 (m_z lies in [-1, 1]), got {v!r}")
            out.append(f)
        return out

    if items(noise_ghz):
        raise EvaluationError(f"noise_ghz applies to the dispersion models; {name} reads skyrmion images (noise_mz)")
    levels = as_list(noise_mz, "noise_mz")
    if levels and direction != "inverse":
        raise EvaluationError(f"noise_mz applies to the skyrmion inverse models (their input is the m_z image); {name} "
                              "is a forward model: (sigma, tau, B) -> survival and radius")
    if len(set(levels)) != len(levels):
        raise EvaluationError(f"noise_mz lists a level twice: {levels}")
    return levels


def noise_label(level: float) -> str:
    """``noise0p01mz``: the MLflow prefix of a level (as :class:`spsll.evaluation.noise.NoiseLevel`'s)."""
    return "noise" + f"{level:g}".replace(".", "p") + "mz"


def split_batch(dm: SkyrmionDataModule, split: str) -> dict[str, torch.Tensor]:
    """A whole split (the model's rows) as one batch dict."""
    ds = dm.dataset(split)
    if len(ds) == 0:
        raise DatasetError(f"{dm.path}: the {split} split holds no sample the model reads; nothing to evaluate")
    return next(iter(DataLoader(ds, batch_size=len(ds), shuffle=False, num_workers=0)))


def whole(samples: SkyrmionSamples) -> dict[str, torch.Tensor]:
    """Every sample of a torch Dataset of skyrmion rows as one batch dict."""
    return next(iter(DataLoader(samples, batch_size=len(samples), shuffle=False, num_workers=0)))


def check_cross_data(run_data: str, model_info: dict, path: str) -> dict:
    """Another solver's skyrmion file must hold the run's kind, material, measurement settings and crop: only the
    solver may differ. Returns what labels the results (as :func:`spsll.evaluation.inputs.check_cross_model`)."""
    if not Path(path).is_file():
        raise EvaluationError(f"test_data: no dataset at {path}")
    run, test = physics_of_dataset(run_data), physics_of_dataset(path)
    if test.kind != KIND:
        raise EvaluationError(f"test_data {path} holds {test.kind} data, but the run's model reads {KIND} images")
    diffs = _differences(asdict(run.measurement), asdict(test.measurement), "measurement")
    diffs += _differences({k: v for k, v in asdict(run.material).items() if k != "name"},
                          {k: v for k, v in asdict(test.material).items() if k != "name"}, "material")
    with h5py.File(path, "r") as f:
        attrs = {"crop_cells": int(f.attrs["crop_cells"]), "cell_nm": float(f.attrs["cell_nm"])}
        settings = str(f.attrs.get("solver_settings", ""))
    diffs += [f"{k}: {v} in the file, {model_info[k]} in the run" for k, v in attrs.items()
              if k in model_info and float(model_info[k]) != float(v)]
    if diffs:
        raise EvaluationError(f"test_data {path} was not made like the run's data (only the solver may differ): "
                              + "; ".join(diffs))
    return {"solver": test.solver.name, "run_solver": run.solver.name, "data": str(path),
            "solver_settings": settings, "dtype": str(test.solver.dtype)}


def cross_rows(path: str, rows: str) -> tuple[np.ndarray, str, int]:
    """(the rows to score, "test" | "all", the rows left out by ``rows``) of another solver's file: its test
    split, or every sample when it has none; ``rows="survivors"`` keeps that file's survivors."""
    with open_dataset(path, kind=KIND) as f:
        split, alive = f["split"][:], f["survived"][:].astype(bool)
    which = "test" if (split == 2).any() else "all"
    chosen = split == 2 if which == "test" else np.ones(len(split), bool)
    keep = alive if rows == "survivors" else np.ones(len(split), bool)
    picked = np.flatnonzero(chosen & keep)
    if len(picked) == 0:
        what = " surviving" if rows == "survivors" else ""
        raise DatasetError(f"{path}: no{what} sample to score in its {which} rows")
    return picked, which, int((chosen & ~keep).sum())


def _chunks(batch: dict, batch_size: int):
    n = len(batch["params"])
    for lo in range(0, n, batch_size):
        yield {k: v[lo: lo + batch_size] for k, v in batch.items()}


@torch.no_grad()
def predict(model, batch: dict, batch_size: int) -> dict[str, np.ndarray]:
    outs: dict[str, list] = {}
    for chunk in _chunks(batch, batch_size):
        for k, v in model.predict_physical(chunk).items():
            outs.setdefault(k, []).append(v.double().cpu().numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}


def noisy(batch: dict, level: float, seed: int, split: int, cell_nm: float) -> tuple[dict, np.ndarray]:
    """(the batch with noisy images and re-measured radii, the mask of samples whose radius was measured)."""
    rng = np.random.default_rng([int(seed), int(split), round(level * 1e9)])
    mz = batch["image"].double().numpy()[:, 0]
    mz = np.clip(mz + level * rng.standard_normal(mz.shape), -1.0, 1.0)
    m = torch.zeros(len(mz), 3, *mz.shape[1:], dtype=torch.float64)
    m[:, 2] = torch.from_numpy(mz)
    radius = skyrmion_radius(m, Grid(tuple(mz.shape[1:]), cell_nm * NM)).numpy() / NM
    ok = np.isfinite(radius)
    out = {**batch, "image": torch.from_numpy(mz[:, None]).float(), "radius_nm": torch.from_numpy(radius).float()}
    return {k: v[torch.from_numpy(ok)] for k, v in out.items()}, ok


# -- forward --------------------------------------------------------------------------------------------
def _forward_scores(model, batch: dict, batch_size: int) -> tuple[dict[str, float], dict]:
    out = predict(model, batch, batch_size)
    prob, radius = torch.from_numpy(out["survival_probability"]), torch.from_numpy(out["radius_nm"])
    try:
        metrics = forward_metrics(prob, radius, batch["survived"], batch["converged"], batch["radius_nm"])
    except ValueError as err:
        raise EvaluationError(str(err)) from err
    ok = batch["converged"].bool()
    alive = ok & batch["survived"].bool()
    return ({k: float(v) for k, v in metrics.items()},
            {"prob": prob[ok], "label": alive[ok], "B_T": batch["B_T"][ok].numpy(), "radius_pred": radius[alive],
             "radius_true": batch["radius_nm"][alive].double(), "n": len(ok), "n_converged": int(ok.sum()),
             "n_survivors": int(alive.sum())})


def reliability_figure(bins: dict[str, list[float]], title: str = "") -> Figure:
    """Observed survival fraction against the mean predicted probability per bin; bar heights: counts."""
    fig = Figure(figsize=(4.8, 4.6))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, label="calibrated")
    p, o = np.array(bins["mean_probability"]), np.array(bins["observed_fraction"])
    ok = np.isfinite(p)
    ax.plot(p[ok], o[ok], "o-", color="C0", label="model")
    ax2 = ax.twinx()
    n_bins = len(bins["count"])
    ax2.bar((np.arange(n_bins) + 0.5) / n_bins, bins["count"], width=0.9 / n_bins, color="C1", alpha=0.25)
    ax2.set_ylabel("samples per bin")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("predicted survival probability")
    ax.set_ylabel("observed survival fraction")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def survival_vs_field_figure(field_T: np.ndarray, prob: np.ndarray, label: np.ndarray) -> Figure:
    fig = Figure(figsize=(5.2, 3.8))
    ax = fig.add_subplot()
    for val, colour, text in ((True, "C2", "survived"), (False, "C3", "collapsed")):
        sel = label == val
        ax.scatter(field_T[sel], prob[sel], s=10, color=colour, alpha=0.7, label=text)
    ax.set_xlabel("B (T)")
    ax.set_ylabel("predicted survival probability")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _evaluate_forward(model, test, val, batch_size, save, summary) -> dict:
    summary["metrics"], out = _forward_scores(model, test, batch_size)
    if "cross_model" not in summary:  # another solver's data: the validation numbers are the run's own evaluation's
        summary["val_metrics"], _ = _forward_scores(model, val, batch_size)
    bins = reliability_bins(out["prob"], out["label"])
    summary.update(n_test_converged=out["n_converged"], n_test_unconverged=out["n"] - out["n_converged"],
                   n_test_survivors=out["n_survivors"], reliability=bins)
    save(reliability_figure(bins, f"{summary['model']}: test split, Brier {summary['metrics']['brier']:.3f}, "
                                  f"ECE {summary['metrics']['ece']:.3f}"), "test_reliability.png")
    save(survival_vs_field_figure(out["B_T"], out["prob"].numpy(), out["label"].numpy()), "test_survival_vs_B.png")
    if out["n_survivors"]:
        save(F.predicted_vs_true(out["radius_pred"].numpy()[:, None], out["radius_true"].numpy()[:, None],
                                 ["radius"], ["nm"]), "test_radius_pred_vs_true.png")
    return summary


# -- inverse --------------------------------------------------------------------------------------------
def _four(params_nm: np.ndarray) -> np.ndarray:
    phi, t = M.phi_T(params_nm)
    return np.stack([params_nm[:, 0], params_nm[:, 1], phi, t], 1)


def _inverse_section(model, test, val, batch_size) -> tuple[dict, dict, dict | None]:
    out = predict(model, test, batch_size)
    out["true_params"] = test["params"].double().numpy()
    section: dict = {"metrics": M.inverse_metrics(out["params_nm"], out["true_params"])}
    z = None
    if "std_nm" in out:
        val_out = predict(model, val, batch_size)
        val_out["true_params"] = val["params"].double().numpy()
        section["calibration"], z, scales = calibration(out, val_out, len(out["params_nm"]))
        section["metrics"].update(calibration_metrics("net", section["calibration"]))
        z = {"z": z, "scales": scales}
    return section, out, z


def _evaluate_inverse(model, test, val, batch_size, save, summary, levels, seed) -> dict:
    section, out, z = _inverse_section(model, test, val, batch_size)
    summary.update(section)
    if "cross_model" not in summary:  # another solver's data: the validation numbers are the run's own evaluation's
        summary["val_metrics"] = M.inverse_metrics(predict(model, val, batch_size)["params_nm"],
                                                   val["params"].double().numpy())
    p4, t4 = _four(out["params_nm"]), _four(out["true_params"])
    save(F.error_histograms(p4, t4, NAMES, UNITS_4), "test_error_hist.png")
    save(F.predicted_vs_true(p4, t4, NAMES, UNITS_4), "test_pred_vs_true.png")
    if z is not None:
        save(F.reliability(z["z"], z["scales"], title="network"), "test_reliability.png")
    cell_nm = float(model.data_info["cell_nm"])
    for level in levels:
        noisy_test, ok_t = noisy(test, level, seed, TEST, cell_nm)
        noisy_val, ok_v = noisy(val, level, seed, VAL, cell_nm)
        if not ok_t.any():
            raise EvaluationError(f"noise_mz = {level:g}: no test crop keeps a measurable m_z = 0 contour")
        sec, out_n, _ = _inverse_section(model, noisy_test, noisy_val, batch_size)
        summary.setdefault("noise", {})[f"{level:g}"] = {
            "level": level, "unit": "m_z", "label": noise_label(level), "seed": seed,
            "n_test_unmeasured": int((~ok_t).sum()), "n_val_unmeasured": int((~ok_v).sum()), **sec}
        save(F.predicted_vs_true(_four(out_n["params_nm"]), _four(out_n["true_params"]), NAMES, UNITS_4),
             f"test_{noise_label(level)}_pred_vs_true.png")
    return summary


def evaluate_skyrmion_model(name: str, model, ckpt, data_path: str, *, batch_size: int,
                            save: Callable[[Figure, str], None], refine: dict | None = None,
                            test_data: str | None = None, noise_mz: list[float] = (), noise_seed: int = 0) -> dict:
    """The summary of one skyrmion model on its run's file; ``save(fig, filename)`` keeps a figure."""
    if refine is not None:
        raise EvaluationError(f"refine=true refines (sigma, tau) through a measured spectrum or wall and applies to "
                              f"the dispersion and wall models; {name} is a skyrmion model (python -m spsll.predict "
                              "checks a skyrmion answer by relaxing it)")
    dm = SkyrmionDataModule(data_path, batch_size=batch_size, rows=model.rows)
    info = model.data_info
    for key in ("crop_cells", "cell_nm"):
        if key in info and float(dm.data_info[key]) != float(info[key]):
            raise EvaluationError(f"{data_path} has {key} = {dm.data_info[key]}, but the model was trained on "
                                  f"{key} = {info[key]}")
    val = split_batch(dm, "val")
    summary: dict = {"model": name, "checkpoint": str(ckpt), "dataset": str(data_path), "rows": model.rows}
    if test_data:  # another solver's file (module docstring)
        summary["cross_model"] = check_cross_data(data_path, info, str(test_data))
        rows, which, excluded = cross_rows(str(test_data), model.rows)
        test = whole(SkyrmionSamples(str(test_data), rows))
    else:
        test, which, excluded = split_batch(dm, "test"), "test", int(dm.data_info.get("n_excluded", {}).get("test", 0))
    summary.update(test_data=str(test_data or data_path), test_split=which, n_test=int(len(test["params"])),
                   n_test_excluded=excluded)
    if model.direction == "forward":
        return _evaluate_forward(model, test, val, batch_size, save, summary)
    return _evaluate_inverse(model, test, val, batch_size, save, summary, list(noise_mz), int(noise_seed))
