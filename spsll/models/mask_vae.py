"""mask_vae: a 1D convolutional variational auto-encoder of the defect masks (docs/coercivity.md#models).

A mask d ∈ {0, 1}^N (1: defect) is encoded into q(z|d) = N(μ(d), diag σ²(d)) of ``latent_dim`` numbers and
decoded into independent Bernoulli cells p(d_i = 1 | z) = sigmoid(ℓ_i(z)). Training minimises the negative
β-ELBO per cell,

    loss = [Σ_i BCE(ℓ_i(z), d_i) + β KL(q(z|d) ‖ N(0, 1))] / N,    z = μ + σ ε,

(β = 1: the ELBO; ``beta`` configurable). Validation is deterministic: the reconstruction is decoded from
z = μ, and ``val/loss`` is that BCE plus β KL per cell. Logged (``val/`` and ``train/``): ``bce_per_cell``,
``kl`` (nats per mask), ``cell_error_rate`` (cells wrong after thresholding the probabilities at 0.5),
``mae_defect_count`` (defect runs of the thresholded reconstruction against the mask's, as the hand feature
counts them on the open chain) and ``mae_defect_fraction``.

The encoder (:class:`MaskEncoder`) is a stack of stride-2 convolutions over the mask written as ±1
(zero padding is then "no cell": the free chain ends are visible), flattened into μ and log σ²; the decoder
mirrors it with transposed convolutions. N must be divisible by 2^(number of conv layers). The mean code μ
is what the coercivity models read (:func:`load_mask_vae`, :func:`encode_masks`). Batches: {"mask": (B, N)}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as Fn

from spsll.models import optimization
from spsll.models.common import ModelBase, check_data_info

NAME = "mask_vae"
MODEL_KEY = "spsll_model"  # the key of a Lightning checkpoint that names the mask model that wrote it
LOGVAR_RANGE = (-12.0, 8.0)  # clamp of log σ²: exp stays finite in float32


class MaskEncoderError(ValueError):
    """A checkpoint that cannot serve as the mask encoder (missing, another model, another chain)."""


def check_architecture(n_cells: int, channels: Sequence[int], kernel_size: int, latent_dim: int, model: str) -> None:
    """Refuse shapes the conv stack cannot take, naming the hyper-parameter."""
    if not channels or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels):
        raise ValueError(f"{model}: channels must be a non-empty list of integers >= 1, got {channels!r}")
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"{model}: kernel_size must be an odd integer >= 1, got {kernel_size!r}")
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"{model}: latent_dim must be an integer >= 1, got {latent_dim!r}")
    step = 2 ** len(channels)
    if n_cells % step or n_cells < step:
        raise ValueError(f"{model}: the masks' N = {n_cells} cells must be a multiple of 2^{len(channels)} = {step} "
                         f"(one halving per entry of channels); use fewer channels entries")


class ConvBody(nn.Module):
    """(B, N) 0/1 mask → (B, C_last · N / 2^L) features: L stride-2 convolutions with SiLU, input as ±1."""

    def __init__(self, n_cells: int, channels: Sequence[int], kernel_size: int):
        super().__init__()
        layers, c_in = [], 1
        for c in channels:
            layers += [nn.Conv1d(c_in, int(c), kernel_size, stride=2, padding=kernel_size // 2), nn.SiLU()]
            c_in = int(c)
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.out_features = int(channels[-1]) * (n_cells // 2 ** len(channels))

    def forward(self, mask: Tensor) -> Tensor:
        return self.net(2.0 * mask[:, None, :].float() - 1.0)


class MaskEncoder(nn.Module):
    """q(z|d): (B, N) → μ, log σ² (B, latent_dim)."""

    def __init__(self, n_cells: int, channels: Sequence[int], kernel_size: int, latent_dim: int):
        super().__init__()
        self.config = {"n_cells": int(n_cells), "channels": [int(c) for c in channels],
                       "kernel_size": int(kernel_size), "latent_dim": int(latent_dim)}
        self.body = ConvBody(n_cells, channels, kernel_size)
        self.head = nn.Linear(self.body.out_features, 2 * latent_dim)

    def forward(self, mask: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.head(self.body(mask)).chunk(2, dim=1)
        return mu, logvar.clamp(*LOGVAR_RANGE)


class MaskDecoder(nn.Module):
    """p(d|z): (B, latent_dim) → (B, N) logits, transposed convolutions mirroring the encoder."""

    def __init__(self, n_cells: int, channels: Sequence[int], latent_dim: int):
        super().__init__()
        rev = [int(c) for c in reversed(channels)]
        self.shape = (rev[0], n_cells // 2 ** len(channels))
        layers: list[nn.Module] = []
        for c_in, c_out in zip(rev, [*rev[1:], 1], strict=True):
            layers += [nn.ConvTranspose1d(c_in, c_out, 4, stride=2, padding=1), nn.SiLU()]
        self.fc = nn.Sequential(nn.Linear(latent_dim, self.shape[0] * self.shape[1]), nn.SiLU())
        self.net = nn.Sequential(*layers[:-1])  # no activation on the logits

    def forward(self, z: Tensor) -> Tensor:
        return self.net(self.fc(z).view(-1, *self.shape))[:, 0, :]


def defect_runs(mask: Tensor) -> Tensor:
    """(B, N) 0/1 → (B,) number of runs of 1 on the open chain (the hand feature ``defect_count``)."""
    d = mask > 0.5
    return (d[:, 0].long() + (~d[:, :-1] & d[:, 1:]).sum(1)).float()


def reconstruction_metrics(logits: Tensor, mask: Tensor) -> dict[str, Tensor]:
    """Per-sample (B,) BCE per cell, cell error rate, |Δ defect count| and |Δ defect fraction| of logits."""
    decoded = (logits > 0).float()  # sigmoid(ℓ) > 0.5
    return {"bce_per_cell": Fn.binary_cross_entropy_with_logits(logits, mask, reduction="none").mean(1),
            "cell_error_rate": (decoded != mask).float().mean(1),
            "mae_defect_count": (defect_runs(decoded) - defect_runs(mask)).abs(),
            "mae_defect_fraction": (decoded.mean(1) - mask.mean(1)).abs()}


class MaskVAEModel(ModelBase):
    """LightningModule of mask_vae (module docstring)."""

    task = "microstructures"
    direction = "encoder"  # registered as spsll_encoder_microstructures: mask → latent mean

    def __init__(self, data_info: Mapping[str, Any], latent_dim: int = 8, channels: Sequence[int] = (16, 32, 64),
                 kernel_size: int = 5, beta: float = 1.0, optimizer: Mapping[str, Any] | None = None,
                 scheduler: Mapping[str, Any] | None = None):
        optimizer, scheduler = optimization.plain_specs(optimizer, scheduler)
        super().__init__(optimizer, scheduler, NAME)
        self.save_hyperparameters(logger=False)
        self.data_info = check_data_info(data_info, ("n_cells",), NAME)
        n = int(self.data_info["n_cells"])
        channels = [c for c in channels]
        check_architecture(n, channels, kernel_size, latent_dim, NAME)
        if isinstance(beta, bool) or not isinstance(beta, int | float) or not beta >= 0:
            raise ValueError(f"{NAME}: beta (the KL weight) must be a number >= 0, got {beta!r}")
        self.beta = float(beta)
        self.encoder = MaskEncoder(n, channels, kernel_size, latent_dim)
        self.decoder = MaskDecoder(n, channels, latent_dim)

    @property
    def n_cells(self) -> int:
        return int(self.data_info["n_cells"])

    def forward(self, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, N) → (logits of z = μ, μ, log σ²)."""
        mu, logvar = self.encoder(mask)
        return self.decoder(mu), mu, logvar

    def _step(self, batch: Mapping[str, Tensor], split: str) -> Tensor:
        mask = batch["mask"].float()
        mu, logvar = self.encoder(mask)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu) if split == "train" else mu
        logits = self.decoder(z)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)  # nats per mask
        per_sample = reconstruction_metrics(logits, mask)
        loss = (per_sample["bce_per_cell"] + self.beta * kl / mask.shape[1]).mean()
        bs = mask.shape[0]
        self.log(f"{split}/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=bs)
        self.log(f"{split}/kl", kl.mean(), on_step=False, on_epoch=True, batch_size=bs)
        for key, value in per_sample.items():
            self.log(f"{split}/{key}", value.mean(), on_step=False, on_epoch=True, batch_size=bs)
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        return self._step(batch, "val")

    @torch.no_grad()
    def predict_physical(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """{"latent_mean", "latent_logvar": (B, latent_dim), "probability": (B, N) p(d_i = 1 | z = μ)}."""
        logits, mu, logvar = self(batch["mask"].float())
        return {"latent_mean": mu, "latent_logvar": logvar, "probability": torch.sigmoid(logits)}

    # -- serving (spsll/tracking/registry.py): one tensor in, one out -----------------------------
    def serving_batch(self, x: Tensor) -> dict[str, Tensor]:
        return {"mask": x}

    def serving_output(self, out: Mapping[str, Tensor]) -> Tensor:
        return out["latent_mean"].float()

    def example_input(self) -> Tensor:
        return (torch.arange(self.n_cells) % 7 == 0).float()[None]

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[MODEL_KEY] = NAME


def _holds(checkpoint: Any) -> str:
    """What a checkpoint that is not a mask VAE holds, for the message."""
    if not isinstance(checkpoint, dict):
        return f"a {type(checkpoint).__name__}"
    if checkpoint.get(MODEL_KEY):
        return f"a {checkpoint[MODEL_KEY]} model"
    if checkpoint.get("baseline"):
        return f"a {checkpoint['baseline']} baseline"
    hp = checkpoint.get("hyper_parameters") or {}
    kind = (hp.get("data_info") or {}).get("kind") if isinstance(hp.get("data_info"), dict) else None
    return f"a model trained on {kind} data" if kind else "another model"


def load_mask_vae(path: str | Path, n_cells: int | None = None) -> MaskVAEModel:
    """The trained mask VAE of checkpoint ``path`` (CPU, eval mode).

    Raises :class:`MaskEncoderError` when the file is missing or not a checkpoint, when it holds another
    model, and when ``n_cells`` (the data's N) is given and differs from the VAE's.
    """
    path = Path(path)
    if not path.is_file():
        raise MaskEncoderError(f"no mask VAE checkpoint at {path}" + (" (it is a folder)" if path.is_dir() else "")
                               + "; give the .ckpt that `train.py model=mask_vae` wrote (or its MLflow run)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001  (any unreadable file: one message)
        raise MaskEncoderError(f"{path} is not a readable PyTorch checkpoint ({type(err).__name__})") from err
    if not isinstance(checkpoint, dict) or checkpoint.get(MODEL_KEY) != NAME:
        raise MaskEncoderError(f"{path} is not a {NAME} checkpoint (it holds {_holds(checkpoint)}); the encoder "
                               f"must come from `python train.py model={NAME} dataset=microstructures`")
    vae = MaskVAEModel(**checkpoint["hyper_parameters"])
    vae.load_state_dict(checkpoint["state_dict"])
    if n_cells is not None and int(n_cells) != vae.n_cells:
        raise MaskEncoderError(f"{path}: the VAE encodes masks of N = {vae.n_cells} cells, but the data hold "
                               f"N = {int(n_cells)}; train a VAE on masks of this chain")
    return vae.eval()


def frozen_encoder(encoder: str | Path | None, encoder_config: Mapping[str, Any] | None, n_cells: int,
                   model: str) -> MaskEncoder:
    """The encoder a coercivity model reads, frozen: from the VAE checkpoint ``encoder`` when ``encoder_config`` is
    None (a new model), else rebuilt from ``encoder_config`` (a saved model; its weights come with it)."""
    if encoder_config is None:
        if not encoder:
            raise MaskEncoderError(f"{model}: encoder must name a trained {NAME} checkpoint (model.encoder=<.ckpt> or "
                                   f"an MLflow run id of `train.py model={NAME}`), got none")
        enc = load_mask_vae(encoder, n_cells=n_cells).encoder
    else:
        cfg = dict(encoder_config)
        check_architecture(int(cfg["n_cells"]), cfg["channels"], cfg["kernel_size"], cfg["latent_dim"], model)
        if int(cfg["n_cells"]) != int(n_cells):
            raise MaskEncoderError(f"{model}: the encoder reads N = {cfg['n_cells']} cells, the data hold "
                                   f"N = {n_cells}")
        enc = MaskEncoder(**cfg)
    return enc.requires_grad_(False).eval()


@torch.no_grad()
def encode_masks(vae: MaskVAEModel, masks, batch_size: int = 4096) -> Tensor:
    """Latent means μ (n, latent_dim) float32 of masks (n, N) 0/1 (array or tensor)."""
    m = torch.as_tensor(np.asarray(masks) if not torch.is_tensor(masks) else masks).float()
    if m.ndim != 2 or m.shape[1] != vae.n_cells:
        raise MaskEncoderError(f"masks must have shape (n, {vae.n_cells}) for this VAE, got {tuple(m.shape)}")
    was_training = vae.training
    vae.eval()
    out = torch.cat([vae.encoder(m[lo: lo + batch_size])[0] for lo in range(0, len(m), batch_size)]) if len(m) \
        else torch.zeros(0, vae.encoder.config["latent_dim"])
    vae.train(was_training)
    return out
