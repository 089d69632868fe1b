"""Lightning callbacks: stop on a non-finite loss, and draw the run's figures."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytorch_lightning as pl

from spsll.tracking import figures


class FiniteLossGuard(pl.Callback):
    """Raise as soon as the training loss is NaN/inf: the run is then marked FAILED and the last
    good (best) checkpoint is kept."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None and not math.isfinite(float(loss)):
            raise FloatingPointError(
                f"non-finite training loss ({float(loss)}) at epoch {trainer.current_epoch}, "
                f"step {trainer.global_step}; lower optimizer.lr or check the data"
            )


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def run_figures(pl_module, out_dir: Path, data_info: dict) -> list[Path]:
    """PNG figures from the module's last validation epoch (``val_outputs``)."""
    vo = getattr(pl_module, "val_outputs", None) or {}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig, name):
        p = out_dir / name
        fig.savefig(p, dpi=120)
        written.append(p)

    if "params_pred_nm" in vo and "params_true_nm" in vo:
        pred, true = _np(vo["params_pred_nm"]), _np(vo["params_true_nm"])
        phi = lambda p: p[:, 0] / (p[:, 0] + p[:, 1])  # noqa: E731
        dens = lambda p: p[:, 0] * p[:, 1] / (p[:, 0] + p[:, 1])  # noqa: E731
        pred4 = np.stack([pred[:, 0], pred[:, 1], phi(pred), dens(pred)], 1)
        true4 = np.stack([true[:, 0], true[:, 1], phi(true), dens(true)], 1)
        names, units = ["σ", "τ", "φ", "T"], ["nm", "nm", "", "nm"]
        save(figures.error_histograms(pred4, true4, names, units), "val_error_hist.png")
        save(figures.predicted_vs_true(pred4, true4, names, units), "val_pred_vs_true.png")
    if "dispersion_pred_thz" in vo and "dispersion_true_thz" in vo:
        k = np.asarray(data_info["k_rad_per_nm"])
        pred, true = _np(vo["dispersion_pred_thz"]), _np(vo["dispersion_true_thz"])
        err = pred - true
        save(figures.error_histograms(err.reshape(-1, 1) + 0.0, np.zeros((err.size, 1)), ["f"], ["THz"]),
             "val_error_hist.png")
        mae_k = _np(vo["mae_per_k_thz"]) if "mae_per_k_thz" in vo else np.abs(err).mean(0)
        save(figures.mae_per_k(k, mae_k), "val_mae_per_k.png")
        n = min(3, len(pred))
        save(figures.dispersion_examples(k, pred[:n], true[:n], [f"#{i}" for i in range(n)]),
             "val_dispersion_examples.png")
    return written


class RunFigures(pl.Callback):
    """At the end of training, draw the figures and hand them to the MLflow logger (if any)."""

    def __init__(self, data_info: dict, out_dir: Path | None = None):
        self.data_info = data_info
        self.out_dir = out_dir
        self.written: list[Path] = []

    def on_train_end(self, trainer, pl_module):
        if trainer.global_rank != 0:
            return
        out = self.out_dir or Path(tempfile.mkdtemp(prefix="spsll_fig_"))
        self.written = run_figures(pl_module, out, self.data_info)
        logger = trainer.logger
        if logger is not None and hasattr(logger, "experiment") and hasattr(logger, "run_id"):
            for p in self.written:
                logger.experiment.log_artifact(logger.run_id, str(p), "figures")
