"""Measurement noise, the stated-noise intervals of the refinement, the per-sample flags and the
checks at evaluate's boundary, without a trained run."""

import h5py
import numpy as np
import pytest
import torch

from spsll.data.config import DispersionMeasurement, WallMeasurement
from spsll.data.provenance import DataPhysics
from spsll.evaluation import flags as FL
from spsll.evaluation.inputs import EvaluationError, check_checkpoint_file, positive_int
from spsll.evaluation.noise import NoiseLevel, add_noise, parse_levels, rng_for, width_scatter_nm
from spsll.evaluation.refine import refine_box_nm, refine_dispersion, solver_dispersion
from spsll.physics.measure.domain_wall import relax_domain_walls
from spsll.physics.measure.width import cosine_series_width
from spsll.physics.solvers import SolverConfig

K = np.linspace(-9.2, 9.2, 200)
TRUE = np.array([[12.0, 4.0], [30.0, 1.5], [8.0, 12.0], [45.0, 9.0]])
RANGES = {"sigma_nm": (5.0, 50.0), "tau_nm": (0.0, 15.0)}


def curves(fept, params=TRUE):
    return solver_dispersion(fept, 500, K)(torch.tensor(params, dtype=torch.float64)).numpy()


def physics(fept, kind="dispersion", **meas):
    m = DispersionMeasurement(**meas) if kind == "dispersion" else WallMeasurement(**meas)
    return DataPhysics(kind, fept, SolverConfig(name="spsll", compile=False), m, (5.0, 50.0), (0.0, 15.0))


def test_levels_are_parsed_and_bad_ones_refused():
    assert [lv.value for lv in parse_levels("dispersion", [10, 50], None)] == [10.0, 50.0]
    assert parse_levels("dispersion", 10, []) == [NoiseLevel("dispersion", 10.0)]
    assert parse_levels("domain_wall", None, [0.01])[0].label == "noise0p01mz"
    assert NoiseLevel("dispersion", 10).label == "noise10ghz" and NoiseLevel("dispersion", 2.5).key == "2.5"
    for task, ghz, mz, msg in [("dispersion", [0], None, "> 0"), ("dispersion", [-5], None, "> 0"),
                               ("dispersion", [10, 10], None, "twice"), ("dispersion", None, [0.01], "noise_ghz"),
                               ("domain_wall", [10], None, "noise_mz"), ("domain_wall", None, [1.5], "drown"),
                               ("dispersion", "loud", None, "list of numbers"), ("dispersion", [True], None, "number")]:
        with pytest.raises(ValueError, match=msg):
            parse_levels(task, ghz, mz)


def test_dispersion_noise_has_the_stated_level_and_is_reproducible(fept):
    clean = {"dispersion": np.repeat(curves(fept), 50, axis=0).astype(np.float32), "params": np.zeros((200, 2))}
    level = NoiseLevel("dispersion", 10.0)
    a = add_noise(clean, level, physics(fept), rng_for(0, 2, level))
    b = add_noise(clean, level, physics(fept), rng_for(0, 2, level))
    c = add_noise(clean, level, physics(fept), rng_for(0, 1, level))  # the validation split draws its own
    assert np.array_equal(a["dispersion"], b["dispersion"]) and not np.array_equal(a["dispersion"], c["dispersion"])
    assert np.std(a["dispersion"] - clean["dispersion"]) == pytest.approx(0.010, rel=0.01)  # 10 GHz in THz
    assert a["dispersion"].dtype == np.float32 and a["params"] is clean["params"]


def test_wall_noise_is_clipped_and_the_width_remeasured_like_the_dataset(fept):
    meas = {"n_cells": 120, "n_harmonics": 200, "n_error_harmonics": 40}
    phys = physics(fept, "domain_wall", **meas)
    walls = relax_domain_walls(fept, torch.tensor([10e-9, 25e-9]), torch.tensor([5e-9, 2e-9]),
                               solver=phys.solver, settings=phys.settings)
    clean = {"mz": walls.mz.numpy(), "width_nm": walls.width_nm.numpy(), "params": np.zeros((2, 2))}
    level = NoiseLevel("domain_wall", 0.02)
    noisy = add_noise(clean, level, phys, rng_for(0, 2, level))
    assert np.abs(noisy["mz"]).max() <= 1.0 and not np.array_equal(noisy["mz"], clean["mz"])
    w, _ = cosine_series_width(torch.tensor(noisy["mz"]), fept.a, n_harmonics=200, n_error=40)
    np.testing.assert_allclose(noisy["width_nm"], w.numpy() * 1e9, rtol=1e-12)
    # a vanishing noise gives back the dataset's width: the same method and harmonics
    quiet = add_noise(clean, NoiseLevel("domain_wall", 1e-9), phys, rng_for(0, 2, level))
    np.testing.assert_allclose(quiet["width_nm"], clean["width_nm"], rtol=1e-5)
    scatter = width_scatter_nm(clean["mz"], 0.02, phys)
    assert scatter.shape == (2,) and (scatter > 0).all()
    assert (width_scatter_nm(clean["mz"], 0.04, phys) > scatter).all()  # more noise, more scatter


def test_stated_noise_sets_the_refined_intervals(fept):
    """The refined answer does not depend on the stated noise; its intervals scale with it. Under
    model error (a systematic 0.2 THz shift), the residual-based interval inflates but still misses
    the truth; the stated one stays at the noise's size and the misfit flag fires instead."""
    y = curves(fept) + 0.01 * np.random.default_rng(0).standard_normal((4, len(K)))
    fwd = solver_dispersion(fept, 500, K)
    r10 = refine_dispersion(y, K, TRUE * 1.1, fwd, prior_weight=1e-4, stated_noise_thz=0.01)
    r20 = refine_dispersion(y, K, TRUE * 1.1, fwd, prior_weight=1e-4, stated_noise_thz=0.02)
    np.testing.assert_array_equal(r10.params_nm, r20.params_nm)
    np.testing.assert_allclose(r20.std_phi, 2 * r10.std_phi, rtol=1e-9)
    # with white noise of the stated size, stated and residual-based intervals agree (≈ the same s²)
    free = refine_dispersion(y, K, TRUE * 1.1, fwd, prior_weight=1e-4)
    np.testing.assert_allclose(free.std_phi, r10.std_phi, rtol=0.15)
    biased = refine_dispersion(y + 0.2, K, TRUE * 1.1, fwd, prior_weight=1e-4, stated_noise_thz=0.01)
    inflated = refine_dispersion(y + 0.2, K, TRUE * 1.1, fwd, prior_weight=1e-4)
    assert (inflated.std_phi > 5 * biased.std_phi).all()
    flags = FL.sample_flags(TRUE, RANGES, refined=biased, n_rows=len(K), noise=0.01)
    assert all(any(f["flag"] == "misfit" for f in s) for s in flags)
    assert not any(FL.sample_flags(TRUE, RANGES, refined=r10, n_rows=len(K), noise=0.01))


def test_misfit_flag_is_silent_on_the_generators_own_data_and_fires_on_model_error(fept):
    fwd = solver_dispersion(fept, 500, K)
    clean = refine_dispersion(curves(fept), K, TRUE * 1.2, fwd, prior_weight=1e-4)
    default = FL.DEFAULT_NOISE["dispersion"]
    assert not any(FL.sample_flags(TRUE, RANGES, refined=clean, n_rows=len(K), default_noise=default))
    bump = 0.3 * np.exp(-((K - 6.0) / 1.0) ** 2)  # THz: a feature of another model that no (σ, τ) makes
    wrong = refine_dispersion(curves(fept) + bump, K, TRUE * 1.2, fwd, prior_weight=1e-4)
    flags = FL.sample_flags(TRUE, RANGES, refined=wrong, n_rows=len(K), default_noise=default)
    misfit = [f for s in flags for f in s if f["flag"] == "misfit"]
    assert len(misfit) == 4 and all(f["chi2_per_dof"] > 10 and not f["noise_stated"] for f in misfit)
    assert "do not trust these numbers" in FL.message(misfit[0], "10 GHz per peak")
    summary = FL.summarise(flags, np.arange(10, 14), 4, refined=wrong, n_rows=len(K), default_noise=default)
    assert summary["fraction"]["misfit"] == 1.0 and summary["samples"][0]["row"] == 10
    assert FL.flag_metrics(summary)["flagged_fraction_misfit"] == 1.0


def test_chi2_of_white_noise_is_one_and_the_threshold_its_quantile():
    rng = np.random.default_rng(1)
    rms = np.sqrt((rng.standard_normal((4000, 500)) ** 2).mean(1)) * 0.01
    c2 = FL.chi2_per_dof(rms, 500, 0.01)
    assert np.median(c2) == pytest.approx(500 / 498, rel=0.01)
    assert (c2 > FL.chi2_threshold(500)).mean() < 0.004  # 0.1 % nominal
    assert FL.chi2_threshold(500) == pytest.approx(1.20, abs=0.01)


def test_range_and_bound_flags(fept):
    """The network outside the training ranges; a refinement whose truth lies beyond its box stops on
    the box (flagged), while τ = 0 — the defect-free chain — is a physical limit (not flagged)."""
    net = np.array([[60.0, 3.0], [20.0, 3.0], [20.0, -1.0], [50.8, 15.2]])
    flags = FL.sample_flags(net, RANGES)
    assert [len(s) for s in flags] == [1, 0, 1, 0]  # 50.8 and 15.2 lie within the 2 % margin
    assert flags[0][0] == {"flag": "outside_training_range", "estimate": "network", "quantity": "sigma_nm",
                           "value": 60.0, "range": [5.0, 50.0]}
    assert "outside the training range" in FL.message(flags[0][0])
    # with a stated spread, only an answer whose 2 sd interval excludes the range is flagged
    sd = np.array([[6.0, 1.0], [1.0, 1.0], [0.2, 0.2], [0.1, 0.1]])
    flags = FL.sample_flags(net, RANGES, network_sd_nm=sd)
    assert [len(s) for s in flags] == [0, 0, 1, 0]  # 60 ± 12 reaches 50; -1 ± 0.4 does not reach 0
    assert flags[2][0]["sd"] == 0.2 and "(± 0.4 nm at 2 sd)" in FL.message(flags[2][0])
    truth = np.array([[40.0, 6.0], [20.0, 0.0]])
    box = refine_box_nm((5.0, 15.0), (0.0, 15.0))  # σ ≤ 30 nm: the first truth is beyond it
    assert box == ((2.5, 0.0), (30.0, 30.0))
    r = refine_dispersion(curves(fept, truth), K, np.array([[25.0, 5.0], [25.0, 0.0]]),
                          solver_dispersion(fept, 500, K), prior_weight=1e-4, steps=40, bounds_nm=box)
    assert r.params_nm[0, 0] == pytest.approx(30.0) and r.params_nm[1, 1] < 1e-12  # τ on its lower bound
    assert r.bound_side.tolist() == [[1, 0], [0, 0]]
    flags = FL.sample_flags(truth, {"sigma_nm": (5.0, 15.0), "tau_nm": (0.0, 15.0)}, refined=r, n_rows=len(K),
                            default_noise=0.01, box_nm=box)
    bound = [f for f in flags[0] if f["flag"] == "on_bound"]
    assert bound == [{"flag": "on_bound", "quantity": "sigma_nm", "value": pytest.approx(30.0), "bound": "upper",
                      "box": [2.5, 30.0]}]
    assert not [f for f in flags[1] if f["flag"] == "on_bound"]
    assert "upper bound of its box [2.5, 30] nm" in FL.message(bound[0])


def test_checkpoint_files_are_recognised(tmp_path):
    text = tmp_path / "notes.ckpt"
    text.write_text("epoch 3, val loss 0.1\n")
    h5 = tmp_path / "data.ckpt"
    with h5py.File(h5, "w") as f:
        f["x"] = [1, 2]
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    real = tmp_path / "real.ckpt"
    torch.save({"state_dict": {}}, real)
    check_checkpoint_file(real)
    for path, what in ((text, "a text file"), (h5, "an HDF5 file"), (empty, "empty")):
        with pytest.raises(EvaluationError, match=f"{path.name} is not a checkpoint file \\({what}"):
            check_checkpoint_file(path)
    with pytest.raises(EvaluationError, match="no checkpoint at .* \\(it is a folder\\)"):
        check_checkpoint_file(tmp_path)


def test_positive_int():
    assert positive_int("n", 3) == 3 and positive_int("n", "4") == 4 and positive_int("n", None) is None
    assert positive_int("n", "all", allow_all=True) is None
    for bad in (0, -1, 2.5, "all", "x", True):
        with pytest.raises(EvaluationError, match="n must be an integer >= 1"):
            positive_int("n", bad)
