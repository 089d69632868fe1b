"""What ``train.py`` does: data (generated on first use), model, MLflow run, Lightning fit.

Every MLflow run ends FINISHED or FAILED; on failure the best checkpoint written so far is still
uploaded. A tracking server lost mid-run fails the run with a :class:`TrackingError` that names the
server and the resume command; the local checkpoints stay. ``ckpt_path=last`` resumes an
interrupted training into its own MLflow run (spsll/tracking/resume.py); ``trainer=ddp`` trains
data-parallel with the numbers of one process (spsll/training/distributed.py). The function returns the
best validation loss for sweepers.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
from pathlib import Path

import pytorch_lightning as pl
import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from spsll.data.cli import build_request
from spsll.data.generation import generate
from spsll.data.hdf5 import DatasetError, data_digest, file_hash, partial_path, request_differences
from spsll.models import BASELINES, MODELS, build_model
from spsll.tracking import mlflow_run, registry, resume
from spsll.tracking.callbacks import FiniteLossGuard, RunFigures
from spsll.tracking.runs import DATASET_RECORD, DatasetDigest, load_model, write_dataset_record
from spsll.training import mask_tasks
from spsll.training.baseline import run_baseline
from spsll.training.config_checks import model_kwargs, validate_train_config
from spsll.training.distributed import CrossProcessBatchNormSync, is_distributed, process_rank, sync_logged_metrics

log = logging.getLogger("train")


def _hydra():
    return HydraConfig.get() if HydraConfig.initialized() else None


def project_dir() -> Path:
    hc = _hydra()
    return Path(hc.runtime.cwd) if hc else Path.cwd()


def _generate_command(cfg: DictConfig, path: Path) -> str:
    """The generate.py command that makes the file this training config asks for."""
    hc = _hydra()
    if hc is None:  # composed in Python: the group choices are not known
        args = ["<dataset/solver/material overrides>", f"seed={cfg.get('dataset_seed', 0)}"]
    else:
        args = [shlex.quote(f"{group}={hc.runtime.choices[group]}") for group in ("dataset", "solver", "material")
                if hc.runtime.choices.get(group)]
        for o in hc.overrides.task:
            key = o.lstrip("+~").split("=", 1)[0]
            if key.startswith(("dataset.", "solver.", "material.")) and key != "dataset.path":
                args.append(shlex.quote(o))
            elif key == "dataset_seed":
                args.append(shlex.quote("seed=" + o.split("=", 1)[1]))
    return " ".join(["python generate.py", *args, shlex.quote(f"dataset.path={path}"), "overwrite=true"])


def prepare_dataset(cfg: DictConfig, task: str) -> Path:
    """The dataset file for ``task``: checked against the model and against the generation settings
    of the config (the file's ``request`` attribute, docs/data.md#lineage), generated when absent."""
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
                kind, stored = f.attrs.get("kind"), f.attrs.get("request")
        except OSError as err:
            raise DatasetError(f"{path} is not a readable HDF5 file ({err}); regenerate it "
                               "(python generate.py ... overwrite=true)") from err
        if kind != task:
            raise DatasetError(f"{path} holds a {kind} dataset, but model {cfg.model.name} needs a {task} "
                               "dataset; point dataset.path at one")
        diff = request_differences(stored, req.request_yaml())
        if diff:  # the reader checks the rest (complete, layout, values)
            shown = "; ".join(f"{k}: file {a!r}, config {b!r}" for k, (a, b) in list(diff.items())[:8])
            more = f" (and {len(diff) - 8} more)" if len(diff) > 8 else ""
            what = "records no generation settings" if stored is None else \
                f"was generated with other settings than this config ({shown}{more})"
            raise DatasetError(f"{path} {what}. Regenerate it for this config: {_generate_command(cfg, path)} "
                               "(runs trained on the old file will then refuse it at evaluation), or point "
                               "dataset.path at another file")
        return path
    log.info("%s does not exist%s: generating it first", path,
             " (resuming an interrupted generation)" if partial_path(path).exists() else "")
    return generate(req, resolved_yaml=OmegaConf.to_yaml(gen_cfg, resolve=True))


def _tags(cfg, path, digest: DatasetDigest) -> dict:
    hc = _hydra()
    tags = {"model": cfg.model.name, "dataset_path": str(path), "dataset_sha256": digest.sha256,
            "dataset_data_sha256": digest.data_sha256, "solver": str(cfg.solver.name)}
    if hc is not None and hc.mode is not None and str(hc.mode) == "RunMode.MULTIRUN":
        tags["sweep"] = str(hc.sweep.dir)
        tags["sweep_job"] = str(hc.job.num)
    return tags


def _open_run(cfg, path, dm, out_dir: Path, overrides: list[str], resume_from: Path | None):
    """The MLflow logger: a new run, or the run recorded in ``resume_from``. Returns (logger, uri, info).

    Every rank builds the logger (Lightning makes it a no-op on ranks > 0); only rank 0 creates or
    reopens the run and writes the config files.
    """
    mlflow_run.apply_http_settings(cfg.logger.get("http"))
    uri = mlflow_run.resolve_tracking_uri(cfg.logger.get("tracking_uri"), project_dir())
    if process_rank() != 0:
        logger = mlflow_run.make_logger(experiment=cfg.logger.experiment_name, uri=uri, name="", tags={})
        return logger, uri, {}
    digest = DatasetDigest(file_hash(path), data_digest(path))  # what evaluation checks (docs/data.md#lineage)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    params = {**mlflow_run.flatten(resolved), "dataset.sha256": digest.sha256}
    state = resume.tracking_state(resume_from) if resume_from else {}
    run_id, logged = state.get("run_id"), None
    if run_id:
        logged, params, changed = resume.reopen_run(uri, run_id, params, resume_from)
        log.info("resuming MLflow run %s from %s%s", run_id, resume_from,
                 f" (changed: {', '.join(sorted(changed))})" if changed else "")
    logger = mlflow_run.make_logger(experiment=cfg.logger.experiment_name, uri=uri,
                                    name=mlflow_run.run_name(cfg.model.name, overrides),
                                    tags=_tags(cfg, path, digest), run_id=run_id, skip_logged=logged)
    if params:
        logger.log_hyperparams(params)
    # MLflow keeps one input per (name, digest): a resumed run does not list its file twice
    mlflow_run.log_dataset_input(logger, path, digest.sha256, dm.kind, digest.data_sha256)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    (out_dir / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (out_dir / "data_info.yaml").write_text(yaml.safe_dump(dm.data_info))
    write_dataset_record(out_dir, path, digest)  # for evaluate.py ckpt_path=..., where no run is asked
    for f in ("config.yaml", "overrides.yaml", "data_info.yaml", DATASET_RECORD):
        mlflow_run.log_artifact(logger, out_dir / f)
    info = {"run_id": logger.run_id, "tracking_uri": uri, "experiment": str(cfg.logger.experiment_name)}
    resume.write_run_record(out_dir, info, resume.resume_command(overrides, out_dir))
    log.info("MLflow run %s in %s (experiment %s)", logger.run_id, uri, cfg.logger.experiment_name)
    return logger, uri, info


def _check_launch(cfg) -> None:
    hc = _hydra()
    if is_distributed(cfg.trainer) and hc is not None and str(hc.mode) == "RunMode.MULTIRUN":
        from lightning_fabric.plugins.environments import SLURMEnvironment, TorchElasticEnvironment

        if not (SLURMEnvironment.detect() or TorchElasticEnvironment.detect()):
            raise ValueError("a multi-process trainer (trainer=ddp) inside a local multirun (-m) is not supported: "
                             "Lightning would start each extra rank as a whole new sweep. Run DDP trainings one at "
                             "a time, or sweep on SLURM (hydra/launcher=slurm, tasks_per_node = trainer.devices)")


def _stop_other_ranks(trainer) -> None:
    """After a failure on rank 0, do not leave ranks started by Lightning waiting in a collective."""
    launcher = getattr(trainer.strategy, "launcher", None)
    if trainer.global_rank == 0 and getattr(launcher, "procs", None):
        launcher.kill(signal.SIGKILL)


def _close_run(logger, uri, cfg, ckpt, ok: bool, err: BaseException | None, ckpt_dir: Path, out_dir: Path):
    """Upload the best checkpoint and end the run FINISHED/FAILED; a lost server → TrackingError."""

    def lost(cause):
        short = str(cause).strip().splitlines()[0][:300] if str(cause).strip() else type(cause).__name__
        cmd = json.loads((out_dir / "mlflow_run.json").read_text())["resume_command"]
        return mlflow_run.TrackingError(
            f"lost the MLflow tracking server {uri} during training ({type(cause).__name__}: {short}); run "
            f"{logger.run_id} could not be updated there. The local checkpoints are kept in {ckpt_dir} "
            f"(best {Path(ckpt.best_model_path).name or '-'}, last.ckpt). When the server is back, continue the "
            f"same run with: {cmd}")

    if err is not None and mlflow_run.server_lost(uri):
        raise lost(err) from err
    try:
        best = ckpt.best_model_path
        if best and cfg.logger.get("log_checkpoint", True) and os.path.exists(best):
            mlflow_run.log_artifact(logger, best, "checkpoints")
        if ok and best and os.path.exists(best):
            register_model(cfg, lambda: load_model(str(cfg.model.name), Path(best)), logger.run_id, uri)
        mlflow_run.end_run(logger, ok)
    except Exception as close_err:
        if mlflow_run.server_lost(uri):
            raise lost(close_err) from (err or close_err)
        raise


def register_model(cfg, load, run_id: str, uri: str) -> str | None:
    """Log the trained model in MLflow's PyTorch flavour and register it under its task's name
    (spsll/tracking/registry.py), unless ``logger.register_model`` is false. A store without a model
    registry only warns: the run and its checkpoint are what the project's own tools read."""
    if not cfg.logger.get("register_model", True):
        return None
    try:
        model_uri = registry.log_registered(load(), run_id, uri)
    except Exception as err:  # noqa: BLE001  (the training itself succeeded)
        if mlflow_run.server_lost(uri):
            raise
        log.warning("could not register the model of run %s in %s (%s: %s); the run and its checkpoint are "
                    "complete", run_id, uri, type(err).__name__, str(err)[:300])
        return None
    log.info("registered %s (run %s)", model_uri, run_id)
    return model_uri


def run_train(cfg: DictConfig) -> float:
    if cfg.model.get("name") in BASELINES:  # closed-form baselines: fitted, not trained (spsll/training/baseline.py)
        return run_baseline(cfg, prepare_dataset, _open_run, register_model)
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    validate_train_config(cfg)
    _check_launch(cfg)
    name = cfg.model.name
    task = MODELS[name].task
    pl.seed_everything(int(cfg.seed), workers=True)
    hc = _hydra()
    out_dir = Path(hc.runtime.output_dir) if hc else Path("outputs/train/manual").absolute()
    kwargs = mask_tasks.with_encoder_file(model_kwargs(cfg), cfg, project_dir(), out_dir)  # anchor_regressor's VAE
    path = prepare_dataset(cfg, task)  # ranks > 0 start after rank 0 prepared it (at Trainer.fit)
    dm = mask_tasks.datamodule(cfg, path, task)  # the mask kinds have their own (docs/coercivity.md#models)
    model = build_model(name, dm.data_info, **kwargs)

    ckpt_dir = out_dir / "checkpoints"
    overrides = list(hc.overrides.task) if hc else []
    resume_from = resume.checkpoint_file(cfg.get("ckpt_path"), ckpt_dir, project_dir())
    logger, uri, info = None, None, {}
    if cfg.logger.name == "mlflow":
        logger, uri, info = _open_run(cfg, path, dm, out_dir, overrides, resume_from)

    # no "=" in file names: they are passed back as Hydra overrides (evaluate.py ckpt_path=...)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=ckpt_dir, filename="best-epoch{epoch:03d}", monitor="val/loss",
                                        mode="min", save_top_k=1, auto_insert_metric_name=False)
    callbacks = [ckpt, resume.LastCheckpoint(ckpt_dir), resume.TrackingState(info), FiniteLossGuard(),
                 RunFigures(dm.data_info, out_dir / "figures")]
    if logger is not None:
        callbacks.append(pl.callbacks.LearningRateMonitor(logging_interval="epoch"))
    if cfg.get("early_stopping"):  # conf/early_stopping/ (width_regressor switches it on)
        callbacks.append(instantiate(cfg.early_stopping))
    trainer_kw = OmegaConf.to_container(cfg.trainer, resolve=True)
    plugins = [CrossProcessBatchNormSync()] if is_distributed(cfg.trainer) else None
    trainer = None
    try:  # a run that exists ends FINISHED or FAILED, also when the Trainer cannot be built (trainer=gpu, no GPU)
        trainer = pl.Trainer(**trainer_kw, logger=logger if logger is not None else False, callbacks=callbacks,
                             default_root_dir=str(out_dir), plugins=plugins)
        if trainer.world_size > 1:
            sync_logged_metrics(model)
        trainer.fit(model, datamodule=dm, ckpt_path=str(resume_from) if resume_from else None)
    except BaseException as err:
        if trainer is not None:
            _stop_other_ranks(trainer)
        if logger is not None and (trainer.global_rank if trainer is not None else process_rank()) == 0:
            _close_run(logger, uri, cfg, ckpt, False, err, ckpt_dir, out_dir)
        raise
    if logger is not None and trainer.global_rank == 0:
        _close_run(logger, uri, cfg, ckpt, True, None, ckpt_dir, out_dir)
    score = ckpt.best_model_score
    best = float(score) if score is not None else float("nan")
    log.info("best val/loss %.5g, checkpoint %s", best, ckpt.best_model_path)
    return best
