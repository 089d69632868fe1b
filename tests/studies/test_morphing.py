"""Latent morphing checked by physics (spsll/studies/morphing) on tiny runs: a 1-epoch VAE, a 2-epoch regressor on
it and a GP on the hand features, trained on the tiny files of the coercivity test (10 chains of 256 cells, two
in the test split); 3 steps re-simulated. Bad input is refused, naming the parameter."""

import json

import mlflow
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from spsll.studies.common import CONF, compose_study
from spsll.studies.morphing.runs import MorphingError
from spsll.studies.morphing.study import run_morphing
from tests.studies.test_results_coercivity import HYSTERESIS, coercivity_data  # noqa: F401  (shared tiny files)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, coercivity_data):  # noqa: F811
    """{model name: run id} of the tiny runs, and the store's URI."""
    from spsll.training.run import run_train

    tmp = tmp_path_factory.mktemp("morphing_runs")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    common = [f"logger.tracking_uri={uri}", "trainer.enable_progress_bar=false", "threads=1",
              "logger.register_model=false"]
    chains = ["dataset=hysteresis_small", f"dataset.path={coercivity_data['hysteresis']}", *HYSTERESIS,
              "data.batch_size=4"]

    def train(name, *overrides):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("train", overrides=[*common, *overrides])
        with pytest.MonkeyPatch.context() as mp:  # without Hydra, run_train writes to ./outputs/train/manual
            (tmp / name).mkdir()
            mp.chdir(tmp / name)
            run_train(cfg)
        exp = mlflow.MlflowClient(uri).get_experiment_by_name("spsll")
        found = [r for r in mlflow.MlflowClient(uri).search_runs([exp.experiment_id])
                 if r.data.params.get("model.name") == name]
        return found[0].info.run_id

    ids = {"mask_vae": train("mask_vae", "model=mask_vae", "dataset=microstructures_small",
                             f"dataset.path={coercivity_data['microstructures']}", "trainer.max_epochs=1",
                             "data.batch_size=16")}
    ids["anchor_regressor"] = train("anchor_regressor", "model=anchor_regressor", f"model.encoder={ids['mask_vae']}",
                                    "trainer.max_epochs=2", *chains)
    ids["anchor_gp"] = train("anchor_gp", "model=anchor_gp", "model.max_iter=5", *chains)
    return ids, uri


def _cfg(tmp_path, ids, uri, *overrides):
    return compose_study("morphing", [f"vae_run={ids['mask_vae']}", f"regressor_run={ids['anchor_regressor']}",
                                      f"gp_run={ids['anchor_gp']}", f"tracking_uri={uri}", "pair=[1,5]", "n_steps=3",
                                      f"out={tmp_path / 'morphing.md'}", *overrides])


@pytest.mark.slow  # the tiny files and runs (shared with the coercivity test), then 5 chains re-simulated
def test_morphing_re_simulates_the_decoded_path_and_compares(tmp_path, runs):
    ids, uri = runs
    out = run_morphing(_cfg(tmp_path, ids, uri), command="test")
    data = json.loads((tmp_path / "morphing" / "morphing.json").read_text())
    assert data["t"] == [0.0, 0.5, 1.0]
    masks = np.array(data["decoded_masks"])
    assert masks.shape == (3, 256) and set(np.unique(masks)) <= {0, 1}
    assert data["defect_fraction"] == pytest.approx(masks.mean(1).tolist())
    # the original chains, re-simulated in the same batch, give back their stored targets: the dataset's settings
    assert data["endpoint_reproduction"] < 1e-9
    targets = data["inputs"]["targets"]
    assert targets == ["coercivity_HK", "H_at_M_0.99_HK", "M_at_H_0.2_HK"]
    for t in targets:
        sim, pred = np.array(data["simulated"][t]), np.array(data["predicted"][t])
        assert sim.shape == pred.shape == (3,) and np.isfinite(sim).all() and np.isfinite(pred).all()
        assert (np.array(data["gp"]["sd"][t]) > 0).all()
        ok = np.array(data["converged"])
        row = data["summary"]["targets"][t]
        assert row["regressor"]["mae"] == pytest.approx(np.abs(pred - sim)[ok].mean())
    sim_hc = np.array(data["simulated"]["coercivity_HK"])
    assert ((sim_hc > 0) & (sim_hc <= 1.01)).all()  # a soft defect only lowers H_c below H_K
    text = out.read_text()
    assert "morphing/path.png" in text and "morphing/masks.png" in text and "| t | defects | converged |" in text
    assert (tmp_path / "morphing" / "path.png").is_file() and (tmp_path / "morphing" / "masks.png").is_file()


@pytest.mark.slow  # needs the tiny runs; every refusal comes before any simulation
@pytest.mark.parametrize("overrides, match", [
    (["vae_run=0123456789abcdef0123456789abcdef"], "vae_run: no MLflow run"),
    (["regressor_run=VAE"], "regressor_run: run .* trained a mask_vae, not a anchor_regressor or anchor_cnn"),
    (["vae_run=REG"], "vae_run: run .* trained a anchor_regressor, not a mask_vae"),
    (["gp_run=REG"], "gp_run: run .* trained a anchor_regressor, not a anchor_gp"),
    (["regressor_run=null"], "regressor_run is required"),
    (["pair=[2,5]"], "pair: sample 2 is in the train split, not the test split; test samples: 1, 5"),
    (["pair=[1,10]"], r"pair: sample 10 is outside the file \(0 … 9\)"),
    (["pair=[5,5]"], "the two samples must differ"),
    (["n_steps=1"], "n_steps must be an integer >= 2"),
    (["targets=[coercivity]"], "are not coercivity targets"),
    (["data=MICRO"], "data: .* is not the data file the run trained on"),
])
def test_bad_input_is_refused(tmp_path, runs, coercivity_data, overrides, match):  # noqa: F811
    ids, uri = runs
    names = {"VAE": ids["mask_vae"], "REG": ids["anchor_regressor"], "MICRO": str(coercivity_data["microstructures"])}
    overrides = [o.split("=", 1)[0] + "=" + names.get(o.split("=", 1)[1], o.split("=", 1)[1]) for o in overrides]
    with pytest.raises(MorphingError, match=match):
        run_morphing(_cfg(tmp_path, ids, uri, *overrides), command="test")
    assert not (tmp_path / "morphing.md").exists()
