"""inverse_cnn: dispersion (1 × K) → (σ, τ) (docs/physics.md#inverse-cnn; paper Methods "CNN for dispersion relation
feature extraction").

The dispersion (THz) is standardised with the train split's statistics, per k (``input_norm:
per_feature``, the configured default) or with one scalar mean/std (``global``, the original
set-up and the default of checkpoints made before the option existed), and fed to
:class:`spsll.models.nets.InverseCNN`; the loss is the MSE of the normalised [σ, τ].
Batches: {"dispersion": (B, K) THz, "params": (B, 2) nm}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor

from spsll.models import optimization
from spsll.models.common import InverseModelBase, input_standardiser
from spsll.models.nets import InverseCNN

REQUIRED_KEYS = ("params_mean", "params_std", "k_rad_per_nm", "dispersion_mean", "dispersion_std")


class InverseCNNModel(InverseModelBase):
    """LightningModule of inverse_cnn; the defaults are the paper's (Adam, a constant learning rate).

    The configured default decays the rate to 0 over the training (``scheduler: cosine``), so that the
    last epochs settle instead of jittering around the minimum at lr = 1e-3 (RESULTS.md).
    """

    task = "dispersion"

    def __init__(self, data_info: Mapping[str, Any], channels: Sequence[int] = (64, 128, 256, 128),
                 kernel_sizes: Sequence[int] = (5, 5, 3, 3), n_pooled: int = 3,
                 dense: Sequence[int] = (512, 256, 64), dropout: float = 0.3, conv_dropout: float = 0.0,
                 clamp_nonnegative: bool = True, phi_weight: float = 0.0, input_norm: str = "global",
                 uncertainty: str = "none", uncertainty_weight: float = 1.0, readout: str = "none",
                 input_noise_thz: float = 0.0,
                 optimizer: Mapping[str, Any] | None = None, scheduler: Mapping[str, Any] | None = None):
        optimizer, scheduler = optimization.plain_specs(optimizer, scheduler)  # saved with the hyper-parameters
        super().__init__(data_info, REQUIRED_KEYS, "inverse_cnn", optimizer, scheduler, clamp_nonnegative,
                         phi_weight, uncertainty, uncertainty_weight, readout, input_noise_thz)
        self.save_hyperparameters(logger=False)  # the run logs the flattened config itself
        self.input_norm = input_standardiser(
            self.data_info, input_norm, ("dispersion_mean_k", "dispersion_std_k"),
            (self.data_info["dispersion_mean"], self.data_info["dispersion_std"]), "inverse_cnn")
        self.net = InverseCNN(in_length=len(self.data_info["k_rad_per_nm"]), channels=channels,
                              kernel_sizes=kernel_sizes, n_pooled=n_pooled, dense=dense, dropout=dropout,
                              conv_dropout=conv_dropout, n_out=self.n_out)
        self.setup_readout(len(self.data_info["k_rad_per_nm"]))

    input_key = "dispersion"

    def readout_features(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self.input_norm.normalise(batch["dispersion"])

    def feature_noise_var(self) -> Tensor:
        return (self.input_noise / self.input_norm.std).pow(2).expand(len(self.data_info["k_rad_per_nm"]))

    def forward(self, dispersion_thz: Tensor) -> Tensor:
        """(B, K) THz → (B, 2) normalised [σ, τ] (B, 5 with the covariance factor: uncertainty.py)."""
        return self.net(self.input_norm.normalise(dispersion_thz))

    def forward_normalised(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self(batch["dispersion"])
