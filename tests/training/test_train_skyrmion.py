"""The skyrmion models through the pipeline (docs/skyrmion-models.md): the inverse network by the real train.py on
skyrmion_small generated on first use, then the forward network and both baselines (same config composition and
run_train as train.py), each read back from the MLflow store; evaluate.py on the inverse network with m_z noise and
on the forward baseline; predict on a survivor's crop written as .npy, its relaxation check against the dataset's
own physics; bad settings and inputs refused."""

import json
import math

import h5py
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from spsll.data.provenance import physics_of_dataset
from spsll.evaluation.cli import run_evaluate
from spsll.evaluation.inputs import EvaluationError
from spsll.prediction.cli import run_predict
from spsll.prediction.observed import InputError
from spsll.prediction.texture import relax_at
from spsll.training.config_checks import validate_baseline_config, validate_train_config
from spsll.training.run import run_train
from tests.training.conftest import ROOT, artifacts, run_entry, runs, train

FORWARD = ("brier", "ece", "accuracy", "log_loss", "radius_rel_mae", "radius_mae_nm", "radius_within_2pct")
INVERSE = ("mae_sigma_nm", "mae_tau_nm", "mae_phi", "mae_T_nm")


def compose_in(tmp_path, config_name, *overrides):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name, overrides=[f"logger.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", *overrides])


def config(tmp_path, *overrides):
    return compose_in(tmp_path, "train", "trainer.max_epochs=1", "trainer.enable_progress_bar=false", "threads=1",
                      *overrides)


def by_model(tmp_path):
    client, rs = runs(tmp_path)
    return client, {r.data.params["model.name"]: r for r in rs}


def predict(tmp_path, *overrides):
    return run_predict(compose_in(tmp_path, "predict", *overrides))


@pytest.mark.slow  # train.py and evaluate.py processes and 16 relaxed skyrmions (~50 s on the shared machine)
def test_skyrmion_models_train_evaluate_and_predict(tmp_path, monkeypatch):
    data = tmp_path / "sky.h5"
    small = ["dataset=skyrmion_small", f"dataset.path={data}", "data.batch_size=8"]
    out = train(tmp_path, "model=skyrmion_inverse", *small)  # the 16 skyrmions are generated on first use
    assert out.returncode == 0, out.stderr[-3000:]
    with h5py.File(data, "r") as f:
        rows = {k: f[k][:] for k in ("split", "survived", "converged", "sigma_nm", "tau_nm", "B_T", "radius_nm", "mz")}
    client, models = by_model(tmp_path)
    inv = models["skyrmion_inverse"]
    assert inv.info.status == "FINISHED" and inv.data.tags["dataset_path"] == str(data)
    assert {f"val/{m}" for m in (*INVERSE, "loss", "nll")} <= set(inv.data.metrics)
    (version,) = client.search_model_versions("name='spsll_inverse_skyrmion'")
    assert version.run_id == inv.info.run_id

    for name in ("skyrmion_forward", "skyrmion_forward_ridge", "skyrmion_inverse_ridge"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)  # run_train without Hydra writes to ./outputs/train/manual
        run_train(config(tmp_path, f"model={name}", *small, "logger.register_model=false"))
    client, models = by_model(tmp_path)
    for name, names in (("skyrmion_forward", (*FORWARD, "loss", "bce")), ("skyrmion_forward_ridge", FORWARD),
                        ("skyrmion_inverse_ridge", INVERSE)):
        r = models[name]
        assert r.info.status == "FINISHED", name
        assert {f"val/{m}" for m in names} <= set(r.data.metrics), name
        assert 0 <= r.data.metrics.get("val/brier", 0) <= 1 and math.isfinite(r.data.metrics[f"val/{names[0]}"])
        assert any(a.startswith("checkpoints/") and a.endswith(".ckpt") for a in artifacts(client, r.info.run_id))
    assert models["skyrmion_inverse_ridge"].data.params["selected.targets"] in ("phi_T", "sigma_tau")

    # evaluate.py on the inverse network, noiseless and at two m_z noise levels: survivors of the test split only
    summary_path = tmp_path / "inv.json"
    ev = run_entry(tmp_path, ["evaluate.py"], f"run_id={inv.info.run_id}", "noise_mz=[0.01,0.05]",
                   f"output={summary_path}", "threads=1", run_dir="eval")
    assert ev.returncode == 0, ev.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    test = rows["split"] == 2
    assert summary["n_test"] == int((test & rows["survived"]).sum()) and summary["rows"] == "survivors"
    assert summary["n_test_excluded"] == int((test & ~rows["survived"]).sum())
    assert set(summary["noise"]) == {"0.01", "0.05"} and summary["calibration"]["scales"] is not None
    logged = client.get_run(inv.info.run_id).data.metrics
    assert logged["test/mae_phi"] == pytest.approx(summary["metrics"]["mae_phi"])
    assert logged["test/noise0p05mz_mae_phi"] == pytest.approx(summary["noise"]["0.05"]["metrics"]["mae_phi"])
    assert {"test/test_pred_vs_true.png", "test/test_noise0p05mz_pred_vs_true.png"} <= set(
        artifacts(client, inv.info.run_id, "test"))

    # evaluate (in this process) on the forward baseline: the reliability diagram of the converged test samples
    ridge = models["skyrmion_forward_ridge"].info.run_id
    fwd = run_evaluate(compose_in(tmp_path, "evaluate", f"run_id={ridge}", f"output={tmp_path / 'fwd.json'}",
                                  f"hydra.run.dir={tmp_path / 'eval_fwd'}"))
    assert fwd["n_test"] == int(test.sum()) and sum(fwd["reliability"]["count"]) == fwd["n_test_converged"]
    assert 0 <= fwd["metrics"]["brier"] <= 1 and 0 <= fwd["metrics"]["ece"] <= 1
    assert "test/test_reliability.png" in artifacts(client, ridge, "test")
    with pytest.raises(EvaluationError, match="noise_mz applies to the skyrmion inverse models"):
        run_evaluate(compose_in(tmp_path, "evaluate", f"run_id={ridge}", "noise_mz=[0.01]"))
    with pytest.raises(EvaluationError, match="noise_ghz applies to the dispersion models"):
        run_evaluate(compose_in(tmp_path, "evaluate", f"run_id={inv.info.run_id}", "noise_ghz=[10]"))

    # predict on a survivor's crop as a user's image: rows y, columns x (the stored crop is [x, y])
    i = int(np.flatnonzero(rows["survived"])[0])
    image = tmp_path / "skyrmion.npy"
    np.save(image, rows["mz"][i].T)
    common = [f"input={image}", "cell_nm=1.0", f"field_T={rows['B_T'][i]}", f"hydra.run.dir={tmp_path / 'pred'}"]
    pred = predict(tmp_path, *common, f"run_id={inv.info.run_id}", f"output={tmp_path / 'pred.json'}")
    assert pred["observed_radius_nm"] == pytest.approx(rows["radius_nm"][i], abs=1e-4)  # the dataset's crop
    est = pred["estimate"]
    assert est["sd_phi"] > 0 and est["calibrated"] and all(math.isfinite(est[k]) for k in ("sigma_nm", "tau_nm"))
    assert pred["relaxed"]["survived"] in (True, False) and pred["design_answer"]["available"]
    assert json.loads((tmp_path / "pred.json").read_text())["crop_cells"] == 24
    ridge_pred = predict(tmp_path, *common, f"run_id={models['skyrmion_inverse_ridge'].info.run_id}", "refine=false")
    assert "sd_phi" not in ridge_pred["estimate"] and "relaxed" not in ridge_pred
    # the relaxation of the check at the sample's true (σ, τ, B) is the dataset's own: the same radius
    again = relax_at(physics_of_dataset(data), float(rows["sigma_nm"][i]), float(rows["tau_nm"][i]),
                     float(rows["B_T"][i]), 0)
    assert again["survived"] and again["radius_nm"] == pytest.approx(rows["radius_nm"][i], abs=1e-4)  # batch of 1
    base = [c for c in common if not c.startswith(("field_T=", "cell_nm="))] + [f"run_id={inv.info.run_id}"]
    for overrides, match in ((["cell_nm=1.0"], "field_T=<tesla> is required"),
                             (["cell_nm=1.0", "field_T=nan"], "field_T must be a finite number"),
                             ([f"field_T={rows['B_T'][i]}"], "cell_nm=<nm> is required")):
        with pytest.raises(InputError, match=match):
            predict(tmp_path, *base, *overrides)
    with pytest.raises(InputError, match="needs a skyrmion inverse model .* this run is a skyrmion_forward"):
        predict(tmp_path, *common, f"run_id={models['skyrmion_forward'].info.run_id}")


@pytest.mark.parametrize(("overrides", "check", "match"), [
    (["model=skyrmion_inverse_ridge", "dataset=hysteresis_small"], validate_baseline_config,
     "needs dataset=skyrmion"),
    (["model=skyrmion_forward_ridge", "+model.targets=phi_T"], validate_baseline_config,
     r"has no hyper-parameter\(s\) \['targets'\]"),
    (["model=skyrmion_forward", "+model.nope=1"], validate_train_config, r"has no hyper-parameter\(s\) \['nope'\]"),
    (["model=skyrmion_inverse", "dataset=domain_wall_small"], None, "trains on skyrmion data"),
])
def test_bad_settings_are_refused_before_any_data(tmp_path, monkeypatch, overrides, check, match):
    monkeypatch.chdir(tmp_path)
    cfg = config(tmp_path, *overrides, f"dataset.path={tmp_path / 'none.h5'}")
    with pytest.raises(ValueError, match=match):
        (check or run_train)(cfg)
    assert not (tmp_path / "none.h5").exists()
