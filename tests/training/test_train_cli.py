"""train.py through the real CLI, read back from the MLflow store."""

import time

import h5py
import pytest

from spsll.data.hdf5 import file_hash
from tests.training.conftest import artifacts, runs, train

SMALL = {"inverse_cnn": "dispersion", "tfc_pinn": "dispersion", "width_regressor": "domain_wall"}


@pytest.mark.parametrize("model", ["inverse_cnn", "tfc_pinn", "width_regressor"])
def test_one_epoch_is_tracked(tmp_path, small_data, model):
    kind = SMALL[model]
    out = train(tmp_path, f"model={model}", f"dataset={kind}_small", f"dataset.path={small_data[kind]}",
                "data.batch_size=8")
    assert out.returncode == 0, out.stderr[-3000:]
    client, rs = runs(tmp_path)
    assert len(rs) == 1
    r = rs[0]
    assert r.info.status == "FINISHED"
    assert r.data.params["model.name"] == model and r.data.params["dataset.sha256"] == file_hash(small_data[kind])
    assert r.data.tags["dataset_path"] == str(small_data[kind])
    assert r.data.tags["dataset_sha256"] == file_hash(small_data[kind])
    (ds_input,) = client.get_run(r.info.run_id).inputs.dataset_inputs  # the data file as the run's input
    assert ds_input.dataset.digest == file_hash(small_data[kind])[:32]
    assert ds_input.dataset.source_type == "local" and str(small_data[kind]) in ds_input.dataset.source
    for m in ("train/loss", "val/loss"):
        assert m in r.data.metrics
    maes = [m for m in r.data.metrics if "mae" in m and m.startswith("val/")]
    assert maes, r.data.metrics
    if model == "tfc_pinn":
        assert {"val/mae_thz", "val/max_mae_k_thz", "train/loss_physics"} <= set(r.data.metrics)
    else:
        assert {"val/mae_sigma_nm", "val/mae_tau_nm", "val/mae_phi"} <= set(r.data.metrics)
    arts = artifacts(client, r.info.run_id)
    assert "config.yaml" in arts and "overrides.yaml" in arts and "dataset.json" in arts
    assert any(a.endswith(".ckpt") for a in arts), arts
    assert any("hist" in a and a.endswith(".png") for a in arts), arts
    assert r.info.run_name.startswith(model)


def test_dataset_generated_on_first_use(tmp_path):
    path = tmp_path / "new.h5"
    out = train(tmp_path, "model=width_regressor", "dataset=domain_wall_small", f"dataset.path={path}",
                "dataset.n_samples=40", "dataset.chunk_size=20", "logger=none")
    assert out.returncode == 0, out.stderr[-3000:]
    with h5py.File(path, "r") as f:
        assert f.attrs["complete"] and f.attrs["kind"] == "domain_wall" and len(f["mz"]) == 40


def test_multirun_gives_one_run_per_job_in_one_store(tmp_path, small_data):
    out = train(tmp_path, "model=inverse_cnn", "dataset=dispersion_small",
                f"dataset.path={small_data['dispersion']}", "optimizer.lr=1e-3,3e-4", "data.batch_size=8",
                multirun=True)
    assert out.returncode == 0, out.stderr[-3000:]
    _, rs = runs(tmp_path)
    assert len(rs) == 2 and {r.info.status for r in rs} == {"FINISHED"}
    assert {r.data.params["optimizer.lr"] for r in rs} == {"0.001", "0.0003"}
    assert len({r.data.tags["sweep"] for r in rs}) == 1  # tagged with their sweep


def test_unknown_model_name(tmp_path):
    out = train(tmp_path, "model=transformer")
    assert out.returncode != 0
    assert "transformer" in out.stderr and "inverse_cnn" in out.stderr  # Hydra lists the choices


def test_dataset_of_the_wrong_kind(tmp_path, small_data):
    out = train(tmp_path, "model=width_regressor", f"dataset.path={small_data['dispersion']}", "logger=none")
    assert out.returncode != 0
    assert "holds a dispersion dataset, but model width_regressor needs a domain_wall dataset" in out.stderr


def test_incomplete_file_refused(tmp_path, small_data):
    bad = tmp_path / "incomplete.h5"
    bad.write_bytes(small_data["dispersion"].read_bytes())
    with h5py.File(bad, "r+") as f:
        f.attrs["complete"] = False
    out = train(tmp_path, "model=inverse_cnn", "dataset=dispersion_small", f"dataset.path={bad}", "logger=none")
    assert out.returncode != 0 and "not marked complete" in out.stderr


def test_unreachable_tracking_server_fails_fast(tmp_path, small_data):
    t0 = time.monotonic()
    out = train(tmp_path, "model=inverse_cnn", "dataset=dispersion_small",
                f"dataset.path={small_data['dispersion']}", "logger.tracking_uri=http://127.0.0.1:9")
    elapsed = time.monotonic() - t0
    assert out.returncode != 0 and "http://127.0.0.1:9" in out.stderr
    assert elapsed < 60  # start-up of python + imports dominates; the probe itself times out in 5 s


def test_nan_loss_fails_the_run(tmp_path, small_data):
    out = train(tmp_path, "model=inverse_cnn", "dataset=dispersion_small", f"dataset.path={small_data['dispersion']}",
                "optimizer.lr=1e30", "trainer.max_epochs=3", "data.batch_size=4")
    assert out.returncode != 0 and "non-finite training loss" in out.stderr
    _, rs = runs(tmp_path)
    assert len(rs) == 1 and rs[0].info.status == "FAILED"


@pytest.mark.slow
def test_optuna_hparams_search(tmp_path, small_data):
    out = train(tmp_path, "hparams_search=tfc_pinn_optuna", "hydra.sweeper.n_trials=2", "dataset=dispersion_small",
                f"dataset.path={small_data['dispersion']}", "data.batch_size=8", multirun=True)
    assert out.returncode == 0, out.stderr[-3000:]
    _, rs = runs(tmp_path)
    assert len(rs) == 2 and {r.info.status for r in rs} == {"FINISHED"}
    result = (tmp_path / "multirun" / "optimization_results.yaml").read_text()
    assert "best_params" in result and "optimizer.lr" in result  # the sweeper minimised train.py's return value


def test_tracking_uri_from_environment(tmp_path, small_data):
    import os

    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'env.db'}")
    out = train(tmp_path, "model=tfc_pinn", "dataset=dispersion_small", f"dataset.path={small_data['dispersion']}",
                "logger.tracking_uri=null", env=env)  # overrides the helper's own URI: the environment decides
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "env.db").exists() and not (tmp_path / "mlflow.db").exists()
    import mlflow

    client = mlflow.MlflowClient(env["MLFLOW_TRACKING_URI"])
    rs = client.search_runs([client.get_experiment_by_name("spsll").experiment_id])
    assert len(rs) == 1 and rs[0].info.status == "FINISHED"
