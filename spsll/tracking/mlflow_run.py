"""MLflow: where runs go, what a run records, and that every run ends FINISHED or FAILED.

Default store: ``sqlite:///<project>/mlflow.db`` (absolute, so every Hydra multirun job writes to
the same store). ``logger.tracking_uri`` or ``MLFLOW_TRACKING_URI`` select a server; an http(s)
server is probed first so that a wrong or unreachable URI fails within seconds, naming the URI,
and a server lost during training is retried ``logger.http.*`` times (seconds, not MLflow's default
~4 minutes) before the run fails with a :class:`TrackingError`.

The experiment (and a fresh sqlite store's schema) is created idempotently: parallel sweep jobs
that start together find it, or lose the creation race and look it up again.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from pytorch_lightning.loggers import MLFlowLogger
from pytorch_lightning.utilities.rank_zero import rank_zero_only

log = logging.getLogger(__name__)

MAX_PARAM_VALUE = 500  # MLflow accepts longer values, but the UI table is for reading
MAX_PARAM_KEY = 250


class TrackingError(RuntimeError):
    """The tracking store cannot be used (unreachable server, bad URI)."""


def resolve_tracking_uri(configured: str | None, project_dir: Path) -> str:
    uri = configured or os.environ.get("MLFLOW_TRACKING_URI") or ""
    if not uri:
        return f"sqlite:///{(project_dir / 'mlflow.db').resolve()}"
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        if not db.is_absolute():  # relative sqlite paths would give each multirun job its own store
            db = (project_dir / db).resolve()
        db.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{db}"
    if uri.startswith(("http://", "https://")):
        check_server(uri)
        return uri
    raise TrackingError(f"unsupported MLflow tracking URI {uri!r}: use sqlite:///<abs path>/mlflow.db or "
                        "http(s)://host:port (MLflow 3 refuses the ./mlruns file store)")


def check_server(uri: str, timeout: float = 5.0) -> None:
    """Fail fast (≤ ``timeout`` s) with the URI in the message when the server does not answer."""
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            if resp.status != 200:
                raise TrackingError(f"MLflow server {uri} answered {resp.status} on /health")
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise TrackingError(f"cannot reach the MLflow tracking server at {uri} ({err}); start it or "
                            "set logger.tracking_uri / MLFLOW_TRACKING_URI") from err


def flatten(d, prefix: str = "") -> dict[str, str]:
    """Nested config → ``{"optimizer.lr": "0.001", ...}`` within MLflow's key/value limits."""
    out = {}
    items = d.items() if isinstance(d, dict) else enumerate(d)
    for k, v in items:
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(flatten(v, key))
        else:
            text = json.dumps(v) if isinstance(v, (list, tuple, dict)) else str(v)
            out[key[:MAX_PARAM_KEY]] = text if len(text) <= MAX_PARAM_VALUE else text[: MAX_PARAM_VALUE - 3] + "..."
    return out


def run_name(model: str, overrides: list[str]) -> str:
    """Readable run name: the model and the user's overrides (minus the model choice itself)."""
    rest = [o for o in overrides if not o.startswith(("model=", "hydra", "logger."))]
    return " ".join([model, *rest])[:250]


HTTP_ENV = {"max_retries": "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "backoff_factor": "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
            "timeout_s": "MLFLOW_HTTP_REQUEST_TIMEOUT"}


def apply_http_settings(http) -> None:
    """``logger.http`` → MLflow's HTTP client settings (environment variables read per request)."""
    for key, env in HTTP_ENV.items():
        value = (http or {}).get(key)
        if value is not None:
            os.environ[env] = str(int(value))


def ensure_experiment(uri: str, name: str, attempts: int = 5) -> str:
    """The experiment's id, created if absent; safe when several processes do this at once."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    last = None
    for i in range(attempts):
        try:
            client = MlflowClient(uri)  # a fresh sqlite store gets its schema here
            exp = client.get_experiment_by_name(name)
            if exp is not None:
                if exp.lifecycle_stage == "deleted":
                    raise TrackingError(f"experiment {name!r} in {uri} is deleted; restore it "
                                        "(mlflow experiments restore) or choose logger.experiment_name")
                return exp.experiment_id
            return client.create_experiment(name)
        except MlflowException as err:  # lost a creation race (already exists) or a busy sqlite store
            last = err
            time.sleep(0.2 * (i + 1))
        except Exception as err:  # sqlalchemy errors while two processes migrate a new store
            if "already exists" not in str(err) and "locked" not in str(err):
                raise
            last = err
            time.sleep(0.2 * (i + 1))
    raise TrackingError(f"cannot create or find experiment {name!r} in {uri}: {last}") from last


class RunLogger(MLFlowLogger):
    """Lightning's MLflow logger with two additions for resumed runs and lost servers.

    * ``skip_logged``: ``{metric: {steps}}`` already in the run; a resumed training that replays
      part of an interrupted epoch does not log those (key, step) pairs twice.
    * ``finalize`` never raises: a run whose server is gone is reported by ``spsll.training.run``.
    """

    def __init__(self, *args, skip_logged: dict[str, set[int]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_logged = skip_logged or {}

    @rank_zero_only
    def log_metrics(self, metrics, step=None):
        if self.skip_logged:
            s = int(step or 0)
            metrics = {k: v for k, v in metrics.items() if s not in self.skip_logged.get(k, ())}
            if not metrics:
                return
        super().log_metrics(metrics, step)

    @rank_zero_only
    def finalize(self, status: str = "success") -> None:
        if status == "failed" and server_lost(self._tracking_uri):
            log.warning("MLflow server %s is gone: run %s stays as it was there", self._tracking_uri, self._run_id)
            return
        try:
            super().finalize(status)
        except Exception as err:  # the caller (spsll.training.run) reports the tracking failure
            log.warning("could not mark MLflow run %s %s: %s", self._run_id, status, err)


def make_logger(*, experiment: str, uri: str, name: str, tags: dict[str, str], run_id: str | None = None,
                skip_logged: dict[str, set[int]] | None = None) -> RunLogger:
    """A logger on a new run (created now, before training starts) or, with ``run_id``, an existing one."""
    if run_id is None and rank_zero_only.rank == 0:
        ensure_experiment(uri, experiment)
    logger = RunLogger(experiment_name=experiment, run_name=None if run_id else name, tracking_uri=uri,
                       tags=None if run_id else tags, log_model=False, run_id=run_id, skip_logged=skip_logged)
    _ = logger.run_id  # creates (or opens) the run now; None on ranks > 0 (Lightning's rank-zero logger)
    return logger


def log_artifact(logger: MLFlowLogger, path, artifact_path: str | None = None) -> None:
    logger.experiment.log_artifact(logger.run_id, str(path), artifact_path)


INPUT_ATTEMPTS = 5  # log_inputs retries when parallel jobs insert the same dataset at once
DATASET_DIGEST_CHARS = 32  # MLflow stores a dataset digest in at most 36 characters: SHA-256's first 32 hex


def log_dataset_input(logger: MLFlowLogger, path: Path, sha256: str, kind: str, data_sha256: str | None = None) -> None:
    """The data file as the run's training input (the run's Inputs in the UI): digest = the first
    ``DATASET_DIGEST_CHARS`` hex of its SHA-256 (the whole one in the input tag ``sha256``, the data
    digest of spsll.data.hdf5 in ``data_sha256``), source = its absolute path."""
    from mlflow.data.sources import LocalArtifactDatasetSource
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    source = LocalArtifactDatasetSource(str(Path(path).resolve()))
    dataset = Dataset(name=Path(path).name, digest=sha256[:DATASET_DIGEST_CHARS], source_type="local",
                      source=source.to_json())
    tags = [InputTag(MLFLOW_DATASET_CONTEXT, "training"), InputTag("kind", kind), InputTag("sha256", sha256)]
    if data_sha256:
        tags.append(InputTag("data_sha256", data_sha256))
    for attempt in range(INPUT_ATTEMPTS):
        try:
            logger.experiment.log_inputs(logger.run_id, datasets=[DatasetInput(dataset, tags)])
            return
        except Exception as err:
            # Parallel jobs of a sweep logging the same new dataset race on its row in a SQL store (one
            # insert loses on the unique constraint); the dataset then exists, and a retry links it to the run.
            if attempt == INPUT_ATTEMPTS - 1 or not any(s in str(err) for s in ("IntegrityError", "UNIQUE constraint")):
                raise
            time.sleep(0.2 * (attempt + 1))


def end_run(logger: MLFlowLogger, ok: bool) -> None:
    """Mark the run FINISHED or FAILED (never left RUNNING)."""
    logger.experiment.set_terminated(logger.run_id, "FINISHED" if ok else "FAILED")


def server_lost(uri: str | None) -> bool:
    """True when ``uri`` is a tracking server that no longer answers (a local store is never lost)."""
    if not uri or not uri.startswith(("http://", "https://")):
        return False
    try:
        check_server(uri, timeout=3.0)
    except TrackingError:
        return True
    return False
