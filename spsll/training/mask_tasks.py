"""What train.py needs for the coercivity models (docs/coercivity.md#models): the DataModule of a mask task,
and the mask_vae encoder named by ``model.encoder`` (a checkpoint file or a trained MLflow run).

``model.encoder`` may be a ``.ckpt`` path (relative to where the command runs), ``runs:/<run id>`` or a bare
MLflow run id of ``train.py model=mask_vae``; a run's best checkpoint is downloaded next to the new run's
output and the model then reads that file. Everything else about the run (tags, params, config files) is the
networks' own.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from spsll.data.datamodule import SPSLLDataModule
from spsll.data.hdf5 import MASK_KINDS
from spsll.data.mask_datamodule import MaskDataModule
from spsll.models.mask_vae import NAME as VAE
from spsll.models.mask_vae import MaskEncoderError, encode_masks, load_mask_vae
from spsll.tracking.mlflow_run import resolve_tracking_uri
from spsll.tracking.runs import RunError, fetch_run
from spsll.training import skyrmion_tasks

RUN_ID = re.compile(r"^(?:runs:/)?(?P<id>[0-9a-f]{32})/?$")


def datamodule(cfg: DictConfig, path: Path, kind: str):
    """The training DataModule of ``kind``: :class:`MaskDataModule` for the mask kinds, the skyrmion models' rows
    for skyrmions (spsll/training/skyrmion_tasks.py), else the networks'."""
    if kind == skyrmion_tasks.KIND:
        return skyrmion_tasks.datamodule(cfg, path)
    if kind in MASK_KINDS:
        return MaskDataModule(path, kind, batch_size=int(cfg.data.batch_size), num_workers=int(cfg.data.num_workers),
                              in_memory=bool(cfg.data.get("in_memory", True)), seed=int(cfg.seed))
    return SPSLLDataModule(path, kind, batch_size=int(cfg.data.batch_size), num_workers=int(cfg.data.num_workers),
                           input_field=str(cfg.data.input_field), in_memory=bool(cfg.data.get("in_memory", True)),
                           seed=int(cfg.seed))


def encoder_checkpoint(source: str, root: Path, workdir: Path, tracking_uri: str | None = None) -> Path:
    """The mask_vae checkpoint file that ``source`` names: a file, or an MLflow run (downloaded to ``workdir``).

    Raises :class:`MaskEncoderError` naming ``model.encoder`` when it is neither, or the run is no mask_vae."""
    if not source or not str(source).strip():
        raise MaskEncoderError("model.encoder must name a trained mask_vae: a .ckpt path or an MLflow run id")
    text = str(source).strip()
    path = Path(text) if Path(text).is_absolute() else root / text
    if path.exists() or not RUN_ID.match(text):
        if not path.is_file():
            raise MaskEncoderError(f"model.encoder: no mask_vae checkpoint at {path}" +
                                   (" (it is a folder)" if path.is_dir() else "") +
                                   "; give the .ckpt of `train.py model=mask_vae` or its MLflow run id")
        return path
    uri = resolve_tracking_uri(tracking_uri, root)
    try:
        conf, ckpt, _ = fetch_run(RUN_ID.match(text)["id"], uri, workdir)
    except RunError as err:
        raise MaskEncoderError(f"model.encoder: {err}") from err
    if conf["model"]["name"] != VAE:
        raise MaskEncoderError(f"model.encoder: run {text} trained a {conf['model']['name']}, not a {VAE}")
    return Path(ckpt)


def with_encoder_file(kwargs: dict, cfg: DictConfig, root: Path, out_dir: Path) -> dict:
    """The model's keyword arguments with ``encoder`` (a file or an MLflow run) as the checkpoint file it names;
    unchanged for models without one, or with an ``encoder_config`` (a saved model)."""
    if not kwargs.get("encoder") or kwargs.get("encoder_config") is not None:
        return kwargs
    path = encoder_checkpoint(kwargs["encoder"], root, out_dir / "encoder", cfg.logger.get("tracking_uri"))
    return {**kwargs, "encoder": str(path)}


def latent_means(source: str, masks, root: Path | None = None, tracking_uri: str | None = None,
                 workdir: Path | None = None):
    """Latent means (n, latent_dim) of ``masks`` (n, N) under the VAE of ``source`` (file or MLflow run)."""
    import tempfile

    root = root or Path.cwd()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="spsll_encoder_"))
    vae = load_mask_vae(encoder_checkpoint(source, root, workdir, tracking_uri), n_cells=np.asarray(masks).shape[1])
    return encode_masks(vae, masks)
