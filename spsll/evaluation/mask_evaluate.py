"""Held-out evaluation of the coercivity models (docs/coercivity.md#models): what ``evaluate.py`` does for a
run of ``mask_vae``, ``anchor_regressor``, ``anchor_cnn``, ``anchor_ridge`` or ``anchor_gp``.

The run's own file is read through :class:`spsll.data.mask_datamodule.MaskDataModule` (the stored split), the
test split is scored and the validation split is scored the same way (``summary["val_metrics"]``):

* ``mask_vae``: reconstruction from the latent mean, per mask averaged over the split: ``bce_per_cell``,
  ``cell_error_rate`` (threshold 0.5), ``mae_defect_count``, ``mae_defect_fraction``, ``kl`` (nats); the
  figure ``test_reconstruction.png`` (masks and their decoded probabilities) and the decoded against the true
  defect count and fraction (``test_decoded_vs_true.png``);
* the anchor models: per target (H in units of H_K, M in units of Ms) ``mae_<target>``, ``rmse_<target>``,
  ``r2_<target>``, and ``mae_standardised`` (the mean of MAE / train std); with a stated std (the GP) also
  ``coverage_1sd_<target>``, ``coverage_2sd_<target>``; one figure of predicted against simulated values per
  target (``test_pred_vs_true_<target>.png``). Unconverged samples are excluded and counted
  (``n_test_unconverged``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch.utils.data import DataLoader

from spsll.data.hdf5 import DatasetError
from spsll.data.mask_datamodule import MaskDataModule
from spsll.evaluation import metrics as M
from spsll.evaluation.inputs import EvaluationError
from spsll.models.anchors import target_units
from spsll.models.mask_vae import MaskVAEModel, defect_runs, reconstruction_metrics
from spsll.tracking import figures as F


def split_batch(dm: MaskDataModule, split: str) -> dict[str, torch.Tensor]:
    """A whole split as one batch dict (the DataModule's own samples)."""
    ds = dm.dataset(split)
    if len(ds) == 0:
        raise DatasetError(f"{dm.path}: the {split} split is empty; nothing to evaluate")
    return next(iter(DataLoader(ds, batch_size=len(ds), shuffle=False, num_workers=0)))


def _chunks(batch: dict, batch_size: int):
    n = len(batch["mask"])
    for lo in range(0, n, batch_size):
        yield {k: v[lo: lo + batch_size] for k, v in batch.items()}


@torch.no_grad()
def _vae_scores(model: MaskVAEModel, batch: dict, batch_size: int) -> tuple[dict[str, float], dict]:
    per: dict[str, list] = {}
    for chunk in _chunks(batch, batch_size):
        mask = chunk["mask"].float()
        logits, mu, logvar = model(mask)
        parts = {**reconstruction_metrics(logits, mask), "kl": 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1),
                 "probability": torch.sigmoid(logits), "count_pred": defect_runs((logits > 0).float()),
                 "count_true": defect_runs(mask), "fraction_pred": (logits > 0).float().mean(1),
                 "fraction_true": mask.mean(1)}
        for k, v in parts.items():
            per.setdefault(k, []).append(v)
    out = {k: torch.cat(v).numpy() for k, v in per.items()}
    keys = ("bce_per_cell", "cell_error_rate", "mae_defect_count", "mae_defect_fraction", "kl")
    return {k: float(out[k].mean()) for k in keys}, out


def _reconstruction_figure(masks: np.ndarray, probability: np.ndarray, n: int = 4) -> Figure:
    n = min(n, len(masks))
    fig = Figure(figsize=(8.0, 1.0 + 0.9 * n))
    for i in range(n):
        ax = fig.add_subplot(n, 1, i + 1)
        ax.imshow(np.stack([masks[i], probability[i]]), aspect="auto", cmap="gray_r", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_yticks([0, 1], ["mask", "decoded p"])
        ax.set_xticks([])
    fig.axes[-1].set_xlabel("cell")
    fig.tight_layout()
    return fig


@torch.no_grad()
def _anchor_scores(model, batch: dict, batch_size: int) -> tuple[dict[str, float], dict]:
    preds, stds = [], []
    for chunk in _chunks(batch, batch_size):
        out = model.predict_physical(chunk)
        preds.append(out["targets"].double())
        if "targets_std" in out:
            stds.append(out["targets_std"].double())
    ok = batch["converged"].bool().numpy()
    if not ok.any():
        raise EvaluationError("the split holds no converged sample; nothing to score")
    true = torch.cat([batch["anchors"].double(), batch["coercivity_HK"].double()[:, None]], 1)
    names = list(model.data_info["target_names"])
    true = true[:, [names.index(t) for t in model.target_names]].numpy()[ok]
    pred = torch.cat(preds).numpy()[ok]
    std_train = model.target_std.double().cpu().numpy()
    metrics: dict[str, float] = {}
    for j, t in enumerate(model.target_names):
        metrics.update({f"{k}_{t}": v for k, v in M.regression_metrics(pred[:, j], true[:, j]).items()})
    metrics["mae_standardised"] = float((np.abs(pred - true).mean(0) / std_train).mean())
    if stds:
        z = np.abs(pred - true) / np.maximum(torch.cat(stds).numpy()[ok], 1e-300)
        for j, t in enumerate(model.target_names):
            metrics[f"coverage_1sd_{t}"] = float((z[:, j] <= 1).mean())
            metrics[f"coverage_2sd_{t}"] = float((z[:, j] <= 2).mean())
    return metrics, {"pred": pred, "true": true, "n": int(len(ok)), "n_converged": int(ok.sum())}


def evaluate_mask_model(name: str, model, ckpt: Path, data_path: str, *, batch_size: int, save,
                        refine: dict | None = None, test_data: str | None = None) -> dict:
    """The summary of one coercivity model on its run's file; ``save(fig, filename)`` keeps a figure."""
    if refine is not None:
        raise EvaluationError(f"refine=true refines (σ, τ) by physics and applies to the inverse models; {name} "
                              "is a coercivity model")
    if test_data:
        raise EvaluationError(f"test_data applies to the dispersion and wall models; a {name} run is scored on its "
                              "own file's test split")
    dm = MaskDataModule(data_path, model.task, batch_size=batch_size)
    if int(dm.data_info["n_cells"]) != int(model.data_info["n_cells"]):
        raise EvaluationError(f"{data_path} holds masks of N = {dm.data_info['n_cells']} cells, but the model was "
                              f"trained on N = {model.data_info['n_cells']}")
    test, val = split_batch(dm, "test"), split_batch(dm, "val")
    summary: dict = {"model": name, "checkpoint": str(ckpt), "dataset": str(data_path), "test_data": str(data_path),
                     "test_split": "test", "n_test": int(len(test["mask"]))}
    if isinstance(model, MaskVAEModel):
        summary["metrics"], out = _vae_scores(model, test, batch_size)
        summary["val_metrics"], _ = _vae_scores(model, val, batch_size)
        save(_reconstruction_figure(test["mask"].numpy(), out["probability"]), "test_reconstruction.png")
        save(F.predicted_vs_true(np.stack([out["count_pred"], out["fraction_pred"]], 1),
                                 np.stack([out["count_true"], out["fraction_true"]], 1),
                                 ["defect count", "defect fraction"], ["", ""]), "test_decoded_vs_true.png")
        return summary
    summary["metrics"], out = _anchor_scores(model, test, batch_size)
    summary["val_metrics"], _ = _anchor_scores(model, val, batch_size)
    summary.update(targets=list(model.target_names), units={t: target_units(t) for t in model.target_names},
                   n_test_converged=out["n_converged"], n_test_unconverged=out["n"] - out["n_converged"])
    for j, t in enumerate(model.target_names):
        save(F.predicted_vs_true(out["pred"][:, j:j + 1], out["true"][:, j:j + 1], [t], [target_units(t)]),
             f"test_pred_vs_true_{t}.png")
    return summary
