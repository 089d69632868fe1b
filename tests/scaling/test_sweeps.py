"""Parallel sweeps into one MLflow store: joblib (2 jobs at a time) and submitit's local executor."""

import pytest

from tests.scaling.conftest import runs, train


def max_concurrency(rs) -> int:
    events = sorted([(r.info.start_time, 1) for r in rs] + [(r.info.end_time, -1) for r in rs],
                    key=lambda e: (e[0], e[1]))  # an end before a start at the same millisecond
    level = peak = 0
    for _, d in events:
        level += d
        peak = max(peak, level)
    return peak


@pytest.mark.slow
def test_joblib_sweep_two_at_a_time_one_store_and_a_crashing_job(tmp_path, width_args):
    """4 jobs, 2 at a time, into a store that does not exist yet; job 3 diverges (lr 1e30 → NaN)."""
    lrs = {"0.001", "0.0003", "0.0001"}
    out = train(tmp_path, *width_args, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "data.batch_size=8",
                "optimizer.lr=1e-3,3e-4,1e-4,1e30", multirun=True)
    log = out.stdout + out.stderr
    assert out.returncode != 0 and "non-finite training loss" in log  # the sweep reports its failed job
    # the store and experiment were made once, before the jobs started (no creation race)
    assert "before the sweep's jobs start" in log and log.index("before the sweep's jobs start") < log.index(
        "Launching jobs")
    _, rs = runs(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert len(rs) == 4  # one run per job: none lost, none duplicated
    assert sorted(r.data.tags["sweep_job"] for r in rs) == ["0", "1", "2", "3"]
    assert len({r.data.tags["sweep"] for r in rs}) == 1
    finished = [r for r in rs if r.info.status == "FINISHED"]
    failed = [r for r in rs if r.info.status == "FAILED"]
    assert {r.data.params["optimizer.lr"] for r in finished} == lrs and len(finished) == 3
    assert len(failed) == 1 and failed[0].data.params["optimizer.lr"] == "1e+30"
    for r in finished:  # the crash left the other jobs' runs whole
        assert {"train/loss", "val/loss"} <= set(r.data.metrics)
        assert (tmp_path / "multirun" / r.data.tags["sweep_job"] / "checkpoints" / "last.ckpt").exists()
    assert max_concurrency(rs) == 2  # n_jobs=2: two jobs at a time, never more


@pytest.mark.slow
def test_submitit_local_sweep_float32_and_bf16(tmp_path, width_args):
    """submitit's local executor (the SLURM launcher's code path without SLURM): 2 jobs as separate
    processes, float32 and bf16 mixed precision (the GPU precision options, here on CPU)."""
    out = train(tmp_path, *width_args, "hydra/launcher=submitit_local", "data.batch_size=8",
                "trainer.precision=32-true,bf16-mixed", multirun=True)
    assert out.returncode == 0, out.stderr[-4000:]
    _, rs = runs(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert len(rs) == 2 and {r.info.status for r in rs} == {"FINISHED"}
    assert {r.data.params["trainer.precision"] for r in rs} == {"32-true", "bf16-mixed"}
    vals = [r.data.metrics["val/loss"] for r in rs]
    assert all(v == v for v in vals) and vals[0] != vals[1]  # finite, and bf16 really computed differently
    assert list((tmp_path / "multirun" / ".submitit").iterdir())  # submitit's job folders
