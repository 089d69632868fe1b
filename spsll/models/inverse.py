"""inverse_cnn: dispersion (1 × K) → (σ, τ) (SPEC §3.1; paper Methods "CNN for dispersion relation
feature extraction").

The dispersion (THz) is standardised with the train-split scalars ``dispersion_mean``/``_std`` and
fed to :class:`spsll.models.nets.InverseCNN`; the loss is the MSE of the normalised [σ, τ].
Batches: {"dispersion": (B, K) THz, "params": (B, 2) nm}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor

from spsll.models.common import InverseModelBase
from spsll.models.nets import InverseCNN

REQUIRED_KEYS = ("params_mean", "params_std", "k_rad_per_nm", "dispersion_mean", "dispersion_std")


class InverseCNNModel(InverseModelBase):
    """LightningModule of inverse_cnn; the architecture defaults are the paper's."""

    task = "dispersion"

    def __init__(self, data_info: Mapping[str, Any], channels: Sequence[int] = (64, 128, 256, 128),
                 kernel_sizes: Sequence[int] = (5, 5, 3, 3), n_pooled: int = 3,
                 dense: Sequence[int] = (512, 256, 64), dropout: float = 0.3, conv_dropout: float = 0.0,
                 lr: float = 1e-3, weight_decay: float = 0.0, clamp_nonnegative: bool = True,
                 phi_weight: float = 0.0):
        super().__init__(data_info, REQUIRED_KEYS, "inverse_cnn", lr, weight_decay, clamp_nonnegative,
                         phi_weight)
        self.save_hyperparameters(logger=False)  # the run logs the flattened config itself
        self.disp_mean = float(self.data_info["dispersion_mean"])
        self.disp_std = float(self.data_info["dispersion_std"])
        self.net = InverseCNN(in_length=len(self.data_info["k_rad_per_nm"]), channels=channels,
                              kernel_sizes=kernel_sizes, n_pooled=n_pooled, dense=dense, dropout=dropout,
                              conv_dropout=conv_dropout)

    def forward(self, dispersion_thz: Tensor) -> Tensor:
        """(B, K) THz → (B, 2) normalised [σ, τ]."""
        return self.net((dispersion_thz - self.disp_mean) / self.disp_std)

    def forward_normalised(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self(batch["dispersion"])
