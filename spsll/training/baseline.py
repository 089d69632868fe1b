"""What ``train.py model=ridge|knn`` does: fit a closed-form baseline (:mod:`spsll.models.baselines`,
docs/physics.md#baselines; ``anchor_ridge|anchor_gp``: :mod:`spsll.models.mask_baselines`;
``skyrmion_forward_ridge|skyrmion_inverse_ridge``: :mod:`spsll.models.skyrmion_baselines`) on the train split,
choose its hyper-parameter on the validation split, and record it as an MLflow run like a network's, so that
``evaluate.py run_id=<run>`` scores it unchanged.

The run is opened by the networks' own code (tags, flattened config as params, ``config.yaml`` and the
other files it records); a baseline then logs the networks' metric names (``val/mae_sigma_nm``,
``val/mae_tau_nm``, ``val/mae_phi``, ``val/mae_T_nm`` inverse; ``val/mae_thz``, ``val/max_mae_k_thz``
forward; ``val/mae_<target>`` and ``val/mae_standardised`` for the coercivity baselines; ``val/brier``,
``val/ece``, ``val/accuracy``, ``val/radius_rel_mae`` ... for the skyrmion forward baseline; the same under
``train/``) and the fitted model as ``checkpoints/best.ckpt``, and besides: the
chosen hyper-parameter as ``selected.<name>`` params, ``fit_seconds``, and ``selection.json`` (every
candidate's validation score). The run ends FINISHED, or FAILED when anything after its creation
fails. The files written here are written whole (temp file + rename).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from spsll.data.datamodule import SPSLLDataModule
from spsll.models.baselines import Baseline, build_baseline
from spsll.models.mask_baselines import MASK_BASELINES, build_mask_baseline
from spsll.models.skyrmion_baselines import SKYRMION_BASELINES, build_skyrmion_baseline
from spsll.tracking import mlflow_run
from spsll.training import mask_tasks
from spsll.training.config_checks import baseline_kwargs, validate_baseline_config

log = logging.getLogger("train")

CHECKPOINT = "best.ckpt"  # evaluate.py and fetch_run take the run's checkpoints/*.ckpt


def split_batch(dm: SPSLLDataModule, split: str) -> dict[str, torch.Tensor]:
    """A whole split as one batch dict, through the networks' own dataset class (same fields, same float32)."""
    ds = dm.dataset(split)
    return next(iter(DataLoader(ds, batch_size=len(ds), shuffle=False, num_workers=0)))


def _write(path: Path, write: Callable[[Path], None]) -> Path:
    """``write`` to a temp file next to ``path``, then rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)
    return path


def _write_text(path: Path, text: str) -> Path:
    return _write(path, lambda p: p.write_text(text))


def _fit(model: Baseline, dm: SPSLLDataModule, ckpt: Path) -> dict:
    """Fit and choose; save the checkpoint; the metrics of both splits and the fit time."""
    train, val = split_batch(dm, "train"), split_batch(dm, "val")
    t0 = time.perf_counter()
    selected = model.fit(train, val)
    seconds = time.perf_counter() - t0
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    _write(ckpt, model.save)
    return {"selected": selected, "fit_seconds": seconds, "val": model.evaluate_split(val),
            "train": model.evaluate_split(train)}


def _record(logger, cfg: DictConfig, result: dict, selection: Path, ckpt: Path) -> None:
    """What a baseline adds to the run that ``open_run`` made: the chosen hyper-parameter, the metrics,
    the selection and the checkpoint."""
    logger.log_hyperparams({f"selected.{k}": str(v) for k, v in result["selected"].items()})
    metrics = {f"{split}/{k}": v for split in ("train", "val") for k, v in result[split].items()}
    logger.log_metrics({**metrics, "fit_seconds": result["fit_seconds"]}, step=0)
    mlflow_run.log_artifact(logger, selection)
    if cfg.logger.get("log_checkpoint", True):
        mlflow_run.log_artifact(logger, ckpt, "checkpoints")


def _local_files(cfg: DictConfig, dm: SPSLLDataModule, out_dir: Path, overrides: list[str]) -> None:
    """Without MLflow: the files a run records, so that ``evaluate.py ckpt_path=`` finds the config."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_text(out_dir / "config.yaml", yaml.safe_dump(OmegaConf.to_container(cfg, resolve=True), sort_keys=False))
    _write_text(out_dir / "overrides.yaml", yaml.safe_dump(overrides))
    _write_text(out_dir / "data_info.yaml", yaml.safe_dump(dm.data_info))


def run_baseline(cfg: DictConfig, prepare_dataset: Callable[[DictConfig, str], Path], open_run: Callable,
                 register: Callable) -> float:
    """Fit the baseline of ``cfg.model`` and record it; returns its validation score (MAE of φ inverse,
    MAE in THz forward; the mean standardised MAE of the targets for the coercivity baselines).

    ``prepare_dataset`` and ``open_run`` are the networks' own (:mod:`spsll.training.run`, which imports
    this module, passes them in): the data are prepared, and the run created, tagged and given its
    params and config files, exactly as for a network (``register`` then logs and registers the fitted model
    in the registry, as for a network). ``open_run(cfg, path, dm, out_dir, overrides,
    resume_from)`` returns (logger, tracking URI, run info).
    """
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    validate_baseline_config(cfg)
    name, kind = str(cfg.model.name), str(cfg.dataset.kind)
    torch.manual_seed(int(cfg.seed))  # the fit is deterministic; the seed is recorded as for a network
    hc = HydraConfig.get() if HydraConfig.initialized() else None
    out_dir = Path(hc.runtime.output_dir) if hc else Path("outputs/train/manual").absolute()
    kwargs = mask_tasks.with_encoder_file(baseline_kwargs(cfg), cfg, Path(hc.runtime.cwd) if hc else Path.cwd(),
                                          out_dir)  # a latent baseline's VAE, before any data
    path = prepare_dataset(cfg, kind)
    if name in MASK_BASELINES:  # the coercivity baselines (docs/coercivity.md#baselines)
        dm = mask_tasks.datamodule(cfg, path, kind)
        model = build_mask_baseline(name, dm.data_info, **kwargs)
    elif name in SKYRMION_BASELINES:  # docs/skyrmion-models.md#baselines: the model's rows (all, or survivors)
        dm = mask_tasks.datamodule(cfg, path, kind)
        model = build_skyrmion_baseline(name, dm.data_info, **kwargs)
    else:
        dm = SPSLLDataModule(path, kind, batch_size=int(cfg.data.batch_size), input_field=str(cfg.data.input_field),
                             in_memory=True, seed=int(cfg.seed))
        model = build_baseline(name, dm.data_info, task=kind, **kwargs)

    overrides = list(hc.overrides.task) if hc else []
    ckpt = out_dir / "checkpoints" / CHECKPOINT
    logger = None
    if cfg.logger.name == "mlflow":
        logger, uri, _ = open_run(cfg, path, dm, out_dir, overrides, None)
    else:
        _local_files(cfg, dm, out_dir, overrides)
    try:
        result = _fit(model, dm, ckpt)
        selection = _write_text(out_dir / "selection.json", json.dumps(
            {"selected": result["selected"], "score": f"val/{model.score_key}", "candidates": model.selection,
             "fit_seconds": result["fit_seconds"]}, indent=2))
        if logger is not None:
            _record(logger, cfg, result, selection, ckpt)
            register(cfg, lambda: model, logger.run_id, uri)
            mlflow_run.end_run(logger, True)
    except BaseException:
        if logger is not None:
            try:
                mlflow_run.end_run(logger, False)
            except Exception as err:  # noqa: BLE001  (the original error is the one to report)
                log.warning("could not mark MLflow run %s FAILED: %s", logger.run_id, err)
        raise
    score = result["val"][model.score_key]
    log.info("%s (%s, %s): chosen %s on the validation split, val/%s %.5g, fitted in %.2f s; checkpoint %s",
             name, model.direction, kind, result["selected"], model.score_key, score, result["fit_seconds"], ckpt)
    return score
