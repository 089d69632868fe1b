"""``python -m spsll.predict`` on CSV files written here, against tiny runs made by train.py."""

import json

import h5py
import numpy as np
import pytest
import torch

from spsll.evaluation.refine import solver_dispersion
from spsll.prediction.observed import InputError
from tests.evaluation.conftest import generate_here, predict_here
from tests.training.conftest import run_entry


def predict(tmp, *overrides):
    return run_entry(tmp, ["-m", "spsll.predict"], *overrides, run_dir="predict")


def write_csv(path, k, f_thz):
    np.savetxt(path, np.stack([k, f_thz], 1), delimiter=",", header="k_rad_per_nm,f_THz", comments="")
    return path


def test_dispersion_csv_in_ghz_on_a_half_zone(inverse_run, small_data, tmp_path):  # noqa: F811
    """A user's file: k ≥ 0 only, every other point, f in GHz, with a header → converted, mirrored,
    resampled (each said in a warning), then σ, τ, φ, T with their sd from the network and the refinement."""
    tmp, run_id = inverse_run
    with h5py.File(small_data["dispersion"], "r") as f:
        i = int(np.flatnonzero(f["split"][:] == 2)[0])
        k, freq = f["k_rad_per_nm"][:], f["freq_refined_thz"][i]
        truth = float(f["sigma_nm"][i]), float(f["tau_nm"][i])
    sel = k >= 0
    csv = tmp_path / "measured.csv"
    np.savetxt(csv, np.stack([k[sel][::2], 1000 * freq[sel][::2]], 1), delimiter=",", header="k_rad_per_nm,f_GHz",
               comments="")
    out = predict(tmp, f"input={csv}", f"run_id={run_id}", f"output={tmp_path / 'p.json'}")
    assert out.returncode == 0, out.stderr[-3000:]
    said = out.stdout + out.stderr  # Hydra logs warnings to the console (stdout)
    assert "look like GHz" in said and "mirrored" in said and "resampled" in said
    assert "network" in out.stdout and "refined" in out.stdout and "φ" in out.stdout
    res = json.loads((tmp_path / "p.json").read_text())
    for est in (res["network"], res["refined"]):
        for q in ("sigma", "tau", "phi", "T"):
            assert np.isfinite(est[f"sd_{q}"]) and est[f"sd_{q}"] > 0, q
    # the refinement fits the solver's own closed form to its own data: φ to < 0.01 from a 2-epoch
    # network (the test split's refined φ MAE at paper scale is 7e-5, RESULTS.md)
    phi_true = truth[0] / sum(truth)
    assert abs(res["refined"]["phi"] - phi_true) < 0.01
    assert res["refined"]["misfit_rms"] < 0.01  # THz, one tenth of a frequency bin
    assert not [f for f in res["flags"] if f["flag"] == "misfit"]  # the generator's own data fit


@pytest.mark.parametrize("rows, overrides, message", [
    ("nan", [], "NaN or infinite values on data line(s) [4]"),
    ("ok", ["freq_unit=thz"], "look like GHz: pass freq_unit=ghz"),
    ("wide", [], "outside the first Brillouin zone"),
])
def test_bad_files_are_refused(inverse_run, tmp_path, rows, overrides, message):
    tmp, run_id = inverse_run
    k = np.linspace(-9.2, 9.2, 64) * (1.5 if rows == "wide" else 1.0)
    f = 1000 * (0.21 + 5.2 * (1 - np.cos(k * 0.339)))
    if rows == "nan":
        f[2] = np.nan
    csv = tmp_path / "bad.csv"
    np.savetxt(csv, np.stack([k, f], 1), delimiter=",", header="k,f", comments="")
    out = predict(tmp, f"input={csv}", f"run_id={run_id}", "refine=false", *overrides)
    assert out.returncode != 0 and message in out.stderr, out.stderr[-2000:]


def test_another_models_dispersion_is_flagged_not_trusted(inverse_run, tmp_path, capsys):
    """Explicit vacancies (rtn_ensemble) at (σ, τ) = (20, 3.75) nm: the statistical model cannot fit
    them; the answer is still printed, marked, with the reason under the table."""
    tmp, run_id = inverse_run
    data = generate_here(tmp_path / "rtn.h5", "dataset=dispersion_small", "solver=rtn_ensemble",
                         "solver.realisations=2", "solver.compile=false", "dataset.sampling=explicit",
                         "dataset.points=[[20,3.75]]", "dataset.split=[0,0,1]")
    with h5py.File(data, "r") as f:
        csv = write_csv(tmp_path / "rtn.csv", f["k_rad_per_nm"][:], f["freq_refined_thz"][0])
    res = predict_here(tmp, f"input={csv}", f"run_id={run_id}", f"output={tmp_path / 'p.json'}")
    said = capsys.readouterr().out
    assert "refined ⚠" in said and "⚠ refined fit does not explain the data: χ²/dof = " in said
    assert "with a noise of 10 GHz per peak (the default; state yours with noise_ghz=)" in said
    assert "do not trust these numbers" in said
    misfit = [f for f in res["flags"] if f["flag"] == "misfit"]
    assert len(misfit) == 1 and misfit[0]["chi2_per_dof"] > 100 and not misfit[0]["noise_stated"]
    assert "misfit" in res["refined"]["flags"] and "misfit" in res["network"]["flags"]  # trained on that model
    assert "network ⚠" in said
    assert json.loads((tmp_path / "p.json").read_text())["flags"] == res["flags"]  # the JSON holds them


def test_stated_noise_sets_the_intervals_and_a_clean_sample_is_not_flagged(inverse_run, small_data, tmp_path,
                                                                          capsys):  # noqa: F811
    tmp, run_id = inverse_run
    with h5py.File(small_data["dispersion"], "r") as f:
        i = int(np.flatnonzero(f["split"][:] == 2)[0])
        csv = write_csv(tmp_path / "own.csv", f["k_rad_per_nm"][:], f["freq_refined_thz"][i])
    # 12 and 24 GHz: levels no evaluation of the shared run calibrates
    r10 = predict_here(tmp, f"input={csv}", f"run_id={run_id}", "noise_ghz=12", f"output={tmp_path / 'a.json'}")
    r20 = predict_here(tmp, f"input={csv}", f"run_id={run_id}", "noise_ghz=24", f"output={tmp_path / 'b.json'}")
    said = capsys.readouterr().out
    assert r10["flags"] == [] and "⚠" not in said  # the generator's own data fit at any stated noise
    assert r10["noise"] == {"value": 12.0, "key": "noise_ghz"}
    assert r20["refined"]["phi"] == r10["refined"]["phi"]  # the answer does not depend on the stated noise
    assert r20["refined"]["sd_phi"] == pytest.approx(2 * r10["refined"]["sd_phi"], rel=1e-9)  # its interval does
    assert "UNCALIBRATED (run `python evaluate.py run_id=<run>` [refine=true] noise_ghz=[12] to calibrate" in said


def test_a_sample_outside_the_training_range_is_flagged(inverse_run, small_data, fept, tmp_path, capsys):  # noqa: F811
    """σ = 80 nm (the run trained on 5–50 nm): the closed form of the solver made the curve, so the
    refined fit is exact, and still the answer is an extrapolation, said so."""
    tmp, run_id = inverse_run
    with h5py.File(small_data["dispersion"], "r") as f:
        k = f["k_rad_per_nm"][:]
    f_thz = solver_dispersion(fept, 500, k)(torch.tensor([[80.0, 2.0]], dtype=torch.float64))[0].numpy()
    res = predict_here(tmp, f"input={write_csv(tmp_path / 'wide.csv', k, f_thz)}", f"run_id={run_id}",
                       f"output={tmp_path / 'p.json'}")
    said = capsys.readouterr().out
    assert res["refined"]["sigma_nm"] == pytest.approx(80.0, rel=0.05)
    outside = [f for f in res["flags"] if f["flag"] == "outside_training_range" and f["estimate"] == "refined"]
    assert outside and outside[0]["quantity"] == "sigma_nm" and outside[0]["range"] == [5.0, 50.0]
    assert "lies outside the training range [5, 50] nm" in said
    assert not [f for f in res["flags"] if f["flag"] == "misfit"]


@pytest.mark.parametrize("overrides, message", [
    (["noise_mz=0.01"], "noise_mz does not apply to a dispersion model; its measurement noise is noise_ghz"),
    (["noise_ghz=[10,20]"], "noise_ghz states the noise of your measurement: one number, got 2"),
    (["noise_ghz=-5"], "noise_ghz levels must be finite and > 0"),
    (["refine_steps=0"], "refine_steps must be an integer >= 1, got 0"),
])
def test_bad_noise_and_steps_are_refused(inverse_run, tmp_path, overrides, message):
    tmp, run_id = inverse_run
    csv = write_csv(tmp_path / "x.csv", np.linspace(-9.2, 9.2, 64), np.linspace(0.2, 5, 64))
    with pytest.raises(InputError) as err:
        predict_here(tmp, f"input={csv}", f"run_id={run_id}", *overrides, f"output={tmp_path / 'p.json'}")
    assert message in str(err.value)
    assert not (tmp_path / "p.json").exists()


def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path):
    fake = tmp_path / "model.ckpt"
    fake.write_text("not a model\n")
    csv = write_csv(tmp_path / "x.csv", np.linspace(-9.2, 9.2, 64), np.linspace(0.2, 5, 64))
    with pytest.raises(InputError, match="model.ckpt is not a checkpoint file \\(a text file"):
        predict_here(tmp_path, f"input={csv}", f"ckpt_path={fake}")


def test_a_registered_model_predicts_like_its_run(inverse_run, small_data, tmp_path):  # noqa: F811
    """train.py registered the run; model_uri=models:/<name>/<version> predicts exactly as run_id=<its run>."""
    tmp, run_id = inverse_run
    with h5py.File(small_data["dispersion"], "r") as f:
        i = int(np.flatnonzero(f["split"][:] == 2)[0])
        csv = write_csv(tmp_path / "m.csv", f["k_rad_per_nm"][:], f["freq_refined_thz"][i])
    by_run = predict_here(tmp, f"input={csv}", f"run_id={run_id}", "refine=false", f"output={tmp_path / 'a.json'}")
    by_name = predict_here(tmp, f"input={csv}", "model_uri=models:/spsll_inverse_dispersion/1", "refine=false",
                           f"output={tmp_path / 'b.json'}")
    assert by_name["run_id"] == run_id
    assert by_name["network"] == by_run["network"]
    with pytest.raises(InputError, match="registered model 'nope'"):
        predict_here(tmp, f"input={csv}", "model_uri=models:/nope/1")
    with pytest.raises(InputError, match="exactly one of"):
        predict_here(tmp, f"input={csv}", f"run_id={run_id}", "model_uri=models:/spsll_inverse_dispersion/1")
