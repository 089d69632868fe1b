"""Resume: kill -9 a training mid-epoch, continue it with ckpt_path=last into the same MLflow run."""

import os
import signal
import subprocess
import time

import pytest
import torch

from tests.scaling.conftest import ROOT, history, runs, train, train_cmd, wait_until


@pytest.mark.slow
def test_killed_mid_epoch_resumes_into_the_same_run(tmp_path, width_args):
    # batch 1: 32 steps per epoch, long enough to kill inside one. ckpt_path=auto on the first start:
    # no last.ckpt yet, so a fresh run (what a requeued SLURM job does the first time)
    args = [*width_args, "data.batch_size=1", "trainer.max_epochs=3"]
    proc = subprocess.Popen(train_cmd(tmp_path, *args, "ckpt_path=auto"), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    try:
        def last_ckpt():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            return last.exists()

        wait_until(last_ckpt, 300, "last.ckpt of epoch 0", interval=0.01)  # written as epoch 0 starts
        first, t0 = os.stat(last).st_ino, time.monotonic()
        wait_until(lambda: last_ckpt() and os.stat(last).st_ino != first, 300, "last.ckpt of epoch 1", interval=0.01)
        epoch = time.monotonic() - t0  # one epoch (train + validation)
        time.sleep(0.3 * epoch)  # well inside epoch 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, rs = runs(uri)
    assert len(rs) == 1 and rs[0].info.status == "RUNNING"  # killed: nobody could end it
    run_id = rs[0].info.run_id
    assert len(history(client, run_id, "train/loss")) == 1  # epoch 0 complete ...
    assert len(history(client, run_id, "lr-Adam")) == 2  # ... and epoch 1 started: killed mid-epoch
    assert torch.load(last, map_location="cpu", weights_only=False)["epoch"] == 1

    out = train(tmp_path, *args, "ckpt_path=last")  # the same overrides, the same hydra.run.dir
    assert out.returncode == 0, out.stderr[-4000:]
    assert f"resuming MLflow run {run_id}" in out.stdout + out.stderr
    client, rs = runs(uri)
    assert len(rs) == 1 and rs[0].info.run_id == run_id and rs[0].info.status == "FINISHED"
    assert rs[0].data.tags["resumed"] == "1"
    steps_per_epoch = 32
    for key in ("train/loss", "val/loss", "val/mae_tau_nm"):  # one entry per epoch: no gap, no duplicate
        assert [s for s, _ in history(client, run_id, key)] == [31, 63, 95], key
    assert [s for s, _ in history(client, run_id, "lr-Adam")] == [0, steps_per_epoch, 2 * steps_per_epoch]

    # a resume with another config is refused (MLflow params are immutable; the run would lie)
    out = train(tmp_path, *args, "ckpt_path=last", "optimizer.lr=0.5")
    assert out.returncode != 0 and f"cannot resume MLflow run {run_id} with a different config" in out.stderr
    assert "optimizer.lr" in out.stderr
    out = train(tmp_path, *args, "ckpt_path=last", "scheduler=none")  # a group switched to its empty option
    assert out.returncode != 0 and "scheduler: run '_partial_=True _target_=" in out.stderr, out.stderr[-2000:]
    assert runs(uri)[1][0].info.status == "FINISHED"


def test_ckpt_path_last_without_a_checkpoint(tmp_path, width_args):
    out = train(tmp_path, *width_args, "ckpt_path=last", "logger=none")
    assert out.returncode != 0
    assert f"ckpt_path=last: there is no {tmp_path / 'run' / 'checkpoints' / 'last.ckpt'}" in out.stderr
    assert "hydra.run.dir=" in out.stderr
