"""Closed-form baselines through train.py and evaluate.py: MLflow runs like the networks', scored alike."""

import json

import h5py
import numpy as np
import pytest
import torch
import yaml
from hydra import compose, initialize_config_dir

from spsll.training.run import run_train
from tests.training.conftest import ROOT, artifacts, run_entry, runs, train

INVERSE = ("mae_sigma_nm", "mae_tau_nm", "mae_phi", "mae_T_nm")
FORWARD = ("mae_thz", "max_mae_k_thz")


def config(tmp_path, *overrides):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=[f"logger.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", *overrides])


@pytest.mark.slow  # two CLI processes (~25 s)
@pytest.mark.parametrize(("name", "kind", "extra", "names"), [
    ("ridge", "dispersion", [], INVERSE),
    ("knn", "domain_wall", [], INVERSE),
    ("knn", "dispersion", ["model.direction=forward"], FORWARD),
])
def test_baseline_run_is_tracked_and_scored_by_evaluate(tmp_path, small_data, name, kind, extra, names):
    out = train(tmp_path, f"model={name}", f"dataset={kind}_small", f"dataset.path={small_data[kind]}", *extra)
    assert out.returncode == 0, out.stderr[-3000:]
    client, rs = runs(tmp_path)
    assert len(rs) == 1
    r = rs[0]
    assert r.info.status == "FINISHED" and r.info.run_name.startswith(name)
    assert r.data.params["model.name"] == name and "dataset.sha256" in r.data.params
    assert r.data.tags["dataset_path"] == str(small_data[kind]) and r.data.tags["dataset_sha256"]
    assert {f"val/{m}" for m in names} | {f"train/{m}" for m in names} | {"fit_seconds"} <= set(r.data.metrics)
    selected = {k for k in r.data.params if k.startswith("selected.")}
    assert selected == ({"selected.lambda"} if name == "ridge" else {"selected.k", "selected.pca_components"})
    arts = artifacts(client, r.info.run_id)
    assert {"config.yaml", "overrides.yaml", "data_info.yaml", "selection.json", "checkpoints/best.ckpt"} <= set(arts)
    selection = json.loads((tmp_path / "run" / "selection.json").read_text())
    best = min(selection["candidates"], key=lambda c: c["val_score"])
    score_key = "mae_phi" if names is INVERSE else "mae_thz"
    assert r.data.metrics[f"val/{score_key}"] == pytest.approx(best["val_score"], rel=1e-9)

    summary_path = tmp_path / "summary.json"
    ev = run_entry(tmp_path, ["evaluate.py"], f"run_id={r.info.run_id}", f"output={summary_path}", "threads=1",
                   run_dir="eval")
    assert ev.returncode == 0, ev.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    with h5py.File(small_data[kind], "r") as f:
        assert summary["n_test"] == int((f["split"][:] == 2).sum())
    m = summary["metrics"]
    for key in names:
        assert np.isfinite(m[key]), key
        assert client.get_run(r.info.run_id).data.metrics[f"test/{key}"] == pytest.approx(m[key])
    if kind == "domain_wall":  # the width regressor's closed loop: walls relaxed at the predicted (σ, τ)
        assert np.isfinite(m["width_error_mean_nm"]) and np.isfinite(m["width_error_std_nm"])
    if names is FORWARD:
        assert len(summary["mae_per_k_thz"]) == len(torch.load(tmp_path / "run" / "checkpoints" / "best.ckpt",
                                                               weights_only=True)["data_info"]["k_rad_per_nm"])


@pytest.mark.slow  # train.py and two evaluations (~30 s)
def test_refined_baseline_and_local_checkpoint(tmp_path, small_data):
    """refine=true refines a baseline's answers like a network's; without MLflow the output folder is
    still evaluable by ckpt_path."""
    out = train(tmp_path, "model=ridge", "dataset=dispersion_small", f"dataset.path={small_data['dispersion']}",
                "logger=none")
    assert out.returncode == 0, out.stderr[-3000:]
    ckpt = tmp_path / "run" / "checkpoints" / "best.ckpt"
    ev = run_entry(tmp_path, ["evaluate.py"], f"ckpt_path={ckpt}", "refine=true", "refine_samples=2",
                   "refine_steps=2", "threads=1", f"output={tmp_path / 's.json'}", run_dir="eval")
    assert ev.returncode == 0, ev.stderr[-3000:]
    m = json.loads((tmp_path / "s.json").read_text())["metrics"]
    assert np.isfinite(m["mae_phi"]) and np.isfinite(m["refined_mae_phi"]) and m["refine_seconds_per_sample"] > 0


def test_hyperparameter_is_chosen_on_the_validation_split(tmp_path, small_data, monkeypatch):
    """The validation rows are given the train split's mean (σ, τ): there the strongest penalty wins,
    while on the test rows (true values) the weakest does; train.py must pick the strongest."""
    data = tmp_path / "disp.h5"
    data.write_bytes(small_data["dispersion"].read_bytes())
    with h5py.File(data, "r+") as f:
        split = f["split"][:]
        for key in ("sigma_nm", "tau_nm"):
            values = f[key][:]
            values[split == 1] = values[split == 0].mean()
            f[key][...] = values
    monkeypatch.chdir(tmp_path)
    lambdas = "model.lambdas=[1.0e-8,1000.0]"
    cfg = config(tmp_path, "model=ridge", "model.targets=sigma_tau", lambdas, "dataset=dispersion_small",
                 f"dataset.path={data}", "logger=none", "threads=1")
    score = run_train(cfg)
    selection = json.loads((tmp_path / "outputs/train/manual/selection.json").read_text())
    assert selection["selected"] == {"lambda": 1000.0}
    assert score == pytest.approx(min(c["val_score"] for c in selection["candidates"]), rel=1e-9)
    # the test split would have chosen the other: the data tell the two splits apart
    from spsll.data.datamodule import SPSLLDataModule
    from spsll.models.baselines import build_baseline
    from spsll.training.baseline import split_batch

    dm = SPSLLDataModule(data, "dispersion")
    model = build_baseline("ridge", dm.data_info, targets="sigma_tau", lambdas=[1e-8, 1000.0])
    assert model.fit(split_batch(dm, "train"), split_batch(dm, "test")) == {"lambda": 1e-8}
    saved = yaml.safe_load((tmp_path / "outputs/train/manual/config.yaml").read_text())
    assert saved["model"]["name"] == "ridge" and saved["model"]["lambdas"] == [1e-8, 1000.0]


@pytest.mark.parametrize(("overrides", "match"), [
    (["model=ridge", "model.direction=sideways"], r"model.direction must be one of \['inverse', 'forward'\]"),
    (["model=knn", "model.targets=sigma"], r"model.targets must be one of \['sigma_tau', 'phi_T'\]"),
    (["model=ridge", "model.lambdas=[]"], "model.lambdas must be a non-empty list of numbers > 0"),
    (["model=knn", "model.ks=[0]"], "model.ks must be a non-empty list of integers >= 1"),
    (["model=knn", "+model.dropout=0.1"], r"model knn has no hyper-parameter\(s\) \['dropout'\]"),
    (["model=knn", "model.direction=forward", "dataset=domain_wall_small"],
     "direction=forward predicts dispersions .* needs a dispersion dataset"),
    (["model=ridge", "seed=-1"], "seed must be an integer >= 0"),
])
def test_bad_baseline_config_is_refused_before_any_data(tmp_path, overrides, match, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config(tmp_path, *overrides, f"dataset.path={tmp_path / 'never_made.h5'}", "logger=none")
    with pytest.raises(ValueError, match=match):
        run_train(cfg)
    assert not (tmp_path / "never_made.h5").exists()
