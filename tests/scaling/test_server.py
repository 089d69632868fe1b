"""A shared tracking server: train against `mlflow server` over HTTP; lose it mid-run."""

import json
import signal
import subprocess
import time

import mlflow
import pytest

from spsll.tracking.resume import tracking_state
from tests.scaling.conftest import ROOT, MlflowServer, runs, train, train_cmd, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = MlflowServer(tmp_path_factory.mktemp("mlflow_server"))
    yield srv
    srv.kill(signal.SIGTERM)


def test_train_against_a_tracking_server(tmp_path, width_args, server):
    out = train(tmp_path, *width_args, f"logger.tracking_uri={server.uri}", "data.batch_size=8")
    assert out.returncode == 0, out.stderr[-4000:]
    assert not (tmp_path / "mlflow.db").exists()  # nothing went to a local store
    client, rs = runs(server.uri)  # read back over HTTP
    assert len(rs) == 1 and rs[0].info.status == "FINISHED"
    run = rs[0]
    assert run.data.params["model.name"] == "width_regressor" and "val/loss" in run.data.metrics
    arts = [a.path for a in client.list_artifacts(run.info.run_id)]
    assert "config.yaml" in arts and "checkpoints" in arts
    got = client.download_artifacts(run.info.run_id, "config.yaml", str(tmp_path))
    assert open(got).read() == (tmp_path / "run" / "config.yaml").read_text()
    # the server stored the artifacts in its own artifact root (proxied uploads), the runs in its database
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    assert list(server.artifacts.rglob("*.ckpt")) and list(server.artifacts.rglob("config.yaml"))


def test_server_lost_mid_run_fails_clearly_and_keeps_the_checkpoints(tmp_path, width_args, server):
    cmd = train_cmd(tmp_path, *width_args, f"logger.tracking_uri={server.uri}", "data.batch_size=8",
                    "trainer.max_epochs=500", "early_stopping.patience=1000", "logger.http.max_retries=1")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        record = tmp_path / "run" / "mlflow_run.json"

        def logged_an_epoch():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            if not record.exists():
                return False
            client = mlflow.MlflowClient(server.uri)
            return "val/loss" in client.get_run(json.loads(record.read_text())["run_id"]).data.metrics

        wait_until(logged_an_epoch, 300, "the first epoch's metrics on the server", interval=0.5)
        run_id = json.loads(record.read_text())["run_id"]
        server.kill(signal.SIGKILL)  # the server goes away, by its PID (process group)
        t_kill = time.monotonic()
        _, err = proc.communicate(timeout=300)
        elapsed = time.monotonic() - t_kill
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert f"lost the MLflow tracking server {server.uri} during training" in err, err[-3000:]
    assert "ckpt_path=last" in err and f"hydra.run.dir={tmp_path / 'run'}" in err  # the command to resume
    assert elapsed < 90, elapsed  # logger.http.max_retries=1: seconds, not MLflow's default ~4 minutes
    ckpts = tmp_path / "run" / "checkpoints"
    assert (ckpts / "last.ckpt").exists() and list(ckpts.glob("best-*.ckpt"))
    assert tracking_state(ckpts / "last.ckpt")["run_id"] == run_id  # resumable into the same run
