"""Shared pieces of the LightningModules (docs/physics.md#models): ``data_info`` checks, normalisation, derived
defect parameters, the optimizer and scheduler of every model (:class:`ModelBase`) and the common
inverse-model training loop.

The module is over 300 lines because the inverse models' training loop is one piece: the plain
(σ, τ) outputs, the readout's four outputs (:mod:`spsll.models.readout`), the uncertainty head and
the noise augmentation all meet in the same step, and splitting them would scatter one loss.

Physics reaches the models only through ``data_info`` (plain Python floats and lists, saved with
the hyper-parameters so that a checkpoint is self-contained); nothing here imports the solver.

Conventions
-----------
* Targets are normalised inside the modules with the train-split statistics
  (``params_mean``, ``params_std``); every metric is computed from de-normalised predictions.
* Predictions of σ, τ are clamped at 0 nm (the physical range) before φ, T and the metrics are
  computed and in ``predict_physical`` (the loss uses the raw network output).
* φ = σ/(σ+τ) is the material fraction, T = στ/(σ+τ) the correlation length (docs/physics.md#identifiability).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from spsll.models import optimization
from spsll.models import readout as R
from spsll.models import uncertainty as U
from spsll.units import correlation_length, material_fraction

#: keys every module needs
PARAM_KEYS = ("params_mean", "params_std")
#: metric monitored for the best checkpoint, early stopping and the learning-rate scheduler
MONITOR = "val/loss"
PHI_SCALE = 0.1  # unit of the optional φ term of the inverse models' loss
MONITOR_MODE = "min"


def check_data_info(data_info: Mapping[str, Any] | None, required: Iterable[str], model: str) -> dict:
    """Return a plain-dict copy of ``data_info`` after checking it has every ``required`` key.

    Raises ValueError naming the first missing key (and the model that needs it), and for the
    normalisation statistics checks the shapes and that the standard deviations are positive.
    """
    if data_info is None or not isinstance(data_info, Mapping):
        raise ValueError(f"{model}: data_info must be a dict, got {type(data_info).__name__}")
    info = dict(data_info)
    for key in required:
        if key not in info or info[key] is None:
            raise ValueError(f"{model}: data_info is missing the required key '{key}' "
                             f"(needs: {', '.join(required)})")
    for key in ("params_mean", "params_std"):
        if key in info:
            vals = [float(v) for v in info[key]]
            if len(vals) != 2:
                raise ValueError(f"{model}: data_info['{key}'] must hold 2 values [sigma, tau], got {vals}")
            info[key] = vals
    for key in ("params_std",):
        if key in info and not all(v > 0 and math.isfinite(v) for v in info[key]):
            raise ValueError(f"{model}: data_info['{key}'] must be positive, got {info[key]}")
    for key in ("dispersion_std", "width_std"):
        if key in info:
            info[key] = float(info[key])
            if not (info[key] > 0 and math.isfinite(info[key])):
                raise ValueError(f"{model}: data_info['{key}'] must be positive, got {info[key]}")
    return info


class Standardiser(nn.Module):
    """x ↦ (x − mean)/std and back; mean and std are non-persistent buffers (they come from
    ``data_info`` in the hyper-parameters, so they follow ``.to(device)`` without entering the
    state dict)."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32), persistent=False)

    def normalise(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std

    def denormalise(self, z: Tensor) -> Tensor:
        return z * self.std + self.mean


INPUT_NORMS = ("global", "per_feature")
STD_FLOOR = 0.01  # per-feature std floor, relative to the largest: constant features stay O(1)


def input_standardiser(info: Mapping[str, Any], mode: str, per_feature_keys: tuple[str, str],
                       global_stats: tuple[float, float], model: str) -> Standardiser:
    """Standardiser of a model's 1D input (dispersion over k, m_z over x).

    ``global``: one (mean, std) for all features (the original set-up). ``per_feature``: the
    train-split mean and std of each feature, so the network sees how a sample differs from the
    average curve rather than the curve's shape, which is the same for all samples (this is what
    lets the inverse models resolve φ; RESULTS.md). Stds are floored at ``STD_FLOOR`` × the largest,
    so features that hardly vary (m_z deep in the domains) are not amplified noise.
    """
    if mode not in INPUT_NORMS:
        raise ValueError(f"{model}: input_norm must be one of {INPUT_NORMS}, got {mode!r}")
    if mode == "global":
        return Standardiser(*global_stats)
    for key in per_feature_keys:
        if key not in info:
            raise ValueError(f"{model}: input_norm=per_feature needs data_info['{key}'] (a dataset read by "
                             "this version of SPSLLDataModule provides it)")
    mean = torch.as_tensor(info[per_feature_keys[0]], dtype=torch.float64)
    std = torch.as_tensor(info[per_feature_keys[1]], dtype=torch.float64)
    if mean.shape != std.shape or mean.ndim != 1 or not torch.isfinite(mean).all() or not torch.isfinite(std).all():
        raise ValueError(f"{model}: data_info['{per_feature_keys[0]}'] and ['{per_feature_keys[1]}'] must be "
                         f"finite 1D lists of equal length")
    std = std.clamp_min(STD_FLOOR * float(std.max().clamp_min(1e-12)))
    return Standardiser(mean, std)


def phi_and_T(params_nm: Tensor, eps: float = 1e-12) -> tuple[Tensor, Tensor]:
    """Material fraction φ and defect density (correlation length) T in nm from (…, 2) [σ, τ]; σ + τ is
    floored at ``eps`` (predictions can be negative)."""
    sigma, tau = params_nm[..., 0], params_nm[..., 1]
    return material_fraction(sigma, tau, floor=eps), correlation_length(sigma, tau, floor=eps)


def inverse_metrics(pred_nm: Tensor, true_nm: Tensor) -> dict[str, Tensor]:
    """MAE of σ, τ (nm), φ and T (nm) from physical predictions and targets (B, 2)."""
    phi_p, t_p = phi_and_T(pred_nm)
    phi_t, t_t = phi_and_T(true_nm)
    err = (pred_nm - true_nm).abs()
    return {
        "mae_sigma_nm": err[:, 0].mean(),
        "mae_tau_nm": err[:, 1].mean(),
        "mae_phi": (phi_p - phi_t).abs().mean(),
        "mae_T_nm": (t_p - t_t).abs().mean(),
    }


class ModelBase(pl.LightningModule):
    """What every model shares: the monitored metric, and its optimizer and learning-rate scheduler
    built from specs (``optimizer``, ``scheduler`` hyper-parameters; :mod:`spsll.models.optimization`)."""

    monitor = MONITOR
    monitor_mode = MONITOR_MODE
    task: str = ""

    def __init__(self, optimizer: Mapping[str, Any], scheduler: Mapping[str, Any] | None, name: str):
        super().__init__()
        self.optimizer_spec = optimization.check_spec(optimizer, "optimizer", name, optional=False)
        self.scheduler_spec = optimization.check_spec(scheduler, "scheduler", name, optional=True)

    def configure_optimizers(self):
        return optimization.configure(self.parameters(), self.optimizer_spec, self.scheduler_spec, self.monitor)


class InverseModelBase(ModelBase):
    """Common training/validation logic of the (observable → σ, τ) models.

    Subclasses define ``forward_normalised(batch) -> (B, n_out)`` normalised [σ, τ] (+ the
    covariance factor with ``uncertainty: gaussian``, :mod:`spsll.models.uncertainty`) and
    ``loss_normalised(pred, target)``; this class normalises targets, logs ``{split}/loss`` and the
    physical MAEs ``{split}/mae_sigma_nm``, ``mae_tau_nm``, ``mae_phi``, ``mae_T_nm`` (epoch means),
    and keeps the epoch's physical predictions in ``self.val_outputs``.
    """

    def __init__(self, data_info: Mapping[str, Any], required: Iterable[str], name: str,
                 optimizer: Mapping[str, Any], scheduler: Mapping[str, Any] | None, clamp_nonnegative: bool,
                 phi_weight: float = 0.0, uncertainty: str = "none", uncertainty_weight: float = 1.0,
                 readout: str = "none", input_noise: float = 0.0):
        super().__init__(optimizer, scheduler, name)
        if readout not in R.READOUTS:
            raise ValueError(f"{name}: readout must be one of {R.READOUTS}, got {readout!r}")
        if not (input_noise >= 0 and math.isfinite(input_noise)):
            raise ValueError(f"{name}: input_noise must be a finite number >= 0, got {input_noise}")
        if readout == "ridge" and phi_weight > 0:
            raise ValueError(f"{name}: phi_weight applies to the (sigma, tau) outputs; with readout=ridge phi is "
                             "an output of its own (set phi_weight=0)")
        self.readout_kind = readout
        self.input_noise = float(input_noise)  # measurement noise per input feature (input unit): augmentation
        if not uncertainty_weight > 0:
            raise ValueError(f"uncertainty_weight must be > 0, got {uncertainty_weight}")
        self.uncertainty = uncertainty
        # weight of the NLL in the loss: the covariance outputs learn from it alone (and Adam's step
        # does not depend on a gradient's scale), while the layers shared with the mean get
        # weight × its gradient (measured per model: uncertainty.py, RESULTS.md)
        self.uncertainty_weight = float(uncertainty_weight)
        self.n_out = U.n_outputs(uncertainty)  # 2 (mean) or 5 (mean + Cholesky factor): uncertainty.py
        if readout == "ridge":  # [σ, τ, φ, T] (+ their log standard deviations): readout.py
            self.n_out = 4 if uncertainty == "none" else 8
        if phi_weight < 0:
            raise ValueError(f"phi_weight must be >= 0, got {phi_weight}")
        self.phi_weight = float(phi_weight)  # optional MSE on φ = σ/(σ+τ) (0: the paper's loss)
        self.data_info = check_data_info(data_info, required, name)
        self.params_norm = Standardiser(self.data_info["params_mean"], self.data_info["params_std"])
        self.clamp_nonnegative = bool(clamp_nonnegative)
        self.val_outputs: dict[str, Tensor] = {}
        self._val_chunks: dict[str, list[Tensor]] = {}
        self._q_sq_err: list[Tensor] = []  # validation squared errors of the four quantities (readout: ridge)
        self._noise_seed = 0  # set at fit start (the training seed)

    def setup_readout(self, n_features: int) -> None:
        """With ``readout: ridge``: the frozen ridge map, the four quantities' normalisation and their
        validation RMS errors (persistent buffers: a checkpoint is self-contained), and a zero last
        layer so that training starts from the ridge answer (readout.py). Subclasses call it last."""
        if self.readout_kind != "ridge":
            return
        self.readout = R.RidgeReadout(n_features)
        p_mean, p_std = self.data_info["params_mean"], self.data_info["params_std"]
        self.register_buffer("q_mean", torch.tensor([*p_mean, 0.5, 1.0]))
        self.register_buffer("q_std", torch.tensor([*p_std, 0.25, 1.0]))
        self.register_buffer("residual_scale", torch.tensor([*p_std, 0.25, 1.0]))  # this model's, per epoch
        self.register_buffer("ridge_scale", torch.tensor([*p_std, 0.25, 1.0]))  # the ridge's: output units
        last = [m for m in self.modules() if isinstance(m, nn.Linear)][-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def on_fit_start(self):
        # the seed of the noise augmentation: the training seed (pl.seed_everything), the same on every rank
        self._noise_seed = int(torch.initial_seed()) % (1 << 31)
        if self.readout_kind == "ridge" and not bool(self.readout.fitted):
            info = R.fit_readout(self, getattr(self.trainer, "datamodule", None))
            self.print(f"ridge readout fitted on the train split: lambda {info['lambda']:.0e} (validation MSE "
                       f"{info['val_mse']:.3g} in normalised units)")

    # -- to be provided by subclasses -------------------------------------------------------------
    def forward_normalised(self, batch: Mapping[str, Tensor]) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    input_key = ""  # the batch entry that carries the measured observable (noise augmentation)

    def readout_features(self, batch: Mapping[str, Tensor]) -> Tensor:  # pragma: no cover
        """(B, F) standardised input features of the linear readout."""
        raise NotImplementedError

    def feature_noise_var(self) -> Tensor:  # pragma: no cover
        """(F,) variance of ``input_noise`` in the standardised units of ``readout_features``."""
        raise NotImplementedError

    def loss_normalised(self, pred: Tensor, target: Tensor) -> Tensor:
        return nn.functional.mse_loss(pred, target)

    def extra_outputs(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Per-sample inputs worth keeping with the validation predictions (e.g. the width)."""
        return {}

    # -- physical units ---------------------------------------------------------------------------
    def denormalise_params(self, z: Tensor) -> Tensor:
        """Normalised network output (B, 2) → [σ, τ] in nm (clamped at 0 if configured)."""
        p = self.params_norm.denormalise(z)
        return p.clamp_min(0.0) if self.clamp_nonnegative else p

    @torch.no_grad()
    def predict_physical(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """{"params_nm": (B, 2) [σ, τ] nm, "phi": (B,), "T_nm": (B,)}; call ``eval()`` first.

        With ``uncertainty: gaussian`` also "cov_nm" (B, 2, 2), "std_nm" (B, 2), "std_phi" and
        "std_T_nm" (B,): the network's stated spread (uncalibrated; evaluate.py calibrates it)."""
        if self.readout_kind == "ridge":
            params, cov = self._reconciled(*self.outputs(batch))
            phi, t = phi_and_T(params)
            out = {"params_nm": params, "phi": phi, "T_nm": t}
            if self.uncertainty != "none":
                out.update(R.spread_from_cov(params, cov))
            return out
        mean, chol = U.split(self.forward_normalised(batch))
        params = self.denormalise_params(mean)
        phi, t = phi_and_T(params)
        out = {"params_nm": params, "phi": phi, "T_nm": t}
        if chol is not None:
            out.update(U.physical_spread(params, chol, self.params_norm.std))
        return out

    def outputs(self, batch: Mapping[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        """``readout: ridge``: the four quantities in physical units (B, 4) and their stated standard
        deviations (B, 4) or None. The network's outputs are in units of the ridge's validation RMS
        error per quantity (``ridge_scale``): it corrects φ in units of 1e-5 and σ in units of nm alike."""
        f = self.forward_normalised(batch)
        q_nm = self.readout(self.readout_features(batch)) * self.q_std + self.q_mean + f[:, :4] * self.ridge_scale
        sd = f[:, 4:].clamp(*U.LOG_SCALE_RANGE).exp() * self.ridge_scale if f.shape[1] == 8 else None
        return q_nm, sd

    def _reconciled(self, q_nm: Tensor, sd: Tensor | None) -> tuple[Tensor, Tensor]:
        """(σ, τ) nm and their covariance from the four quantities, weighted by their stated standard
        deviations, or without them by this model's validation RMS errors."""
        return R.reconcile(q_nm, sd if sd is not None else self.residual_scale.clamp_min(1e-12))

    def predict_step(self, batch, batch_idx: int, dataloader_idx: int = 0):
        return self.predict_physical(batch)

    # -- loops ------------------------------------------------------------------------------------
    def _readout_step(self, batch: Mapping[str, Tensor], split: str) -> tuple[Tensor, Tensor]:
        """``readout: ridge``: the MSE of the four quantities in units of the ridge's errors (+ the
        diagonal Gaussian NLL of the detached residuals), predictions reconciled into (σ, τ)."""
        target_nm = batch["params"]
        q_nm, sd = self.outputs(batch)
        residual = q_nm - R.four_quantities(target_nm)
        loss = (residual / self.ridge_scale).pow(2).mean()
        bs = target_nm.shape[0]
        if sd is not None:
            nll = (sd.log() + 0.5 * (residual.detach() / sd) ** 2).sum(1).mean() - self.ridge_scale.log().sum()
            self.log(f"{split}/nll", nll, on_step=False, on_epoch=True, batch_size=bs)
            loss = loss + self.uncertainty_weight * nll
        self.log(f"{split}/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=bs)
        if split != "val":  # the training loss needs no reconciliation
            return loss, target_nm
        pred_nm, _ = self._reconciled(q_nm.detach(), None if sd is None else sd.detach())
        for key, val in inverse_metrics(pred_nm, target_nm).items():
            self.log(f"{split}/{key}", val, on_step=False, on_epoch=True, batch_size=bs)
        self._q_sq_err.append(residual.detach().pow(2).cpu())
        return loss, pred_nm

    def on_validation_epoch_end(self):
        if self.readout_kind == "ridge" and self._q_sq_err and not self.trainer.sanity_checking:
            # the reconciliation's weights without the gaussian head: this epoch's validation RMS errors
            self.residual_scale.copy_(torch.cat(self._q_sq_err).mean(0).sqrt().to(self.residual_scale))

    def _augment(self, batch: Mapping[str, Tensor]) -> Mapping[str, Tensor]:
        """Training batches with Gaussian measurement noise of ``input_noise`` added to the observable.

        With the samples' file rows in the batch ("index", as SPSLLDataModule gives them) each sample's
        noise is drawn from (training seed, epoch, row): the same numbers whether the sample comes in
        this batch or that one, in one process or in one of several (trainer=ddp)."""
        if self.input_noise <= 0 or not self.input_key:
            return batch
        x = batch[self.input_key]
        if "index" not in batch:
            return {**batch, self.input_key: x + self.input_noise * torch.randn_like(x)}
        base = (self._noise_seed * 1_000_003 + int(self.current_epoch)) * 10_000_019
        noise = torch.stack([torch.randn(x.shape[1:], generator=torch.Generator().manual_seed(base + int(i)))
                             for i in batch["index"].tolist()])
        return {**batch, self.input_key: x + self.input_noise * noise.to(x)}

    def _shared_step(self, batch: Mapping[str, Tensor], split: str) -> tuple[Tensor, Tensor]:
        if self.readout_kind == "ridge":
            return self._readout_step(batch, split)
        target_nm = batch["params"]
        pred, chol = U.split(self.forward_normalised(batch))
        target_z = self.params_norm.normalise(target_nm)
        loss = self.loss_normalised(pred, target_z)
        if chol is not None:
            nll = U.gaussian_nll(pred.detach(), chol, target_z)  # the spread learns the mean's error
            self.log(f"{split}/nll", nll, on_step=False, on_epoch=True, batch_size=target_nm.shape[0])
            loss = loss + self.uncertainty_weight * nll
        if self.phi_weight > 0:
            # φ = σ/(σ+τ) is what the observables determine (docs/physics.md#identifiability); (φ̂ − φ) in units of 0.1
            phi_hat, _ = phi_and_T(self.params_norm.denormalise(pred).clamp_min(1e-3))
            phi_true, _ = phi_and_T(target_nm)
            loss_phi = ((phi_hat - phi_true) / PHI_SCALE).pow(2).mean()
            self.log(f"{split}/loss_phi", loss_phi, on_step=False, on_epoch=True, batch_size=target_nm.shape[0])
            loss = loss + self.phi_weight * loss_phi
        bs = target_nm.shape[0]
        self.log(f"{split}/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=bs)
        pred_nm = self.denormalise_params(pred.detach())
        for key, val in inverse_metrics(pred_nm, target_nm).items():
            self.log(f"{split}/{key}", val, on_step=False, on_epoch=True, batch_size=bs)
        return loss, pred_nm

    def training_step(self, batch, batch_idx):
        loss, _ = self._shared_step(self._augment(batch), "train")
        return loss

    def on_validation_epoch_start(self):
        self.val_outputs = {}
        self._val_chunks = {}
        self._q_sq_err: list[Tensor] = []

    def validation_step(self, batch, batch_idx):
        loss, pred_nm = self._shared_step(batch, "val")
        true_nm = batch["params"]
        phi_p, t_p = phi_and_T(pred_nm)
        phi_t, t_t = phi_and_T(true_nm)
        chunk = {"params_pred_nm": pred_nm, "params_true_nm": true_nm, "phi_pred": phi_p,
                 "phi_true": phi_t, "T_pred_nm": t_p, "T_true_nm": t_t, **self.extra_outputs(batch)}
        for key, val in chunk.items():
            self._val_chunks.setdefault(key, []).append(val.detach().float().cpu())
        self.val_outputs = {k: torch.cat(v) for k, v in self._val_chunks.items()}
        return loss
