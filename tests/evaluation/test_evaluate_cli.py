"""evaluate.py through the CLI on tiny runs made by train.py."""

import json

import h5py
import numpy as np
import pytest
import yaml

from tests.training.conftest import artifacts, run_entry, runs, train


def evaluate(tmp_path, *overrides):
    return run_entry(tmp_path, ["evaluate.py"], *overrides, run_dir="eval")


def test_run_id_gives_test_metrics_closed_loop_and_logs_back(wall_run, small_data):  # noqa: F811
    tmp, run_id = wall_run
    out = evaluate(tmp, f"run_id={run_id}", f"output={tmp / 'summary.json'}")
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads((tmp / "summary.json").read_text())
    with h5py.File(small_data["domain_wall"], "r") as f:
        n_test = int((f["split"][:] == 2).sum())
    assert summary["n_test"] == n_test  # the held-out split only
    m = summary["metrics"]
    for key in ("mae_sigma_nm", "rmse_tau_nm", "r2_phi", "mae_T_nm", "width_error_mean_nm", "width_error_std_nm"):
        assert key in m and np.isfinite(m[key]), key
    client, rs = runs(tmp)
    logged = client.get_run(run_id).data.metrics
    assert logged["test/mae_phi"] == pytest.approx(m["mae_phi"])
    arts = artifacts(client, run_id)
    assert "test/test_width_error_hist.png" in arts and "test/summary.json" in arts
    # the configured default states a spread: its coverage, raw and validation-calibrated, is reported
    cal = summary["calibration"]
    assert cal["n_val"] > 0 and set(cal["scales"]) == {"sigma", "tau", "phi", "T"}
    for q in ("sigma", "tau", "phi", "T"):
        assert 0 <= m[f"net_coverage_{q}_1sd"] <= m[f"net_coverage_{q}_2sd"] <= 1
        assert m[f"net_interval_scale_{q}"] > 0 and m[f"net_median_sd_{q}"] > 0
    assert logged["test/net_coverage_phi_2sd"] == pytest.approx(m["net_coverage_phi_2sd"])
    assert "test/test_reliability.png" in arts and "calibration/calibration.json" in arts


def test_refine_through_the_cli(wall_run, tmp_path):
    """refine=true on walls: refined metrics next to the network's, and the Laplace intervals'
    coverage calibrated on as many validation samples."""
    tmp, run_id = wall_run
    out = evaluate(tmp, f"run_id={run_id}", "closed_loop=false", "refine=true", "refine_samples=3",
                   "refine_steps=2", "threads=1", f"output={tmp_path / 's.json'}")
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    m, r = summary["metrics"], summary["refine"]
    assert r["n"] == 3 and r["calibration"]["n_val"] == 3
    for key in ("refined_mae_phi", "refine_seconds_per_sample", "refined_coverage_raw_phi_1sd",
                "refined_coverage_phi_1sd", "refined_interval_scale_phi"):
        assert key in m and np.isfinite(m[key]), key


def test_ckpt_path_mode(wall_run, tmp_path):
    tmp, _ = wall_run
    ckpts = sorted((tmp / "run" / "checkpoints").glob("best-*.ckpt"))
    out = evaluate(tmp_path, f"ckpt_path={ckpts[0]}", "closed_loop=false", f"output={tmp_path / 's.json'}")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "mae_sigma_nm" in json.loads((tmp_path / "s.json").read_text())["metrics"]


def test_unknown_run_id(tmp_path, wall_run):
    tmp, _ = wall_run
    out = evaluate(tmp, "run_id=0123456789abcdef0123456789abcdef")
    assert out.returncode != 0 and "no MLflow run '0123456789abcdef0123456789abcdef'" in out.stderr


def test_run_without_checkpoint(tmp_path, small_data):  # noqa: F811
    out = train(tmp_path, "model=tfc_pinn", "dataset=dispersion_small", f"dataset.path={small_data['dispersion']}",
                "logger.log_checkpoint=false")
    assert out.returncode == 0, out.stderr[-2000:]
    _, rs = runs(tmp_path)
    out = evaluate(tmp_path, f"run_id={rs[0].info.run_id}")
    assert out.returncode != 0 and "has no checkpoint artifact" in out.stderr


def test_checkpoint_that_does_not_match_its_config(wall_run, tmp_path):
    tmp, _ = wall_run
    src = tmp / "run"
    cfg = yaml.safe_load((src / "config.yaml").read_text())
    cfg["model"]["name"] = "tfc_pinn"  # the config now claims another model
    (tmp_path / "checkpoints").mkdir()
    ckpt = sorted((src / "checkpoints").glob("best-*.ckpt"))[0]
    (tmp_path / "checkpoints" / ckpt.name).write_bytes(ckpt.read_bytes())
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = evaluate(tmp_path, f"ckpt_path={tmp_path / 'checkpoints' / ckpt.name}")
    assert out.returncode != 0 and "does not match model tfc_pinn" in out.stderr


def test_empty_test_split(wall_run, tmp_path, small_data):  # noqa: F811
    tmp, _ = wall_run
    data = tmp_path / "no_test.h5"
    data.write_bytes(small_data["domain_wall"].read_bytes())
    with h5py.File(data, "r+") as f:
        s = f["split"][:]
        s[s == 2] = 0
        f["split"][...] = s
    cfg = yaml.safe_load((tmp / "run" / "config.yaml").read_text())
    cfg["dataset"]["path"] = str(data)
    (tmp_path / "checkpoints").mkdir()
    ckpt = sorted((tmp / "run" / "checkpoints").glob("best-*.ckpt"))[0]
    (tmp_path / "checkpoints" / ckpt.name).write_bytes(ckpt.read_bytes())
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = evaluate(tmp_path, f"ckpt_path={tmp_path / 'checkpoints' / ckpt.name}")
    assert out.returncode != 0 and "test split is empty" in out.stderr


def test_forward_model_per_k_curve_and_paper_case_spectrum(tmp_path, small_data):  # noqa: F811
    """tfc_pinn: per-k MAE over the test split, and a (σ, τ) case simulated with its 2D spectrum (Fig. 3a)
    under the dataset's own settings; the prediction's MAE against the simulated peaks is reported."""
    out = train(tmp_path, "model=tfc_pinn", "dataset=dispersion_small", f"dataset.path={small_data['dispersion']}")
    assert out.returncode == 0, out.stderr[-2000:]
    client, rs = runs(tmp_path)
    run_id = rs[0].info.run_id
    out = evaluate(tmp_path, f"run_id={run_id}", "cases=[[22.9,3.0]]", f"output={tmp_path / 's.json'}")
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    with h5py.File(small_data["dispersion"], "r") as f:
        n_k = f["k_rad_per_nm"].shape[0]
    assert len(summary["mae_per_k_thz"]) == n_k
    assert max(summary["mae_per_k_thz"]) == pytest.approx(summary["metrics"]["max_mae_k_thz"])
    (case,) = summary["cases"]
    assert case["sigma_nm"] == 22.9 and case["tau_nm"] == 3.0
    # one epoch on 30 samples: a poor but finite model, well inside the band's 12 THz
    assert np.isfinite(case["mae_thz"]) and 0 < case["mae_thz"] < 12
    assert "test/cases_spectrum.png" in artifacts(client, run_id)


def test_bad_cases_are_refused(wall_run, tmp_path):
    tmp, run_id = wall_run
    out = evaluate(tmp, f"run_id={run_id}", "cases=[[-1.0,2.0]]")
    assert out.returncode != 0 and "sigma_nm > 0" in out.stderr


def test_predict_a_wall_profile_with_calibrated_intervals(wall_run, small_data, tmp_path):  # noqa: F811
    """evaluate.py logs the validation-fitted scales; predict on a wall written as (x, m_z) in a
    whitespace table, flipped (+1 → −1), then states calibrated intervals."""
    tmp, run_id = wall_run
    assert evaluate(tmp, f"run_id={run_id}", "closed_loop=false").returncode == 0
    with h5py.File(small_data["domain_wall"], "r") as f:
        i = int(np.flatnonzero(f["split"][:] == 2)[0])
        x, mz = f["x_nm"][:], f["mz"][i]
    table = tmp_path / "wall.txt"
    np.savetxt(table, np.stack([x, -mz], 1), header="x_nm mz", comments="")
    out = run_entry(tmp, ["-m", "spsll.predict"], f"input={table}", f"run_id={run_id}", "refine=false",
                    f"output={tmp_path / 'p.json'}", run_dir="predict")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "mirrored" in out.stdout + out.stderr and "calibrated on the run's validation split" in out.stdout
    res = json.loads((tmp_path / "p.json").read_text())["network"]
    assert res["calibrated"] and res["sd_phi"] > 0 and 0 < res["phi"] <= 1
