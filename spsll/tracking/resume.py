"""Resuming an interrupted training into the same MLflow run (``ckpt_path=last``).

    python train.py <the same overrides> hydra.run.dir=<its output folder> ckpt_path=last
    python train.py <the same overrides> ckpt_path=<file.ckpt>        # any checkpoint of the run
    python train.py -m hydra/launcher=slurm ... ckpt_path=auto        # last.ckpt if there is one, else fresh

* :class:`LastCheckpoint` writes ``<output>/checkpoints/last.ckpt`` (atomically: a temporary file,
  then a rename) at the start of every epoch and at the end of training, that is after every
  metric of the previous epoch has been logged. A run killed at any moment therefore resumes from
  a state whose metric history is complete (no gap).
* :class:`TrackingState` stores the MLflow run (id, tracking URI, experiment) in every checkpoint,
  so a checkpoint alone reopens its run; ``<output>/mlflow_run.json`` records it for people, with
  the resume command.
* :func:`reopen_run` sets the run RUNNING again (a killed run stays RUNNING, a crashed one FAILED),
  checks that the config is the run's own (params are immutable in MLflow; only the keys in
  :data:`RESUMABLE` may change, e.g. ``trainer.max_epochs`` to extend a run) and returns the
  (metric, step) pairs already logged: the part of an epoch that the interrupted process logged
  after its last checkpoint is replayed, and :class:`~spsll.tracking.mlflow_run.RunLogger` does not
  log it twice (no duplicate).
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytorch_lightning as pl
import torch

from spsll.tracking.mlflow_run import TrackingError

STATE_KEY = "spsll_tracking"
LAST = "last.ckpt"
MLFLOW_PARAM_LENGTH = 250  # Lightning's MLFlowLogger truncates param values to this
# config keys that may differ between the interrupted and the resumed process; scheduler.T_max follows
# trainer.max_epochs (conf/scheduler/cosine.yaml), and a resumed scheduler keeps its saved T_max anyway
RESUMABLE = ("ckpt_path", "threads", "logger.", "data.num_workers", "trainer.max_epochs",
             "trainer.enable_progress_bar", "trainer.log_every_n_steps", "trainer.accelerator", "trainer.devices",
             "trainer.strategy", "trainer.num_nodes", "scheduler.T_max")


def checkpoint_file(ckpt_path, ckpt_dir: Path, project_dir: Path) -> Path | None:
    """``ckpt_path`` → the checkpoint to resume from (None: a fresh training)."""
    if ckpt_path is None or str(ckpt_path) in ("", "null", "None"):
        return None
    if str(ckpt_path) in ("last", "auto"):
        path = ckpt_dir / LAST
        if str(ckpt_path) == "auto":  # a requeued SLURM job continues; a first start starts fresh
            return path if path.is_file() else None
        if not path.is_file():
            raise FileNotFoundError(
                f"ckpt_path=last: there is no {path}. Pass the interrupted run's output folder as "
                "hydra.run.dir=<folder> (the one holding checkpoints/last.ckpt), or ckpt_path=<file.ckpt>")
        return path
    path = Path(str(ckpt_path))
    path = path if path.is_absolute() else project_dir / path
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path={ckpt_path}: no such checkpoint file ({path})")
    return path


def tracking_state(path: Path) -> dict:
    """The MLflow run recorded in a checkpoint (``{}`` for one written without tracking)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)  # our own checkpoint: trusted
    return dict(ckpt.get(STATE_KEY) or {})


def resume_command(overrides: list[str], out_dir: Path) -> str:
    keep = [o for o in overrides if not o.startswith(("ckpt_path=", "hydra.run.dir="))]
    return " ".join(["python train.py", *map(shlex.quote, keep), shlex.quote(f"hydra.run.dir={out_dir}"),
                     "ckpt_path=last"])


def write_run_record(out_dir: Path, info: dict, command: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "mlflow_run.json").write_text(json.dumps({**info, "resume_command": command}, indent=1) + "\n")


def reopen_run(uri: str, run_id: str, params: dict[str, str], source: Path) -> tuple[dict, dict, dict]:
    """Set the run RUNNING again; returns (metric steps already logged, params still to log, changed keys)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(uri)
    try:
        run = client.get_run(run_id)
    except MlflowException as err:
        raise TrackingError(f"{source} belongs to MLflow run {run_id}, which is not in {uri} ({err}); "
                            "set logger.tracking_uri to the store it was trained with") from err
    old = run.data.params
    changed = changed_params(old, params)
    refused = {k: c for k, c in changed.items() if not k.startswith(RESUMABLE)}
    if refused:
        diff = "; ".join(f"{k}: run {a!r}, now {b!r}" for k, (a, b) in sorted(refused.items()))
        raise ValueError(f"cannot resume MLflow run {run_id} with a different config ({diff}); use the "
                         "interrupted run's overrides (its overrides.yaml)")
    logged = {key: {m.step for m in client.get_metric_history(run_id, key)} for key in run.data.metrics}
    client.update_run(run_id, status="RUNNING")
    n = int(run.data.tags.get("resumed", "0")) + 1
    client.set_tag(run_id, "resumed", str(n))
    if changed:
        client.set_tag(run_id, f"resume{n}_changed", " ".join(f"{k}={b}" for k, (_, b) in sorted(changed.items())))
    return logged, {k: v for k, v in params.items() if k not in old}, changed


def changed_params(old: dict[str, str], new: dict[str, str]) -> dict[str, tuple[str, str]]:
    """{key: (run's value, new value)} of the params that differ.

    A config group switched between an empty option and one with keys (``scheduler=none`` logs
    ``scheduler: {}``, ``scheduler=cosine`` logs ``scheduler._target_``, ...) leaves no key in common;
    it is reported under the group's key.
    """
    changed = {k: (old[k], v[:MLFLOW_PARAM_LENGTH]) for k, v in new.items()
               if k in old and old[k] != v[:MLFLOW_PARAM_LENGTH]}
    def group(params, key):
        inside = {k[len(key) + 1:]: v for k, v in params.items() if k.startswith(key + ".")}
        return " ".join(f"{k}={v}" for k, v in sorted(inside.items()))[:MLFLOW_PARAM_LENGTH]

    for key in old.keys() - new.keys():  # empty in the run, set now
        if group(new, key):
            changed[key] = (old[key], group(new, key))
    for key in new.keys() - old.keys():  # set in the run, empty now
        if group(old, key):
            changed[key] = (group(old, key), new[key][:MLFLOW_PARAM_LENGTH])
    return changed


class TrackingState(pl.Callback):
    """Put the MLflow run into every checkpoint (rank 0 knows it; rank 0 writes checkpoints)."""

    def __init__(self, info: dict | None):
        self.info = dict(info or {})

    def on_save_checkpoint(self, trainer, pl_module, checkpoint):
        if self.info.get("run_id"):
            checkpoint[STATE_KEY] = dict(self.info)


class LastCheckpoint(pl.Callback):
    """``last.ckpt`` at each epoch start and at the end of training (see the module docstring).

    Lightning has advanced its epoch counter ("ready") before ``on_train_epoch_start``; a checkpoint
    taken there would restore as "epoch e+1 restarted" with epoch e's batch counters, and Lightning
    would then skip epoch e+1's batches. The counter is set back in the saved copy, which makes it the
    state Lightning itself has just after epoch e (all of whose metrics are logged): a resume starts
    epoch e+1 afresh. (The loop-state layout is that of the pinned pytorch-lightning 2.6.6; the
    resume test kills and resumes a real run.)
    """

    def __init__(self, dirpath: Path):
        self.path = Path(dirpath) / LAST
        self._at_epoch_start = False

    def _save(self, trainer, at_epoch_start: bool):
        tmp = self.path.with_name(self.path.name + ".tmp")
        self._at_epoch_start = at_epoch_start
        try:
            trainer.save_checkpoint(tmp, weights_only=False)  # every rank calls it; rank 0 writes; barrier
        finally:
            self._at_epoch_start = False
        if trainer.is_global_zero:
            os.replace(tmp, self.path)
        trainer.strategy.barrier("spsll_last_checkpoint")

    def on_save_checkpoint(self, trainer, pl_module, checkpoint):
        if self._at_epoch_start:
            progress = checkpoint["loops"]["fit_loop"]["epoch_progress"]
            for part in ("total", "current"):
                if progress[part]["ready"] == progress[part]["completed"] + 1:
                    progress[part]["ready"] -= 1

    def on_train_epoch_start(self, trainer, pl_module):
        self._save(trainer, at_epoch_start=True)

    def on_train_end(self, trainer, pl_module):
        self._save(trainer, at_epoch_start=False)
