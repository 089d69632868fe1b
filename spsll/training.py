"""What ``train.py`` does: data (generated on first use), model, MLflow run, Lightning fit.

Every MLflow run ends FINISHED or FAILED; on failure the best checkpoint written so far is still
uploaded. The function returns the best validation loss for sweepers.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytorch_lightning as pl
import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from spsll.data.cli import build_request
from spsll.data.datamodule import SPSLLDataModule
from spsll.data.generation import generate
from spsll.data.hdf5 import DatasetError, file_hash, partial_path
from spsll.models import MODELS, build_model
from spsll.tracking import mlflow_run
from spsll.tracking.callbacks import FiniteLossGuard, RunFigures
from spsll.train_config import validate_train_config

log = logging.getLogger("train")
MODEL_KEYS_NOT_KWARGS = ("name", "early_stopping_patience")


def _hydra():
    return HydraConfig.get() if HydraConfig.initialized() else None


def project_dir() -> Path:
    hc = _hydra()
    return Path(hc.runtime.cwd) if hc else Path.cwd()


def prepare_dataset(cfg: DictConfig, task: str) -> Path:
    """The dataset file for ``task``: checked against the model, generated when absent."""
    gen_cfg = OmegaConf.merge(cfg, {"seed": cfg.get("dataset_seed", 0)})
    req = build_request(gen_cfg)
    path = Path(req.dataset.path)
    if req.dataset.kind != task:
        raise ValueError(f"model {cfg.model.name} trains on {task} data, but the dataset config is a "
                         f"{req.dataset.kind} dataset; choose dataset={task} (or a {task} variant)")
    if path.exists():
        import h5py

        try:
            with h5py.File(path, "r") as f:
                kind = f.attrs.get("kind")
        except OSError as err:
            raise DatasetError(f"{path} is not a readable HDF5 file ({err}); regenerate it "
                               "(python generate.py ... overwrite=true)") from err
        if kind != task:
            raise DatasetError(f"{path} holds a {kind} dataset, but model {cfg.model.name} needs a {task} "
                               "dataset; point dataset.path at one")
        return path  # an existing file is used as it is (the reader checks it is complete)
    log.info("%s does not exist%s: generating it first", path,
             " (resuming an interrupted generation)" if partial_path(path).exists() else "")
    return generate(req, resolved_yaml=OmegaConf.to_yaml(gen_cfg, resolve=True))


def _tags(cfg, path, digest) -> dict:
    hc = _hydra()
    tags = {"model": cfg.model.name, "dataset_path": str(path), "dataset_sha256": digest,
            "solver": str(cfg.solver.name)}
    if hc is not None and hc.mode is not None and str(hc.mode) == "RunMode.MULTIRUN":
        tags["sweep"] = str(hc.sweep.dir)
        tags["sweep_job"] = str(hc.job.num)
    return tags


def run_train(cfg: DictConfig) -> float:
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    validate_train_config(cfg)
    name = cfg.model.name
    task = MODELS[name].task
    pl.seed_everything(int(cfg.seed), workers=True)
    path = prepare_dataset(cfg, task)
    dm = SPSLLDataModule(path, task, batch_size=int(cfg.data.batch_size), num_workers=int(cfg.data.num_workers),
                         input_field=str(cfg.data.input_field), in_memory=bool(cfg.data.get("in_memory", True)))
    kwargs = {k: v for k, v in OmegaConf.to_container(cfg.model, resolve=True).items()
              if k not in MODEL_KEYS_NOT_KWARGS}
    model = build_model(name, dm.data_info, **kwargs)

    hc = _hydra()
    out_dir = Path(hc.runtime.output_dir) if hc else Path("outputs/train/manual").absolute()
    ckpt_dir = out_dir / "checkpoints"
    logger = None
    if cfg.logger.name == "mlflow":
        uri = mlflow_run.resolve_tracking_uri(cfg.logger.get("tracking_uri"), project_dir())
        overrides = list(hc.overrides.task) if hc else []
        digest = file_hash(path)
        logger = mlflow_run.make_logger(experiment=cfg.logger.experiment_name, uri=uri,
                                        name=mlflow_run.run_name(name, overrides),
                                        tags=_tags(cfg, path, digest))
        resolved = OmegaConf.to_container(cfg, resolve=True)
        logger.log_hyperparams({**mlflow_run.flatten(resolved), "dataset.sha256": digest})
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
        (out_dir / "overrides.yaml").write_text(yaml.safe_dump(overrides))
        (out_dir / "data_info.yaml").write_text(yaml.safe_dump(dm.data_info))
        for f in ("config.yaml", "overrides.yaml", "data_info.yaml"):
            mlflow_run.log_artifact(logger, out_dir / f)
        log.info("MLflow run %s in %s (experiment %s)", logger.run_id, uri, cfg.logger.experiment_name)

    # no "=" in file names: they are passed back as Hydra overrides (evaluate.py ckpt_path=...)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=ckpt_dir, filename="best-epoch{epoch:03d}", monitor="val/loss",
                                        mode="min", save_top_k=1, save_last=True, auto_insert_metric_name=False)
    callbacks = [ckpt, FiniteLossGuard(), RunFigures(dm.data_info, out_dir / "figures")]
    if logger is not None:
        callbacks.append(pl.callbacks.LearningRateMonitor(logging_interval="epoch"))
    patience = cfg.model.get("early_stopping_patience")
    if patience:
        callbacks.append(pl.callbacks.EarlyStopping(monitor="val/loss", mode="min", patience=int(patience)))
    trainer_kw = OmegaConf.to_container(cfg.trainer, resolve=True)
    trainer = pl.Trainer(**trainer_kw, logger=logger if logger is not None else False, callbacks=callbacks,
                         default_root_dir=str(out_dir))
    ok = False
    try:
        trainer.fit(model, datamodule=dm)
        ok = True
    finally:
        if logger is not None and trainer.global_rank == 0:
            best = ckpt.best_model_path
            if best and cfg.logger.get("log_checkpoint", True) and os.path.exists(best):
                mlflow_run.log_artifact(logger, best, "checkpoints")
            mlflow_run.end_run(logger, ok)
    score = ckpt.best_model_score
    best = float(score) if score is not None else float("nan")
    log.info("best val/loss %.5g, checkpoint %s", best, ckpt.best_model_path)
    return best
