"""Reading a trained run back, and writing results to it: the MLflow run I/O of ``evaluate.py`` and
``python -m spsll.predict``.

A run made by train.py holds ``config.yaml``, ``checkpoints/*.ckpt`` (the best) and the tags
``dataset_path``, ``dataset_sha256`` and ``dataset_data_sha256``; a local training also leaves
``config.yaml`` and ``dataset.json`` (the data file and its digests) next to its ``checkpoints/``
folder. Before scoring, :func:`check_dataset_digest` refuses a data file that is not the one the run
trained on (docs/data.md#lineage). Evaluation logs ``test/...`` metrics and artifacts back, and the
interval scales it fitted in ``calibration/calibration.json`` (merged over evaluations), which
prediction reads.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from spsll.data.hdf5 import data_digest, file_hash
from spsll.models import BASELINES, MODELS
from spsll.models.optimization import upgrade_legacy_hparams

DATASET_RECORD = "dataset.json"  # the data file of a training and its digests, in its output directory
SHORT = 12  # hex characters of a SHA-256 shown in messages
REGENERATE_HINT = ("regenerate it with the run's own config (the dataset, solver and material of its config.yaml, "
                   "its dataset_seed as generate.py's seed, overwrite=true), or evaluate another run")
CALIBRATION_FILE = "calibration.json"  # validation-fitted interval scales {"network"|"refined_<forward>": {q: s}}
CALIBRATION_DIR = "calibration"

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class DatasetDigest:
    """What a training recorded of its data file: the SHA-256 of its bytes and, since train.py records it,
    the :func:`~spsll.data.hdf5.data_digest` of its request and arrays (None for older runs)."""

    sha256: str
    data_sha256: str | None = None


def write_dataset_record(out_dir: Path, path, digest: DatasetDigest) -> Path:
    """``<out_dir>/dataset.json``: the data file a training read and its digests, for evaluating the
    local output (``ckpt_path=``) where there is no MLflow run to ask. Written whole or not at all."""
    out_dir.mkdir(parents=True, exist_ok=True)
    record = out_dir / DATASET_RECORD
    tmp = record.with_name(record.name + ".tmp")
    tmp.write_text(json.dumps({"path": str(path), "sha256": digest.sha256, "data_sha256": digest.data_sha256},
                              indent=1) + "\n")
    os.replace(tmp, record)
    return record


def local_dataset_digest(ckpt_path) -> DatasetDigest | None:
    """The digests of the data file the training of ``ckpt_path`` read (``dataset.json`` next to its
    ``checkpoints/`` folder); None for an output written before train.py recorded them."""
    record = Path(ckpt_path).resolve().parent.parent / DATASET_RECORD
    if not record.exists():
        return None
    try:
        d = json.loads(record.read_text())
        return DatasetDigest(str(d["sha256"]), d.get("data_sha256") or None)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise RunError(f"{record} is unreadable ({type(err).__name__}: {err}); it should hold the data file's "
                       "path and sha256 as train.py wrote them") from err


def run_dataset_digest(run_id: str, uri: str) -> DatasetDigest | None:
    """The digests of the data file MLflow run ``run_id`` trained on (its tags ``dataset_sha256`` and
    ``dataset_data_sha256``, else its param ``dataset.sha256``); None for a run that recorded none."""
    from mlflow.exceptions import MlflowException

    try:
        run = client(uri).get_run(run_id)
    except MlflowException as err:
        raise RunError(f"no MLflow run {run_id!r} in {uri}") from err
    sha = run.data.tags.get("dataset_sha256") or run.data.params.get("dataset.sha256")
    return DatasetDigest(sha, run.data.tags.get("dataset_data_sha256") or None) if sha else None


def check_dataset_digest(expected_sha256: DatasetDigest | str | None, path) -> None:
    """Refuse a data file that is not the one the run trained on (regenerated with other settings, or
    replaced): its test split may hold samples the model trained on, or other physics.

    The file passes when its bytes have the recorded SHA-256, or, for a file regenerated since with the
    same settings (other bytes: it stores its creation time), when its request and arrays have the
    recorded data digest. ``expected_sha256``: what :func:`run_dataset_digest` or
    :func:`local_dataset_digest` return, or a plain SHA-256 string; None (an older run or output that
    recorded nothing) checks nothing and logs a warning.
    """
    path = Path(path)
    if expected_sha256 is None:
        log.warning("the run recorded no digest of its data file: cannot check that %s is the file it "
                    "trained on", path)
        return
    expected = expected_sha256 if isinstance(expected_sha256, DatasetDigest) else DatasetDigest(str(expected_sha256))
    if not path.is_file():
        raise RunError(f"no data file at {path} (the run trained on the file with SHA-256 "
                       f"{expected.sha256[:SHORT]}); {REGENERATE_HINT}")
    actual = file_hash(path)
    if actual == expected.sha256:
        return
    if expected.data_sha256 is not None:
        if data_digest(path) == expected.data_sha256:
            log.info("%s was regenerated since the run trained on it, with the same settings and data", path)
            return
        hint = f"the file was regenerated or replaced since, with other data; {REGENERATE_HINT}"
    else:  # an older run: only the bytes, which no regeneration reproduces
        hint = ("the file was regenerated or replaced since. The run recorded only the digest of the file's bytes, "
                "which a regenerated file never has (it stores its creation time): put back the file it trained "
                "on, or evaluate another run (or retrain on this file)")
    raise RunError(f"{path} is not the data file the run trained on: SHA-256 {actual[:SHORT]}, the run's "
                   f"{expected.sha256[:SHORT]}; {hint}")


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
    classes = {**MODELS, **BASELINES}  # a baseline's checkpoint is a plain dict: no legacy hyper-parameters
    if name not in classes:
        raise RunError(f"config names model {name!r}, not one of {sorted(classes)}")
    try:
        legacy = _legacy_overrides(name, ckpt) if name in MODELS else {}
        model = classes[name].load_from_checkpoint(str(ckpt), map_location="cpu", **legacy)
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
