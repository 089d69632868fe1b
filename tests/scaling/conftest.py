"""Shared by the scaling tests: one tiny domain-wall dataset and the train.py runner.

40 walls split 32/4/4, so a global batch of 8 (2 processes x 4, or 1 x 8) gives 4 full steps per
epoch. Everything runs real processes through the real entry points.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pytest

ROOT = Path(__file__).resolve().parents[2]


def train_cmd(tmp_path, *overrides, multirun=False):
    return [sys.executable, "train.py", *(["-m"] if multirun else []),
            f"logger.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", "trainer.max_epochs=1",
            "trainer.enable_progress_bar=false", "threads=1", f"hydra.run.dir={tmp_path / 'run'}",
            f"hydra.sweep.dir={tmp_path / 'multirun'}", *overrides]


def train(tmp_path, *overrides, multirun=False, timeout=600, env=None):
    """Run the real ``train.py`` (later overrides win over the defaults above)."""
    return subprocess.run(train_cmd(tmp_path, *overrides, multirun=multirun), cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


def runs(uri):
    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name("spsll")
    return client, ([] if exp is None else client.search_runs([exp.experiment_id]))


def history(client, run_id, key):
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.2):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class MlflowServer:
    """``mlflow server`` on 127.0.0.1:<free port>, sqlite backend, proxied artifacts in a temp folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.artifacts = folder / "artifacts"
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")  # no GenAI job workers
        self.log = open(folder / "server.log", "w")  # closed in kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder / 'server.db'}",
             "--artifacts-destination", str(self.artifacts), "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        wait_until(self.healthy, 180, f"mlflow server on port {self.port}")

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"mlflow server exited: {(self.folder / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(self.uri + "/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def kill(self, sig=signal.SIGKILL):
        """Stop the server and its workers: the whole process group started for it (by its PID)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(30)
        self.log.close()


@pytest.fixture(scope="session")
def walls(tmp_path_factory):
    path = tmp_path_factory.mktemp("scaling_data") / "walls.h5"
    out = subprocess.run([sys.executable, "generate.py", "dataset=domain_wall_small", f"dataset.path={path}",
                          "dataset.n_samples=40", "dataset.chunk_size=40", "progress=false", "figures=false",
                          "threads=1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return path


@pytest.fixture
def width_args(walls):
    # the settings the file was generated with: train.py refuses a file made with others
    return ["model=width_regressor", "dataset=domain_wall_small", f"dataset.path={walls}", "dataset.n_samples=40",
            "dataset.chunk_size=40"]
