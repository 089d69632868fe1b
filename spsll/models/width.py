"""width_regressor: domain-wall m_z profile + width → (σ, τ) (docs/physics.md#width-regressor; paper "Prediction of
domain-wall widths", Methods "Loss function to predict σ, τ from domain walls").

The profile (B, N) goes in standardised per position with the train split's statistics
(``input_norm: per_feature``, the configured default) or as it is (``global``: m_z ∈ [−1, 1], the
original set-up and the default of older checkpoints); the width is standardised with the train
split's ``width_mean``/``width_std``. Loss MSE(σ̂) + tau_weight·MSE(τ̂) on the normalised targets
(paper: tau_weight = 5); Adam + ReduceLROnPlateau on ``val/loss`` by default. Batches:
{"mz": (B, N), "width_nm": (B,), "params": (B, 2) nm}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from spsll.models import optimization
from spsll.models.common import InverseModelBase, input_standardiser
from spsll.models.nets import WidthRegressorNet

REQUIRED_KEYS = ("params_mean", "params_std", "mz_length", "width_mean", "width_std")
PAPER_SCHEDULER = optimization.plateau(factor=0.5, patience=5)  # on val/loss (copied, never changed)


class WidthRegressorModel(InverseModelBase):
    """LightningModule of width_regressor (dual-branch CNN, paper Fig. 4)."""

    task = "domain_wall"

    def __init__(self, data_info: Mapping[str, Any], channels: Sequence[int] = (16, 32, 64, 64),
                 kernel_sizes: Sequence[int] = (5, 5, 5, 5), pool_size: int = 8,
                 width_hidden: Sequence[int] = (16, 16), fusion_hidden: Sequence[int] = (128, 64),
                 dropout: float = 0.1, tau_weight: float = 5.0, clamp_nonnegative: bool = True,
                 phi_weight: float = 0.0, input_norm: str = "global", uncertainty: str = "none",
                 uncertainty_weight: float = 1.0, readout: str = "none", input_noise_mz: float = 0.0,
                 optimizer: Mapping[str, Any] | None = None, scheduler: Mapping[str, Any] | None = PAPER_SCHEDULER):
        optimizer, scheduler = optimization.plain_specs(optimizer, scheduler)  # saved with the hyper-parameters
        super().__init__(data_info, REQUIRED_KEYS, "width_regressor", optimizer, scheduler, clamp_nonnegative,
                         phi_weight, uncertainty, uncertainty_weight, readout, input_noise_mz)
        self.save_hyperparameters(logger=False)  # the run logs the flattened config itself
        self.width_mean = float(self.data_info["width_mean"])
        self.width_std = float(self.data_info["width_std"])
        self.tau_weight = float(tau_weight)
        self.input_norm = input_standardiser(self.data_info, input_norm, ("mz_mean_x", "mz_std_x"), (0.0, 1.0),
                                             "width_regressor")
        self.net = WidthRegressorNet(in_length=int(self.data_info["mz_length"]), channels=channels,
                                     kernel_sizes=kernel_sizes, pool_size=pool_size, width_hidden=width_hidden,
                                     fusion_hidden=fusion_hidden, dropout=dropout, n_out=self.n_out)
        self.setup_readout(int(self.data_info["mz_length"]) + 1)

    input_key = "mz"  # the width is a derived input: noise on m_z is not carried into it here

    def readout_features(self, batch: Mapping[str, Tensor]) -> Tensor:
        width_z = (batch["width_nm"] - self.width_mean) / self.width_std
        return torch.cat([self.input_norm.normalise(batch["mz"]), width_z[:, None]], 1)

    def feature_noise_var(self) -> Tensor:
        n = int(self.data_info["mz_length"])
        var = (self.input_noise / self.input_norm.std).pow(2).expand(n)
        return torch.cat([var, var.new_zeros(1)])

    def forward(self, mz: Tensor, width_nm: Tensor) -> Tensor:
        """mz (B, N), width (B,) nm → (B, 2) normalised [σ, τ] (B, 5 with the covariance factor)."""
        return self.net(self.input_norm.normalise(mz), (width_nm - self.width_mean) / self.width_std)

    def forward_normalised(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self(batch["mz"], batch["width_nm"])

    def loss_normalised(self, pred: Tensor, target: Tensor) -> Tensor:
        """MSE(σ̂) + tau_weight·MSE(τ̂) (paper)."""
        mse = (pred - target).pow(2).mean(0)
        return mse[0] + self.tau_weight * mse[1]

    def extra_outputs(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return {"width_nm": batch["width_nm"]}
