"""skyrmion_forward: (σ, τ, B) → the probability that an isolated skyrmion survives, and its radius
(docs/skyrmion-models.md#forward).

Inputs are the five features x = [σ, τ, φ, T, B] (nm, nm, 1, nm, T), φ = σ/(σ+τ) and T = στ/(σ+τ)
derived from (σ, τ) (the quantities the physics reads, docs/physics.md#identifiability), each
standardised with its train-split mean and std (``data_info``). A shared MLP trunk feeds two heads,

    ℓ = head_s(trunk(x)),   p = sigmoid(ℓ),      z = head_r(trunk(x)),   R = exp(m + s z),

with m, s the mean and std of log R over the train survivors. The loss is

    loss = BCE(ℓ, survived) over the converged samples + ``radius_weight`` · MSE(z, (log R − m)/s) over the survivors.

**Excluded**: a sample whose relaxation did not converge (``converged`` false; the dataset's
``undecided``: intact but still moving at ``max_iter``) has no decided fate and enters neither term;
a collapsed sample has no radius and enters only the survival term. The radius is the radius *if* the
skyrmion survives (conditional on survival), whatever p.

Validation metrics, once per epoch over the whole split (:func:`forward_metrics`): ``brier`` (mean
(p − y)²), ``ece`` (expected calibration error, 10 equal-width bins of p), ``accuracy`` (p > ½),
``log_loss``; on the survivors ``radius_rel_mae`` (mean |R̂ − R|/R), ``radius_mae_nm`` and
``radius_within_2pct`` (the fraction with |R̂ − R| ≤ 0.02 R); ``loss`` as above.

Batches (spsll/data/skyrmion_datamodule.py): {"params": (B, 2) nm, "B_T": (B,), "survived": (B,) bool,
"converged": (B,) bool, "radius_nm": (B,) (NaN unless survived)}.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from spsll.models import optimization
from spsll.models.common import ModelBase, Standardiser, check_data_info, phi_and_T
from spsll.models.nets import dense_stack

NAME = "skyrmion_forward"
TASK = "skyrmion"
FEATURES = ("sigma_nm", "tau_nm", "phi", "T_nm", "B_T")
REQUIRED_KEYS = ("params_mean", "params_std", "B_mean_T", "B_std_T", "phi_mean", "phi_std", "T_mean_nm",
                 "T_std_nm", "log_radius_mean", "log_radius_std")
ECE_BINS = 10
WITHIN = 0.02  # radius_within_2pct: |R̂ − R| ≤ 2 % of R
MODEL_KEY = "spsll_model"  # a Lightning checkpoint names the model that wrote it (as the mask models')


def parameter_features(params_nm: Tensor, field_T: Tensor) -> Tensor:
    """(B, 5) [σ, τ, φ, T, B] from [σ, τ] (B, 2) nm and B (B,) T (φ, T of σ, τ clamped at 0)."""
    p = params_nm if params_nm.is_floating_point() else params_nm.float()
    phi, t = phi_and_T(p.clamp_min(0.0))
    return torch.cat([p, phi[:, None], t[:, None], field_T.to(p).reshape(-1, 1)], 1)


def feature_statistics(info: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    """Train-split mean and std of the five features, from ``data_info``."""
    mean = [*info["params_mean"], info["phi_mean"], info["T_mean_nm"], info["B_mean_T"]]
    std = [*info["params_std"], info["phi_std"], info["T_std_nm"], info["B_std_T"]]
    return [float(v) for v in mean], [max(float(v), 1e-12) for v in std]


def check_skyrmion_info(info: Mapping[str, Any], required: Sequence[str], model: str) -> dict:
    """``data_info`` with every ``required`` key, finite (no survivor in the train split leaves the radius's
    statistics NaN: an error naming the key)."""
    out = check_data_info(info, required, model)
    for key in required:
        vals = out[key] if isinstance(out[key], list) else [out[key]]
        if any(isinstance(v, (int, float)) and not math.isfinite(float(v)) for v in vals):
            raise ValueError(f"{model}: data_info['{key}'] is not finite ({out[key]}); the train split needs "
                             "survivors (and samples) for its statistics")
    return out


# -- metrics ----------------------------------------------------------------------------------------
def expected_calibration_error(prob: Tensor, label: Tensor, n_bins: int = ECE_BINS) -> Tensor:
    """Σ_b (n_b/n) |mean(y) − mean(p)| over ``n_bins`` equal-width bins of p in [0, 1]."""
    prob, label = prob.double(), label.double()
    idx = (prob * n_bins).long().clamp(0, n_bins - 1)
    err = prob.new_zeros(())
    for b in range(n_bins):
        sel = idx == b
        if bool(sel.any()):
            err = err + sel.double().mean() * (label[sel].mean() - prob[sel].mean()).abs()
    return err


def reliability_bins(prob: Tensor, label: Tensor, n_bins: int = ECE_BINS) -> dict[str, list[float]]:
    """Per bin of p: its count, mean p and observed survival fraction (NaN where empty): the reliability diagram."""
    idx = (prob.double() * n_bins).long().clamp(0, n_bins - 1)
    out: dict[str, list[float]] = {"count": [], "mean_probability": [], "observed_fraction": []}
    for b in range(n_bins):
        sel = idx == b
        n = int(sel.sum())
        out["count"].append(n)
        out["mean_probability"].append(float(prob[sel].double().mean()) if n else math.nan)
        out["observed_fraction"].append(float(label[sel].double().mean()) if n else math.nan)
    return out


def survival_metrics(prob: Tensor, label: Tensor) -> dict[str, Tensor]:
    """brier, ece, accuracy and log_loss of probabilities ``prob`` for the labels ``label`` (decided samples)."""
    prob, y = prob.double(), label.double()
    p = prob.clamp(1e-12, 1 - 1e-12)
    return {"brier": (prob - y).pow(2).mean(), "ece": expected_calibration_error(prob, y),
            "accuracy": ((prob > 0.5).double() == y).double().mean(),
            "log_loss": -(y * p.log() + (1 - y) * (1 - p).log()).mean()}


def radius_metrics(pred_nm: Tensor, true_nm: Tensor) -> dict[str, Tensor]:
    """radius_rel_mae, radius_mae_nm and radius_within_2pct over survivors (NaN for none)."""
    pred, true = pred_nm.double(), true_nm.double()
    if true.numel() == 0:
        nan = torch.tensor(math.nan, dtype=torch.float64)
        return {"radius_rel_mae": nan, "radius_mae_nm": nan, "radius_within_2pct": nan}
    rel = (pred - true).abs() / true
    return {"radius_rel_mae": rel.mean(), "radius_mae_nm": (pred - true).abs().mean(),
            "radius_within_2pct": (rel <= WITHIN).double().mean()}


def forward_metrics(prob: Tensor, radius_pred_nm: Tensor, survived: Tensor, converged: Tensor,
                    radius_true_nm: Tensor) -> dict[str, Tensor]:
    """The forward metrics over a split: survival on the converged samples, radius on the survivors."""
    ok, alive = converged.bool(), survived.bool() & converged.bool()
    if not bool(ok.any()):
        raise ValueError("the split holds no converged sample: no decided survival to score")
    return {**survival_metrics(prob[ok], alive[ok]), **radius_metrics(radius_pred_nm[alive], radius_true_nm[alive])}


def _check_layers(hidden: Sequence[int], head_hidden: int, dropout: float, radius_weight: float) -> list[int]:
    hidden = list(hidden)
    if not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
        raise ValueError(f"{NAME}: hidden must be a non-empty list of integers >= 1, got {hidden!r}")
    if isinstance(head_hidden, bool) or not isinstance(head_hidden, int) or head_hidden < 1:
        raise ValueError(f"{NAME}: head_hidden must be an integer >= 1, got {head_hidden!r}")
    if not 0 <= float(dropout) < 1:
        raise ValueError(f"{NAME}: dropout must be in [0, 1), got {dropout!r}")
    if not (isinstance(radius_weight, (int, float)) and math.isfinite(radius_weight) and radius_weight >= 0):
        raise ValueError(f"{NAME}: radius_weight must be a finite number >= 0, got {radius_weight!r}")
    return hidden


class SkyrmionForwardModel(ModelBase):
    """The trunk, the two heads, the masked losses and the metrics (module docstring)."""

    task = TASK
    direction = "forward"  # registered as spsll_forward_skyrmion
    rows = "all"  # every sample of the split (spsll/training/skyrmion_tasks.py)
    name = NAME

    def __init__(self, data_info: Mapping[str, Any], hidden: Sequence[int] = (64, 64), head_hidden: int = 32,
                 dropout: float = 0.0, radius_weight: float = 1.0, optimizer: Mapping[str, Any] | None = None,
                 scheduler: Mapping[str, Any] | None = None):
        optimizer, scheduler = optimization.plain_specs(optimizer, scheduler)
        super().__init__(optimizer, scheduler, NAME)
        self.save_hyperparameters(logger=False)
        self.data_info = check_skyrmion_info(data_info, REQUIRED_KEYS, NAME)
        hidden = _check_layers(hidden, head_hidden, dropout, radius_weight)
        self.radius_weight = float(radius_weight)
        self.input_norm = Standardiser(*feature_statistics(self.data_info))
        self.radius_norm = Standardiser(float(self.data_info["log_radius_mean"]),
                                        max(float(self.data_info["log_radius_std"]), 1e-3))
        self.trunk = nn.Sequential(dense_stack(len(FEATURES), hidden[:-1], hidden[-1], float(dropout)), nn.ReLU())
        self.survival_head = dense_stack(hidden[-1], [int(head_hidden)], 1)
        self.radius_head = dense_stack(hidden[-1], [int(head_hidden)], 1)
        self.val_outputs: dict[str, Tensor] = {}
        self._val_chunks: dict[str, list[Tensor]] = {}

    def forward(self, params_nm: Tensor, field_T: Tensor) -> tuple[Tensor, Tensor]:
        """(B, 2) nm and (B,) T → the survival logit (B,) and the standardised log radius (B,)."""
        h = self.trunk(self.input_norm.normalise(parameter_features(params_nm.float(), field_T.float())))
        return self.survival_head(h)[:, 0], self.radius_head(h)[:, 0]

    def radius_nm(self, z: Tensor) -> Tensor:
        return self.radius_norm.denormalise(z).exp()

    @torch.no_grad()
    def predict_physical(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """{"survival_probability": (B,), "survival_logit": (B,), "radius_nm": (B,) the radius if it survives};
        call ``eval()`` first."""
        logit, z = self(batch["params"], batch["B_T"])
        return {"survival_probability": torch.sigmoid(logit), "survival_logit": logit, "radius_nm": self.radius_nm(z)}

    # -- loss -----------------------------------------------------------------------------------
    def losses(self, logit: Tensor, z: Tensor, batch: Mapping[str, Tensor]) -> tuple[Tensor, Tensor, int, int]:
        """(BCE over the converged samples, MSE of the standardised log radius over the survivors, their counts);
        a term without samples is a zero that keeps the graph."""
        ok = batch["converged"].bool()
        alive = batch["survived"].bool() & ok
        y = alive.float()
        bce = nn.functional.binary_cross_entropy_with_logits(logit[ok], y[ok]) if bool(ok.any()) else logit.sum() * 0
        if bool(alive.any()):
            target = self.radius_norm.normalise(batch["radius_nm"][alive].float().log())
            mse = (z[alive] - target).pow(2).mean()
        else:
            mse = z.sum() * 0.0
        return bce, mse, int(ok.sum()), int(alive.sum())

    def training_step(self, batch, batch_idx):
        logit, z = self(batch["params"], batch["B_T"])
        bce, mse, n_ok, n_alive = self.losses(logit, z, batch)
        loss = bce + self.radius_weight * mse
        bs = max(n_ok, 1)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=bs)
        self.log("train/bce", bce, on_step=False, on_epoch=True, batch_size=bs)
        self.log("train/radius_mse", mse, on_step=False, on_epoch=True, batch_size=max(n_alive, 1))
        return loss

    def on_validation_epoch_start(self):
        self._val_chunks = {}

    def validation_step(self, batch, batch_idx):
        logit, z = self(batch["params"], batch["B_T"])
        chunk = {"logit": logit, "z": z, "survived": batch["survived"].bool(), "converged": batch["converged"].bool(),
                 "radius_nm": batch["radius_nm"].float(), "B_T": batch["B_T"].float()}
        for key, val in chunk.items():
            self._val_chunks.setdefault(key, []).append(val.detach().cpu())

    def on_validation_epoch_end(self):
        out = {k: torch.cat(v) for k, v in self._val_chunks.items()}
        if not out:
            return
        bce, mse, _, _ = self.losses(out["logit"], out["z"], out)
        prob, radius = torch.sigmoid(out["logit"]), self.radius_nm(out["z"])
        metrics = forward_metrics(prob, radius, out["survived"], out["converged"], out["radius_nm"])
        self.val_outputs = {"survival_probability": prob, "radius_pred_nm": radius, **out}
        self.log("val/loss", (bce + self.radius_weight * mse).float(), prog_bar=True)
        self.log("val/bce", bce.float())
        for key, value in metrics.items():
            if math.isfinite(float(value)):  # no survivor in a tiny validation split: no radius metric
                self.log(f"val/{key}", value.float())

    # -- serving (spsll/tracking/registry.py) -----------------------------------------------------
    def serving_batch(self, x: Tensor) -> dict[str, Tensor]:
        """(B, 3) [σ (nm), τ (nm), B (T)]."""
        return {"params": x[:, :2], "B_T": x[:, 2]}

    def serving_output(self, out: Mapping[str, Tensor]) -> Tensor:
        """(B, 2) [survival probability, radius if it survives (nm)]."""
        return torch.stack([out["survival_probability"], out["radius_nm"]], 1).float()

    def example_input(self) -> Tensor:
        return torch.tensor([[*self.data_info["params_mean"], self.data_info["B_mean_T"]]], dtype=torch.float32)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[MODEL_KEY] = NAME
