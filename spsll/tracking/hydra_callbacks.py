"""Hydra callbacks (registered in ``conf/train.yaml`` under ``hydra.callbacks``).

:class:`PrepareTrackingStore` runs once in the process that launches a sweep, before any job
starts: it creates the MLflow store (a new sqlite file gets its schema here) and the experiment.
Jobs started together by a parallel launcher (joblib, submitit) then only create their own runs,
which MLflow does safely, instead of racing to migrate one database or to create one experiment.
An unreachable tracking server stops the sweep here, before any job has run.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from spsll.tracking import mlflow_run

log = logging.getLogger(__name__)


class PrepareTrackingStore(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        logger_cfg = config.get("logger") or {}
        if logger_cfg.get("name") != "mlflow":
            return
        cwd = Path(config.hydra.runtime.get("cwd") or os.getcwd())
        try:
            configured, http = logger_cfg.get("tracking_uri"), logger_cfg.get("http")
        except Exception as err:  # an interpolation only a job can resolve: each job creates it (with retries)
            log.warning("MLflow store not prepared before the sweep (%s); the jobs create it", err)
            return
        mlflow_run.apply_http_settings(http)
        uri = mlflow_run.resolve_tracking_uri(configured, cwd)
        exp_id = mlflow_run.ensure_experiment(uri, str(logger_cfg.experiment_name))
        log.info("MLflow store %s ready (experiment %s, id %s) before the sweep's jobs start", uri,
                 logger_cfg.experiment_name, exp_id)
