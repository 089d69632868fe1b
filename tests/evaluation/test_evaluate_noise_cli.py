"""evaluate.py beyond the generator's own noiseless test split: measurement noise, another solver's
data, the per-sample flags, and the bad input around them (tiny runs made by train.py)."""

import json
import shutil

import h5py
import numpy as np
import pytest
import yaml

from spsll.evaluation.inputs import EvaluationError
from tests.evaluation.conftest import evaluate_here, generate_here, predict_here
from tests.training.conftest import artifacts, run_entry, runs


def evaluate(tmp_path, *overrides):
    return run_entry(tmp_path, ["evaluate.py"], *overrides, run_dir="eval")


def summary_of(path):
    return json.loads(path.read_text())


def test_noise_levels_are_scored_refined_calibrated_and_logged(inverse_run, tmp_path):
    """Each level: the network's and the refined metrics on noisy test inputs, intervals calibrated on
    validation inputs noisy at the same level, the refinement told the level: its residual is then the
    added noise (RMS ≈ the level) and χ²/dof ≈ 1, while the noiseless pass has no misfit flag."""
    tmp, run_id = inverse_run
    out = evaluate(tmp, f"run_id={run_id}", "noise_ghz=[10,50]", "refine=true", "threads=1",
                   f"output={tmp_path / 's.json'}")
    assert out.returncode == 0, out.stderr[-3000:]
    s = summary_of(tmp_path / "s.json")
    assert s["flags"]["counts"]["misfit"] == 0 and s["flags"]["chi2_per_dof_median"] < 0.1
    assert set(s["noise"]) == {"10", "50"}
    for key, thz in (("10", 0.010), ("50", 0.050)):
        sec = s["noise"][key]
        assert sec["label"] == f"noise{key}ghz" and sec["unit"] == "GHz" and sec["seed"] == 0
        assert sec["refine"]["stated_noise"] == pytest.approx(thz)
        assert sec["refine"]["misfit_after_median"] == pytest.approx(thz, rel=0.2)
        assert sec["flags"]["misfit_noise_stated"] and sec["flags"]["chi2_per_dof_median"] == pytest.approx(1, abs=0.2)
        assert sec["calibration"]["n_val"] > 0 and sec["refine"]["calibration"]["n_val"] > 0
        for k in ("mae_phi", "refined_mae_phi", "refined_coverage_phi_2sd", "net_coverage_raw_phi_1sd",
                  "flagged_fraction", "flagged_fraction_misfit"):
            assert np.isfinite(sec["metrics"][k]), k
    # the stated intervals (before the calibration scale) follow the stated noise: 5x the noise, ≈ 5x the sd
    raw = {key: s["noise"][key]["metrics"]["refined_median_sd_phi"] / s["noise"][key]["metrics"][
        "refined_interval_scale_phi"] for key in ("10", "50")}
    assert 3 < raw["50"] / raw["10"] < 8
    client, _ = runs(tmp)
    logged = client.get_run(run_id).data.metrics
    assert logged["test/noise10ghz_mae_phi"] == pytest.approx(s["noise"]["10"]["metrics"]["mae_phi"])
    assert logged["test/noise50ghz_refined_coverage_phi_1sd"] == pytest.approx(
        s["noise"]["50"]["metrics"]["refined_coverage_phi_1sd"])
    assert logged["test/flagged_fraction"] == pytest.approx(s["metrics"]["flagged_fraction"])
    assert "test/test_noise10ghz_pred_vs_true.png" in artifacts(client, run_id)
    scales = json.loads(open(client.download_artifacts(run_id, "calibration/calibration.json", str(tmp_path))).read())
    assert {"network", "refined_solver", "network_noise10ghz", "refined_solver_noise50ghz"} <= set(scales)


@pytest.mark.slow
def test_noise_is_reproducible_from_its_seed(inverse_run, tmp_path):
    tmp, run_id = inverse_run
    maes = []
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        out = evaluate(tmp, f"run_id={run_id}", "noise_ghz=30", f"noise_seed={seed}", f"output={tmp_path / name}.json")
        assert out.returncode == 0, out.stderr[-2000:]
        maes.append(summary_of(tmp_path / f"{name}.json")["noise"]["30"]["metrics"]["mae_sigma_nm"])
    assert maes[0] == maes[1] and maes[0] != maes[2]


def test_another_solvers_data_is_scored_and_flagged(inverse_run, rtn_data, tmp_path):
    """Explicit vacancies (rtn_ensemble) differ from the statistical model by 0.1–3 THz: every refined
    fit is flagged as not explaining the data, and the results are labelled and logged apart."""
    tmp, run_id = inverse_run
    out = evaluate(tmp, f"run_id={run_id}", f"test_data={rtn_data}", "refine=true", "noise_ghz=[10]", "threads=1",
                   f"output={tmp_path / 's.json'}")
    assert out.returncode == 0, out.stderr[-3000:]
    s = summary_of(tmp_path / "s.json")
    assert s["cross_model"]["solver"] == "rtn_ensemble" and s["cross_model"]["run_solver"] == "spsll"
    assert s["test_split"] == "test" and s["n_test"] == 3 and s["test_data"] == str(rtn_data)
    for sec in (s, s["noise"]["10"]):
        assert sec["flags"]["counts"]["misfit"] == 3 and sec["metrics"]["flagged_fraction"] == 1.0
        assert sec["flags"]["chi2_per_dof_median"] > 100
        assert [x["row"] for x in sec["flags"]["samples"]] == [0, 1, 2]
    client, _ = runs(tmp)
    logged = client.get_run(run_id).data.metrics
    assert logged["test_rtn_ensemble/refined_mae_phi"] == pytest.approx(s["metrics"]["refined_mae_phi"])
    assert logged["test_rtn_ensemble/noise10ghz_flagged_fraction_misfit"] == 1.0
    assert {"test_rtn_ensemble/s.json", "test_rtn_ensemble/test_refined_pred_vs_true.png"} <= set(
        artifacts(client, run_id))


@pytest.mark.parametrize("split, which, n", [([0, 2, 1], "test", 1), ([0, 0, 1], "all", 3)])
def test_the_files_test_split_or_else_all_of_it(inverse_run, rtn_data, tmp_path, split, which, n):
    tmp, run_id = inverse_run
    data = tmp_path / "resplit.h5"
    shutil.copy(rtn_data, data)
    with h5py.File(data, "r+") as f:
        f["split"][...] = np.array(split, dtype=f["split"].dtype)
    s = evaluate_here(tmp, f"run_id={run_id}", f"test_data={data}", f"output={tmp_path / 's.json'}")
    assert s["test_split"] == which and s["n_test"] == n and summary_of(tmp_path / "s.json")["n_test"] == n


@pytest.mark.parametrize("overrides, message", [
    (["dataset=dispersion_small", "dataset.sampling=explicit", "dataset.points=[[20,5]]",
      "dataset.measurement.duration_ps=5"], "measurement.duration_ps: 5.0 in the file, 10.0 in the run"),
    (["dataset=dispersion_small", "dataset.sampling=explicit", "dataset.points=[[20,5]]",
      "dataset.measurement.n_cells=64"], "K = 64 k points per sample, but the model was trained on K = 500"),
    (["dataset=dispersion_small", "dataset.sampling=explicit", "dataset.points=[[20,5]]",
      "material.A_J_per_m=6e-12"], "material.A: 6e-12 in the file, 5.1e-12 in the run"),
    (["dataset=domain_wall_small", "dataset.sampling=explicit", "dataset.points=[[20,5]]",
      "dataset.measurement.n_cells=100", "dataset.measurement.n_harmonics=150",
      "dataset.measurement.n_error_harmonics=30"], "holds domain_wall data, but the run's model reads dispersion"),
])
def test_incompatible_test_data_is_refused(inverse_run, tmp_path, overrides, message):
    tmp, run_id = inverse_run
    data = generate_here(tmp_path / "other.h5", *overrides)
    with pytest.raises(EvaluationError) as err:
        evaluate_here(tmp, f"run_id={run_id}", f"test_data={data}", f"output={tmp_path / 's.json'}")
    assert message in str(err.value)
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("overrides, message", [
    (["batch_size=0"], "batch_size must be an integer >= 1, got 0"),
    (["refine=true", "refine_steps=0"], "refine_steps must be an integer >= 1, got 0"),
    (["refine_samples=0"], "refine_samples must be an integer >= 1 or all, got 0"),
    (["refine_samples=some"], "refine_samples must be an integer >= 1 or all, got 'some'"),
    (["noise_ghz=[0]"], "noise_ghz levels must be finite and > 0"),
    (["noise_mz=[0.01]"], "noise_mz does not apply to a dispersion model; its measurement noise is noise_ghz"),
    (["noise_seed=-1"], "noise_seed must be an integer >= 0"),
    (["test_data=/nonexistent/file.h5"], "test_data: no dataset at /nonexistent/file.h5"),
])
def test_bad_options_are_refused_before_anything_is_written(inverse_run, tmp_path, overrides, message):
    tmp, run_id = inverse_run
    with pytest.raises(EvaluationError) as err:
        evaluate_here(tmp, f"run_id={run_id}", *overrides, f"output={tmp_path / 's.json'}")
    assert message in str(err.value)
    assert not (tmp_path / "s.json").exists()


def test_refine_samples_all_refines_every_test_sample(inverse_run, small_data, tmp_path):  # noqa: F811
    tmp, run_id = inverse_run
    s = evaluate_here(tmp, f"run_id={run_id}", "refine=true", "refine_samples=all", "refine_steps=2",
                      f"output={tmp_path / 's.json'}")
    with h5py.File(small_data["dispersion"], "r") as f:
        n_test = int((f["split"][:] == 2).sum())
    assert s["refine"]["n"] == n_test and s["refine"]["steps"] == 2


def _local_copy(tmp, tmp_path, data_path=None):
    """The run's checkpoint and config in a folder of their own (``ckpt_path`` mode), its config's
    dataset path optionally replaced."""
    cfg = yaml.safe_load((tmp / "run" / "config.yaml").read_text())
    if data_path is not None:
        cfg["dataset"]["path"] = str(data_path)
    (tmp_path / "checkpoints").mkdir()
    ckpt = sorted((tmp / "run" / "checkpoints").glob("best-*.ckpt"))[0]
    shutil.copy(ckpt, tmp_path / "checkpoints" / ckpt.name)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path / "checkpoints" / ckpt.name


def test_files_that_are_not_checkpoints_are_named(inverse_run, small_data, tmp_path):  # noqa: F811
    tmp, _ = inverse_run
    ckpt = _local_copy(tmp, tmp_path)
    text, h5 = ckpt.parent / "notes.ckpt", ckpt.parent / "disp.ckpt"
    text.write_text("best epoch 1\n")
    shutil.copy(small_data["dispersion"], h5)
    for path, what in ((text, "a text file"), (h5, "an HDF5 file")):
        with pytest.raises(EvaluationError, match=f"{path} is not a checkpoint file \\({what}"):
            evaluate_here(tmp_path, f"ckpt_path={path}", f"output={tmp_path / 's.json'}")
    # through the command line, the message reaches the user
    out = evaluate(tmp_path, f"ckpt_path={text}")
    assert out.returncode != 0 and f"{text} is not a checkpoint file (a text file" in out.stderr


def test_a_data_file_on_another_grid_than_the_checkpoint_is_refused(inverse_run, tmp_path):
    tmp, _ = inverse_run
    data = generate_here(tmp_path / "k64.h5", "dataset=dispersion_small", "dataset.measurement.n_cells=64",
                         "dataset.n_samples=12", "dataset.chunk_size=12")
    ckpt = _local_copy(tmp, tmp_path, data)
    with pytest.raises(EvaluationError) as err:
        evaluate_here(tmp_path, f"ckpt_path={ckpt}", f"output={tmp_path / 's.json'}")
    assert f"{data} holds K = 64 k points per sample, but the model was trained on K = 500" in str(err.value)
    assert not (tmp_path / "s.json").exists()


def test_walls_with_measurement_noise(wall_run, small_data, tmp_path, capsys):  # noqa: F811
    """m_z noise: the width is re-measured from the noisy profile, the refinement is told the level;
    predict, told the same level, then states intervals calibrated at it."""
    tmp, run_id = wall_run
    out = evaluate(tmp, f"run_id={run_id}", "noise_mz=[0.01]", "closed_loop=false", "refine=true",
                   "refine_samples=2", "refine_steps=1", "threads=1", f"output={tmp_path / 's.json'}")
    assert out.returncode == 0, out.stderr[-3000:]
    sec = summary_of(tmp_path / "s.json")["noise"]["0.01"]
    assert sec["label"] == "noise0p01mz" and sec["unit"] == "m_z"
    assert sec["refine"]["stated_noise"] == 0.01 and sec["refine"]["n"] == 2
    assert np.isfinite(sec["metrics"]["refined_mae_phi"]) and np.isfinite(sec["metrics"]["mae_phi"])
    # the residual is the added noise, which no (σ, τ) fits away; in the saturated domains, most of
    # the cells, clipping at ±1 leaves half of it: an RMS of 0.01/√2
    assert sec["refine"]["misfit_after_median"] == pytest.approx(0.01 / 2**0.5, rel=0.3)
    assert sec["flags"]["counts"]["misfit"] == 0
    with h5py.File(small_data["domain_wall"], "r") as f:
        i = int(np.flatnonzero(f["split"][:] == 2)[0])
        x, mz = f["x_nm"][:], f["mz"][i]
    noisy = np.clip(mz + 0.01 * np.random.default_rng(3).standard_normal(mz.shape), -1, 1)
    np.savetxt(tmp_path / "wall.csv", np.stack([x, noisy], 1), delimiter=",", header="x_nm,mz", comments="")
    res = predict_here(tmp, f"input={tmp_path / 'wall.csv'}", f"run_id={run_id}", "noise_mz=0.01", "refine_steps=1",
                       f"output={tmp_path / 'p.json'}")
    said = capsys.readouterr().out
    assert "calibrated on the run's validation split at 0.01 per m_z cell (network, refined)" in said
    assert res["refined"]["calibrated"] and res["network"]["calibrated"]
