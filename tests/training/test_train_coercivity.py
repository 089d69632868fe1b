"""The coercivity models through the training pipeline (docs/coercivity.md#models): the mask VAE by the real
train.py, then the anchor regressor on its encoder (named by its MLflow run), the anchor CNN as a single-target
network and the GP baseline on the latent code (same config composition and run_train as train.py), each read
back from the MLflow store, and evaluate.py on the GP run."""

import json

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from spsll.models.mask_vae import MaskEncoderError
from spsll.prediction.cli import run_predict
from spsll.training.config_checks import validate_baseline_config, validate_train_config
from spsll.training.mask_tasks import encoder_checkpoint, latent_means
from spsll.training.run import run_train
from tests.training.conftest import ROOT, artifacts, run_entry, runs, train

TARGETS = ("H_at_M_0.99_HK", "H_at_M_0.9_HK", "H_at_M_0.5_HK", "H_at_M_0_HK", "H_at_M_-0.9_HK", "M_at_H_0.1_HK",
           "M_at_H_0.2_HK", "coercivity_HK")
VAE_METRICS = ("bce_per_cell", "cell_error_rate", "mae_defect_count", "mae_defect_fraction", "kl", "loss")


def config(tmp_path, *overrides):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=[f"logger.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}",
                                           "trainer.max_epochs=1", "trainer.enable_progress_bar=false", "threads=1",
                                           *overrides])


def by_model(tmp_path):
    client, rs = runs(tmp_path)
    return client, {r.data.params["model.name"]: r for r in rs}


@pytest.mark.slow  # train.py and evaluate.py processes, 10 hysteresis sweeps (~60 s on the shared machine)
def test_coercivity_models_train_and_are_scored(tmp_path, monkeypatch):
    micro, hyst = tmp_path / "micro.h5", tmp_path / "hyst.h5"
    out = train(tmp_path, "model=mask_vae", "dataset=microstructures_small", f"dataset.path={micro}",
                "data.batch_size=16")  # the 64 masks are generated on first use
    assert out.returncode == 0, out.stderr[-3000:]
    client, models = by_model(tmp_path)
    vae = models["mask_vae"]
    assert vae.info.status == "FINISHED" and vae.data.tags["dataset_path"] == str(micro)
    assert {f"val/{m}" for m in VAE_METRICS} <= set(vae.data.metrics)
    assert 0 <= vae.data.metrics["val/cell_error_rate"] <= 1
    (version,) = client.search_model_versions("name='spsll_encoder_microstructures'")
    assert version.run_id == vae.info.run_id
    vae_ckpt = next(tmp_path.glob("run/checkpoints/best-*.ckpt"))
    with pytest.raises(MaskEncoderError, match="no mask_vae checkpoint at"):
        encoder_checkpoint("missing.ckpt", tmp_path, tmp_path / "dl")

    hysteresis = ["dataset=hysteresis_small", f"dataset.path={hyst}", "dataset.n_samples=10", "dataset.chunk_size=10",
                  "data.batch_size=4", "logger.register_model=false"]
    jobs = {"anchor_regressor": ["model=anchor_regressor", f"model.encoder={vae.info.run_id}"],  # by its run
            "anchor_cnn": ["model=anchor_cnn", "model.targets=[coercivity_HK]"],  # a single-target network
            "anchor_gp": ["model=anchor_gp", "model.inputs=latent", f"model.encoder={vae_ckpt}"]}
    for name, overrides in jobs.items():  # the first generates the 10 sweeps
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)  # run_train without Hydra writes to ./outputs/train/manual
        run_train(config(tmp_path, *overrides, *hysteresis))
    client, models = by_model(tmp_path)
    for name, names in (("anchor_regressor", TARGETS), ("anchor_cnn", ["coercivity_HK"]), ("anchor_gp", TARGETS)):
        r = models[name]
        assert r.info.status == "FINISHED" and r.data.tags["dataset_path"] == str(hyst)
        assert {f"val/mae_{t}" for t in names} | {"val/mae_standardised"} <= set(r.data.metrics), name
        assert all(np.isfinite(r.data.metrics[f"val/mae_{t}"]) for t in names)
        assert any(a.startswith("checkpoints/") and a.endswith(".ckpt") for a in artifacts(client, r.info.run_id))
    assert "val/mae_H_at_M_0.5_HK" not in models["anchor_cnn"].data.metrics
    with pytest.raises(MaskEncoderError, match="trained a anchor_cnn, not a mask_vae"):
        encoder_checkpoint(models["anchor_cnn"].info.run_id, tmp_path, tmp_path / "dl",
                           f"sqlite:///{tmp_path / 'mlflow.db'}")
    codes = latent_means(vae.info.run_id, np.zeros((3, 256), np.uint8), tmp_path, f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert codes.shape == (3, 8)

    gp = models["anchor_gp"].info.run_id
    summary_path = tmp_path / "summary.json"
    ev = run_entry(tmp_path, ["evaluate.py"], f"run_id={gp}", f"output={summary_path}", "threads=1", run_dir="eval")
    assert ev.returncode == 0, ev.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    assert summary["n_test"] == 1 and summary["n_test_unconverged"] == 0 and summary["units"]["M_at_H_0.1_HK"] == "Ms"
    logged = client.get_run(gp).data.metrics
    for t in TARGETS:
        assert np.isfinite(summary["metrics"][f"mae_{t}"]) and np.isfinite(summary["val_metrics"][f"mae_{t}"])
        assert logged[f"test/mae_{t}"] == pytest.approx(summary["metrics"][f"mae_{t}"])
        assert logged[f"eval_val/mae_{t}"] == pytest.approx(summary["val_metrics"][f"mae_{t}"])
    assert {f"test/test_pred_vs_true_{t}.png" for t in TARGETS} <= set(artifacts(client, gp, "test"))

    # predict on a user's profile written here: 256 cells of 0.339 nm with three soft runs, as x (nm), value

    mask = np.zeros(256)
    mask[[20, 21, 22, 100, 180, 181]] = 1
    profile = tmp_path / "profile.csv"
    profile.write_text("x_nm,defect\n" + "".join(f"{(i + 0.5) * 0.339:.6f},{v:g}\n" for i, v in enumerate(mask)))
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        pcfg = compose("predict", overrides=[f"input={profile}", f"run_id={gp}", f"output={tmp_path / 'pred.json'}",
                                             f"logger.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}"])
    pred = run_predict(pcfg)
    assert list(pred["anchors"]) == list(TARGETS) and pred["features"]["defect_count"] == 3
    assert all(np.isfinite(e["value"]) and e["sd"] > 0 for e in pred["anchors"].values())
    assert json.loads((tmp_path / "pred.json").read_text())["chain"]["n_cells"] == 256


@pytest.mark.parametrize(("overrides", "check", "match"), [
    (["model=anchor_regressor"], validate_train_config, "model.encoder must name a trained mask_vae"),
    (["model=anchor_regressor", "model.encoder=x.ckpt"], None, "model.encoder: no mask_vae checkpoint at .*x.ckpt"),
    (["model=anchor_ridge", "model.inputs=latent", "model.encoder=0123456789abcdef0123456789abcdef"], None,
     "model.encoder: no MLflow run '0123456789abcdef0123456789abcdef'"),
    (["model=anchor_gp", "model.inputs=latent"], validate_baseline_config, "model.encoder must name a trained"),
    (["model=anchor_ridge", "dataset=microstructures_small"], validate_baseline_config, "needs dataset=hysteresis"),
])
def test_bad_settings_are_refused_before_any_data(tmp_path, monkeypatch, overrides, check, match):
    monkeypatch.chdir(tmp_path)
    cfg = config(tmp_path, *overrides, f"dataset.path={tmp_path / 'none.h5'}")
    with pytest.raises(ValueError, match=match):
        (check or run_train)(cfg)
    assert not (tmp_path / "none.h5").exists()
