"""skyrmion_inverse: a relaxed skyrmion's m_z image, its radius and the field → (σ, τ) with a Gaussian
uncertainty (docs/skyrmion-models.md#inverse).

**Survivors only.** A collapsed texture relaxes to the uniform film: its image is m_z = 1 everywhere
for every (σ, τ), so it carries no information about them (only the fact of the collapse, which is the
forward model's business). The model trains and is scored on the survivors; a batch holding a
non-survivor is refused (it would mean the wrong DataModule).

The crop (1, C, C) of m_z (background +z, core −z, as stored) goes through ``len(channels)`` blocks
Conv2d("same") → BatchNorm → ReLU → MaxPool /2, then an adaptive average pool to ``pooled`` × ``pooled``
positions and a flatten; the scalars [R (nm), B (T)], standardised with the train survivors' mean and
std, go through Linear → ReLU (``scalar_hidden``); both are concatenated and a dense stack (``dense``,
ReLU, ``dropout``) gives the outputs. The loss, the NLL of the detached residual, the clamp at 0 nm and the
metrics (MAE of σ, τ, φ, T) are the inverse models' (:class:`InverseModelBase`):

* ``readout: ridge`` (the configured default): the network predicts the four quantities [σ, τ, φ, T] as a
  frozen ridge map on the hand features of :mod:`spsll.models.skyrmion_features` (the radial m_z profile
  at ``readout_bins`` radii and [R, B, log R, B², R·B]; fitted on the train split before the first
  epoch, λ on the validation split) plus the network's correction, which starts at zero
  (:mod:`spsll.models.readout`); with ``uncertainty: gaussian`` also their standard deviations, and
  (σ, τ) is the weighted least-squares point of the four. Trained on (σ, τ) from scratch instead
  (``readout: none``), the network hardly learnt φ (docs/skyrmion-models.md#inverse): the normalised σ,
  τ it regresses hardly depend on the image, and φ = σ/(σ+τ) of two poor estimates is poor.
* ``readout: none``: the normalised [σ, τ] and, with ``uncertainty: gaussian``, the Cholesky factor of
  their covariance (:mod:`spsll.models.uncertainty`).

``input_noise_mz`` ν: training images get Gaussian noise N(0, ν²) per cell, clipped to [−1, 1] (the
range of m_z; evaluate.py's ``noise_mz`` adds its noise the same way); the radius input stays the
stored one. Batches: {"image": (B, 1, C, C), "radius_nm": (B,), "B_T": (B,), "params": (B, 2) nm,
"survived": (B,) bool}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from spsll.models import optimization
from spsll.models.common import InverseModelBase, Standardiser
from spsll.models.nets import dense_stack
from spsll.models.skyrmion_features import N_SCALARS, check_bins, feature_noise_variance, skyrmion_features
from spsll.models.skyrmion_forward import MODEL_KEY, TASK, check_skyrmion_info

NAME = "skyrmion_inverse"
REQUIRED_KEYS = ("params_mean", "params_std", "crop_cells", "radius_mean_nm", "radius_std_nm", "B_mean_T", "B_std_T")


def survivors_only(batch: Mapping[str, Tensor], model: str) -> None:
    """Refuse a batch that holds a collapsed (or unfinished) texture: no information on (σ, τ)."""
    if "survived" in batch and not bool(batch["survived"].bool().all()):
        raise ValueError(f"{model} reads surviving skyrmions only, but the batch holds "
                         f"{int((~batch['survived'].bool()).sum())} non-survivor(s): a collapsed texture is a "
                         "uniform film and carries no information on (sigma, tau); read the file with "
                         "SkyrmionDataModule(..., rows='survivors')")


class ImageBody(nn.Module):
    """(B, 1, C, C) → (B, channels[-1] · pooled²): conv blocks with max-pooling, then an adaptive average pool."""

    def __init__(self, crop_cells: int, channels: Sequence[int], kernel_size: int, pooled: int):
        super().__init__()
        channels = [int(c) for c in channels]
        if not channels or any(c < 1 for c in channels):
            raise ValueError(f"{NAME}: channels must be a non-empty list of integers >= 1, got {channels!r}")
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"{NAME}: kernel_size must be an odd integer >= 1, got {kernel_size!r}")
        if isinstance(pooled, bool) or not isinstance(pooled, int) or pooled < 1:
            raise ValueError(f"{NAME}: pooled must be an integer >= 1, got {pooled!r}")
        if crop_cells < 2 ** len(channels):
            raise ValueError(f"{NAME}: the crop of {crop_cells} cells is too small for {len(channels)} pooling blocks "
                             f"(at least 2^{len(channels)} = {2 ** len(channels)} cells); use fewer channels")
        layers: list[nn.Module] = []
        c_in = 1
        for c in channels:
            layers += [nn.Conv2d(c_in, c, kernel_size, padding="same", bias=False), nn.BatchNorm2d(c),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c_in = c
        layers += [nn.AdaptiveAvgPool2d(pooled), nn.Flatten()]
        self.net = nn.Sequential(*layers)
        self.out_features = channels[-1] * pooled * pooled

    def forward(self, image: Tensor) -> Tensor:
        return self.net(image)


class SkyrmionInverseModel(InverseModelBase):
    """The image CNN fused with [R, B] → (σ, τ) (± covariance); see the module docstring."""

    task = TASK
    direction = "inverse"  # registered as spsll_inverse_skyrmion
    rows = "survivors"  # spsll/training/skyrmion_tasks.py reads the survivors of each split
    name = NAME
    input_key = "image"  # the noise augmentation's input

    def __init__(self, data_info: Mapping[str, Any], channels: Sequence[int] = (16, 32, 64), kernel_size: int = 3,
                 pooled: int = 4, scalar_hidden: int = 16, dense: Sequence[int] = (128, 64), dropout: float = 0.1,
                 clamp_nonnegative: bool = True, phi_weight: float = 0.0, uncertainty: str = "gaussian",
                 uncertainty_weight: float = 0.01, readout: str = "none", readout_bins: int = 24,
                 input_noise_mz: float = 0.0, optimizer: Mapping[str, Any] | None = None,
                 scheduler: Mapping[str, Any] | None = None):
        optimizer, scheduler = optimization.plain_specs(optimizer, scheduler)
        super().__init__(data_info, REQUIRED_KEYS, NAME, optimizer, scheduler, clamp_nonnegative, phi_weight,
                         uncertainty, uncertainty_weight, readout, input_noise_mz)
        self.save_hyperparameters(logger=False)
        self.data_info = check_skyrmion_info(self.data_info, REQUIRED_KEYS, NAME)
        if isinstance(scalar_hidden, bool) or not isinstance(scalar_hidden, int) or scalar_hidden < 1:
            raise ValueError(f"{NAME}: scalar_hidden must be an integer >= 1, got {scalar_hidden!r}")
        if not 0 <= float(dropout) < 1:
            raise ValueError(f"{NAME}: dropout must be in [0, 1), got {dropout!r}")
        info = self.data_info
        self.scalar_norm = Standardiser([info["radius_mean_nm"], info["B_mean_T"]],
                                        [max(float(info["radius_std_nm"]), 1e-3), max(float(info["B_std_T"]), 1e-6)])
        self.body = ImageBody(int(info["crop_cells"]), channels, kernel_size, pooled)
        self.scalars = nn.Sequential(nn.Linear(2, scalar_hidden), nn.ReLU())
        self.head = dense_stack(self.body.out_features + scalar_hidden, [int(d) for d in dense], self.n_out,
                                float(dropout))
        self.readout_bins = check_bins(readout_bins, int(info["crop_cells"]), f"{NAME}: readout_bins")
        self.setup_readout(self.readout_bins + N_SCALARS)  # last: it zeroes the head's last layer (readout: ridge)

    def forward(self, image: Tensor, radius_nm: Tensor, field_T: Tensor) -> Tensor:
        """(B, 1, C, C), (B,) nm, (B,) T → (B, 2) normalised [σ, τ] (B, 5 with the covariance factor)."""
        if image.ndim == 3:
            image = image[:, None]
        c = int(self.data_info["crop_cells"])
        if tuple(image.shape[-2:]) != (c, c):
            raise ValueError(f"{NAME}: the image must be a {c} x {c} crop (the training data's), got "
                             f"{tuple(image.shape[-2:])}")
        scalars = self.scalar_norm.normalise(torch.stack([radius_nm.float().reshape(-1), field_T.float().reshape(-1)],
                                                         1))
        return self.head(torch.cat([self.body(image.float()), self.scalars(scalars)], 1))

    def forward_normalised(self, batch: Mapping[str, Tensor]) -> Tensor:
        survivors_only(batch, NAME)
        return self(batch["image"], batch["radius_nm"], batch["B_T"])

    def _augment(self, batch: Mapping[str, Tensor]) -> Mapping[str, Tensor]:
        out = super()._augment(batch)
        if out is batch:
            return batch
        return {**out, "image": out["image"].clamp(-1.0, 1.0)}  # m_z of a noisy measurement stays in [−1, 1]

    def readout_features(self, batch: Mapping[str, Tensor]) -> Tensor:
        """(B, readout_bins + 5) the hand features of the ridge readout (:mod:`spsll.models.skyrmion_features`)."""
        return skyrmion_features(batch, self.readout_bins).float()

    def feature_noise_var(self) -> Tensor:
        return feature_noise_variance(int(self.data_info["crop_cells"]), self.readout_bins, self.input_noise).float()

    def extra_outputs(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return {"radius_nm": batch["radius_nm"], "B_T": batch["B_T"]}

    # -- serving (spsll/tracking/registry.py) -----------------------------------------------------
    def serving_batch(self, x: Tensor) -> dict[str, Tensor]:
        """(B, C·C + 2): the crop flattened in (x, y) order, then R (nm) and B (T)."""
        c = int(self.data_info["crop_cells"])
        return {"image": x[:, : c * c].reshape(-1, 1, c, c), "radius_nm": x[:, c * c], "B_T": x[:, c * c + 1]}

    def example_input(self) -> Tensor:
        c, r = int(self.data_info["crop_cells"]), float(self.data_info["radius_mean_nm"])
        cell = float(self.data_info.get("cell_nm", 1.0))
        xs = (torch.arange(c) + 0.5 - c / 2) * cell
        image = torch.tanh((torch.hypot(xs[:, None], xs[None, :]) - r) / cell)
        return torch.cat([image.reshape(-1), torch.tensor([r, float(self.data_info["B_mean_T"])])])[None].float()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[MODEL_KEY] = NAME
