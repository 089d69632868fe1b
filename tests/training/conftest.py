import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

ROOT = Path(__file__).resolve().parents[2]


def train(tmp_path, *overrides, multirun=False, timeout=600, env=None):
    """Run the real ``train.py`` with a store and data under ``tmp_path``."""
    cmd = [sys.executable, "train.py"] + (["-m"] if multirun else []) + [
        f"logger.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}",
        "trainer.max_epochs=1", "trainer.enable_progress_bar=false", "threads=1",
        f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'multirun'}",
        *overrides,
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def run_entry(tmp_path, entry: list[str], *overrides, run_dir: str, timeout=600):
    """Run a Hydra entry point (``["evaluate.py"]``, ``["-m", "spsll.predict"]``) against the MLflow
    store under ``tmp_path``."""
    cmd = [sys.executable, *entry, f"logger.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}",
           f"hydra.run.dir={tmp_path / run_dir}", *overrides]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def runs(tmp_path):
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("spsll")
    return client, ([] if exp is None else client.search_runs([exp.experiment_id]))


def artifacts(client, run_id, path=None):
    out = []
    for a in client.list_artifacts(run_id, path):
        out += artifacts(client, run_id, a.path) if a.is_dir else [a.path]
    return out


@pytest.fixture(scope="session")
def small_data(tmp_path_factory):
    """Tiny datasets shared by the training tests (generated once, through the real CLI): 24 dispersions
    and 96 walls, the settings of ``dataset=<kind>_small`` as they are, so that ``train.py
    dataset=<kind>_small dataset.path=<file>`` matches the file's generation request (train.py refuses
    a file generated with other settings)."""
    d = tmp_path_factory.mktemp("data")
    paths = {"dispersion": d / "disp.h5", "domain_wall": d / "dw.h5"}
    for kind in ("dispersion", "domain_wall"):
        out = subprocess.run([sys.executable, "generate.py", f"dataset={kind}_small", f"dataset.path={paths[kind]}",
                              "progress=false", "figures=false", "threads=1"],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
    return paths
