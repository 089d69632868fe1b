"""MLflow: where runs go, what a run records, and that every run ends FINISHED or FAILED.

Default store: ``sqlite:///<project>/mlflow.db`` (absolute, so every Hydra multirun job writes to
the same store). ``logger.tracking_uri`` or ``MLFLOW_TRACKING_URI`` select a server; an http(s)
server is probed first so that a wrong or unreachable URI fails within seconds, naming the URI.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from pytorch_lightning.loggers import MLFlowLogger

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
    """Nested config → ``{"model.lr": "0.001", ...}`` within MLflow's key/value limits."""
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


def make_logger(*, experiment: str, uri: str, name: str, tags: dict[str, str]) -> MLFlowLogger:
    logger = MLFlowLogger(experiment_name=experiment, run_name=name, tracking_uri=uri, tags=tags,
                          log_model=False)
    _ = logger.run_id  # creates the experiment and the run now, before training starts
    return logger


def log_artifact(logger: MLFlowLogger, path, artifact_path: str | None = None) -> None:
    logger.experiment.log_artifact(logger.run_id, str(path), artifact_path)


def end_run(logger: MLFlowLogger, ok: bool) -> None:
    """Mark the run FINISHED or FAILED (never left RUNNING)."""
    logger.experiment.set_terminated(logger.run_id, "FINISHED" if ok else "FAILED")
