"""Reading a trained run back, and writing results to it: the MLflow run I/O of ``evaluate.py`` and
``python -m spsll.predict``.

A run made by train.py holds ``config.yaml``, ``checkpoints/*.ckpt`` (the best) and the tag
``dataset_path``; a local training also leaves ``config.yaml`` next to its ``checkpoints/`` folder.
Evaluation logs ``test/...`` metrics and artifacts back, and the interval scales it fitted in
``calibration/calibration.json`` (merged over evaluations), which prediction reads.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import torch
import yaml

from spsll.models import MODELS
from spsll.models.optimization import upgrade_legacy_hparams

CALIBRATION_FILE = "calibration.json"  # validation-fitted interval scales {"network"|"refined_<forward>": {q: s}}
CALIBRATION_DIR = "calibration"


class RunError(RuntimeError):
    """The run, its config or its checkpoint is missing or inconsistent."""


def client(uri: str):
    import mlflow

    return mlflow.MlflowClient(uri)


def fetch_run(run_id: str, uri: str, workdir: Path) -> tuple[dict, Path, str]:
    """(config, checkpoint path, dataset path) of an MLflow run; the files are downloaded to ``workdir``."""
    from mlflow.exceptions import MlflowException

    mlflow_client = client(uri)
    try:
        run = mlflow_client.get_run(run_id)
    except MlflowException as err:
        raise RunError(f"no MLflow run {run_id!r} in {uri}") from err
    try:
        cfg_file = mlflow_client.download_artifacts(run_id, "config.yaml", str(workdir))
    except (MlflowException, OSError) as err:
        raise RunError(f"run {run_id} has no config.yaml artifact (not made by train.py?)") from err
    ckpts = [a.path for a in mlflow_client.list_artifacts(run_id, "checkpoints") if a.path.endswith(".ckpt")]
    if not ckpts:
        raise RunError(f"run {run_id} has no checkpoint artifact (checkpoints/*.ckpt); it cannot be "
                       f"evaluated (status {run.info.status})")
    ckpt = Path(mlflow_client.download_artifacts(run_id, sorted(ckpts)[-1], str(workdir)))
    cfg = yaml.safe_load(Path(cfg_file).read_text())
    data = run.data.tags.get("dataset_path") or cfg["dataset"]["path"]
    return cfg, ckpt, data


def config_next_to(ckpt: Path) -> dict:
    """train.py writes config.yaml next to the checkpoints folder of its output directory."""
    cfg = ckpt.resolve().parent.parent / "config.yaml"
    if not cfg.exists():
        raise RunError(f"no config.yaml next to {ckpt} (expected {cfg}); pass run_id= instead")
    return yaml.safe_load(cfg.read_text())


def _legacy_overrides(name: str, ckpt: Path) -> dict:
    """Optimizer and scheduler specs for a checkpoint written before they existed (its flat keys lr,
    weight_decay, lr_schedule, factor, patience: :func:`spsll.models.optimization.upgrade_legacy_hparams`);
    {} for a newer one. Without them the model would load with default specs, not the ones it trained with."""
    checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)  # the same restriction as Lightning's load
    hparams = checkpoint.get("hyper_parameters") or {}
    upgraded = upgrade_legacy_hparams(hparams, name, checkpoint.get("lr_schedulers"))
    return {k: upgraded[k] for k in ("optimizer", "scheduler") if k not in hparams}


def load_model(name: str, ckpt: Path):
    """The trained model of a checkpoint, on the CPU, in eval mode."""
    if name not in MODELS:
        raise RunError(f"config names model {name!r}, not one of {sorted(MODELS)}")
    try:
        legacy = _legacy_overrides(name, ckpt)
        model = MODELS[name].load_from_checkpoint(str(ckpt), map_location="cpu", **legacy)
    except (RuntimeError, TypeError, KeyError, ValueError) as err:
        raise RunError(f"checkpoint {ckpt} does not match model {name} ({type(err).__name__}: "
                       f"{str(err)[:300]})") from err
    return model.eval()


def loss_history(run_id: str, uri: str) -> tuple[str, dict[str, list[tuple[int, float]]]]:
    """(run name, {"train/loss"|"val/loss": [(epoch, value), ...]}) from the run's metric history."""
    mlflow_client = client(uri)
    epochs = {m.step: m.value for m in mlflow_client.get_metric_history(run_id, "epoch")}
    hist = {}
    for key in ("train/loss", "val/loss"):
        points = mlflow_client.get_metric_history(run_id, key)
        hist[key] = sorted((int(epochs.get(m.step, i)), m.value) for i, m in enumerate(points))
    return mlflow_client.get_run(run_id).info.run_name, hist


def log_results(run_id: str, uri: str, metrics: dict[str, float], artifacts: list[Path], folder: str) -> None:
    """Finite ``metrics`` as ``<folder>/<key>`` and ``artifacts`` under ``<folder>/``."""
    mlflow_client = client(uri)
    for key, value in metrics.items():
        if math.isfinite(float(value)):
            mlflow_client.log_metric(run_id, f"{folder}/{key}", float(value))
    for path in artifacts:
        mlflow_client.log_artifact(run_id, str(path), folder)


def read_calibration(run_id: str, uri: str, workdir: Path | None = None) -> dict:
    """The interval scales logged to the run by evaluations ({} when it has none, or none readable)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client(uri).download_artifacts(run_id, f"{CALIBRATION_DIR}/{CALIBRATION_FILE}",
                                                  str(workdir or tmp))
            return json.loads(Path(path).read_text())
        except Exception:  # noqa: BLE001  (not evaluated yet, or unreadable: no scales)
            return {}


def log_calibration(run_id: str, uri: str, scales: dict) -> None:
    """Merge ``scales`` into the run's calibration artifact (an evaluation with refine=true adds its
    refined scales to those of an earlier one, and the reverse)."""
    merged = {**read_calibration(run_id, uri), **scales}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / CALIBRATION_FILE
        path.write_text(json.dumps(merged, indent=2))
        client(uri).log_artifact(run_id, str(path), CALIBRATION_DIR)
