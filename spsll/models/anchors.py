"""The coercivity models: a microstructure → the anchor points of its demagnetisation curve and H_c
(docs/coercivity.md#models).

Targets (``data_info["target_names"]``): H at M/Ms = 0.99, 0.9, 0.5, 0, −0.9 and H_c in units of H_K, M/Ms at
H = 0.1, 0.2 H_K in units of Ms. ``targets: all`` predicts all eight from one shared trunk with one small head
each (the study's multi-target network); ``targets: [<name>]`` is a single-target network (the comparison the
study made). Each head is Linear → ReLU → Linear to one number:

    y_j = head_j(trunk(x)),   loss = mean_{converged b, j} ((y_bj − (t_bj − m_j)/s_j)²)

with m_j, s_j the target's mean and std over the converged train samples (s_j floored at 0.01 H_K or Ms);
predictions and metrics are in physical units (``val/mae_<target>``, and ``val/mae_standardised``, the mean
over targets of MAE/s_j).

**Unconverged samples are excluded**: a sample whose sweep did not reach the torque tolerance at some accepted
field (``converged`` false, docs/hysteresis.md#sweep) enters neither the loss nor any metric; the validation
metrics are computed once per epoch over the converged samples of the whole split.

* :class:`AnchorRegressorModel` (``anchor_regressor``): the frozen encoder of a trained ``mask_vae``
  (:mod:`spsll.models.mask_vae`; its weights are copied into this model, so its checkpoint stands alone) →
  latent mean μ → trunk → heads;
* :class:`AnchorCNNModel` (``anchor_cnn``): the same trunk and heads on a 1D CNN straight from the mask.

Batches: {"mask": (B, N), "anchors": (B, 7), "coercivity_HK": (B,), "converged": (B,) bool}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from spsll.models import optimization
from spsll.models.common import ModelBase, Standardiser, check_data_info
from spsll.models.mask_vae import MODEL_KEY, ConvBody, check_architecture, frozen_encoder
from spsll.models.nets import dense_stack

REQUIRED_KEYS = ("n_cells", "target_names", "targets_mean", "targets_std")
#: floor of a target's standardisation scale (H_K or Ms): a target that hardly varies over the train split
#: (M at 0.1 H_K of a small file) is not blown up into large standardised errors
TARGET_STD_FLOOR = 0.01


def target_units(name: str) -> str:
    """H_K for fields (H_at_*, coercivity_HK), Ms for magnetisations (M_at_*)."""
    return "Ms" if name.startswith("M_") else "H_K"


def target_matrix(batch: Mapping[str, Tensor]) -> Tensor:
    """(B, 8) the targets of a batch in the order of ``data_info["target_names"]``: anchors, then H_c."""
    return torch.cat([batch["anchors"].float(), batch["coercivity_HK"].float().reshape(-1, 1)], 1)


def target_statistics(data_info: Mapping[str, Any], idx: Sequence[int]) -> tuple[Tensor, Tensor]:
    """Train-split mean and std (floored at ``TARGET_STD_FLOOR``) of the targets ``idx``, float32."""
    mean = torch.tensor(data_info["targets_mean"], dtype=torch.float32)[list(idx)]
    std = torch.tensor(data_info["targets_std"], dtype=torch.float32)[list(idx)].clamp_min(TARGET_STD_FLOOR)
    return mean, std


def resolve_targets(targets: str | Sequence[str], names: Sequence[str], model: str) -> list[str]:
    """``all`` or a list of target names → the names, checked (a ValueError names ``targets``)."""
    if isinstance(targets, str):
        targets = list(names) if targets == "all" else [targets]
    chosen = list(targets) if isinstance(targets, Sequence) else None
    if not chosen or any(t not in names for t in chosen) or len(set(chosen)) != len(chosen):
        raise ValueError(f"{model}: targets must be 'all' or a list of distinct names among {list(names)}, "
                         f"got {targets!r}")
    return chosen


def _check_layers(trunk: Sequence[int], head_hidden: int, dropout: float, model: str) -> list[int]:
    trunk = [t for t in trunk]
    if not trunk or any(isinstance(t, bool) or not isinstance(t, int) or t < 1 for t in trunk):
        raise ValueError(f"{model}: trunk must be a non-empty list of integers >= 1, got {trunk!r}")
    if isinstance(head_hidden, bool) or not isinstance(head_hidden, int) or head_hidden < 1:
        raise ValueError(f"{model}: head_hidden must be an integer >= 1, got {head_hidden!r}")
    if not 0 <= float(dropout) < 1:
        raise ValueError(f"{model}: dropout must be in [0, 1), got {dropout!r}")
    return trunk


class AnchorModelBase(ModelBase):
    """Trunk, heads, targets, the masked loss and the metrics; subclasses give ``features(batch)``."""

    task = "hysteresis"
    direction = "forward"  # microstructure → property: registered as spsll_forward_hysteresis
    name = ""

    def __init__(self, data_info: Mapping[str, Any], targets, trunk: Sequence[int], head_hidden: int,
                 dropout: float, optimizer: Mapping[str, Any] | None, scheduler: Mapping[str, Any] | None):
        optimizer, scheduler = optimization.plain_specs(optimizer, scheduler)
        super().__init__(optimizer, scheduler, self.name)
        self.data_info = check_data_info(data_info, REQUIRED_KEYS, self.name)
        names = list(self.data_info["target_names"])
        self.target_names = resolve_targets(targets, names, self.name)
        idx = [names.index(t) for t in self.target_names]
        self.register_buffer("target_index", torch.tensor(idx), persistent=False)
        self.target_norm = Standardiser(*target_statistics(self.data_info, idx))
        self._trunk_sizes = _check_layers(trunk, head_hidden, dropout, self.name)
        self._head_hidden, self._dropout = int(head_hidden), float(dropout)
        self.val_outputs: dict[str, Tensor] = {}
        self._val_chunks: dict[str, list[Tensor]] = {}

    def build_heads(self, n_in: int) -> None:
        """The shared trunk (Linear → ReLU [→ Dropout] per size) and one head per target."""
        t = self._trunk_sizes
        self.trunk = nn.Sequential(dense_stack(n_in, t[:-1], t[-1], self._dropout), nn.ReLU())
        self.heads = nn.ModuleList(dense_stack(t[-1], [self._head_hidden], 1) for _ in self.target_names)

    @property
    def target_std(self) -> Tensor:
        """(T,) the standardisation scales of the targets (H_K or Ms)."""
        return self.target_norm.std

    def features(self, batch: Mapping[str, Tensor]) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward_normalised(self, batch: Mapping[str, Tensor]) -> Tensor:
        """(B, T) standardised predictions of the chosen targets."""
        h = self.trunk(self.features(batch))
        return torch.cat([head(h) for head in self.heads], 1)

    def forward(self, mask: Tensor) -> Tensor:
        """(B, N) masks → (B, T) targets in physical units."""
        return self.target_norm.denormalise(self.forward_normalised({"mask": mask}))

    def targets_of(self, batch: Mapping[str, Tensor]) -> Tensor:
        return target_matrix(batch)[:, self.target_index]

    @torch.no_grad()
    def predict_physical(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """{"targets": (B, T) in H_K / Ms, columns ``self.target_names``}; call ``eval()`` first."""
        return {"targets": self(batch["mask"])}

    def configure_optimizers(self):  # a frozen encoder is no parameter of the fit
        return optimization.configure([p for p in self.parameters() if p.requires_grad], self.optimizer_spec,
                                      self.scheduler_spec, self.monitor)

    # -- loops ------------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        ok = batch["converged"].bool()
        pred = self.forward_normalised(batch)
        if not bool(ok.any()):  # no target in this batch: a zero loss that keeps the graph
            return pred.sum() * 0.0
        loss = (pred[ok] - self.target_norm.normalise(self.targets_of(batch)[ok])).pow(2).mean()
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=int(ok.sum()))
        return loss

    def on_validation_epoch_start(self):
        self._val_chunks = {}

    def validation_step(self, batch, batch_idx):
        chunk = {"pred": self.target_norm.denormalise(self.forward_normalised(batch)), "true": self.targets_of(batch),
                 "converged": batch["converged"].bool()}
        for key, val in chunk.items():
            self._val_chunks.setdefault(key, []).append(val.detach().cpu())

    def on_validation_epoch_end(self):
        out = {k: torch.cat(v) for k, v in self._val_chunks.items()}
        if not out:
            return
        ok = out["converged"]
        if not bool(ok.any()):
            raise ValueError(f"{self.name}: the validation split holds no converged sample; nothing to score")
        self.val_outputs = {"targets_pred": out["pred"][ok], "targets_true": out["true"][ok]}
        for key, value in self.metrics(out["pred"][ok], out["true"][ok]).items():
            self.log(f"val/{key}", value, prog_bar=key == "loss")

    def metrics(self, pred: Tensor, true: Tensor) -> dict[str, Tensor]:
        """loss (MSE of the standardised targets), mae_<target> (physical), mae_standardised."""
        std = self.target_norm.std.cpu()
        err = pred.cpu() - true.cpu()
        mae = err.abs().mean(0)
        out = {"loss": (err / std).pow(2).mean(), "mae_standardised": (mae / std).mean()}
        out.update({f"mae_{name}": mae[j] for j, name in enumerate(self.target_names)})
        return out

    # -- serving (spsll/tracking/registry.py) -----------------------------------------------------
    def serving_batch(self, x: Tensor) -> dict[str, Tensor]:
        return {"mask": x}

    def serving_output(self, out: Mapping[str, Tensor]) -> Tensor:
        return out["targets"].float()

    def example_input(self) -> Tensor:
        return (torch.arange(int(self.data_info["n_cells"])) % 7 == 0).float()[None]

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[MODEL_KEY] = self.name


class AnchorRegressorModel(AnchorModelBase):
    """anchor_regressor: frozen VAE encoder → latent mean → trunk → heads (module docstring).

    ``encoder``: the mask_vae checkpoint the encoder is read from (train.py also takes an MLflow run id).
    ``encoder_config`` is filled in from it and saved with the hyper-parameters: a checkpoint of this model
    rebuilds the encoder from it and its own weights, without the VAE file.
    """

    name = "anchor_regressor"

    def __init__(self, data_info: Mapping[str, Any], encoder: str | None = None,
                 encoder_config: Mapping[str, Any] | None = None, targets: str | Sequence[str] = "all",
                 trunk: Sequence[int] = (64, 64), head_hidden: int = 32, dropout: float = 0.0,
                 optimizer: Mapping[str, Any] | None = None, scheduler: Mapping[str, Any] | None = None):
        super().__init__(data_info, targets, trunk, head_hidden, dropout, optimizer, scheduler)
        self.save_hyperparameters(logger=False)
        self.encoder = frozen_encoder(encoder, encoder_config, int(self.data_info["n_cells"]), self.name)
        self.hparams["encoder_config"] = dict(self.encoder.config)  # saved: the checkpoint rebuilds it
        self.build_heads(int(self.encoder.config["latent_dim"]))

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()  # frozen: always in inference mode
        return self

    def features(self, batch: Mapping[str, Tensor]) -> Tensor:
        with torch.no_grad():
            return self.encoder(batch["mask"].float())[0]


class AnchorCNNModel(AnchorModelBase):
    """anchor_cnn: stride-2 convolutions over the mask (as the VAE's encoder, trained here) → trunk → heads."""

    name = "anchor_cnn"

    def __init__(self, data_info: Mapping[str, Any], channels: Sequence[int] = (16, 32, 64), kernel_size: int = 5,
                 targets: str | Sequence[str] = "all", trunk: Sequence[int] = (64, 64), head_hidden: int = 32,
                 dropout: float = 0.0, optimizer: Mapping[str, Any] | None = None,
                 scheduler: Mapping[str, Any] | None = None):
        super().__init__(data_info, targets, trunk, head_hidden, dropout, optimizer, scheduler)
        self.save_hyperparameters(logger=False)
        channels = [c for c in channels]
        check_architecture(int(self.data_info["n_cells"]), channels, kernel_size, 1, self.name)
        self.body = ConvBody(int(self.data_info["n_cells"]), channels, kernel_size)
        self.build_heads(self.body.out_features)

    def features(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self.body(batch["mask"].float())
